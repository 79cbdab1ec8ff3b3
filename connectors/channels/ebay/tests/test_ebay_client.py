"""The user token (refresh_token grant), getOrders by last-modified window with paging, and
eBay's error envelope mapped into the hub's error tree."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from connectors.channels.ebay.tests.helpers import API, connector, payload, raw, tokens
from hub.errors import AuthError, PermanentError, RetryableError

ORDERS = f"{API}/sell/fulfillment/v1/order"
SINCE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
UNTIL = datetime(2026, 12, 1, 10, 0, 0, 250000, tzinfo=UTC)


def _page(orders, total, offset):
    return {"total": total, "limit": 200, "offset": offset, "orders": orders}


def test_orders_are_read_by_last_modified_window_page_by_page():
    one = payload("order_paid_built.json")
    many = []
    for i in range(3):
        order = copy.deepcopy(one)
        order["orderId"] = f"12-00000-0000{i}"
        many.append(order)
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(ORDERS, json=_page(many[:2], 3, 0))
        mock.get(ORDERS, json=_page(many[2:], 3, 2))
        got = list(connector().orders_updated(SINCE, UNTIL))
        calls = [c for c in mock.calls if c.request.url.startswith(ORDERS)]
        token_call = mock.calls[0]
    assert [o["orderId"] for o in got] == ["12-00000-00000", "12-00000-00001", "12-00000-00002"]
    first, second = (parse_qs(urlsplit(c.request.url).query) for c in calls)
    assert first["filter"] == [
        "lastmodifieddate:[2026-12-01T09:00:00.000Z..2026-12-01T10:00:00.250Z]"
    ]
    assert (first["offset"], second["offset"], first["limit"]) == (["0"], ["2"], ["200"])
    headers = calls[0].request.headers
    assert headers["Authorization"] == "Bearer v^1.1#i^1#user-access-token-built"
    assert headers["X-EBAY-C-MARKETPLACE-ID"] == "EBAY_GB"
    form = parse_qs(token_call.request.body)
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == ["v^1.1#i^1#refresh-token-for-tests"]
    assert "https://api.ebay.com/oauth/api_scope/sell.fulfillment" in form["scope"][0].split()
    assert token_call.request.headers["Authorization"].startswith("Basic ")
    base64.b64decode(token_call.request.headers["Authorization"].split()[1])


def test_api_base_replaces_api_ebay_com_for_every_call():
    base = "https://ebay-proxy.example"
    with responses.RequestsMock() as mock:
        tokens(mock, base)
        mock.get(f"{base}/sell/fulfillment/v1/order", json=_page([], 0, 0))
        assert list(connector(api_base=base).orders_updated(SINCE, UNTIL)) == []
        assert all(c.request.url.startswith(base) for c in mock.calls)


def test_a_window_that_ends_before_it_starts_is_refused_before_any_call():
    with responses.RequestsMock(), pytest.raises(ValueError):
        connector().orders_updated(UNTIL, SINCE)


def test_a_refused_cached_token_is_renewed_once():
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(ORDERS, json=_page([], 0, 0))
        ebay = connector()
        list(ebay.orders_updated(SINCE, UNTIL))
        mock.get(ORDERS, status=401, body=raw("error_invalid_token_1001.json"))
        mock.get(ORDERS, json=_page([], 0, 0))
        # the cached token is refused (revoked): a new one is fetched and the call sent again
        responses_before = len(mock.calls)
        assert list(ebay.orders_updated(SINCE, UNTIL)) == []
        assert ebay.client.user_tokens.fetched == 2
        assert len(mock.calls) - responses_before == 3


def test_a_refresh_token_ebay_refuses_is_an_auth_error():
    with responses.RequestsMock() as mock:
        mock.post(
            f"{API}/identity/v1/oauth2/token",
            status=400,
            json={"error": "invalid_grant", "error_description": "the refresh token is invalid"},
        )
        with pytest.raises(AuthError):
            list(connector().orders_updated(SINCE, UNTIL))


@pytest.mark.parametrize(
    ("status", "name", "error", "words"),
    [
        (429, "error_too_many_requests_2001.json", RetryableError, "HTTP 429"),
        (500, "error_system_25001.json", RetryableError, "HTTP 500"),
        (400, "fulfilment/error_invalid_order_32100_built.json", PermanentError, "errorId 32100"),
        (403, "error_invalid_token_1001.json", AuthError, "credentials refused"),
    ],
)
def test_ebays_error_envelope_says_retry_fix_or_give_up(status, name, error, words):
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(ORDERS, status=status, body=raw(name))
        with pytest.raises(error) as caught:
            list(connector().orders_updated(SINCE, UNTIL))
    assert words in caught.value.message
    assert (
        not isinstance(caught.value, PermanentError) or "Invalid Order Id" in caught.value.message
    )


def test_a_4xx_whose_envelope_says_application_fault_is_retryable():
    from connectors.channels.ebay import envelope

    exc = PermanentError(
        "x", details={"status": 400, "body": raw("error_system_25001.json").decode()}
    )
    refined = envelope.refine(exc, "POST bulk")
    assert isinstance(refined, RetryableError) and "errorId 25001" in refined.message
    limited = PermanentError(
        "x", details={"status": 400, "body": raw("error_too_many_requests_2001.json").decode()}
    )
    assert isinstance(envelope.refine(limited, "GET x"), RetryableError)
    token = PermanentError(
        "x", details={"status": 400, "body": raw("error_invalid_token_1001.json").decode()}
    )
    assert isinstance(envelope.refine(token, "GET x"), AuthError)
    plain = PermanentError("x", details={"status": 400, "body": "not json"})
    assert envelope.refine(plain, "GET x") is plain
