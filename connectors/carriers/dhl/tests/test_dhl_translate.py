"""DHL answers to canonical tracking: the recorded and built payloads against their
hand-written expected files, the status tables, the fallbacks and the times. Pure: no I/O."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connectors.carriers.dhl import translate
from hub import errors
from hub.connectors import TRACKING_STATUSES, tracking_to_json
from hub.errors import AuthError, PermanentError, RetryableError, TranslationError

TESTS = Path(__file__).parent
PAYLOADS = sorted((TESTS / "payloads").glob("*.json"))


def doc(name: str) -> dict[str, Any]:
    return json.loads((TESTS / "payloads" / name).read_bytes())


def read(data: Any, numbers: list[str]) -> list[dict[str, Any]]:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return [tracking_to_json(t) for t in translate.read_tracking(raw, numbers)]


def event(code: str | None, at: str, status: str = "", description: str = "") -> dict[str, Any]:
    return {"timestamp": at, "statusCode": code, "status": status, "description": description}


def answer(*events: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """An answer with these events (newest first, as DHL lists them)."""
    shipment: dict[str, Any] = {"id": "1234567890", "service": "express", "events": list(events)}
    if current is not None:
        shipment["status"] = current
    return {"shipments": [shipment]}


# -- recorded payloads ---------------------------------------------------------------------


def test_every_payload_has_an_expected_file_and_a_source_line():
    sources = (TESTS / "payloads" / "SOURCES.md").read_text(encoding="utf-8")
    assert len(PAYLOADS) >= 5
    for path in PAYLOADS:
        assert (TESTS / "expected" / path.name).is_file(), path.name
        assert f"`{path.name}`" in sources, path.name


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: p.stem)
def test_payload_reads_as_expected(path: Path):
    expected = json.loads((TESTS / "expected" / path.name).read_text(encoding="utf-8"))
    if "raises" in expected:
        with pytest.raises(getattr(errors, expected["raises"])):
            translate.read_tracking(path.read_bytes(), expected["numbers"])
        return
    results = translate.read_tracking(path.read_bytes(), expected["numbers"])
    assert [tracking_to_json(r) for r in results] == expected["tracking"]


# -- the status tables ---------------------------------------------------------------------


def test_every_code_in_the_tables_maps_to_a_canonical_status():
    assert set(translate.STATUS_CODES) == {
        "pre-transit",
        "transit",
        "delivered",
        "failure",
        "unknown",
    }
    for code, status in translate.STATUS_CODES.items():
        assert status in TRACKING_STATUSES, code
    for code, pairs in translate.REFINEMENTS.items():
        assert code in translate.STATUS_CODES
        for phrase, status in pairs:
            assert status in TRACKING_STATUSES and phrase == phrase.lower().strip()


@pytest.mark.parametrize("code", sorted(translate.STATUS_CODES))
def test_each_status_code_reads_through_the_table(code):
    [result] = read(answer(event(code, "2024-01-10T10:00:00Z")), ["1234567890"])
    assert result["events"][0]["status"] == translate.STATUS_CODES[code]
    assert result["status"] == translate.STATUS_CODES[code]
    assert result["events"][0]["code"] == code


@pytest.mark.parametrize(
    ("code", "words", "status"),
    [
        ("pre-transit", "Shipment information received", "label_created"),
        ("transit", "Shipment picked up", "picked_up"),
        ("transit", "Processed at LEIPZIG - GERMANY", "in_transit"),
        ("transit", "With delivery courier", "out_for_delivery"),
        ("transit", "The shipment has been loaded onto the delivery vehicle", "out_for_delivery"),
        ("transit", "Awaiting collection by recipient as requested", "ready_for_pickup"),
        ("transit", "The shipment is ready for pick-up at the PARCELSHOP", "ready_for_pickup"),
        ("failure", "Delivery attempted; recipient not home", "delivery_attempted"),
        ("failure", "Returned to shipper", "returned_to_sender"),
        ("failure", "Shipment on hold", "exception"),
        ("delivered", "Delivered - Signed for by: JESSICA", "delivered"),
        ("DELIVERED", "", "delivered"),  # DHL's enum is lower case; its case is not trusted
    ],
)
def test_interesting_codes_and_words(code, words, status):
    assert translate.event_status(code, words, []) == status


def test_words_never_cross_the_status_code():
    # "DELIVERED" in the words of a pre-transit event does not make it delivered (see the
    # module docstring: statusCode wins).
    assert translate.event_status("pre-transit", "DELIVERED JESSICA", []) == "label_created"
    assert translate.event_status("delivered", "returned to shipper", []) == "delivered"


def test_unknown_status_code_on_a_moving_parcel_is_in_transit():
    [result] = read(
        answer(
            event("customs", "2024-01-11T10:00:00Z", "Held at customs"),
            event("transit", "2024-01-10T10:00:00Z", "Processed"),
        ),
        ["1234567890"],
    )
    assert [e["status"] for e in result["events"]] == ["in_transit", "in_transit"]
    assert result["status"] == "in_transit"
    assert result["events"][1]["code"] == "customs"


def test_unknown_status_code_before_the_parcel_moves_is_unknown():
    [result] = read(
        answer(
            event("customs", "2024-01-11T10:00:00Z"),
            event("pre-transit", "2024-01-10T10:00:00Z"),
        ),
        ["1234567890"],
    )
    assert [e["status"] for e in result["events"]] == ["label_created", "unknown"]
    assert result["status"] == "unknown"


def test_dhl_newest_event_decides_over_a_disagreeing_current_status():
    current = event("delivered", "2024-01-12T10:00:00Z", "Delivered")
    [result] = read(
        answer(event("transit", "2024-01-11T10:00:00Z", "Out for delivery"), current=current),
        ["1234567890"],
    )
    assert result["status"] == "out_for_delivery"
    assert result["events"][-1]["status"] == "out_for_delivery"


def test_dhl_current_status_decides_when_the_newest_event_code_is_unknown():
    current = event("delivered", "2024-01-12T10:00:00Z", "Delivered")
    [result] = read(
        answer(event("no-such-code", "2024-01-11T10:00:00Z", "Something"), current=current),
        ["1234567890"],
    )
    assert result["status"] == "delivered"
    assert result["carrier_status"] == "delivered"


def test_without_a_current_status_the_latest_event_decides():
    [result] = read(
        answer(
            event("transit", "2024-01-11T10:00:00Z", "Out for delivery"),
            event("transit", "2024-01-10T10:00:00Z", "Processed"),
        ),
        ["1234567890"],
    )
    assert result["status"] == "out_for_delivery"
    assert result["carrier_status"] == "transit"


def test_no_events_no_status_is_unknown_but_found():
    [result] = read({"shipments": [{"id": "1234567890"}]}, ["1234567890"])
    assert result["found"] is True and result["status"] == "unknown" and result["events"] == []


def test_events_sharing_a_time_keep_dhls_order():
    at = "2024-01-10T10:00:00Z"
    [result] = read(
        answer(
            event("delivered", at), event("transit", at, "Out for delivery"), event("transit", at)
        ),
        ["1234567890"],
    )
    assert [e["status"] for e in result["events"]] == [
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]


@pytest.mark.parametrize(
    ("code", "words", "expected"),
    [
        ("transit", "Die Sendung wurde in das Zustellfahrzeug geladen.", "out_for_delivery"),
        ("transit", "Die Sendung wurde erfolgreich zugestellt.", "delivered"),
        ("unknown", "Die Sendung wurde erfolgreich zugestellt.", "delivered"),
        ("transit", "Der Empfänger wurde nicht angetroffen.", "delivery_attempted"),
    ],
)
def test_dhl_paket_german_texts(code, words, expected):
    [result] = read(answer(event(code, "2024-03-11T10:00:00", status=words)), ["1234567890"])
    [got] = result["events"]
    assert got["status"] == expected
    assert got["code"] == code and got["text"] == words  # DHL's own code and text kept


# -- times ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2018-03-02T07:53:47Z", "2018-03-02T07:53:47Z"),
        ("2024-03-11T17:05:33+01:00", "2024-03-11T16:05:33Z"),
        ("2024-03-11T17:05:33-05:00", "2024-03-11T22:05:33Z"),
        ("2024-03-11T22:40:00.123456789Z", "2024-03-11T22:40:00.123456Z"),
        ("2024-03-11T22:40:00.123456789+02:00", "2024-03-11T20:40:00.123456Z"),
        ("2018-03-02T07:53:47", "2018-03-02T06:53:47Z"),  # no offset: Berlin (CET)
        ("2024-07-02T07:53:47", "2024-07-02T05:53:47Z"),  # no offset: Berlin (CEST)
        ("2024-03-13", "2024-03-12T23:00:00Z"),  # DHL's Timestamp may be a date (Berlin)
    ],
)
def test_event_times(value, expected):
    [result] = read(answer(event("transit", value)), ["1234567890"])
    assert result["events"][0]["at"] == expected


def test_an_event_whose_time_is_no_time_is_dropped_with_a_warning(caplog):
    body = answer(event("transit", "soon"), event("pre-transit", "2024-03-11T08:00:00Z"))
    with caplog.at_level("WARNING"):
        [result] = read(body, ["1234567890"])
    assert result["found"] is True
    assert [e["code"] for e in result["events"]] == ["pre-transit"]
    assert "shipments[0].events[0].timestamp" in caplog.text


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"estimatedTimeOfDelivery": "2018-08-03T00:00:00Z"}, "2018-08-03T00:00:00Z"),
        (
            {
                "estimatedTimeOfDelivery": "2018-08-03T00:00:00Z",
                "estimatedDeliveryTimeFrame": {"estimatedThrough": "2018-08-03T22:00:00Z"},
            },
            "2018-08-03T22:00:00Z",
        ),
        (
            {"estimatedDeliveryTimeFrame": {"estimatedFrom": "2018-08-03T08:00:00+02:00"}},
            "2018-08-03T06:00:00Z",
        ),
        ({}, None),
    ],
)
def test_estimated_delivery(fields, expected):
    data = answer(event("transit", "2018-08-01T00:00:00Z"))
    data["shipments"][0].update(fields)
    [result] = read(data, ["1234567890"])
    assert result["estimated_delivery"] == expected


# -- shapes and matching -------------------------------------------------------------------


def test_the_shipment_whose_id_is_the_number_is_picked():
    data = {
        "shipments": [
            {"id": "00340434161094042557", "service": "parcel-de", "events": []},
            {
                "id": "1234567890",
                "service": "express",
                "events": [event("delivered", "2024-01-10T10:00:00Z")],
            },
        ]
    }
    [result] = read(data, ["1234 567 890"])
    assert result["status"] == "delivered" and result["tracking_number"] == "1234 567 890"
    # a number DHL resolved to another id: its first shipment
    [other] = read(data, ["JJD000390007880472911"])
    assert other["found"] is True and other["events"] == []


def test_a_local_tracking_number_reference_matches_too():
    data = {
        "shipments": [
            {"id": "A1", "events": []},
            {
                "id": "B2",
                "details": {"references": [{"number": "LOCAL42", "type": "local-tracking-number"}]},
                "events": [event("transit", "2024-01-10T10:00:00Z")],
            },
        ]
    }
    [result] = read(data, ["local42"])
    assert result["status"] == "in_transit"


def test_an_empty_shipment_list_is_not_found():
    [result] = read({"shipments": []}, ["1234567890"])
    assert result["found"] is False and result["error"]


def test_location_reads_locality_and_country():
    place = {"address": {"addressLocality": "Leeds", "countryCode": "GB", "postalCode": "LS1"}}
    data = answer(dict(event("transit", "2024-01-10T10:00:00Z"), location=place))
    [result] = read(data, ["1234567890"])
    assert result["events"][0]["location"] == "Leeds, GB"


def test_the_event_text_is_the_description_else_the_status():
    [result] = read(
        answer(
            event("transit", "2024-01-11T10:00:00Z", status="Processed"),
            event("transit", "2024-01-10T10:00:00Z", status="x", description="Arrived at hub"),
        ),
        ["1234567890"],
    )
    assert [e["text"] for e in result["events"]] == ["Arrived at hub", "Processed"]


# -- problems ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("problem", "error"),
    [
        ({"status": 401, "title": "Unauthorized"}, AuthError),
        ({"status": "403", "title": "Forbidden"}, AuthError),
        ({"status": 429, "title": "Too Many Requests"}, RetryableError),
        ({"status": 500, "title": "Internal Server Error"}, RetryableError),
        (
            {"status": 400, "title": "Bad Request", "detail": "Invalid trackingNumber"},
            PermanentError,
        ),
        ({"title": "Something"}, PermanentError),
    ],
)
def test_problems_raise_what_the_caller_should_do(problem, error):
    with pytest.raises(error):
        read(problem, ["1234567890"])


def test_not_found_for_every_number_asked():
    results = read(doc("unified_track_not_found_404.json"), ["A1", "B2"])
    assert [(r["found"], r["status"]) for r in results] == [(False, "unknown")] * 2


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b"null"])
def test_a_body_that_is_no_answer_is_a_translation_error(raw):
    with pytest.raises(TranslationError):
        translate.read_tracking(raw, ["1234567890"])


@pytest.mark.parametrize(
    ("data", "path"),
    [({"shipments": {"id": 1}}, "shipments"), ({"shipments": ["x"]}, "shipments[0]")],
)
def test_a_malformed_shipment_list_names_where_it_is(data, path):
    with pytest.raises(TranslationError) as caught:
        read(data, ["1234567890"])
    assert caught.value.path == path
