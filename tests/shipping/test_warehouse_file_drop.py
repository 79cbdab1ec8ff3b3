"""The ``file_drop`` warehouse on a real database: orders go out as files when released and
cancelled; stock counts and shipment files come back through
``hub.shipping.warehouse.poll_account``, each file applied once, all or nothing, then moved to
``done/`` or ``failed/``."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub import errors as warehouse_errors
from hub.intake import inbox
from hub.jobs import outbox
from hub.shipping import release, warehouse
from hub.stock import ledger
from hub.storage.models import AuditRow, OrderRow, ParcelRow, ShipmentRow, StockLedgerRow
from tests.conftest import (
    ACCOUNTS,
    only_order,
    receive,
    send_shopify,
    set_quantity,
    shopify_order,
)

WAREHOUSE = "acme-3pl"


@pytest.fixture
def drop_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "3pl"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def accounts_file(tmp_path: Path, drop_folder: Path) -> Path:
    """conftest's accounts, and a file drop warehouse for client acme."""
    path = tmp_path / "hub.toml"
    path.write_text(
        ACCOUNTS
        + f"""
[accounts.{WAREHOUSE}]
connector = "file_drop"
client = "acme"
folder = "{drop_folder}"
default_location = "MAIN"
settle_seconds = 0
"""
    )
    return path


def _kinds(client, viewer, order_id: int) -> list[str]:
    events = client.get(f"/api/orders/{order_id}/events", headers=viewer).get_json()["items"]
    return [e["kind"] for e in events]


def _released(hub, client, worker, viewer, red: int = 1) -> dict:
    """The Shopify 2024-04 order (its RED line owed ``red`` times) released to the 3PL."""
    receive(hub, "IPOD2008RED", 3)
    order = shopify_order()
    set_quantity(order, 1, red)
    send_shopify(client, order)
    worker.drain()
    released = only_order(client, viewer)
    assert released["status"] == "released"
    return released


def _poll(hub) -> dict[str, int]:
    return warehouse.poll_account(hub, hub.accounts[WAREHOUSE])


def _drop(folder: Path, name: str, text: str) -> Path:
    """A file as the warehouse leaves it (written a minute ago)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    os.utime(path, (time.time() - 60, time.time() - 60))
    return path


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _shipment_csv(*rows: str) -> str:
    return "order_id,carrier,service,tracking_number,sku,quantity,shipped_at\n" + "".join(
        f"{row}\n" for row in rows
    )


def _count(hub, model) -> int:
    with hub.db.transaction() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


# -- orders out ---------------------------------------------------------------------------


def test_a_ready_order_is_released_through_the_file_drop(hub, client, worker, viewer, drop_folder):
    receive(hub, "IPOD2008RED", 3)
    send_shopify(client, shopify_order())
    # translation and allocation run; the order is not released until the warehouse job ran
    while jobs := outbox.claim(
        hub.db, "test", lease=60, limit=10, kinds=[inbox.TRANSLATE, release.RELEASE]
    ):
        for job in jobs:
            worker.run_job(job)
    waiting = only_order(client, viewer)
    assert waiting["status"] == "ready"
    assert _kinds(client, viewer, waiting["id"]) == ["received", "allocated"]
    assert _names(drop_folder / "orders") == []

    worker.drain()
    order = only_order(client, viewer)
    assert order["status"] == "released"
    name = f"order-{order['id']}.json"
    assert _names(drop_folder / "orders") == [name]
    assert _names(drop_folder / "sent") == [name]
    written = json.loads((drop_folder / "orders" / name).read_text())
    assert (written["id"], written["number"], written["external_id"]) == (
        order["id"],
        "#1001",
        "450789469",
    )
    assert written["lines"] == order["lines"]
    events = client.get(f"/api/orders/{order['id']}/events", headers=viewer).get_json()["items"]
    assert [e["kind"] for e in events] == ["received", "allocated", "released"]
    assert events[-1]["message"] == f"released to warehouse {WAREHOUSE} (reference {name})"
    with hub.db.transaction() as s:
        assert ledger.levels(s, "acme", ["IPOD2008RED"])[0]["allocated"] == 1


def test_cancelling_a_released_order_writes_the_cancel_file(
    hub, client, worker, viewer, drop_folder
):
    order = _released(hub, client, worker, viewer)
    # what hub.release.after_change does for an order that became cancelled
    with hub.db.transaction() as s:
        warehouse.cancel(hub, s, s.get(OrderRow, order["id"]))
    worker.drain()
    assert _kinds(client, viewer, order["id"])[-1] == "warehouse_cancelled"
    cancel = json.loads((drop_folder / "orders" / f"cancel-{order['id']}.json").read_text())
    assert cancel["order_id"] == order["id"]
    assert cancel["reference"] == f"order-{order['id']}.json"
    assert cancel["external_id"] == "450789469" and cancel["cancelled_at"].endswith("Z")
    n = order["id"]
    assert _names(drop_folder / "orders") == [f"cancel-{n}.json", f"order-{n}.json"]


def test_a_cancellation_from_the_channel_reaches_the_file_drop(
    hub, client, worker, viewer, drop_folder
):
    order = _released(hub, client, worker, viewer)
    cancelled = dict(
        shopify_order(), cancelled_at="2030-01-01T00:00:00Z", updated_at="2030-01-01T00:00:00Z"
    )
    send_shopify(client, cancelled, "orders/cancelled")
    worker.drain()
    assert only_order(client, viewer)["status"] == "cancelled"
    assert (drop_folder / "orders" / f"cancel-{order['id']}.json").is_file()


# -- stock in -----------------------------------------------------------------------------


def test_a_stock_file_sets_on_hand_as_counts(hub, drop_folder):
    receive(hub, "IPOD2008RED", 3)
    _drop(drop_folder / "stock", "stock-0101.csv", "sku,on_hand,location\nIPOD2008RED,7,A1\n")
    _drop(drop_folder / "stock", "stock-0102.json", '[{"sku": "IPOD2008GREEN", "on_hand": 2}]')
    assert _poll(hub) == {"applied": 2, "failed": 0}
    with hub.db.transaction() as s:
        entries = s.execute(
            select(
                StockLedgerRow.sku,
                StockLedgerRow.location,
                StockLedgerRow.delta,
                StockLedgerRow.on_hand,
                StockLedgerRow.ref,
                StockLedgerRow.actor,
            )
            .where(StockLedgerRow.reason == "count")
            .order_by(StockLedgerRow.id)
        ).all()
        levels = ledger.levels(s, "acme", ["IPOD2008RED", "IPOD2008GREEN"])
    assert entries == [
        ("IPOD2008RED", "A1", 4, 7, "stock-0101.csv", WAREHOUSE),
        ("IPOD2008GREEN", "MAIN", 2, 2, "stock-0102.json", WAREHOUSE),  # the default location
    ]
    assert [lv["on_hand"] for lv in levels] == [7, 2]
    assert _names(drop_folder / "stock" / "done") == ["stock-0101.csv", "stock-0102.json"]
    assert _names(drop_folder / "stock" / "processing") == []


def test_a_bad_stock_file_goes_to_failed_and_nothing_of_it_is_applied(hub, drop_folder):
    _drop(drop_folder / "stock", "s.csv", "sku,on_hand\nIPOD2008RED,7\nIPOD2008GREEN,lots\n")
    assert _poll(hub) == {"applied": 0, "failed": 0}  # refused before it reached the hub
    assert _names(drop_folder / "stock" / "failed") == ["s.csv", "s.csv.error.txt"]
    error = (drop_folder / "stock" / "failed" / "s.csv.error.txt").read_text()
    assert error == "s.csv line 3: on_hand: a whole number >= 0, not text\n"
    assert _count(hub, StockLedgerRow) == 0


# -- shipments in -------------------------------------------------------------------------


def test_a_shipment_file_ships_the_order(hub, client, worker, viewer, drop_folder):
    order = _released(hub, client, worker, viewer)
    row = f"{order['id']},royalmail,TPN24,RM123456789GB,IPOD2008RED,1,2026-11-26T10:00:00Z"
    _drop(drop_folder / "shipments", "ship-1.csv", _shipment_csv(row))
    assert _poll(hub) == {"applied": 1, "failed": 0}
    shown = client.get(f"/api/orders/{order['id']}", headers=viewer).get_json()
    assert shown["status"] == "shipped"
    [shipment] = shown["shipments"]
    assert shipment["shipped_at"] == "2026-11-26T10:00:00Z" and shipment["source"] == WAREHOUSE
    assert [(p["carrier"], p["service"], p["tracking_number"]) for p in shipment["parcels"]] == [
        ("royalmail", "TPN24", "RM123456789GB")
    ]
    assert _kinds(client, viewer, order["id"])[-1] == "shipped"
    assert _names(drop_folder / "shipments" / "done") == ["ship-1.csv"]
    with hub.db.transaction() as s:
        assert ledger.levels(s, "acme", ["IPOD2008RED"])[0] == {
            "client": "acme",
            "sku": "IPOD2008RED",
            "on_hand": 2,
            "allocated": 0,
            "available": 2,
        }


def test_a_json_shipment_for_part_of_the_order_partially_ships_it(
    hub, client, worker, viewer, drop_folder
):
    order = _released(hub, client, worker, viewer, red=2)
    body = {
        "order_id": order["id"],
        "parcels": [
            {
                "carrier": "dpd_uk",
                "tracking_number": "15501234567890",
                "lines": [{"line_id": "518995019", "quantity": 1}],
            }
        ],
    }
    _drop(drop_folder / "shipments", "ship.json", json.dumps(body))
    assert _poll(hub) == {"applied": 1, "failed": 0}
    assert only_order(client, viewer)["status"] == "partially_shipped"


def test_a_file_is_processed_once_when_poll_runs_twice(hub, client, worker, viewer, drop_folder):
    order = _released(hub, client, worker, viewer, red=2)
    text = _shipment_csv(f"{order['id']},royalmail,TPN24,RM1,IPOD2008RED,1,")
    _drop(drop_folder / "shipments", "ship.csv", text)
    assert _poll(hub) == {"applied": 1, "failed": 0}
    assert _poll(hub) == {"applied": 0, "failed": 0}
    kinds = _kinds(client, viewer, order["id"])
    # the warehouse sends the same confirmation again under the same name: one effect
    _drop(drop_folder / "shipments", "ship.csv", text)
    assert _poll(hub) == {"applied": 1, "failed": 0}
    assert _kinds(client, viewer, order["id"]) == kinds
    assert _count(hub, ShipmentRow) == 1
    assert only_order(client, viewer)["status"] == "partially_shipped"
    assert len(_names(drop_folder / "shipments" / "done")) == 2  # both copies kept


def test_two_pollers_at_once_process_each_file_once(hub, client, worker, viewer, drop_folder):
    order = _released(hub, client, worker, viewer, red=2)
    for n in (1, 2):
        row = f"{order['id']},royalmail,TPN24,RM{n},IPOD2008RED,1,"
        _drop(drop_folder / "shipments", f"ship-{n}.csv", _shipment_csv(row))
    for n in range(6):
        _drop(drop_folder / "stock", f"count-{n}.csv", f"sku,on_hand\nOTHER-{n},{n + 1}\n")
    start = threading.Barrier(2)
    results: list[dict[str, int]] = []

    def poll() -> None:
        start.wait()
        results.append(_poll(hub))

    threads = [threading.Thread(target=poll) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["applied"] for r in results) == 8
    assert sum(r["failed"] for r in results) == 0
    assert only_order(client, viewer)["status"] == "shipped"
    assert _count(hub, ParcelRow) == 2
    assert len(_names(drop_folder / "stock" / "done")) == 6
    assert _names(drop_folder / "shipments" / "done") == ["ship-1.csv", "ship-2.csv"]


def test_a_bad_shipment_file_goes_to_failed_naming_the_line(
    hub, client, worker, viewer, drop_folder
):
    order = _released(hub, client, worker, viewer)
    text = _shipment_csv(
        f"{order['id']},royalmail,TPN24,RM1,IPOD2008RED,1,",
        f"{order['id']},pigeon,,RM2,IPOD2008RED,1,",
    )
    _drop(drop_folder / "shipments", "ship.csv", text)
    _poll(hub)
    assert _names(drop_folder / "shipments" / "failed") == ["ship.csv", "ship.csv.error.txt"]
    error = (drop_folder / "shipments" / "failed" / "ship.csv.error.txt").read_text()
    assert error.startswith("ship.csv line 3: carrier: one of dhl, dpd, dpd_uk, evri")
    assert only_order(client, viewer)["status"] == "released"
    assert _count(hub, ShipmentRow) == 0


def test_a_file_with_a_shipment_for_an_unknown_order_is_refused_as_a_whole(
    hub, client, worker, viewer, drop_folder
):
    order = _released(hub, client, worker, viewer)
    text = _shipment_csv(
        f"{order['id']},royalmail,TPN24,RM1,IPOD2008RED,1,", "999,royalmail,TPN24,RM2,MUG-1,1,"
    )
    _drop(drop_folder / "shipments", "ship.csv", text)
    assert _poll(hub) == {"applied": 0, "failed": 1}
    assert only_order(client, viewer)["status"] == "released"
    assert _count(hub, ShipmentRow) == 0
    error = (drop_folder / "shipments" / "failed" / "ship.csv.error.txt").read_text()
    assert error == "ShipmentError: no order with id 999\n"
    with hub.db.transaction() as s:
        audit = s.execute(select(AuditRow).where(AuditRow.action == "warehouse.batch_failed"))
        [entry] = audit.scalars().all()
        assert (entry.actor, entry.target) == (WAREHOUSE, "ship.csv")
        assert [b["order_id"] for b in entry.details["shipments"]] == [order["id"], 999]


def test_the_scheduled_poll_reads_the_file_drop(hub, worker, drop_folder):
    _drop(drop_folder / "stock", "s.csv", "sku,on_hand\nMUG-1,5\n")
    with hub.db.transaction() as s:
        outbox.enqueue(s, warehouse.POLL_ALL, {"slot": 1}, max_attempts=3)
    worker.drain()
    assert _names(drop_folder / "stock" / "done") == ["s.csv"]
    with hub.db.transaction() as s:
        assert ledger.levels(s, "acme", ["MUG-1"])[0]["on_hand"] == 5


# -- what the warehouse cannot make the hub do ------------------------------------------------

SECRET = "HUB_SECRET_KEY=s3cr3t"


def test_a_stock_file_linked_to_a_secret_outside_is_refused_unread(
    hub, tmp_path, drop_folder, caplog
):
    env = tmp_path / "hub.env"
    env.write_text(f"{SECRET}\n")
    (drop_folder / "stock").mkdir()
    (drop_folder / "stock" / "s.csv").symlink_to(env)
    assert _poll(hub) == {"applied": 0, "failed": 0}  # refused before it reached the hub
    error = (drop_folder / "stock" / "failed" / "s.csv.error.txt").read_text()
    assert error == "s.csv: a symbolic link, not a file: refused, not read\n"
    assert "s3cr3t" not in caplog.text
    assert _count(hub, StockLedgerRow) == 0


def test_a_linked_done_folder_stops_the_poll_before_any_file_is_taken(hub, tmp_path, drop_folder):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _drop(drop_folder / "stock", "s.csv", "sku,on_hand\nMUG-1,5\n")
    (drop_folder / "stock" / "done").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(warehouse_errors.RetryableError, match="stock/done leads outside"):
        _poll(hub)
    assert _names(elsewhere) == []
    assert _names(drop_folder / "stock") == ["done", "processing", "s.csv"]  # untouched
    assert _count(hub, StockLedgerRow) == 0


def test_any_exception_while_applying_a_file_sends_it_to_failed(
    hub, drop_folder, monkeypatch, caplog
):
    real = warehouse.apply_batch

    def apply(hub, session, account, batch):
        if batch.ref == "poison.csv":
            raise RecursionError(f"maximum recursion depth exceeded ({SECRET})")
        return real(hub, session, account, batch)

    monkeypatch.setattr(warehouse, "apply_batch", apply)
    _drop(drop_folder / "stock", "poison.csv", "sku,on_hand\nMUG-1,5\n")
    _drop(drop_folder / "stock", "q.csv", "sku,on_hand\nMUG-2,6\n")
    assert _poll(hub) == {"applied": 1, "failed": 1}
    error = (drop_folder / "stock" / "failed" / "poison.csv.error.txt").read_text()
    assert error == "RecursionError while applying it\n"
    assert _names(drop_folder / "stock" / "done") == ["q.csv"]
    assert _names(drop_folder / "stock" / "processing") == []
    assert "s3cr3t" not in caplog.text and "RecursionError while applying it" in caplog.text
    assert _poll(hub) == {"applied": 0, "failed": 0}  # not again


def test_the_database_refusing_a_value_says_so_without_the_value(hub, drop_folder, monkeypatch):
    from sqlalchemy.exc import DataError

    def apply(hub, session, account, batch):
        raise DataError("INSERT ...", {"sku": SECRET}, ValueError(f"too long: {SECRET}"))

    monkeypatch.setattr(warehouse, "apply_batch", apply)
    _drop(drop_folder / "stock", "s.csv", "sku,on_hand\nMUG-1,5\n")
    assert _poll(hub) == {"applied": 0, "failed": 1}
    error = (drop_folder / "stock" / "failed" / "s.csv.error.txt").read_text()
    assert error == "DataError: the database refused it (ValueError)\n"


def test_a_database_outage_while_applying_is_retried_not_failed(hub, drop_folder, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def apply(hub, session, account, batch):
        raise OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))

    monkeypatch.setattr(warehouse, "apply_batch", apply)
    _drop(drop_folder / "stock", "s.csv", "sku,on_hand\nMUG-1,5\n")
    with pytest.raises(OperationalError):
        _poll(hub)
    assert _names(drop_folder / "stock" / "failed") == []
    assert len(_names(drop_folder / "stock" / "processing")) == 1  # taken over when stale


@pytest.mark.parametrize(
    "text",
    [
        "sku,on_hand\nMUG-1,99999999999\n",  # past the database's integer
        "sku,on_hand\n" + "M" * 201 + ",1\n",  # past its sku column
        '[{"sku": "MUG-1", "on_hand": 1e400}]',
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_values_the_database_cannot_hold_are_refused_at_the_file(hub, drop_folder, text):
    name = "s.json" if text.startswith("[") else "s.csv"
    _drop(drop_folder / "stock", name, text)
    assert _poll(hub) == {"applied": 0, "failed": 0}
    assert _names(drop_folder / "stock" / "failed") == [name, f"{name}.error.txt"]
    assert _count(hub, StockLedgerRow) == 0
