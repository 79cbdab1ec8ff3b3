"""Webhook intake end to end on a real database: verify, store, dedupe, translate, read back."""

from __future__ import annotations

import copy
import json

from sqlalchemy import func, select

from hub.storage.models import DeliveryRow, JobRow, OrderEventRow, OrderRow
from tests.conftest import (
    payload_bytes,
    shopify_headers,
    shopify_order,
    woo_headers,
    woo_order,
)


def _count(hub, model, *where) -> int:
    with hub.db.transaction() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _orders(client, headers, **params):
    r = client.get("/api/orders", query_string=params, headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["items"]


def test_shopify_delivery_is_stored_then_translated_by_the_worker(hub, client, worker, viewer):
    body = json.dumps(shopify_order()).encode()
    r = client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    assert r.status_code == 202
    assert r.get_json()["duplicate"] is False
    # stored raw, not yet translated: translation never happens in the request
    with hub.db.transaction() as s:
        row = s.execute(select(DeliveryRow)).scalar_one()
        assert row.body == body and row.status == "received"
        assert row.headers["X-Shopify-Topic"] == "orders/create"
        assert row.event_id
    assert _orders(client, viewer) == []
    assert worker.drain() == 2  # the translation, then the release it queued (paid and open)
    [order] = _orders(client, viewer, channel="shopify")
    assert order["external_id"] == "450789469"
    assert order["client"] == "acme" and order["account"] == "shop-a"
    assert order["totals"]["total"] == shopify_order()["current_total_price"]
    assert order["placed_at"].endswith("Z")
    full = client.get(f"/api/orders/{order['id']}", headers=viewer).get_json()
    assert full.pop("shipments") == []  # the single order also shows its shipments
    assert full["tracking_page"] is None  # no page until something ships
    assert full == order
    events = client.get(f"/api/orders/{order['id']}/events", headers=viewer).get_json()["items"]
    # no stock in the ledger: the ready order waits, saying what it lacks
    assert [e["kind"] for e in events] == ["received", "waiting_for_stock"]
    assert events[0]["delivery_id"] is not None
    assert "IPOD2008RED: 1 wanted, 0 available" in events[1]["message"]


def test_the_same_delivery_twice_has_one_effect(hub, client, worker, viewer):
    body = json.dumps(shopify_order()).encode()
    headers = shopify_headers(body, webhook_id="retry-me")
    first = client.post("/webhooks/shop-a", data=body, headers=headers)
    again = client.post("/webhooks/shop-a", data=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.get_json()["duplicate"] is True
    assert again.get_json()["delivery_id"] == first.get_json()["delivery_id"]
    assert _count(hub, DeliveryRow) == 1 and _count(hub, JobRow) == 1
    worker.drain()
    assert len(_orders(client, viewer)) == 1


def test_woocommerce_redelivery_with_a_new_delivery_id_is_stored_once(hub, client, worker):
    body = payload_bytes("woocommerce", "order_get_v3_response.json")
    for _ in range(2):  # woo_headers makes a fresh X-WC-Webhook-Delivery-ID each time
        assert (
            client.post("/webhooks/woo-a", data=body, headers=woo_headers(body)).status_code == 202
        )
    assert _count(hub, DeliveryRow) == 1
    changed = woo_order()
    changed["date_modified_gmt"] = "2017-03-23T10:00:00"
    body2 = json.dumps(changed).encode()
    client.post("/webhooks/woo-a", data=body2, headers=woo_headers(body2, "order.updated"))
    assert _count(hub, DeliveryRow) == 2
    worker.drain()
    assert _count(hub, OrderRow) == 1


def test_an_older_update_never_overwrites_newer_data(hub, client, worker, viewer):
    newer = shopify_order()
    newer["updated_at"] = "2024-05-01T12:00:00-04:00"
    newer["note"] = "newest note"
    older = copy.deepcopy(shopify_order())
    older["updated_at"] = "2024-05-01T11:00:00-04:00"
    older["note"] = "stale note"
    for order, topic in ((newer, "orders/updated"), (older, "orders/updated")):
        body = json.dumps(order).encode()
        client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body, topic))
    worker.drain()
    [order] = _orders(client, viewer)
    assert order["notes"] == "newest note"
    events = client.get(f"/api/orders/{order['id']}/events", headers=viewer).get_json()["items"]
    assert [e["kind"] for e in events] == ["received", "stale_update_ignored", "waiting_for_stock"]


def test_an_update_for_an_unseen_order_is_applied(hub, client, worker, viewer):
    order = shopify_order()
    order["financial_status"] = "paid"
    body = json.dumps(order).encode()
    r = client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body, "orders/paid"))
    assert r.status_code == 202
    worker.drain()
    [stored] = _orders(client, viewer)
    assert stored["external_id"] == str(order["id"])


def test_cancellation_then_late_paid_update_keeps_the_cancellation(hub, client, worker, viewer):
    paid = shopify_order()
    paid["updated_at"] = "2024-05-01T10:00:00Z"
    cancelled = copy.deepcopy(paid)
    cancelled["updated_at"] = "2024-05-01T11:00:00Z"
    cancelled["cancelled_at"] = "2024-05-01T11:00:00Z"
    for order, topic in ((cancelled, "orders/cancelled"), (paid, "orders/paid")):
        body = json.dumps(order).encode()
        client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body, topic))
    worker.drain()
    [stored] = _orders(client, viewer)
    assert stored["status"] == "cancelled"


def test_status_follows_payment(hub, client, worker, viewer):
    order = shopify_order()
    order["financial_status"] = "pending"
    order["updated_at"] = "2024-05-01T10:00:00Z"
    body = json.dumps(order).encode()
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    worker.drain()
    assert _orders(client, viewer)[0]["status"] == "awaiting_payment"
    order["financial_status"] = "paid"
    order["updated_at"] = "2024-05-01T10:05:00Z"
    body = json.dumps(order).encode()
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body, "orders/paid"))
    worker.drain()
    [stored] = _orders(client, viewer)
    assert stored["status"] == "ready"
    events = client.get(f"/api/orders/{stored['id']}/events", headers=viewer).get_json()["items"]
    updated = [e for e in events if e["kind"] == "updated"][-1]
    assert "status" in updated["data"]["changed"]
    assert events[-1]["kind"] == "waiting_for_stock"  # ready now: the release is tried


def test_woocommerce_order_deleted_cancels_it(hub, client, worker, viewer):
    body = payload_bytes("woocommerce", "order_get_v3_response.json")
    client.post("/webhooks/woo-a", data=body, headers=woo_headers(body))
    gone = b'{"id":727}'
    r = client.post("/webhooks/woo-a", data=gone, headers=woo_headers(gone, "order.deleted"))
    assert r.status_code == 202
    worker.drain()
    [order] = _orders(client, viewer, channel="woocommerce")
    assert order["status"] == "cancelled"
    events = client.get(f"/api/orders/{order['id']}/events", headers=viewer).get_json()["items"]
    assert events[-1]["kind"] == "removed_on_channel"


def test_woocommerce_sample_needs_attention_for_the_line_without_sku(hub, client, worker, viewer):
    body = payload_bytes("woocommerce", "order_get_v3_response.json")
    client.post("/webhooks/woo-a", data=body, headers=woo_headers(body))
    worker.drain()
    [order] = _orders(client, viewer, status="needs_attention")
    events = client.get(f"/api/orders/{order['id']}/events", headers=viewer).get_json()["items"]
    assert events[-1]["kind"] == "needs_attention"
    assert "no SKU" in events[-1]["message"]


def test_a_rotated_secret_still_verifies(client):
    body = json.dumps(shopify_order()).encode()
    r = client.post(
        "/webhooks/shop-a", data=body, headers=shopify_headers(body, secret="shop-a-old-secret")
    )
    assert r.status_code == 202


def test_woocommerce_ping_answers_200_and_stores_nothing(hub, client):
    r = client.post(
        "/webhooks/woo-a",
        data=b"webhook_id=15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200
    assert _count(hub, DeliveryRow) == 0


def test_an_unhandled_topic_is_recorded_and_ignored(hub, client, worker):
    body = b'{"id": 1, "title": "a product"}'
    r = client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body, "products/update"))
    assert r.status_code == 202
    assert r.get_json()["status"] == "ignored"
    assert worker.drain() == 0
    with hub.db.transaction() as s:
        row = s.execute(select(DeliveryRow)).scalar_one()
        assert row.status == "ignored" and "products/update" in row.error


def test_malformed_json_with_a_valid_signature_is_kept_as_a_failure(
    hub, client, worker, viewer, editor
):
    body = b'{"id": 5, "line_items": [ oops'
    r = client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    assert r.status_code == 202
    worker.drain()
    failures = client.get(
        "/api/deliveries", query_string={"status": "failed"}, headers=viewer
    ).get_json()["items"]
    assert len(failures) == 1
    assert "not valid JSON" in failures[0]["error"]
    detail = client.get(f"/api/deliveries/{failures[0]['id']}", headers=viewer).get_json()
    assert detail["body"] == body.decode()
    # the job is done (the failure is data), nothing is dead
    assert _count(hub, JobRow, JobRow.status == "dead") == 0
    # replay is there for after a fix; the same bytes fail the same way
    r = client.post(f"/api/deliveries/{failures[0]['id']}/replay", headers=editor)
    assert r.status_code == 202
    worker.drain()
    assert _count(hub, DeliveryRow, DeliveryRow.status == "failed") == 1


def test_an_untranslatable_update_is_noted_on_the_known_orders_timeline(
    hub, client, worker, viewer
):
    order = shopify_order()
    body = json.dumps(order).encode()
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    broken = dict(order, current_total_price="twelve", updated_at="2030-01-01T00:00:00Z")
    body = json.dumps(broken).encode()
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body, "orders/updated"))
    worker.drain()
    [stored] = _orders(client, viewer)
    assert stored["totals"]["total"] == order["current_total_price"]
    events = client.get(f"/api/orders/{stored['id']}/events", headers=viewer).get_json()["items"]
    [failed] = [e for e in events if e["kind"] == "translation_failed"]
    assert "current_total_price" in failed["message"]


def test_64_bit_ids_survive_exactly(hub, client, worker, viewer):
    order = shopify_order()
    order["id"] = 9007199254740993  # 2**53 + 1: a float would turn it into ...992
    body = json.dumps(order).encode()
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    worker.drain()
    [stored] = _orders(client, viewer, external_id="9007199254740993")
    assert stored["external_id"] == "9007199254740993"


def test_float_prices_stay_exact(hub, client, worker, viewer):
    order = woo_order()
    raw = (
        json.dumps(order)
        .replace('"price": 12', '"price": 12.10')
        .replace('"total": "29.35"', '"total": 29.35')
    )
    body = raw.encode()
    assert b"29.35," in body or b"29.35}" in body
    client.post("/webhooks/woo-a", data=body, headers=woo_headers(body))
    worker.drain()
    [stored] = _orders(client, viewer, channel="woocommerce")
    assert stored["totals"]["total"] == "29.35"
    assert _count(hub, OrderEventRow) >= 1


def test_concurrent_deliveries_are_each_stored_once_with_their_jobs(hub):
    """Many request threads at once (the group-commit path), repeats and two accounts mixed."""
    from concurrent.futures import ThreadPoolExecutor

    from hub.connectors import Delivery
    from hub.intake.inbox import accept

    shop, woo = hub.accounts["shop-a"], hub.accounts["woo-a"]

    def send(i: int):
        account = shop if i % 2 else woo
        key = f"key-{i % 40}"  # 80 sends: each (account, key) twice
        topic = "orders/create" if account is shop else "order.created"
        if i % 10 == 0:
            topic = "products/update" if account is shop else "product.updated"  # ignored
        return accept(
            hub, account, Delivery(topic=topic, dedupe_key=key), b"{}", "application/json"
        )

    # i and i + 40 share account, key and topic: each delivery is sent twice
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(send, range(80)))
    by_key: dict[tuple[str, str], list] = {}
    for i, result in enumerate(results):
        by_key.setdefault(("woo" if i % 2 == 0 else "shop", f"key-{i % 40}"), []).append(result)
    assert len(by_key) == 40
    for pair in by_key.values():
        assert len({r.delivery_id for r in pair}) == 1  # both sends name one delivery
        assert sorted(r.duplicate for r in pair) == [False, True]
    assert _count(hub, DeliveryRow) == 40
    ignored = _count(hub, DeliveryRow, DeliveryRow.status == "ignored")
    assert ignored == 4
    assert _count(hub, JobRow) == 40 - ignored


def test_a_delivery_and_its_translate_job_are_stored_together(hub, client):
    """On both databases (PostgreSQL: one statement for the delivery and its job) the job
    names its delivery, is due at once and has the configured attempts; an ignored topic's
    delivery gets none."""
    body = json.dumps(shopify_order()).encode()
    r = client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    assert r.status_code == 202
    ignored = b'{"id": 1}'
    headers = shopify_headers(ignored, "products/update")
    assert client.post("/webhooks/shop-a", data=ignored, headers=headers).status_code == 202
    with hub.db.transaction() as s:
        handled, skipped = s.execute(select(DeliveryRow).order_by(DeliveryRow.id)).scalars()
        [job] = s.execute(select(JobRow)).scalars().all()
        assert (job.kind, job.payload, job.status, job.attempts) == (
            "translate", {"delivery_id": handled.id}, "queued", 0
        )  # fmt: skip
        assert job.max_attempts == hub.settings.job_max_attempts
        assert job.run_at == job.created_at == handled.received_at
        assert skipped.status == "ignored"


def _deliveries(hub) -> list[tuple[str, str | None]]:
    with hub.db.transaction() as s:
        rows = s.execute(select(DeliveryRow).order_by(DeliveryRow.id)).scalars().all()
        return [(row.status, row.error) for row in rows]


def test_a_value_longer_than_its_column_fails_the_delivery_and_holds_the_order(
    hub, client, worker, viewer
):
    order = shopify_order()
    body = json.dumps(order).encode()
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    worker.drain()
    long = dict(order, name="#" + "9" * 120, updated_at="2030-01-01T00:00:00Z")
    long["line_items"] = [dict(order["line_items"][0], sku="S" * 201)]
    body = json.dumps(long).encode()
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body, "orders/updated"))
    worker.drain()  # the same on SQLite, which would keep it, and PostgreSQL, which would raise
    status, error = _deliveries(hub)[-1]
    assert status == "failed"
    assert "number is 121 characters long; at most 100 are kept" in error
    assert "line_items[0].sku is 201 characters long" in error
    [stored] = _orders(client, viewer)
    assert stored["status"] == "needs_attention" and stored["number"] == order["name"]
    events = client.get(f"/api/orders/{stored['id']}/events", headers=viewer).get_json()["items"]
    assert [e["kind"] for e in events][-2:] == ["translation_failed", "needs_attention"]


def test_a_failure_while_applying_an_order_fails_the_delivery_not_the_job(
    hub, client, worker, viewer, monkeypatch
):
    from hub.shipping import release

    order = shopify_order()
    body = json.dumps(order).encode()
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    worker.drain()

    def broken(*args, **kwargs):
        raise ValueError("release step broke")

    monkeypatch.setattr(release, "after_change", broken)
    changed = dict(order, note="changed", updated_at="2030-01-01T00:00:00Z")
    body = json.dumps(changed).encode()
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body, "orders/updated"))
    worker.drain()
    assert _deliveries(hub)[-1] == (
        "failed",
        "could not apply the order: ValueError: release step broke",
    )
    assert _count(hub, JobRow, JobRow.status == "dead") == 0
    [stored] = _orders(client, viewer)
    assert stored["notes"] != "changed"  # the update's own changes were rolled back
    assert stored["status"] == "needs_attention"


def test_a_replayed_body_with_a_new_webhook_id_changes_nothing(hub, client, worker, viewer):
    from hub.canonical import OrderStatus
    from hub.orders import store as orders

    body = json.dumps(shopify_order()).encode()
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    worker.drain()
    [order] = _orders(client, viewer)
    with hub.db.transaction() as s:  # the hub moved the order on since (a person holds it)
        row = s.get(OrderRow, order["id"])
        orders.move(s, row, OrderStatus.NEEDS_ATTENTION, "needs_attention", "held by hand")
    for topic in ("orders/create", "orders/updated"):  # the same bytes, new webhook ids
        client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body, topic))
    worker.drain()
    assert _count(hub, DeliveryRow) == 3  # each kept as history
    [stored] = _orders(client, viewer)
    assert stored["status"] == "needs_attention"  # not moved back to ready by the replay
    events = client.get(f"/api/orders/{order['id']}/events", headers=viewer).get_json()["items"]
    kinds = [e["kind"] for e in events]
    assert kinds.count("replay_ignored") == 2 and "updated" not in kinds
    # the same time but different content is a real update (two edits within a second)
    changed = dict(shopify_order(), note="a second edit")
    body = json.dumps(changed).encode()
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body, "orders/updated"))
    worker.drain()
    [stored] = _orders(client, viewer)
    assert stored["notes"] == "a second edit"
