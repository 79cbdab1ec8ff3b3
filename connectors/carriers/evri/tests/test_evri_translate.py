"""Evri tracking API answers to canonical tracking (connectors.carriers.evri.translate): the
built payloads against their hand-written expected JSON, the stage table, times, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.carriers.evri import translate
from hub import errors
from hub.connectors import TRACKING_STATUSES, tracking_to_json
from hub.errors import AuthError, PermanentError, TranslationError

HERE = Path(__file__).parent
PAYLOADS = sorted((HERE / "payloads").glob("*.json"))


def parcels(*results: dict, failures: list | None = None) -> bytes:
    return json.dumps({"results": list(results), "failures": failures or []}).encode()


def parcel(barcode: str, *events: tuple[str, str]) -> dict:
    return {
        "parcelIdentifiers": [{"type": "BARCODE", "value": barcode}],
        "trackingEvents": [
            {"dateTime": when, "trackingStage": {"trackingStageCode": code, "description": code}}
            for when, code in events
        ],
    }


def test_every_payload_has_an_expected_file():
    assert PAYLOADS
    for path in PAYLOADS:
        assert (HERE / "expected" / path.name).is_file(), path.name


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: p.stem)
def test_payload_translates_to_the_expected_json(path):
    expected = json.loads((HERE / "expected" / path.name).read_text())
    if "raises" in expected:
        with pytest.raises(getattr(errors, expected["raises"])):
            translate.read_tracking(path.read_bytes(), expected["numbers"])
        return
    results = translate.read_tracking(path.read_bytes(), expected["numbers"])
    assert [tracking_to_json(r) for r in results] == expected["tracking"]


# -- the stage table ----------------------------------------------------------------------


def test_every_stage_in_the_table_maps_to_a_canonical_status():
    assert set(translate.STAGE_MAP.values()) <= set(TRACKING_STATUSES)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("1", "label_created"),
        ("2", "picked_up"),
        ("3", "in_transit"),
        ("4_COURIER", "out_for_delivery"),
        ("4_SHOP", "ready_for_pickup"),
        ("5_COURIER", "delivered"),
        ("5_SHOP", "delivered"),
    ],
)
def test_interesting_stages(code, status):
    assert translate.canonical(code, moving=False) == status


def test_an_unknown_stage_is_in_transit_once_the_parcel_moves_else_unknown():
    assert translate.canonical("9_NEW", moving=True) == "in_transit"
    assert translate.canonical("9_NEW", moving=False) == "unknown"
    answer = parcels(parcel("A", ("2024-01-01T10:00:00Z", "9_NEW")))
    (only,) = translate.read_tracking(answer, ["A"])
    assert only.found and only.status == "unknown" and only.carrier_status == "9_NEW"


# -- times --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-10-14T12:31:08Z", datetime(2024, 10, 14, 12, 31, 8, tzinfo=UTC)),
        ("2024-10-14T13:31:08+01:00", datetime(2024, 10, 14, 12, 31, 8, tzinfo=UTC)),
        ("2024-10-14T13:31:08", datetime(2024, 10, 14, 12, 31, 8, tzinfo=UTC)),  # BST
        ("2024-11-14T13:31:08", datetime(2024, 11, 14, 13, 31, 8, tzinfo=UTC)),  # GMT
        ("2024-10-14T12:31:08.123456789Z", datetime(2024, 10, 14, 12, 31, 8, 123456, tzinfo=UTC)),
    ],
)
def test_times_with_and_without_offsets(text, expected):
    assert translate.parse_time(text, translate.HOME_ZONE) == expected


def test_a_time_that_is_not_iso_is_a_translation_error():
    with pytest.raises(TranslationError):
        translate.parse_time("14/10/2024", translate.HOME_ZONE)


def test_a_parcel_whose_only_event_has_an_unreadable_time_has_no_events():
    [result] = translate.read_tracking(parcels(parcel("A", ("14/10/2024", "1"))), ["A"])
    assert not result.found


# -- answers ------------------------------------------------------------------------------


def test_results_follow_the_order_asked_matched_by_barcode():
    body = parcels(
        parcel("B", ("2024-01-01T10:00:00Z", "5_COURIER")),
        parcel("a", ("2024-01-01T10:00:00Z", "3")),
    )
    a, b, c = translate.read_tracking(body, ["A", "B", "C"])
    assert (a.tracking_number, a.status) == ("A", "in_transit")  # barcodes match in any case
    assert (b.tracking_number, b.status) == ("B", "delivered")
    assert (c.found, c.error) == (False, "not in Evri's answer")


def test_equal_times_keep_evris_order_oldest_first():
    body = parcels(parcel("A", ("2024-01-01T10:00:00Z", "3"), ("2024-01-01T10:00:00Z", "2")))
    (only,) = translate.read_tracking(body, ["A"])
    assert [e.code for e in only.events] == ["2", "3"]


def test_a_parcel_without_events_is_not_found():
    (only,) = translate.read_tracking(parcels(parcel("A")), ["A"])
    assert only.found is False and only.error == "Evri has no tracking events for it"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"error": "Invalid apiKey"}', AuthError),
        (b'{"error": {"message": "uniqueIds is required"}}', PermanentError),
        (b"[]", TranslationError),
        (b'{"results": "x"}', TranslationError),
        (b"<html>busy</html>", TranslationError),
        (b"\xff\xfe", TranslationError),
    ],
)
def test_error_and_odd_bodies(body, error):
    with pytest.raises(error):
        translate.read_tracking(body, ["A"])


@pytest.mark.parametrize(
    ("body", "ids"),
    [
        (b'["urn:hermes:uk:parcel:barcode:A", "urn:hermes:uk:parcel:barcode:B"]', 2),
        (b'{"parcelIdentifiers": [{"urn": "urn:x:1"}]}', 1),
        (b"[]", 0),
    ],
)
def test_search_answers(body, ids):
    assert len(translate.read_search(body)) == ids


def test_a_search_error_about_the_key_is_an_auth_error():
    with pytest.raises(AuthError):
        translate.read_search(b'{"fault": {"faultstring": "Invalid ApiKey"}}')
    with pytest.raises(TranslationError):
        translate.read_search(b'"text"')


def test_an_event_with_an_unreadable_date_is_dropped_with_a_warning(caplog):
    data = json.loads((HERE / "payloads" / "parcels_delivered_by_courier.json").read_bytes())
    events = data["results"][0]["trackingEvents"]
    events[1]["dateTime"] = "14/10/2024 at seven"
    number = data["results"][0]["parcelIdentifiers"][0]["value"]
    with caplog.at_level("WARNING"):
        [result] = translate.read_tracking(json.dumps(data).encode(), [number])
    assert result.found
    assert len(result.events) == len(events) - 1
    assert result.status == "delivered"
    assert "unreadable date" in caplog.text


# -- the stage table, through a payload ----------------------------------------------------

#: No Evri answer is public, so the body is the built delivered-by-courier payload (see
#: SOURCES.md) with its latest event's stage and tracking point text swapped.
DELIVERED_PAYLOAD = HERE / "payloads" / "parcels_delivered_by_courier.json"


def swapped(code: str, words: str) -> list:
    answer = json.loads(DELIVERED_PAYLOAD.read_text(encoding="utf-8"))
    latest = answer["results"][0]["trackingEvents"][0]  # Evri lists them newest first
    latest["trackingStage"]["trackingStageCode"] = code
    latest["trackingPoint"]["description"] = words
    return translate.read_tracking(json.dumps(answer).encode(), ["H01HYA0012345678"])


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("0", "label_created"),
        ("1", "label_created"),
        ("2", "picked_up"),
        ("3", "in_transit"),
        ("4", "in_transit"),
        ("4_COURIER", "out_for_delivery"),
        ("4_SHOP", "ready_for_pickup"),
        ("4_LOCKER", "ready_for_pickup"),
        ("5_COURIER", "delivered"),
        ("5_SHOP", "delivered"),
        ("A", "returned_to_sender"),
        ("6", "exception"),
        ("6_INFO", "exception"),
        ("6_ACTION", "exception"),
    ],
)
def test_every_published_stage_through_a_payload(code, status):
    [result] = swapped(code, f"Evri's words for {code}")
    latest = result.events[-1]
    assert (latest.code, latest.text, latest.status) == (code, f"Evri's words for {code}", status)
    assert result.status == status


def test_the_table_is_the_published_stages():
    assert set(translate.STAGE_MAP) == {
        *"0 1 2 3 4 4_COURIER 4_SHOP 4_LOCKER 5_COURIER 5_SHOP A 6 6_INFO 6_ACTION".split()
    }
