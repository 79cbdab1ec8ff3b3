"""Shopify order payload -> canonical order (connectors.channels.shopify.translate).

The two samples in ``payloads/`` are public Shopify examples (see ``payloads/SOURCES.md``);
``expected/`` holds their canonical JSON, worked out by hand from the payloads. Variants are
made in the tests from a deep copy of a sample.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.channels.shopify.translate import (
    ORDER_TOPICS,
    order_status,
    translate_order,
)
from hub.canonical import (
    NO_SHIPPING_ADDRESS,
    NO_SHIPPING_COUNTRY,
    Order,
    OrderStatus,
    OrderUpdate,
    order_to_json,
    totals_problems,
)
from hub.errors import TranslationError
from hub.values import loads

HERE = Path(__file__).parent
WEBHOOK = "orders_create_webhook_test_notification.json"
REST = "order_get_rest_2024-04_response.json"
BIG_ID = 9007199254740993  # 2**53 + 1: the first integer a float cannot hold


def raw(name: str) -> bytes:
    return (HERE / "payloads" / name).read_bytes()


def sample(name: str) -> Any:
    return loads(raw(name))


def expected(name: str) -> dict[str, Any]:
    return json.loads((HERE / "expected" / name).read_text(encoding="utf-8"))


def open_order() -> dict[str, Any]:
    """The webhook sample as a paid, unfulfilled, not cancelled order."""
    payload = copy.deepcopy(sample(WEBHOOK))
    payload.update(
        cancelled_at=None, cancel_reason=None, financial_status="paid", fulfillment_status=None
    )
    return payload


def translate(payload: Any, topic: str = "orders/updated") -> OrderUpdate:
    result = translate_order(payload, topic=topic)
    assert isinstance(result, OrderUpdate)
    return result


# -- the samples --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "topic"), [(WEBHOOK, "orders/create"), (REST, "orders/updated")])
def test_sample_translates_to_hand_written_canonical_json(name, topic):
    result = translate(loads(raw(name)), topic)
    assert order_to_json(result.order) == expected(name)
    assert result.problems == []


def test_translation_does_not_change_the_payload():
    payload = sample(REST)
    before = copy.deepcopy(payload)
    translate(payload)
    assert payload == before


def test_wrapped_and_unwrapped_forms_give_the_same_order():
    wrapped = sample(REST)
    unwrapped = copy.deepcopy(wrapped["order"])
    assert translate(wrapped).order == translate(unwrapped).order
    webhook = sample(WEBHOOK)
    assert translate({"order": copy.deepcopy(webhook)}).order == translate(webhook).order


@pytest.mark.parametrize("topic", ORDER_TOPICS)
def test_every_order_topic_is_translated(topic):
    assert translate(sample(WEBHOOK), topic).order.external_id == "820982911946154508"


@pytest.mark.parametrize("topic", ["orders/delete", "refunds/create", "unknown", ""])
def test_unknown_topic_raises(topic):
    with pytest.raises(TranslationError, match="topic"):
        translate_order(sample(WEBHOOK), topic=topic)


def test_connector_declares_the_order_topics():
    from connectors.channels.shopify import ShopifyConnector

    # the rest are the returns and refunds topics (test_shopify_returns.py)
    assert frozenset(ORDER_TOPICS) == ShopifyConnector.topics - ShopifyConnector.return_topics


# -- exact ids, money and times -----------------------------------------------------------


def test_64_bit_ids_survive_exactly_from_raw_json():
    body = raw(WEBHOOK)
    body = body.replace(b'"id": 820982911946154508', b'"id": %d' % BIG_ID, 1)
    body = body.replace(b'"id": 141249953214522974', b'"id": %d' % (BIG_ID + 2), 1)
    assert str(int(float(BIG_ID))) != str(BIG_ID)  # the trap this guards against
    order = translate(loads(body)).order
    assert order.external_id == "9007199254740993"
    assert [line.external_id for line in order.lines] == [
        "866550311766439020",
        "9007199254740995",
    ]


def test_64_bit_id_as_string_or_integral_decimal():
    payload = open_order()
    payload["id"] = "9223372036854775807"
    payload["line_items"][0]["id"] = Decimal("9223372036854775807")
    order = translate(payload).order
    assert order.external_id == "9223372036854775807"
    assert order.lines[0].external_id == "9223372036854775807"


def test_money_is_decimal_and_sums_exactly():
    payload = open_order()
    dime = {"price": "0.10", "title": "State Tax", "rate": Decimal("0.06")}
    payload["line_items"][0]["tax_lines"] = [dict(dime), dict(dime), dict(dime)]
    payload["line_items"][0]["discount_allocations"] = [{"amount": "0.10"}] * 3
    payload["shipping_lines"] = [
        {"title": "Parcel", "price": "0.10"},
        {"title": "Insurance", "price": "0.10"},
        {"title": "", "price": "0.10"},
    ]
    order = translate(payload).order
    line = order.lines[0]
    for amount in (line.tax, line.discount, order.shipping.price, order.totals.shipping):
        assert isinstance(amount, Decimal)
        assert amount == Decimal("0.30")
        assert str(amount) == "0.30"
    assert order.shipping.method == "Parcel + Insurance"
    assert order.shipping.carrier_service is None


def test_money_keeps_minor_units_and_extra_places():
    payload = open_order()
    payload["total_price"] = 403  # an int from JSON
    payload["total_line_items_price"] = Decimal("398.005")  # a non-integer JSON number
    totals = translate(payload).order.totals
    assert str(totals.total) == "403.00"
    assert str(totals.subtotal) == "398.005"


def test_zero_decimal_currency():
    payload = open_order()
    payload["currency"] = "jpy"
    payload["total_price"] = "1500"
    order = translate(payload).order
    assert order.currency == "JPY"
    assert str(order.totals.total) == "1500"


@pytest.mark.parametrize(
    ("created_at", "placed_at"),
    [
        ("2019-12-31T22:30:00-04:00", datetime(2020, 1, 1, 2, 30, tzinfo=UTC)),
        ("2024-03-10T23:30:00+05:30", datetime(2024, 3, 10, 18, 0, tzinfo=UTC)),
        ("2024-03-10T18:00:00Z", datetime(2024, 3, 10, 18, 0, tzinfo=UTC)),
    ],
)
def test_times_with_offsets_are_converted_to_utc(created_at, placed_at):
    payload = open_order()
    payload["created_at"] = created_at
    payload["updated_at"] = "2024-04-02T08:59:11-05:00"
    order = translate(payload).order
    assert order.placed_at == placed_at
    assert order.placed_at.utcoffset().total_seconds() == 0
    assert order.updated_at == datetime(2024, 4, 2, 13, 59, 11, tzinfo=UTC)


# -- status -------------------------------------------------------------------------------

CANCELLED_AT = "2019-06-04T13:53:06-04:00"


@pytest.mark.parametrize(
    ("cancelled_at", "financial", "fulfillment", "status"),
    [
        (CANCELLED_AT, "paid", None, OrderStatus.CANCELLED),
        (CANCELLED_AT, "paid", "fulfilled", OrderStatus.CANCELLED),
        (None, "voided", None, OrderStatus.CANCELLED),
        (None, "refunded", "fulfilled", OrderStatus.CANCELLED),
        (None, "paid", "fulfilled", OrderStatus.SHIPPED),
        (None, "pending", "fulfilled", OrderStatus.SHIPPED),
        (None, "paid", "partial", OrderStatus.PARTIALLY_SHIPPED),
        (None, "paid", None, OrderStatus.READY),
        (None, "partially_refunded", None, OrderStatus.READY),
        (None, "authorized", None, OrderStatus.READY),
        (None, "PAID", "unfulfilled", OrderStatus.READY),
        (None, "pending", None, OrderStatus.AWAITING_PAYMENT),
        (None, "partially_paid", None, OrderStatus.AWAITING_PAYMENT),
        (None, None, None, OrderStatus.AWAITING_PAYMENT),
        (None, "something_new", None, OrderStatus.AWAITING_PAYMENT),
    ],
)
def test_status(cancelled_at, financial, fulfillment, status):
    payload = open_order()
    payload.update(
        cancelled_at=cancelled_at, financial_status=financial, fulfillment_status=fulfillment
    )
    assert translate(payload).order.status is status
    assert (
        order_status(
            financial_status=financial,
            fulfillment_status=fulfillment,
            cancelled=cancelled_at is not None,
        )
        is status
    )


# -- lines --------------------------------------------------------------------------------


def test_gift_card_line_does_not_require_shipping():
    payload = open_order()
    payload["line_items"][0].update(gift_card=True, requires_shipping=True, sku="")
    update = translate(payload)
    assert [line.requires_shipping for line in update.order.lines] == [False, True]
    assert update.order.lines[0].sku is None
    assert update.problems == []  # a gift card needs no SKU to be fulfilled


def test_line_that_does_not_require_shipping():
    payload = open_order()
    payload["line_items"][1]["requires_shipping"] = False
    assert [line.requires_shipping for line in translate(payload).order.lines] == [True, False]


def test_line_name_falls_back_to_title_and_discount_to_total_discount():
    payload = open_order()
    item = payload["line_items"][1]
    item["name"] = ""
    item["title"] = "Gift wrap"
    del item["discount_allocations"]
    item["total_discount"] = "2.50"
    item["quantity"] = 3
    line = translate(payload).order.lines[1]
    assert line.name == "Gift wrap"
    assert line.discount == Decimal("2.50")
    assert line.quantity == 3


def test_no_line_items():
    payload = open_order()
    payload["line_items"] = []
    update = translate(payload)
    assert update.order.lines == []
    assert update.problems == ["the order has no lines"]


# -- customer, addresses, notes, tags -----------------------------------------------------


def test_customer_falls_back_through_contact_email_customer_and_addresses():
    payload = open_order()
    payload["email"] = ""
    payload["contact_email"] = None
    payload["phone"] = None
    payload["customer"]["first_name"] = None
    payload["customer"]["last_name"] = ""
    customer = translate(payload).order.customer
    assert customer.email == "john@test.com"
    assert customer.name == "Bob Biller"
    assert customer.phone == "555-555-SHIP"

    payload["contact_email"] = "contact@doe.ca"
    payload["customer"]["phone"] = "+15555550100"
    payload["customer"]["first_name"] = "Jon"
    customer = translate(payload).order.customer
    assert (customer.email, customer.name, customer.phone) == (
        "contact@doe.ca",
        "Jon",
        "+15555550100",
    )


def test_no_customer_and_no_addresses():
    payload = open_order()
    for key in ("email", "contact_email", "customer", "billing_address", "shipping_address"):
        payload.pop(key)
    order = translate(payload).order
    assert order.customer.email is None
    assert order.customer.name is None
    assert order.customer.phone is None
    assert order.shipping_address is None
    assert order.billing_address is None


def test_address_fallbacks_and_empty_strings():
    payload = open_order()
    address = payload["shipping_address"]
    address.update(name="", province_code=None, address2="  ", company="", zip="40003 ")
    shipping = translate(payload).order.shipping_address
    assert shipping.name == "Steve Shipper"  # first_name + last_name
    assert shipping.region == "Kentucky"
    assert shipping.line2 is None
    assert shipping.company is None
    assert shipping.postal_code == "40003"
    address["country_code"] = "us"
    assert translate(payload).order.shipping_address.country_code == "US"


def test_number_falls_back_to_order_number():
    payload = open_order()
    payload["name"] = None
    assert translate(payload).order.number == "1234"


def test_notes_and_tags():
    payload = open_order()
    payload["note"] = "  leave at the door "
    payload["tags"] = " wholesale, rush ,, Léon,"
    order = translate(payload).order
    assert order.notes == "leave at the door"
    assert order.tags == ["wholesale", "rush", "Léon"]
    payload["note"] = ""
    payload["tags"] = ""
    order = translate(payload).order
    assert order.notes is None
    assert order.tags == []


def test_shipping_price_falls_back_to_total_shipping_price_set():
    payload = open_order()
    payload["shipping_lines"] = []
    shipping = translate(payload).order.shipping
    assert shipping.method is None
    assert shipping.price == Decimal("10.00")
    del payload["total_shipping_price_set"]
    assert translate(payload).order.shipping.price == Decimal("0.00")


def test_hub_fields_are_left_unset():
    order = translate(sample(WEBHOOK)).order
    assert (order.id, order.client, order.account) == (None, None, None)
    assert order.channel == "shopify"


# -- problems -----------------------------------------------------------------------------


def test_problem_no_shipping_address():
    payload = open_order()
    payload["shipping_address"] = None
    assert translate(payload).problems == [NO_SHIPPING_ADDRESS]
    assert NO_SHIPPING_ADDRESS == "no shipping address for lines that need shipping"


def test_no_shipping_address_is_fine_when_nothing_ships():
    payload = open_order()
    payload["shipping_address"] = None
    for item in payload["line_items"]:
        item["requires_shipping"] = False
    assert translate(payload).problems == []


def test_problem_line_without_sku():
    payload = open_order()
    payload["line_items"][1]["sku"] = ""
    assert translate(payload).problems == ["line_items[1]: no SKU"]


def test_problem_shipping_address_without_country():
    payload = open_order()
    payload["shipping_address"]["country_code"] = None
    payload["line_items"][0]["sku"] = None
    assert translate(payload).problems == [NO_SHIPPING_COUNTRY, "line_items[0]: no SKU"]


def test_cancelled_order_has_no_problems():
    payload = sample(WEBHOOK)
    payload["shipping_address"] = None
    payload["line_items"][0]["sku"] = None
    update = translate(payload, "orders/cancelled")
    assert update.order.status is OrderStatus.CANCELLED
    assert update.problems == []


# -- bad payloads -------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [None, [], "order", 42, Decimal("1.5")])
def test_payload_that_is_not_an_object(payload):
    with pytest.raises(TranslationError) as caught:
        translate_order(payload, topic="orders/create")
    assert caught.value.path == "$"


DELETE = object()


def set_at(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target = payload
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value


@pytest.mark.parametrize(
    ("where", "value", "path"),
    [
        (("id",), DELETE, "id"),
        (("id",), None, "id"),
        (("id",), True, "id"),
        (("id",), Decimal("1.5"), "id"),
        (("currency",), None, "currency"),
        (("currency",), "US Dollar", "currency"),
        (("total_price",), "abc", "total_price"),
        (("total_price",), 403.0, "total_price"),  # a binary float: not parsed with loads
        (("total_tax",), "NaN", "total_tax"),
        (("created_at",), "yesterday", "created_at"),
        (("created_at",), "2019-06-04T13:53:06", "created_at"),  # no offset: ambiguous
        (("updated_at",), "2019-13-04T13:53:06-04:00", "updated_at"),
        (("cancelled_at",), "soon", "cancelled_at"),
        (("shipping_address", "country_code"), "USA", "shipping_address.country_code"),
        (("billing_address", "country_code"), "U1", "billing_address.country_code"),
        (("shipping_address",), "123 Shipping Street", "shipping_address"),
        (("customer",), ["John"], "customer"),
        (("line_items",), {"id": 1}, "line_items"),
        (("line_items", 0), None, "line_items[0]"),
        (("line_items", 1), "IPOD2008PINK", "line_items[1]"),
        (("line_items", 1, "quantity"), Decimal("1.5"), "line_items[1].quantity"),
        (("line_items", 1, "quantity"), -1, "line_items[1].quantity"),
        (("line_items", 1, "quantity"), "1", "line_items[1].quantity"),
        (("line_items", 1, "quantity"), DELETE, "line_items[1].quantity"),
        (("line_items", 1, "price"), "abc", "line_items[1].price"),
        (
            ("line_items", 1, "discount_allocations", 0, "amount"),
            "5,00",
            "line_items[1].discount_allocations[0].amount",
        ),
        (("line_items", 1, "tax_lines"), [{"price": "x"}], "line_items[1].tax_lines[0].price"),
        (("line_items", 1, "id"), {"id": 1}, "line_items[1].id"),
        (("shipping_lines", 0, "price"), "ten", "shipping_lines[0].price"),
        (("shipping_lines", 0), "Generic Shipping", "shipping_lines[0]"),
        (("tags",), 7, "tags"),
    ],
)
def test_bad_payload_names_the_path(where, value, path):
    payload = open_order()
    set_at(payload, where, value)
    with pytest.raises(TranslationError) as caught:
        translate_order(payload, topic="orders/updated")
    assert caught.value.path == path
    assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("where", "value", "path"),
    [
        (("order",), "450789469", "order"),
        (("order", "id"), DELETE, "order.id"),
        (
            ("order", "line_items", 2, "current_quantity"),
            "one",
            "order.line_items[2].current_quantity",
        ),
        (("order", "total_shipping_price_set"), [], "order.total_shipping_price_set"),
    ],
)
def test_bad_wrapped_payload_names_the_path_from_the_wrapper(where, value, path):
    # the 2024-04 sample has current_quantity (what refunds left), which wins over quantity
    payload = sample(REST)
    if path == "order.total_shipping_price_set":
        payload["order"]["shipping_lines"] = []
    set_at(payload, where, value)
    with pytest.raises(TranslationError) as caught:
        translate_order(payload, topic="orders/updated")
    assert caught.value.path == path


def test_refunded_units_are_not_owed():
    payload = sample(REST)["order"]
    quantities = {
        ln.external_id: ln.quantity
        for ln in translate_order(payload, topic="orders/updated").order.lines
    }
    # two of the three lines were refunded (current_quantity 0 in the payload)
    assert quantities == {"466157049": 0, "518995019": 1, "703073504": 0}
    for item in payload["line_items"]:
        del item["current_quantity"]
    older = translate_order(payload, topic="orders/updated").order
    assert [ln.quantity for ln in older.lines] == [1, 1, 1]


# -- totals, as the canonical contract defines them ---------------------------------------


def test_a_discounted_order_has_its_subtotal_before_the_discount():
    totals = translate(open_order()).order.totals
    assert (totals.subtotal, totals.discount, totals.shipping) == (
        Decimal("398.00"),
        Decimal("5.00"),
        Decimal("10.00"),
    )
    assert totals.subtotal - totals.discount + totals.shipping + totals.tax == totals.total


def test_a_refunded_order_has_its_lines_and_totals_as_they_stand_now():
    result = translate(sample(REST))
    order = result.order
    assert [line.quantity for line in order.lines] == [0, 1, 0]
    # the refunded lines' discount and tax went with them
    assert [str(line.discount) for line in order.lines] == ["0.00", "3.33", "0.00"]
    assert [str(line.tax) for line in order.lines] == ["0.00", "3.98", "0.00"]
    assert (str(order.totals.subtotal), str(order.totals.total)) == ("199.00", "199.65")
    assert result.problems == []


def test_a_partly_refunded_line_keeps_its_share_of_discount_and_tax():
    payload = open_order()
    line = payload["line_items"][1]
    line.update(quantity=3, current_quantity=1, price="10.00")
    line["tax_lines"] = [{"price": "6.00", "title": "VAT"}]
    line["discount_allocations"] = [{"amount": "3.00"}]
    order = translate(payload).order
    assert (order.lines[1].discount, order.lines[1].tax) == (Decimal("1.00"), Decimal("2.00"))


def test_taxes_included_is_read_and_the_total_then_leaves_tax_out():
    payload = open_order()
    payload.update(taxes_included=True, total_tax="20.00")
    result = translate(payload)
    assert result.order.totals.tax_included is True
    assert not [p for p in result.problems if "add up" in p]


def test_a_shipping_discount_stays_with_shipping():
    payload = open_order()
    payload["shipping_lines"][0]["discount_allocations"] = [{"amount": "10.00"}]
    payload["total_price"] = "393.00"
    result = translate(payload)
    assert result.order.totals.shipping == Decimal("0.00")
    assert result.order.totals.discount == Decimal("5.00")
    assert result.problems == []


def test_totals_that_do_not_add_up_hold_the_order_naming_the_difference():
    payload = open_order()
    payload["total_price"] = "413.00"
    [problem] = translate(payload).problems
    assert "totals do not add up" in problem and "difference 10.00" in problem


def test_a_negative_price_holds_the_order():
    payload = open_order()
    payload["line_items"][0]["price"] = "-199.00"
    payload["total_line_items_price"] = "0.00"
    payload["total_price"] = "5.00"
    problems = translate(payload).problems
    assert "line_items[0]: negative unit price -199.00" in problems


def test_an_order_fulfilled_on_the_channel_is_shipped_whatever_is_missing():
    payload = open_order()
    payload.update(fulfillment_status="fulfilled", shipping_address=None)
    payload["line_items"][0]["sku"] = None
    result = translate(payload, "orders/fulfilled")
    assert result.order.status is OrderStatus.SHIPPED
    assert result.problems == []


# -- refunded shipping and refund discrepancies -------------------------------------------


def charged_shipping(price: str = "10.00") -> dict[str, Any]:
    """The 2024-04 sample as if its one shipping line had cost ``price`` (before any refund)."""
    order = sample(REST)["order"]
    order["shipping_lines"][0].update(price=price, discounted_price=price)
    return order


def shipping_adjustment(amount: str, kind: str = "shipping_refund") -> dict[str, Any]:
    """An ``order_adjustments`` entry as Shopify records it: the refunded amount is negative."""
    return {
        "id": 1030976842,
        "order_id": 450789469,
        "refund_id": 929361463,
        "amount": amount,
        "tax_amount": "0.00",
        "kind": kind,
        "reason": "Shipping refund" if kind == "shipping_refund" else "Refund discrepancy",
        "amount_set": {"shop_money": {"amount": amount, "currency_code": "USD"}},
        "tax_amount_set": {"shop_money": {"amount": "0.00", "currency_code": "USD"}},
    }


def with_shipping(order: Order, shipping: Decimal) -> Order:
    """``order`` with another reading of its shipping, to show what that reading would give."""
    return dataclasses.replace(order, totals=dataclasses.replace(order.totals, shipping=shipping))


def test_a_shipping_refund_is_taken_off_shipping():
    # 10.00 shipping charged, 4.00 of it refunded: current_total_price drops by 4.00 but the
    # shipping line still says 10.00
    payload = charged_shipping()
    payload["current_total_price"] = "205.65"  # 199.65 for the line left + 6.00 shipping
    payload["refunds"].append(
        {"id": 929361463, "order_adjustments": [shipping_adjustment("-4.00")]}
    )
    result = translate(payload)
    order = result.order
    # read from the shipping lines alone, the order would not add up
    [problem] = totals_problems(with_shipping(order, Decimal("10.00")))
    assert "difference -4.00" in problem
    assert (order.shipping.price, order.totals.shipping) == (Decimal("6.00"), Decimal("6.00"))
    assert str(order.totals.shipping) == "6.00"
    assert totals_problems(order) == []
    assert result.problems == []


def test_refunded_shipping_across_refunds_and_lines_is_summed_exactly():
    payload = charged_shipping("3.30")
    payload["shipping_lines"].append({"title": "Insurance", "price": "0.30"})
    payload["current_total_price"] = "199.75"  # 199.65 + 0.10 shipping left
    payload["refunds"][0]["order_adjustments"] = [shipping_adjustment("-0.10")]
    payload["refunds"].append(
        {"id": 2, "order_adjustments": [shipping_adjustment("-0.10"), shipping_adjustment("-3.30")]}
    )
    order = translate(payload).order
    assert order.totals.shipping == Decimal("0.10")
    assert str(order.shipping.price) == "0.10"
    assert totals_problems(order) == []


def test_a_full_shipping_refund_leaves_no_shipping_and_keeps_the_method():
    payload = charged_shipping()
    payload["refunds"].append(
        {"id": 929361463, "order_adjustments": [shipping_adjustment("-10.00")]}
    )
    order = translate(payload).order  # current_total_price stays 199.65: the 10.00 came back
    assert order.shipping.method == "Free Shipping"
    assert order.totals.shipping == Decimal("0.00")
    assert totals_problems(order) == []


def test_refund_shipping_lines_are_read_and_not_counted_twice_with_the_adjustment():
    # from 2024-10 a refund lists refunded shipping in refund_shipping_lines (positive amounts);
    # Shopify's 2025-04 example still carries the old shipping_refund adjustment beside it
    payload = charged_shipping()
    payload["current_total_price"] = "204.65"
    payload["refunds"].append(
        {
            "id": 929361471,
            "refund_shipping_lines": [
                {
                    "id": 623176826,
                    "shipping_line_id": 369256396,
                    "subtotal_amount_set": {
                        "shop_money": {"amount": "5.00", "currency_code": "USD"},
                        "presentment_money": {"amount": "5.00", "currency_code": "USD"},
                    },
                }
            ],
            "order_adjustments": [shipping_adjustment("-5.00")],
        }
    )
    order = translate(payload).order
    assert order.totals.shipping == Decimal("5.00")
    assert totals_problems(order) == []


def test_a_refund_discrepancy_changes_no_total():
    # a line refunded for 2.37 less than its value (a restocking fee): the line is gone from
    # current_total_price all the same, so the discrepancy is money, not the order's contents
    payload = sample(REST)["order"]
    payload["refunds"][0]["order_adjustments"] = [shipping_adjustment("2.37", "refund_discrepancy")]
    payload["refunds"].append(
        {"id": 3, "order_adjustments": [shipping_adjustment("-0.01", "refund_discrepancy")]}
    )
    result = translate(payload)
    assert order_to_json(result.order) == expected(REST)
    assert result.problems == []


def test_shipping_refunds_are_not_taken_off_an_order_read_from_its_original_totals():
    # without the current_* fields the totals are the original ones, shipping included
    payload = open_order()
    payload["refunds"] = [{"id": 1, "order_adjustments": [shipping_adjustment("-10.00")]}]
    result = translate(payload)
    assert result.order.totals.shipping == Decimal("10.00")
    assert result.problems == []


@pytest.mark.parametrize(
    ("where", "value", "path"),
    [
        (("refunds",), {"id": 1}, "order.refunds"),
        (("refunds", 0), "509562969", "order.refunds[0]"),
        (("refunds", 0, "order_adjustments"), {}, "order.refunds[0].order_adjustments"),
        (
            ("refunds", 0, "order_adjustments"),
            [{"kind": "shipping_refund", "amount": "-x"}],
            "order.refunds[0].order_adjustments[0].amount",
        ),
        (
            ("refunds", 0, "refund_shipping_lines"),
            [{"subtotal_amount_set": {"shop_money": {"amount": "five"}}}],
            "order.refunds[0].refund_shipping_lines[0].subtotal_amount_set.shop_money.amount",
        ),
    ],
)
def test_bad_refund_names_the_path(where, value, path):
    payload = sample(REST)
    set_at(payload["order"], where, value)
    with pytest.raises(TranslationError) as caught:
        translate_order(payload, topic="orders/updated")
    assert caught.value.path == path


# -- duties -------------------------------------------------------------------------------


def duty_set(amount: str) -> dict[str, Any]:
    return {
        "shop_money": {"amount": amount, "currency_code": "USD"},
        "presentment_money": {"amount": amount, "currency_code": "USD"},
    }


def line_duty(amount: str) -> dict[str, Any]:
    """A line's ``duties`` entry, in the shape the Order resource documents."""
    return {
        "id": "2",
        "harmonized_system_code": "852329",
        "country_code_of_origin": "CN",
        "price_set": duty_set(amount),
        "tax_lines": [],
        "admin_graphql_api_id": "gid://shopify/Duty/2",
    }


def with_tax(order: Order, tax: Decimal) -> Order:
    return dataclasses.replace(order, totals=dataclasses.replace(order.totals, tax=tax))


def test_current_duties_are_charged_with_shipping():
    # 20.00 of duties at checkout, 7.50 of it refunded with the refunded lines: 12.50 now
    payload = sample(REST)["order"]
    payload["original_total_duties_set"] = duty_set("20.00")
    payload["current_total_duties_set"] = duty_set("12.50")
    payload["line_items"][1]["duties"] = [line_duty("12.50")]
    payload["current_total_price"] = "212.15"  # 199.65 + 12.50 duties
    result = translate(payload)
    order = result.order
    [problem] = totals_problems(with_shipping(order, Decimal("0.00")))  # duties left out
    assert "difference 12.50" in problem
    assert order.totals.shipping == Decimal("12.50")
    assert str(order.totals.shipping) == "12.50"
    assert order.shipping.price == Decimal("0.00")  # the carriage itself is still free
    assert (order.totals.tax, order.totals.total) == (Decimal("3.98"), Decimal("212.15"))
    assert totals_problems(order) == []
    assert result.problems == []


def test_original_duties_go_with_the_original_totals():
    payload = open_order()
    payload["original_total_duties_set"] = duty_set("7.20")
    payload["total_price"] = "410.20"  # 398.00 - 5.00 + 10.00 shipping + 7.20 duties
    order = translate(payload).order
    assert order.totals.shipping == Decimal("17.20")
    assert order.shipping.price == Decimal("10.00")
    assert totals_problems(order) == []


def test_duties_add_up_when_prices_include_tax():
    # a tax-inclusive shop: the tax is inside the prices, the duties are not, so duties filed
    # under tax would drop out of the sum
    payload = open_order()
    payload.update(taxes_included=True, total_tax="66.33", total_price="405.40")
    payload["original_total_duties_set"] = duty_set("2.40")  # 398 - 5 + 10 + 2.40
    order = translate(payload).order
    assert order.totals.tax_included is True
    assert order.totals.shipping == Decimal("12.40")
    assert totals_problems(order) == []
    as_tax = dataclasses.replace(
        order,
        totals=dataclasses.replace(
            order.totals, shipping=Decimal("10.00"), tax=order.totals.tax + Decimal("2.40")
        ),
    )
    [problem] = totals_problems(as_tax)
    assert "difference 2.40" in problem


def test_duties_with_refunded_shipping_and_a_shipping_discount():
    payload = charged_shipping()
    payload["shipping_lines"][0]["discount_allocations"] = [{"amount": "1.00"}]
    payload["refunds"].append({"id": 9, "order_adjustments": [shipping_adjustment("-4.00")]})
    payload["current_total_duties_set"] = duty_set("0.35")
    payload["current_total_price"] = "205.00"  # 199.65 + 5.00 shipping + 0.35 duties
    order = translate(payload).order
    assert order.shipping.price == Decimal("5.00")
    assert order.totals.shipping == Decimal("5.35")
    assert totals_problems(order) == []


def test_no_duties_is_zero():
    payload = sample(REST)["order"]
    assert payload["current_total_duties_set"] is None
    del payload["original_total_duties_set"]
    assert translate(payload).order.totals.shipping == Decimal("0.00")


@pytest.mark.parametrize(
    ("key", "value", "path"),
    [
        (
            "current_total_duties_set",
            {"shop_money": {"amount": "x"}},
            "order.current_total_duties_set.shop_money.amount",
        ),
        ("current_total_duties_set", "12.50", "order.current_total_duties_set"),
    ],
)
def test_bad_duties_name_the_path(key, value, path):
    payload = sample(REST)
    payload["order"][key] = value
    with pytest.raises(TranslationError) as caught:
        translate_order(payload, topic="orders/updated")
    assert caught.value.path == path
