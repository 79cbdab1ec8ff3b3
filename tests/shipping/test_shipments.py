"""Pack confirmations on a real database: stock moves out, allocations are released, the order
becomes partially shipped or shipped, and the same confirmation twice has one effect."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from hub.stock import ledger
from hub.storage.models import AllocationRow, ParcelRow
from tests.conftest import (
    QUIET_ROYALMAIL,
    accounts_fixture,
    set_quantity,
    shopify_headers,
    shopify_order,
)

accounts_file = accounts_fixture(QUIET_ROYALMAIL)


def _released_order(hub, client, worker, viewer, red: int = 1) -> dict:
    """The Shopify 2024-04 order, its RED line owed twice, released against stock."""
    with hub.db.transaction() as s:
        ledger.adjust(s, "acme", "IPOD2008RED", "B2", 1, reason="receipt", actor="t")
        ledger.adjust(s, "acme", "IPOD2008RED", "A1", 2, reason="receipt", actor="t")
    order = shopify_order()
    set_quantity(order, 1, 2)
    body = json.dumps(order).encode()
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    worker.drain()
    [released] = client.get("/api/orders", headers=viewer).get_json()["items"]
    assert released["status"] == "released"
    return released


def _parcel(tracking: str, quantity: int, **line) -> dict:
    return {
        "carrier": "royalmail",
        "service": "TPN24",
        "tracking_number": tracking,
        "lines": [{**(line or {"sku": "IPOD2008RED"}), "quantity": quantity}],
    }


def test_two_parcels_ship_the_order_and_move_stock_out(hub, client, worker, viewer, editor):
    order = _released_order(hub, client, worker, viewer)
    first = {
        "order_id": order["id"],
        "shipped_at": "2026-11-26T10:00:00Z",
        "parcels": [_parcel("RM1", 1, line_id="518995019")],
    }
    assert client.post("/api/shipments", json=first, headers=viewer).status_code == 403
    r = client.post("/api/shipments", json=first, headers=editor)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["order_status"] == "partially_shipped"
    again = client.post("/api/shipments", json=first, headers=editor)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    r = client.post(
        "/api/shipments",
        headers=editor,
        json={"order_id": order["id"], "parcels": [_parcel("RM2", 1)]},
    )
    assert r.status_code == 201 and r.get_json()["order_status"] == "shipped"
    shown = client.get(f"/api/orders/{order['id']}", headers=viewer).get_json()
    assert shown["status"] == "shipped"
    assert [p["tracking_number"] for s in shown["shipments"] for p in s["parcels"]] == [
        "RM1",
        "RM2",
    ]
    assert shown["shipments"][0]["parcels"][0]["status"] == "label_created"
    assert shown["shipments"][0]["parcels"][0]["lines"][0]["line_id"] == "518995019"
    with hub.db.transaction() as s:
        # taken from the locations in order (A1 first), nothing left allocated
        assert ledger.levels(s, "acme", ["IPOD2008RED"])[0] == {
            "client": "acme",
            "sku": "IPOD2008RED",
            "on_hand": 1,
            "allocated": 0,
            "available": 1,
        }
        assert s.execute(select(func.count()).select_from(AllocationRow)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(ParcelRow)).scalar_one() == 2
    events = client.get(f"/api/orders/{order['id']}/events", headers=viewer).get_json()["items"]
    assert [e["kind"] for e in events][-2:] == ["shipped", "shipped"]
    assert "royalmail RM2" in events[-1]["message"]


def test_bad_shipments_are_refused_with_the_reason(hub, client, worker, viewer, editor):
    order = _released_order(hub, client, worker, viewer)

    def post(body):
        r = client.post("/api/shipments", json=body, headers=editor)
        return r.status_code, r.get_json()["error"]["message"]

    oid = order["id"]
    assert post({"order_id": 999, "parcels": [_parcel("X", 1)]})[0] == 404
    code, message = post({"order_id": oid, "parcels": [_parcel("X", 3)]})
    assert code == 422 and "more shipped than ordered: lines[1]: 3 shipped, 2 ordered" in message
    code, message = post({"order_id": oid, "parcels": [{**_parcel("X", 1), "carrier": "pigeon"}]})
    assert code == 422 and message == (
        "parcels[0].carrier: one of dhl, dpd, dpd_uk, evri, fedex, royalmail, ups, usps, "
        "not 'pigeon'"
    )
    code, message = post({"order_id": oid, "parcels": [_parcel("X", 1, sku="NOPE")]})
    assert code == 422 and "no line with sku 'NOPE'" in message
    code, message = post({"order_id": oid, "parcels": [_parcel("", 1)]})
    assert code == 422 and "tracking_number: required" in message
    assert post({"order_id": oid, "parcels": []})[0] == 422
    with hub.db.transaction() as s:
        assert s.execute(select(func.count()).select_from(ParcelRow)).scalar_one() == 0


def test_only_released_orders_ship(hub, client, worker, viewer, editor):
    body = json.dumps(shopify_order()).encode()  # no stock: the order waits, ready
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    worker.drain()
    [order] = client.get("/api/orders", headers=viewer).get_json()["items"]
    r = client.post(
        "/api/shipments",
        headers=editor,
        json={"order_id": order["id"], "parcels": [_parcel("RM9", 1)]},
    )
    assert r.status_code == 409 and "is ready" in r.get_json()["error"]["message"]


def test_pick_list_walks_the_locations_once_for_a_batch(hub, client, worker, viewer):
    with hub.db.transaction() as s:
        ledger.adjust(s, "acme", "IPOD2008RED", "B2", 2, reason="receipt", actor="t")
        ledger.adjust(s, "acme", "IPOD2008RED", "A1", 1, reason="receipt", actor="t")
    for external in (1001, 1002):
        order = shopify_order()
        order["id"] = external
        order["name"] = f"#{external}"
        set_quantity(order, 1, 1 if external == 1001 else 2)
        body = json.dumps(order).encode()
        client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    worker.drain()
    picks = client.get("/api/picklists?client=acme", headers=viewer).get_json()
    assert len(picks["orders"]) == 2 and picks["unlocated"] == []
    assert [(ln["location"], ln["sku"], ln["quantity"]) for ln in picks["lines"]] == [
        ("A1", "IPOD2008RED", 1),
        ("B2", "IPOD2008RED", 2),
    ]
    assert [(o["number"], o["quantity"]) for o in picks["lines"][1]["orders"]] == [("#1002", 2)]
    assert [(o["number"], o["quantity"]) for o in picks["lines"][0]["orders"]] == [("#1001", 1)]
    one = client.get("/api/picklists?client=acme&limit=1", headers=viewer).get_json()
    assert len(one["orders"]) == 1
    assert client.get("/api/picklists?limit=0", headers=viewer).status_code == 400


def test_pick_list_sums_one_orders_lines_of_the_same_sku(hub, client, worker, viewer):
    with hub.db.transaction() as s:
        ledger.adjust(s, "acme", "IPOD2008RED", "A1", 1, reason="receipt", actor="t")
        ledger.adjust(s, "acme", "IPOD2008RED", "B2", 5, reason="receipt", actor="t")
    order = shopify_order()
    order["line_items"][0].update(sku="IPOD2008RED")
    set_quantity(set_quantity(order, 0, 1), 1, 1)
    body = json.dumps(order).encode()
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    worker.drain()
    picks = client.get("/api/picklists?client=acme", headers=viewer).get_json()
    assert [(ln["location"], ln["quantity"]) for ln in picks["lines"]] == [("A1", 1), ("B2", 1)]
    for line in picks["lines"]:
        assert [(o["number"], o["quantity"]) for o in line["orders"]] == [(order["name"], 1)]
    # two lines of one SKU on one shelf: one entry for the order, quantities summed
    with hub.db.transaction() as s:
        ledger.adjust(s, "acme", "IPOD2008RED", "A1", 5, reason="receipt", actor="t")
    picks = client.get("/api/picklists?client=acme", headers=viewer).get_json()
    [a1] = [ln for ln in picks["lines"] if ln["location"] == "A1"]
    assert a1["quantity"] == 2
    assert [(o["number"], o["quantity"]) for o in a1["orders"]] == [(order["name"], 2)]
