"""UPS over HTTP (connectors.carriers.ups.client and UpsConnector.track), with ``responses``
as UPS: the exact requests, the token's life, retries and the answers that mean "refused"."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from connectors.carriers.ups import UpsConnector
from connectors.carriers.ups.client import MAX_ATTEMPTS, UpsClient
from hub.connectors.accounts import parse_accounts
from hub.errors import AuthError, PermanentError, RetryableError

BASE = "https://onlinetools.ups.com"
TOKEN_URL = f"{BASE}/security/v1/oauth/token"
CLIENT_ID, SECRET = "ups-client-id", "ups-client-secret-123"
PAYLOADS = Path(__file__).parent / "payloads"
DELIVERED = (PAYLOADS / "track_delivered_postman_example.json").read_bytes()
NUMBER = "1Z1442YY7229014688"


def account(**keys: Any):
    data = {"connector": "ups", "client_id": CLIENT_ID, "client_secret": SECRET, **keys}
    lines = [f"{k} = {json.dumps(v)}" for k, v in data.items()]
    return parse_accounts("[accounts.ups-a]\n" + "\n".join(lines), "hub.toml", env={})["ups-a"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def connector(clock: Clock | None = None, **keys: Any) -> UpsConnector:
    ids = iter(f"trans{n:027d}" for n in range(1, 100))
    client = UpsClient(
        account(**keys),
        limiter=None,
        sleep=lambda seconds: None,
        clock=clock or Clock(),
        new_id=lambda: next(ids),
    )
    return UpsConnector(client.account, client=client)


def details_url(number: str, base: str = BASE) -> str:
    return f"{base}/api/track/v1/details/{number}"


@pytest.fixture
def ups() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def token(mock: responses.RequestsMock, *values: str, expires: str = "14399") -> None:
    for value in values or ("tok-1",):
        mock.add(
            responses.POST,
            TOKEN_URL,
            json={"token_type": "Bearer", "access_token": value, "expires_in": expires},
        )


def calls(mock: responses.RequestsMock, url: str) -> list[Any]:
    return [c for c in mock.calls if c.request.url.split("?")[0] == url]


def test_track_sends_the_request_ups_documents(ups):
    token(ups)
    ups.add(responses.GET, details_url(NUMBER), body=DELIVERED)
    [result] = connector().track([NUMBER])
    assert result.found and result.status == "delivered"

    token_call, details_call = ups.calls
    assert token_call.request.method == "POST"
    expected_basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    assert token_call.request.headers["Authorization"] == f"Basic {expected_basic}"
    assert parse_qs(token_call.request.body) == {"grant_type": ["client_credentials"]}

    request = details_call.request
    assert request.method == "GET"
    parts = urlsplit(request.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == details_url(NUMBER)
    assert parse_qs(parts.query) == {
        "locale": ["en_US"],
        "returnSignature": ["false"],
        "returnPOD": ["false"],
    }
    assert request.headers["Authorization"] == "Bearer tok-1"
    assert request.headers["transId"] == "trans" + "1".zfill(27)
    assert len(request.headers["transId"]) <= 32
    assert request.headers["transactionSrc"] == "fulfilment-hub"
    assert request.body is None


def test_the_token_is_fetched_once_and_reused_and_each_request_has_its_own_trans_id(ups):
    token(ups)
    for number in ("1ZA", "1ZB"):
        ups.add(responses.GET, details_url(number), body=DELIVERED)
    results = connector(transaction_src="acme-3pl").track(["1ZA", "1ZB"])
    assert [r.tracking_number for r in results] == ["1ZA", "1ZB"]
    assert len(calls(ups, TOKEN_URL)) == 1
    sent = [c.request.headers for c in ups.calls[1:]]
    assert [h["Authorization"] for h in sent] == ["Bearer tok-1", "Bearer tok-1"]
    assert len({h["transId"] for h in sent}) == 2
    assert {h["transactionSrc"] for h in sent} == {"acme-3pl"}


def test_a_token_is_renewed_before_it_expires(ups):
    clock = Clock()
    token(ups, "tok-1", "tok-2", expires="3600")
    ups.add(responses.GET, details_url(NUMBER), body=DELIVERED)
    ups.add(responses.GET, details_url(NUMBER), body=DELIVERED)
    ups_connector = connector(clock)
    ups_connector.track([NUMBER])
    clock.now += 3600
    ups_connector.track([NUMBER])
    assert [c.request.headers["Authorization"] for c in calls(ups, details_url(NUMBER))] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]


def test_a_401_on_a_cached_token_fetches_a_new_one_once(ups):
    token(ups, "tok-1", "tok-2")
    ups.add(responses.GET, details_url("1ZA"), body=DELIVERED)
    ups.add(responses.GET, details_url("1ZB"), status=401, json={"response": {"errors": []}})
    ups.add(responses.GET, details_url("1ZB"), body=DELIVERED)
    results = connector().track(["1ZA", "1ZB"])
    assert [r.found for r in results] == [True, True]
    assert len(calls(ups, TOKEN_URL)) == 2
    retried = calls(ups, details_url("1ZB"))
    assert [c.request.headers["Authorization"] for c in retried] == ["Bearer tok-1", "Bearer tok-2"]


def test_a_401_on_a_fresh_token_is_an_auth_error_without_a_loop(ups):
    token(ups)
    ups.add(responses.GET, details_url(NUMBER), status=401, json={"response": {"errors": []}})
    with pytest.raises(AuthError):
        connector().track([NUMBER])
    assert len(ups.calls) == 2


def test_refused_credentials_at_the_token_endpoint_are_an_auth_error(ups):
    ups.add(
        responses.POST,
        TOKEN_URL,
        status=401,
        json={"response": {"errors": [{"code": "10401", "message": "ClientId is Invalid"}]}},
    )
    with pytest.raises(AuthError) as caught:
        connector().track([NUMBER])
    assert SECRET not in caught.value.message


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_retried(ups, status: int):
    token(ups)
    ups.add(responses.GET, details_url(NUMBER), status=status, headers={"Retry-After": "1"})
    ups.add(responses.GET, details_url(NUMBER), body=DELIVERED)
    [result] = connector().track([NUMBER])
    assert result.status == "delivered"
    assert len(calls(ups, details_url(NUMBER))) == 2


def test_server_errors_that_last_are_retryable(ups):
    token(ups)
    for _ in range(MAX_ATTEMPTS):
        ups.add(responses.GET, details_url(NUMBER), status=502)
    with pytest.raises(RetryableError):
        connector().track([NUMBER])
    assert len(calls(ups, details_url(NUMBER))) == MAX_ATTEMPTS


@pytest.mark.parametrize("status", [200, 400, 500])
def test_an_auth_code_in_the_body_is_an_auth_error_whatever_the_status(ups, status: int):
    token(ups)
    body = (PAYLOADS / "error_auth_250003.json").read_bytes()
    ups.add(responses.GET, details_url(NUMBER), status=status, body=body)
    with pytest.raises(AuthError, match="250003"):
        connector().track([NUMBER])
    assert len(calls(ups, details_url(NUMBER))) == 1  # not retried


@pytest.mark.parametrize("status", [400, 404])
def test_an_invalid_number_is_not_found_not_a_failed_call(ups, status: int):
    token(ups)
    body = (PAYLOADS / "error_invalid_inquiry_TV1002.json").read_bytes()
    ups.add(responses.GET, details_url("NOT-A-NUMBER"), status=status, body=body)
    [result] = connector().track(["NOT-A-NUMBER"])
    assert (result.found, result.error) == (False, "TV1002: Invalid inquiry number")


def test_a_not_found_warning_in_a_200_is_not_found(ups):
    token(ups)
    body = (PAYLOADS / "track_not_found_TW0001.json").read_bytes()
    ups.add(responses.GET, details_url(NUMBER), body=body)
    [result] = connector().track([NUMBER])
    assert (result.found, result.status) == (False, "unknown")


def test_another_400_is_a_permanent_error(ups):
    token(ups)
    ups.add(responses.GET, details_url(NUMBER), status=400, body="<html>bad request</html>")
    with pytest.raises(PermanentError):
        connector().track([NUMBER])


def test_the_number_is_escaped_in_the_path(ups):
    token(ups)
    ups.add(responses.GET, f"{BASE}/api/track/v1/details/1Z%2F..%2Fx", body=DELIVERED)
    [result] = connector().track(["1Z/../x"])
    assert result.found


def test_api_base_replaces_the_public_address(ups):
    sandbox = "https://wwwcie.ups.com"
    ups.add(responses.POST, f"{sandbox}/security/v1/oauth/token", json={"access_token": "t"})
    ups.add(responses.GET, details_url(NUMBER, sandbox), body=DELIVERED)
    [result] = connector(api_base=sandbox).track([NUMBER])
    assert result.found


def test_subscribe_sends_track_alert_its_documented_request(ups):
    token(ups)
    url = f"{BASE}/api/track/v1/subscription/standard/package"
    ups.add(
        responses.POST,
        url,
        json={"validTrackingNumbers": ["1ZA"], "invalidTrackingNumbers": ["1Z$"]},
    )
    ups_connector = connector(webhook_secret="push-credential")
    refused = ups_connector.subscribe_tracking(["1ZA", "1Z$"], "https://hub.example/webhooks/ups-a")
    assert refused == ["1Z$"]
    request = calls(ups, url)[0].request
    assert request.headers["Authorization"] == "Bearer tok-1"
    assert request.headers["transactionSrc"] == "fulfilment-hub" and request.headers["transId"]
    assert json.loads(request.body) == {
        "locale": "en_US",
        "countryCode": "US",
        "trackingNumberList": ["1ZA", "1Z$"],
        "destination": {
            "url": "https://hub.example/webhooks/ups-a",
            "credentialType": "Bearer",
            "credential": "push-credential",
        },
    }


def test_subscribe_goes_in_calls_of_a_hundred(ups):
    token(ups)
    url = f"{BASE}/api/track/v1/subscription/standard/package"
    ups.add(responses.POST, url, json={"validTrackingNumbers": []})
    ups.add(responses.POST, url, json={"validTrackingNumbers": []})
    numbers = [f"1Z{n:016d}" for n in range(150)]
    connector(webhook_secret="c").subscribe_tracking(numbers, "https://hub.example/w")
    sizes = [len(json.loads(c.request.body)["trackingNumberList"]) for c in calls(ups, url)]
    assert sizes == [100, 50]
