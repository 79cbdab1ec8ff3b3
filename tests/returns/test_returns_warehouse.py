"""Returns and an outside warehouse (the file drop): an authorised return's advance notice
is written for the warehouse once, and the receipt the warehouse drops back receives and
inspects the return, putting resellable goods back on hand; a receipt read twice, or for
another client's return, changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from hub.stock import ledger
from hub.storage.models import ReturnRow, StockLevelRow
from tests.shipping import test_warehouse_file_drop as file_drop
from tests.shipping.test_warehouse_file_drop import (
    WAREHOUSE,
    _drop,
    _names,
    _poll,
    _released,
    _shipment_csv,
)

accounts_file = file_drop.accounts_file  # the file drop warehouse of client acme
drop_folder = file_drop.drop_folder

SKU = "IPOD2008RED"


def _shipped(hub, client, worker, viewer) -> dict:
    order = _released(hub, client, worker, viewer)
    row = f"{order['id']},royalmail,TPN24,RM123456789GB,{SKU},1,2026-11-26T10:00:00Z"
    _drop(Path(hub.accounts[WAREHOUSE].settings["folder"]) / "shipments", "ship-1.csv",
          _shipment_csv(row))  # fmt: skip
    assert _poll(hub) == {"applied": 1, "failed": 0}
    return order


def _open(client, editor, order_id: int, reason: str) -> int:
    line = {"sku": SKU, "quantity": 1, "reason": reason}
    body = {"order_id": order_id, "lines": [line]}
    return client.post("/api/returns", json=body, headers=editor).get_json()["id"]


def test_the_warehouse_is_told_and_its_receipt_puts_the_goods_back(
    hub, client, worker, viewer, editor, drop_folder
):
    order = _shipped(hub, client, worker, viewer)
    rid = _open(client, editor, order["id"], "size_too_small")
    client.post(f"/api/returns/{rid}/authorise", json={"tracking_number": "RT1GB"}, headers=editor)
    worker.drain()
    notice = json.loads((drop_folder / "returns" / f"return-{rid}.json").read_text())
    assert notice["return_id"] == rid and notice["order_id"] == order["id"]
    assert notice["lines"] == [{"sku": SKU, "quantity": 1, "reason": "size_too_small"}]
    assert notice["label"] == {"carrier": None, "tracking_number": "RT1GB"}
    events = client.get(f"/api/returns/{rid}", headers=viewer).get_json()["events"]
    assert [e["kind"] for e in events][-1] == "expected"
    with hub.db.transaction() as session:
        before = ledger.levels(session, "acme", [SKU])[0]["on_hand"]
    line = {"sku": SKU, "quantity": 1, "condition": "resellable", "grade": "A"}
    receipt = {"return_id": rid, "received_at": "2026-11-30T09:00:00Z", "lines": [line]}
    _drop(drop_folder / "returns_received", "back-1.json", json.dumps(receipt))
    assert _poll(hub) == {"applied": 1, "failed": 0}
    shown = client.get(f"/api/returns/{rid}", headers=viewer).get_json()
    assert shown["status"] == "inspected" and shown["received_at"] == "2026-11-30T09:00:00Z"
    assert shown["lines"][0]["condition"] == "resellable"
    with hub.db.transaction() as session:
        assert ledger.levels(session, "acme", [SKU])[0]["on_hand"] == before + 1
        assert (
            session.execute(
                select(StockLevelRow.on_hand).where(
                    StockLevelRow.sku == SKU, StockLevelRow.location == "MAIN"
                )
            ).scalar_one()
            == 1
        )
    _drop(drop_folder / "returns_received", "back-again.json", json.dumps(receipt))
    assert _poll(hub) == {"applied": 1, "failed": 0}  # read twice: nothing more
    with hub.db.transaction() as session:
        assert ledger.levels(session, "acme", [SKU])[0]["on_hand"] == before + 1
    assert _names(drop_folder / "returns_received" / "done") == ["back-1.json", "back-again.json"]


def test_a_bad_receipt_file_goes_to_failed_naming_the_problem(
    hub, client, worker, viewer, editor, drop_folder
):
    order = _shipped(hub, client, worker, viewer)
    rid = _open(client, editor, order["id"], "defective")
    bad = {"return_id": rid, "lines": [{"sku": SKU, "quantity": 1, "condition": "broken"}]}
    _drop(drop_folder / "returns_received", "bad.json", json.dumps(bad))
    assert _poll(hub) == {"applied": 0, "failed": 0}  # refused unread: never handed on
    reason = (drop_folder / "returns_received" / "failed" / "bad.json.error.txt").read_text()
    assert "condition: one of resellable, damaged, quarantine" in reason
    unknown = {"return_id": rid + 1000, "lines": [{"sku": SKU, "quantity": 1}]}
    _drop(drop_folder / "returns_received", "unknown.json", json.dumps(unknown))
    assert _poll(hub) == {"applied": 0, "failed": 1}
    with hub.db.transaction() as session:
        assert session.get(ReturnRow, rid).status == "requested"
