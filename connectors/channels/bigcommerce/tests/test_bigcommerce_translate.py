"""BigCommerce order documents to canonical orders (pure)."""

from __future__ import annotations

import json

import pytest

from connectors.channels.bigcommerce import translate
from connectors.channels.bigcommerce.tests.helpers import EXPECTED, document, payload
from hub.canonical import OrderRemoved, OrderStatus, order_to_json
from hub.errors import TranslationError


def order(**changes):
    result = translate.translate_order(document(**changes), topic=translate.UPDATED)
    assert not isinstance(result, OrderRemoved)
    return result


def test_the_assembled_document_translates_to_the_expected_order():
    expected = json.loads((EXPECTED / "order_v2_document.json").read_text())
    result = order()
    assert order_to_json(result.order) == expected
    assert result.problems == []
    assert result.channel_status == "11"


def test_money_is_exact_and_ids_are_strings():
    o = order().order
    assert str(o.totals.total) == "100.9300" and str(o.lines[0].unit_price) == "55.9900"
    assert [line.external_id for line in o.lines[:2]] == ["65", "66"]
    assert o.placed_at.isoformat() == "2019-03-05T21:40:11+00:00"  # RFC 2822 in, UTC out


@pytest.mark.parametrize(
    ("status_id", "status"),
    [
        (0, OrderStatus.AWAITING_PAYMENT),
        (1, OrderStatus.AWAITING_PAYMENT),
        (7, OrderStatus.AWAITING_PAYMENT),
        (11, OrderStatus.READY),
        (9, OrderStatus.READY),
        (14, OrderStatus.READY),
        (2, OrderStatus.SHIPPED),
        (3, OrderStatus.PARTIALLY_SHIPPED),
        (10, OrderStatus.SHIPPED),
        (4, OrderStatus.CANCELLED),
        (5, OrderStatus.CANCELLED),
        (6, OrderStatus.CANCELLED),
        (12, OrderStatus.ON_HOLD),
        (13, OrderStatus.ON_HOLD),
    ],
)
def test_status_ids_map_to_canonical_statuses(status_id, status):
    assert order(status_id=status_id).order.status == status


def test_an_unknown_status_id_holds_the_order_and_says_so():
    result = order(status_id=99)
    assert result.order.status == OrderStatus.ON_HOLD
    assert result.status_problem == "unknown BigCommerce status_id 99"
    assert result.status_problem in result.problems


def test_a_tax_inclusive_store_is_read_with_tax():
    doc = document(is_tax_inclusive_pricing=True, fees=[])
    doc.update(
        subtotal_inc_tax="65.2300",
        shipping_cost_inc_tax="12.9900",
        total_tax="10.2300",
        total_inc_tax="76.6300",
    )
    result = translate.translate_order(doc, topic=translate.UPDATED)
    totals = result.order.totals
    assert totals.tax_included is True
    assert str(result.order.lines[0].unit_price) == "65.2300"
    assert (str(totals.subtotal), str(totals.shipping), str(totals.total)) == (
        "65.2300",
        "12.9900",
        "76.6300",
    )
    assert not [p for p in result.problems if "add up" in p], result.problems


def test_an_order_to_several_addresses_needs_attention():
    addresses = payload("order_v2_shipping_addresses_response.json")
    result = order(shipping_addresses=addresses, shipping_address_count=2)
    assert translate.MULTI_ADDRESS.format(n=2) in result.problems


def test_refunded_units_hold_the_order():
    doc = document()
    doc["products"][0]["quantity_refunded"] = 1
    result = translate.translate_order(doc, topic=translate.REFUND_CREATED)
    assert any("1 of 1 refunded" in p for p in result.problems)


def test_a_digital_product_does_not_ship():
    doc = document()
    doc["products"][0]["type"] = "digital"
    assert (
        translate.translate_order(doc, topic=translate.CREATED).order.lines[0].requires_shipping
        is False
    )


def test_archived_is_a_removal():
    removed = translate.translate_order({"id": "218", "is_deleted": True}, topic=translate.ARCHIVED)
    assert removed == OrderRemoved(external_id="218")


@pytest.mark.parametrize(
    "name", ["webhook_store_order_created.json", "webhook_store_order_statusUpdated.json"]
)
def test_a_thin_webhook_is_refused_unfetched(name):
    with pytest.raises(TranslationError, match="fetched"):
        translate.translate_order(payload(name), topic=translate.CREATED)


def test_sub_resources_as_links_are_refused():
    with pytest.raises(TranslationError) as caught:
        translate.translate_order(payload("order_v2_get_response.json"), topic=translate.UPDATED)
    assert caught.value.path == "products"


def test_the_raw_samples_assembled_as_recorded_do_not_add_up_and_say_by_how_much():
    # the three samples are three different orders: kept, held, with the difference named
    doc = payload("order_v2_get_response.json")
    doc["products"] = payload("order_v2_products_response.json")
    doc["shipping_addresses"] = payload("order_v2_shipping_addresses_response.json")[:1]
    result = translate.translate_order(doc, topic=translate.UPDATED)
    assert any("add up" in p or "total" in p for p in result.problems), result.problems


def test_a_bad_date_names_the_field():
    with pytest.raises(TranslationError) as caught:
        translate.translate_order(document(date_modified="yesterday"), topic=translate.UPDATED)
    assert caught.value.path == "date_modified"
