"""The WMS client over HTTP (connectors.warehouses.rest_wms.client), with ``responses`` as the
WMS: credentials, pages, links, the answers that mean "made already" or "not there"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from responses import matchers

from connectors.warehouses.rest_wms import RestWmsConnector
from connectors.warehouses.rest_wms.client import MAX_ATTEMPTS, WmsClient
from hub.connectors import StockCount
from hub.connectors.accounts import parse_accounts
from hub.errors import AuthError, PermanentError, RetryableError

API = "https://wms.example/api"
KEY = "wms-secret-key-123"


def account(**keys: Any):
    data = {"connector": "rest_wms", "api_base": API, "api_key": KEY, **keys}
    lines = [f"{k} = {json.dumps(v)}" for k, v in data.items() if v is not None]
    return parse_accounts("[accounts.w]\n" + "\n".join(lines), "hub.toml", env={})["w"]


def client(**keys: Any) -> WmsClient:
    return WmsClient(account(**keys), limiter=None, sleep=lambda seconds: None)


@pytest.fixture
def wms() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def only_params(**params: Any):
    return [matchers.query_param_matcher(params)]


# -- credentials -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "header", "value"),
    [
        ({}, "Authorization", f"Bearer {KEY}"),
        ({"api_key_header": "X-Api-Key"}, "X-Api-Key", KEY),
        ({"api_key": None, "username": "hub", "password": "pw"}, "Authorization", "Basic aHViOnB3"),
    ],
)
def test_every_request_carries_the_credentials(wms, keys, header, value):
    wms.get(f"{API}/stock", json={"items": []})
    list(client(**keys).pages("/stock", "items"))
    sent = wms.calls[0].request.headers
    assert sent[header] == value
    assert sent["Accept"] == "application/json"


def test_refused_credentials_raise_auth_error_without_the_key(wms):
    wms.get(f"{API}/stock", status=401, body=f"bad key {KEY}")
    with pytest.raises(AuthError) as info:
        list(client().pages("/stock", "items"))
    assert KEY not in str(info.value) and KEY not in json.dumps(info.value.details)
    assert len(wms.calls) == 1


# -- pages -----------------------------------------------------------------------------------


def test_cursor_pages_are_followed_with_the_list_params(wms):
    wms.get(
        f"{API}/shipments",
        match=only_params(since="t0"),
        json={"items": [1, 2], "next_cursor": "c2"},
    )
    wms.get(
        f"{API}/shipments",
        match=only_params(since="t0", cursor="c2"),
        json={"items": [3], "next_cursor": None},
    )
    pages = list(client().pages("/shipments", "items", {"since": "t0"}))
    assert [(p.items, p.cursor) for p in pages] == [([1, 2], "c2"), ([3], None)]


def test_an_empty_page_or_a_repeated_cursor_ends_the_list(wms):
    wms.get(f"{API}/stock", match=only_params(), json={"items": [1], "next_cursor": "c2"})
    wms.get(
        f"{API}/stock", match=only_params(cursor="c2"), json={"items": [2], "next_cursor": "c2"}
    )
    assert [p.items for p in client().pages("/stock", "items")] == [[1], [2]]
    wms.get(f"{API}/feed", json={"items": [], "next_cursor": "c9"})
    assert [(p.items, p.cursor) for p in client().pages("/feed", "items")] == [([], "c9")]


def test_next_links_are_followed_on_the_wms_host_only(wms):
    wms.get(f"{API}/stock", match=only_params(), json={"items": [1], "next": "/api/stock?p=2"})
    wms.get(
        f"{API}/stock",
        match=only_params(p="2"),
        json={"items": [2], "next": f"{API}/stock?p=3"},
    )
    wms.get(f"{API}/stock", match=only_params(p="3"), json={"items": [3], "next": None})
    pages = client(next_cursor_path="next").pages("/stock", "items")
    assert [p.items for p in pages] == [[1], [2], [3]]
    wms.get(f"{API}/elsewhere", json={"items": [1], "next": "https://evil.example/steal"})
    with pytest.raises(PermanentError, match="next page link refused"):
        list(client(next_cursor_path="next").pages("/elsewhere", "items"))


def test_numbered_pages_until_an_empty_one(wms):
    for number, items in ((1, [1, 2]), (2, [3]), (3, [])):
        wms.get(f"{API}/stock", match=only_params(page=str(number), w="1"), json={"rows": items})
    pages = client(page_param="page", items_path="rows").pages("/stock", "rows", {"w": "1"})
    assert [p.items for p in pages] == [[1, 2], [3], []]


def test_an_answer_that_is_no_json_is_a_permanent_error(wms):
    wms.get(f"{API}/stock", body="<html>Sign in</html>", content_type="text/html")
    with pytest.raises(PermanentError, match="not JSON; is api_base the WMS's API"):
        list(client().pages("/stock", "items"))


# -- orders ----------------------------------------------------------------------------------


def test_a_new_order_is_posted_once_with_its_idempotency_key(wms):
    wms.post(
        f"{API}/orders",
        status=201,
        json={"id": "W-1"},
        match=[matchers.header_matcher({"Idempotency-Key": "hub-order-7"})],
    )
    created = client().create_order({"external_reference": "7"}, "hub-order-7")
    assert (created.answer, created.duplicate) == ({"id": "W-1"}, None)


def test_a_409_means_the_wms_holds_the_order_already(wms):
    wms.post(f"{API}/orders", status=409, json={"error": "duplicate external_reference"})
    created = client().create_order({}, "hub-order-7")
    assert "duplicate external_reference" in (created.duplicate or "")


def test_an_answer_without_json_still_gives_the_location(wms):
    wms.post(f"{API}/orders", status=201, body="", headers={"Location": f"{API}/orders/W-2"})
    created = client().create_order({}, "hub-order-7")
    assert (created.answer, created.location) == (None, f"{API}/orders/W-2")


def test_a_post_that_may_have_reached_the_wms_is_left_to_the_job(wms):
    wms.post(f"{API}/orders", status=502)
    with pytest.raises(RetryableError, match="not retried here"):
        client().create_order({}, "hub-order-7")
    assert len(wms.calls) == 1


def test_a_busy_wms_is_asked_again_here_when_it_did_not_act(wms):
    wms.post(f"{API}/orders", status=503)
    wms.post(f"{API}/orders", status=503)
    wms.post(f"{API}/orders", status=503)
    with pytest.raises(RetryableError, match=f"gave up after {MAX_ATTEMPTS} attempts"):
        client().create_order({}, "hub-order-7")
    assert len(wms.calls) == MAX_ATTEMPTS


def test_the_lookup_and_cancel_fill_in_quoted_values(wms):
    wms.get(f"{API}/orders", match=only_params(external_reference="7"), json={"items": []})
    wms.delete(
        f"{API}/orders/W%2F1",
        match=[matchers.header_matcher({"Idempotency-Key": "hub-order-7-cancel"})],
    )
    c = client(cancel_endpoint="/orders/{reference}", cancel_method="DELETE")
    assert c.find_order(7) == {"items": []}
    assert c.cancel_order("W/1", "hub-order-7-cancel") is True


def test_cancelling_what_the_wms_does_not_know_is_nothing_to_do(wms):
    wms.post(f"{API}/orders/W-1/cancel", status=404)
    wms.get(f"{API}/orders", status=404)
    assert client().cancel_order("W-1", "k") is False
    assert client().find_order(7) is None


def test_a_refused_cancellation_says_to_stop_the_order_by_hand(wms):
    wms.post(f"{API}/orders/W-1/cancel", status=409, json={"error": "already shipped"})
    with pytest.raises(PermanentError, match="may be picked or shipped already"):
        client().cancel_order("W-1", "k")


def test_a_cancellation_is_retried_here(wms):
    wms.post(f"{API}/orders/W-1/cancel", status=500)
    wms.post(f"{API}/orders/W-1/cancel", status=200)
    assert client().cancel_order("W-1", "k") is True
    assert len(wms.calls) == 2


# -- the connector over the client -----------------------------------------------------------


def connector(**keys: Any) -> RestWmsConnector:
    acct = account(**keys)
    return RestWmsConnector(acct, client=WmsClient(acct, limiter=None, sleep=lambda s: None))


def test_a_poll_reads_shipments_before_stock_and_sums_stock_pages(wms):
    wms.get(f"{API}/shipments", json={"items": [], "next_cursor": None})
    wms.get(
        f"{API}/stock",
        match=only_params(),
        json={"items": [{"sku": "A", "on_hand": 2}], "next_cursor": "2"},
    )
    wms.get(
        f"{API}/stock", match=only_params(cursor="2"), json={"items": [{"sku": "A", "on_hand": 3}]}
    )
    batches = list(connector().poll({}))
    assert [c.request.url.split("?")[0] for c in wms.calls] == [
        f"{API}/shipments",
        f"{API}/stock",
        f"{API}/stock",
    ]
    [stock] = batches
    assert stock.counts == [StockCount("A", 5)] and stock.state is None


def test_a_change_feed_poll_saves_the_cursor_after_each_page(wms):
    item = {"id": "S1", "external_reference": "1", "carrier": "dhl", "tracking_number": "T1"}
    wms.get(
        f"{API}/shipments",
        match=only_params(since="c1"),
        json={"items": [item], "next_cursor": "c2"},
    )
    wms.get(
        f"{API}/shipments",
        match=only_params(since="c1", cursor="c2"),
        json={"items": [], "next_cursor": "c2"},
    )
    wms.get(f"{API}/stock", json={"items": []})
    batches = list(connector(since_value="cursor").poll({"since": "c1"}))
    assert [(b.ref, b.state) for b in batches] == [
        ("shipment S1", None),
        ("shipments cursor", {"since": "c2"}),
    ]
