"""Orders API v2026-01-01 orders translated: every recorded order (sandbox answers and the
model's documented example) against its expected canonical JSON in ``expected/``.

Each ``payloads/order_<source>.json`` is the one ``Order`` of the recorded answer
``payloads/<source>.json``, exactly what the connector translates (the inbox stores one order
per delivery), beside ``expected/order_<source>.json``: the shape the channel connector
contract suite reads (``tests/connectors/test_connector_contract.py``), whose invariants are
held here for Amazon's orders too.
"""

from __future__ import annotations

import copy
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.channels.amazon import AmazonConnector
from connectors.channels.amazon.tests.helpers import account
from connectors.channels.amazon.translate import ORDER_TOPIC, translate_order
from hub.canonical import OrderStatus, order_to_json
from hub.errors import TranslationError
from hub.values import loads

HERE = Path(__file__).parent
#: how Amazon describes each recorded order (``fulfilledBy:fulfillmentStatus``)
CHANNEL_STATUS = {
    "order_searchOrders_sandbox_1.json": "FBA:SHIPPED",
    "order_searchOrders_sandbox_2.json": "MFN:SHIPPED",
    "order_searchOrders_sandbox_3.json": "MFN:UNSHIPPED",
    "order_searchOrders_docs_example.json": "MFN:SHIPPED",
    "order_getOrder_sandbox_028-1234567-8901234.json": "MFN:SHIPPED",
    "order_getOrder_sandbox_114-9876543-1234567.json": "MFN:UNSHIPPED",
    "order_getOrder_sandbox_171-9876543-2109876.json": "MFN:UNSHIPPED",
}


def recorded() -> list[Path]:
    """The recorded payloads with an expected canonical JSON (as the contract suite finds them)."""
    return sorted(
        path
        for path in (HERE / "payloads").glob("*.json")
        if (HERE / "expected" / path.name).is_file()
    )


def order(name: str) -> dict[str, Any]:
    return loads((HERE / "payloads" / name).read_bytes())


def test_every_recorded_order_is_paired_and_is_the_order_of_its_recorded_answer() -> None:
    assert [p.name for p in recorded()] == sorted(CHANNEL_STATUS)
    for path in recorded():
        source = loads((HERE / "payloads" / path.name.removeprefix("order_")).read_bytes())
        orders = source["orders"] if "orders" in source else [source["order"]]
        assert orders == [loads(path.read_bytes())], path.name


@pytest.mark.parametrize("name", sorted(CHANNEL_STATUS))
def test_recorded_orders_translate_as_expected(name: str) -> None:
    expected = json.loads((HERE / "expected" / name).read_text(encoding="utf-8"))
    update = AmazonConnector(account()).translate(ORDER_TOPIC, order(name))
    assert order_to_json(update.order) == expected
    assert update.problems == []
    assert update.channel_status == CHANNEL_STATUS[name]


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.mark.parametrize("name", sorted(CHANNEL_STATUS))
def test_recorded_orders_lines_and_totals_add_up(name: str) -> None:
    # the contract suite's invariant: sum(unit_price * quantity) = subtotal, and
    # total = subtotal - discount + shipping + (tax unless tax_included), to the cent
    payload = order(name)
    before = copy.deepcopy(payload)
    update = translate_order(payload)
    got, totals = update.order, update.order.totals
    assert got.lines
    lines = sum((line.unit_price * line.quantity for line in got.lines), Decimal(0))
    assert _cents(lines) == _cents(totals.subtotal)
    tax = Decimal(0) if totals.tax_included else totals.tax
    assert _cents(totals.subtotal - totals.discount + totals.shipping + tax) == _cents(totals.total)
    assert all(v >= 0 for v in (totals.discount, totals.shipping, totals.tax))
    assert sum(line.discount for line in got.lines) <= totals.discount
    assert not [p for p in update.problems if "add up" in p]
    assert payload == before  # the payload is left as it came


def test_the_documented_order_adds_up_with_its_delivery_tip_as_a_line() -> None:
    got = translate_order(order("order_searchOrders_docs_example.json")).order
    assert got.totals.total == got.totals.subtotal - got.totals.discount + got.totals.tax
    tip = got.lines[-1]
    assert (tip.name, tip.requires_shipping, str(tip.unit_price)) == ("Delivery tip", False, "5.00")
    assert {"PRIME", "AMAZON_BUSINESS"} <= set(got.tags)
    assert "Ship by 2024-12-27T23:59:59Z" in (got.notes or "")


def test_a_pending_order_without_address_waits_for_payment() -> None:
    # built from sandbox case 3: Amazon gives no address while an order is PENDING
    payload = copy.deepcopy(order("order_searchOrders_sandbox_3.json"))
    payload["fulfillment"]["fulfillmentStatus"] = "PENDING"
    payload.pop("recipient")
    update = translate_order(payload)
    assert update.order.status == OrderStatus.AWAITING_PAYMENT
    assert update.order.shipping_address is None


def test_an_fba_order_is_held_never_to_be_released_and_never_needs_attention() -> None:
    # built from sandbox case 1 (FBA, shipped): the same order while Amazon still has to ship
    payload = copy.deepcopy(order("order_searchOrders_sandbox_1.json"))
    payload["fulfillment"]["fulfillmentStatus"] = "UNSHIPPED"
    payload.pop("recipient")
    update = translate_order(payload)
    assert update.order.status == OrderStatus.ON_HOLD
    assert "FBA" in update.order.tags
    assert update.problems == []
    assert update.channel_status == "FBA:UNSHIPPED"


def test_an_fba_order_shipped_by_amazon_is_shipped() -> None:
    assert translate_order(order("order_searchOrders_sandbox_1.json")).order.status == "shipped"


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
    payload = copy.deepcopy(order("order_searchOrders_sandbox_2.json"))
    change(payload)
    with pytest.raises(TranslationError) as caught:
        translate_order(payload)
    assert caught.value.path == path


def test_an_unknown_topic_is_refused() -> None:
    with pytest.raises(TranslationError):
        translate_order(order("order_searchOrders_sandbox_2.json"), topic="orders/create")


def test_a_buyers_cancellation_request_holds_an_order_still_to_ship() -> None:
    # built from sandbox case 3 (UNSHIPPED) with the documented example's cancellation request
    payload = copy.deepcopy(order("order_searchOrders_sandbox_3.json"))
    documented = order("order_searchOrders_docs_example.json")["orderItems"][0]["cancellation"]
    payload["orderItems"][0]["cancellation"] = {
        "cancellationRequest": documented["cancellationRequest"]
    }
    got = translate_order(payload).order
    assert got.status == OrderStatus.ON_HOLD
    assert "BUYER_REQUESTED_CANCEL" in got.tags
    assert "Changed mind about purchase" in (got.notes or "")


@pytest.mark.parametrize("name", sorted(CHANNEL_STATUS))
@pytest.mark.parametrize("bad", ["abc", "12,50", "NaN", "Infinity", {"amount": "1.00"}])
def test_a_non_numeric_total_raises_a_translation_error_naming_the_field(name: str, bad) -> None:
    # the contract suite's check, where Amazon keeps the total: proceeds.grandTotal.amount
    payload = order(name)
    expected = json.loads((HERE / "expected" / name).read_text(encoding="utf-8"))
    assert payload["proceeds"]["grandTotal"]["amount"] == expected["totals"]["total"]
    payload["proceeds"]["grandTotal"]["amount"] = bad
    with pytest.raises(TranslationError) as caught:
        translate_order(payload)
    assert caught.value.path == "proceeds.grandTotal.amount"
