"""FedEx over HTTP (connectors.carriers.fedex.client and FedExConnector.track), with
``responses`` as FedEx: the exact requests, batching, the token's life, retries, refusals."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses

from connectors.carriers.fedex import FedExConnector
from connectors.carriers.fedex.client import MAX_ATTEMPTS, FedExClient
from hub.connectors.accounts import parse_accounts
from hub.errors import AuthError, PermanentError, RetryableError

BASE = "https://apis.fedex.com"
TOKEN_URL = f"{BASE}/oauth/token"
TRACK_URL = f"{BASE}/track/v1/trackingnumbers"
CLIENT_ID, SECRET = "fedex-api-key", "fedex-secret-key-123"
PAYLOADS = Path(__file__).parent / "payloads"
DELIVERED = (PAYLOADS / "track_delivered_17_events.json").read_bytes()
NUMBER = "738488882438"


def account(**keys: Any):
    data = {"connector": "fedex", "client_id": CLIENT_ID, "client_secret": SECRET, **keys}
    lines = [f"{k} = {json.dumps(v)}" for k, v in data.items()]
    return parse_accounts("[accounts.fx]\n" + "\n".join(lines), "hub.toml", env={})["fx"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def connector(clock: Clock | None = None, **keys: Any) -> FedExConnector:
    ids = iter(f"transaction-{n}" for n in range(1, 1000))
    client = FedExClient(
        account(**keys),
        limiter=None,
        sleep=lambda seconds: None,
        clock=clock or Clock(),
        new_id=lambda: next(ids),
    )
    return FedExConnector(client.account, client=client)


@pytest.fixture
def fedex() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def token(mock: responses.RequestsMock, *values: str, expires: int = 3599) -> None:
    for value in values or ("tok-1",):
        mock.add(
            responses.POST,
            TOKEN_URL,
            json={"access_token": value, "token_type": "bearer", "expires_in": expires},
        )


def calls(mock: responses.RequestsMock, url: str) -> list[Any]:
    return [c for c in mock.calls if c.request.url == url]


def not_found(*numbers: str) -> bytes:
    completes = [
        {
            "trackingNumber": n,
            "trackResults": [
                {
                    "trackingNumberInfo": {"trackingNumber": n},
                    "error": {"code": "TRACKING.TRACKINGNUMBER.NOTFOUND", "message": "not found"},
                }
            ],
        }
        for n in numbers
    ]
    return json.dumps({"output": {"completeTrackResults": completes}}).encode()


def test_track_sends_the_request_fedex_documents(fedex):
    token(fedex)
    fedex.add(responses.POST, TRACK_URL, body=DELIVERED)
    [result] = connector().track([NUMBER])
    assert result.found and result.status == "delivered"

    token_call, track_call = fedex.calls
    assert token_call.request.url == TOKEN_URL
    assert parse_qs(token_call.request.body) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [SECRET],
    }
    assert "Authorization" not in token_call.request.headers

    request = track_call.request
    assert request.method == "POST"
    assert request.headers["Authorization"] == "Bearer tok-1"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-locale"] == "en_US"
    assert request.headers["x-customer-transaction-id"] == "transaction-1"
    assert json.loads(request.body) == {
        "includeDetailedScans": True,
        "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": NUMBER}}],
    }


def test_a_batch_of_thirty_is_one_call_and_results_keep_the_order_asked(fedex):
    numbers = [f"7000000000{n:02d}" for n in range(30)]
    token(fedex)
    fedex.add(responses.POST, TRACK_URL, body=not_found(*reversed(numbers)))
    results = connector().track(numbers)
    assert FedExConnector.track_batch_size == 30
    assert [r.tracking_number for r in results] == numbers
    assert all(not r.found and r.error for r in results)
    [call] = calls(fedex, TRACK_URL)
    sent = json.loads(call.request.body)["trackingInfo"]
    assert [i["trackingNumberInfo"]["trackingNumber"] for i in sent] == numbers


def test_the_token_is_fetched_once_and_reused(fedex):
    token(fedex)
    fedex.add(responses.POST, TRACK_URL, body=DELIVERED)
    fedex.add(responses.POST, TRACK_URL, body=DELIVERED)
    fx = connector()
    fx.track([NUMBER])
    fx.track([NUMBER])
    assert len(calls(fedex, TOKEN_URL)) == 1
    assert {c.request.headers["Authorization"] for c in calls(fedex, TRACK_URL)} == {"Bearer tok-1"}


def test_a_token_is_renewed_before_it_expires(fedex):
    clock = Clock()
    token(fedex, "tok-1", "tok-2", expires=3599)
    fedex.add(responses.POST, TRACK_URL, body=DELIVERED)
    fedex.add(responses.POST, TRACK_URL, body=DELIVERED)
    fx = connector(clock)
    fx.track([NUMBER])
    clock.now += 3599
    fx.track([NUMBER])
    sent = [c.request.headers["Authorization"] for c in calls(fedex, TRACK_URL)]
    assert sent == ["Bearer tok-1", "Bearer tok-2"]


def test_a_401_on_a_cached_token_fetches_a_new_one_once(fedex):
    token(fedex, "tok-1", "tok-2")
    expired = {"errors": [{"code": "NOT.AUTHORIZED.ERROR", "message": "Access token expired."}]}
    fedex.add(responses.POST, TRACK_URL, body=DELIVERED)
    fedex.add(responses.POST, TRACK_URL, status=401, json=expired)
    fedex.add(responses.POST, TRACK_URL, body=DELIVERED)
    fx = connector()
    fx.track([NUMBER])
    [result] = fx.track([NUMBER])
    assert result.found
    sent = [c.request.headers["Authorization"] for c in calls(fedex, TRACK_URL)]
    assert sent == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


def test_a_401_on_a_fresh_token_is_an_auth_error_without_a_loop(fedex):
    token(fedex)
    fedex.add(responses.POST, TRACK_URL, status=401, json={"errors": []})
    with pytest.raises(AuthError):
        connector().track([NUMBER])
    assert len(fedex.calls) == 2


def test_refused_credentials_at_the_token_endpoint_are_an_auth_error(fedex):
    fedex.add(
        responses.POST,
        TOKEN_URL,
        status=401,
        json={"errors": [{"code": "NOT.AUTHORIZED.ERROR", "message": "The given client..."}]},
    )
    with pytest.raises(AuthError) as caught:
        connector().track([NUMBER])
    assert SECRET not in caught.value.message


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_retried_as_the_post_only_reads(fedex, status: int):
    token(fedex)
    fedex.add(responses.POST, TRACK_URL, status=status, headers={"Retry-After": "1"})
    fedex.add(responses.POST, TRACK_URL, body=DELIVERED)
    [result] = connector().track([NUMBER])
    assert result.status == "delivered"
    assert len(calls(fedex, TRACK_URL)) == 2


def test_server_errors_that_last_are_retryable(fedex):
    token(fedex)
    failure = {"errors": [{"code": "SERVICE.UNAVAILABLE.ERROR", "message": "try later"}]}
    for _ in range(MAX_ATTEMPTS):
        fedex.add(responses.POST, TRACK_URL, status=503, json=failure)
    with pytest.raises(RetryableError):
        connector().track([NUMBER])
    assert len(calls(fedex, TRACK_URL)) == MAX_ATTEMPTS


@pytest.mark.parametrize("status", [200, 500])
def test_a_refused_token_in_the_body_is_an_auth_error_whatever_the_status(fedex, status: int):
    token(fedex)
    refused = {"errors": [{"code": "FORBIDDEN.ERROR", "message": "not allowed"}]}
    fedex.add(responses.POST, TRACK_URL, status=status, json=refused)
    with pytest.raises(AuthError, match=re.escape("FORBIDDEN.ERROR")):
        connector().track([NUMBER])
    assert len(calls(fedex, TRACK_URL)) == 1  # not retried


def test_a_refused_batch_is_asked_one_by_one_and_only_the_bad_number_is_not_found(fedex):
    token(fedex)
    invalid = {"errors": [{"code": "TRACKING.TRACKINGNUMBER.INVALID", "message": "Invalid"}]}
    fedex.add(responses.POST, TRACK_URL, status=400, json=invalid)  # the batch
    fedex.add(responses.POST, TRACK_URL, body=DELIVERED)  # NUMBER alone
    fedex.add(responses.POST, TRACK_URL, status=400, json=invalid)  # "BAD" alone
    good, bad = connector().track([NUMBER, "BAD"])
    assert good.found and good.status == "delivered"
    assert (bad.found, bad.error) == (False, "TRACKING.TRACKINGNUMBER.INVALID: Invalid")
    bodies = [json.loads(c.request.body)["trackingInfo"] for c in calls(fedex, TRACK_URL)]
    assert [len(b) for b in bodies] == [2, 1, 1]


def test_a_refused_request_that_is_not_about_a_number_raises(fedex):
    token(fedex)
    wrong = {"errors": [{"code": "INVALID.INPUT.EXCEPTION", "message": "Invalid field value"}]}
    fedex.add(responses.POST, TRACK_URL, status=400, json=wrong)
    fedex.add(responses.POST, TRACK_URL, status=400, json=wrong)
    with pytest.raises(PermanentError, match="Invalid field value"):
        connector().track([NUMBER, "222"])
    assert len(calls(fedex, TRACK_URL)) == 2  # the batch, then the first number: it stops


def test_the_empty_number_error_is_a_permanent_error(fedex):
    token(fedex)
    body = (PAYLOADS / "error_tracking_number_empty.json").read_bytes()
    fedex.add(responses.POST, TRACK_URL, body=body)
    with pytest.raises(PermanentError, match=re.escape("TRACKING.TRACKINGNUMBER.EMPTY")):
        connector().track([""])


def test_api_base_replaces_the_public_address(fedex):
    sandbox = "https://apis-sandbox.fedex.com"
    fedex.add(responses.POST, f"{sandbox}/oauth/token", json={"access_token": "t"})
    fedex.add(responses.POST, f"{sandbox}/track/v1/trackingnumbers", body=DELIVERED)
    [result] = connector(api_base=sandbox).track([NUMBER])
    assert result.found
