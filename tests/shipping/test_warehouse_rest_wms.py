"""The rest_wms warehouse on a real database (SQLite and PostgreSQL), with ``responses`` as the
WMS: orders released to it once however often they are sent, cancellations, stock counts and
shipments polled back, a refused shipment audited while the others go on, refused
credentials."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers
from sqlalchemy import select, update

from hub.connectors import ratelimit
from hub.errors import AuthError
from hub.jobs import outbox
from hub.shipping import warehouse
from hub.stock import ledger
from hub.storage import account_state
from hub.storage.models import AuditRow, JobRow, OrderRow, StockLedgerRow
from hub.values import now
from tests.conftest import (
    ACCOUNTS,
    only_order,
    order_events,
    receive,
    send_shopify,
    shopify_order,
)
from tests.wms import rest_wms_account

WMS = "https://wms.example/api"
WMS_KEY = "acme-wms-key-5f2c9e"
SKU = "IPOD2008RED"  # the sample order's one line still owed


class Clock:
    """Monotonic time the test moves on, for the account's rate limiter."""

    def __init__(self) -> None:
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.at += seconds


@pytest.fixture
def accounts_file(tmp_path: Path) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(
        ACCOUNTS
        + rest_wms_account(
            WMS, WMS_KEY, 'default_location = "A1"', 'carrier_map = { RM = "royalmail" }'
        )
    )
    return path


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The account's rate limiter, fresh per test and on a clock the test moves: a WMS's
    "wait two minutes" pauses it, as in a real process, without the test waiting."""
    clock = Clock()
    limiter = ratelimit.RateLimiter(1000, 1000, clock=clock, sleep=clock.sleep)
    monkeypatch.setitem(ratelimit._LIMITERS, "rest_wms:acme-wms", limiter)
    return clock


@pytest.fixture
def wms() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


# -- helpers ---------------------------------------------------------------------------------


def _jobs(hub, kind: str) -> list[Any]:
    with hub.db.transaction() as s:
        return s.execute(
            select(JobRow.id, JobRow.status, JobRow.attempts, JobRow.last_error, JobRow.run_at)
            .where(JobRow.kind == kind)
            .order_by(JobRow.id)
        ).all()


def _drain_retries(hub, worker) -> None:
    """Run jobs until none is waiting, waiting out the tests' short retry backoff."""
    for _ in range(100):
        worker.drain()
        with hub.db.transaction() as s:
            waiting = s.execute(select(JobRow.id).where(JobRow.status == "queued")).first()
        if waiting is None:
            return
        time.sleep(0.02)
    raise AssertionError("jobs still queued")


def _created(wms, reference: str = "WMS-1001") -> None:
    wms.post(f"{WMS}/orders", status=201, json={"id": reference, "status": "received"})


def _released(hub, client, worker, viewer, wms) -> dict:
    """The sample order, allocated and released to the WMS as WMS-1001."""
    receive(hub, SKU, 3)
    _created(wms)
    send_shopify(client, shopify_order())
    worker.drain()
    order = only_order(client, viewer)
    assert order["status"] == "released"
    return order


def _body(order_id: int) -> dict[str, Any]:
    """What the WMS is sent for the sample order: only the line still owed."""
    return {
        "external_reference": str(order_id),
        "number": "#1001",
        "channel": "shopify",
        "placed_at": "2008-01-10T16:00:00Z",
        "currency": "USD",
        "customer": {
            "email": "bob.norman@mail.example.com",
            "name": "Bob Norman",
            "phone": "+557734881234",
        },
        "shipping_address": {
            "name": "Bob Norman",
            "company": None,
            "line1": "Chestnut Street 92",
            "line2": None,
            "city": "Louisville",
            "region": "KY",
            "postal_code": "40202",
            "country_code": "US",
            "phone": "+1(502)-459-2181",
        },
        "shipping": {"method": "Free Shipping", "carrier_service": None},
        "lines": [
            {
                "line_id": "518995019",
                "sku": SKU,
                "name": "IPod Nano - 8gb - red",
                "quantity": 1,
                "unit_price": "199.00",
            }
        ],
        "notes": None,
        "tags": [],
    }


def _shipment(order_id: Any, sid: str = "SH-1", tracking: str = "AB123456789GB", **over) -> dict:
    return {
        "id": sid,
        "order_id": "WMS-1001",
        "external_reference": str(order_id),
        "carrier": "RM",
        "service": "TPN24",
        "tracking_number": tracking,
        "shipped_at": "2030-01-02T10:00:00Z",
        "lines": [{"sku": SKU, "quantity": 1}],
        **over,
    }


def _params(**params: str):
    return [matchers.query_param_matcher(params)]


def _ledger(hub, sku: str) -> list[tuple[str, int, int, str]]:
    with hub.db.transaction() as s:
        rows = s.execute(
            select(StockLedgerRow).where(StockLedgerRow.sku == sku).order_by(StockLedgerRow.id)
        ).scalars()
        return [(r.reason, r.delta, r.on_hand, r.actor) for r in rows]


def _poll(hub) -> dict[str, int]:
    return warehouse.poll_account(hub, hub.accounts["acme-wms"])


def _poll_state(hub) -> dict[str, Any]:
    with hub.db.transaction() as s:
        return account_state.load(s, "acme-wms", "poll")


# -- release ---------------------------------------------------------------------------------


def test_a_ready_order_is_allocated_posted_to_the_wms_and_released(
    hub, client, worker, viewer, wms
):
    order = _released(hub, client, worker, viewer, wms)
    [call] = wms.calls
    assert call.request.url == f"{WMS}/orders"
    assert json.loads(call.request.body) == _body(order["id"])
    headers = call.request.headers
    assert headers["Authorization"] == f"Bearer {WMS_KEY}"
    assert headers["Idempotency-Key"] == f"hub-order-{order['id']}"
    assert headers["Content-Type"] == "application/json"
    assert headers["Accept"] == "application/json"
    events = order_events(client, viewer, order["id"])
    assert [e["kind"] for e in events] == ["received", "allocated", "released"]
    assert events[-1]["message"] == "released to warehouse acme-wms (reference WMS-1001)"
    assert events[-1]["data"] == {"warehouse": "acme-wms", "reference": "WMS-1001"}
    with hub.db.transaction() as s:
        assert ledger.levels(s, "acme", [SKU]) == [
            {
                "client": "acme",
                "sku": SKU,
                "on_hand": 3,
                "allocated": 1,
                "available": 2,
            }
        ]


def test_a_503_puts_the_job_back_and_the_retry_makes_one_order(
    hub, client, worker, viewer, wms, clock
):
    receive(hub, SKU, 1)
    wms.post(f"{WMS}/orders", status=503, headers={"Retry-After": "120"})
    _created(wms)
    send_shopify(client, shopify_order())
    worker.drain()
    waiting = only_order(client, viewer)
    assert waiting["status"] == "ready"
    [job] = _jobs(hub, warehouse.RELEASE)
    assert (job.status, job.attempts) == ("queued", 1)
    assert "HTTP 503" in job.last_error and WMS_KEY not in job.last_error
    assert job.run_at > now() + timedelta(seconds=100)  # as long as the WMS asked for
    # two minutes pass: for the limiter (which the WMS's answer paused) and for the job
    clock.sleep(120)
    with hub.db.transaction() as s:
        s.execute(update(JobRow).where(JobRow.id == job.id).values(run_at=now()))
    worker.drain()
    assert only_order(client, viewer)["status"] == "released"
    [job] = _jobs(hub, warehouse.RELEASE)
    assert (job.status, job.attempts) == ("done", 2)
    keys = [c.request.headers["Idempotency-Key"] for c in wms.calls]
    assert keys == [f"hub-order-{waiting['id']}"] * 2  # the WMS can tell it is the same order
    assert [e["kind"] for e in order_events(client, viewer, waiting["id"])].count("released") == 1


def test_a_409_after_a_lost_answer_is_the_order_made_already(hub, client, worker, viewer, wms):
    receive(hub, SKU, 1)
    # the first POST reached the WMS, but its answer was lost: not retried by the client
    wms.post(f"{WMS}/orders", status=502)
    wms.post(f"{WMS}/orders", status=409, json={"error": "external_reference exists"})
    wms.get(
        f"{WMS}/orders",
        match=_params(external_reference="1"),
        json={"items": [{"id": "WMS-77", "external_reference": "1", "status": "picking"}]},
    )
    send_shopify(client, shopify_order())
    _drain_retries(hub, worker)
    order = only_order(client, viewer)
    assert order["id"] == 1  # the id the lookup above asks for
    assert order["status"] == "released"
    assert order_events(client, viewer, order["id"])[-1]["data"]["reference"] == "WMS-77"
    assert [c.request.method for c in wms.calls] == ["POST", "POST", "GET"]
    [job] = _jobs(hub, warehouse.RELEASE)
    assert (job.status, job.attempts) == ("done", 2)


def test_a_409_duplicate_is_success_with_the_existing_reference(hub, client, worker, viewer, wms):
    # e.g. the hub's database was restored from a backup taken before the release
    receive(hub, SKU, 1)
    wms.post(f"{WMS}/orders", status=409, json={"error": "duplicate"})
    wms.get(
        f"{WMS}/orders",
        match=_params(external_reference="1"),
        json={"items": [{"id": "WMS-0900", "external_reference": "1"}]},
    )
    send_shopify(client, shopify_order())
    worker.drain()
    order = only_order(client, viewer)
    assert order["status"] == "released"
    event = order_events(client, viewer, order["id"])[-1]
    assert event["message"] == "released to warehouse acme-wms (reference WMS-0900)"
    [job] = _jobs(hub, warehouse.RELEASE)
    assert (job.status, job.attempts) == ("done", 1)


def test_refused_credentials_hold_the_release_without_burning_retries(
    hub, client, worker, viewer, wms
):
    receive(hub, SKU, 1)
    wms.post(f"{WMS}/orders", status=401, json={"error": "invalid token"})
    send_shopify(client, shopify_order())
    worker.drain()
    worker.drain()
    assert only_order(client, viewer)["status"] == "ready"
    [job] = _jobs(hub, warehouse.RELEASE)
    assert (job.status, job.attempts) == ("queued", 0)  # waits for the account to be fixed
    assert job.last_error.startswith(
        "waiting: account acme-wms needs its credentials fixed "
        "(AuthError: POST https://wms.example/api/orders: HTTP 401"
    )
    assert WMS_KEY not in job.last_error
    assert len(wms.calls) == 1


def test_refused_credentials_stop_a_poll_with_auth_error(hub, wms):
    wms.get(f"{WMS}/shipments", status=403)
    with pytest.raises(AuthError):
        _poll(hub)
    assert _poll_state(hub) == {}


# -- cancellation ----------------------------------------------------------------------------


def _cancel(hub, order_id: int) -> None:
    """What the hub does when a released order is cancelled
    (``hub.shipping.release.after_change``)."""
    with hub.db.transaction() as s:
        row = s.get(OrderRow, order_id)
        row.status = "cancelled"
        warehouse.cancel(hub, s, row)


def test_a_cancelled_order_is_cancelled_at_the_wms(hub, client, worker, viewer, wms):
    order = _released(hub, client, worker, viewer, wms)
    wms.post(f"{WMS}/orders/WMS-1001/cancel", json={"id": "WMS-1001", "status": "cancelled"})
    _cancel(hub, order["id"])
    worker.drain()
    call = wms.calls[-1]
    assert (call.request.method, call.request.url) == ("POST", f"{WMS}/orders/WMS-1001/cancel")
    assert call.request.headers["Idempotency-Key"] == f"hub-order-{order['id']}-cancel"
    assert call.request.headers["Authorization"] == f"Bearer {WMS_KEY}"
    assert order_events(client, viewer, order["id"])[-1]["kind"] == "warehouse_cancelled"
    [job] = _jobs(hub, warehouse.CANCEL)
    assert job.status == "done"


def test_an_order_the_wms_refuses_to_cancel_is_a_dead_job_saying_so(
    hub, client, worker, viewer, wms
):
    order = _released(hub, client, worker, viewer, wms)
    wms.post(f"{WMS}/orders/WMS-1001/cancel", status=409, json={"error": "already shipped"})
    _cancel(hub, order["id"])
    worker.drain()
    [job] = _jobs(hub, warehouse.CANCEL)
    assert job.status == "dead"
    assert "may be picked or shipped already: stop it at the warehouse" in job.last_error


def test_a_cancellation_from_the_channel_reaches_the_wms(hub, client, worker, viewer, wms):
    _released(hub, client, worker, viewer, wms)
    wms.post(f"{WMS}/orders/WMS-1001/cancel", json={"id": "WMS-1001", "status": "cancelled"})
    cancelled = dict(
        shopify_order(), cancelled_at="2030-01-01T00:00:00Z", updated_at="2030-01-01T00:00:00Z"
    )
    send_shopify(client, cancelled, "orders/cancelled")
    worker.drain()
    assert only_order(client, viewer)["status"] == "cancelled"
    assert wms.calls[-1].request.url == f"{WMS}/orders/WMS-1001/cancel"


# -- stock -----------------------------------------------------------------------------------


def test_polled_stock_levels_set_on_hand_as_counts(hub, wms):
    receive(hub, "MUG-1", 10)
    wms.get(f"{WMS}/shipments", json={"items": [], "next_cursor": None})
    wms.get(
        f"{WMS}/stock",
        match=_params(),
        json={
            "items": [{"sku": "MUG-1", "on_hand": 7}, {"sku": "TEE-M", "on_hand": "4"}],
            "next_cursor": "p2",
        },
    )
    wms.get(
        f"{WMS}/stock",
        match=_params(cursor="p2"),
        json={"items": [{"sku": "CAP", "on_hand": 0}, {"on_hand": 3}], "next_cursor": None},
    )
    assert _poll(hub) == {"applied": 1, "failed": 0}
    with hub.db.transaction() as s:
        levels = {
            r["sku"]: r["on_hand"] for r in ledger.levels(s, "acme", ["MUG-1", "TEE-M", "CAP"])
        }
    assert levels == {"MUG-1": 7, "TEE-M": 4, "CAP": 0}
    assert _ledger(hub, "MUG-1") == [("receipt", 10, 10, "test"), ("count", -3, 7, "acme-wms")]
    assert _ledger(hub, "TEE-M") == [("count", 4, 4, "acme-wms")]
    assert _poll_state(hub) == {}  # stock keeps no cursor


# -- shipments -------------------------------------------------------------------------------


def test_a_polled_shipment_ships_the_order_and_the_next_poll_asks_from_the_cursor(
    hub, client, worker, viewer, wms
):
    order = _released(hub, client, worker, viewer, wms)
    wms.get(
        f"{WMS}/shipments",
        match=_params(),
        json={"items": [_shipment(order["id"])], "next_cursor": None},
    )
    # the WMS's count already reflects the parcel: read after the shipment, it changes nothing
    wms.get(f"{WMS}/stock", json={"items": [{"sku": SKU, "on_hand": 2}], "next_cursor": None})
    assert _poll(hub) == {"applied": 3, "failed": 0}  # the shipment, the cursor, the stock
    shown = client.get(f"/api/orders/{order['id']}", headers=viewer).get_json()
    assert shown["status"] == "shipped"
    [parcel] = shown["shipments"][0]["parcels"]
    assert (parcel["carrier"], parcel["service"], parcel["tracking_number"]) == (
        "royalmail",
        "TPN24",
        "AB123456789GB",
    )
    assert shown["shipments"][0]["shipped_at"] == "2030-01-02T10:00:00Z"
    assert order_events(client, viewer, order["id"])[-1]["kind"] == "shipped"
    assert _ledger(hub, SKU) == [
        ("receipt", 3, 3, "test"),
        ("shipment", -1, 2, "acme-wms"),
    ]
    assert _poll_state(hub) == {"since": "2030-01-02T10:00:00Z", "seen": ["SH-1"]}

    # the next poll asks from the saved cursor; the shipment it hands over again is skipped
    wms.get(
        f"{WMS}/shipments",
        match=_params(since="2030-01-02T10:00:00Z"),
        json={"items": [_shipment(order["id"])], "next_cursor": None},
    )
    assert _poll(hub) == {"applied": 1, "failed": 0}  # the stock only
    asked = [c.request for c in wms.calls if "/shipments" in c.request.url][-1]
    assert asked.params == {"since": "2030-01-02T10:00:00Z"}
    assert _poll_state(hub) == {"since": "2030-01-02T10:00:00Z", "seen": ["SH-1"]}
    with hub.db.transaction() as s:
        assert s.execute(select(AuditRow)).first() is None


def test_a_shipment_for_an_unknown_order_is_refused_and_audited_and_the_rest_go_on(
    hub, client, worker, viewer, wms
):
    order = _released(hub, client, worker, viewer, wms)
    unknown = _shipment(999999, sid="SH-9", tracking="RM999", shipped_at="2030-01-02T09:00:00Z")
    wms.get(
        f"{WMS}/shipments",
        json={"items": [unknown, _shipment(order["id"])], "next_cursor": None},
    )
    wms.get(f"{WMS}/stock", json={"items": [], "next_cursor": None})
    assert _poll(hub) == {"applied": 2, "failed": 1}
    assert only_order(client, viewer)["status"] == "shipped"
    with hub.db.transaction() as s:
        [entry] = s.execute(select(AuditRow)).scalars().all()
        assert (entry.actor, entry.action, entry.target) == (
            "acme-wms",
            "warehouse.batch_failed",
            "shipment SH-9",
        )
        assert entry.details["error"] == "ShipmentError: no order with id 999999"
        assert entry.details["shipments"][0]["parcels"][0]["tracking_number"] == "RM999"
    # the refused shipment is behind the cursor: the next poll does not bring it back
    assert _poll_state(hub) == {"since": "2030-01-02T10:00:00Z", "seen": ["SH-1"]}


def test_a_poll_through_the_worker(hub, client, worker, viewer, wms):
    order = _released(hub, client, worker, viewer, wms)
    wms.get(f"{WMS}/shipments", json={"items": [_shipment(order["id"])], "next_cursor": None})
    wms.get(f"{WMS}/stock", json={"items": [], "next_cursor": None})
    with hub.db.transaction() as s:
        outbox.enqueue(s, warehouse.POLL_ALL, {"slot": 1}, max_attempts=3)
    worker.drain()
    assert only_order(client, viewer)["status"] == "shipped"
    assert [j.status for j in _jobs(hub, warehouse.POLL)] == ["done"]


def test_a_shipment_read_after_a_count_that_left_its_units_out_still_ships_the_order(
    hub, client, worker, viewer, wms
):
    order = _released(hub, client, worker, viewer, wms)
    wms.get(f"{WMS}/shipments", json={"items": [], "next_cursor": None})
    wms.get(f"{WMS}/stock", json={"items": [{"sku": SKU, "on_hand": 0}], "next_cursor": None})
    assert _poll(hub) == {"applied": 1, "failed": 0}  # picked: the WMS counts it out already
    wms.replace(
        responses.GET,
        f"{WMS}/shipments",
        json={"items": [_shipment(order["id"])], "next_cursor": None},
    )
    assert _poll(hub) == {"applied": 3, "failed": 0}
    assert only_order(client, viewer)["status"] == "shipped"
    with hub.db.transaction() as s:
        assert ledger.levels(s, "acme", [SKU])[0]["on_hand"] == 0


def test_an_order_the_wms_refuses_needs_attention_and_gives_its_stock_back(
    hub, client, worker, viewer, wms
):
    receive(hub, SKU, 1)
    wms.post(f"{WMS}/orders", status=422, json={"error": "unknown sku IPOD2008RED"})
    send_shopify(client, shopify_order())
    _drain_retries(hub, worker)
    order = only_order(client, viewer)
    assert order["status"] == "needs_attention"
    [refused] = [
        e for e in order_events(client, viewer, order["id"]) if e["kind"] == "warehouse_refused"
    ]
    assert refused["message"].startswith("warehouse acme-wms refused the order: POST ")
    assert "unknown sku IPOD2008RED" in refused["message"]
    [job] = _jobs(hub, warehouse.RELEASE)
    assert job.status == "dead"
    with hub.db.transaction() as s:
        assert ledger.levels(s, "acme", [SKU])[0]["allocated"] == 0


def test_a_wms_cannot_ship_another_clients_order(hub, client, worker, viewer, wms):
    order = _released(hub, client, worker, viewer, wms)
    with hub.db.transaction() as s:
        s.get(OrderRow, order["id"]).client = "someone-else"
    wms.get(f"{WMS}/shipments", json={"items": [_shipment(order["id"])], "next_cursor": None})
    wms.get(f"{WMS}/stock", json={"items": [], "next_cursor": None})
    assert _poll(hub) == {"applied": 1, "failed": 1}
    with hub.db.transaction() as s:
        [entry] = s.execute(select(AuditRow)).scalars().all()
        assert entry.details["error"] == f"ShipmentError: order {order['id']} is not 'acme''s"
        assert s.get(OrderRow, order["id"]).status == "released"
