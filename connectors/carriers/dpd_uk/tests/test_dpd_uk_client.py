"""DPD UK's tracking service over HTTP (connectors.carriers.dpd_uk.client), with ``responses``
as DPD: the exact request, batching, refused credentials, retries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from connectors.carriers.dpd_uk import DpdUkConnector
from connectors.carriers.dpd_uk.client import DpdUkClient
from hub.connectors.accounts import parse_accounts
from hub.errors import AuthError, RetryableError

HERE = Path(__file__).parent
URL = "https://apps.geopostuk.com/trackingcore/dpd/parcels"
ANSWER = (HERE / "payloads" / "tracking_delivered_and_unknown.xml").read_bytes()
REFUSED = (HERE / "payloads" / "tracking_login_refused.xml").read_bytes()
PASSWORD = "pa55-word"


def connector(**keys: Any) -> DpdUkConnector:
    data = {"connector": "dpd_uk", "username": "acme", "password": PASSWORD, **keys}
    text = "[accounts.u]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in data.items())
    acc = parse_accounts(text, "hub.toml", env={})["u"]
    return DpdUkConnector(acc, client=DpdUkClient(acc, limiter=None, sleep=lambda s: None))


@pytest.fixture
def dpd():
    with responses.RequestsMock() as mock:
        yield mock


def test_one_request_carries_the_batch_and_the_credentials(dpd):
    dpd.post(URL, body=ANSWER)
    c = connector()
    delivered, unknown = c.track(["15505012345678", "15505099999999"])
    assert delivered.status == "delivered" and unknown.found is False
    (call,) = dpd.calls
    assert call.request.url == URL
    assert call.request.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert call.request.body == (
        b'<?xml version="1.0" encoding="UTF-8"?><trackingrequest><user>acme</user>'
        b"<password>pa55-word</password><trackingnumbers>"
        b"<trackingnumber>15505012345678</trackingnumber>"
        b"<trackingnumber>15505099999999</trackingnumber></trackingnumbers></trackingrequest>"
    )


def test_api_base_replaces_the_public_address(dpd):
    dpd.post("https://proxy.example/trackingcore/ie/parcels", body=ANSWER)
    connector(api_base="https://proxy.example/trackingcore/ie").track(["15505012345678"])
    assert len(dpd.calls) == 1


def test_batch_size_is_enforced():
    c = connector()
    assert c.track_batch_size == 10
    assert c.track([]) == []
    with pytest.raises(ValueError):
        c.track([str(n) for n in range(11)])


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_by_status_are_an_auth_error(dpd, status):
    dpd.post(URL, status=status, body="denied")
    with pytest.raises(AuthError) as caught:
        connector().track(["15505012345678"])
    assert PASSWORD not in str(caught.value)
    assert len(dpd.calls) == 1


def test_refused_credentials_in_the_body_are_an_auth_error(dpd):
    dpd.post(URL, body=REFUSED)
    with pytest.raises(AuthError):
        connector().track(["15505012345678"])


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_retried(dpd, status):
    dpd.post(URL, status=status, body="busy")
    dpd.post(URL, body=ANSWER)
    (parcel,) = connector().track(["15505012345678"])
    assert parcel.status == "delivered" and len(dpd.calls) == 2


def test_a_server_that_stays_down_is_retryable(dpd):
    for _ in range(5):
        dpd.post(URL, status=502, body="down")
    with pytest.raises(RetryableError):
        connector().track(["15505012345678"])


def test_tracking_page_and_settings():
    c = connector(account_number="123456")
    assert c.tracking_url("15505012345678") == "https://track.dpd.co.uk/parcels/15505012345678"
    assert c.account.settings["account_number"] == "123456"
    assert c.settings_schema().fields["password"].metadata["secret"] is True
