"""FedEx translation (connectors.carriers.fedex.translate): the recorded answers against their
hand-written canonical JSON, the status tables, number reuse, times, estimates, errors."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.carriers.fedex import translate
from hub import errors
from hub.connectors import TRACKING_STATUSES, tracking_to_json
from hub.errors import AuthError, PermanentError, RetryableError, TranslationError

TESTS = Path(__file__).parent
PAYLOADS = sorted((TESTS / "payloads").glob("*.json"))
NUMBER = "794644790138"


def expected(path: Path) -> dict[str, Any]:
    return json.loads((TESTS / "expected" / path.name).read_text(encoding="utf-8"))


def scan(event_type: str, date: str, derived: str | None = None, exception: str = "") -> dict:
    return {
        "date": date,
        "eventType": event_type,
        "eventDescription": f"event {event_type}",
        "exceptionCode": exception,
        "exceptionDescription": "",
        "derivedStatusCode": derived,
        "scanLocation": {"city": "LEEDS", "countryCode": "GB"},
    }


def result(*scans: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"trackingNumberInfo": {"trackingNumber": NUMBER}, "scanEvents": list(scans), **more}


def answer(*results: dict[str, Any], number: str = NUMBER) -> bytes:
    complete = {"trackingNumber": number, "trackResults": list(results)}
    return json.dumps({"output": {"completeTrackResults": [complete]}}).encode()


def one(body: bytes):
    [tracking] = translate.read_tracking(body, [NUMBER])
    return tracking


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


def test_number_reuse_takes_the_most_recent_shipment():
    # the recorded answer: result 1 "running late" (newest scan 14:50Z), result 2 delivered
    # (newest scan 16:26Z); swapping them must not change which one is the parcel
    path = TESTS / "payloads" / "track_delay_and_delivery_exception_two_results.json"
    data = json.loads(path.read_bytes())
    complete = data["output"]["completeTrackResults"][0]
    complete["trackResults"].reverse()
    [tracking] = translate.read_tracking(json.dumps(data).encode(), ["776094337676"])
    assert tracking.status == "delivered" and len(tracking.events) == 8
    # and with only the older shipment, that one is the parcel
    complete["trackResults"] = [
        r for r in complete["trackResults"] if "2460425000" in json.dumps(r)
    ]
    [older] = translate.read_tracking(json.dumps(data).encode(), ["776094337676"])
    assert older.status == "in_transit"  # latestStatusDetail FD "At FedEx destination"
    assert [e.code for e in older.events][-3:] == ["DY/A52", "HP", "AR"]
    assert [e.status for e in older.events][-3:] == ["exception", "ready_for_pickup", "in_transit"]


def test_results_come_one_per_number_in_the_order_asked():
    completes = [
        {"trackingNumber": n, "trackResults": [result(scan("PU", "2024-01-01T10:00:00Z"))]}
        for n in ("111", "222")
    ]
    body = json.dumps({"output": {"completeTrackResults": completes}}).encode()
    got = translate.read_tracking(body, ["222", "333", "111"])
    assert [(t.tracking_number, t.found) for t in got] == [
        ("222", True),
        ("333", False),
        ("111", True),
    ]
    assert got[1].error == "not in FedEx's answer"


# -- status tables ------------------------------------------------------------------------------


@pytest.mark.parametrize("table", [translate.EVENT_CODES, translate.DERIVED_CODES])
def test_every_code_in_the_tables_maps_to_a_canonical_status(table: dict[str, str]):
    assert table
    for code, status in table.items():
        assert status in TRACKING_STATUSES, code
        assert status != "unknown", code
        assert code == code.strip().upper(), code


def test_refinements_by_exception_code_refine_a_known_event_type():
    for code in translate.EVENT_CODES:
        if "/" in code:
            assert code.split("/")[0] in translate.EVENT_CODES, code


@pytest.mark.parametrize(
    ("event_type", "derived", "exception", "status"),
    [
        ("OC", "IN", "", "label_created"),
        ("PU", "PU", "", "picked_up"),
        ("AR", "IT", "", "in_transit"),
        ("OD", "IT", "", "out_for_delivery"),  # FedEx derives IT: the event type is finer
        ("HP", "IT", "", "ready_for_pickup"),  # likewise
        ("DL", "DL", "", "delivered"),
        ("DE", "DE", "08", "delivery_attempted"),  # customer not available or business closed
        ("DE", "DE", "007", "delivery_attempted"),  # customer not available
        ("DE", "DE", "A47", "exception"),  # redirected to a FedEx location
        ("DY", "DY", "A52", "exception"),  # delayed
        ("CA", "CA", "", "exception"),  # cancelled
        ("RS", "RS", "", "returned_to_sender"),
        ("ZZ", "OD", "", "out_for_delivery"),  # an unknown type: the derived code decides
        ("od", None, "", "out_for_delivery"),  # case does not matter
    ],
)
def test_status_of_a_scan(event_type: str, derived: str | None, exception: str, status: str):
    body = answer(result(scan(event_type, "2024-05-01T10:00:00-05:00", derived, exception)))
    [event] = one(body).events
    assert event.status == status
    assert event.code == (f"{event_type}/{exception}" if exception else event_type)


def test_an_unknown_code_is_unknown_before_the_parcel_moved_and_in_transit_after():
    body = answer(
        result(
            scan("ZZ", "2024-05-03T10:00:00Z"),
            scan("AR", "2024-05-02T10:00:00Z", "IT"),
            scan("ZZ", "2024-05-01T10:00:00Z"),
        )
    )
    assert [e.status for e in one(body).events] == ["unknown", "in_transit", "in_transit"]


def test_the_newest_scan_decides_the_parcel_over_the_latest_status_detail():
    body = answer(
        result(
            scan("RS", "2024-05-03T10:00:00Z"),
            scan("AR", "2024-05-02T10:00:00Z", "IT"),
            latestStatusDetail={"code": "IT", "derivedCode": "IT", "statusByLocale": "In transit"},
        )
    )
    tracking = one(body)
    assert (tracking.status, tracking.carrier_status) == ("returned_to_sender", "In transit")
    no_scan = answer(result(latestStatusDetail={"code": "DE", "derivedCode": "DE"}))
    assert one(no_scan).status == "exception"
    # without one the newest event decides, and gives its words
    assert one(answer(result(scan("OD", "2024-05-02T10:00:00Z")))).status == "out_for_delivery"
    assert one(answer(result(scan("OD", "2024-05-02T10:00:00Z")))).carrier_status == "event OD"


def test_text_joins_the_event_and_its_exception_and_location_is_readable():
    s = scan("DE", "2024-05-01T10:00:00Z", "DE", "08")
    s.update(
        eventDescription="Delivery exception",
        exceptionDescription=" Customer not available ",
        scanLocation={"city": "Leeds", "stateOrProvinceCode": "", "countryCode": "GB"},
    )
    [event] = one(answer(result(s))).events
    assert event.text == "Delivery exception: Customer not available"
    assert event.location == "Leeds, GB"


# -- times --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "utc"),
    [
        ("2024-08-20T12:41:57-04:00", datetime(2024, 8, 20, 16, 41, 57, tzinfo=UTC)),
        ("2024-08-20T16:41:57Z", datetime(2024, 8, 20, 16, 41, 57, tzinfo=UTC)),
        ("2024-08-20T16:41:57.123456789Z", datetime(2024, 8, 20, 16, 41, 57, 123456, tzinfo=UTC)),
        ("2024-08-20T18:41:57.1+02:00", datetime(2024, 8, 20, 16, 41, 57, 100000, tzinfo=UTC)),
        # no offset: Memphis time, summer (CDT, -05:00) and winter (CST, -06:00)
        ("2024-08-15T00:00:00", datetime(2024, 8, 15, 5, 0, tzinfo=UTC)),
        ("2024-01-15T00:00:00", datetime(2024, 1, 15, 6, 0, tzinfo=UTC)),
        ("2024-01-15", datetime(2024, 1, 15, 6, 0, tzinfo=UTC)),
    ],
)
def test_times(value: str, utc: datetime):
    assert translate.parse_time(value) == utc


@pytest.mark.parametrize("value", [None, "", "string", "2024-13-01T00:00:00Z", 42])
def test_what_is_not_a_time(value: Any):
    assert translate.parse_time(value) is None


def test_a_scan_without_a_readable_time_is_left_out():
    body = answer(result(scan("DL", "soon"), scan("PU", "2024-05-01T10:00:00Z")))
    assert [e.code for e in one(body).events] == ["PU"]


def test_scans_are_ordered_by_time_not_by_their_place_in_the_list():
    body = answer(result(scan("AR", "2024-05-01T10:00:00Z"), scan("DP", "2024-05-01T12:00:00Z")))
    assert [e.code for e in one(body).events] == ["AR", "DP"]


# -- estimates ----------------------------------------------------------------------------------


def test_the_estimate_is_the_end_of_fedexs_window():
    window = {"window": {"begins": "2024-05-03T09:00:00-05:00", "ends": "2024-05-03T13:00:00"}}
    body = answer(result(scan("AR", "2024-05-01T10:00:00Z"), estimatedDeliveryTimeWindow=window))
    assert one(body).estimated_delivery == datetime(2024, 5, 3, 18, 0, tzinfo=UTC)


def test_without_a_window_the_standard_transit_end_is_the_estimate():
    body = answer(
        result(
            scan("AR", "2024-05-01T10:00:00Z"),
            estimatedDeliveryTimeWindow={"window": {}},
            standardTransitTimeWindow={"window": {"ends": "2024-05-04T00:00:00-06:00"}},
        )
    )
    assert one(body).estimated_delivery == datetime(2024, 5, 4, 6, 0, tzinfo=UTC)


def test_a_dated_estimated_delivery_comes_before_the_standard_transit():
    body = answer(
        result(
            scan("AR", "2024-05-01T10:00:00Z"),
            dateAndTimes=[{"type": "ESTIMATED_DELIVERY", "dateTime": "2024-05-03T00:00:00-06:00"}],
            standardTransitTimeWindow={"window": {"ends": "2024-05-04T00:00:00-06:00"}},
        )
    )
    assert one(body).estimated_delivery == datetime(2024, 5, 3, 6, 0, tzinfo=UTC)


# -- errors -------------------------------------------------------------------------------------


def error_body(code: str) -> bytes:
    return json.dumps({"transactionId": "t", "errors": [{"code": code, "message": "m"}]}).encode()


@pytest.mark.parametrize("code", ["NOT.AUTHORIZED.ERROR", "FORBIDDEN.ERROR"])
def test_a_refused_token_in_an_answer_is_an_auth_error(code: str):
    with pytest.raises(AuthError, match=re.escape(code)):
        translate.read_tracking(error_body(code), [NUMBER])


@pytest.mark.parametrize("code", ["INTERNAL.SERVER.ERROR", "SERVICE.UNAVAILABLE.ERROR"])
def test_a_fedex_failure_in_an_answer_is_retryable(code: str):
    with pytest.raises(RetryableError):
        translate.read_tracking(error_body(code), [NUMBER])


def test_another_top_level_error_is_a_permanent_error():
    with pytest.raises(PermanentError, match=re.escape("INVALID.INPUT.EXCEPTION")) as caught:
        translate.read_tracking(error_body("INVALID.INPUT.EXCEPTION"), [NUMBER])
    assert not isinstance(caught.value, AuthError | RetryableError)


def test_a_body_that_is_not_json_is_retryable():
    with pytest.raises(RetryableError):
        translate.read_tracking(b"<html>", [NUMBER])


@pytest.mark.parametrize("body", [b"[]", b"{}", b'{"output": null}'])
def test_json_of_the_wrong_shape_is_a_translation_error(body: bytes):
    with pytest.raises(TranslationError):
        translate.read_tracking(body, [NUMBER])


def test_refusal_names_errors_about_numbers_only():
    assert translate.refusal(json.loads(error_body("TRACKING.TRACKINGNUMBER.INVALID"))) == (
        "TRACKING.TRACKINGNUMBER.INVALID: m"
    )
    assert translate.refusal(json.loads(error_body("INVALID.INPUT.EXCEPTION"))) is None
    assert translate.refusal(None) is None


def test_the_request_asks_for_every_scan():
    assert translate.request_body([" 111 ", "222"]) == {
        "includeDetailedScans": True,
        "trackingInfo": [
            {"trackingNumberInfo": {"trackingNumber": "111"}},
            {"trackingNumberInfo": {"trackingNumber": "222"}},
        ],
    }


def test_tracking_url():
    assert translate.tracking_url("738488882438") == (
        "https://www.fedex.com/fedextrack/?trknbr=738488882438"
    )
