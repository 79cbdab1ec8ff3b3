"""``UspsConnector.track`` against USPS's HTTP API through ``responses``: the exact requests,
the token's life, retries, and how failures come out. No network, no real waits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
from marshmallow import ValidationError
from responses import matchers

from connectors.carriers.usps import UspsConnector
from connectors.carriers.usps.client import BURST, MAX_WAIT, UspsClient
from connectors.carriers.usps.settings import UspsSettings
from hub.connectors import Account, AccountSchema, Capability
from hub.connectors.ratelimit import RateLimiter
from hub.errors import AuthError, PermanentError, RetryableError

PAYLOADS = Path(__file__).parent / "payloads"
BASE = "https://apis.usps.com"
TOKEN_URL = f"{BASE}/oauth2/v3/token"
NUMBER = "9400109104250532908587"
CLIENT_ID, CLIENT_SECRET = "usps-consumer-key", "usps-consumer-secret-0123456789"


def track_url(number: str = NUMBER, base: str = BASE) -> str:
    return f"{base}/tracking/v3/tracking/{number}"


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def delivered(number: str = NUMBER) -> dict[str, Any]:
    body = json.loads(payload("v3_tracking_delivered_parcel_locker.json"))
    return {**body, "trackingNumber": number}


class FakeClock:
    """Monotonic time that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_account(name: str = "acme-usps", **settings: Any) -> Account:
    keys = {
        "connector": "usps",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **settings,
    }
    return Account(name=name, connector="usps", client="acme", settings=UspsSettings().load(keys))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_connector(clock: FakeClock, limiter: Any = None, **settings: Any) -> UspsConnector:
    account = make_account(**settings)
    client = UspsClient(account, sleep=clock.sleep, clock=clock, limiter=limiter)
    return UspsConnector(account, client=client)


@pytest.fixture
def connector(clock: FakeClock) -> UspsConnector:
    return make_connector(clock)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def add_token(rsps: responses.RequestsMock, token: str = "tok-1", expires_in: Any = "28799"):
    return rsps.add(
        responses.POST,
        TOKEN_URL,
        json={"access_token": token, "token_type": "Bearer", "expires_in": expires_in},
    )


def add_track(rsps: responses.RequestsMock, number: str = NUMBER, token: str = "tok-1", **kw: Any):
    if "body" not in kw:
        kw.setdefault("json", delivered(number))
    return rsps.add(
        responses.GET,
        track_url(number),
        match=[
            matchers.query_param_matcher({"expand": "DETAIL"}),
            matchers.header_matcher({"Authorization": f"Bearer {token}"}),
        ],
        **kw,
    )


# -- what the connector is ---------------------------------------------------------------------


def test_the_connector_declares_what_it_is():
    assert (UspsConnector.name, UspsConnector.kind, UspsConnector.title) == (
        "usps",
        "carrier",
        "USPS",
    )
    assert UspsConnector.capabilities == frozenset({Capability.TRACKING_POLL})
    assert UspsConnector.track_batch_size == 1
    assert UspsConnector.settings_schema is UspsSettings


def test_settings_require_the_credentials_and_flag_the_secret():
    fields = UspsSettings().fields
    assert fields["client_secret"].metadata.get("secret") is True
    assert not fields["client_id"].metadata.get("secret")
    for key in ("client_id", "client_secret"):
        with pytest.raises(ValidationError) as caught:
            UspsSettings().load(
                {"connector": "usps", "client_id": "a", "client_secret": "b", key: ""}
            )
        assert key in caught.value.normalized_messages()
    with pytest.raises(ValidationError) as caught:
        UspsSettings().load({"connector": "usps", "client_id": "a"})
    assert "client_secret" in caught.value.normalized_messages()
    with pytest.raises(ValidationError) as caught:
        UspsSettings().load(
            {"connector": "usps", "client_id": "a", "client_secret": "b", "user_id": "x"}
        )
    assert "user_id" in caught.value.normalized_messages()
    with pytest.raises(ValidationError):
        UspsSettings().load(
            {"connector": "usps", "client_id": "a", "client_secret": "b", "rate_limit": 0}
        )
    loaded = UspsSettings().load({"connector": "usps", "client_id": "a", "client_secret": "b"})
    assert loaded["rate_limit"] == 60 and loaded["api_base"] is None


def test_settings_document_every_key():
    import connectors.carriers.usps.settings as module

    for key in set(UspsSettings().fields) - set(AccountSchema().fields):
        assert f"``{key}``" in (module.__doc__ or ""), key


def test_tracking_url():
    connector = UspsConnector(make_account())
    assert connector.tracking_url(NUMBER) == (
        f"https://tools.usps.com/go/TrackConfirmAction?tLabels={NUMBER}"
    )
    assert connector.tracking_url("9400 1091 0425") == (
        "https://tools.usps.com/go/TrackConfirmAction?tLabels=940010910425"
    )


# -- the requests ------------------------------------------------------------------------------


def test_token_then_tracking_exactly_as_usps_documents_them(rsps, connector):
    token = add_token(rsps)
    track = add_track(rsps)
    [parcel] = connector.track([NUMBER])
    assert parcel.tracking_number == NUMBER and parcel.found and parcel.status == "delivered"
    assert len(parcel.events) == 12

    sent = token.calls[0].request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in sent.headers
    assert parse_qs(sent.body) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
        "scope": ["tracking"],
    }
    got = track.calls[0].request
    assert got.url == f"{track_url()}?expand=DETAIL"
    assert got.headers["Accept"] == "application/json"
    assert got.body is None


def test_one_call_per_number_results_in_order_and_one_token(rsps, connector):
    add_token(rsps)
    add_track(rsps, "111")
    add_track(
        rsps,
        "222",
        status=404,
        json=json.loads(payload("v3_error_404_tracking_not_available.json")),
    )
    add_track(rsps, "333")
    results = connector.track(["111", "222", "333"])
    assert [(r.tracking_number, r.found) for r in results] == [
        ("111", True),
        ("222", False),
        ("333", True),
    ]
    assert results[1].status == "unknown" and results[1].error.startswith(
        "Tracking is not available"
    )
    assert connector.client.tokens.fetched == 1
    assert [c.request.method for c in rsps.calls] == ["POST", "GET", "GET", "GET"]


def test_the_token_is_reused_until_shortly_before_it_expires(rsps, clock, connector):
    add_token(rsps, "tok-1", expires_in=3600)
    add_track(rsps, token="tok-1")
    connector.track([NUMBER])
    connector.track([NUMBER])
    clock.now += 3600
    add_token(rsps, "tok-2")
    add_track(rsps, token="tok-2")
    connector.track([NUMBER])
    assert connector.client.tokens.fetched == 2


def test_a_number_is_sent_without_spaces_and_escaped(rsps, connector):
    add_token(rsps)
    add_track(rsps, "9400109104250532908587")
    add_track(
        rsps,
        "AB%2F..%3F",
        status=400,
        json={"error": {"code": "400", "message": "Invalid tracking number"}},
    )
    spaced, odd = connector.track(["9400 1091 0425 0532 9085 87", "AB/..?"])
    assert spaced.tracking_number == "9400 1091 0425 0532 9085 87" and spaced.found
    assert odd.tracking_number == "AB/..?" and not odd.found


def test_api_base_replaces_the_public_address(rsps, clock):
    base = "http://127.0.0.1:9400/usps"
    connector = make_connector(clock, api_base=base)
    rsps.add(
        responses.POST, f"{base}/oauth2/v3/token", json={"access_token": "t", "expires_in": 60}
    )
    rsps.add(responses.GET, track_url(base=base), json=delivered())
    assert connector.track([NUMBER])[0].found


# -- unknown numbers and errors ---------------------------------------------------------------


def test_a_400_naming_the_number_is_not_found(rsps, connector):
    add_token(rsps)
    add_track(rsps, status=400, body=payload("v3_error_400_invalid_tracking_number.json"))
    [parcel] = connector.track([NUMBER])
    assert not parcel.found and parcel.status == "unknown"
    assert "tracking number may be incorrect" in parcel.error


def test_another_400_is_a_permanent_error(rsps, connector):
    add_token(rsps)
    add_track(rsps, status=400, json={"error": {"code": "400", "message": "expand is invalid"}})
    with pytest.raises(PermanentError) as caught:
        connector.track([NUMBER])
    assert not isinstance(caught.value, AuthError | RetryableError)
    assert "expand is invalid" in caught.value.message


def test_401_with_a_cached_token_fetches_one_new_token(rsps, connector):
    add_token(rsps, "tok-1")
    add_track(rsps, token="tok-1")
    connector.track([NUMBER])  # tok-1 is now cached
    add_track(
        rsps,
        token="tok-1",
        status=401,
        body=payload("v3_error_401_client_application_invalid.json"),
    )
    add_token(rsps, "tok-2")
    add_track(rsps, token="tok-2")
    [parcel] = connector.track([NUMBER])
    assert parcel.found and connector.client.tokens.fetched == 2


def test_401_again_after_the_new_token_is_an_auth_error(rsps, connector):
    add_token(rsps, "tok-1")
    add_track(rsps, token="tok-1")
    connector.track([NUMBER])
    add_track(
        rsps,
        token="tok-1",
        status=401,
        body=payload("v3_error_401_client_application_invalid.json"),
    )
    add_token(rsps, "tok-2")
    add_track(
        rsps,
        token="tok-2",
        status=401,
        body=payload("v3_error_401_client_application_invalid.json"),
    )
    with pytest.raises(AuthError):
        connector.track([NUMBER])
    assert connector.client.tokens.fetched == 2


def test_401_with_a_token_fetched_just_now_is_not_retried(rsps, connector):
    add_token(rsps)
    add_track(rsps, status=401, body=payload("v3_error_401_client_application_invalid.json"))
    with pytest.raises(AuthError):
        connector.track([NUMBER])
    assert connector.client.tokens.fetched == 1 and len(rsps.calls) == 2


def test_403_is_an_auth_error_without_a_new_token(rsps, connector):
    add_token(rsps)
    add_track(rsps)
    connector.track([NUMBER])
    add_track(rsps, status=403, json={"error": {"code": "403", "message": "Forbidden"}})
    with pytest.raises(AuthError):
        connector.track([NUMBER])
    assert connector.client.tokens.fetched == 1


@pytest.mark.parametrize("status", [400, 401])
def test_refused_credentials_are_an_auth_error_without_the_secret(rsps, connector, status):
    rsps.add(
        responses.POST, TOKEN_URL, status=status, body=payload("oauth_error_invalid_client.json")
    )
    with pytest.raises(AuthError) as caught:
        connector.track([NUMBER])
    assert CLIENT_SECRET not in caught.value.message and CLIENT_SECRET not in str(
        caught.value.details
    )


def test_429_and_503_are_retried_after_the_wait_usps_asks(rsps, clock, connector):
    add_token(rsps)
    add_track(
        rsps,
        status=429,
        headers={"Retry-After": "7"},
        body=payload("v3_error_429_too_many_requests.json"),
    )
    add_track(rsps, status=503, headers={"Retry-After": "2"}, json={"error": {"code": "503"}})
    add_track(rsps)
    [parcel] = connector.track([NUMBER])
    assert parcel.found and clock.sleeps == [7.0, 2.0]


def test_5xx_until_the_attempts_run_out_is_retryable(rsps, clock, connector):
    add_token(rsps)
    for _ in range(3):
        add_track(rsps, status=500, body="oops")
    with pytest.raises(RetryableError):
        connector.track([NUMBER])
    assert len(clock.sleeps) == 2


def test_a_long_retry_after_goes_back_to_the_outbox(rsps, clock, connector):
    add_token(rsps)
    add_track(rsps, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RetryableError) as caught:
        connector.track([NUMBER])
    assert caught.value.retry_after == 3600 and clock.sleeps == []


# -- the hourly quota --------------------------------------------------------------------------


def test_the_account_limiter_follows_rate_limit():
    client = UspsClient(make_account(name="usps-quota-test", rate_limit=120))
    assert client.http.limiter is not None
    assert client.http.limiter.rate == pytest.approx(120 / 3600)
    assert client.http.limiter.burst == BURST
    assert client.tokens.http.limiter is None  # tokens do not count against tracking
    again = UspsClient(make_account(name="usps-quota-test"))
    assert again.http.limiter is client.http.limiter  # shared by the account's clients


def test_past_the_burst_a_caller_gets_the_wait_back(rsps, clock):
    limiter = RateLimiter(60 / 3600, BURST, clock=clock, sleep=clock.sleep)
    connector = make_connector(clock, limiter=limiter)
    add_token(rsps)
    for _ in range(int(BURST)):
        add_track(rsps)
    assert all(p.found for p in connector.track([NUMBER] * int(BURST)))
    with pytest.raises(RetryableError) as caught:
        connector.track([NUMBER])
    assert caught.value.retry_after is not None and caught.value.retry_after > MAX_WAIT
    assert clock.sleeps == []
