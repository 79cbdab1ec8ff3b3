"""Royal Mail ``track()`` through the HTTP client: the exact requests, batching, the error
answers, retries and the settings. No network: ``responses`` answers every call, and a fake
clock stands in for every wait."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import responses
from marshmallow import ValidationError

from connectors.carriers.royalmail import RoyalMailConnector, translate
from connectors.carriers.royalmail.client import SUMMARY_LIMIT, RoyalMailClient
from connectors.carriers.royalmail.settings import RoyalMailSettings
from hub.connectors import Account, AccountSchema, Capability
from hub.connectors.ratelimit import RateLimiter
from hub.errors import AuthError, PermanentError, RetryableError

PAYLOADS = Path(__file__).parent / "payloads"
BASE = "https://api.royalmail.net"
CLIENT_ID, CLIENT_SECRET = "rm-client-id-0123", "rm-client-secret-9876543210"


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


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


def make_account(name: str = "rm-a", **settings: Any) -> Account:
    keys = {
        "connector": "royalmail",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **settings,
    }
    return Account(
        name=name, connector="royalmail", client="acme", settings=RoyalMailSettings().load(keys)
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_connector(clock: FakeClock, **settings: Any) -> RoyalMailConnector:
    account = make_account(**settings)
    limiter = RateLimiter(1, 1, clock=clock, sleep=clock.sleep)
    return RoyalMailConnector(
        account, client=RoyalMailClient(account, sleep=clock.sleep, limiter=limiter)
    )


@pytest.fixture
def connector(clock: FakeClock) -> RoyalMailConnector:
    return make_connector(clock)


def assert_royal_mail_headers(request: Any) -> None:
    assert request.method == "GET"
    assert request.headers["X-IBM-Client-Id"] == CLIENT_ID
    assert request.headers["X-IBM-Client-Secret"] == CLIENT_SECRET
    assert request.headers["X-Accept-RMG-Terms"] == "yes"
    assert request.headers["Accept"] == "application/json"
    assert request.body is None


# -- declarations --------------------------------------------------------------------------


def test_declares_a_polling_carrier_with_summary_batches():
    assert RoyalMailConnector.name == "royalmail"
    assert RoyalMailConnector.kind == "carrier"
    assert RoyalMailConnector.capabilities == frozenset({Capability.TRACKING_POLL})
    assert RoyalMailConnector.track_batch_size == SUMMARY_LIMIT == 30
    assert RoyalMailConnector.settings_schema is RoyalMailSettings


def test_tracking_url(connector):
    assert (
        connector.tracking_url("FQ087430672GB")
        == "https://www.royalmail.com/track-your-item#/tracking-results/FQ087430672GB"
    )
    assert connector.tracking_url(" fq 0874 3067 2gb") == (
        "https://www.royalmail.com/track-your-item#/tracking-results/FQ087430672GB"
    )


# -- requests ------------------------------------------------------------------------------


@responses.activate
def test_one_number_asks_for_its_events(connector):
    responses.get(
        f"{BASE}/mailpieces/v2/090367574000000FE1E1B/events",
        body=payload("tracking_v2_events_doc_example_missort.json"),
        content_type="application/json",
    )
    [result] = connector.track(["090367574000000FE1E1B"])
    assert result.found and result.status == "in_transit"
    assert len(responses.calls) == 1
    request = responses.calls[0].request
    assert request.url == f"{BASE}/mailpieces/v2/090367574000000FE1E1B/events"
    assert_royal_mail_headers(request)


@responses.activate
def test_several_numbers_are_one_summary_call_with_a_comma_list(connector):
    url = f"{BASE}/mailpieces/v2/summary"
    responses.get(
        url, body=payload("tracking_v2_summary_batch_built.json"), content_type="application/json"
    )
    numbers = ["AB123456789GB", "tt 1234 5678 5gb", "ZZ000000000GB", "FQ087430672GB"]
    results = connector.track(numbers)
    assert [r.tracking_number for r in results] == numbers
    assert [r.found for r in results] == [False, True, False, True]
    assert len(responses.calls) == 1
    request = responses.calls[0].request
    assert request.url == (
        f"{url}?mailPieceId=AB123456789GB,TT123456785GB,ZZ000000000GB,FQ087430672GB"
    )
    assert_royal_mail_headers(request)


@responses.activate
def test_thirty_numbers_are_one_call_and_thirty_one_are_refused(connector):
    numbers = [f"AB{n:09d}GB" for n in range(30)]
    responses.get(f"{BASE}/mailpieces/v2/summary", json={"mailPieces": []})
    results = connector.track(numbers)
    assert len(results) == 30 and not any(r.found for r in results)
    assert len(responses.calls) == 1
    assert responses.calls[0].request.url.count(",") == 29
    with pytest.raises(ValueError):
        connector.track([*numbers, "XX000000000GB"])
    assert connector.track([]) == []


@responses.activate
def test_a_number_with_odd_characters_is_quoted_into_the_path(connector):
    responses.get(f"{BASE}/mailpieces/v2/AB%2F1%3F/events", json={"mailPieces": {}})
    connector.track(["ab/1?"])
    assert responses.calls[0].request.url == f"{BASE}/mailpieces/v2/AB%2F1%3F/events"


@responses.activate
def test_api_base_replaces_the_public_address(clock):
    connector = make_connector(clock, api_base="http://localhost:8099/rm")
    responses.get(
        "http://localhost:8099/rm/mailpieces/v2/X1/events",
        body=payload("tracking_v2_events_doc_example_missort.json"),
    )
    [result] = connector.track(["X1"])
    assert result.found


# -- answers that are not a success --------------------------------------------------------


@responses.activate
def test_an_unknown_number_answered_404_with_e1142_is_not_found(connector):
    responses.get(
        f"{BASE}/mailpieces/v2/AB123456789GB/events",
        body=payload("tracking_v2_events_404_E1142_built.json"),
        status=404,
        content_type="application/json",
    )
    [result] = connector.track(["AB123456789GB"])
    assert result.found is False and result.status == "unknown"
    assert result.error == "E1142: Barcode reference AB123456789GB isn't recognised"
    assert len(responses.calls) == 1  # a 404 is an answer, not something to retry


@responses.activate
def test_e1142_inside_a_200_summary_is_not_found(connector):
    responses.get(
        f"{BASE}/mailpieces/v2/summary",
        body=payload("tracking_v2_summary_not_recognised_E1142.json"),
    )
    results = connector.track(["090367574000000FE1E1B", "FQ087430672GB"])
    assert [r.found for r in results] == [False, False]
    assert results[0].error == "E1142: Barcode reference $mailPieceId isn't recognised"


@responses.activate
def test_header_validation_error_is_permanent(connector):
    responses.get(
        f"{BASE}/mailpieces/v2/FQ087430672GB/events",
        body=payload("tracking_v2_error_400_E0004.json"),
        status=400,
    )
    with pytest.raises(PermanentError) as caught:
        connector.track(["FQ087430672GB"])
    assert "E0004" in caught.value.message
    assert len(responses.calls) == 1


@responses.activate
def test_a_4xx_without_a_royal_mail_body_keeps_the_http_error(connector):
    responses.get(f"{BASE}/mailpieces/v2/FQ087430672GB/events", body="<html>no</html>", status=405)
    with pytest.raises(PermanentError) as caught:
        connector.track(["FQ087430672GB"])
    assert "HTTP 405" in caught.value.message


@responses.activate
def test_refused_credentials_are_an_auth_error_and_not_retried(connector):
    responses.get(
        f"{BASE}/mailpieces/v2/summary",
        body=payload("tracking_v2_error_401_built.json"),
        status=401,
    )
    with pytest.raises(AuthError) as caught:
        connector.track(["FQ087430672GB", "TT123456785GB"])
    assert len(responses.calls) == 1
    assert CLIENT_SECRET not in caught.value.message


@responses.activate
def test_rate_limited_then_answered(connector, clock):
    url = f"{BASE}/mailpieces/v2/FQ087430672GB/events"
    responses.get(
        url,
        body=payload("tracking_v2_error_429_built.json"),
        status=429,
        headers={"Retry-After": "7"},
    )
    responses.get(url, body=payload("tracking_v2_events_doc_example_missort.json"))
    [result] = connector.track(["FQ087430672GB"])
    assert result.found
    assert len(responses.calls) == 2
    assert 7 in clock.sleeps  # Royal Mail's Retry-After was honoured


@responses.activate
def test_server_errors_are_retried_then_retryable(connector, clock):
    url = f"{BASE}/mailpieces/v2/FQ087430672GB/events"
    for _ in range(3):
        responses.get(
            url, json={"httpCode": "500", "httpMessage": "Internal Server Error"}, status=500
        )
    with pytest.raises(RetryableError):
        connector.track(["FQ087430672GB"])
    assert len(responses.calls) == 3


@responses.activate
def test_server_error_then_success(connector):
    url = f"{BASE}/mailpieces/v2/FQ087430672GB/events"
    responses.get(url, status=503)
    responses.get(url, body=payload("tracking_v2_events_doc_example_missort.json"))
    [result] = connector.track(["FQ087430672GB"])
    assert result.found


@responses.activate
def test_the_rate_limit_spaces_calls(clock):
    connector = make_connector(clock)
    url = f"{BASE}/mailpieces/v2/FQ087430672GB/events"
    responses.get(url, body=payload("tracking_v2_events_doc_example_missort.json"))
    for _ in range(3):
        connector.track(["FQ087430672GB"])
    assert clock.sleeps == [1.0, 1.0]  # one call a second, as the account's rate_limit says


def test_the_shared_limiter_follows_the_rate_limit_setting():
    client = RoyalMailClient(make_account(name="rm-limit-test", rate_limit=0.5))
    assert client.http.limiter is not None
    assert client.http.limiter.rate == 0.5
    assert client.http.limiter.burst == 1.0
    again = RoyalMailClient(make_account(name="rm-limit-test", rate_limit=0.5))
    assert again.http.limiter is client.http.limiter  # one bucket per account, per process


# -- settings ------------------------------------------------------------------------------


def test_settings_require_both_credentials_and_flag_them_secret():
    fields = RoyalMailSettings().fields
    assert fields["client_id"].metadata.get("secret") is True
    assert fields["client_secret"].metadata.get("secret") is True
    for key in ("client_id", "client_secret"):
        data = {"connector": "royalmail", "client_id": "a", "client_secret": "b"}
        del data[key]
        with pytest.raises(ValidationError) as caught:
            RoyalMailSettings().load(data)
        assert key in caught.value.normalized_messages()


def test_settings_defaults_and_refusals():
    loaded = RoyalMailSettings().load(
        {"connector": "royalmail", "client_id": "a", "client_secret": "b"}
    )
    assert loaded["rate_limit"] == 1.0 and loaded["api_base"] is None
    for bad in ({"rate_limit": 0}, {"rate_limit": -1}, {"client_secert": "typo"}):
        with pytest.raises(ValidationError):
            RoyalMailSettings().load(
                {"connector": "royalmail", "client_id": "a", "client_secret": "b", **bad}
            )


def test_every_settings_key_is_documented():
    import connectors.carriers.royalmail.settings as module

    for key in set(RoyalMailSettings().fields) - set(AccountSchema().fields):
        assert f"``{key}``" in (module.__doc__ or ""), key


def test_the_translator_is_reachable_for_the_contract_suite():
    assert callable(translate.read_tracking)
