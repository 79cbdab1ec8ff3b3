"""Reports benchmark: seconds for each KPI of ``hub.reports.kpis`` over a year of orders on
PostgreSQL, against a baseline in the same run.

Run from the project root::

    .venv/bin/python bench/reports.py [--orders 1000000] [--repeat 3]
                                      [--database-url postgresql://postgres@127.0.0.1:5432/test]

Method
------
1. A fresh PostgreSQL database beside ``--database-url`` gets the hub's schema (its
   migrations) and, made in SQL with ``generate_series``, a year of ``--orders`` orders
   (default 1,000,000: one every ~31 s) over 20 clients, 5 channels and 40 accounts, each
   with two lines; 90 % shipped (a cycle time of 0 to 27 hours), 2 % partially; one
   shipment and one parcel per shipped order, over 4 carriers and 3 services, 90 % of the
   parcels delivered (a day or more later) and 70 % with an estimate; 5 % of parcels flagged
   by the carrier once; a failed delivery per 50 orders, a dead job per 1,000, a stock pass
   per 10 orders. Then ``ANALYZE``. The database is dropped afterwards.
2. The baseline: ``count(*)`` of the orders shipped in the year (the index range scan every
   report over shipped orders makes at least).
3. Each report runs ``--repeat`` times (default 3) for the whole year with no filter and for
   one client; the fastest run counts (the first warms the cache).

Printed: the seconds of each, and its ratio to the baseline; and the target line:

    target: every report over a year of 1M orders < 1 s on PostgreSQL
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.reports import kpis
from hub.runtime import Hub
from hub.settings import load_settings
from hub.storage import migrate
from hub.storage.db import normalise_url

START = datetime(2025, 12, 1, tzinfo=UTC)

SEED = """
INSERT INTO orders (client, channel, account, external_id, number, status, currency,
                    placed_at, data, created_at, updated_at, shipped_at, line_count,
                    lines_shipped)
SELECT 'client-' || (g % 20),
       (ARRAY['shopify', 'woocommerce', 'bigcommerce', 'amazon', 'ebay'])[1 + g % 5],
       'account-' || (g % 40), 'ext-' || g, '#' || g,
       CASE WHEN g % 50 = 0 THEN 'partially_shipped' WHEN g % 10 = 0 THEN 'released'
            ELSE 'shipped' END,
       'GBP', t - interval '20 minutes',
       '{"lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 2}]}'::json, t, t,
       CASE WHEN g % 10 <> 0 AND g % 50 <> 0 THEN t + (g % 97) * interval '17 minutes' END, 2,
       CASE WHEN g % 50 = 0 THEN 1 WHEN g % 10 = 0 THEN 0 ELSE 2 END
FROM (SELECT g, :start + g * :step * interval '1 second' AS t
      FROM generate_series(1, :orders) g) s;

INSERT INTO order_lines (order_id, position, sku)
SELECT id, p, CASE p WHEN 0 THEN 'A' ELSE 'B' END FROM orders, generate_series(0, 1) p;

INSERT INTO shipments (id, order_id, shipped_at, source, created_at)
SELECT id, id, coalesce(shipped_at, created_at + interval '2 hours'), 'bench', created_at
FROM orders WHERE status IN ('shipped', 'partially_shipped');
SELECT setval(pg_get_serial_sequence('shipments', 'id'), (SELECT max(id) FROM shipments));

INSERT INTO parcels (id, shipment_id, order_id, carrier, service, tracking_number, status,
                     estimated_delivery, lines, delivered_at, order_placed_at)
SELECT s.id, s.id, s.order_id,
       (ARRAY['royalmail', 'dpd', 'evri', 'dhl'])[1 + s.id % 4],
       (ARRAY['24', '48', 'express'])[1 + s.id % 3],
       'TN' || s.id,
       CASE WHEN s.id % 10 = 0 THEN 'in_transit' ELSE 'delivered' END,
       CASE WHEN s.id % 10 < 7 THEN s.shipped_at + interval '2 days' END,
       '[{"position": 0, "sku": "A", "quantity": 1}]'::json,
       CASE WHEN s.id % 10 <> 0
            THEN s.shipped_at + interval '1 day' + (s.id % 53) * interval '1 hour' END,
       s.shipped_at - interval '6 hours'
FROM shipments s;
SELECT setval(pg_get_serial_sequence('parcels', 'id'), (SELECT max(id) FROM parcels));

INSERT INTO parcel_events (parcel_id, at, status, code, source, received_at)
SELECT id, coalesce(delivered_at, now()) - interval '5 hours', 'exception', 'X', 'poll', now()
FROM parcels WHERE id % 20 = 0;

INSERT INTO deliveries (account, connector, topic, dedupe_key, headers, body, status, error,
                        received_at)
SELECT account, channel, 'orders/create', 'bench-' || id, '{}'::json, ''::bytea, 'failed',
       'number is ' || (100 + id % 50) || ' characters long; at most 100 are kept', created_at
FROM orders WHERE id % 50 = 0;

INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_at, created_at,
                  finished_at)
SELECT 'stock.push', '{}'::json, 'dead', 8, 8, created_at, created_at, created_at
FROM orders WHERE id % 1000 = 0;

INSERT INTO stock_sync_passes (account, client, at, mode, pushed, confirmed, refused,
                               oldest_change_at)
SELECT account, client, created_at, 'delta', 5, 5, 0,
       created_at - (id % 300) * interval '1 second'
FROM orders WHERE id % 10 = 0;
"""


def _database(url: str) -> tuple[str, object]:
    admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    name = f"hub_bench_reports_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = url.rsplit("/", 1)[0]
    return f"{base}/{name}", (admin, name)


def _drop(handle: object) -> None:
    admin, name = handle  # type: ignore[misc]
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fastest(repeat: int, run) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    url, handle = _database(args.database_url)
    try:
        config = Path(tempfile.mkdtemp()) / "hub.toml"
        config.write_text("")  # no accounts: the reports read the tables only
        hub = Hub(load_settings({"database_url": url, "config": str(config)}))
        migrate.upgrade(hub.db)
        step = 365 * 86400 / args.orders
        began = time.perf_counter()
        with hub.db.engine.begin() as conn:
            for statement in SEED.split(";\n"):
                if statement.strip():
                    conn.execute(
                        text(statement),
                        {"start": START, "step": step, "orders": args.orders},
                    )
        with hub.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
        print(f"seeded {args.orders:,} orders in {time.perf_counter() - began:.1f} s")
        end = (START + timedelta(days=365)).date()
        year = kpis.Filters.of(START.date(), end)
        one = kpis.Filters.of(START.date(), end, client="client-7")

        def baseline() -> None:
            with hub.db.engine.connect() as conn:
                conn.execute(
                    text("SELECT count(*) FROM orders WHERE shipped_at >= :a AND shipped_at < :b"),
                    {"a": year.since, "b": year.until},
                ).scalar_one()

        base = _fastest(args.repeat, baseline)
        print(f"baseline count(*) of the year's shipped orders: {base:.3f} s")
        slowest = 0.0
        for name in kpis.REPORTS:
            for label, filters in (("all", year), ("client", one)):

                def run(filters: kpis.Filters = filters, name: str = name) -> None:
                    with hub.db.transaction() as session:
                        kpis.run(hub, session, name, filters)

                seconds = _fastest(args.repeat, run)
                slowest = max(slowest, seconds)
                print(f"{name:<22} {label:<7} {seconds:7.3f} s  ratio {seconds / base:6.1f}")
        print(f"slowest report: {slowest:.3f} s")
        print("target: every report over a year of 1M orders < 1 s on PostgreSQL")
        hub.close()
    finally:
        _drop(handle)


if __name__ == "__main__":
    main()
