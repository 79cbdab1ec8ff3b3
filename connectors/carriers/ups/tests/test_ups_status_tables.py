"""UPS's published status codes, each run through the real translator on a recorded Track API
answer (and a recorded Track Alert push) with the codes swapped in: the canonical status, and
UPS's own code and text kept on the event. Pure: no I/O.

Codes and texts: UPS's Tracking API appendices "Package Activity Types", "Status/Description
Codes" and "Manifest Codes" (https://developer.ups.com/api/reference/tracking/appendix, kept in
karrioapi/karrio ``modules/connectors/ups/vendors/Tracking-*.html``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from connectors.carriers.ups import translate

PAYLOADS = Path(__file__).parent / "payloads"
ANSWER = json.loads((PAYLOADS / "track_delivered_postman_example.json").read_bytes())
PUSH = json.loads((PAYLOADS / "webhook" / "track_alert_out_for_delivery.json").read_bytes())


def polled(status: dict[str, Any]) -> Any:
    """The recorded answer with its newest activity's ``status`` swapped."""
    data = copy.deepcopy(ANSWER)
    package = data["trackResponse"]["shipment"][0]["package"][0]
    package["activity"][0]["status"] = status
    [result] = translate.read_tracking(json.dumps(data).encode(), [package["trackingNumber"]])
    return result


def pushed(status: dict[str, Any]) -> Any:
    """The recorded Track Alert push with its ``activityStatus`` swapped."""
    return translate.read_alert({**PUSH, "activityStatus": status})


# (type, PDSC, UPS's text, canonical status): the PDSC decides over the type
PDSC_CASES = [
    ("I", "005", "On the Way", "in_transit"),
    ("I", "006", "Out for Delivery", "out_for_delivery"),
    ("MV", "007", "Shipment Information Voided", "exception"),
    ("D", "011", "Delivered", "delivered"),
    ("I", "012", "Clearance in Progress", "in_transit"),
    ("X", "017", "Held for Customer Pickup", "ready_for_pickup"),
    ("X", "022", "First Attempt Made", "delivery_attempted"),
    ("X", "024", "Final Attempt Made", "delivery_attempted"),
    ("D", "026", "Delivered by Local Post Office", "delivered"),
    ("X", "034", "Returned to Sender", "returned_to_sender"),
    ("I", "036", "Returning to Sender: In Transit", "returned_to_sender"),
    ("P", "038", "Picked Up by UPS", "picked_up"),
    ("D", "040", "Ready for Customer Pickup", "ready_for_pickup"),
    ("X", "051", "Delay: Emergency Situation or Severe Weather", "exception"),
    ("X", "060", "Delivery Attempted", "delivery_attempted"),
    ("X", "064", "Delivery Refused", "exception"),
    ("I", "071", "Preparing for Delivery", "in_transit"),
    ("I", "072", "Loaded on Delivery Vehicle", "out_for_delivery"),
    ("M", "077", "Scheduled for Pickup Today", "label_created"),
    ("I", "078", "Your Driver is Arriving Soon!", "out_for_delivery"),
    ("D", "143", "Delivered to Agent", "delivered"),
    ("D", "144", "Delivered to Post Office for Pickup", "ready_for_pickup"),
    ("X", "147", "Seized by Law Enforcement, No Longer in UPS possession", "exception"),
    ("I", "160", "We Have Your Package", "picked_up"),
    ("D", "161", "Delivered to UPS Access Point", "ready_for_pickup"),
    ("I", "169", "Dropped off at a UPS Access Point by Customer", "picked_up"),
    # UPS answers in the language asked for (``locale``): the code decides, the words are kept
    ("D", "011", "ZUGESTELLT", "delivered"),
    ("I", "021", "Zustellung heute", "out_for_delivery"),
]


@pytest.mark.parametrize(("kind", "pdsc", "words", "expected"), PDSC_CASES)
def test_a_pdsc_polled_and_pushed(kind: str, pdsc: str, words: str, expected: str):
    result = polled({"type": kind, "description": words, "statusCode": pdsc})
    newest = result.events[-1]
    assert (newest.status, result.status) == (expected, expected)
    assert (newest.code, newest.text) == (pdsc, words)
    push = pushed({"type": kind, "description": words, "descriptionCode": pdsc})
    assert (push.status, push.events[0].code, push.events[0].text) == (expected, pdsc, words)


@pytest.mark.parametrize(("pdsc", "expected"), sorted(translate.STATUS_CODES.items()))
def test_every_pdsc_of_the_list_reads_through_the_translator(pdsc: str, expected: str):
    # a type that disagrees with the table wherever it can: the PDSC must still decide
    kind = "I" if expected == "exception" else "X"
    result = polled({"type": kind, "description": f"UPS {pdsc}", "statusCode": pdsc})
    assert result.events[-1].status == expected
    assert (result.events[-1].code, result.events[-1].text) == (pdsc, f"UPS {pdsc}")


@pytest.mark.parametrize("pdsc", ["5", "11", "21"])
def test_a_pdsc_written_without_leading_zeros_reads_as_the_three_digit_one(pdsc: str):
    result = polled({"type": "X", "description": "x", "statusCode": pdsc})
    assert result.events[-1].status == translate.STATUS_CODES[pdsc.zfill(3)]


@pytest.mark.parametrize("pdsc", sorted(translate.PDSC_BY_TYPE))
def test_a_pdsc_left_to_the_type_reads_as_the_type(pdsc: str):
    result = polled({"type": "M", "description": "x", "statusCode": pdsc})
    assert result.events[-1].status == "label_created"
    result = polled({"type": "X", "description": "x", "statusCode": pdsc})
    assert result.events[-1].status == "exception"


# (type, UPS's text, canonical status): "Package Activity Types"
TYPE_CASES = [
    ("D", "Delivered", "delivered"),
    ("I", "In Transit, Out for Delivery", "in_transit"),
    ("M", "Billing Information Received", "label_created"),
    ("MV", "Billing Information Voided", "exception"),
    ("X", "Exception", "exception"),
    ("DO", "Delivered Origin CFS (Freight Only)", "in_transit"),
    ("DD", "Delivered Destination CFS (Freight Only)", "in_transit"),
    ("W", "Warehousing (Freight Only)", "in_transit"),
    ("U", "Updates (Track Alert API Only)", "in_transit"),
]


@pytest.mark.parametrize(("kind", "words", "expected"), TYPE_CASES)
def test_an_activity_type_alone(kind: str, words: str, expected: str):
    result = polled({"type": kind, "description": words})
    assert result.events[-1].status == expected
    assert (result.events[-1].code, result.events[-1].text) == (kind, words)


def test_type_not_available_falls_back_to_the_earlier_activity():
    # after the sample's manifest scan the parcel has not moved: an unknown newest activity
    result = polled({"type": "NA", "description": "Not Available"})
    assert result.events[-1].status == "unknown"
    assert (result.events[-1].code, result.events[-1].text) == ("NA", "Not Available")


# (activity code, UPS's text, canonical status): "Manifest Codes" and Track Alert's OT
CODE_CASES = [
    ("DP", "Shipment ready for UPS, manifest processed.", "label_created"),
    ("MP", "Shipment ready for UPS, billing information has been received.", "label_created"),
    ("RD", "Shipper created a label, Roadie has not received the package yet", "label_created"),
    ("VP", "Manifest cancelled and shipment voided", "exception"),
    ("OT", "Out for Delivery Today", "out_for_delivery"),
]


@pytest.mark.parametrize(("code", "words", "expected"), CODE_CASES)
def test_an_activity_code_without_a_pdsc(code: str, words: str, expected: str):
    result = polled({"type": "I", "description": words, "code": code})
    assert result.events[-1].status == expected
    assert (result.events[-1].code, result.events[-1].text) == (code, words)
