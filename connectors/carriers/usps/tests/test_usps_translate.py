"""USPS translation: the status tables, times in every shape USPS writes them, fallbacks, and
bodies that must be refused."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from connectors.carriers.usps import translate
from hub.connectors import TRACKING_STATUSES, ParcelTracking
from hub.errors import AuthError, PermanentError, RetryableError, TranslationError

NUMBER = "9400111899223817428490"


def event(code: str | None = "TL", **fields: Any) -> dict[str, Any]:
    return {
        "eventType": "In Transit to Next Facility",
        "eventTimestamp": "2024-11-19T12:11:00",
        "GMTTimestamp": "2024-11-19T17:11:23Z",
        "GMTOffset": "-05:00",
        "eventCity": "HERNANDO",
        "eventState": "FL",
        "eventZIP": "34442",
        "eventCountry": None,
        "eventCode": code,
        **fields,
    }


def v3(*events: dict[str, Any], **fields: Any) -> bytes:
    """A DETAIL answer; ``events`` newest first, as USPS lists them."""
    body = {
        "trackingNumber": NUMBER,
        "status": "In Transit to Next Facility",
        "statusCategory": "In Transit",
        "destinationState": "FL",
        "trackingEvents": list(events),
        **fields,
    }
    return json.dumps(body).encode()


def one(body: bytes, **kwargs: Any) -> ParcelTracking:
    [parcel] = translate.read_tracking(body, [NUMBER], **kwargs)
    return parcel


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# -- the tables -------------------------------------------------------------------------------


def test_every_event_code_maps_to_a_canonical_status():
    assert translate.EVENT_STATUSES
    for code, status in translate.EVENT_STATUSES.items():
        assert status in TRACKING_STATUSES, code
        assert code == code.upper() and code.strip() == code


def test_every_status_category_maps_to_a_canonical_status():
    for category, status in translate.CATEGORY_STATUSES.items():
        assert status in TRACKING_STATUSES, category
        assert category == category.lower()


def test_the_table_reaches_every_status_a_scan_can_have():
    reached = set(translate.EVENT_STATUSES.values())
    assert reached == set(TRACKING_STATUSES) - {"unknown"}


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("GX", "label_created"),  # Shipping Label Created, USPS Awaiting Item
        ("MA", "label_created"),  # Pre-Shipment Info Sent
        ("03", "picked_up"),  # USPS in possession of item
        ("OA", "picked_up"),  # Accepted at USPS Origin Facility
        ("TL", "in_transit"),
        ("A1", "in_transit"),
        ("07", "in_transit"),  # Arrived at Post Office: not yet out for delivery
        ("08", "in_transit"),  # Missent: rerouted, nothing to do
        ("OF", "out_for_delivery"),
        ("02", "delivery_attempted"),  # Notice Left
        ("55", "delivery_attempted"),  # No Secure Location Available
        ("16", "ready_for_pickup"),  # Available for Pickup
        ("01", "delivered"),
        ("43", "delivered"),  # Picked Up by the addressee
        ("04", "exception"),  # Refused
        ("05", "exception"),  # Undeliverable as Addressed
        ("DX", "exception"),  # Delivery Status Not Updated
        ("09", "returned_to_sender"),
        ("21", "returned_to_sender"),  # No Such Number
        ("31", "returned_to_sender"),  # Not Picked Up
    ],
)
def test_interesting_codes(code: str, status: str):
    parcel = one(v3(event(code), event("03")))
    assert parcel.events[-1].status == status and parcel.events[-1].code == code
    assert parcel.status == status


def test_the_carrier_code_and_text_are_kept():
    parcel = one(v3(event("07", eventType="Arrived at Post Office")))
    assert parcel.events[0].code == "07" and parcel.events[0].text == "Arrived at Post Office"
    assert parcel.carrier_status == "In Transit to Next Facility"


# -- unknown codes ----------------------------------------------------------------------------


def test_an_unknown_latest_code_takes_the_answers_category():
    parcel = one(
        v3(event("ZZ"), event("GX"), statusCategory="Available for Pickup", status="Ready")
    )
    assert parcel.events[-1].status == "ready_for_pickup"
    assert parcel.status == "ready_for_pickup" and parcel.carrier_status == "Ready"


def test_an_unknown_older_code_is_in_transit_once_the_parcel_moves():
    parcel = one(v3(event("OF"), event("ZZ"), event("03"), event("ZY"), event("GX")))
    assert [e.status for e in parcel.events] == [
        "label_created",
        "unknown",  # not yet in USPS's hands: nothing says it moves
        "picked_up",
        "in_transit",
        "out_for_delivery",
    ]


def test_an_unknown_code_and_category_leave_the_fallback():
    parcel = one(v3(event("ZZ"), event("03"), statusCategory="Something New"))
    assert parcel.status == "in_transit"
    alone = one(v3(event("ZZ"), statusCategory="Something New"))
    assert alone.status == "unknown" and alone.carrier_status == "In Transit to Next Facility"


def test_no_events_the_category_decides():
    parcel = one(v3(statusCategory="Pre-Shipment", status=None, statusSummary="Label made"))
    assert parcel.found and parcel.events == () and parcel.status == "label_created"
    assert parcel.carrier_status == "Label made"


def test_the_latest_code_outranks_the_category():
    # "Alert" is USPS's bucket for several things; the scan says which.
    parcel = one(v3(event("02"), statusCategory="Alert"))
    assert parcel.status == "delivery_attempted"


# -- times ------------------------------------------------------------------------------------


def test_the_local_time_and_its_offset_win_over_the_gmt_timestamp():
    # USPS's GMTTimestamp can carry the wrong day: the local date and time with the offset
    # are the truth
    parcel = one(
        v3(
            event(
                eventTimestamp="2024-11-22T13:58:00",
                GMTOffset="-05:00",
                GMTTimestamp="2024-11-21T18:58:40Z",
            )
        )
    )
    assert parcel.events[0].at == at("2024-11-22T18:58:00+00:00")


def test_a_wrong_day_gmt_timestamp_does_not_reorder_events():
    parcel = one(
        v3(
            event("01", eventTimestamp="2024-11-22T13:58:00", GMTTimestamp="2024-11-21T18:58:00Z"),
            event("OF", eventTimestamp="2024-11-22T08:00:00", GMTTimestamp="2024-11-22T13:00:00Z"),
        )
    )
    assert [e.code for e in parcel.events] == ["OF", "01"]


@pytest.mark.parametrize(
    ("gmt", "expected"),
    [
        ("2024-04-04T14:03:12.041Z", "2024-04-04T14:03:12.041+00:00"),
        ("2024-04-04T14:03:12.041123456Z", "2024-04-04T14:03:12.041123+00:00"),  # nanoseconds
        ("2024-04-04T14:03:12+00:00", "2024-04-04T14:03:12+00:00"),
        ("2024-04-04T10:03:12-04:00", "2024-04-04T14:03:12+00:00"),
        ("2024-04-04T14:03:12", "2024-04-04T14:03:12+00:00"),  # GMT even without the Z
    ],
)
def test_gmt_timestamps_in_every_shape(gmt: str, expected: str):
    parcel = one(v3(event(GMTTimestamp=gmt, eventTimestamp=None)))
    assert parcel.events[0].at == at(expected)
    assert parcel.events[0].at.tzinfo is UTC


@pytest.mark.parametrize("offset", ["-05:00", "-5:00", "-0500"])
def test_without_gmt_the_local_time_and_its_offset(offset: str):
    parcel = one(
        v3(event(GMTTimestamp=None, eventTimestamp="2024-11-22T13:58:00", GMTOffset=offset))
    )
    assert parcel.events[0].at == at("2024-11-22T18:58:00+00:00")


def test_without_gmt_or_offset_the_events_state_gives_the_zone():
    central = event(GMTTimestamp=None, GMTOffset=None, eventTimestamp="2024-07-01T09:00:00")
    parcel = one(v3({**central, "eventState": "IL"}))
    assert parcel.events[0].at == at("2024-07-01T14:00:00+00:00")  # CDT
    nowhere = one(v3({**central, "eventState": None}))
    assert nowhere.events[0].at == at("2024-07-01T13:00:00+00:00")  # EDT, USPS's home


def test_an_event_whose_time_is_no_time_is_dropped_with_a_warning(caplog):
    with caplog.at_level("WARNING"):
        parcel = one(
            v3(
                event("01", GMTTimestamp="yesterday", eventTimestamp=None),
                event("OF", GMTTimestamp=None, eventTimestamp=None),
                event("GX"),
            )
        )
    assert parcel.found is True
    assert [e.code for e in parcel.events] == ["GX"]
    assert "trackingEvents[0]" in caplog.text and "trackingEvents[1]" in caplog.text


def test_events_come_oldest_first():
    parcel = one(
        v3(
            event("01", eventTimestamp=None, GMTTimestamp="2024-11-22T18:00:00Z"),
            event("GX", eventTimestamp=None, GMTTimestamp="2024-11-15T10:00:00Z"),
        )
    )
    assert [e.code for e in parcel.events] == ["GX", "01"]


def test_estimated_delivery():
    stamp = one(v3(event(), expectedDeliveryTimeStamp="2024-11-23T18:00:00Z"))
    assert stamp.estimated_delivery == at("2024-11-23T18:00:00+00:00")
    day = one(v3(event(), expectedDeliveryDate="2024-11-23"))
    # the start of that day where the parcel goes (Florida, EST)
    assert day.estimated_delivery == at("2024-11-23T05:00:00+00:00")
    assert one(v3(event())).estimated_delivery is None


def test_trackv2_local_times_use_the_events_state():
    xml = b"""<TrackResponse><TrackInfo ID="EA123456785US">
      <Status>Out for Delivery</Status><StatusCategory>Out for Delivery</StatusCategory>
      <TrackSummary><EventTime>8:29 AM</EventTime><EventDate>January 5, 2015</EventDate>
        <Event>Out for Delivery</Event><EventCity>SEATTLE</EventCity><EventState>WA</EventState>
        <EventZIPCode>98101</EventZIPCode><EventCountry/><EventCode>OF</EventCode></TrackSummary>
      <TrackDetail><EventTime>12:05 pm</EventTime><EventDate>January 4, 2015</EventDate>
        <Event>Arrived</Event><EventCity>ISC NEW YORK NY(USPS)</EventCity><EventCode>10</EventCode>
      </TrackDetail>
      <TrackDetail><EventTime/><EventDate>January 3, 2015</EventDate>
        <Event>Origin Acceptance</Event><EventCity>LONDON</EventCity>
        <EventCountry>UNITED KINGDOM</EventCountry><EventCode>03</EventCode>
      </TrackDetail>
      <TrackDetail><Event>Pre-Shipment Info Sent to USPS</Event><EventCode>MA</EventCode>
      </TrackDetail>
    </TrackInfo></TrackResponse>"""
    [parcel] = translate.read_tracking(xml, ["EA 123 456 785 US"])
    assert parcel.tracking_number == "EA 123 456 785 US"  # as it was asked
    assert [(e.at, e.code, e.location) for e in parcel.events] == [
        (at("2015-01-03T05:00:00+00:00"), "03", "LONDON, UNITED KINGDOM"),  # no time: midnight
        (at("2015-01-04T17:05:00+00:00"), "10", "ISC NEW YORK NY(USPS)"),  # no state: New York
        (at("2015-01-05T16:29:00+00:00"), "OF", "SEATTLE, WA 98101"),  # PST
    ]  # the undated MA scan cannot be placed, so it is left out
    assert parcel.status == "out_for_delivery"


@pytest.mark.parametrize(
    ("clock", "expected"), [("12:00 am", "05:00"), ("12:30 pm", "17:30"), ("1:05 p.m.", "18:05")]
)
def test_trackv2_twelve_hour_clock(clock: str, expected: str):
    xml = f"""<TrackResponse><TrackInfo ID="1"><TrackSummary><EventTime>{clock}</EventTime>
      <EventDate>March 2, 2015</EventDate><EventState>NY</EventState><EventCode>01</EventCode>
      </TrackSummary></TrackInfo></TrackResponse>""".encode()
    [parcel] = translate.read_tracking(xml, ["1"])
    assert parcel.events[0].at == at(f"2015-03-02T{expected}:00+00:00")


@pytest.mark.parametrize("bad", ["25:00 pm", "noon"])
def test_trackv2_an_event_with_an_unreadable_time_is_dropped_with_a_warning(bad: str, caplog):
    xml = f"""<TrackResponse><TrackInfo ID="1"><TrackSummary><EventTime>{bad}</EventTime>
      <EventDate>March 2, 2015</EventDate><EventCode>01</EventCode></TrackSummary>
      <TrackDetail><EventTime>8:10 am</EventTime><EventDate>March 2, 2015</EventDate>
      <EventState>NY</EventState><EventCode>OF</EventCode></TrackDetail>
      </TrackInfo></TrackResponse>""".encode()
    with caplog.at_level("WARNING"):
        [parcel] = translate.read_tracking(xml, ["1"])
    assert parcel.found
    assert [(e.code, e.at) for e in parcel.events] == [("OF", at("2015-03-02T13:10:00+00:00"))]
    assert parcel.status == "out_for_delivery"  # the kept scan decides
    assert "USPS event of 1 dropped" in caplog.text
    assert "EventTime" in caplog.text and repr(bad) in caplog.text


# -- numbers, errors and refused bodies --------------------------------------------------------


def test_trackv2_batch_answers_in_the_order_asked():
    xml = b"""<?xml version="1.0"?><TrackResponse>
      <TrackInfo ID="B"><Error><Number>-2147219302</Number>
        <Description>could not locate</Description></Error></TrackInfo>
      <TrackInfo ID="A"><Status>Delivered</Status>
        <StatusCategory>Delivered</StatusCategory></TrackInfo>
    </TrackResponse>"""
    a, b, c = translate.read_tracking(xml, ["A", "B", "C"])
    assert (a.tracking_number, a.found, a.status, a.carrier_status) == (
        "A",
        True,
        "delivered",
        "Delivered",
    )
    assert (b.found, b.status, b.error) == (False, "unknown", "could not locate")
    assert not c.found and c.error == "USPS's answer does not mention this number"


def test_a_v3_answer_for_a_number_written_differently_is_the_asked_ones():
    [parcel] = translate.read_tracking(v3(event()), ["9400 1118 9922 3817 4284 90"])
    assert parcel.tracking_number == "9400 1118 9922 3817 4284 90" and parcel.found


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]><TrackResponse>&x;</TrackResponse>',
        b"<!doctype html><html></html>",
        b"<TrackResponse><TrackInfo",
        b"<Other/>",
        b"<TrackResponse><TrackInfo/></TrackResponse>",
    ],
)
def test_xml_that_must_be_refused(body: bytes):
    with pytest.raises(TranslationError):
        translate.read_tracking(body, ["1"])


def test_a_top_level_web_tools_error_is_permanent():
    body = (
        b"<Error><Number>-2147219040</Number>"
        b"<Description>Not on the Test Server.</Description></Error>"
    )
    with pytest.raises(PermanentError) as caught:
        translate.read_tracking(body, ["1"])
    assert (
        not isinstance(caught.value, AuthError) and "Not on the Test Server" in caught.value.message
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"error": {"code": "403", "message": "Forbidden"}}', AuthError),
        (b'{"error": "invalid_token"}', AuthError),
        (b'{"error": "invalid_request"}', PermanentError),
        (b'{"error": {"code": "503", "message": "Service Unavailable"}}', RetryableError),
        (
            b'{"error": {"code": "400", "message": "expand must be SUMMARY or DETAIL"}}',
            PermanentError,
        ),
        (b'{"error": ["odd"]}', TranslationError),
        (b"[]", TranslationError),
        (b"not json", TranslationError),
        (b"", TranslationError),
        (b'{"status": "no number"}', TranslationError),
        (json.dumps({"trackingNumber": NUMBER, "trackingEvents": {}}).encode(), TranslationError),
        (json.dumps({"trackingNumber": NUMBER, "trackingEvents": [1]}).encode(), TranslationError),
    ],
)
def test_json_bodies_that_raise(body: bytes, error: type[Exception]):
    with pytest.raises(error):
        translate.read_tracking(body, [NUMBER], status=200)


def test_an_error_envelope_without_a_code_takes_the_http_status():
    [parcel] = translate.read_tracking(b'{"error": {"message": "Not Found"}}', ["1"], status=404)
    assert not parcel.found and parcel.error == "Not Found"


def test_a_bare_404_is_a_number_usps_does_not_know():
    [parcel] = translate.read_tracking(b"<html>Not Found</html>"[6:], ["1"], status=404)
    assert not parcel.found and "404" in (parcel.error or "")
    [empty] = translate.read_tracking(b"", ["1"], status=404)
    assert not empty.found


def test_trackv2_an_event_with_an_unreadable_date_is_dropped_with_a_warning(caplog):
    path = Path(__file__).parent / "payloads" / "trackv2_delivered_in_mailbox.xml"
    body = path.read_text(encoding="utf-8")
    rows = body.count("<EventDate>")
    [whole] = translate.read_tracking(body.encode(), ["9102901000462189604217"])
    body = body.replace(
        "<EventDate>April 28, 2015</EventDate>", "<EventDate>Tuesday</EventDate>", 1
    )
    with caplog.at_level("WARNING"):
        [parcel] = translate.read_tracking(body.encode(), ["9102901000462189604217"])
    assert parcel.found
    assert rows > 1
    assert len(parcel.events) == len(whole.events) - 1
    assert "not a date" in caplog.text
    assert "9102901000462189604217" in caplog.text and "EventDate" in caplog.text


# -- the published code list, through recorded answers ---------------------------------------

#: USPS's TrackV2 event codes with USPS's own text, as listed in
#: github.com/marlencrabapple/USPS-WebTools-Tracking lib/USPS/WebTools/Tracking/Codes.pm
#: (@27117ce1) and, for the last four, by eHub; and the canonical status each must read as.
PUBLISHED_CODES = [
    ("MA", "Manifest Acknowledgement", "label_created"),
    ("03", "Accept or Pickup (by carrier)", "picked_up"),
    ("TM", 'Truck manifest, provided as "Shipment Acceptance"', "picked_up"),
    ("PA", 'Passive Acceptance, provided as "Shipment Acceptance"', "picked_up"),
    ("80", "Picked Up by Shipping Partner", "picked_up"),
    ("06", "Forwarded", "in_transit"),
    ("07", "Arrival at Unit", "in_transit"),
    ("08", "Missent", "in_transit"),
    ("10", "Processed", "in_transit"),
    ("15", "Mis-shipped", "in_transit"),
    ("19", "DC eVS Arrive", "in_transit"),
    ("41", "Received at Opening Unit (Reserved for Open & Distribute)", "in_transit"),
    ("42", "USPS Handoff to Shipping Partner", "in_transit"),
    ("71", "Rescheduled to Next Delivery Day", "in_transit"),
    ("81", "Arrived Shipping Partner Facility", "in_transit"),
    ("82", "Departed Shipping Partner Facility", "in_transit"),
    ("EF", "Departed Sort Facility", "in_transit"),
    ("PC", "Sorting / Processing Complete", "in_transit"),
    ("SF", "Departed Post Office", "in_transit"),
    ("OF", "Out for Delivery", "out_for_delivery"),
    ("02", "Attempted / Notice Left", "delivery_attempted"),
    ("30", "Delivery Attempted - No Access to Delivery Location", "delivery_attempted"),
    ("51", "Business Closed", "delivery_attempted"),
    ("52", "Notice Left", "delivery_attempted"),
    ("53", "Receptacle Blocked", "delivery_attempted"),
    ("54", "Receptacle Full / Item Oversized", "delivery_attempted"),
    ("55", "No Secure Location Available", "delivery_attempted"),
    ("56", "No Authorized Recipient Available", "delivery_attempted"),
    ("14", "Arrival at Pickup Point", "ready_for_pickup"),
    ("16", "Available for Pickup", "ready_for_pickup"),
    ("01", "Delivered", "delivered"),
    ("17", "Picked Up By Agent", "delivered"),
    ("43", "Picked Up", "delivered"),
    ("04", "Refused", "exception"),
    ("05", "Undeliverable as Addressed", "exception"),
    ("11", "Dead Letter", "exception"),
    ("DX", "Delivery Status Not Updated", "exception"),
    ("09", "Return to Sender", "returned_to_sender"),
    ("21", "No Such Number", "returned_to_sender"),
    ("22", "Insufficient Address", "returned_to_sender"),
    ("23", "Moved, Left No Address", "returned_to_sender"),
    ("24", "Forward Expired", "returned_to_sender"),
    ("25", "Addressee Unknown", "returned_to_sender"),
    ("26", "Vacant", "returned_to_sender"),
    ("27", "Unclaimed", "returned_to_sender"),
    ("28", "Deceased", "returned_to_sender"),
    ("29", "Other", "returned_to_sender"),
    ("31", "Not Picked Up", "returned_to_sender"),
    ("44", "Customer Recall", "returned_to_sender"),
    # from eHub's list of USPS event codes (app.theneo.io/ehub/ehub-api/tracking-event-descriptions)
    ("89", "Merchant Order Receipt Notification, USPS Awaiting Item", "label_created"),
    ("83", "Tendered To Postal Service", "picked_up"),
    ("AD", "Acceptance At Destination", "picked_up"),
    ("UA", "Accepted At USPS Facility", "picked_up"),
]


def test_the_table_holds_every_published_code():
    assert {code for code, _, _ in PUBLISHED_CODES} <= set(translate.EVENT_STATUSES)


@pytest.mark.parametrize(("code", "words", "status"), PUBLISHED_CODES)
def test_a_recorded_v3_answer_with_the_code_swapped(code: str, words: str, status: str):
    path = Path(__file__).parent / "payloads" / "v3_tracking_delivered_parcel_locker.json"
    answer = json.loads(path.read_text(encoding="utf-8"))
    answer["trackingEvents"][0].update(eventCode=code, eventType=words)  # the latest event
    [parcel] = translate.read_tracking(json.dumps(answer).encode(), [answer["trackingNumber"]])
    latest = parcel.events[-1]
    assert (latest.code, latest.text, latest.status) == (code, words, status)
    assert parcel.status == status  # the code decides, not the answer's "Delivered" category


@pytest.mark.parametrize(("code", "words", "status"), PUBLISHED_CODES)
def test_a_recorded_trackv2_answer_with_the_code_swapped(code: str, words: str, status: str):
    path = Path(__file__).parent / "payloads" / "trackv2_delivered_in_mailbox.xml"
    xml = path.read_text(encoding="utf-8")
    summary = xml.index("<TrackSummary>")
    head, tail = xml[:summary], xml[summary:]
    tail = tail.replace(
        "<Event>Delivered, In/At Mailbox</Event>", f"<Event>{escape(words)}</Event>", 1
    )
    tail = re.sub(r"<EventCode>\w+</EventCode>", f"<EventCode>{code}</EventCode>", tail, count=1)
    [parcel] = translate.read_tracking((head + tail).encode(), ["9102901000462189604217"])
    latest = parcel.events[-1]
    assert (latest.code, latest.text, latest.status) == (code, words, status)
    assert parcel.status == status
