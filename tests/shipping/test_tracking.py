"""Following parcels, on a real database: the polling pace by state, tracking applied once,
exceptions on the order's timeline, the order delivered when every parcel is, the end
customer's tracking page, and /metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from hub.connectors import ParcelTracking, TrackingEvent
from hub.shipping import tracking
from hub.storage.models import OrderRow, ParcelEventRow, ParcelRow
from tests.conftest import (
    QUIET_ROYALMAIL,
    accounts_fixture,
    only_order,
    order_events,
    receive,
    send_shopify,
    set_quantity,
    shopify_order,
)

accounts_file = accounts_fixture(QUIET_ROYALMAIL)


T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _shipped(hub, client, worker, viewer, editor, parcels: int = 2) -> dict:
    """The Shopify sample order, its RED line owed ``parcels`` times, shipped in that many
    Royal Mail parcels (RM1, RM2, ...)."""
    receive(hub, "IPOD2008RED", parcels)
    order = shopify_order()
    set_quantity(order, 1, parcels)
    send_shopify(client, order)
    worker.drain()
    released = only_order(client, viewer)
    assert released["status"] == "released"
    body = {
        "order_id": released["id"],
        "shipped_at": "2026-11-26T08:00:00Z",
        "parcels": [
            {
                "carrier": "royalmail",
                "service": "TPN24",
                "tracking_number": f"RM{i + 1}",
                "lines": [{"sku": "IPOD2008RED", "quantity": 1}],
            }
            for i in range(parcels)
        ],
    }
    answer = client.post("/api/shipments", json=body, headers=editor)
    assert answer.status_code == 201, answer.get_json()
    return client.get(f"/api/orders/{released['id']}", headers=viewer).get_json()


def _event(status: str, hours: float, code: str = "EV", text: str | None = None) -> TrackingEvent:
    return TrackingEvent(T0 + timedelta(hours=hours), status, code, text or status, "Leeds, GB")


def _apply(hub, number: str, *events: TrackingEvent, **extra) -> tracking.Applied:
    found = ParcelTracking(
        number, True, events[-1].status if events else "unknown", tuple(events), **extra
    )
    with hub.db.transaction() as s:
        parcel = s.execute(
            select(ParcelRow).where(ParcelRow.tracking_number == number)
        ).scalar_one()
        return tracking.apply(hub, s, parcel, found, "poll")


def test_the_polling_pace_follows_the_parcel_state():
    shipped = T0 - timedelta(days=1)

    def after(status, last_event=T0, at=T0):
        found = tracking.next_check(
            status, at=at, shipped_at=shipped, last_event_at=last_event, max_days=30
        )
        return None if found is None else found - at

    assert after("out_for_delivery") == timedelta(minutes=30)
    assert after("in_transit") == timedelta(hours=4)
    assert after("exception") == timedelta(hours=2)
    assert after("label_created", last_event=None) == timedelta(hours=6)
    # nothing new for days: asked rarely
    assert after("in_transit", last_event=T0 - timedelta(days=4)) == timedelta(hours=12)
    # delivered, returned, or followed for too long: no more
    assert after("delivered") is None and after("returned_to_sender") is None
    assert after("in_transit", at=shipped + timedelta(days=31)) is None


def test_a_shipment_opens_a_tracking_page_and_starts_following(hub, client, worker, viewer, editor):
    order = _shipped(hub, client, worker, viewer, editor, parcels=1)
    page = order["tracking_page"]
    assert page.startswith("http://localhost/track/")
    token = page.rsplit("/", 1)[1]
    assert len(token) >= 32 and token != str(order["id"])  # random, not the order id
    with hub.db.transaction() as s:
        [parcel] = s.execute(select(ParcelRow)).scalars().all()
        assert parcel.next_check_at is not None  # the scheduler will ask Royal Mail
    html = client.get(f"/track/{token}")
    assert html.status_code == 200 and html.mimetype == "text/html"
    text = html.get_data(as_text=True)
    assert order["number"] in text and "RM1" in text and "Royal Mail" in text
    assert "https://www.royalmail.com/track-your-item#/tracking-results/RM1" in text
    assert 'name="viewport"' in text  # phones
    for private in (order["customer"]["email"], order["shipping_address"]["line1"], "24.99"):
        assert private not in text
    assert html.headers["Cache-Control"] == "no-store"
    missing = client.get("/track/not-a-token")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_tracking_is_stored_once_and_the_order_is_delivered_when_every_parcel_is(
    hub, client, worker, viewer, editor
):
    order = _shipped(hub, client, worker, viewer, editor)
    assert order["status"] == "shipped"
    eta = T0 + timedelta(days=1)
    first = _apply(
        hub,
        "RM1",
        _event("picked_up", 0, "EVPPA"),
        _event("in_transit", 2, "EVNMI", "Forwarded - Mis-sort"),
        estimated_delivery=eta,
    )
    assert first.new_events == 2 and first.status_changed
    again = _apply(hub, "RM1", _event("picked_up", 0, "EVPPA"), _event("in_transit", 2, "EVNMI"))
    assert again.new_events == 0 and not again.status_changed  # a poll and a webhook agree
    _apply(hub, "RM1", _event("delivered", 20, "EVKOP"))
    assert only_order(client, viewer)["status"] == "shipped"  # RM2 is still on its way
    done = _apply(hub, "RM2", _event("delivered", 22, "EVKOP"))
    assert done.delivered_order
    shown = client.get(f"/api/orders/{order['id']}", headers=viewer).get_json()
    assert shown["status"] == "delivered"
    rm1 = shown["shipments"][0]["parcels"][0]
    assert rm1["status"] == "delivered" and rm1["estimated_delivery"] == "2026-11-27T09:00:00Z"
    assert [(e["status"], e["code"]) for e in rm1["events"]] == [
        ("picked_up", "EVPPA"),
        ("in_transit", "EVNMI"),
        ("delivered", "EVKOP"),
    ]
    assert order_events(client, viewer, order["id"])[-1]["kind"] == "delivered"
    with hub.db.transaction() as s:
        assert s.execute(select(func.count()).select_from(ParcelEventRow)).scalar_one() == 4
        stopped = s.execute(select(ParcelRow.next_check_at)).scalars().all()
        assert stopped == [None, None]  # delivered parcels are not asked about again
    page = client.get(shown["tracking_page"].replace("http://localhost", "") + "?format=json")
    data = page.get_json()
    assert data["headline"] == "Delivered"
    assert [e["code"] for e in data["parcels"][0]["events"]] == ["EVKOP", "EVNMI", "EVPPA"]
    assert set(data) == {"order", "headline", "parcels"}


def test_exceptions_and_returns_are_flagged_on_the_timeline_and_counted(
    hub, client, worker, viewer, editor
):
    order = _shipped(hub, client, worker, viewer, editor)
    _apply(hub, "RM1", _event("in_transit", 1), carrier_status="IN TRANSIT")
    _apply(hub, "RM1", _event("in_transit", 1), _event("exception", 5, "EVAIE", "Address issue"))
    _apply(hub, "RM2", _event("returned_to_sender", 6, "EVRTS"))
    kinds = [e["kind"] for e in order_events(client, viewer, order["id"])]
    assert kinds[-2:] == ["tracking_exception", "tracking_returned_to_sender"]
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and metrics.mimetype == "text/plain"
    text = metrics.get_data(as_text=True)
    flagged = 'hub_tracking_flagged_events_total{carrier="royalmail",direction="outbound",'
    assert flagged + 'status="exception"} 1' in text
    assert flagged + 'status="returned_to_sender"} 1' in text
    assert 'hub_parcels{carrier="royalmail",direction="outbound",status="exception"} 1' in text
    assert 'hub_orders{status="shipped"} 1' in text
    with hub.db.transaction() as s:
        row = s.get(OrderRow, order["id"])
        assert row.status == "shipped"  # an exception is a flag, not a status of the order
        rm1 = s.execute(select(ParcelRow).where(ParcelRow.tracking_number == "RM1")).scalar_one()
        assert rm1.next_check_at is not None and rm1.carrier_status == "IN TRANSIT"


def test_a_number_the_carrier_does_not_know_yet_keeps_the_parcel_followed(
    hub, client, worker, viewer, editor
):
    _shipped(hub, client, worker, viewer, editor, parcels=1)
    with hub.db.transaction() as s:
        parcel = s.execute(select(ParcelRow)).scalar_one()
        result = tracking.apply(
            hub, s, parcel, ParcelTracking("RM1", False, error="E1142 not recognised"), "poll"
        )
        assert result.new_events == 0 and parcel.status == "label_created"
        assert parcel.carrier_status == "E1142 not recognised"
        assert parcel.next_check_at is not None
