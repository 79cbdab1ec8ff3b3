"""Reconciliation against missed webhooks: some of a shop's webhooks are dropped on purpose,
one order arrives stale, and the timed poll takes every one of them in through the inbox."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import responses
from sqlalchemy import select

from hub.intake import reconcile
from hub.jobs import outbox
from hub.storage import account_state
from hub.storage.models import DeliveryRow, JobRow, OrderRow
from hub.values import dumps, loads, now
from tests.conftest import send_shopify, shopify_order

ORDERS = "https://shop-a.myshopify.com/admin/api/2026-10/orders.json"


def _shop_orders() -> list[dict]:
    """Three orders as the shop holds them now."""
    out = []
    for i, order_id in enumerate((9001, 9002, 9003)):
        order = copy.deepcopy(shopify_order())
        order["id"] = order_id
        order["name"] = f"#90{i}"
        order["updated_at"] = f"2030-01-0{i + 1}T10:00:00Z"
        out.append(order)
    return out


def test_a_poll_recovers_every_order_whose_webhook_was_lost(hub, client, worker, viewer):
    shop = _shop_orders()
    # the hub heard of 9001 only, in an older version; 9002 and 9003 never arrived
    old = copy.deepcopy(shop[0])
    old["updated_at"] = "2029-12-31T10:00:00Z"
    old["note"] = "before the change"
    send_shopify(client, old)
    worker.drain()
    with responses.RequestsMock() as mock:
        mock.get(ORDERS, json={"orders": shop})
        report = reconcile.reconcile_account(hub, hub.accounts["shop-a"])
        sent = mock.calls[0].request.url
    assert "status=any" in sent and "updated_at_min=" in sent
    assert {k: report[k] for k in ("seen", "missing", "stale", "current", "taken_in")} == {
        "seen": 3,
        "missing": 2,
        "stale": 1,
        "current": 0,
        "taken_in": 3,
    }
    worker.drain()
    with hub.db.transaction() as s:
        orders = {o.external_id: o for o in s.execute(select(OrderRow)).scalars().all()}
        assert sorted(orders) == ["9001", "9002", "9003"]
        assert orders["9001"].data["notes"] != "before the change"  # the newer version won
        sources = s.execute(select(DeliveryRow.headers, DeliveryRow.status)).all()
        recovered = [st for h, st in sources if (h or {}).get("X-Hub-Source") == "reconcile"]
        assert recovered == ["processed"] * 3
    # the next pass, overlapping the last window, finds nothing new
    with responses.RequestsMock() as mock:
        mock.get(ORDERS, json={"orders": shop})
        again = reconcile.reconcile_account(hub, hub.accounts["shop-a"])
    assert again["current"] == 3 and again["taken_in"] == 0
    assert again["since"] < report["until"]  # overlapping windows


def test_the_timed_pass_queues_one_job_per_account_and_keeps_its_window(hub, worker):
    with hub.db.transaction() as s:
        account_state.save(
            s, "shop-a", reconcile.STATE, {"until": (now() - timedelta(hours=2)).isoformat()}
        )
        outbox.enqueue(s, reconcile.RECONCILE_ALL, {"slot": 1}, max_attempts=3)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(ORDERS, json={"orders": []})
        mock.get("https://woo-a.example/wp-json/wc/v3/orders", json=[])
        worker.drain()
        shopify_call = next(c for c in mock.calls if c.request.url.startswith(ORDERS))
    # the window starts an hour (the overlap) before the last one ended
    assert "updated_at_min=" in shopify_call.request.url
    with hub.db.transaction() as s:
        kept = account_state.load(s, "shop-a", reconcile.STATE)
        assert kept["seen"] == 0 and kept["until"] > (now() - timedelta(minutes=5)).isoformat()
        done = s.execute(select(JobRow.status).where(JobRow.kind == reconcile.RECONCILE))
        assert sorted(done.scalars()) == ["done", "done"]  # shop-a and woo-a


def test_bodies_taken_in_keep_numbers_as_numbers():
    body = b'{"id": 1, "total_price": 24.99, "tax_lines": [{"rate": 0.175}]}'
    assert dumps(loads(body)) == '{"id":1,"total_price":24.99,"tax_lines":[{"rate":0.175}]}'
    assert json.loads(dumps(loads(body)))["total_price"] == 24.99


def test_a_listed_orders_version_is_read_by_its_translator_by_default(hub):
    """A channel that lists orders as its webhooks carry them needs no ``order_version`` of
    its own: the translator's id and update time are what the pass compares."""
    shopify = hub.connector(hub.accounts["shop-a"])
    order = _shop_orders()[1]
    assert shopify.order_version(order) == ("9002", datetime(2030, 1, 2, 10, 0, tzinfo=UTC))
    assert shopify.order_version({"id": 9002, "updated_at": "not a time"}) == (None, None)
