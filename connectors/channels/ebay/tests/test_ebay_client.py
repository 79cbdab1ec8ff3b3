"""The user token (refresh_token grant), getOrders by last-modified window with paging, and
eBay's error envelope mapped into the hub's error tree."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from connectors.channels.ebay.tests.helpers import (
    API,
    connector,
    payload,
    raw,
    tokens,
    vector,
    vector_body,
)
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
    # identity (both grants), sell (fulfillment, inventory), commerce/notification and the
    # Trading API all go to api_base; nothing is registered at api.ebay.com, so a call there
    # would fail the test
    base = "https://api.sandbox.ebay.com"
    vector_key = vector()["response"]
    kid = "9936261a-7d7b-4621-a0f1-96ccb428af49"
    with responses.RequestsMock() as mock:
        tokens(mock, base)
        mock.get(f"{base}/sell/fulfillment/v1/order", json=_page([], 0, 0))
        mock.get(f"{base}/commerce/notification/v1/public_key/{kid}", json=vector_key)
        mock.post(f"{base}/sell/inventory/v1/bulk_update_price_quantity", json={"responses": []})
        mock.get(f"{base}/sell/fulfillment/v1/order/1-2/shipping_fulfillment", json={})
        mock.post(f"{base}/ws/api.dll", body=b"<x xmlns='urn:ebay:apis:eBLBaseComponents'/>")
        ebay = connector(api_base=base + "/")
        assert list(ebay.orders_updated(SINCE, UNTIL)) == []
        assert ebay.verify({"X-EBAY-SIGNATURE": vector()["signature"]}, vector_body())
        ebay.client.bulk_update({"requests": []})
        ebay.client.shipping_fulfillments("1-2")
        ebay.client.revise_inventory_status(b"<x/>")
        urls = [c.request.url for c in mock.calls]
    assert len(urls) == 7 and all(u.startswith(base + "/") for u in urls)
    assert sum("oauth2/token" in u for u in urls) == 2  # a user and an application token


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
        not isinstance(caught.value, PermanentError)
        or "Invalid order ID: 12-34567-89012" in caught.value.message
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


def test_a_rate_limited_call_keeps_ebays_retry_after():
    # eBay answers a call over its limit 429 with errorId 2001; the outbox is told when to
    # come back (the hub's HTTP client keeps the status, not the body, of a retryable answer)
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(
            ORDERS,
            status=429,
            body=raw("error_too_many_requests_2001.json"),
            headers={"Retry-After": "600"},
        )
        with pytest.raises(RetryableError) as caught:
            list(connector().orders_updated(SINCE, UNTIL))
    assert caught.value.retry_after == 600
    assert caught.value.details["status"] == 429 and "HTTP 429" in caught.value.message


@pytest.mark.parametrize(
    ("status", "headers", "verdict", "attempts"),
    [
        (500, {}, "gave up after 5 attempts", 5),
        (429, {"Retry-After": "600"}, "server asks to wait 600s", 1),
    ],
)
def test_a_refined_error_still_says_what_the_client_did(status, headers, verdict, attempts):
    # the envelope's words replace the raw body, but not the client's account of its attempts
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(ORDERS, status=status, body=raw("error_system_25001.json"), headers=headers)
        with pytest.raises(RetryableError) as caught:
            list(connector().orders_updated(SINCE, UNTIL))
        assert sum("oauth2" not in c.request.url for c in mock.calls) == attempts
    error = caught.value
    assert error.message.startswith("GET sell/fulfillment/v1/order: HTTP ")
    assert "errorId 25001: A system error has occurred" in error.message
    assert error.message.endswith(f"; {verdict}")
    assert error.details["verdict"] == verdict and error.details["attempts"] == attempts
    assert error.details["status"] == status and error.details["reason"] == f"HTTP {status}"
    assert [e["errorId"] for e in error.details["errors"]] == [25001]
    assert "body" not in error.details


def test_a_refined_error_keeps_every_detail_but_the_raw_body():
    from connectors.channels.ebay import envelope

    body = raw("fulfilment/error_invalid_order_32100_built.json").decode()
    exc = PermanentError("x", details={"status": 400, "body": body, "attempts": 1, "extra": "y"})
    refined = envelope.refine(exc, "POST x")
    assert isinstance(refined, PermanentError)
    assert refined.details == {
        "status": 400,
        "attempts": 1,
        "extra": "y",
        "errors": envelope.errors_of(body),
    }
    assert refined.message == f"POST x: HTTP 400: {envelope.describe(envelope.errors_of(body))}"


def test_an_errors_parameters_are_filled_into_its_message():
    from connectors.channels.ebay import envelope

    exc = PermanentError(
        "x", details={"status": 400, "body": raw("error_system_25001.json").decode()}
    )
    refined = envelope.refine(exc, "POST bulk")
    assert "errorId 25001: A system error has occurred. Please try again later" in refined.message
    # a parameter the message does not name, or a message without braces, is left as it is
    said = envelope.describe(
        [{"errorId": 1, "message": "Plain words", "parameters": [{"name": "x", "value": "y"}]}]
    )
    assert said == "errorId 1: Plain words"


def test_a_window_longer_than_ebay_answers_for_starts_90_days_before_its_end(caplog):
    # eBay refuses a lastmodifieddate start more than 90 days back (errorId 30830): after a
    # long outage the pass asks for what eBay can give, and says so
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(ORDERS, json=_page([], 0, 0))
        since = datetime(2026, 6, 1, tzinfo=UTC)
        assert list(connector().orders_updated(since, UNTIL)) == []
        query = parse_qs(urlsplit(mock.calls[1].request.url).query)
    assert query["filter"] == [
        "lastmodifieddate:[2026-09-02T10:01:00.250Z..2026-12-01T10:00:00.250Z]"
    ]
    assert "90 days at most" in caplog.text
