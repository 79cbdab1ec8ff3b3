"""DPD Web Connect answers to canonical tracking (connectors.carriers.dpd.translate): the
recorded payloads against their hand-written expected JSON, the status table, DPD's times."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.carriers.dpd import translate
from hub import errors
from hub.connectors import TRACKING_STATUSES, tracking_to_json
from hub.errors import AuthError, PermanentError, RetryableError, TranslationError

HERE = Path(__file__).parent
PAYLOADS = sorted(
    p for p in (HERE / "payloads").iterdir() if (HERE / "expected" / f"{p.stem}.json").is_file()
)


def envelope(body: str) -> bytes:
    return (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        f"<soap:Body>{body}</soap:Body></soap:Envelope>"
    ).encode()


def tracking_answer(*infos: str) -> bytes:
    return envelope(
        '<getTrackingDataResponse xmlns="http://dpd.com/common/service/types/'
        'ParcelLifeCycleService/2.0"><trackingresult>' + "".join(infos) + "</trackingresult>"
        "</getTrackingDataResponse>"
    )


def info(status: str, date: str | None, *, reached: str = "true", current: str = "false") -> str:
    dated = f"<date><content>{date}</content></date>" if date else ""
    return (
        f"<statusInfo><status>{status}</status><label><content>L {status}</content></label>"
        f"<description><content><content>D {status}</content></content></description>"
        f"<statusHasBeenReached>{reached}</statusHasBeenReached>"
        f"<isCurrentStatus>{current}</isCurrentStatus>{dated}</statusInfo>"
    )


def test_every_payload_has_an_expected_file():
    assert {p.name for p in PAYLOADS} == {
        p.name for p in (HERE / "payloads").iterdir() if p.suffix == ".xml"
    }


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: p.stem)
def test_recorded_payload_translates_to_the_expected_json(path):
    expected = json.loads((HERE / "expected" / f"{path.stem}.json").read_text())
    if "raises" in expected:
        with pytest.raises(getattr(errors, expected["raises"])):
            translate.read_tracking(path.read_bytes(), expected["numbers"])
        return
    results = translate.read_tracking(path.read_bytes(), expected["numbers"])
    assert [tracking_to_json(r) for r in results] == expected["tracking"]


# -- the status table ---------------------------------------------------------------------


def test_every_code_in_the_table_maps_to_a_canonical_status():
    assert translate.STATUS_MAP
    assert set(translate.STATUS_MAP.values()) <= set(TRACKING_STATUSES)
    assert set(TRACKING_STATUSES) >= translate.MOVING


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ACCEPTED", "picked_up"),
        ("AT_SENDING_DEPOT", "in_transit"),
        ("AT_DELIVERY_DEPOT", "in_transit"),
        ("DELIVERED", "delivered"),
        ("Courier", "out_for_delivery"),
        ("DeliveryFailure", "delivery_attempted"),
        ("ParcelShop", "ready_for_pickup"),
        ("ReturningFromDelivery", "delivery_attempted"),
        ("Delivered", "delivered"),
    ],
)
def test_interesting_codes(code, status):
    assert translate.canonical(code, moving=False) == status


def test_an_unknown_code_is_in_transit_once_the_parcel_moves_else_unknown():
    assert translate.canonical("SomethingNew", moving=True) == "in_transit"
    assert translate.canonical("SomethingNew", moving=False) == "unknown"
    assert translate.canonical(None, moving=False) == "unknown"
    answer = tracking_answer(
        info("NewFirst", "8/17/2021 7:00:00 PM"),
        info("ACCEPTED", "8/17/2021 8:00:00 PM"),
        info("NewLater", "8/17/2021 9:00:00 PM"),
    )
    (parcel,) = translate.read_tracking(answer, ["1"])
    assert [e.status for e in parcel.events] == ["unknown", "picked_up", "in_transit"]
    assert parcel.status == "in_transit" and parcel.carrier_status == "NewLater"


def test_the_current_entry_decides_even_when_it_was_not_reached():
    # DPD Germany's sandbox marks ACCEPTED current without having reached it
    answer = tracking_answer(
        info("ACCEPTED", None, reached="false", current="true"),
        info("AT_SENDING_DEPOT", None, reached="false"),
    )
    (parcel,) = translate.read_tracking(answer, ["1"])
    assert parcel.found and parcel.events == ()
    assert parcel.status == "picked_up" and parcel.carrier_status == "ACCEPTED"


def test_events_are_sorted_oldest_first_keeping_dpd_order_for_equal_times():
    answer = tracking_answer(
        info("Courier", "8/18/2021 10:00:00 AM"),
        info("Depot", "8/18/2021 4:00:00 AM"),
        info("DeliveryFailure", "8/18/2021 10:00:00 AM"),
    )
    (parcel,) = translate.read_tracking(answer, ["1"])
    assert [e.code for e in parcel.events] == ["Depot", "Courier", "DeliveryFailure"]
    assert parcel.status == "delivery_attempted"


# -- times --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8/17/2021 7:11:26 PM", datetime(2021, 8, 17, 17, 11, 26, tzinfo=UTC)),  # CEST
        ("1/17/2021 12:05:00 AM", datetime(2021, 1, 16, 23, 5, tzinfo=UTC)),  # CET, midnight
        ("17.08.2021 19:11:26", datetime(2021, 8, 17, 17, 11, 26, tzinfo=UTC)),
        ("17/08/2021 19:11", datetime(2021, 8, 17, 17, 11, tzinfo=UTC)),
        ("2021-08-17T19:11:26", datetime(2021, 8, 17, 17, 11, 26, tzinfo=UTC)),
        ("2021-08-17T19:11:26+01:00", datetime(2021, 8, 17, 18, 11, 26, tzinfo=UTC)),
        ("2021-08-17T17:11:26Z", datetime(2021, 8, 17, 17, 11, 26, tzinfo=UTC)),
        (
            "2021-08-17T17:11:26.123456789Z",
            datetime(2021, 8, 17, 17, 11, 26, 123456, tzinfo=UTC),
        ),
    ],
)
def test_times_with_and_without_offsets(text, expected):
    assert translate.parse_time(text, translate.HOME_ZONE) == expected


def test_a_time_dpd_does_not_write_is_a_translation_error():
    with pytest.raises(TranslationError):
        translate.parse_time("yesterday", translate.HOME_ZONE)


# -- errors -------------------------------------------------------------------------------


def fault(detail: str, faultcode: str = "soap:Server") -> bytes:
    return envelope(
        f"<soap:Fault><faultcode>{faultcode}</faultcode><faultstring>Fault occured</faultstring>"
        f"<detail>{detail}</detail></soap:Fault>"
    )


def test_a_fault_about_the_parcel_is_not_found_with_dpds_message():
    body = fault(
        '<ns:faults xmlns:ns="http://dpd.com/common/service/types/ParcelLifeCycleService/2.0">'
        "<faultCode>COMMON_9</faultCode><message>Parcel not found</message></ns:faults>"
    )
    (parcel,) = translate.read_tracking(body, ["01234567890123"])
    assert parcel.found is False and parcel.status == "unknown"
    assert parcel.error == "COMMON_9: Parcel not found"


@pytest.mark.parametrize("code", ["LOGIN_5", "ERR_DELICOM_TOKEN_EXPIRED"])
def test_a_token_fault_in_the_faults_element_is_an_auth_error(code):
    body = fault(f"<faults><faultCode>{code}</faultCode><message>no</message></faults>")
    with pytest.raises(AuthError):
        translate.read_tracking(body, ["1"])


def test_other_faults_say_whose_problem_it_is():
    with pytest.raises(RetryableError):
        translate.read_tracking(fault(""), ["1"])
    with pytest.raises(PermanentError) as caught:
        translate.read_tracking(fault("", faultcode="soap:Client"), ["1"])
    assert not isinstance(caught.value, RetryableError)


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
        b"<!doctype html><html></html>",
        b"not xml",
        b"",
        envelope("<somethingElse/>"),
    ],
)
def test_a_body_that_is_no_tracking_answer_is_refused(body):
    with pytest.raises(TranslationError):
        translate.read_tracking(body, ["1"])


def test_one_number_per_answer():
    with pytest.raises(ValueError):
        translate.read_tracking(tracking_answer(), ["1", "2"])


# -- login --------------------------------------------------------------------------------


def login_answer(expires: str = "") -> bytes:
    stamp = f"<authTokenExpires>{expires}</authTokenExpires>" if expires else ""
    return envelope(
        '<getAuthResponse xmlns="http://dpd.com/common/service/types/LoginService/2.1">'
        "<return><delisId>KD1</delisId><customerUid>KD1</customerUid>"
        f"<authToken>tok-1</authToken><depot>0530</depot>{stamp}</return></getAuthResponse>"
    )


def test_login_answer_gives_the_token_and_its_utc_expiry():
    assert translate.read_login(login_answer("2020-05-08T13:02:56.06")) == (
        "tok-1",
        datetime(2020, 5, 8, 13, 2, 56, 60000, tzinfo=UTC),
    )
    assert translate.read_login(login_answer()) == ("tok-1", None)


def test_a_refused_login_is_an_auth_error():
    body = (HERE / "payloads" / "soap_fault_authentication.xml").read_bytes()
    with pytest.raises(AuthError, match="DELICOM_ERR_AUTHENTICATION"):
        translate.read_login(body)


def test_requests_escape_what_they_carry():
    body = translate.tracking_request("KD<1>", "t&k", "en_US", "0123").decode()
    assert "<delisId>KD&lt;1&gt;</delisId>" in body and "<authToken>t&amp;k</authToken>" in body
    assert "<parcelLabelNumber>0123</parcelLabelNumber>" in body
    login = translate.login_request("KD1", "p<w", "de_DE", "2.0").decode()
    assert 'xmlns:ns="http://dpd.com/common/service/types/LoginService/2.0"' in login
    assert "<password>p&lt;w</password>" in login


def test_an_event_with_an_unreadable_date_is_dropped_with_a_warning(caplog):
    name = "parcellifecycle_getTrackingData_BE_parcelshop.xml"
    body = (HERE / "payloads" / name).read_text(encoding="utf-8")
    assert "<content>8/17/2021 7:11:26 PM</content>" in body
    body = body.replace(
        "<content>8/17/2021 7:11:26 PM</content>", "<content>sometime Tuesday</content>", 1
    )
    with caplog.at_level("WARNING"):
        [result] = translate.read_tracking(body.encode(), ["05308801410058"])
    assert result.found
    assert len(result.events) == 14
    assert "unreadable date" in caplog.text


# -- the status table, through recorded answers -------------------------------------------

#: DPD's status codes with DPD's own description text, and the status each must read as.
#: DPD Germany's five life-cycle steps as DPD's sandbox gives them (blobswop/dpd-php-api
#: README); the BeNeLux scan codes from the recorded karrio answer, plus ``Delivered`` from
#: karrioapi/karrio ``modules/connectors/dpd/karrio/providers/dpd/units.py`` (TrackingStatus).
DE_STEPS = [
    ("ACCEPTED", "DPD has received your parcel.", "picked_up"),
    ("AT_SENDING_DEPOT", "The parcel is at the parcel dispatch centre.", "in_transit"),
    ("ON_THE_ROAD", "Your parcel is on its way to the parcel delivery centre.", "in_transit"),
    ("AT_DELIVERY_DEPOT", "At parcel delivery centre.", "in_transit"),
    ("DELIVERED", "Your parcel has been delivered successfully.", "delivered"),
]
BENELUX_CODES = [
    ("BetweenDepots", "The parcel is at the parcel dispatch centre.", "in_transit"),
    ("Depot", "At parcel delivery centre.", "in_transit"),
    (
        "Courier",
        "The parcel has left the parcel delivery centre and is on its way to the consignee.",
        "out_for_delivery",
    ),
    (
        "DeliveryFailure",
        "Unfortunately we have not been able to deliver your parcel.",
        "delivery_attempted",
    ),
    ("ParcelShop", "Delivered by driver to Pickup parcelshop", "ready_for_pickup"),
    ("PickedUp", "DPD has received your parcel.", "picked_up"),
    (
        "ReturningFromDelivery",
        "After an unsuccessful delivery attempt the parcel is back at the recipient depot.",
        "delivery_attempted",
    ),
    # no BeNeLux Delivered scan is recorded: DPD Germany's text for its DELIVERED step
    ("Delivered", "Your parcel has been delivered successfully.", "delivered"),
]


def test_the_table_holds_every_listed_code():
    assert {code for code, _, _ in DE_STEPS + BENELUX_CODES} <= set(translate.STATUS_MAP)


@pytest.mark.parametrize(("code", "words", "status"), BENELUX_CODES)
def test_a_recorded_benelux_answer_with_the_current_code_swapped(code, words, status):
    xml = (HERE / "payloads" / "parcellifecycle_getTrackingData_BE_parcelshop.xml").read_text(
        encoding="utf-8"
    )
    last = xml.rindex("<statusInfo>")  # the current entry, ReturningFromDelivery
    tail = xml[last:].replace("<status>ReturningFromDelivery</status>", f"<status>{code}</status>")
    tail = tail.replace(
        "After an unsuccessful delivery attempt the parcel is back at the recipient depot.",
        words,
    )
    [parcel] = translate.read_tracking((xml[:last] + tail).encode(), ["05308801410058"])
    latest = parcel.events[-1]
    assert (latest.code, latest.text, latest.status) == (code, words, status)
    assert parcel.status == status and parcel.carrier_status == code


@pytest.mark.parametrize(("code", "words", "status"), DE_STEPS)
def test_a_recorded_germany_answer_with_the_current_step_swapped(code, words, status):
    xml = (HERE / "payloads" / "getTrackingData_DE_lifecycle_on_the_road.xml").read_text(
        encoding="utf-8"
    )
    current = xml.index("<status>ON_THE_ROAD</status>")
    head, tail = xml[:current], xml[current:]
    tail = tail.replace("<status>ON_THE_ROAD</status>", f"<status>{code}</status>", 1)
    tail = tail.replace("Your parcel is on its way to the parcel delivery centre.", words, 1)
    [parcel] = translate.read_tracking((head + tail).encode(), ["09981122330100"])
    latest = parcel.events[-1]  # the current step is the latest dated one
    assert (latest.code, latest.text, latest.status) == (code, words, status)
    assert parcel.status == status  # the isCurrentStatus entry decides
