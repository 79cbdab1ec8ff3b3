"""DHL ``track()`` through the HTTP client: the exact requests, the error answers, retries,
the rate limit and the settings. No network: ``responses`` answers every call, and a fake clock
stands in for every wait."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from marshmallow import ValidationError

from connectors.carriers.dhl import DhlConnector
from connectors.carriers.dhl.client import DhlClient
from connectors.carriers.dhl.settings import DhlSettings
from hub.connectors import Account, AccountSchema, Capability
from hub.connectors.ratelimit import RateLimiter
from hub.errors import AuthError, PermanentError, RetryableError

PAYLOADS = Path(__file__).parent / "payloads"
URL = "https://api-eu.dhl.com/track/shipments"
API_KEY = "dhl-api-key-0123456789"


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


def make_account(name: str = "dhl-a", **settings: Any) -> Account:
    keys = {"connector": "dhl", "api_key": API_KEY, **settings}
    return Account(name=name, connector="dhl", client="acme", settings=DhlSettings().load(keys))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_connector(clock: FakeClock, **settings: Any) -> DhlConnector:
    account = make_account(**settings)
    limiter = RateLimiter(0.2, 1, clock=clock, sleep=clock.sleep)
    return DhlConnector(account, client=DhlClient(account, sleep=clock.sleep, limiter=limiter))


@pytest.fixture
def connector(clock: FakeClock) -> DhlConnector:
    return make_connector(clock)


def query(request: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url).query)


# -- declarations --------------------------------------------------------------------------


def test_declares_a_polling_carrier_one_number_a_call():
    assert DhlConnector.name == "dhl"
    assert DhlConnector.kind == "carrier"
    assert DhlConnector.capabilities == frozenset({Capability.TRACKING_POLL})
    assert DhlConnector.track_batch_size == 1
    assert DhlConnector.settings_schema is DhlSettings


def test_tracking_url(connector):
    assert connector.tracking_url("7777777770") == (
        "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html"
        "?submit=1&tracking-id=7777777770"
    )
    assert connector.tracking_url("JD 0146 0000 6614 884499").endswith(
        "tracking-id=JD014600006614884499"
    )


# -- requests ------------------------------------------------------------------------------


@responses.activate
def test_one_number_one_get_with_the_api_key(connector):
    responses.get(URL, body=payload("unified_track_doc_example.json"))
    [result] = connector.track(["7777777770"])
    assert result.found and result.status == "label_created"
    assert len(responses.calls) == 1
    request = responses.calls[0].request
    assert request.method == "GET"
    assert request.url == f"{URL}?trackingNumber=7777777770&language=en"
    assert request.headers["DHL-API-Key"] == API_KEY
    assert request.headers["Accept"] == "application/json"
    assert request.body is None


@responses.activate
def test_optional_parameters_come_from_the_settings(clock):
    connector = make_connector(
        clock, service="parcel-uk", requester_country_code="GB", language="de"
    )
    responses.get(URL, body=payload("unified_track_parcel_uk_history_built.json"))
    [result] = connector.track([" JD014600006614884499 "])
    assert result.status == "delivered" and result.tracking_number == " JD014600006614884499 "
    assert query(responses.calls[0].request) == {
        "trackingNumber": ["JD014600006614884499"],
        "service": ["parcel-uk"],
        "requesterCountryCode": ["GB"],
        "language": ["de"],
    }


@responses.activate
def test_more_than_one_number_is_refused_before_any_call(connector):
    with pytest.raises(ValueError):
        connector.track(["7777777770", "8264715546"])
    assert connector.track([]) == []
    assert len(responses.calls) == 0


@responses.activate
def test_api_base_replaces_the_public_address(clock):
    connector = make_connector(clock, api_base="http://localhost:8098/dhl")
    responses.get(
        "http://localhost:8098/dhl/track/shipments", body=payload("unified_track_doc_example.json")
    )
    [result] = connector.track(["7777777770"])
    assert result.found


# -- answers that are not a success --------------------------------------------------------


@responses.activate
def test_404_no_result_found_is_not_found_not_an_error(connector):
    responses.get(
        URL,
        body=payload("unified_track_not_found_404.json"),
        status=404,
        content_type="application/problem+json",
    )
    [result] = connector.track(["8264715546"])
    assert result.found is False and result.status == "unknown"
    assert result.error == "No result found: No shipment with given tracking number found."
    assert len(responses.calls) == 1


@responses.activate
def test_a_refused_key_is_an_auth_error_and_not_retried(connector):
    responses.get(URL, body=payload("unified_track_unauthorized_401_built.json"), status=401)
    with pytest.raises(AuthError) as caught:
        connector.track(["7777777770"])
    assert len(responses.calls) == 1
    assert API_KEY not in caught.value.message


@responses.activate
def test_a_bad_request_is_permanent(connector):
    responses.get(URL, json={"status": 400, "title": "Bad Request", "detail": "x"}, status=400)
    with pytest.raises(PermanentError) as caught:
        connector.track(["?"])
    assert "Bad Request" in caught.value.message
    assert len(responses.calls) == 1


@responses.activate
def test_a_4xx_without_a_json_problem_keeps_the_http_error(connector):
    responses.get(URL, body="<html>gone</html>", status=410)
    with pytest.raises(PermanentError) as caught:
        connector.track(["7777777770"])
    assert "HTTP 410" in caught.value.message


@responses.activate
def test_too_many_requests_is_retried_then_retryable(connector):
    for _ in range(3):
        responses.get(URL, body=payload("unified_track_too_many_requests_429.json"), status=429)
    with pytest.raises(RetryableError):
        connector.track(["7777777770"])
    assert len(responses.calls) == 3


@responses.activate
def test_too_many_requests_then_answered(connector, clock):
    responses.get(URL, status=429, headers={"Retry-After": "5"})
    responses.get(URL, body=payload("unified_track_doc_example.json"))
    [result] = connector.track(["7777777770"])
    assert result.found
    assert 5 in clock.sleeps


@responses.activate
def test_server_error_then_answered(connector):
    responses.get(URL, status=502)
    responses.get(URL, body=payload("unified_track_doc_example.json"))
    [result] = connector.track(["7777777770"])
    assert result.found
    assert len(responses.calls) == 2


@responses.activate
def test_the_rate_limit_spaces_calls_five_seconds_apart(connector, clock):
    responses.get(URL, body=payload("unified_track_doc_example.json"))
    for _ in range(3):
        connector.track(["7777777770"])
    assert clock.sleeps == [pytest.approx(5.0), pytest.approx(5.0)]


def test_the_shared_limiter_follows_the_rate_limit_setting():
    client = DhlClient(make_account(name="dhl-limit-test"))
    assert client.http.limiter is not None
    assert client.http.limiter.rate == 0.2 and client.http.limiter.burst == 1.0
    faster = DhlClient(make_account(name="dhl-limit-test-2", rate_limit=1.0))
    assert faster.http.limiter is not None and faster.http.limiter.rate == 1.0


# -- settings ------------------------------------------------------------------------------


def test_settings_require_the_api_key_and_flag_it_secret():
    assert DhlSettings().fields["api_key"].metadata.get("secret") is True
    with pytest.raises(ValidationError) as caught:
        DhlSettings().load({"connector": "dhl"})
    assert "api_key" in caught.value.normalized_messages()


def test_settings_defaults_and_refusals():
    loaded = DhlSettings().load({"connector": "dhl", "api_key": "k"})
    assert loaded["rate_limit"] == 0.2 and loaded["language"] == "en"
    assert loaded["service"] is None and loaded["requester_country_code"] is None
    for bad in (
        {"rate_limit": 0},
        {"service": "Parcel UK"},
        {"requester_country_code": "gbr"},
        {"language": "english"},
        {"api_kee": "typo"},
    ):
        with pytest.raises(ValidationError):
            DhlSettings().load({"connector": "dhl", "api_key": "k", **bad})


def test_every_settings_key_is_documented():
    import connectors.carriers.dhl.settings as module

    for key in set(DhlSettings().fields) - set(AccountSchema().fields):
        assert f"``{key}``" in (module.__doc__ or ""), key
