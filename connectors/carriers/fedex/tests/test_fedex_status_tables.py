"""FedEx's published status codes, each run through the real translator on a recorded Track
API answer with the newest scan's codes and words swapped in: the canonical status, and
FedEx's own code and text kept on the event. Pure: no I/O.

Codes and texts: FedEx's "Tracking Status Codes" and "Status Code and Statuses for Webhook
Tracking Events" (https://developer.fedex.com/api/en-us/guides/api-reference.html); the DE
exception code 08 as FedEx sent it in a recorded answer (``payloads/SOURCES.md``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from connectors.carriers.fedex import translate

PAYLOADS = Path(__file__).parent / "payloads"
ANSWER = json.loads((PAYLOADS / "track_delivered_17_events.json").read_bytes())
NUMBER = "738488882438"


def swapped(
    event_type: str, words: str, derived: str, exception: str = "", detail: str = ""
) -> Any:
    """The recorded answer, its newest scan's codes and words swapped."""
    data = copy.deepcopy(ANSWER)
    result = data["output"]["completeTrackResults"][0]["trackResults"][0]
    result["scanEvents"][0].update(
        eventType=event_type,
        eventDescription=words,
        exceptionCode=exception,
        exceptionDescription=detail,
        derivedStatusCode=derived,
    )
    result.pop("latestStatusDetail", None)
    [parcel] = translate.read_tracking(json.dumps(data).encode(), [NUMBER])
    return parcel


# (eventType, FedEx's text, canonical status); FedEx derives the coarse IT for most of them,
# so the event type must decide
EVENT_CASES = [
    ("OC", "Order Created", "label_created"),
    ("MD", "Manifest data", "label_created"),
    ("SH", "Shipper", "label_created"),
    ("RP", "Return label link emailed to return sender", "label_created"),
    ("PU", "Picked Up", "picked_up"),
    ("DO", "Dropped Off", "picked_up"),
    ("IP", "In FedEx possession", "picked_up"),
    ("AR", "Arrived at FedEx location", "in_transit"),
    ("DP", "Departed", "in_transit"),
    ("OW", "On the way", "in_transit"),
    ("CC", "Cleared Customs", "in_transit"),
    ("HA", "Hold at location request accepted", "in_transit"),
    ("US", "Scheduled delivery updated", "in_transit"),
    ("TP", "Transfer Partner", "in_transit"),
    ("AD", "At Delivery", "out_for_delivery"),
    ("ED", "Enroute to Delivery", "out_for_delivery"),
    ("OD", "Out for Delivery", "out_for_delivery"),
    ("HL", "Hold at Location", "ready_for_pickup"),
    ("HP", "Ready for Recipient Pickup", "ready_for_pickup"),
    ("DL", "Delivered", "delivered"),
    ("DE", "Delivery Exception", "exception"),
    ("SE", "Shipment Exception", "exception"),
    ("CD", "Clearance Delay", "exception"),
    ("CA", "Shipment Cancelled", "exception"),
    ("PD", "Pickup Delay", "exception"),
    ("LP", "Return label link cancelled by shipment originator", "exception"),
    ("RD", "Return label link expired", "exception"),
    ("RT", "Return to Shipper Requested", "exception"),
    ("RS", "Return to Shipper", "returned_to_sender"),
    # FedEx answers in the language asked for (``locale``): the code decides, words are kept
    ("DL", "Zugestellt", "delivered"),
    ("OD", "In Zustellung", "out_for_delivery"),
]


@pytest.mark.parametrize(("event_type", "words", "expected"), EVENT_CASES)
def test_an_event_type(event_type: str, words: str, expected: str):
    parcel = swapped(event_type, words, derived="IT")
    newest = parcel.events[-1]
    assert (newest.status, parcel.status) == (expected, expected)
    assert (newest.code, newest.text) == (event_type, words)


@pytest.mark.parametrize(("code", "expected"), sorted(translate.EVENT_CODES.items()))
def test_every_code_of_the_table_reads_through_the_translator(code: str, expected: str):
    event_type, _, exception = code.partition("/")
    parcel = swapped(event_type, f"FedEx {code}", derived="IT", exception=exception)
    assert parcel.events[-1].status == expected
    assert parcel.events[-1].code == code


def test_customer_not_available_is_a_delivery_attempt_with_fedexs_words():
    parcel = swapped(
        "DE",
        "Delivery exception",
        derived="DE",
        exception="08",
        detail="Customer not available or business closed",
    )
    newest = parcel.events[-1]
    assert (newest.status, parcel.status) == ("delivery_attempted", "delivery_attempted")
    assert newest.code == "DE/08"
    assert newest.text == "Delivery exception: Customer not available or business closed"


def test_another_exception_code_keeps_the_delivery_exception():
    parcel = swapped("DE", "Delivery exception", derived="DE", exception="A47")
    assert parcel.events[-1].status == "exception"
    assert parcel.events[-1].code == "DE/A47"


@pytest.mark.parametrize(("derived", "expected"), sorted(translate.DERIVED_CODES.items()))
def test_the_derived_code_decides_when_the_event_type_is_unknown(derived: str, expected: str):
    parcel = swapped("ZZ", "FedEx's words", derived=derived)
    assert parcel.events[-1].status == expected
    assert (parcel.events[-1].code, parcel.events[-1].text) == ("ZZ", "FedEx's words")
