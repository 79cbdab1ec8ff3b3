"""The built-in stock ledger on a real database: CSV import, ledger entries, adjustments,
allocation of the last unit under concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.stock import ledger as stock
from hub.storage.models import AllocationRow, OrderRow, StockLedgerRow
from hub.values import now

HUB = str(Path(sys.executable).with_name("hub"))


def _order(hub, external_id: str, lines: list[tuple[str, int]], client: str = "acme") -> int:
    with hub.db.transaction() as s:
        row = OrderRow(
            client=client,
            channel="shopify",
            account="shop-a",
            external_id=external_id,
            status="ready",
            currency="GBP",
            data={
                "lines": [
                    {"sku": sku, "quantity": q, "requires_shipping": True} for sku, q in lines
                ]
            },
            created_at=now(),
            updated_at=now(),
        )
        s.add(row)
        s.flush()
        return row.id


def test_csv_errors_are_reported_by_line_and_nothing_is_applied():
    rows, errors = stock.parse_levels_csv(
        "sku,on_hand,location\nMUG-1,5,A1\n,3,A1\nMUG-2,-1,A1\nMUG-3,two,A1\nMUG-1,4,A1\nMUG-4,1\n"
    )
    assert errors == [
        "line 3: sku is empty",
        "line 4: on_hand must be a whole number from 0 to 2147483647, got '-1'",
        "line 5: on_hand must be a whole number from 0 to 2147483647, got 'two'",
        "line 6: 'MUG-1' at 'A1' again (first on line 2)",
        "line 7: 2 fields, the header has 3",
    ]
    assert [r.sku for r in rows] == ["MUG-1"]
    _, errors = stock.parse_levels_csv("product,qty\nA,1\n")
    assert errors[0].startswith("line 1: the header must name sku and on_hand")


def test_csv_values_the_tables_cannot_hold_are_errors_by_line():
    long_sku, long_location = "S" * 201, "L" * 101
    rows, errors = stock.parse_levels_csv(
        "sku,on_hand,location\n"
        f"MUG-1,2147483648,A1\nMUG-2,{'9' * 400},A1\n{long_sku},1,A1\nMUG-3,1,{long_location}\n"
        "MUG-\x004,1,A1\nMUG-5,2147483647,A1\n"
    )
    assert errors == [
        "line 2: on_hand must be a whole number from 0 to 2147483647, got '2147483648'",
        "line 3: on_hand must be a whole number from 0 to 2147483647, got '99999999999999999999'",
        "line 4: sku is 201 characters, at most 200",
        "line 5: location is 101 characters, at most 100",
        "line 6: sku must not contain NUL characters",
    ]
    assert [(r.sku, r.on_hand) for r in rows] == [("MUG-5", 2147483647)]


def test_rows_without_a_location_take_the_default():
    rows, errors = stock.parse_levels_csv("sku,on_hand\nMUG-1,5\n", default_location="main")
    assert not errors and rows[0].location == "main" and rows[0].on_hand == 5


def test_import_sets_levels_with_ledger_entries_and_only_changes_count(hub):
    rows, _ = stock.parse_levels_csv("sku,on_hand,location\nMUG-1,5,A1\nMUG-1,2,B7\nMUG-2,0,A1\n")
    with hub.db.transaction() as s:
        assert stock.import_levels(s, "acme", rows, actor="t", ref="import:a.csv") == 2
    with hub.db.transaction() as s:
        assert stock.levels(s, "acme", ["MUG-1", "MUG-2"]) == [
            {"client": "acme", "sku": "MUG-1", "on_hand": 7, "allocated": 0, "available": 7},
            {"client": "acme", "sku": "MUG-2", "on_hand": 0, "allocated": 0, "available": 0},
        ]
        assert stock.levels(s, "other", ["MUG-1"])[0]["on_hand"] == 0  # clients never meet
    again, _ = stock.parse_levels_csv("sku,on_hand,location\nMUG-1,5,A1\nMUG-1,3,B7\n")
    with hub.db.transaction() as s:
        assert stock.import_levels(s, "acme", again, actor="t", ref="import:b.csv") == 1
        entries = s.execute(select(StockLedgerRow).order_by(StockLedgerRow.id)).scalars().all()
    assert [(e.location, e.delta, e.on_hand, e.reason) for e in entries] == [
        ("A1", 5, 5, "import"),
        ("B7", 2, 2, "import"),
        ("B7", 1, 3, "import"),
    ]
    assert entries[-1].ref == "import:b.csv:3"


def test_adjustments_need_a_reason_and_never_go_below_zero(hub):
    with hub.db.transaction() as s:
        assert stock.adjust(s, "acme", "MUG-1", "A1", 3, reason="receipt", actor="t") == 3
    with (
        pytest.raises(stock.StockError, match="has 3 on hand; cannot take 4"),
        hub.db.transaction() as s,
    ):
        stock.adjust(s, "acme", "MUG-1", "A1", -4, reason="damage", actor="t")
    with pytest.raises(stock.StockError, match="reason must be one of"), hub.db.transaction() as s:
        stock.adjust(s, "acme", "MUG-1", "A1", 1, reason="because", actor="t")
    with hub.db.transaction() as s:
        assert stock.levels(s, "acme", ["MUG-1"])[0]["on_hand"] == 3


def test_allocation_is_all_or_nothing_and_not_doubled(hub):
    with hub.db.transaction() as s:
        stock.adjust(s, "acme", "MUG-1", "A1", 2, reason="receipt", actor="t")
        stock.adjust(s, "acme", "MUG-2", "A1", 1, reason="receipt", actor="t")
    big = _order(hub, "1", [("MUG-1", 2), ("MUG-2", 2)])
    small = _order(hub, "2", [("MUG-1", 1), ("MUG-2", 1)])
    with hub.db.transaction() as s:
        assert stock.allocate(s, s.get(OrderRow, big)) == ["MUG-2: 2 wanted, 1 available"]
        assert stock.allocate(s, s.get(OrderRow, small)) == []
        assert stock.allocate(s, s.get(OrderRow, small)) == []  # again: nothing more held
        assert [lv["available"] for lv in stock.levels(s, "acme", ["MUG-1", "MUG-2"])] == [1, 0]
    with hub.db.transaction() as s:
        assert stock.deallocate(s, small) == 2
        assert [lv["available"] for lv in stock.levels(s, "acme", ["MUG-1", "MUG-2"])] == [2, 1]


def test_concurrent_orders_for_the_last_unit_exactly_one_wins(hub):
    with hub.db.transaction() as s:
        stock.adjust(s, "acme", "LAST-1", "A1", 1, reason="receipt", actor="t")
    orders = [_order(hub, f"o{i}", [("LAST-1", 1)]) for i in range(8)]
    results: dict[int, list[str]] = {}
    barrier = threading.Barrier(len(orders))

    def try_allocate(order_id: int) -> None:
        barrier.wait()
        with hub.db.transaction() as s:
            results[order_id] = stock.allocate(s, s.get(OrderRow, order_id))

    threads = [threading.Thread(target=try_allocate, args=(o,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [o for o, short in results.items() if not short]
    assert len(results) == 8 and len(winners) == 1
    with hub.db.transaction() as s:
        assert s.execute(select(func.sum(AllocationRow.quantity))).scalar_one() == 1


def test_stock_api_levels_ledger_and_adjustments(hub, client, viewer, editor):
    body = {"client": "acme", "sku": "MUG-1", "location": "A1", "delta": 4, "reason": "receipt"}
    assert client.post("/api/stock/adjustments", json=body, headers=viewer).status_code == 403
    r = client.post("/api/stock/adjustments", json=body, headers=editor)
    assert r.status_code == 201 and r.get_json()["on_hand"] == 4
    r = client.post(
        "/api/stock/adjustments", headers=editor, json={**body, "delta": -9, "reason": "damage"}
    )
    assert r.status_code == 422 and "cannot take 9" in r.get_json()["error"]["message"]
    r = client.post(
        "/api/stock/adjustments",
        headers=editor,
        json={"client": "acme", "sku": "MUG-1", "location": "A1", "on_hand": 10, "reason": "count"},
    )
    assert r.status_code == 201 and r.get_json()["on_hand"] == 10
    listed = client.get("/api/stock?client=acme", headers=viewer).get_json()["items"]
    assert listed == [
        {
            "client": "acme", "sku": "MUG-1", "on_hand": 10, "allocated": 0, "available": 10,
            "held": {"damaged": 0, "quarantine": 0},
        }
    ]  # fmt: skip
    ledger = client.get("/api/stock/ledger?sku=MUG-1", headers=viewer).get_json()["items"]
    assert [(e["delta"], e["reason"]) for e in ledger] == [(6, "count"), (4, "receipt")]
    assert (
        client.post("/api/stock/adjustments", json={"sku": "X"}, headers=editor).status_code == 400
    )


def test_cli_stock_import_reports_errors_by_line_and_applies_nothing(hub, tmp_path):
    env = dict(
        os.environ,
        HUB_DATABASE_URL=hub.settings.database_url,
        HUB_CONFIG=hub.settings.config,
        HUB_LOG_LEVEL="WARNING",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,on_hand\nMUG-1,5\nMUG-2,lots\n")
    out = subprocess.run(
        [HUB, "stock", "import", str(bad), "--client", "acme"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0 and "line 3: on_hand must be a whole number" in out.stderr
    assert "nothing was imported" in out.stderr
    with hub.db.transaction() as s:
        assert s.execute(select(func.count()).select_from(StockLedgerRow)).scalar_one() == 0
    good = tmp_path / "good.csv"
    good.write_text("sku,on_hand\nMUG-1,5\nMUG-2,7\n")
    out = subprocess.run(
        [HUB, "stock", "import", str(good), "--client", "acme"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "2 levels changed" in out.stdout
    with hub.db.transaction() as s:
        assert [lv["on_hand"] for lv in stock.levels(s, "acme", ["MUG-1", "MUG-2"])] == [5, 7]


def _import(hub, path, *args):
    from click.testing import CliRunner

    from hub.cli import cli

    env = {"HUB_DATABASE_URL": hub.settings.database_url, "HUB_CONFIG": hub.settings.config}
    return CliRunner().invoke(cli, ["stock", "import", str(path), *args], env=env)


def test_cli_stock_import_refuses_a_client_without_accounts(hub, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("sku,on_hand\nMUG-1,5\n")
    out = _import(hub, good, "--client", "default")
    assert out.exit_code == 1
    assert "client 'default' has no accounts" in out.output
    assert "(clients with accounts: acme); nothing was imported" in out.output
    with hub.db.transaction() as s:
        assert s.execute(select(func.count()).select_from(StockLedgerRow)).scalar_one() == 0
    out = _import(hub, good)  # acme is the only client with accounts: the default
    assert out.exit_code == 0, out.output
    assert "1 rows for client 'acme': 1 levels changed" in out.output


def test_cli_stock_import_asks_for_the_client_when_several_have_accounts(hub, tmp_path):
    config = Path(hub.settings.config)
    config.write_text(
        config.read_text()
        + '\n[accounts.beta-shop]\nconnector = "shopify"\nclient = "beta"\n'
        + 'shop = "beta.myshopify.com"\nwebhook_secrets = ["s"]\naccess_token = "t"\n'
    )
    good = tmp_path / "good.csv"
    good.write_text("sku,on_hand\nMUG-1,5\n")
    out = _import(hub, good)
    assert out.exit_code == 1
    assert "name the client this stock belongs to with --client" in out.output
    assert "(clients with accounts: acme, beta)" in out.output
    assert _import(hub, good, "--client", "beta").exit_code == 0


def test_cli_stock_import_writes_in_batches_with_every_row_and_entry(hub, tmp_path, monkeypatch):
    monkeypatch.setattr(stock, "IMPORT_BATCH", 3)
    commits = []
    monkeypatch.setattr(
        stock, "touched", lambda session, client, skus: commits.append(sorted(skus))
    )
    counts = tmp_path / "counts.csv"
    counts.write_text(
        "sku,on_hand,location\n" + "".join(f"SKU-{i},{i},A{i % 2}\n" for i in range(1, 9))
    )
    out = _import(hub, counts, "--client", "acme")
    assert out.exit_code == 0, out.output
    assert "8 rows for client 'acme': 8 levels changed" in out.output
    assert commits == [["SKU-1", "SKU-2", "SKU-3"], ["SKU-4", "SKU-5", "SKU-6"], ["SKU-7", "SKU-8"]]
    skus = [f"SKU-{i}" for i in range(1, 9)]
    with hub.db.transaction() as s:
        assert [lv["on_hand"] for lv in stock.levels(s, "acme", skus)] == list(range(1, 9))
        entries = s.execute(select(StockLedgerRow).order_by(StockLedgerRow.id)).scalars().all()
    assert [(e.sku, e.location, e.delta, e.ref) for e in entries] == [
        (f"SKU-{i}", f"A{i % 2}", i, f"import:counts.csv:{i + 1}") for i in range(1, 9)
    ]
    counts.write_text("sku,on_hand,location\nSKU-1,1,A1\nSKU-2,5,A0\n")  # only SKU-2 changes
    out = _import(hub, counts, "--client", "acme")
    assert "2 rows for client 'acme': 1 levels changed" in out.output
    with hub.db.transaction() as s:
        last = s.execute(select(StockLedgerRow).order_by(StockLedgerRow.id.desc())).scalar()
    assert (last.sku, last.delta, last.on_hand) == ("SKU-2", 3, 5)


def test_available_to_sell_takes_locations_allocations_share_and_buffers(hub):
    with hub.db.transaction() as s:
        stock.adjust(s, "acme", "MUG-1", "A1", 10, reason="receipt", actor="t")
        stock.adjust(s, "acme", "MUG-1", "RETURNS", 5, reason="return", actor="t")
        stock.adjust(s, "acme", "MUG-2", "A1", 3, reason="receipt", actor="t")
    order = _order(hub, "ats-1", [("MUG-1", 4)])
    with hub.db.transaction() as s:
        assert stock.allocate(s, s.get(OrderRow, order)) == []
        plain = stock.available_to_sell(s, "acme", ["MUG-1", "MUG-2", "MUG-3"])
        assert plain == {"MUG-1": 11, "MUG-2": 3, "MUG-3": 0}
        shop = stock.available_to_sell(
            s,
            "acme",
            ["MUG-1", "MUG-2"],
            locations=["A1"],
            buffer=1,
            buffers={"MUG-2": 5},
            share=0.5,
        )
        # MUG-1: (10 at A1 - 4 allocated) x 0.5 = 3, less 1; MUG-2: 1 - 5 is never below 0
        assert shop == {"MUG-1": 2, "MUG-2": 0}


def test_available_to_sell_over_the_api_uses_the_account_settings(
    tmp_path, database_url, accounts_file
):
    from hub.runtime import Hub
    from hub.storage import migrate
    from hub.web.app import create_app
    from tests.conftest import make_token

    config = tmp_path / "stock.toml"
    config.write_text(
        accounts_file.read_text().replace(
            'access_token = "shpat_test"',
            'access_token = "shpat_test"\nstock_buffer = 2\nstock_locations = ["A1"]',
        )
    )
    hub = Hub.from_env({"database_url": database_url, "config": str(config)})
    migrate.upgrade(hub.db)
    with hub.db.transaction() as s:
        stock.adjust(s, "acme", "MUG-1", "A1", 10, reason="receipt", actor="t")
        stock.adjust(s, "acme", "MUG-1", "B9", 10, reason="receipt", actor="t")
    client = create_app(hub=hub).test_client()
    headers = {"Authorization": f"Bearer {make_token(hub, 'viewer')}"}
    shop = client.get("/api/stock/available?account=shop-a", headers=headers).get_json()
    woo = client.get("/api/stock/available?account=woo-a", headers=headers).get_json()
    assert shop["items"] == [{"sku": "MUG-1", "available_to_sell": 8}]
    assert woo["items"] == [{"sku": "MUG-1", "available_to_sell": 20}]
    assert client.get("/api/stock/available?account=x", headers=headers).status_code == 404
    hub.close()
