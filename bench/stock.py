"""Stock sync benchmark: one sync pass after 1% of a large catalogue changed.

Run from the project root::

    .venv/bin/python bench/stock.py [--sizes 10000,100000,1000000] [--changed 0.01]
                                    [--database-url URL]

Method
------
1. For each size N, a new database (a SQLite file in a temporary folder, or ``--database-url``,
   emptied first) holds N SKUs of one client in the ledger, and three channel accounts sell
   them: two Shopify shops and one WooCommerce store. Each account's item map holds all N
   SKUs with the level its channel confirmed (as after a first sync; the setup is not timed).
2. The channels are faked in-process with ``responses``: the real connectors build and send
   their real requests (GraphQL ``inventorySetQuantities``, ``products/batch``) and parse
   answers shaped as the APIs document them. Every call is counted.
3. ``changed`` of the SKUs (1%, at random) get a stock change through the ledger, in one
   transaction, as a delivery of goods would (that marks them for their channels at commit).
4. Timed: one ``dirty`` pass per account (what the hub runs after changes), then one ``delta``
   pass per account (every SKU compared with what its channel confirmed; it must find nothing
   left to push). Peak memory (tracemalloc) is measured on a second change round, so its
   overhead does not touch the timings.
5. Baseline, in the same run: for each account, reading its N item-map rows and the N ledger
   levels with bare SELECTs, the least any pass that looks at every SKU must do. The delta
   pass is reported as a ratio of it; the cost per SKU at each size shows how cost grows.

Targets (reported, not enforced): API calls = ceil(changed / batch size) per account; the 1%
pass under 5 s at 100k SKUs; cost linear or better in N.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import responses
from sqlalchemy import create_engine, insert, select, text

from hub.runtime import Hub
from hub.stock import ledger, sync
from hub.storage import migrate
from hub.storage.models import Base, ChannelItemRow, StockLevelRow
from hub.values import now

CLIENT = "bench"
ACCOUNTS = """
[accounts.shop-1]
connector = "shopify"
client = "bench"
shop = "shop-1.myshopify.com"
webhook_secret = "s1"
access_token = "shpat_1"
location_id = "gid://shopify/Location/1"

[accounts.shop-2]
connector = "shopify"
client = "bench"
shop = "shop-2.myshopify.com"
webhook_secret = "s2"
access_token = "shpat_2"
location_id = "gid://shopify/Location/2"
stock_buffer = 1

[accounts.woo-1]
connector = "woocommerce"
client = "bench"
url = "https://woo-1.example"
webhook_secret = "w1"
consumer_key = "ck_1"
consumer_secret = "cs_1"
rate_limit = 1000
"""


class Channels:
    """Fake Shopify and WooCommerce APIs that set what they are sent and count the calls."""

    def __init__(self, mock: responses.RequestsMock):
        self.calls: dict[str, int] = {}
        for shop in ("shop-1", "shop-2"):
            mock.add_callback(
                responses.POST,
                f"https://{shop}.myshopify.com/admin/api/2026-10/graphql.json",
                callback=self._counted(shop, self._shopify),
            )
        mock.add_callback(
            responses.POST,
            "https://woo-1.example/wp-json/wc/v3/products/batch",
            callback=self._counted("woo-1", self._woo),
        )

    def _counted(self, name: str, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def call(request: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return fn(request)

        return call

    @staticmethod
    def _shopify(request: Any) -> Any:
        body = json.loads(request.body)
        quantities = body["variables"]["input"]["quantities"]
        changes = [
            {
                "name": "available",
                "delta": q["quantity"] - (q.get("changeFromQuantity") or 0),
                "quantityAfterChange": q["quantity"],
                "item": {"id": q["inventoryItemId"]},
                "location": {"id": q["locationId"]},
            }
            for q in quantities
        ]
        answer = {
            "data": {
                "inventorySetQuantities": {
                    "inventoryAdjustmentGroup": {"changes": changes},
                    "userErrors": [],
                }
            },
            "extensions": {
                "cost": {
                    "requestedQueryCost": 10,
                    "actualQueryCost": 10,
                    "throttleStatus": {
                        "maximumAvailable": 2000.0,
                        "currentlyAvailable": 1990.0,
                        "restoreRate": 100.0,
                    },
                }
            },
        }
        return 200, {}, json.dumps(answer)

    @staticmethod
    def _woo(request: Any) -> Any:
        updates = json.loads(request.body)["update"]
        answer = [
            {"id": u["id"], "manage_stock": True, "stock_quantity": u["stock_quantity"]}
            for u in updates
        ]
        return 200, {}, json.dumps({"update": answer})


def _sku(i: int) -> str:
    return f"SKU-{i:07d}"


def setup(hub: Hub, size: int) -> None:
    """N SKUs on hand, and every account's item map confirmed at its available-to-sell."""
    at = now()
    with hub.db.transaction() as session:
        rows = [
            {"client": CLIENT, "sku": _sku(i), "location": "A", "on_hand": 10, "updated_at": at}
            for i in range(size)
        ]
        for start in range(0, size, 20_000):
            session.execute(insert(StockLevelRow), rows[start : start + 20_000])
        for account in sync.push_accounts(hub):
            confirmed = 10 - account.settings.get("stock_buffer", 0)
            shopify = account.connector == "shopify"
            items = [
                {
                    "account": account.name,
                    "sku": _sku(i),
                    "client": CLIENT,
                    "item_id": f"gid://shopify/InventoryItem/{i + 1}" if shopify else str(i + 1),
                    "location_id": account.settings.get("location_id"),
                    "parent_id": None,
                    "confirmed": confirmed,
                    "confirmed_at": at,
                    "dirty": False,
                    "last_error": None,
                    "updated_at": at,
                }
                for i in range(size)
            ]
            for start in range(0, size, 20_000):
                session.execute(insert(ChannelItemRow), items[start : start + 20_000])


def change(hub: Hub, size: int, fraction: float, delta: int, seed: int) -> tuple[int, float]:
    picked = random.Random(seed).sample(range(size), max(1, int(size * fraction)))
    started = time.perf_counter()
    with hub.db.transaction() as session:
        for i in picked:
            ledger.adjust(session, CLIENT, _sku(i), "A", delta, reason="receipt", actor="bench")
    return len(picked), time.perf_counter() - started


def passes(hub: Hub, mode: str) -> tuple[float, dict[str, sync.Report]]:
    started = time.perf_counter()
    reports = {a.name: sync.sync_account(hub, a, mode) for a in sync.push_accounts(hub)}
    return time.perf_counter() - started, reports


def baseline(hub: Hub) -> float:
    """For every account: its item-map rows and the client's levels, read bare."""
    started = time.perf_counter()
    with hub.db.transaction() as session:
        for account in sync.push_accounts(hub):
            session.execute(
                select(ChannelItemRow.sku, ChannelItemRow.confirmed).where(
                    ChannelItemRow.account == account.name
                )
            ).all()
            session.execute(
                select(StockLevelRow.sku, StockLevelRow.on_hand).where(
                    StockLevelRow.client == CLIENT
                )
            ).all()
    return time.perf_counter() - started


def run_size(size: int, fraction: float, url: str | None, folder: Path) -> dict[str, Any]:
    if url is None:
        url = f"sqlite:///{folder / f'stock-{size}.db'}"
    else:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        engine.dispose()
    accounts = folder / "hub.toml"
    accounts.write_text(ACCOUNTS)
    hub = Hub.from_env({"database_url": url, "config": str(accounts)})
    migrate.upgrade(hub.db)
    started = time.perf_counter()
    setup(hub, size)
    setup_seconds = time.perf_counter() - started
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        channels = Channels(mock)
        changed, change_seconds = change(hub, size, fraction, +5, seed=size)
        dirty_seconds, dirty = passes(hub, "dirty")
        calls = dict(channels.calls)
        channels.calls.clear()
        delta_seconds, delta = passes(hub, "delta")
        leftover = sum(r.pushed for r in delta.values())
        base = min(baseline(hub) for _ in range(3))
        change(hub, size, fraction, -5, seed=size + 1)
        tracemalloc.start()
        passes(hub, "dirty")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    hub.close()
    minimum = {
        name: math.ceil(r.pushed / hub.connector(hub.accounts[name]).stock_batch_size)
        for name, r in dirty.items()
    }
    return {
        "size": size,
        "changed": changed,
        "setup_s": setup_seconds,
        "change_s": change_seconds,
        "dirty_s": dirty_seconds,
        "delta_s": delta_seconds,
        "baseline_s": base,
        "peak_mib": peak / 2**20,
        "calls": calls,
        "minimum": minimum,
        "pushed": {name: r.pushed for name, r in dirty.items()},
        "leftover": leftover,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file per size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            print(f"-- {size:,} SKUs x 3 accounts ...", flush=True)
            r = run_size(size, args.changed, args.database_url, Path(folder))
            results.append(r)
            calls = ", ".join(
                f"{name} {r['calls'].get(name, 0)}/{r['minimum'][name]}" for name in r["minimum"]
            )
            print(
                f"   setup {r['setup_s']:.1f}s; {r['changed']:,} SKUs changed in one "
                f"transaction in {r['change_s']:.2f}s"
            )
            print(
                f"   dirty pass (3 accounts): {r['dirty_s']:.3f}s, peak {r['peak_mib']:.1f} MiB; "
                f"pushed {sum(r['pushed'].values()):,}; API calls made/minimum: {calls}"
            )
            print(
                f"   delta pass (every SKU compared, 3 accounts): {r['delta_s']:.3f}s = "
                f"{r['delta_s'] / r['baseline_s']:.1f}x the bare reads "
                f"({r['baseline_s']:.3f}s); left to push: {r['leftover']}"
            )
    first = results[0]
    print("\ngrowth (per SKU, relative to the smallest size):")
    for r in results:
        scale = r["size"] / first["size"]
        dirty = r["dirty_s"] / first["dirty_s"]
        print(
            f"  {r['size']:>9,}: dirty pass x{dirty:.2f} for x{scale:.0f} SKUs "
            f"(per changed SKU x{dirty / scale:.2f}); "
            f"delta pass per SKU x{r['delta_s'] / first['delta_s'] / scale:.2f}"
        )
    ok_calls = all(r["calls"].get(n, 0) == m for r in results for n, m in r["minimum"].items())
    at_100k = [r for r in results if r["size"] == 100_000]
    print(f"\nAPI calls equal to the minimum everywhere: {'yes' if ok_calls else 'NO'}")
    if at_100k:
        verdict = "met" if at_100k[0]["dirty_s"] < 5 else "NOT met"
        print(f"1% pass at 100k SKUs: {at_100k[0]['dirty_s']:.3f}s (target < 5 s: {verdict})")
    return 0 if all(r["leftover"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
