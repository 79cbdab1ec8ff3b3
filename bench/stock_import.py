"""Stock import benchmark: rows per second of ``hub stock import`` and how long webhook intake
waits for the database while an import runs.

Run from the project root::

    .venv/bin/python bench/stock_import.py [--rows 30000] [--database-url URL]

Method
------
1. Two fresh databases (SQLite files in a temporary folder, or two fresh PostgreSQL databases
   beside ``--database-url``, dropped afterwards), each with one Shopify account of client
   ``bench``. ``--rows`` rows ``sku,on_hand,location`` (every one a new level) are parsed once
   with the import's own parser; parsing is not timed.
2. Baseline, in the same run: the rows written one at a time in one transaction with
   ``ledger.set_on_hand`` (an upsert, a locked read, an update and a ledger entry per row), as
   the import used to do.
3. The import as ``hub stock import`` runs it: ``ledger.import_in_batches``, a transaction
   per ``ledger.IMPORT_BATCH`` rows (set-based: a few statements per batch), the release
   wake-up in each, and a moment between batches for waiting writers.
4. While each of the two runs, a prober thread stores a signed-webhook-like delivery through
   the real intake (``hub.intake.inbox.accept``, the path ``POST /webhooks/<account>`` takes)
   every 10 ms and times each call. Printed per run: rows/s, the probe count and the p50, p99
   and longest intake wait; then the speed-up (import rows/s over baseline rows/s).

Targets (reported, not enforced): speed-up >= 10; intake p99 during the import <= 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import BenchDatabase

from hub.connectors.contract import Delivery
from hub.intake import inbox
from hub.runtime import Hub
from hub.settings import load_settings
from hub.shipping import release
from hub.stock import ledger
from hub.storage import migrate

ACCOUNTS = """
[accounts.bench-shop]
connector = "shopify"
client = "bench"
shop = "bench.myshopify.com"
webhook_secrets = ["bench-secret"]
access_token = "shpat_bench"
api_calls = false
"""


class Prober(threading.Thread):
    """Stores a delivery every ``every`` seconds through the real intake; times each."""

    def __init__(self, hub: Hub, every: float = 0.01):
        super().__init__(daemon=True)
        self.hub, self.every = hub, every
        self.waits: list[float] = []
        self.stop = threading.Event()
        self.account = hub.accounts["bench-shop"]

    def run(self) -> None:
        body = b'{"id": 1}'
        while not self.stop.is_set():
            delivery = Delivery(topic="orders/create", dedupe_key=str(uuid.uuid4()))
            started = time.perf_counter()
            inbox.accept(self.hub, self.account, delivery, body, "application/json")
            self.waits.append(time.perf_counter() - started)
            self.stop.wait(self.every)


def _row_by_row(hub: Hub, rows: list[ledger.ImportRow]) -> None:
    with hub.db.transaction() as session:
        for row in rows:
            ledger.set_on_hand(
                session,
                "bench",
                row.sku,
                row.location,
                row.on_hand,
                reason="import",
                actor="bench",
                ref=f"import:bench.csv:{row.line}",
            )


def _batched(hub: Hub, rows: list[ledger.ImportRow]) -> None:
    def wake(session: Any, batch: list[ledger.ImportRow]) -> None:
        release.wake(hub, session, "bench", sorted({r.sku for r in batch}))

    ledger.import_in_batches(
        hub.db, "bench", rows, actor="bench", ref="import:bench.csv", each=wake
    )


def _measure(
    hub: Hub, rows: list[ledger.ImportRow], run: Callable[[Hub, list[Any]], None]
) -> dict[str, float]:
    prober = Prober(hub)
    prober.start()
    time.sleep(0.2)  # the prober's first calls, before the import starts
    started = time.perf_counter()
    run(hub, rows)
    seconds = time.perf_counter() - started
    prober.stop.set()
    prober.join()
    waits = sorted(prober.waits)
    return {
        "seconds": seconds,
        "rows_per_s": len(rows) / seconds,
        "probes": len(waits),
        "p50_ms": statistics.median(waits) * 1000,
        "p99_ms": waits[min(len(waits) - 1, int(len(waits) * 0.99))] * 1000,
        "max_ms": waits[-1] * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--database-url", help="postgresql://... (default: SQLite files)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hub-bench-import-"))
    (folder / "hub.toml").write_text(ACCOUNTS)
    text_rows = "sku,on_hand,location\n" + "".join(
        f"BENCH-{i:07d},{i % 50},A{i % 7}\n" for i in range(args.rows)
    )
    rows, errors = ledger.parse_levels_csv(text_rows)
    assert not errors, errors[:3]
    results: dict[str, dict[str, float]] = {}
    for label, run in (("row by row (baseline)", _row_by_row), ("batched import", _batched)):
        place = folder / str(len(results))
        place.mkdir()
        database = BenchDatabase(args.database_url, place)
        try:
            hub = Hub(
                load_settings(
                    {"database_url": database.url, "config": str(folder / "hub.toml")},
                    environ={"HUB_LOG_LEVEL": "WARNING"},
                )
            )
            migrate.upgrade(hub.db)
            try:
                results[label] = _measure(hub, rows, run)
            finally:
                hub.close()
        finally:
            database.drop()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"stock import of {args.rows} new levels on {backend}, batch {ledger.IMPORT_BATCH}")
    print(f"{'run':24} {'seconds':>8} {'rows/s':>9} {'probes':>7} {'p50 ms':>7} {'p99 ms':>8}")
    for label, r in results.items():
        print(
            f"{label:24} {r['seconds']:8.2f} {r['rows_per_s']:9.0f} {r['probes']:7.0f} "
            f"{r['p50_ms']:7.1f} {r['p99_ms']:8.1f}  (longest {r['max_ms']:.1f} ms)"
        )
    base, new = results["row by row (baseline)"], results["batched import"]
    print(f"speed-up: {new['rows_per_s'] / base['rows_per_s']:.1f}x rows/s over the baseline")
    print("target: speed-up >= 10, intake p99 during the import <= 100 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
