"""Release to the built-in ledger: allocation when ready, waiting when short, released when
stock arrives, stock given back on cancellation."""

from __future__ import annotations

from sqlalchemy import select

from hub.stock import ledger
from hub.storage.models import AllocationRow
from tests.conftest import (
    only_order,
    order_events,
    receive,
    send_shopify,
    shopify_order,
)


def test_a_ready_order_with_stock_is_allocated_and_released(hub, client, worker, viewer):
    receive(hub, "IPOD2008RED", 3)
    send_shopify(client, shopify_order())  # paid and open; only the RED line is still owed
    worker.drain()
    order = only_order(client, viewer)
    assert order["status"] == "released"
    assert [e["kind"] for e in order_events(client, viewer, order["id"])] == [
        "received",
        "released",
    ]
    with hub.db.transaction() as s:
        held = s.execute(select(AllocationRow.sku, AllocationRow.quantity)).all()
        assert held == [("IPOD2008RED", 1)]
        assert ledger.levels(s, "acme", ["IPOD2008RED"])[0]["available"] == 2


def test_short_of_stock_it_waits_then_is_released_when_stock_arrives(
    hub, client, worker, viewer, editor
):
    order = shopify_order()
    send_shopify(client, order)
    worker.drain()
    waiting = only_order(client, viewer)
    assert waiting["status"] == "ready"
    # another update of the waiting order tries again but does not repeat itself
    send_shopify(
        client, dict(order, note="gift wrap", updated_at="2030-01-01T00:00:00Z"), "orders/updated"
    )
    worker.drain()
    kinds = [e["kind"] for e in order_events(client, viewer, waiting["id"])]
    assert kinds == ["received", "waiting_for_stock", "updated"]
    r = client.post(
        "/api/stock/adjustments",
        headers=editor,
        json={
            "client": "acme",
            "sku": "IPOD2008RED",
            "location": "A1",
            "delta": 1,
            "reason": "receipt",
        },
    )
    assert r.status_code == 201
    worker.drain()
    assert only_order(client, viewer)["status"] == "released"
    assert order_events(client, viewer, waiting["id"])[-1]["kind"] == "released"


def test_the_last_unit_goes_to_the_first_order_and_the_next_waits(hub, client, worker, viewer):
    receive(hub, "IPOD2008RED", 1)
    first, second = shopify_order(), shopify_order()
    second["id"] = 450789470
    send_shopify(client, first)
    send_shopify(client, second)
    worker.drain()
    statuses = {
        o["external_id"]: o["status"]
        for o in client.get("/api/orders", headers=viewer).get_json()["items"]
    }
    assert statuses == {"450789469": "released", "450789470": "ready"}


def test_a_cancelled_order_gives_its_stock_back(hub, client, worker, viewer):
    receive(hub, "IPOD2008RED", 1)
    order = shopify_order()
    send_shopify(client, order)
    worker.drain()
    assert only_order(client, viewer)["status"] == "released"
    cancelled = dict(order, cancelled_at="2030-01-01T00:00:00Z", updated_at="2030-01-01T00:00:00Z")
    send_shopify(client, cancelled, "orders/cancelled")
    worker.drain()
    gone = only_order(client, viewer)
    assert gone["status"] == "cancelled"
    assert order_events(client, viewer, gone["id"])[-1]["kind"] == "deallocated"
    with hub.db.transaction() as s:
        assert s.execute(select(AllocationRow)).first() is None
        assert ledger.levels(s, "acme", ["IPOD2008RED"])[0]["available"] == 1
