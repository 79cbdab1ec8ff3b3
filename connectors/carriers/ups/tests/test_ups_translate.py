"""UPS translation (connectors.carriers.ups.translate): the recorded answers against their
hand-written canonical JSON, the status tables, times, estimates and error bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.carriers.ups import translate
from hub import errors
from hub.connectors import TRACKING_STATUSES, tracking_to_json
from hub.errors import AuthError, PermanentError, RetryableError, TranslationError

TESTS = Path(__file__).parent
PAYLOADS = sorted((TESTS / "payloads").glob("*.json"))
NUMBER = "1Z1442YY7229014688"


def expected(path: Path) -> dict[str, Any]:
    return json.loads((TESTS / "expected" / path.name).read_text(encoding="utf-8"))


def answer(*activities: dict[str, Any], **package: Any) -> bytes:
    """A Track API answer for NUMBER with these activities (newest first, as UPS sends)."""
    body = {"trackingNumber": NUMBER, "activity": list(activities), **package}
    shipment = {"inquiryNumber": NUMBER, "package": [body]}
    return json.dumps({"trackResponse": {"shipment": [shipment]}}).encode()


def activity(
    kind: str | None = "I", code: str | None = "AR", pdsc: str | None = "005", **when: str
) -> dict[str, Any]:
    status = {"type": kind, "code": code, "statusCode": pdsc, "description": f"{kind} {code}"}
    return {"status": {k: v for k, v in status.items() if v is not None}, **when}


def one(body: bytes):
    [result] = translate.read_tracking(body, [NUMBER])
    return result


# -- recorded answers ---------------------------------------------------------------------------


def test_every_payload_has_an_expected_file():
    assert PAYLOADS
    for path in PAYLOADS:
        assert (TESTS / "expected" / path.name).is_file(), path.name


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: p.stem)
def test_recorded_answer_translates_to_the_expected_canonical_json(path: Path):
    want = expected(path)
    body = path.read_bytes()
    if "raises" in want:
        with pytest.raises(getattr(errors, want["raises"])):
            translate.read_tracking(body, want["numbers"])
        return
    got = translate.read_tracking(body, want["numbers"])
    assert [tracking_to_json(t) for t in got] == want["tracking"]


def test_the_auth_error_body_is_an_auth_error_with_upss_words():
    body = (TESTS / "payloads" / "error_auth_250003.json").read_bytes()
    with pytest.raises(AuthError, match="250003: Invalid Access License number"):
        translate.read_tracking(body, [NUMBER])


def test_results_come_one_per_number_in_the_order_asked():
    shipments = [
        {"inquiryNumber": "1ZB", "package": [{"trackingNumber": "1ZB", "activity": []}]},
        {"inquiryNumber": "1ZA", "package": [{"trackingNumber": "1ZA", "activity": []}]},
    ]
    body = json.dumps({"trackResponse": {"shipment": shipments}}).encode()
    got = translate.read_tracking(body, ["1za", "1ZB", "1ZC"])
    assert [(t.tracking_number, t.found) for t in got] == [
        ("1za", True),
        ("1ZB", True),
        ("1ZC", False),
    ]


def test_the_package_asked_about_is_chosen_from_a_multi_package_shipment():
    packages = [
        {
            "trackingNumber": "1ZLEAD",
            "activity": [activity("D", "F4", "011", date="20240101", time="100000")],
        },
        {
            "trackingNumber": "1ZSECOND",
            "activity": [activity("I", "OT", "021", date="20240101", time="090000")],
        },
    ]
    body = json.dumps(
        {"trackResponse": {"shipment": [{"inquiryNumber": "1ZLEAD", "package": packages}]}}
    ).encode()
    [lead] = translate.read_tracking(body, ["1ZLEAD"])
    assert lead.status == "delivered"
    shipment = {"inquiryNumber": "1ZSECOND", "package": packages}
    body = json.dumps({"trackResponse": {"shipment": [shipment]}}).encode()
    [second] = translate.read_tracking(body, ["1ZSECOND"])
    assert second.status == "out_for_delivery"


# -- status tables ------------------------------------------------------------------------------


@pytest.mark.parametrize("table", [translate.STATUS_TYPES, translate.STATUS_CODES])
def test_every_code_in_the_tables_maps_to_a_canonical_status(table: dict[str, str]):
    assert table
    for code, status in table.items():
        assert status in TRACKING_STATUSES, code
        assert status != "unknown", code
        assert code == code.strip().upper(), code


def test_every_pdsc_is_three_digits():
    assert all(len(code) == 3 and code.isdigit() for code in translate.STATUS_CODES)


@pytest.mark.parametrize(
    ("kind", "code", "pdsc", "status"),
    [
        ("M", "MP", "003", "label_created"),  # label made, UPS has not got it
        ("MV", "MV", None, "exception"),  # label voided
        ("P", "PU", None, "picked_up"),
        ("I", "AR", "005", "in_transit"),
        ("I", "OT", "021", "out_for_delivery"),  # the PDSC refines type I
        ("I", "OT", None, "out_for_delivery"),  # Track Alert: OT without a PDSC
        ("I", "OF", "072", "out_for_delivery"),  # loaded on the delivery vehicle
        ("I", "YP", "071", "in_transit"),  # preparing for delivery is not out yet
        ("D", "F4", "011", "delivered"),
        ("D", "ZP", "040", "ready_for_pickup"),  # at a UPS Access Point, awaiting pickup
        ("X", "VN", "017", "ready_for_pickup"),  # held for customer pickup
        ("X", "LE", "048", "exception"),  # delay
        ("X", "SR", "003", "exception"),  # UPS's own example: 003 is not in the table
        ("U", "UD", None, "in_transit"),  # delivery date updated
        ("RS", "RS", None, "returned_to_sender"),
        ("i", "AR", None, "in_transit"),  # case does not matter
    ],
)
def test_status_of_an_activity(kind: str, code: str, pdsc: str | None, status: str):
    body = answer(activity(kind, code, pdsc, date="20240102", time="101500"))
    assert one(body).events[0].status == status
    assert one(body).events[0].code == code


def test_an_unknown_code_is_unknown_before_the_parcel_moved_and_in_transit_after():
    body = answer(
        activity("Q", "ZZ", "999", date="20240103", time="100000"),
        activity("I", "AR", "005", date="20240102", time="100000"),
        activity("Q", "ZZ", "999", date="20240101", time="100000"),
    )
    assert [e.status for e in one(body).events] == ["unknown", "in_transit", "in_transit"]


def test_the_current_status_decides_when_the_newest_scan_is_unknown_even_with_only_a_pdsc():
    # a real answer: currentStatus {"description": "Delivered", "code": "011"}, no type
    body = answer(
        activity(None, "ZZ", None, date="20240102", time="080000"),
        currentStatus={"description": "Delivered", "code": "011"},
    )
    result = one(body)
    assert (result.status, result.carrier_status) == ("delivered", "Delivered")
    assert result.events[-1].status == "unknown"


def test_without_a_current_status_the_newest_activity_decides():
    body = answer(
        activity("I", "OT", "021", date="20240102", time="080000"),
        activity("I", "AR", "005", date="20240101", time="080000"),
    )
    result = one(body)
    assert result.status == "out_for_delivery" and result.carrier_status == "I OT"


# -- times --------------------------------------------------------------------------------------


def test_gmt_date_and_time_win_over_the_local_time():
    # as UPS sends them: gmtDate YYYYMMDD, gmtTime HH:MM:SS, local date and time, offset
    act = activity(date="20240201", time="211500", gmtDate="20240202", gmtTime="05:15:00")
    act["gmtOffset"] = "-08:00"
    assert one(answer(act)).events[0].at == datetime(2024, 2, 2, 5, 15, tzinfo=UTC)


def test_a_local_time_with_an_offset():
    act = activity(date="20240201", time="211500", gmtOffset="+01:00")
    assert one(answer(act)).events[0].at == datetime(2024, 2, 1, 20, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "clock", "utc"),
    [
        ("20220126", "163000", datetime(2022, 1, 26, 21, 30, tzinfo=UTC)),  # EST, -05:00
        ("20240701", "163000", datetime(2024, 7, 1, 20, 30, tzinfo=UTC)),  # EDT, -04:00
        ("2024-07-01", "16:30:00", datetime(2024, 7, 1, 20, 30, tzinfo=UTC)),
        ("20240701", "74700", datetime(2024, 7, 1, 11, 47, tzinfo=UTC)),  # UPS's example
    ],
)
def test_a_local_time_without_an_offset_is_read_in_new_york(day: str, clock: str, utc: datetime):
    assert one(answer(activity(date=day, time=clock))).events[0].at == utc


def test_an_activity_without_a_readable_time_is_left_out():
    body = answer(
        activity("D", "F4", "011", date="string", time="string"),
        activity("I", "AR", "005", date="20240101", time="100000"),
    )
    assert [e.code for e in one(body).events] == ["AR"]


def test_events_are_oldest_first_even_when_ups_lists_them_out_of_order():
    body = answer(
        activity("I", "AR", "005", date="20240101", time="100000"),
        activity("I", "DP", "005", date="20240101", time="120000"),
    )
    assert [e.code for e in one(body).events] == ["AR", "DP"]


# -- estimates ----------------------------------------------------------------------------------


def test_the_rescheduled_date_wins_and_the_window_end_is_its_time():
    body = answer(
        activity(date="20240101", time="100000", gmtOffset="-06:00"),
        deliveryDate=[{"type": "SDD", "date": "20240103"}, {"type": "RDD", "date": "20240104"}],
        deliveryTime={"type": "EDW", "startTime": "090000", "endTime": "130000"},
    )
    assert one(body).estimated_delivery == datetime(2024, 1, 4, 19, 0, tzinfo=UTC)


def test_a_scheduled_date_alone_is_the_start_of_that_day_in_new_york():
    body = answer(
        activity(date="20240101", time="100000"),
        deliveryDate=[{"type": "SDD", "date": "20240103"}],
        deliveryTime={"type": "EOD"},
    )
    assert one(body).estimated_delivery == datetime(2024, 1, 3, 5, 0, tzinfo=UTC)


def test_a_delivered_parcel_has_no_estimate():
    body = answer(
        activity("D", "F4", "011", date="20240101", time="100000"),
        deliveryDate=[{"type": "SDD", "date": "20240103"}, {"type": "DEL", "date": "20240101"}],
    )
    assert one(body).estimated_delivery is None


# -- error bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["250002", "250003", "UJ0001"])
def test_an_auth_code_in_an_answer_is_an_auth_error(code: str):
    body = json.dumps({"response": {"errors": [{"code": code, "message": "no"}]}}).encode()
    with pytest.raises(AuthError, match=code):
        translate.read_tracking(body, [NUMBER])


def test_another_error_is_a_permanent_error():
    body = json.dumps({"response": {"errors": [{"code": "TV1001", "message": "x"}]}}).encode()
    with pytest.raises(PermanentError, match="TV1001") as caught:
        translate.read_tracking(body, [NUMBER])
    assert not isinstance(caught.value, AuthError)


def test_a_body_that_is_not_json_is_retryable():
    with pytest.raises(RetryableError):
        translate.read_tracking(b"<html>Bad gateway</html>", [NUMBER])


@pytest.mark.parametrize("body", [b"[]", b"{}", b'{"trackResponse": {"shipment": {}}}'])
def test_json_of_the_wrong_shape_is_a_translation_error(body: bytes):
    with pytest.raises(TranslationError):
        translate.read_tracking(body, [NUMBER])


def test_a_shipment_without_packages_or_warnings_is_not_found():
    body = json.dumps({"trackResponse": {"shipment": [{"inquiryNumber": NUMBER}]}}).encode()
    assert one(body).found is False and one(body).error


def test_tracking_url():
    assert translate.tracking_url(" 1Z 999 ") == "https://www.ups.com/track?tracknum=1Z%20999"
    assert translate.tracking_url(NUMBER) == f"https://www.ups.com/track?tracknum={NUMBER}"


def test_an_activity_with_an_unreadable_date_is_dropped_with_a_warning(caplog):
    data = json.loads((TESTS / "payloads" / "track_delivered_postman_example.json").read_bytes())
    activities = data["trackResponse"]["shipment"][0]["package"][0]["activity"]
    activities[1]["date"] = "not-a-date"
    activities[1].pop("gmtDate", None)
    with caplog.at_level("WARNING"):
        [result] = translate.read_tracking(json.dumps(data).encode(), [NUMBER])
    assert len(result.events) == len(activities) - 1
    assert result.status == "delivered"
    assert "unreadable date" in caplog.text


def test_the_newest_scan_decides_over_a_disagreeing_current_status():
    data = json.loads((TESTS / "payloads" / "track_delivered_postman_example.json").read_bytes())
    package = data["trackResponse"]["shipment"][0]["package"][0]
    package["currentStatus"] = {"type": "I", "code": "AR", "description": "On the way"}
    [result] = translate.read_tracking(json.dumps(data).encode(), [NUMBER])
    assert result.events[-1].status == "delivered"
    assert result.status == "delivered"
