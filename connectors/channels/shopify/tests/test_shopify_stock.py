"""Shopify stock sync: reading levels (``stock_items``) and setting them (``push_stock``).

Answers are the hand-written files in ``payloads/stock/`` (see its README) served by
``responses``; no test reaches the network. Waits run on a fake clock, so nothing sleeps.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import responses
from marshmallow import ValidationError
from responses.registries import OrderedRegistry

from connectors.channels.shopify import ShopifyConnector, stock
from connectors.channels.shopify.client import ShopifyClient
from connectors.channels.shopify.settings import ShopifySettings
from hub.connectors import Account, Capability, ChannelItem, StockOutcome, StockUpdate
from hub.connectors.ratelimit import RateLimiter, limiter_for
from hub.errors import AuthError, PermanentError, RetryableError

PAYLOADS = Path(__file__).parent / "payloads" / "stock"
URL = "https://shop-a.myshopify.com/admin/api/2026-10/graphql.json"
LOCATION = "gid://shopify/Location/124656943"
KEY = "stock-sync:shop-a:2026-05-01T10:00:00Z:0"
PAGE_1_CURSOR = "eyJsYXN0X2lkIjo0MTAwMDAwNCwibGFzdF92YWx1ZSI6IjQxMDAwMDA0In0="


def answer(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


class FakeClock:
    """Monotonic time that moves only when something sleeps."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def account(name: str = "shop-a", **keys: Any) -> Account:
    settings = ShopifySettings().load(
        {
            "connector": "shopify",
            "shop": "shop-a.myshopify.com",
            "access_token": "shpat_test",
            "webhook_secret": "shop-a-secret",
            **keys,
        }
    )
    return Account(name=name, connector="shopify", client="acme", settings=settings)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def connector(clock: FakeClock, **keys: Any) -> ShopifyConnector:
    acct = account(**keys)
    limiter = RateLimiter(100, 1000, clock=clock.now, sleep=clock.sleep)
    return ShopifyConnector(acct, client=ShopifyClient(acct, limiter=limiter, sleep=clock.sleep))


@pytest.fixture
def api():
    with responses.RequestsMock(registry=OrderedRegistry) as mock:
        yield mock


def sent(api: responses.RequestsMock) -> list[dict[str, Any]]:
    return [json.loads(call.request.body) for call in api.calls]


def item(n: int, sku: str, location: str | None = LOCATION) -> ChannelItem:
    return ChannelItem(sku=sku, item_id=f"gid://shopify/InventoryItem/{n}", location_id=location)


# -- declarations -----------------------------------------------------------------------------


def test_shopify_declares_stock_push_and_a_batch_of_250():
    assert Capability.STOCK_PUSH in ShopifyConnector.capabilities
    assert Capability.ORDERS_WEBHOOK in ShopifyConnector.capabilities
    assert ShopifyConnector.stock_batch_size == 250


# -- reading ----------------------------------------------------------------------------------


def test_stock_items_reads_every_page_and_sends_the_cursor_back(api, clock, caplog):
    api.post(URL, json=answer("product_variants_page_1_response.json"))
    api.post(URL, json=answer("product_variants_page_2_response.json"))
    shop = connector(clock, location_id="124656943")

    with caplog.at_level(logging.WARNING):
        items = list(shop.stock_items())

    assert items == [
        ChannelItem("MUG-1", "gid://shopify/InventoryItem/43000001", LOCATION, quantity=7),
        ChannelItem("TEE-S", "gid://shopify/InventoryItem/43000003", LOCATION, quantity=None),
        ChannelItem("CAP-RED", "gid://shopify/InventoryItem/43000006", LOCATION, quantity=None),
        ChannelItem("POSTER-A2", "gid://shopify/InventoryItem/43000007", LOCATION, quantity=0),
    ]
    first, second = sent(api)
    assert first["query"] == stock.VARIANTS_QUERY
    assert first["variables"] == {"first": 250, "after": None, "locationId": LOCATION}
    assert second["variables"] == {"first": 250, "after": PAGE_1_CURSOR, "locationId": LOCATION}
    assert api.calls[0].request.headers["X-Shopify-Access-Token"] == "shpat_test"
    # the repeated SKU is named, with both variants, and the first one kept
    [warning] = [r for r in caplog.records if "MUG-1" in r.getMessage()]
    assert "41000001" in warning.getMessage() and "41000005" in warning.getMessage()


def test_stock_items_asks_for_the_primary_location_once(api, clock):
    api.post(URL, json=answer("location_primary_response.json"))
    api.post(URL, json=answer("product_variants_page_2_response.json"))
    api.post(URL, json=answer("inventory_set_quantities_ok_response.json"))
    shop = connector(clock)

    skus = [i.sku for i in shop.stock_items()]
    shop.push_stock([StockUpdate(item(43000006, "CAP-RED", location=None), 5)], KEY)

    assert skus == ["MUG-1", "CAP-RED", "POSTER-A2"]
    ask, page, push = sent(api)
    assert ask["query"] == stock.PRIMARY_LOCATION_QUERY
    assert "location {" in ask["query"] and "location(" not in ask["query"]
    assert page["variables"]["locationId"] == LOCATION
    # the primary location is remembered, and is where an item without one is set
    assert push["variables"]["input"]["quantities"][0]["locationId"] == LOCATION


def test_a_page_shopify_finds_too_dear_is_asked_again_smaller(api, clock):
    api.post(URL, json=answer("max_cost_exceeded_response.json"))
    api.post(URL, json=answer("product_variants_page_1_response.json"))
    api.post(URL, json=answer("product_variants_page_2_response.json"))
    shop = connector(clock, location_id=LOCATION)

    assert len(list(shop.stock_items())) == 4

    firsts = [body["variables"]["first"] for body in sent(api)]
    assert firsts == [250, 249, 249]  # 2 + 249 x 4 = 998 fits the 1000 limit


def test_other_graphql_errors_while_reading_are_permanent(api, clock):
    api.post(URL, json={"errors": [{"message": "Field 'x' doesn't exist"}]})
    with pytest.raises(PermanentError):
        list(connector(clock, location_id=LOCATION).stock_items())
    assert len(api.calls) == 1


# -- writing ----------------------------------------------------------------------------------


def test_push_stock_sets_250_items_in_one_compare_and_set_call(api, clock):
    api.post(URL, json=answer("inventory_set_quantities_ok_response.json"))
    updates = [
        StockUpdate(item(43000000 + n, f"SKU-{n}"), quantity=n, previous=None if n % 2 else n + 1)
        for n in range(250)
    ]

    outcomes = connector(clock).push_stock(updates, KEY)

    assert len(api.calls) == 1
    [body] = sent(api)
    assert body["query"] == stock.SET_QUANTITIES_MUTATION
    directive = "inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey)"
    assert directive in body["query"]
    assert "$idempotencyKey: String!" in body["query"]
    variables = body["variables"]
    assert variables["idempotencyKey"] == KEY
    assert variables["input"] == {
        "name": "available",
        "reason": "correction",
        "referenceDocumentUri": (
            "gid://fulfilment-hub/StockSync/stock-sync%3Ashop-a%3A2026-05-01T10%3A00%3A00Z%3A0"
        ),
        "quantities": [
            {
                "inventoryItemId": f"gid://shopify/InventoryItem/{43000000 + n}",
                "locationId": LOCATION,
                "quantity": n,
                "changeFromQuantity": None if n % 2 else n + 1,
            }
            for n in range(250)
        ],
    }
    # an unknown previous level is sent as an explicit null, never left out
    raw = api.calls[0].request.body.decode()
    assert raw.count('"changeFromQuantity": null') == 125
    assert outcomes == [StockOutcome(sku=f"SKU-{n}", ok=True, quantity=n) for n in range(250)]


def test_push_stock_refuses_more_than_250_updates_without_calling(api, clock):
    updates = [StockUpdate(item(n, f"SKU-{n}"), quantity=1) for n in range(251)]
    with pytest.raises(ValueError, match="250"):
        connector(clock).push_stock(updates, KEY)
    assert not api.calls


def test_push_stock_of_nothing_makes_no_call(api, clock):
    assert connector(clock).push_stock([], KEY) == []
    assert not api.calls


def test_a_stale_item_comes_back_with_the_level_shopify_shows(api, clock):
    api.post(URL, json=answer("inventory_set_quantities_user_errors_response.json"))
    api.post(URL, json=answer("inventory_levels_nodes_response.json"))
    updates = [
        StockUpdate(item(43000001, "MUG-1"), quantity=5, previous=7),
        StockUpdate(item(43000003, "TEE-S"), quantity=9, previous=2),
        StockUpdate(item(43000006, "CAP-RED"), quantity=4, previous=None),
    ]

    outcomes = connector(clock).push_stock(updates, KEY)

    mug, tee, cap = outcomes
    assert tee == StockOutcome(
        sku="TEE-S",
        ok=False,
        stale=True,
        quantity=4,
        error="CHANGE_FROM_QUANTITY_STALE: The changeFromQuantity value does not match "
        "persisted value.",
    )
    assert cap.sku == "CAP-RED" and not cap.ok and not cap.stale
    assert cap.error is not None and cap.error.startswith("ITEM_NOT_STOCKED_AT_LOCATION: ")
    # Shopify made no adjustment group: the item it did not object to was not set either
    assert mug.sku == "MUG-1" and not mug.ok and not mug.stale and "not applied" in mug.error
    _, read_back = sent(api)
    assert read_back["query"] == stock.LEVELS_QUERY
    assert read_back["variables"] == {
        "ids": ["gid://shopify/InventoryItem/43000003"],
        "locationId": LOCATION,
    }


def test_an_unreadable_stale_level_leaves_the_outcomes_standing(api, clock):
    api.post(URL, json=answer("inventory_set_quantities_user_errors_response.json"))
    api.post(URL, json={"errors": [{"message": "Internal error", "extensions": {"code": "X"}}]})
    updates = [
        StockUpdate(item(43000001, "MUG-1"), quantity=5, previous=7),
        StockUpdate(item(43000003, "TEE-S"), quantity=9, previous=2),
        StockUpdate(item(43000006, "CAP-RED"), quantity=4),
    ]

    _, tee, _ = connector(clock).push_stock(updates, KEY)

    assert tee.stale and tee.quantity is None and not tee.ok


def test_errors_are_matched_to_updates_by_their_index_not_their_order(api, clock):
    body = answer("inventory_set_quantities_user_errors_response.json")
    errors = body["data"]["inventorySetQuantities"]["userErrors"]
    errors.reverse()
    errors[0]["field"] = ["input", "quantities", "0", "inventoryItemId"]  # was index 2
    body["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"] = {"id": "gid://x/1"}
    api.post(URL, json=body)
    api.post(URL, json=answer("inventory_levels_nodes_response.json"))
    updates = [
        StockUpdate(item(43000006, "CAP-RED"), quantity=4),
        StockUpdate(item(43000003, "TEE-S"), quantity=9, previous=2),
        StockUpdate(item(43000001, "MUG-1"), quantity=5, previous=7),
    ]

    cap, tee, mug = connector(clock).push_stock(updates, KEY)

    assert cap.error.startswith("ITEM_NOT_STOCKED_AT_LOCATION")
    assert tee.stale and tee.quantity == 4
    # an adjustment group came back: Shopify set the item it did not object to
    assert mug == StockOutcome(sku="MUG-1", ok=True, quantity=5)


def test_a_refusal_of_the_whole_call_raises(api, clock):
    api.post(URL, json=answer("inventory_set_quantities_idempotency_failed_response.json"))
    with pytest.raises(PermanentError) as caught:
        connector(clock).push_stock([StockUpdate(item(43000001, "MUG-1"), 5, 7)], KEY)
    assert "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED" in caught.value.message
    assert caught.value.details["user_errors"][0]["code"] == "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"


def test_a_call_still_in_progress_under_the_same_key_is_retryable(api, clock):
    body = answer("inventory_set_quantities_idempotency_failed_response.json")
    body["data"]["inventorySetQuantities"]["userErrors"] = [
        {
            "code": "IDEMPOTENCY_CONCURRENT_REQUEST",
            "field": None,
            "message": "This request is currently in progress, please try again.",
        }
    ]
    api.post(URL, json=body)
    with pytest.raises(RetryableError) as caught:
        connector(clock).push_stock([StockUpdate(item(43000001, "MUG-1"), 5, 7)], KEY)
    assert caught.value.retry_after == stock.CONCURRENT_RETRY_AFTER


def test_throttled_then_success_resends_the_same_call_after_the_wait(api, clock):
    api.post(URL, json=answer("graphql_throttled_response.json"))
    api.post(URL, json=answer("inventory_set_quantities_ok_response.json"))
    update = StockUpdate(item(43000001, "MUG-1"), quantity=5, previous=7)

    outcomes = connector(clock).push_stock([update], KEY)

    assert outcomes == [StockOutcome(sku="MUG-1", ok=True, quantity=5)]
    first, again = sent(api)
    assert again == first  # same variables, same idempotency key
    # (752 requested - 666 available) / 50 restored per second
    assert clock.sleeps and clock.sleeps[0] == pytest.approx(1.72)


def test_a_refused_token_is_an_auth_error_and_is_not_retried(api, clock):
    api.post(URL, status=401, json={"errors": "[API] Invalid API key or access token"})
    with pytest.raises(AuthError):
        connector(clock).push_stock([StockUpdate(item(43000001, "MUG-1"), 5, 7)], KEY)
    assert len(api.calls) == 1


# -- the client and the settings ----------------------------------------------------------------


def test_the_default_client_uses_api_base_the_version_and_a_shared_limiter(api):
    acct = account(
        name="shop-limiter-test",
        api_base="http://localhost:8123/",
        api_version="2026-04",
        graphql_rate=200,
    )
    client = ShopifyConnector(acct).client
    assert client.http.base_url == "http://localhost:8123/admin/api/2026-04/graphql.json"
    assert client.http.limiter is limiter_for("shopify:shop-limiter-test", 1, 1)
    assert client.http.limiter.rate == 200


def test_settings_defaults():
    settings = account().settings
    assert settings["api_version"] == "2026-10"
    assert settings["location_id"] is None
    assert settings["graphql_rate"] == 100


@pytest.mark.parametrize(
    "value", [124656943, "124656943", " 124656943 ", "gid://shopify/Location/124656943"]
)
def test_location_id_loads_as_a_gid(value):
    assert account(location_id=value).settings["location_id"] == LOCATION


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("location_id", "main warehouse"),
        ("location_id", "gid://shopify/InventoryItem/1"),
        ("location_id", 0),
        ("location_id", True),
        ("location_id", 1.5),
        ("api_version", "2025-10"),  # no changeFromQuantity / @idempotent yet
        ("api_version", "2026-4"),
        ("api_version", "latest"),
        ("graphql_rate", 0),
    ],
)
def test_bad_stock_settings_are_refused_by_name(key, value):
    with pytest.raises(ValidationError) as caught:
        account(**{key: value})
    assert key in caught.value.normalized_messages()


# -- the pure parts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "index"),
    [
        (["input", "quantities", "3", "changeFromQuantity"], 3),
        (["input", "quantities", 3, "quantity"], 3),
        (["quantities", "0"], 0),
        (["input", "quantities", "9"], None),  # out of range for 5 quantities
        (["input", "quantities"], None),
        (["input", "reason"], None),
        (None, None),
    ],
)
def test_quantity_index_reads_the_field_path(path, index):
    assert stock.quantity_index(path, 5) == index


def test_smaller_page_fits_the_maximum_cost():
    assert stock.smaller_page(250, {"cost": 1002, "maxCost": 1000}) == 249
    assert stock.smaller_page(250, {"cost": 2003, "maxCost": 1000}) == 124
    assert stock.smaller_page(1, {"cost": 1002, "maxCost": 1000}) is None
    assert stock.smaller_page(250, {}) is None


def test_the_documents_use_the_documented_names():
    mutation = stock.SET_QUANTITIES_MUTATION
    assert "userErrors {\n      code\n      field\n      message" in mutation
    assert 'quantities(names: ["available"])' in stock.VARIANTS_QUERY
    assert "inventoryLevel(locationId: $locationId)" in stock.LEVELS_QUERY
    assert "nodes(ids: $ids)" in stock.LEVELS_QUERY
