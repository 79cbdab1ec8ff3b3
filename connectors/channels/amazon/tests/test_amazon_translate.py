"""Orders API v2026-01-01 orders translated: every recorded order (sandbox answers and the
model's documented example) against its expected canonical JSON in ``expected/``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from connectors.channels.amazon.translate import translate_order
from hub.canonical import OrderStatus, order_to_json
from hub.errors import TranslationError
from hub.values import loads

HERE = Path(__file__).parent
SOURCES = {
    "searchOrders_sandbox_1.json": "orders",
    "searchOrders_sandbox_2.json": "orders",
    "searchOrders_sandbox_3.json": "orders",
    "searchOrders_docs_example.json": "orders",
    "getOrder_sandbox_028-1234567-8901234.json": "order",
    "getOrder_sandbox_114-9876543-1234567.json": "order",
    "getOrder_sandbox_171-9876543-2109876.json": "order",
}


def order(name: str) -> dict[str, Any]:
    body = loads((HERE / "payloads" / name).read_bytes())
    return body["orders"][0] if SOURCES[name] == "orders" else body["order"]


def result(payload: dict[str, Any]) -> dict[str, Any]:
    update = translate_order(payload)
    return {
        "order": order_to_json(update.order),
        "problems": update.problems,
        "channel_status": update.channel_status,
    }


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_recorded_orders_translate_as_expected(name: str) -> None:
    expected = json.loads((HERE / "expected" / name).read_text(encoding="utf-8"))
    assert result(order(name)) == expected


def test_the_documented_order_adds_up_with_its_delivery_tip_as_a_line() -> None:
    got = translate_order(order("searchOrders_docs_example.json")).order
    assert got.totals.total == got.totals.subtotal - got.totals.discount + got.totals.tax
    tip = got.lines[-1]
    assert (tip.name, tip.requires_shipping, str(tip.unit_price)) == ("Delivery tip", False, "5.00")
    assert {"PRIME", "AMAZON_BUSINESS"} <= set(got.tags)
    assert "Ship by 2024-12-27T23:59:59Z" in (got.notes or "")


def test_a_pending_order_without_address_waits_for_payment() -> None:
    # built from sandbox case 3: Amazon gives no address while an order is PENDING
    payload = copy.deepcopy(order("searchOrders_sandbox_3.json"))
    payload["fulfillment"]["fulfillmentStatus"] = "PENDING"
    payload.pop("recipient")
    update = translate_order(payload)
    assert update.order.status == OrderStatus.AWAITING_PAYMENT
    assert update.order.shipping_address is None


def test_an_fba_order_is_held_never_to_be_released_and_never_needs_attention() -> None:
    # built from sandbox case 1 (FBA, shipped): the same order while Amazon still has to ship
    payload = copy.deepcopy(order("searchOrders_sandbox_1.json"))
    payload["fulfillment"]["fulfillmentStatus"] = "UNSHIPPED"
    payload.pop("recipient")
    update = translate_order(payload)
    assert update.order.status == OrderStatus.ON_HOLD
    assert "FBA" in update.order.tags
    assert update.problems == []
    assert update.channel_status == "FBA:UNSHIPPED"


def test_an_fba_order_shipped_by_amazon_is_shipped() -> None:
    assert translate_order(order("searchOrders_sandbox_1.json")).order.status == "shipped"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda o: o.pop("orderId"), "orderId"),
        (
            lambda o: o["fulfillment"].update(fulfillmentStatus="LOST"),
            "fulfillment.fulfillmentStatus",
        ),
        (lambda o: o["orderItems"][0].update(quantityOrdered="2"), "orderItems[0].quantityOrdered"),
        (lambda o: o.update(orderItems={}), "orderItems"),
        (
            lambda o: o["orderItems"][0]["product"]["price"]["unitPrice"].update(amount=1.5),
            "orderItems[0].product.price.unitPrice.amount",
        ),
    ],
)
def test_bad_payloads_are_typed_errors_naming_the_field(change: Any, path: str) -> None:
    payload = copy.deepcopy(order("searchOrders_sandbox_2.json"))
    change(payload)
    with pytest.raises(TranslationError) as caught:
        translate_order(payload)
    assert caught.value.path == path


def test_an_unknown_topic_is_refused() -> None:
    with pytest.raises(TranslationError):
        translate_order(order("searchOrders_sandbox_2.json"), topic="orders/create")


def test_a_buyers_cancellation_request_holds_an_order_still_to_ship() -> None:
    # built from sandbox case 3 (UNSHIPPED) with the documented example's cancellation request
    payload = copy.deepcopy(order("searchOrders_sandbox_3.json"))
    documented = order("searchOrders_docs_example.json")["orderItems"][0]["cancellation"]
    payload["orderItems"][0]["cancellation"] = {
        "cancellationRequest": documented["cancellationRequest"]
    }
    got = translate_order(payload).order
    assert got.status == OrderStatus.ON_HOLD
    assert "BUYER_REQUESTED_CANCEL" in got.tags
    assert "Changed mind about purchase" in (got.notes or "")
