"""eBay orders to canonical orders: the built order (fields from eBay's type pages, see
payloads/SOURCES.md) against its expected JSON, the status rules, typed errors, and the
erasure of a buyer's data."""

from __future__ import annotations

import copy
import json
from decimal import ROUND_HALF_UP, Decimal

import pytest

from connectors.channels.ebay import translate
from connectors.channels.ebay.tests.helpers import HERE, payload, vector
from hub.canonical import CustomerErasure, OrderStatus, order_to_json
from hub.errors import TranslationError
from hub.values import loads


def _order(**changes):
    order = copy.deepcopy(payload("order_paid_built.json"))
    order.update(changes)
    return order


def test_the_built_order_translates_to_its_expected_canonical_json():
    update = translate.translate_order(payload("order_paid_built.json"))
    expected = json.loads((HERE / "expected" / "order_paid_built.json").read_text())
    assert order_to_json(update.order) == expected
    assert update.problems == []
    assert update.channel_status == "PAID/NOT_STARTED/NONE_REQUESTED"


@pytest.mark.parametrize(
    ("changes", "status", "problem"),
    [
        ({}, OrderStatus.READY, None),
        ({"orderPaymentStatus": "PENDING"}, OrderStatus.AWAITING_PAYMENT, None),
        ({"orderPaymentStatus": "FAILED"}, OrderStatus.AWAITING_PAYMENT, None),
        ({"orderPaymentStatus": "FULLY_REFUNDED"}, OrderStatus.CANCELLED, None),
        ({"orderPaymentStatus": "PARTIALLY_REFUNDED"}, OrderStatus.READY, None),
        ({"orderFulfillmentStatus": "FULFILLED"}, OrderStatus.SHIPPED, None),
        ({"orderFulfillmentStatus": "IN_PROGRESS"}, OrderStatus.READY, None),
        ({"cancelStatus": {"cancelState": "CANCELED"}}, OrderStatus.CANCELLED, None),
        (
            {"cancelStatus": {"cancelState": "IN_PROGRESS", "cancelRequests": [{}]}},
            OrderStatus.ON_HOLD,
            translate.CANCEL_REQUESTED,
        ),
        ({"orderPaymentStatus": "SOMETHING_NEW"}, OrderStatus.ON_HOLD, "unknown eBay payment"),
    ],
)
def test_statuses_follow_payment_fulfilment_and_cancel_requests(changes, status, problem):
    update = translate.translate_order(_order(**changes))
    assert update.order.status is status
    if problem is None:
        assert update.problems == []
    else:
        assert any(problem in p for p in update.problems)
        assert update.status_problem and problem in update.status_problem


def test_a_pending_payment_inside_a_paid_order_waits_for_payment():
    order = _order()
    order["paymentSummary"]["payments"][0]["paymentStatus"] = "PENDING"
    assert translate.translate_order(order).order.status is OrderStatus.AWAITING_PAYMENT


def test_a_payment_hold_on_the_sellers_funds_does_not_stop_the_order_but_shows():
    order = _order()
    order["paymentSummary"]["payments"][0]["paymentHolds"] = [
        {
            "holdReason": "New seller",
            "holdAmount": {"value": "37.45", "currency": "GBP"},
            "holdState": "HELD",
            "expectedReleaseDate": "2026-12-20T00:00:00.000Z",
        }
    ]
    update = translate.translate_order(order)
    assert update.order.status is OrderStatus.READY
    assert update.order.tags == [translate.HELD_PAYMENT_TAG]
    order["paymentSummary"]["payments"][0]["paymentHolds"][0]["holdState"] = "RELEASED"
    assert translate.translate_order(order).order.tags == []


def test_totals_that_do_not_add_up_are_named():
    order = _order()
    order["pricingSummary"]["total"]["value"] = "40.00"
    problems = translate.translate_order(order).problems
    assert any("difference 2.55" in p for p in problems)


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"orderId": None}, "orderId"),
        ({"pricingSummary": {"total": {"value": "1.00"}}}, "pricingSummary.total.currency"),
        ({"lineItems": [{"lineItemId": "1", "quantity": "two"}]}, "lineItems[0].quantity"),
        ({"lineItems": "nope"}, "lineItems"),
        ({"creationDate": "yesterday"}, "creationDate"),
    ],
)
def test_a_bad_order_is_a_typed_error_naming_the_field(changes, path):
    with pytest.raises(TranslationError) as caught:
        translate.translate_order(_order(**changes))
    assert caught.value.path == path


def test_an_amount_in_another_currency_is_refused():
    order = _order()
    order["lineItems"][0]["lineItemCost"]["currency"] = "EUR"
    with pytest.raises(TranslationError, match="amount in EUR"):
        translate.translate_order(order)


def test_erasing_the_buyer_keeps_the_order_but_no_personal_data():
    erased = translate.erase_buyer(payload("order_paid_built.json"))
    text = json.dumps(erased)
    for personal in (
        "Jane",
        "High Street",
        "07700900123",
        "jane.buyer@example.com",
        "members.ebay.com",
        "jane_buyer_uk",
        "neighbour",
    ):
        assert personal not in text
    assert erased["orderId"] == "12-34567-89012" and len(erased["lineItems"]) == 2
    assert translate.buyer_username(erased) == translate.ERASED


def test_the_deletion_notice_names_the_user_to_erase():
    message = vector()["message"]
    deletion = translate.read_deletion(message)
    assert (deletion.username, deletion.user_id) == ("test_user", "ma8vp1jySJC")
    from connectors.channels.ebay.tests.helpers import connector

    erasure = connector().translate(translate.DELETION_TOPIC, message)
    assert isinstance(erasure, CustomerErasure)
    assert erasure.customer_refs == ("test_user", "ma8vp1jySJC")
    assert "test_user" not in json.dumps(translate.erase_deletion(message))
    with pytest.raises(TranslationError):
        translate.read_deletion({"notification": {"data": {}}})


def _recorded() -> list:
    """Every recorded order with an expected canonical JSON (the contract suite's rule)."""
    return sorted(
        path
        for path in (HERE / "payloads").glob("*.json")
        if (HERE / "expected" / path.name).is_file()
    )


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.mark.parametrize("path", _recorded(), ids=lambda p: p.stem)
def test_recorded_orders_lines_and_totals_add_up(path):
    # the totals contract of every channel (tests/connectors/test_connector_contract.py), for
    # each order topic: sum(unit_price * quantity) = subtotal and
    # total = subtotal - discount + shipping + tax (tax_included false), to the cent
    from connectors.channels.ebay.tests.helpers import connector

    ebay = connector()
    for topic in sorted(ebay.topics - {translate.DELETION_TOPIC}):
        update = ebay.translate(topic, loads(path.read_bytes()))
        order, totals = update.order, update.order.totals
        assert order_to_json(order) == json.loads((HERE / "expected" / path.name).read_text())
        assert order.lines, topic
        lines = sum((line.unit_price * line.quantity for line in order.lines), Decimal(0))
        assert _cents(lines) == _cents(totals.subtotal), topic
        tax = Decimal(0) if totals.tax_included else totals.tax
        assert _cents(totals.subtotal - totals.discount + totals.shipping + tax) == _cents(
            totals.total
        ), topic
        assert all(v >= 0 for v in (totals.discount, totals.shipping, totals.tax)), topic
        assert sum(line.discount for line in order.lines) <= totals.discount, topic
        assert not [p for p in update.problems if "add up" in p], (topic, update.problems)


def test_a_cancel_request_from_get_order_holds_the_order_and_ebays_remitted_tax_is_not_in_it():
    # getOrder fills cancelRequests; the buyer's request holds the order until the seller
    # answers it on eBay. The US sales tax eBay collects and remits (ebayCollectAndRemitTaxes,
    # lineItems.taxes empty) is neither the seller's tax nor in pricingSummary.total.
    order = payload("order_cancel_requested_built.json")
    update = translate.translate_order(order)
    assert update.order.status is OrderStatus.ON_HOLD
    assert update.status_problem == translate.CANCEL_REQUESTED
    assert update.order.tags == [translate.HELD_PAYMENT_TAG]
    totals = update.order.totals
    assert (totals.tax, totals.shipping, totals.total) == (0, 0, Decimal("72.50"))
    assert [line.tax for line in update.order.lines] == [0, 0]
    assert update.channel_status == "PAID/NOT_STARTED/IN_PROGRESS"
    # once no cancellation is in progress (the seller rejected the request), it is ready
    order["cancelStatus"]["cancelState"] = "NONE_REQUESTED"
    order["cancelStatus"]["cancelRequests"][0]["cancelRequestState"] = "REJECTED"
    assert translate.translate_order(order).order.status is OrderStatus.READY
