"""Stock sync to a sales channel, end to end on a real database: the WooCommerce connector
talks to a store faked with ``responses`` that keeps the levels it is sent.

Covered: the first pass maps the store's items, a second pushes nothing; only changed SKUs
go; batches of exactly the API's size; sell-outs first and at once; 429 with Retry-After then
success; per-item refusals; drift found and fixed; buffers, shares and locations; one pass per
account at a time; ``hub stock sync`` and ``/api/stock/sync``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from click.testing import CliRunner
from sqlalchemy import select

from connectors.channels.woocommerce import WooCommerceConnector
from connectors.channels.woocommerce.client import WooCommerceClient
from hub import cli
from hub.errors import RetryableError
from hub.jobs import scheduler
from hub.jobs.worker import HANDLERS
from hub.runtime import Hub
from hub.stock import changes, ledger, sync
from hub.storage.models import ChannelItemRow, JobRow
from hub.values import now
from hub.web.app import create_app
from tests.conftest import ACCOUNTS

STORE = "https://woo-a.example/wp-json/wc/v3"
STORE_B = "https://woo-b.example/wp-json/wc/v3"


@pytest.fixture
def accounts_file(tmp_path: Path) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(
        ACCOUNTS
        + """
[accounts.woo-b]
connector = "woocommerce"
client = "acme"
url = "https://woo-b.example"
webhook_secret = "woo-b-secret"
consumer_key = "ck_b"
consumer_secret = "cs_b"
stock_locations = ["A1"]
stock_buffer = 1
stock_buffers = { "SKU-0001" = 3 }
stock_share = 0.5
"""
    )
    return path


class FakeStore:
    """A WooCommerce store: simple products ``SKU-0000``... with the levels it was last sent."""

    def __init__(self, rsps: responses.RequestsMock, base: str, count: int, level: int = 0):
        self.levels = {f"SKU-{i:04d}": level for i in range(count)}
        self.ids = {sku: str(100 + i) for i, sku in enumerate(self.levels)}
        self.batches: list[list[dict]] = []
        self.refuse: set[str] = set()
        self.throttle = 0  # answer this many batch calls with 429 first
        rsps.add_callback(responses.GET, f"{base}/products", callback=self._list)
        rsps.add_callback(responses.POST, f"{base}/products/batch", callback=self._batch)

    def _list(self, request):
        query = parse_qs(urlsplit(request.url).query)
        page, per_page = int(query["page"][0]), int(query["per_page"][0])
        skus = list(self.levels)
        pages = max(1, math.ceil(len(skus) / per_page))
        chunk = skus[(page - 1) * per_page : page * per_page]
        body = [
            {
                "id": int(self.ids[s]),
                "sku": s,
                "type": "simple",
                "manage_stock": True,
                "stock_quantity": self.levels[s],
            }
            for s in chunk
        ]
        return 200, {"X-WP-TotalPages": str(pages)}, json.dumps(body)

    def _batch(self, request):
        if self.throttle:
            self.throttle -= 1
            return 429, {"Retry-After": "7"}, json.dumps({"code": "too_many_requests"})
        updates = json.loads(request.body)["update"]
        self.batches.append(updates)
        by_id = {v: k for k, v in self.ids.items()}
        answer = []
        for u in updates:
            sku = by_id[str(u["id"])]
            if sku in self.refuse:
                answer.append(
                    {
                        "id": u["id"],
                        "error": {"code": "woocommerce_rest_invalid", "message": "locked"},
                    }
                )
                continue
            self.levels[sku] = u["stock_quantity"]
            answer.append(
                {
                    "id": u["id"],
                    "sku": sku,
                    "manage_stock": True,
                    "stock_quantity": self.levels[sku],
                }
            )
        return 200, {}, json.dumps({"update": answer})

    def pushed(self) -> list[tuple[str, int]]:
        by_id = {v: k for k, v in self.ids.items()}
        return [(by_id[str(u["id"])], u["stock_quantity"]) for b in self.batches for u in b]


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps(hub) -> list[float]:
    """Waits the WooCommerce clients were asked for, on a fake clock (no real sleeping)."""
    waited: list[float] = []
    for name in ("woo-a", "woo-b"):
        account = hub.accounts[name]
        client = WooCommerceClient(account, sleep=waited.append, limiter=None)
        hub._connectors[name] = WooCommerceConnector(account, client=client)
    return waited


def _stock(hub, levels: dict[str, int], location: str = "A1") -> None:
    with hub.db.transaction() as s:
        for sku, n in levels.items():
            ledger.set_on_hand(s, "acme", sku, location, n, reason="count", actor="test")


def _sync(hub, name: str = "woo-a", mode: str = "delta") -> sync.Report:
    return sync.sync_account(hub, hub.accounts[name], mode)


def test_first_pass_maps_the_store_and_a_second_pushes_nothing(hub, rsps, sleeps):
    store = FakeStore(rsps, STORE, 5, level=9)
    _stock(hub, {"SKU-0000": 4, "SKU-0001": 9, "SKU-0002": 0})
    report = _sync(hub)
    assert report.new_items == 5
    # SKU-0001 shows 9 already; the others differ (no stock in the hub means 0 to sell)
    assert sorted(store.pushed()) == [
        ("SKU-0000", 4),
        ("SKU-0002", 0),
        ("SKU-0003", 0),
        ("SKU-0004", 0),
    ]
    assert report.calls == 1 and report.confirmed == 4
    again = _sync(hub)
    assert again.calls == 0 and again.checked == 5
    assert len(store.batches) == 1


def test_only_changed_skus_are_pushed_and_sold_out_goes_first(hub, rsps, sleeps):
    store = FakeStore(rsps, STORE, 300)
    _stock(hub, {f"SKU-{i:04d}": 5 for i in range(300)})
    _sync(hub)
    store.batches.clear()
    _stock(hub, {"SKU-0007": 6, "SKU-0250": 0, "SKU-0100": 2, "SKU-0101": 0})
    report = _sync(hub, mode="dirty")
    assert report.checked == 4
    assert store.pushed() == [("SKU-0101", 0), ("SKU-0250", 0), ("SKU-0007", 6), ("SKU-0100", 2)]


@pytest.mark.parametrize("changed, calls", [(100, 1), (101, 2), (250, 3)])
def test_batches_are_the_api_size_and_no_more_calls_than_needed(hub, rsps, sleeps, changed, calls):
    store = FakeStore(rsps, STORE, 250)
    _stock(hub, {f"SKU-{i:04d}": 1 for i in range(250)})
    _sync(hub)
    store.batches.clear()
    _stock(hub, {f"SKU-{i:04d}": 2 for i in range(changed)})
    report = _sync(hub)
    assert report.calls == calls == len(store.batches)
    assert [len(b) for b in store.batches] == [100] * (changed // 100) + (
        [changed % 100] if changed % 100 else []
    )


def test_a_stock_change_queues_a_gathered_pass_and_a_sell_out_goes_at_once(
    hub, rsps, sleeps, worker
):
    store = FakeStore(rsps, STORE, 3)
    _stock(hub, {"SKU-0000": 2, "SKU-0001": 2})
    _sync(hub)
    store.batches.clear()
    changed = now()
    _stock(hub, {"SKU-0000": 3})  # more stock: waits for the gathering window
    with hub.db.transaction() as s:
        jobs = s.execute(select(JobRow).where(JobRow.kind == sync.SYNC)).scalars().all()
        assert [j.payload for j in jobs] == [{"account": "woo-a", "mode": "dirty"}]
        assert jobs[0].run_at > changed  # the end of the window the change fell in
        dirty = s.execute(
            select(ChannelItemRow.sku).where(ChannelItemRow.dirty.is_(True))
        ).scalars()
        assert sorted(dirty) == ["SKU-0000"]
    worker.drain()
    assert store.batches == []  # not due yet
    _stock(hub, {"SKU-0001": 0})  # sold out: due now
    worker.drain()
    # the immediate pass took every marked SKU, the sell-out first
    assert store.pushed() == [("SKU-0001", 0), ("SKU-0000", 3)]


def test_429_with_retry_after_is_waited_out_and_nothing_is_lost(hub, rsps, sleeps):
    store = FakeStore(rsps, STORE, 2)
    _stock(hub, {"SKU-0000": 1, "SKU-0001": 1})
    store.throttle = 1
    report = _sync(hub)
    assert 7 in sleeps  # what the store asked for
    assert report.calls == 1 and sorted(store.pushed()) == [("SKU-0000", 1), ("SKU-0001", 1)]


def test_a_store_that_keeps_refusing_leaves_the_changes_due(hub, rsps, sleeps):
    store = FakeStore(rsps, STORE, 2)
    _stock(hub, {"SKU-0000": 1})
    _sync(hub)
    _stock(hub, {"SKU-0000": 4})
    store.throttle = 99
    with pytest.raises(RetryableError):
        _sync(hub, mode="dirty")
    with hub.db.transaction() as s:
        row = s.get(ChannelItemRow, ("woo-a", "SKU-0000"))
        assert row.dirty and row.confirmed == 1
        assert sync.last_sync(s, "woo-a")["failed"].startswith("RetryableError")
    store.throttle = 0
    _sync(hub, mode="dirty")
    assert store.levels["SKU-0000"] == 4


def test_a_refused_item_keeps_its_error_and_is_tried_again_later(hub, rsps, sleeps):
    store = FakeStore(rsps, STORE, 2)
    store.refuse = {"SKU-0001"}
    _stock(hub, {"SKU-0000": 2, "SKU-0001": 2})
    report = _sync(hub)
    assert report.errors == [{"sku": "SKU-0001", "error": "woocommerce_rest_invalid: locked"}]
    with hub.db.transaction() as s:
        row = s.get(ChannelItemRow, ("woo-a", "SKU-0001"))
        assert row.last_error == "woocommerce_rest_invalid: locked" and row.confirmed == 0
    store.refuse = set()
    _sync(hub)
    assert store.levels["SKU-0001"] == 2


def test_drift_on_the_channel_is_found_and_fixed(hub, rsps, sleeps):
    store = FakeStore(rsps, STORE, 3)
    _stock(hub, {"SKU-0000": 5, "SKU-0001": 5, "SKU-0002": 5})
    _sync(hub)
    store.levels["SKU-0001"] = 50  # someone edited the store by hand
    assert _sync(hub).calls == 0  # a delta pass trusts what was confirmed
    report = _sync(hub, mode="full")
    assert report.drift == [{"sku": "SKU-0001", "channel": 50, "hub": 5}]
    assert store.levels["SKU-0001"] == 5


def test_buffers_share_and_locations_shape_what_each_channel_may_sell(hub, rsps, sleeps):
    FakeStore(rsps, STORE, 3)
    store_b = FakeStore(rsps, STORE_B, 3)
    _stock(hub, {"SKU-0000": 10, "SKU-0001": 10})
    _stock(hub, {"SKU-0000": 100}, location="B9")  # not one of woo-b's locations
    _sync(hub, "woo-b")
    # woo-b: half of A1 (5), less a buffer of 1, or 3 for SKU-0001; SKU-0002 shows 0 already
    assert sorted(store_b.pushed()) == [("SKU-0000", 4), ("SKU-0001", 2)]


def test_one_pass_per_account_at_a_time(hub, rsps, sleeps):
    store = FakeStore(rsps, STORE, 2)
    _stock(hub, {"SKU-0000": 1})
    account = hub.accounts["woo-a"]
    assert sync._claim(hub, account, "someone-else")
    report = _sync(hub)
    assert report.skipped and store.batches == []
    sync._claim(hub, account, "someone-else", release=True)
    assert _sync(hub).calls == 1


def test_hub_stock_sync_by_hand(hub, rsps, monkeypatch, accounts_file, database_url):
    store = FakeStore(rsps, STORE, 3)
    FakeStore(rsps, STORE_B, 3)
    _stock(hub, {"SKU-0000": 8})
    monkeypatch.setenv("HUB_DATABASE_URL", database_url)
    monkeypatch.setenv("HUB_CONFIG", str(accounts_file))
    result = CliRunner().invoke(cli.cli, ["stock", "sync", "--account", "woo-a"])
    assert result.exit_code == 0, result.output
    assert "woo-a: 3 SKUs checked, 1 pushed in 1 call(s), 0 refused, 0 drifted, 3 new" in (
        result.output
    )
    assert store.levels["SKU-0000"] == 8
    result = CliRunner().invoke(cli.cli, ["stock", "sync", "--account", "nope"])
    assert result.exit_code != 0 and "not a channel account with stock push: nope" in result.output


def test_the_api_shows_each_accounts_last_pass_and_queues_one(
    hub, rsps, sleeps, client, viewer, editor
):
    FakeStore(rsps, STORE, 2)
    _stock(hub, {"SKU-0000": 3})
    _sync(hub)
    items = {i["account"]: i for i in client.get("/api/stock/sync", headers=viewer).json["items"]}
    assert items["woo-a"]["items"] == 2 and items["woo-a"]["changed"] == 0
    assert items["woo-a"]["last_sync"]["pushed"] == 1  # SKU-0001 shows 0 already
    assert items["woo-b"]["last_sync"] is None
    got = client.get("/api/stock/available?account=woo-a&sku=SKU-0000", headers=viewer).json
    assert got["items"] == [
        {
            "sku": "SKU-0000",
            "available_to_sell": 3,
            "channel": {
                "confirmed": 3,
                "confirmed_at": got["items"][0]["channel"]["confirmed_at"],
                "pending": False,
                "last_error": None,
            },
        }
    ]
    assert client.post("/api/stock/sync", json={}, headers=viewer).status_code == 403
    answer = client.post("/api/stock/sync", json={"account": "woo-a"}, headers=editor)
    assert answer.status_code == 202
    assert answer.json == {"queued": ["woo-a"], "mode": "delta", "skipped": []}
    bad = client.post("/api/stock/sync", json={"mode": "sometimes"}, headers=editor)
    assert bad.status_code == 400 and bad.json["error"]["details"]["field"] == "mode"
    assert bad.json["error"]["message"] == "mode: must be delta or full"


def test_accounts_left_out_of_stock_sync_say_why(hub, client, editor, monkeypatch, tmp_path):
    config = tmp_path / "quiet.toml"
    config.write_text(
        ACCOUNTS.replace(
            'access_token = "shpat_test"', 'access_token = "shpat_test"\napi_calls = false'
        )
        + '\n[accounts.woo-b]\nconnector = "woocommerce"\nclient = "acme"\n'
        + 'url = "https://woo-b.example"\nwebhook_secret = "s"\nconsumer_key = "k"\n'
        + 'consumer_secret = "c"\nstock_sync = false\n'
    )
    monkeypatch.setenv("HUB_DATABASE_URL", hub.settings.database_url)
    monkeypatch.setenv("HUB_CONFIG", str(config))
    named = CliRunner().invoke(cli.cli, ["stock", "sync", "--account", "shop-a"])
    assert named.exit_code == 1
    assert "shop-a: not synced: api_calls = false in its account settings" in named.output
    quiet = Hub.from_env()
    try:
        assert changes.not_pushed(quiet) == {
            "shop-a": "api_calls = false in its account settings: the hub never calls it",
            "woo-b": "stock_sync = false in its account settings",
        }
        api = create_app(hub=quiet, upgrade=False).test_client()
        refused = api.post("/api/stock/sync", json={"account": "woo-b"}, headers=editor)
        assert refused.status_code == 409
        assert refused.json["error"]["details"] == {
            "account": "woo-b",
            "reason": "stock_sync = false in its account settings",
        }
        every = api.post("/api/stock/sync", json={}, headers=editor)
        assert every.status_code == 202 and every.json["queued"] == ["woo-a"]
        assert [s["account"] for s in every.json["skipped"]] == ["shop-a", "woo-b"]
    finally:
        quiet.close()


SHOP = "https://shop-a.myshopify.com/admin/api/2026-10/graphql.json"
LOCATION = "gid://shopify/Location/1"


class FakeShop:
    """A Shopify shop's GraphQL Admin API with compare-and-set: a quantity whose
    ``changeFromQuantity`` is not the shop's level refuses the whole call."""

    def __init__(self, rsps: responses.RequestsMock, count: int, level: int = 0):
        self.levels = {f"SKU-{i:04d}": level for i in range(count)}
        self.items = {f"gid://shopify/InventoryItem/{i + 1}": s for i, s in enumerate(self.levels)}
        self.sets: list[list[dict]] = []
        self.keys: list[str] = []
        rsps.add_callback(responses.POST, SHOP, callback=self._graphql)

    def _answer(self, data: dict) -> tuple[int, dict, str]:
        cost = {"requestedQueryCost": 10, "actualQueryCost": 10}
        cost["throttleStatus"] = {
            "maximumAvailable": 2000.0,
            "currentlyAvailable": 1990.0,
            "restoreRate": 100.0,
        }
        return 200, {}, json.dumps({"data": data, "extensions": {"cost": cost}})

    def _level(self, gid: str) -> dict:
        quantity = self.levels[self.items[gid]]
        return {"quantities": [{"name": "available", "quantity": quantity}]}

    def _graphql(self, request):
        body = json.loads(request.body)
        query, variables = body["query"], body["variables"]
        if "location {" in query:
            return self._answer({"location": {"id": LOCATION, "name": "Shop location"}})
        if "productVariants" in query:
            nodes = [
                {
                    "id": f"gid://shopify/ProductVariant/{gid.rsplit('/', 1)[1]}",
                    "sku": sku,
                    "inventoryItem": {
                        "id": gid,
                        "tracked": True,
                        "inventoryLevel": self._level(gid),
                    },
                }
                for gid, sku in self.items.items()
            ]
            page = {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}}
            return self._answer({"productVariants": page})
        if "nodes(ids" in query:
            nodes = [{"id": g, "inventoryLevel": self._level(g)} for g in variables["ids"]]
            return self._answer({"nodes": nodes})
        quantities = variables["input"]["quantities"]
        self.keys.append(variables["idempotencyKey"])
        self.sets.append(quantities)
        errors = [
            {
                "code": "CHANGE_FROM_QUANTITY_STALE",
                "field": ["input", "quantities", str(i), "changeFromQuantity"],
                "message": "The quantity has changed since it was read.",
            }
            for i, q in enumerate(quantities)
            if q["changeFromQuantity"] is not None
            and q["changeFromQuantity"] != self.levels[self.items[q["inventoryItemId"]]]
        ]
        if errors:  # all or nothing
            result = {"inventoryAdjustmentGroup": None, "userErrors": errors}
        else:
            for q in quantities:
                self.levels[self.items[q["inventoryItemId"]]] = q["quantity"]
            result = {"inventoryAdjustmentGroup": {"id": "gid://shopify/Group/1"}, "userErrors": []}
        return self._answer({"inventorySetQuantities": result})


def test_shopify_compare_and_set_lowers_but_never_raises_over_a_sale_in_flight(hub, rsps, sleeps):
    shop = FakeShop(rsps, 3)
    _stock(hub, {"SKU-0000": 5, "SKU-0001": 5, "SKU-0002": 5})
    _sync(hub, "shop-a")
    assert shop.levels == {"SKU-0000": 5, "SKU-0001": 5, "SKU-0002": 5}
    assert all(q["changeFromQuantity"] == 0 for q in shop.sets[0])
    # two sales on the shop the hub has not heard of yet, then stock changes in the hub
    shop.levels["SKU-0000"] = 4
    shop.levels["SKU-0001"] = 4
    shop.sets.clear()
    _stock(hub, {"SKU-0000": 7, "SKU-0001": 2, "SKU-0002": 6})
    report = _sync(hub, "shop-a", mode="dirty")
    # the first call is refused whole over the two stale levels; SKU-0002 goes again, and
    # SKU-0001 (the hub has 2 to sell, the shop shows 4) is lowered from the shop's level;
    # SKU-0000 is not raised from 4 to 7 while the sale may be unknown to the hub
    assert report.stale == 2
    assert shop.levels == {"SKU-0000": 4, "SKU-0001": 2, "SKU-0002": 6}
    assert len(set(shop.keys)) == len(shop.keys)  # a new key for every call
    with hub.db.transaction() as s:
        confirmed = dict(
            s.execute(
                select(ChannelItemRow.sku, ChannelItemRow.confirmed).where(
                    ChannelItemRow.account == "shop-a"
                )
            ).all()
        )
    assert confirmed == {"SKU-0000": 4, "SKU-0001": 2, "SKU-0002": 6}
    # the reconciliation settles SKU-0000 once the hub is the one to trust again
    assert _sync(hub, "shop-a", mode="full").calls == 1
    assert shop.levels["SKU-0000"] == 7


def test_the_timed_passes_follow_the_settings_and_queue_one_job_per_account(hub, worker):
    kinds = {
        (p.kind, p.payload.get("mode"), p.every.total_seconds()) for p in scheduler.periodic(hub)
    }
    assert {
        ("stock.sync_all", "delta", hub.settings.stock_sync_interval),
        ("stock.sync_all", "full", hub.settings.stock_reconcile_interval),
        ("warehouse.poll_all", None, hub.settings.warehouse_poll_interval),
    } <= kinds
    delta = next(p for p in scheduler.periodic(hub) if p.payload.get("mode") == "delta")
    assert scheduler.enqueue_slot(hub, delta) is not None
    assert scheduler.enqueue_slot(hub, delta) is None  # another scheduler, same slot
    with hub.db.transaction() as s:
        [job] = s.execute(select(JobRow).where(JobRow.kind == "stock.sync_all")).scalars().all()
        HANDLERS["stock.sync_all"](hub, s, job.payload)
        queued = s.execute(select(JobRow.payload).where(JobRow.kind == sync.SYNC)).scalars()
        assert sorted(p["account"] for p in queued) == ["shop-a", "woo-a", "woo-b"]
    off = type(hub)(type(hub.settings)(**{**vars(hub.settings), "stock_sync_interval": 0.0}))
    assert "delta" not in {p.payload.get("mode") for p in scheduler.periodic(off)}
