"""WooCommerce stock reading and pushing, against answers in ``payloads/stock/`` (see its
README: built from the documented REST v3 shapes). No network: ``responses`` answers every
call, and a fake clock stands in for every wait."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import responses
from marshmallow import ValidationError
from responses import matchers

from connectors.channels.woocommerce import WooCommerceConnector, stock
from connectors.channels.woocommerce.client import WooCommerceClient
from connectors.channels.woocommerce.settings import WooCommerceSettings
from hub.connectors import Account, Capability, ChannelItem, StockOutcome, StockUpdate
from hub.connectors.ratelimit import RateLimiter
from hub.errors import AuthError, PermanentError, RetryableError

PAYLOADS = Path(__file__).parent / "payloads" / "stock"
BASE = "https://woo.example/wp-json/wc/v3"
KEY, SECRET = "ck_test_0123456789", "cs_test_9876543210"
BASIC = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


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


def make_account(**settings: Any) -> Account:
    keys = {
        "connector": "woocommerce",
        "url": "https://woo.example",
        "webhook_secret": "woo-a-secret",
        "consumer_key": KEY,
        "consumer_secret": SECRET,
        **settings,
    }
    return Account(
        name="woo-a",
        connector="woocommerce",
        client="acme",
        settings=WooCommerceSettings().load(keys),
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def connector(clock: FakeClock) -> WooCommerceConnector:
    account = make_account()
    limiter = RateLimiter(5, 10, clock=clock, sleep=clock.sleep)
    client = WooCommerceClient(account, sleep=clock.sleep, limiter=limiter)
    return WooCommerceConnector(account, client=client)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def list_page(rsps, path: str, fields: str, page: int, body: Any, total: int | None) -> None:
    query = {
        "_fields": fields,
        "orderby": "id",
        "order": "asc",
        "per_page": "100",
        "page": str(page),
    }
    headers = {"X-WP-TotalPages": str(total)} if total is not None else {}
    rsps.get(
        f"{BASE}/{path}",
        json=body,
        headers=headers,
        match=[matchers.query_param_matcher(query)],
    )


def update(sku: str, item_id: int, quantity: int, parent: int | None = None) -> StockUpdate:
    item = ChannelItem(sku=sku, item_id=str(item_id), parent_id=str(parent) if parent else None)
    return StockUpdate(item, quantity, previous=quantity + 1)


def sent_json(call) -> Any:
    return json.loads(call.request.body)


# -- declarations ------------------------------------------------------------------------------


def test_the_connector_declares_stock_push_and_the_batch_limit():
    assert Capability.STOCK_PUSH in WooCommerceConnector.capabilities
    assert Capability.ORDERS_WEBHOOK in WooCommerceConnector.capabilities
    assert WooCommerceConnector.stock_batch_size == 100


def test_rate_limit_defaults_to_five_and_must_be_positive():
    assert make_account().settings["rate_limit"] == 5.0
    assert make_account(rate_limit=0.5).settings["rate_limit"] == 0.5
    for bad in (0, -1, "fast"):
        with pytest.raises(ValidationError) as caught:
            make_account(rate_limit=bad)
        assert "rate_limit" in caught.value.normalized_messages()


def test_the_shared_limiter_follows_rate_limit():
    account = Account(
        name="woo-rate-test",
        connector="woocommerce",
        client="acme",
        settings=make_account(rate_limit=2).settings,
    )
    limiter = WooCommerceClient(account).http.limiter
    assert limiter is not None and limiter.rate == 2 and limiter.burst == 4


def test_api_base_replaces_the_store_url(rsps, clock):
    account = make_account(api_base="http://127.0.0.1:9300/woo/")
    client = WooCommerceClient(account, sleep=clock.sleep, limiter=None)
    rsps.get("http://127.0.0.1:9300/woo/wp-json/wc/v3/products", json=[])
    assert list(WooCommerceConnector(account, client=client).stock_items()) == []


# -- reading -----------------------------------------------------------------------------------


def test_stock_items_reads_every_page_and_the_variations(rsps, connector):
    pf, vf = stock.PRODUCT_FIELDS, stock.VARIATION_FIELDS
    list_page(rsps, "products", pf, 1, payload("products_page_1.json"), total=2)
    list_page(rsps, "products/799/variations", vf, 1, payload("variations_799.json"), total=1)
    list_page(rsps, "products", pf, 2, payload("products_page_2.json"), total=2)
    # no X-WP-TotalPages here: the reading goes on until an empty page
    list_page(rsps, "products/810/variations", vf, 1, payload("variations_810_page_1.json"), None)
    list_page(rsps, "products/810/variations", vf, 2, [], None)

    items = list(connector.stock_items())

    assert items == [
        ChannelItem(sku="WOO-TEE-BLK", item_id="794", quantity=12),
        ChannelItem(sku="WOO-MUG", item_id="795", quantity=None),  # stock not managed
        # 796 is external and 797 has no SKU: left out
        ChannelItem(sku="WOO-HOODIE", item_id="799", quantity=40),  # a variable product's pool
        ChannelItem(sku="WOO-HOODIE-S", item_id="801", parent_id="799", quantity=3),
        # sells from the parent's stock: the 40 shown is not its own level
        ChannelItem(sku="WOO-HOODIE-M", item_id="802", parent_id="799", quantity=None),
        # 803 shows the parent's SKU, i.e. it has none of its own: left out
        # page 2: 810 is variable without a SKU, 820 grouped: left out; each page's products
        # come before the variations of its variable products
        ChannelItem(sku="WOO-SOCKS", item_id="821", quantity=7),
        ChannelItem(sku="WOO-CAP-RED", item_id="811", parent_id="810", quantity=0),
        ChannelItem(sku="WOO-CAP-BLUE", item_id="812", parent_id="810", quantity=-2),
    ]
    assert all(call.request.headers["Authorization"] == BASIC for call in rsps.calls)


def test_a_store_that_ignores_page_does_not_loop_forever(rsps, connector):
    body = [{"id": 1, "sku": "A", "type": "simple", "manage_stock": True, "stock_quantity": 1}]
    rsps.get(f"{BASE}/products", json=body)
    rsps.get(f"{BASE}/products", json=body)
    with pytest.raises(PermanentError, match="repeats"):
        list(connector.stock_items())


def test_a_duplicate_sku_keeps_the_first_item(rsps, connector, caplog):
    body = [
        {"id": 1, "sku": "DUP", "type": "simple", "manage_stock": True, "stock_quantity": 1},
        {"id": 2, "sku": "DUP", "type": "simple", "manage_stock": True, "stock_quantity": 2},
        {"id": "x", "sku": "BAD", "type": "simple"},
    ]
    list_page(rsps, "products", stock.PRODUCT_FIELDS, 1, body, total=1)
    assert list(connector.stock_items()) == [ChannelItem(sku="DUP", item_id="1", quantity=1)]
    assert "DUP" in caplog.text and "products[2]" in caplog.text


def test_reading_with_refused_keys_is_an_auth_error(rsps, connector):
    rsps.get(f"{BASE}/products", json=payload("error_401.json"), status=401)
    with pytest.raises(AuthError) as caught:
        list(connector.stock_items())
    assert KEY not in caught.value.message and SECRET not in caught.value.message


def test_an_answer_that_is_not_json_is_retryable(rsps, connector):
    rsps.get(f"{BASE}/products", body="<html>Just a moment...</html>", status=200)
    with pytest.raises(RetryableError, match="not JSON"):
        list(connector.stock_items())


# -- pushing -----------------------------------------------------------------------------------


def test_one_hundred_products_go_in_one_batch_call(rsps, connector):
    updates = [update(f"SKU-{n:03d}", 1000 + n, n) for n in range(100)]
    template = payload("batch_products_answer.json")["update"][0]
    answer = {"update": []}
    for n in range(100):
        entry = copy.deepcopy(template)
        entry.update(id=1000 + n, sku=f"SKU-{n:03d}", stock_quantity=n)
        answer["update"].append(entry)
    expected_body = {
        "update": [{"id": 1000 + n, "manage_stock": True, "stock_quantity": n} for n in range(100)]
    }
    rsps.post(
        f"{BASE}/products/batch", json=answer, match=[matchers.json_params_matcher(expected_body)]
    )

    outcomes = connector.push_stock(updates, "key-1")

    assert len(rsps.calls) == 1
    assert sent_json(rsps.calls[0]) == expected_body
    assert rsps.calls[0].request.headers["Authorization"] == BASIC
    assert outcomes == [StockOutcome(sku=f"SKU-{n:03d}", ok=True, quantity=n) for n in range(100)]


def test_variations_go_to_their_parent_one_call_per_parent(rsps, connector):
    updates = [
        update("WOO-CAP-RED", 811, 6, parent=810),
        update("WOO-TEE-BLK", 794, 9),
        update("WOO-HOODIE-S", 801, 5, parent=799),
        update("WOO-CAP-BLUE", 812, 0, parent=810),
        update("WOO-SOCKS", 821, 0),
    ]
    rsps.post(
        f"{BASE}/products/810/variations/batch",
        json=payload("batch_variations_810_answer.json"),
        match=[
            matchers.json_params_matcher(
                {
                    "update": [
                        {"id": 811, "manage_stock": True, "stock_quantity": 6},
                        {"id": 812, "manage_stock": True, "stock_quantity": 0},
                    ]
                }
            )
        ],
    )
    rsps.post(
        f"{BASE}/products/batch",
        json=payload("batch_products_answer.json"),
        match=[
            matchers.json_params_matcher(
                {
                    "update": [
                        {"id": 794, "manage_stock": True, "stock_quantity": 9},
                        {"id": 821, "manage_stock": True, "stock_quantity": 0},
                    ]
                }
            )
        ],
    )
    rsps.post(
        f"{BASE}/products/799/variations/batch",
        json=payload("batch_variations_799_answer.json"),
        match=[
            matchers.json_params_matcher(
                {"update": [{"id": 801, "manage_stock": True, "stock_quantity": 5}]}
            )
        ],
    )

    outcomes = connector.push_stock(updates, "key-2")

    assert len(rsps.calls) == 3
    assert outcomes == [
        StockOutcome(sku="WOO-CAP-RED", ok=True, quantity=6),
        StockOutcome(sku="WOO-TEE-BLK", ok=True, quantity=9),
        StockOutcome(sku="WOO-HOODIE-S", ok=True, quantity=5),
        StockOutcome(sku="WOO-CAP-BLUE", ok=True, quantity=0),
        StockOutcome(sku="WOO-SOCKS", ok=True, quantity=0),
    ]


def test_an_item_refused_inside_the_answer_is_mapped_to_its_sku(rsps, connector):
    rsps.post(f"{BASE}/products/batch", json=payload("batch_products_answer_with_error.json"))
    outcomes = connector.push_stock([update("WOO-TEE-BLK", 794, 9), update("GONE", 9999, 3)], "k")
    assert outcomes == [
        StockOutcome(sku="WOO-TEE-BLK", ok=True, quantity=9),
        StockOutcome(
            sku="GONE", ok=False, error="woocommerce_rest_product_invalid_id: Invalid ID."
        ),
    ]


def test_an_item_missing_from_the_answer_or_left_unmanaged_fails(rsps, connector):
    entry = payload("batch_products_answer.json")["update"][0]
    unmanaged = {**entry, "id": 795, "manage_stock": False, "stock_quantity": None}
    rsps.post(f"{BASE}/products/batch", json={"update": [entry, unmanaged]})
    outcomes = connector.push_stock(
        [update("WOO-TEE-BLK", 794, 9), update("WOO-MUG", 795, 2), update("LOST", 796, 1)], "k"
    )
    assert outcomes[0] == StockOutcome(sku="WOO-TEE-BLK", ok=True, quantity=9)
    assert not outcomes[1].ok and "manage_stock=False" in (outcomes[1].error or "")
    assert not outcomes[2].ok and "no entry for id 796" in (outcomes[2].error or "")


def test_an_item_without_a_woocommerce_id_is_refused_without_a_call(rsps, connector):
    bad = StockUpdate(ChannelItem(sku="ODD", item_id="gid://shopify/InventoryItem/1"), 1)
    outcomes = connector.push_stock([bad], "k")
    assert len(rsps.calls) == 0
    assert outcomes[0].sku == "ODD" and not outcomes[0].ok


def test_nothing_to_push_makes_no_call(rsps, connector):
    assert connector.push_stock([], "k") == []


def test_more_than_the_batch_limit_is_refused(connector):
    with pytest.raises(ValueError, match="at most 100"):
        connector.push_stock([update(f"S{n}", n + 1, 1) for n in range(101)], "k")


def test_429_waits_as_told_then_succeeds(rsps, connector, clock):
    rsps.post(
        f"{BASE}/products/batch", body="Too Many Requests", status=429, headers={"Retry-After": "7"}
    )
    rsps.post(f"{BASE}/products/batch", json=payload("batch_products_answer.json"))
    outcomes = connector.push_stock(
        [update("WOO-TEE-BLK", 794, 9), update("WOO-SOCKS", 821, 0)], "k"
    )
    assert len(rsps.calls) == 2
    assert sent_json(rsps.calls[0]) == sent_json(rsps.calls[1])
    assert clock.sleeps == [7.0]  # the wait the store asked for, and no real one
    assert [o.ok for o in outcomes] == [True, True]


def test_a_server_error_is_retried_because_the_batch_sets_absolute_levels(rsps, connector, clock):
    rsps.post(f"{BASE}/products/batch", body="Bad gateway", status=502)
    rsps.post(f"{BASE}/products/batch", json=payload("batch_products_answer.json"))
    outcomes = connector.push_stock(
        [update("WOO-TEE-BLK", 794, 9), update("WOO-SOCKS", 821, 0)], "k"
    )
    assert len(rsps.calls) == 2 and len(clock.sleeps) == 1
    assert [o.ok for o in outcomes] == [True, True]


def test_413_is_a_permanent_error(rsps, connector):
    rsps.post(f"{BASE}/products/batch", json=payload("error_413.json"), status=413)
    with pytest.raises(PermanentError) as caught:
        connector.push_stock([update("WOO-TEE-BLK", 794, 9)], "k")
    assert "413" in caught.value.message
    assert "woocommerce_rest_request_entity_too_large" in caught.value.message


def test_401_is_an_auth_error(rsps, connector):
    rsps.post(f"{BASE}/products/batch", json=payload("error_401.json"), status=401)
    with pytest.raises(AuthError):
        connector.push_stock([update("WOO-TEE-BLK", 794, 9)], "k")


def test_a_batch_answer_without_an_update_list_is_a_permanent_error(rsps, connector):
    rsps.post(f"{BASE}/products/batch", json={"create": []})
    with pytest.raises(PermanentError, match="products/batch"):
        connector.push_stock([update("WOO-TEE-BLK", 794, 9)], "k")


# -- the pure parts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("manage_stock", "quantity", "level"),
    [
        (True, 5, 5),
        (True, 0, 0),
        (True, -3, -3),
        (True, None, None),
        (False, 5, None),
        ("parent", 5, None),
        (True, "8", 8),
        (True, 2.5, None),
        (True, True, None),
    ],
)
def test_a_level_is_read_only_where_the_item_manages_its_own_stock(manage_stock, quantity, level):
    page = [
        {
            "id": 5,
            "sku": "A",
            "type": "simple",
            "manage_stock": manage_stock,
            "stock_quantity": quantity,
        }
    ]
    assert stock.read_products(page).items == [ChannelItem(sku="A", item_id="5", quantity=level)]


def test_plan_groups_by_endpoint_in_first_seen_order():
    updates = [
        update("V1", 11, 1, parent=10),
        update("P1", 1, 1),
        update("V2", 12, 1, parent=10),
        update("P2", 2, 1),
    ]
    calls, refused = stock.plan(updates)
    assert refused == {}
    assert calls == [
        stock.BatchCall("products/10/variations/batch", (0, 2)),
        stock.BatchCall("products/batch", (1, 3)),
    ]


@pytest.mark.parametrize("page", [{"id": 1}, None, "products"])
def test_a_page_that_is_not_a_list_is_a_permanent_error(page):
    with pytest.raises(PermanentError):
        stock.read_products(page)
