"""The whole way over HTTP: a Shopify order comes in, is released and packed, Royal Mail
delivers it, and Shopify hears each step exactly once.

Shopify's GraphQL Admin API and Royal Mail's Tracking API are faked with ``responses``; the
fake shop keeps the fulfilments and events it is sent, so a retried job that sent anything
twice would show.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from sqlalchemy import delete, select, update

from hub.jobs.worker import HANDLERS
from hub.shipping import tracking
from hub.storage.models import OrderEventRow, OrderRow, ParcelEventRow, ParcelRow
from hub.values import now
from tests.conftest import (
    ACCOUNTS,
    CALLED_ROYALMAIL,
    only_order,
    order_events,
    receive,
    send_shopify,
    shopify_order,
    woo_headers,
    woo_order,
)

SHOP = "https://shop-a.myshopify.com/admin/api/2026-10/graphql.json"
RM = "https://api.royalmail.net/mailpieces/v2"
RM_ANSWER = (
    Path(__file__).parents[2]
    / "connectors/carriers/royalmail/tests/payloads/tracking_v2_events_delivered_history_built.json"
)
NUMBER = "TT123456785GB"
ORDER_GID = "gid://shopify/Order/450789469"
RED_LINE = "gid://shopify/LineItem/518995019"  # the sample order's one line still owed
FO = "gid://shopify/FulfillmentOrder/1046000823"
FO_LINE = "gid://shopify/FulfillmentOrderLineItem/1058737564"


@pytest.fixture
def accounts_file(tmp_path: Path) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(ACCOUNTS + CALLED_ROYALMAIL)
    return path


class FakeShop:
    """Shopify's fulfilment API for order 450789469: fulfilments, events and what is left."""

    def __init__(self, mock: responses.RequestsMock):
        self.remaining = 1
        self.fulfilments: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.sent: list[tuple[str, dict[str, Any]]] = []
        mock.add_callback(responses.POST, SHOP, callback=self._graphql)

    def kinds(self) -> list[str]:
        return [name for name, _ in self.sent]

    def _graphql(self, request) -> tuple[int, dict, str]:
        body = json.loads(request.body)
        name = body["query"].split("(", 1)[0].split()[-1]
        variables = body["variables"]
        self.sent.append((name, variables))
        data = getattr(self, f"_{name}")(variables)
        bucket = {"maximumAvailable": 2000.0, "currentlyAvailable": 1990.0, "restoreRate": 100.0}
        cost = {"requestedQueryCost": 10, "actualQueryCost": 10, "throttleStatus": bucket}
        return 200, {}, json.dumps({"data": data, "extensions": {"cost": cost}})

    def _FulfilmentCheck(self, v):
        assert v["id"] == ORDER_GID
        return {"order": {"id": ORDER_GID, "fulfillments": self.fulfilments}}

    def _FulfilmentOrders(self, v):
        line = {"id": FO_LINE, "remainingQuantity": self.remaining, "lineItem": {"id": RED_LINE}}
        page = {"hasNextPage": False, "endCursor": None}
        node = {"id": FO, "status": "OPEN", "lineItems": {"nodes": [line], "pageInfo": page}}
        return {
            "order": {"id": ORDER_GID, "fulfillmentOrders": {"nodes": [node], "pageInfo": page}}
        }

    def _FulfilmentCreate(self, v):
        quantity = v["fulfillment"]["lineItemsByFulfillmentOrder"][0]["fulfillmentOrderLineItems"]
        self.remaining -= quantity[0]["quantity"]
        made = {
            "id": f"gid://shopify/Fulfillment/{len(self.fulfilments) + 1}",
            "status": "SUCCESS",
            "trackingInfo": [{"number": v["fulfillment"]["trackingInfo"]["number"]}],
        }
        self.fulfilments.append(made)
        return {"fulfillmentCreate": {"fulfillment": made, "userErrors": []}}

    def _FulfilmentEvents(self, v):
        shown = [{"status": e["status"], "happenedAt": e["happenedAt"]} for e in self.events]
        return {"node": {"id": v["id"], "events": {"nodes": shown[::-1]}}}

    def _FulfilmentEventCreate(self, v):
        event = v["fulfillmentEvent"]
        self.events.append(event)
        made = {
            "id": f"gid://shopify/FulfillmentEvent/{len(self.events)}",
            "status": event["status"],
        }
        return {"fulfillmentEventCreate": {"fulfillmentEvent": made, "userErrors": []}}


@pytest.fixture
def outside() -> Iterator[tuple[FakeShop, responses.RequestsMock]]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeShop(mock), mock


def test_from_order_to_delivered_shopify_hears_each_step_once(
    hub, client, worker, viewer, editor, outside
):
    shop, mock = outside
    receive(hub, "IPOD2008RED", 1)
    send_shopify(client, shopify_order())
    worker.drain()
    order = only_order(client, viewer)
    assert order["status"] == "released"

    packed = {
        "order_id": order["id"],
        "parcels": [
            {
                "carrier": "royalmail",
                "service": "TPN24",
                "tracking_number": NUMBER,
                "lines": [{"line_id": "518995019", "quantity": 1}],
            }
        ],
    }
    assert client.post("/api/shipments", json=packed, headers=editor).status_code == 201
    worker.drain()
    assert shop.kinds() == ["FulfilmentCheck", "FulfilmentOrders", "FulfilmentCreate"]
    created = shop.sent[2][1]["fulfillment"]
    assert created == {
        "lineItemsByFulfillmentOrder": [
            {
                "fulfillmentOrderId": FO,
                "fulfillmentOrderLineItems": [{"id": FO_LINE, "quantity": 1}],
            }
        ],
        "trackingInfo": {
            "company": "Royal Mail",
            "number": NUMBER,
            "url": f"https://www.royalmail.com/track-your-item#/tracking-results/{NUMBER}",
        },
        "notifyCustomer": True,
    }
    shown = client.get(f"/api/orders/{order['id']}", headers=viewer).get_json()
    [parcel] = shown["shipments"][0]["parcels"]
    assert parcel["channel_ref"] == "gid://shopify/Fulfillment/1"

    # the job run again (a worker died before it finished): nothing is sent
    HANDLERS["fulfilment.push"](hub, {"parcel_id": parcel["id"]})
    assert len(shop.sent) == 3
    # the answer was lost before the hub stored it: the retry finds the first fulfilment
    with hub.db.transaction() as s:  # as the rolled-back commit would have left it
        s.execute(update(ParcelRow).values(channel_ref=None, channel_pushed_at=None))
        s.execute(delete(OrderEventRow).where(OrderEventRow.kind == "pushed_to_channel"))
    HANDLERS["fulfilment.push"](hub, {"parcel_id": parcel["id"]})
    assert shop.kinds()[3:] == ["FulfilmentCheck"] and len(shop.fulfilments) == 1
    with hub.db.transaction() as s:
        assert s.execute(select(ParcelRow.channel_ref)).scalar_one() == (
            "gid://shopify/Fulfillment/1"
        )

    # Royal Mail: eight scans up to delivery, each told to Shopify once
    mock.get(f"{RM}/{NUMBER}/events", body=RM_ANSWER.read_bytes(), content_type="application/json")
    with hub.db.transaction() as s:
        s.execute(update(ParcelRow).values(next_check_at=now()))
    before = len(shop.sent)
    tracking.poll_account(hub, hub.accounts["acme-royalmail"])
    worker.drain()
    statuses = [e["status"] for e in shop.events]
    assert statuses == [
        "LABEL_PRINTED",
        "CARRIER_PICKED_UP",
        "IN_TRANSIT",
        "IN_TRANSIT",
        "ATTEMPTED_DELIVERY",
        "READY_FOR_PICKUP",
        "OUT_FOR_DELIVERY",
        "DELIVERED",
    ]
    assert shop.events[-1]["fulfillmentId"] == "gid://shopify/Fulfillment/1"
    assert shop.events[-1]["happenedAt"] == "2023-10-30T11:42:10Z"
    assert shop.kinds()[before:].count("FulfilmentEventCreate") == 8
    # the same events again (a webhook repeating the poll, a retried job): nothing more
    tracking.poll_account(hub, hub.accounts["acme-royalmail"], due_only=False)
    with hub.db.transaction() as s:
        event_ids = s.execute(select(ParcelEventRow.id)).scalars().all()
    for event_id in event_ids:
        HANDLERS["fulfilment.event"](hub, {"parcel_id": parcel["id"], "event_id": event_id})
    worker.drain()
    assert len(shop.events) == 8

    final = only_order(client, viewer)
    assert final["status"] == "delivered"
    kinds = [e["kind"] for e in order_events(client, viewer, order["id"])]
    assert kinds.count("pushed_to_channel") == 1
    assert kinds[-1] == "delivered"
    with hub.db.transaction() as s:
        assert s.get(OrderRow, order["id"]).data["channel_completed"] is True


WOO = "https://woo-a.example/wp-json"
TRACKINGS = f"{WOO}/wc-shipment-tracking/v3/orders/727/shipment-trackings"


class FakeWoo:
    """A WooCommerce store with the Shipment Tracking extension, holding order 727."""

    def __init__(self, mock: responses.RequestsMock):
        self.trackings: list[dict[str, Any]] = []
        self.status = "processing"
        self.puts = 0
        mock.add_callback(responses.GET, TRACKINGS, callback=self._list)
        mock.add_callback(responses.POST, TRACKINGS, callback=self._add)
        mock.add_callback(responses.GET, f"{WOO}/wc/v3/orders/727", callback=self._order)
        mock.add_callback(responses.PUT, f"{WOO}/wc/v3/orders/727", callback=self._complete)

    def _list(self, request):
        return 200, {}, json.dumps(self.trackings)

    def _add(self, request):
        item = {**json.loads(request.body), "tracking_id": f"t{len(self.trackings) + 1}"}
        self.trackings.append(item)
        return 201, {}, json.dumps(item)

    def _order(self, request):
        return 200, {}, json.dumps({"id": 727, "status": self.status})

    def _complete(self, request):
        self.puts += 1
        self.status = json.loads(request.body)["status"]
        return 200, {}, json.dumps({"id": 727, "status": self.status})


def test_a_woocommerce_order_in_two_parcels_is_completed_once_with_the_last(
    hub, client, worker, viewer, editor
):
    order = woo_order()
    order["line_items"][0]["sku"] = "FOO-2"  # the sample's first line has no SKU
    receive(hub, "FOO-2", 2)
    receive(hub, "Bar3", 1)
    body = json.dumps(order).encode()
    assert client.post("/webhooks/woo-a", data=body, headers=woo_headers(body)).status_code == 202
    worker.drain()
    released = only_order(client, viewer)
    assert released["status"] == "released"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        woo = FakeWoo(mock)
        for number, line, quantity in (("RM100", "315", 2), ("RM200", "316", 1)):
            packed = {
                "order_id": released["id"],
                "parcels": [
                    {
                        "carrier": "royalmail",
                        "tracking_number": number,
                        "lines": [{"line_id": line, "quantity": quantity}],
                    }
                ],
            }
            assert client.post("/api/shipments", json=packed, headers=editor).status_code == 201
            worker.drain()
            # completed only once the last parcel is told
            assert woo.status == ("completed" if number == "RM200" else "processing")
        assert [(t["tracking_number"], t["custom_tracking_provider"]) for t in woo.trackings] == [
            ("RM100", "Royal Mail"),
            ("RM200", "Royal Mail"),
        ]
        assert woo.puts == 1
        with hub.db.transaction() as s:
            parcel_ids = s.execute(select(ParcelRow.id).order_by(ParcelRow.id)).scalars().all()
        for parcel_id in parcel_ids:  # retried jobs: nothing more
            HANDLERS["fulfilment.push"](hub, {"parcel_id": parcel_id})
        assert len(woo.trackings) == 2 and woo.puts == 1
