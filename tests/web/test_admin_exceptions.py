"""The console's exceptions queue: what needs a person, with its reason, and the actions on it
(Replay, Retry, Discard, Retry all), for editors only, each audited with the person's email."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select, update

from hub.jobs import outbox
from hub.storage.models import AuditRow, DeliveryRow, JobRow, OrderRow, ParcelRow, ShipmentRow
from hub.values import now
from tests.conftest import csrf_token, make_person, shopify_headers, shopify_order, sign_in


def _signed_in(hub, client, role: str, clients: list[str] | None = None) -> str:
    email = make_person(hub, f"{role}@example.com", role, clients)
    assert sign_in(client, email).status_code == 302
    return email


def _malformed(client, worker) -> int:
    """A delivery that passed its signature check but is not JSON: kept, failed."""
    body = b'{"id": 5, "line_items": [ oops'
    assert client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body)).status_code
    worker.drain()
    hub = client.application.extensions["hub"]
    with hub.db.transaction() as session:
        return session.execute(select(func.max(DeliveryRow.id))).scalar_one()


def _order(client, worker, order_id: int = 820982911946154508) -> int:
    order = dict(shopify_order(), id=order_id)
    body = json.dumps(order).encode()
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    worker.drain()
    hub = client.application.extensions["hub"]
    with hub.db.transaction() as session:
        return session.execute(
            select(OrderRow.id).where(OrderRow.external_id == str(order_id))
        ).scalar_one()


def _dead_job(hub) -> int:
    with hub.db.transaction() as session:
        outbox.enqueue(session, "stock.push", {"account": "shop-a"}, max_attempts=1)
        session.execute(
            update(JobRow)
            .where(JobRow.kind == "stock.push")
            .values(status="dead", attempts=1, last_error="the channel said 422: no such item")
        )
        return session.execute(select(JobRow.id).where(JobRow.kind == "stock.push")).scalar_one()


def _status(hub, model, row_id: int) -> str:
    with hub.db.transaction() as session:
        return session.get(model, row_id).status


def _audit(hub) -> list[tuple[str, str, str]]:
    with hub.db.transaction() as session:
        rows = session.execute(select(AuditRow).order_by(AuditRow.id)).scalars()
        return [(r.actor, r.action, r.target) for r in rows if r.action != "user.sign_in"]


def test_a_failed_delivery_shows_with_its_reason_and_a_replay_button(hub, client, worker):
    delivery_id = _malformed(client, worker)
    _signed_in(hub, client, "editor")
    page = client.get("/admin/exceptions")
    assert page.status_code == 200
    assert "not valid JSON" in page.text and f"/admin/deliveries/{delivery_id}/replay" in page.text
    assert "Replay" in page.text and "Retry all" in page.text
    only_orders = client.get("/admin/exceptions", query_string={"kind": "order"})
    assert "not valid JSON" not in only_orders.text
    other = client.get("/admin/exceptions", query_string={"account": "woo-a"})
    assert "not valid JSON" not in other.text
    assert client.get("/admin/exceptions", query_string={"kind": "nonsense"}).status_code == 400


def test_replay_from_the_console_takes_the_delivery_in_and_is_audited(hub, client, worker):
    _order(client, worker)
    # it had failed while a mapping was wrong; the mapping is fixed now
    with hub.db.transaction() as session:
        delivery = session.execute(select(DeliveryRow)).scalar_one()
        delivery.status, delivery.error = "failed", "mapping: total_price is not a number"
        delivery_id = delivery.id
    email = _signed_in(hub, client, "editor")
    page = client.get("/admin/exceptions")
    assert "total_price is not a number" in page.text
    r = client.post(
        f"/admin/deliveries/{delivery_id}/replay",
        data={"csrf_token": csrf_token(page.text), "kind": "delivery"},
    )
    assert r.status_code == 302 and r.headers["Location"] == "/admin/exceptions?kind=delivery"
    worker.drain()
    assert _status(hub, DeliveryRow, delivery_id) == "processed"
    assert _audit(hub) == [(email, "delivery.replay", f"delivery:{delivery_id}")]
    assert "total_price is not a number" not in client.get("/admin/exceptions").text


def test_a_dead_job_is_retried_or_discarded_with_a_reason(hub, client, worker):
    job_id = _dead_job(hub)
    email = _signed_in(hub, client, "editor")
    page = client.get("/admin/exceptions", query_string={"kind": "job"})
    assert "no such item" in page.text and "stock.push gave up after 1 attempt:" in page.text
    token = csrf_token(page.text)
    assert client.post(f"/admin/jobs/{job_id}/retry", data={"csrf_token": token}).status_code == 302
    assert _status(hub, JobRow, job_id) == "queued"
    with hub.db.transaction() as session:  # it failed again
        session.execute(update(JobRow).where(JobRow.id == job_id).values(status="dead"))
    no_reason = client.post(f"/admin/jobs/{job_id}/discard", data={"csrf_token": token})
    assert no_reason.status_code == 400 and _status(hub, JobRow, job_id) == "dead"
    r = client.post(
        f"/admin/jobs/{job_id}/discard", data={"csrf_token": token, "reason": "item gone"}
    )
    assert r.status_code == 302 and _status(hub, JobRow, job_id) == "discarded"
    assert _audit(hub) == [
        (email, "job.retry", f"job:{job_id}"),
        (email, "job.discard", f"job:{job_id}"),
    ]


def test_retry_all_asks_first_with_the_count_then_queues_them(hub, client, worker):
    deliveries = [_malformed(client, worker) for _ in range(2)]
    job_id = _dead_job(hub)
    email = _signed_in(hub, client, "editor")
    token = csrf_token(client.get("/admin/exceptions").text)
    asked = client.post("/admin/exceptions/retry", data={"csrf_token": token})
    assert asked.status_code == 200
    assert "<strong>3</strong> items" in asked.text and "2 failed deliveries" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    assert [_status(hub, DeliveryRow, d) for d in deliveries] == ["failed", "failed"]
    assert _status(hub, JobRow, job_id) == "dead"
    # only the selection: jobs alone
    jobs_only = client.post("/admin/exceptions/retry", data={"csrf_token": token, "kind": "job"})
    assert "<strong>1</strong> item:" in jobs_only.text
    done = client.post("/admin/exceptions/retry", data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 302
    assert [_status(hub, DeliveryRow, d) for d in deliveries] == ["received", "received"]
    assert _status(hub, JobRow, job_id) == "queued"
    with hub.db.transaction() as session:
        row = session.execute(
            select(AuditRow).where(AuditRow.action == "exceptions.retry_all")
        ).scalar_one()
        assert row.actor == email
        assert row.details["count"] == 3 and row.details["deliveries"] == deliveries
        assert row.details["jobs"] == [job_id]


def test_a_viewer_sees_no_buttons_and_is_refused(hub, client, worker):
    delivery_id = _malformed(client, worker)
    job_id = _dead_job(hub)
    _signed_in(hub, client, "viewer")
    page = client.get("/admin/exceptions")
    assert page.status_code == 200 and "not valid JSON" in page.text
    assert '<button type="submit">Replay' not in page.text and "Retry all" not in page.text
    assert "/replay" not in page.text and "/retry" not in page.text
    token = csrf_token(page.text)  # the sign-out form's
    for path in (f"/admin/deliveries/{delivery_id}/replay", f"/admin/jobs/{job_id}/retry",
                 f"/admin/jobs/{job_id}/discard", "/admin/exceptions/retry"):  # fmt: skip
        r = client.post(path, data={"csrf_token": token, "reason": "x", "confirm": "yes"})
        assert r.status_code == 403, path
    assert _status(hub, DeliveryRow, delivery_id) == "failed"
    assert _status(hub, JobRow, job_id) == "dead"
    assert _audit(hub) == []


def test_a_form_without_its_csrf_token_is_refused(hub, client, worker):
    delivery_id = _malformed(client, worker)
    _signed_in(hub, client, "editor")
    r = client.post(f"/admin/deliveries/{delivery_id}/replay")
    assert r.status_code == 400 and "could not be accepted" in r.text
    r = client.post("/admin/exceptions/retry", data={"confirm": "yes"})
    assert r.status_code == 400
    assert _status(hub, DeliveryRow, delivery_id) == "failed" and _audit(hub) == []


def test_orders_and_stuck_parcels_show_only_for_their_clients(hub, client, worker):
    ours, theirs = _order(client, worker, 1001), _order(client, worker, 1002)
    with hub.db.transaction() as session:
        session.execute(update(OrderRow).values(status="needs_attention"))
        session.execute(update(OrderRow).where(OrderRow.id == theirs).values(client="globex"))
        for order_id, days in ((ours, 9), (theirs, 9), (ours, 1)):
            shipment = ShipmentRow(order_id=order_id, shipped_at=now() - timedelta(days=days),
                                   source="test")  # fmt: skip
            session.add(shipment)
            session.flush()
            session.add(
                ParcelRow(shipment_id=shipment.id, order_id=order_id, carrier="royalmail",
                          tracking_number=f"RM{order_id}{days}GB", status="in_transit", lines=[])
            )  # fmt: skip
    _malformed(client, worker)
    _signed_in(hub, client, "editor", ["acme"])
    page = client.get("/admin/exceptions")
    assert page.text.count("needs attention:") == 1 and "#1001" in page.text
    assert f"RM{ours}9GB is in_transit with no scan since it shipped 9 days ago" in page.text
    assert f"RM{theirs}9GB" not in page.text and f"RM{ours}1GB" not in page.text
    assert "not valid JSON" not in page.text  # deliveries belong to no client yet
