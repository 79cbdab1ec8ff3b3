"""Return labels followed like outbound parcels: authorising a return with its label's carrier
and tracking number makes a parcel coming back, polled by the same Royal Mail connector (its
Tracking API faked with ``responses`` and the connector's recorded answers in
``connectors/carriers/royalmail/tests/payloads``). Its news goes on the return's and the
order's timelines; it is never a shipment: not on the order's shipments or the customer's
tracking page, not pushed to the channel, not in the delivery KPIs, and it never makes the
order delivered nor receives the return. Closing or cancelling the return stops it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import responses
from sqlalchemy import delete, select, update

from connectors.carriers.royalmail.translate import read_tracking
from hub.jobs import outbox
from hub.reports import kpis
from hub.shipping import tracking
from hub.storage.models import JobRow, OrderEventRow, OrderRow, ParcelRow
from hub.values import now
from tests.conftest import (
    CALLED_ROYALMAIL,
    accounts_fixture,
    make_person,
    only_order,
    receive,
    send_shopify,
    set_quantity,
    shopify_order,
    sign_in,
)

RM = "https://api.royalmail.net/mailpieces/v2"
PAYLOADS = Path(__file__).parents[2] / "connectors/carriers/royalmail/tests/payloads"
#: tracking_v2_events_delivered_history_built.json: a Tracked 24 attempted, then delivered to
#: a safeplace on 2023-10-30 at 11:42:10 UTC
DELIVERED = "TT123456785GB"
#: tracking_v2_events_doc_example_missort.json (karrio's Royal Mail test): in transit, mis-sorted
IN_TRANSIT = "090367574000000FE1E1B"
SKU = "IPOD2008RED"

accounts_file = accounts_fixture(CALLED_ROYALMAIL)


@pytest.fixture
def rm() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _answer(rm: responses.RequestsMock, number: str, payload: str) -> None:
    rm.get(
        f"{RM}/{number}/events",
        body=(PAYLOADS / payload).read_bytes(),
        content_type="application/json",
    )


def _shipped(hub, client, worker, viewer, editor, number: str, quantity: int = 1) -> dict:
    """The Shopify docs order shipped in one Royal Mail parcel ``number`` (``quantity`` of
    its iPod line), its push to Shopify dropped (another test's business); the order as the
    API shows it."""
    receive(hub, SKU, quantity)
    send_shopify(client, set_quantity(shopify_order(), 1, quantity))
    worker.drain()
    order = only_order(client, viewer)
    parcel = {
        "carrier": "royalmail",
        "tracking_number": number,
        "lines": [{"sku": SKU, "quantity": quantity}],
    }
    body = {"order_id": order["id"], "parcels": [parcel]}
    assert client.post("/api/shipments", json=body, headers=editor).status_code == 201
    with hub.db.transaction() as s:
        s.execute(delete(JobRow).where(JobRow.kind == "fulfilment.push"))
    return order


def _authorised(client, editor, order_id: int, **label) -> dict:
    line = {"sku": SKU, "quantity": 1, "reason": "defective"}
    opened = client.post(
        "/api/returns", json={"order_id": order_id, "lines": [line]}, headers=editor
    )
    assert opened.status_code == 201, opened.get_json()
    rid = opened.get_json()["id"]
    answer = client.post(f"/api/returns/{rid}/authorise", json=label, headers=editor)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _due(hub, number: str) -> None:
    """As if the parcel ``number``'s next look were due now."""
    with hub.db.transaction() as s:
        s.execute(
            update(ParcelRow).where(ParcelRow.tracking_number == number).values(next_check_at=now())
        )


def _label(hub, return_id: int) -> ParcelRow:
    with hub.db.transaction() as s:
        parcel = s.execute(select(ParcelRow).where(ParcelRow.return_id == return_id)).scalar_one()
        s.expunge(parcel)
        return parcel


def test_a_return_label_is_polled_and_its_news_goes_on_the_timelines_not_the_shipments(
    hub, client, worker, viewer, editor, rm
):
    order = _shipped(hub, client, worker, viewer, editor, "FQ087430672GB")
    rma = _authorised(client, editor, order["id"], carrier="royalmail", tracking_number=DELIVERED)
    assert rma["status"] == "in_transit"
    assert (rma["label_status"], rma["label_status_at"], rma["label_checked_at"]) == (
        "label_created",
        None,
        None,
    )
    label = _label(hub, rma["id"])
    assert (label.direction, label.shipment_id, label.lines) == ("return", None, [])
    assert label.next_check_at is not None  # the tracking scheduler follows it
    _answer(rm, DELIVERED, "tracking_v2_events_delivered_history_built.json")
    _due(hub, DELIVERED)
    with hub.db.transaction() as s:
        outbox.enqueue(s, tracking.POLL_DUE, {"slot": 1}, max_attempts=3)
    worker.drain()

    # the timed pass asked Royal Mail about the label alone (the outbound parcel is not due)
    assert [c.request.url for c in rm.calls] == [f"{RM}/{DELIVERED}/events"]
    shown = client.get(f"/api/returns/{rma['id']}", headers=viewer).get_json()
    assert shown["status"] == "in_transit"  # delivered back is not received: the dock counts
    assert shown["received_at"] is None and all(n["received"] == 0 for n in shown["lines"])
    assert shown["label_status"] == "delivered"
    assert shown["label_status_at"] == "2023-10-30T11:42:10Z"
    assert shown["label_checked_at"] is not None
    news = {e["kind"]: e["message"] for e in shown["events"]}
    back = f"return parcel royalmail {DELIVERED}: delivered back to the warehouse"
    assert news["label_delivered"].startswith(back)
    assert "Delivery Attempted" in news["label_delivery_attempted"]
    assert _label(hub, rma["id"]).next_check_at is None  # delivered: no more asking

    with hub.db.transaction() as s:
        kinds = set(
            s.execute(
                select(OrderEventRow.kind).where(OrderEventRow.order_id == order["id"])
            ).scalars()
        )
        token = s.get(OrderRow, order["id"]).tracking_token
        pushes = s.execute(
            select(JobRow.kind).where(JobRow.kind.in_(["fulfilment.push", "fulfilment.event"]))
        ).all()
    assert {"return_label_delivered", "return_label_delivery_attempted"} <= kinds
    assert "tracking_delivery_attempted" not in kinds  # not the outbound parcel's problem
    assert "delivered" not in kinds and pushes == []  # nothing told to Shopify
    got = client.get(f"/api/orders/{order['id']}", headers=viewer).get_json()
    assert got["status"] == "shipped"  # the customer's parcel is not delivered
    assert [p["tracking_number"] for s in got["shipments"] for p in s["parcels"]] == [
        "FQ087430672GB"
    ]
    page = client.get(f"/track/{token}", query_string={"format": "json"}).get_json()
    assert [p["tracking_number"] for p in page["parcels"]] == ["FQ087430672GB"]

    # the delivery KPIs count deliveries to customers, not labels coming back
    day = date(2023, 10, 30)
    with hub.db.transaction() as s:
        for name in ("click_to_deliver", "carrier_on_time"):
            assert kpis.run(hub, s, name, kpis.Filters.of(day, day))["rows"] == [], name
        s.execute(update(ParcelRow).values(direction="outbound"))  # the same row, outbound
        assert kpis.run(hub, s, "carrier_on_time", kpis.Filters.of(day, day))["rows"]
        s.rollback()

    make_person(hub, "ops@example.com", "viewer")
    sign_in(client, "ops@example.com")
    console = client.get(f"/admin/returns/{rma['id']}").text
    assert "Label tracking" in console and "Delivered</span> at 2023-10-30 11:42 UTC" in console


def test_the_order_is_delivered_by_its_own_parcels_while_a_return_label_travels(
    hub, client, worker, viewer, editor, rm
):
    order = _shipped(hub, client, worker, viewer, editor, DELIVERED)
    rma = _authorised(client, editor, order["id"], carrier="royalmail", tracking_number=IN_TRANSIT)
    _answer(rm, IN_TRANSIT, "tracking_v2_events_doc_example_missort.json")
    _due(hub, IN_TRANSIT)
    counts = tracking.poll_account(hub, hub.accounts["acme-royalmail"])
    assert counts["parcels"] == 1 and counts["events"] >= 1
    shown = client.get(f"/api/returns/{rma['id']}", headers=viewer).get_json()
    assert shown["label_status"] == "in_transit"
    assert any(
        e["kind"] == "label_in_transit" and e["message"].startswith("return parcel royalmail")
        for e in shown["events"]
    )
    assert _label(hub, rma["id"]).next_check_at is not None  # still followed

    # the customer's own parcel delivered: the label still on its way does not hold it up
    _answer(rm, DELIVERED, "tracking_v2_events_delivered_history_built.json")
    _due(hub, DELIVERED)
    tracking.poll_account(hub, hub.accounts["acme-royalmail"])
    got = client.get(f"/api/orders/{order['id']}", headers=viewer).get_json()
    assert got["status"] == "delivered"


def test_a_label_no_carrier_account_could_follow_is_refused_by_name(
    hub, client, worker, viewer, editor
):
    order = _shipped(hub, client, worker, viewer, editor, DELIVERED)
    line = {"sku": SKU, "quantity": 1, "reason": "defective"}
    rid = client.post(
        "/api/returns", json={"order_id": order["id"], "lines": [line]}, headers=editor
    ).get_json()["id"]

    def authorise(**label):
        return client.post(f"/api/returns/{rid}/authorise", json=label, headers=editor)

    no_account = authorise(carrier="dhl", tracking_number="1234567890")
    assert no_account.status_code == 422
    error = no_account.get_json()["error"]
    assert error["details"]["field"] == "carrier"
    assert "no dhl account is configured for client 'acme'" in error["message"]
    unknown = authorise(carrier="pigeon", tracking_number="1234567890")
    assert unknown.status_code == 422 and unknown.get_json()["error"]["details"] == {
        "field": "carrier"
    }
    named = authorise(carrier="royalmail", tracking_number="RT1GB", carrier_account="nope")
    assert named.status_code == 422
    assert named.get_json()["error"]["details"]["field"] == "carrier_account"
    taken = authorise(carrier="royalmail", tracking_number=DELIVERED)
    assert taken.status_code == 409
    assert taken.get_json()["error"]["details"]["field"] == "tracking_number"
    assert f"order {order['id']}" in taken.get_json()["error"]["message"]
    shown = client.get(f"/api/returns/{rid}", headers=viewer).get_json()
    assert shown["status"] == "requested"  # each refusal changed nothing
    with hub.db.transaction() as s:
        assert s.execute(select(ParcelRow.id).where(ParcelRow.direction == "return")).all() == []

    # a tracking number with no carrier is kept, as before, and followed by nothing
    bare = authorise(tracking_number="RT1GB").get_json()
    assert bare["status"] == "in_transit" and bare["label_status"] is None


def test_closing_or_cancelling_a_return_stops_following_its_label(
    hub, client, worker, viewer, editor, rm
):
    order = _shipped(hub, client, worker, viewer, editor, "FQ087430672GB", quantity=2)
    first = _authorised(client, editor, order["id"], carrier="royalmail", tracking_number="RT1GB")
    second = _authorised(
        client, editor, order["id"], carrier="royalmail", tracking_number=IN_TRANSIT
    )
    cancelled = client.post(f"/api/returns/{first['id']}/cancel", headers=editor)
    assert cancelled.status_code == 200
    assert _label(hub, first["id"]).next_check_at is None
    received = client.post(
        f"/api/returns/{second['id']}/receive", json={"lines": [{"sku": SKU}]}, headers=editor
    )
    assert received.status_code == 200, received.get_json()
    assert _label(hub, second["id"]).next_check_at is not None  # received: not closed yet
    closed = client.post(f"/api/returns/{second['id']}/close", headers=editor)
    assert closed.status_code == 200, closed.get_json()
    assert _label(hub, second["id"]).next_check_at is None
    with hub.db.transaction() as s:
        s.execute(
            update(ParcelRow).where(ParcelRow.direction == "outbound").values(next_check_at=None)
        )
    counts = tracking.poll_account(hub, hub.accounts["acme-royalmail"], due_only=False)
    assert counts["parcels"] == 0 and len(rm.calls) == 0  # nobody asks the carrier any more

    # news the carrier pushes later is kept, but does not start the asking again
    said = read_tracking(
        (PAYLOADS / "tracking_v2_events_doc_example_missort.json").read_bytes(), [IN_TRANSIT]
    )
    with hub.db.transaction() as s:
        parcel = s.execute(
            select(ParcelRow).where(ParcelRow.return_id == second["id"])
        ).scalar_one()
        assert tracking.apply(hub, s, parcel, said[0], "acme-royalmail").new_events >= 1
        assert parcel.status == "in_transit" and parcel.next_check_at is None


def test_a_return_label_neither_holds_up_the_order_complete_push_nor_passes_for_a_shipment(
    hub, client, worker, viewer, editor, rm
):
    from hub.shipping import fulfilment

    order = _shipped(hub, client, worker, viewer, editor, DELIVERED)
    _authorised(client, editor, order["id"], carrier="royalmail", tracking_number=IN_TRANSIT)
    with hub.db.transaction() as s:
        row = s.get(OrderRow, order["id"])
        outbound = s.execute(
            select(ParcelRow).where(ParcelRow.tracking_number == DELIVERED)
        ).scalar_one()
        # the label coming back is never pushed: the order's one shipment still completes it
        assert fulfilment._completes(s, outbound, row) is True

    # the label's number sent again as a shipment of the order is refused, naming the return
    body = {
        "order_id": order["id"],
        "parcels": [
            {
                "carrier": "royalmail",
                "tracking_number": IN_TRANSIT,
                "lines": [{"sku": SKU, "quantity": 1}],
            }
        ],
    }
    answer = client.post("/api/shipments", json=body, headers=editor)
    assert answer.status_code == 409, answer.get_json()
    assert "label of return" in answer.get_json()["error"]["message"]
