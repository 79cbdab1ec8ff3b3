"""DPD Web Connect over HTTP (connectors.carriers.dpd.client), with ``responses`` as DPD: the
exact SOAP requests, the authToken cache, faults in HTTP 500, retries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses

from connectors.carriers.dpd import DpdConnector, translate
from connectors.carriers.dpd.client import DpdClient
from hub.connectors.accounts import parse_accounts
from hub.errors import AuthError, PermanentError, RetryableError

HERE = Path(__file__).parent
API = "https://dpd.example/services"
LOGIN = f"{API}/LoginService/V2_0/"
TRACK = f"{API}/ParcelLifeCycleService/V2_0/"
NUMBER = "05308801410058"
PASSWORD = "s3cret-pass"
TRACKING = (HERE / "payloads" / "parcellifecycle_getTrackingData_BE_parcelshop.xml").read_bytes()
AUTH_FAULT = (HERE / "payloads" / "soap_fault_authentication.xml").read_bytes()


def account(**keys: Any):
    data = {
        "connector": "dpd",
        "api_base": API,
        "delis_id": "KD123",
        "password": PASSWORD,
        **keys,
    }
    text = "[accounts.d]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in data.items())
    return parse_accounts(text, "hub.toml", env={})["d"]


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2024, 3, 5, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


def connector(clock: Clock | None = None, **keys: Any) -> DpdConnector:
    acc = account(**keys)
    client = DpdClient(acc, limiter=None, sleep=lambda s: None, now=clock or Clock())
    return DpdConnector(acc, client=client)


def login_answer(token: str = "tok-1", expires: str | None = "2024-03-06T08:00:00") -> bytes:
    stamp = f"<authTokenExpires>{expires}</authTokenExpires>" if expires else ""
    return (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        '<getAuthResponse xmlns="http://dpd.com/common/service/types/LoginService/2.0">'
        f"<return><delisId>KD123</delisId><customerUid>KD123</customerUid>"
        f"<authToken>{token}</authToken><depot>0998</depot>{stamp}</return>"
        "</getAuthResponse></soap:Body></soap:Envelope>"
    ).encode()


def token_fault(code: str = "LOGIN_5") -> bytes:
    return AUTH_FAULT.replace(b"DELICOM_ERR_AUTHENTICATION", code.encode())


@pytest.fixture
def dpd():
    with responses.RequestsMock() as mock:
        yield mock


def test_track_sends_the_exact_soap_requests_and_translates_the_answer(dpd):
    dpd.post(LOGIN, body=login_answer())
    dpd.post(TRACK, body=TRACKING)
    (parcel,) = connector().track([NUMBER])
    assert parcel.found and parcel.status == "delivery_attempted" and len(parcel.events) == 15

    login, track = dpd.calls
    assert login.request.headers["SOAPAction"] == (
        "http://dpd.com/common/service/types/LoginService/2.0/getAuth"
    )
    assert login.request.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert login.request.body == translate.login_request("KD123", PASSWORD, "en_US", "2.0")
    assert track.request.url == TRACK
    assert track.request.headers["SOAPAction"] == (
        "http://dpd.com/common/service/types/ParcelLifeCycleService/2.0/getTrackingData"
    )
    assert track.request.body == (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        b'xmlns:ns="http://dpd.com/common/service/types/Authentication/2.0" '
        b'xmlns:ns1="http://dpd.com/common/service/types/ParcelLifeCycleService/2.0">'
        b"<soapenv:Header><ns:authentication><delisId>KD123</delisId><authToken>tok-1</authToken>"
        b"<messageLanguage>en_US</messageLanguage></ns:authentication></soapenv:Header>"
        b"<soapenv:Body><ns1:getTrackingData><parcelLabelNumber>05308801410058</parcelLabelNumber>"
        b"</ns1:getTrackingData></soapenv:Body></soapenv:Envelope>"
    )
    assert PASSWORD.encode() not in track.request.body


def test_benelux_logs_in_with_login_service_2_1(dpd):
    dpd.post(f"{API}/LoginService/V2_1/", body=login_answer())
    dpd.post(TRACK, body=TRACKING)
    connector(login_version="2.1", message_language="nl_BE").track([NUMBER])
    login = dpd.calls[0].request
    assert login.headers["SOAPAction"].endswith("/LoginService/2.1/getAuth")
    assert b"<messageLanguage>nl_BE</messageLanguage>" in login.body


def test_the_token_is_fetched_once_and_reused(dpd):
    dpd.post(LOGIN, body=login_answer())
    dpd.post(TRACK, body=TRACKING)
    dpd.post(TRACK, body=TRACKING)
    c = connector()
    c.track([NUMBER])
    c.track([NUMBER])
    assert [call.request.url for call in dpd.calls] == [LOGIN, TRACK, TRACK]
    assert c.client.tokens.fetched == 1


def test_the_token_is_renewed_before_dpd_says_it_expires(dpd):
    clock = Clock()
    dpd.post(LOGIN, body=login_answer("tok-1", "2024-03-06T08:00:00"))
    dpd.post(LOGIN, body=login_answer("tok-2", None))
    dpd.post(TRACK, body=TRACKING)
    dpd.post(TRACK, body=TRACKING)
    dpd.post(TRACK, body=TRACKING)
    c = connector(clock)
    c.track([NUMBER])
    clock.at += timedelta(hours=23, minutes=29)  # still 31 minutes to go
    c.track([NUMBER])
    clock.at += timedelta(minutes=2)  # within the last half hour: a new login
    c.track([NUMBER])
    urls = [call.request.url for call in dpd.calls]
    assert urls == [LOGIN, TRACK, TRACK, LOGIN, TRACK]
    assert b"<authToken>tok-2</authToken>" in dpd.calls[-1].request.body


def test_a_token_handed_back_near_its_end_is_kept_to_its_end_not_renewed_per_call(dpd):
    # DPD gives the same token again until it has expired: no login storm in its last minutes
    clock = Clock()
    dpd.post(LOGIN, body=login_answer("tok-old", "2024-03-05T08:20:00"))
    dpd.post(LOGIN, body=login_answer("tok-new", "2024-03-06T08:21:00"))
    for _ in range(3):
        dpd.post(TRACK, body=TRACKING)
    c = connector(clock)
    c.track([NUMBER])
    clock.at += timedelta(minutes=19)
    c.track([NUMBER])
    clock.at += timedelta(minutes=2)  # past its end: a new login
    c.track([NUMBER])
    assert [call.request.url for call in dpd.calls] == [LOGIN, TRACK, TRACK, LOGIN, TRACK]
    assert b"<authToken>tok-new</authToken>" in dpd.calls[-1].request.body


def test_a_cached_token_dpd_refuses_is_dropped_and_one_new_login_tried(dpd):
    dpd.post(LOGIN, body=login_answer("tok-1"))
    dpd.post(TRACK, body=TRACKING)
    dpd.post(TRACK, body=token_fault("LOGIN_5"), status=500)
    dpd.post(LOGIN, body=login_answer("tok-2"))
    dpd.post(TRACK, body=TRACKING)
    c = connector()
    c.track([NUMBER])
    (parcel,) = c.track([NUMBER])
    assert parcel.found
    assert [call.request.url for call in dpd.calls] == [LOGIN, TRACK, TRACK, LOGIN, TRACK]
    assert b"<authToken>tok-2</authToken>" in dpd.calls[-1].request.body


def test_a_fresh_token_refused_is_an_auth_error_without_a_second_login(dpd):
    dpd.post(LOGIN, body=login_answer("tok-1"))
    dpd.post(TRACK, body=token_fault("ERR_DELICOM_TOKEN_INCORRECT"), status=500)
    with pytest.raises(AuthError, match="ERR_DELICOM_TOKEN_INCORRECT"):
        connector().track([NUMBER])
    assert len(dpd.calls) == 2


def test_refused_credentials_are_an_auth_error_at_once(dpd):
    dpd.post(LOGIN, body=AUTH_FAULT, status=500)
    with pytest.raises(AuthError, match="check delisId and password") as caught:
        connector().track([NUMBER])
    assert len(dpd.calls) == 1  # a SOAP fault is read, not retried as a server error
    assert PASSWORD not in str(caught.value)


def test_a_fault_about_the_parcel_is_tracking_not_an_error(dpd):
    dpd.post(LOGIN, body=login_answer())
    body = AUTH_FAULT.replace(
        b"<ns:authenticationFault",
        b"<ns:faults",
    ).replace(b"</ns:authenticationFault>", b"</ns:faults>")
    body = body.replace(b"errorCode", b"faultCode").replace(b"errorMessage", b"message")
    body = body.replace(b"DELICOM_ERR_AUTHENTICATION", b"COMMON_9")
    dpd.post(TRACK, body=body, status=500)
    (parcel,) = connector().track(["00000000000000"])
    assert parcel.found is False
    assert parcel.error == "COMMON_9: Authentication failure, check delisId and password."


def test_an_auth_fault_sent_with_http_200_is_still_an_auth_error(dpd):
    dpd.post(LOGIN, body=login_answer())
    dpd.post(TRACK, body=AUTH_FAULT, status=200)
    with pytest.raises(AuthError):
        connector().track([NUMBER])
    assert len(dpd.calls) == 2


@pytest.mark.parametrize("status", [429, 502, 503])
def test_rate_limits_and_server_errors_are_retried(dpd, status):
    dpd.post(LOGIN, body=login_answer())
    dpd.post(TRACK, status=status, body="busy")
    dpd.post(TRACK, body=TRACKING)
    (parcel,) = connector().track([NUMBER])
    assert parcel.found and len(dpd.calls) == 3


def test_a_server_fault_is_retryable_for_the_outbox(dpd):
    dpd.post(LOGIN, body=login_answer())
    server_fault = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b"<soap:Fault><faultcode>soap:Server</faultcode><faultstring>Internal error"
        b"</faultstring></soap:Fault></soap:Body></soap:Envelope>"
    )
    dpd.post(TRACK, body=server_fault, status=500)
    with pytest.raises(RetryableError, match="Internal error"):
        connector().track([NUMBER])


def test_a_login_answer_without_token_is_permanent(dpd):
    dpd.post(LOGIN, body=login_answer(token=""))
    with pytest.raises(PermanentError):
        connector().track([NUMBER])


def test_batches_hold_one_number():
    c = connector()
    assert c.track([]) == []
    with pytest.raises(ValueError):
        c.track([NUMBER, NUMBER])


def test_tracking_page():
    assert connector().tracking_url(NUMBER) == (
        "https://tracking.dpd.de/status/en_US/parcel/05308801410058"
    )
