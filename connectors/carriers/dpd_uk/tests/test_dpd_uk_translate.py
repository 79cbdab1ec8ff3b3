"""DPD UK tracking XML to canonical tracking (connectors.carriers.dpd_uk.translate): the built
payloads against their hand-written expected JSON, the code table, UK local times."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.carriers.dpd_uk import translate
from hub import errors
from hub.connectors import TRACKING_STATUSES, tracking_to_json
from hub.errors import AuthError, PermanentError, TranslationError

HERE = Path(__file__).parent
PAYLOADS = sorted((HERE / "payloads").glob("*.xml"))


def answer(*details: str, error: str = "") -> bytes:
    problem = f"<error>{error}</error>" if error else ""
    return (
        f"<trackingresponse><trackingdetails>{''.join(details)}</trackingdetails>"
        f"{problem}</trackingresponse>"
    ).encode()


def detail(number: str, *events: tuple[str, str]) -> str:
    items = "".join(
        f"<trackingevent><date>{date}</date><code>{code}</code>"
        f"<description>d{code}</description></trackingevent>"
        for date, code in events
    )
    return (
        f"<trackingdetail><trackingnumber>{number}</trackingnumber>"
        f"<trackingevents>{items}</trackingevents></trackingdetail>"
    )


def test_every_payload_has_an_expected_file():
    assert PAYLOADS
    for path in PAYLOADS:
        assert (HERE / "expected" / f"{path.stem}.json").is_file(), path.name


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: p.stem)
def test_payload_translates_to_the_expected_json(path):
    expected = json.loads((HERE / "expected" / f"{path.stem}.json").read_text())
    if "raises" in expected:
        with pytest.raises(getattr(errors, expected["raises"])):
            translate.read_tracking(path.read_bytes(), expected["numbers"])
        return
    results = translate.read_tracking(path.read_bytes(), expected["numbers"])
    assert [tracking_to_json(r) for r in results] == expected["tracking"]


# -- the code table -----------------------------------------------------------------------


def test_every_code_in_the_table_maps_to_a_canonical_status():
    assert set(translate.CODE_MAP.values()) <= set(TRACKING_STATUSES)
    assert all(len(code) == 3 and code.isdigit() for code in translate.CODE_MAP)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("000", "label_created"),
        ("001", "delivered"),
        ("1", "delivered"),
        ("004", "in_transit"),
        ("015", "out_for_delivery"),
        ("15", "out_for_delivery"),
        ("014", "exception"),
        ("463", "delivered"),
    ],
)
def test_interesting_codes(code, status):
    assert translate.canonical(code, moving=False) == status


def test_an_unknown_code_is_in_transit_once_the_parcel_moves_else_unknown():
    assert translate.canonical("998", moving=True) == "in_transit"
    assert translate.canonical("998", moving=False) == "unknown"
    assert translate.canonical(None, moving=False) == "unknown"
    (parcel,) = translate.read_tracking(
        answer(detail("1", ("2024-01-01T10:00:00", "998"), ("2024-01-01T09:00:00", "000"))),
        ["1"],
    )
    # pre-advice is not moving: the later unknown code stays unknown
    assert [e.status for e in parcel.events] == ["label_created", "unknown"]


# -- times --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-06-12T14:37:52", datetime(2024, 6, 12, 13, 37, 52, tzinfo=UTC)),  # BST
        ("2024-01-12T14:37:52", datetime(2024, 1, 12, 14, 37, 52, tzinfo=UTC)),  # GMT
        ("2024-06-12 14:37:52", datetime(2024, 6, 12, 13, 37, 52, tzinfo=UTC)),
        ("12/06/2024 14:37:52", datetime(2024, 6, 12, 13, 37, 52, tzinfo=UTC)),
        ("2024-06-12T14:37:52+01:00", datetime(2024, 6, 12, 13, 37, 52, tzinfo=UTC)),
        ("2024-06-12T14:37:52.000+02:00", datetime(2024, 6, 12, 12, 37, 52, tzinfo=UTC)),
        ("2024-06-12T13:37:52Z", datetime(2024, 6, 12, 13, 37, 52, tzinfo=UTC)),
        ("2024-06-12T13:37:52.123456789Z", datetime(2024, 6, 12, 13, 37, 52, 123456, tzinfo=UTC)),
        ("2024-10-27T01:30:00", datetime(2024, 10, 27, 0, 30, tzinfo=UTC)),  # ambiguous: BST
    ],
)
def test_times_with_and_without_offsets(text, expected):
    assert translate.parse_time(text, translate.HOME_ZONE) == expected


def test_a_time_dpd_does_not_write_is_a_translation_error():
    with pytest.raises(TranslationError):
        translate.parse_time("soon", translate.HOME_ZONE)


def test_a_parcel_whose_only_event_has_an_unreadable_time_has_no_events():
    [result] = translate.read_tracking(answer(detail("1", ("soon", "001"))), ["1"])
    assert not result.found


# -- answers ------------------------------------------------------------------------------


def test_results_follow_the_order_asked_and_missing_numbers_are_not_found():
    body = answer(detail("B", ("2024-01-01T10:00:00", "001")), detail("A"))
    a, b, c = translate.read_tracking(body, ["A", "B", "C"])
    assert (a.tracking_number, a.found, a.error) == (
        "A",
        False,
        "DPD UK has no tracking events for it",
    )
    assert (b.tracking_number, b.status) == ("B", "delivered")
    assert (c.tracking_number, c.found, c.error) == ("C", False, "not in DPD UK's answer")


def test_a_detail_is_found_by_its_consignment_number_too():
    body = (
        b"<trackingresponse><trackingdetails><trackingdetail>"
        b"<consignmentnumber>6504123456</consignmentnumber><trackingevents><trackingevent>"
        b"<date>2024-01-01T10:00:00</date><code>009</code></trackingevent></trackingevents>"
        b"</trackingdetail></trackingdetails></trackingresponse>"
    )
    (parcel,) = translate.read_tracking(body, ["6504123456"])
    assert parcel.found and parcel.status == "in_transit" and parcel.events[0].text is None


def test_a_request_level_error_not_about_credentials_is_permanent():
    with pytest.raises(PermanentError) as caught:
        translate.read_tracking(answer(error="Malformed request"), ["1"])
    assert not isinstance(caught.value, AuthError)
    with pytest.raises(AuthError):
        translate.read_tracking(answer(error="Access denied for user"), ["1"])


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE t [<!ENTITY x "xxxx">]><trackingresponse>&x;</trackingresponse>',
        b"<html><body>Service unavailable</body></html>",
        b"not xml",
        b"",
    ],
)
def test_a_body_that_is_no_tracking_answer_is_refused(body):
    with pytest.raises(TranslationError):
        translate.read_tracking(body, ["1"])


def test_the_request_document():
    assert translate.tracking_request("u<1>", "p&w", ["155", "156"]) == (
        b'<?xml version="1.0" encoding="UTF-8"?><trackingrequest><user>u&lt;1&gt;</user>'
        b"<password>p&amp;w</password><trackingnumbers><trackingnumber>155</trackingnumber>"
        b"<trackingnumber>156</trackingnumber></trackingnumbers></trackingrequest>"
    )


def test_an_event_with_an_unreadable_date_is_dropped_with_a_warning(caplog):
    body = (HERE / "payloads" / "tracking_delivered_and_unknown.xml").read_text(encoding="utf-8")
    body = body.replace("<date>2024-06-12T09:02:10</date>", "<date>sometime Wednesday</date>")
    with caplog.at_level("WARNING"):
        result = translate.read_tracking(body.encode(), ["15505012345678"])[0]
    assert result.found
    assert len(result.events) == 4
    assert "unreadable date" in caplog.text


# -- the code table, through a payload -----------------------------------------------------

#: No DPD UK answer is public, so the body is the built delivered payload (see SOURCES.md) with
#: its latest event's code and text swapped.
DELIVERED_PAYLOAD = HERE / "payloads" / "tracking_delivered_and_unknown.xml"
LATEST_TEXT = "Your parcel has been delivered and received by HARRIS"


def swapped(code: str, words: str) -> list:
    xml = DELIVERED_PAYLOAD.read_text(encoding="utf-8")
    xml = xml.replace("<code>001</code>", f"<code>{code}</code>", 1)
    xml = xml.replace(LATEST_TEXT, words, 1)
    return translate.read_tracking(xml.encode(), ["15505012345678"])


@pytest.mark.parametrize(
    ("code", "status"),
    [
        # named by DPD UK's tracking site API (apis.track.dpd.co.uk)
        ("000", "label_created"),
        ("001", "delivered"),
        ("004", "in_transit"),
        ("009", "in_transit"),
        ("015", "out_for_delivery"),
        # grouped by the published Business Central integration (PDCCourierDPD)
        ("006", "in_transit"),
        ("471", "in_transit"),
        ("002", "exception"),
        ("474", "exception"),
        ("017", "delivered"),
        ("463", "delivered"),
    ],
)
def test_dpd_uk_codes_through_a_payload(code, status):
    [parcel] = swapped(code, f"DPD's words for {code}")
    latest = parcel.events[-1]
    assert (latest.code, latest.text, latest.status) == (code, f"DPD's words for {code}", status)
    assert parcel.status == status


@pytest.mark.parametrize("code", sorted(translate.CODE_MAP))
def test_every_table_code_through_a_payload(code):
    [parcel] = swapped(code, f"DPD's words for {code}")
    latest = parcel.events[-1]
    assert latest.code == code and latest.text == f"DPD's words for {code}"
    assert latest.status == parcel.status == translate.CODE_MAP[code]
