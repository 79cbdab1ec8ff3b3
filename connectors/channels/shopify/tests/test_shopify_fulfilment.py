"""Shopify fulfilment push: parcels become fulfillments of fulfillment orders
(``push_fulfilment``) and later tracking events become fulfillment events
(``push_tracking_event``).

Answers are the files in ``payloads/fulfilment/`` (see its README) served by ``responses``; no
test reaches the network. Waits run on a fake clock, so nothing sleeps.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.channels.shopify import ShopifyConnector, events, fulfilment
from connectors.channels.shopify.tests.helpers import connector, sent
from hub.connectors import (
    TRACKING_STATUSES,
    Capability,
    FulfilmentPush,
    TrackingEvent,
)
from hub.errors import PermanentError, RetryableError

TESTS = Path(__file__).parent
PAYLOADS = TESTS / "payloads" / "fulfilment"
URL = "https://shop-a.myshopify.com/admin/api/2026-10/graphql.json"
ORDER_GID = "gid://shopify/Order/450789469"
FULFILLMENT_GID = "gid://shopify/Fulfillment/1069019875"
UPS_NUMBER = "1Z001985YW99744790"
UPS_URL = f"https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums={UPS_NUMBER}"
SHIPPED = datetime(2024, 4, 2, 14, 1, 51, tzinfo=UTC)

#: FulfillmentEventStatus on shopify.dev (admin-graphql latest, 2026-10)
SHOPIFY_EVENT_STATUSES = {
    "ATTEMPTED_DELIVERY",
    "CARRIER_PICKED_UP",
    "CONFIRMED",
    "DELAYED",
    "DELIVERED",
    "FAILURE",
    "IN_TRANSIT",
    "LABEL_PRINTED",
    "LABEL_PURCHASED",
    "OUT_FOR_DELIVERY",
    "READY_FOR_PICKUP",
}


def answer(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def canonical_order() -> dict[str, Any]:
    """Order 450789469 as the hub holds it (the translate tests' expected JSON)."""
    path = TESTS / "expected" / "order_get_rest_2024-04_response.json"
    return json.loads(path.read_text(encoding="utf-8"))


#: a made-up order 5550001: MUG-1 x3 (line item 6660001) and TEE-S x1 (6660002)
MUG_ORDER = {
    "external_id": "5550001",
    "number": "#1002",
    "lines": [
        {"external_id": "6660001", "sku": "MUG-1", "quantity": 3},
        {"external_id": "6660002", "sku": "TEE-S", "quantity": 1},
    ],
}


def parcel(order: dict[str, Any], lines: list[dict[str, Any]], **fields: Any) -> FulfilmentPush:
    values: dict[str, Any] = {
        "order": order,
        "parcel_id": 41,
        "carrier": "ups",
        "carrier_name": "UPS",
        "service": "ups_standard",
        "tracking_number": UPS_NUMBER,
        "tracking_url": UPS_URL,
        "lines": lines,
        "complete": True,
        "shipped_at": SHIPPED,
        **fields,
    }
    return FulfilmentPush(**values)


def red_ipod_parcel(**fields: Any) -> FulfilmentPush:
    line = {"external_id": "518995019", "sku": "IPOD2008RED", "quantity": 1}
    values = {"order": canonical_order(), "lines": [line], **fields}
    return parcel(values.pop("order"), values.pop("lines"), **values)


# -- declarations and samples ------------------------------------------------------------------


def test_shopify_declares_fulfilment_push():
    assert Capability.FULFILMENT_PUSH in ShopifyConnector.capabilities


def test_the_hand_written_answers_agree_with_the_shared_rest_samples():
    rest_orders = answer("fulfillment_orders_list_rest_2024-04_response.json")
    [rest_order] = rest_orders["fulfillment_orders"]
    [rest_line] = rest_order["line_items"]
    [node] = answer("fulfillment_orders_response.json")["data"]["order"]["fulfillmentOrders"][
        "nodes"
    ]
    [line] = node["lineItems"]["nodes"]
    assert node["id"] == f"gid://shopify/FulfillmentOrder/{rest_order['id']}"
    assert node["status"] == rest_order["status"].upper()
    assert line["id"] == f"gid://shopify/FulfillmentOrderLineItem/{rest_line['id']}"
    assert line["lineItem"]["id"] == f"gid://shopify/LineItem/{rest_line['line_item_id']}"
    assert line["remainingQuantity"] == rest_line["fulfillable_quantity"]
    assert f"gid://shopify/Order/{rest_order['order_id']}" == ORDER_GID

    created = answer("fulfillment_create_rest_2024-04_response.json")["fulfillment"]
    made = answer("fulfillment_create_response.json")["data"]["fulfillmentCreate"]["fulfillment"]
    assert made["id"] == created["admin_graphql_api_id"] == FULFILLMENT_GID
    assert created["tracking_number"] == UPS_NUMBER and created["tracking_url"] == UPS_URL
    # the REST order sample's own fulfillment, as the check answer carries it
    rest = json.loads((TESTS / "payloads" / "order_get_rest_2024-04_response.json").read_text())
    [old] = rest["order"]["fulfillments"]
    [first] = answer("order_fulfillments_response.json")["data"]["order"]["fulfillments"]
    assert first["id"] == old["admin_graphql_api_id"]
    assert first["trackingInfo"] == [{"number": old["tracking_number"]}]
    assert first["status"] == old["status"].upper()


# -- pushing a parcel -------------------------------------------------------------------------


def test_a_full_shipment_checks_reads_fulfillment_orders_and_creates_one_fulfillment(api):
    api.post(URL, json=answer("order_fulfillments_response.json"))
    api.post(URL, json=answer("fulfillment_orders_response.json"))
    api.post(URL, json=answer("fulfillment_create_response.json"))

    result = connector().push_fulfilment(red_ipod_parcel())

    assert result == FULFILLMENT_GID
    check, orders, create = sent(api)
    assert check == {"query": fulfilment.ORDER_FULFILLMENTS_QUERY, "variables": {"id": ORDER_GID}}
    assert orders == {
        "query": fulfilment.FULFILLMENT_ORDERS_QUERY,
        "variables": {"id": ORDER_GID, "after": None},
    }
    assert create == {
        "query": fulfilment.FULFILLMENT_CREATE_MUTATION,
        "variables": {
            "fulfillment": {
                "lineItemsByFulfillmentOrder": [
                    {
                        "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1046000823",
                        "fulfillmentOrderLineItems": [
                            {
                                "id": "gid://shopify/FulfillmentOrderLineItem/1058737564",
                                "quantity": 1,
                            }
                        ],
                    }
                ],
                "trackingInfo": {"company": "UPS", "number": UPS_NUMBER, "url": UPS_URL},
                "notifyCustomer": True,
            }
        },
    }
    for call in api.calls:
        assert call.request.method == "POST"
        assert call.request.headers["X-Shopify-Access-Token"] == "shpat_test"
        assert call.request.headers["Content-Type"] == "application/json"


def test_the_documents_ask_for_what_the_answers_are_read_from():
    check = fulfilment.ORDER_FULFILLMENTS_QUERY
    assert "order(id: $id)" in check and "fulfillments(first: 250)" in check
    assert "trackingInfo(first: 10)" in check and "status" in check
    orders = fulfilment.FULFILLMENT_ORDERS_QUERY
    assert "fulfillmentOrders(first: 5, after: $after)" in orders
    assert "lineItems(first: 50)" in orders and "remainingQuantity" in orders
    assert "fulfillmentCreate(fulfillment: $fulfillment)" in fulfilment.FULFILLMENT_CREATE_MUTATION
    assert "$fulfillment: FulfillmentInput!" in fulfilment.FULFILLMENT_CREATE_MUTATION
    assert "userErrors {\n      field\n      message" in fulfilment.FULFILLMENT_CREATE_MUTATION
    event = events.FULFILLMENT_EVENT_CREATE_MUTATION
    assert "fulfillmentEventCreate(fulfillmentEvent: $fulfillmentEvent)" in event
    # estimated costs stay under Shopify's 1000-point ceiling for a single query
    for cost in (fulfilment.FULFILLMENTS_COST, fulfilment.ORDERS_COST, fulfilment.MORE_LINES_COST):
        assert cost < 1000


def test_without_a_tracking_address_trackinginfo_has_no_url(api):
    api.post(URL, json=answer("order_fulfillments_response.json"))
    api.post(URL, json=answer("fulfillment_orders_response.json"))
    api.post(URL, json=answer("fulfillment_create_response.json"))

    connector().push_fulfilment(red_ipod_parcel(tracking_url=None))

    tracking = sent(api)[2]["variables"]["fulfillment"]["trackingInfo"]
    assert tracking == {"company": "UPS", "number": UPS_NUMBER}


def test_a_retried_push_finds_the_fulfillment_and_creates_nothing(api):
    api.post(URL, json=answer("order_fulfillments_after_push_response.json"))

    assert connector().push_fulfilment(red_ipod_parcel()) == FULFILLMENT_GID
    assert len(api.calls) == 1  # the check only: no fulfillment orders read, nothing created


def test_the_retry_matches_the_number_however_it_was_spaced_or_cased(api):
    api.post(URL, json=answer("order_fulfillments_after_push_response.json"))
    push = red_ipod_parcel(tracking_number=" 1z0019 85yw99744790 ")

    assert connector().push_fulfilment(push) == FULFILLMENT_GID
    assert len(api.calls) == 1


def test_a_lost_answer_then_a_retry_makes_one_fulfillment(api):
    api.post(URL, json=answer("order_fulfillments_response.json"))
    api.post(URL, json=answer("fulfillment_orders_response.json"))
    api.post(URL, body=requests.ConnectionError("connection reset by peer"))
    api.post(URL, json=answer("order_fulfillments_after_push_response.json"))
    shop = connector()

    with pytest.raises(RetryableError, match="may have been processed"):
        shop.push_fulfilment(red_ipod_parcel())
    # the outbox runs the job again
    assert shop.push_fulfilment(red_ipod_parcel()) == FULFILLMENT_GID

    queries = [body["query"] for body in sent(api)]
    assert queries.count(fulfilment.FULFILLMENT_CREATE_MUTATION) == 1
    assert queries[-1] == fulfilment.ORDER_FULFILLMENTS_QUERY


def test_a_cancelled_fulfillment_with_the_number_does_not_count(api):
    check = answer("order_fulfillments_after_push_response.json")
    check["data"]["order"]["fulfillments"][1]["status"] = "CANCELLED"
    api.post(URL, json=check)
    api.post(URL, json=answer("fulfillment_orders_response.json"))
    api.post(URL, json=answer("fulfillment_create_response.json"))

    assert connector().push_fulfilment(red_ipod_parcel()) == FULFILLMENT_GID
    assert len(api.calls) == 3


def test_a_two_parcel_order_is_two_fulfillments_each_with_its_own_quantities(api):
    first_fo = answer("fulfillment_orders_two_lines_response.json")
    # after the first parcel Shopify holds it as a fulfillment and the order is in progress
    second_fo = copy.deepcopy(first_fo)
    node = second_fo["data"]["order"]["fulfillmentOrders"]["nodes"][0]
    node["status"] = "IN_PROGRESS"
    node["lineItems"]["nodes"][0]["remainingQuantity"] = 1
    nothing = {"data": {"order": {"id": "gid://shopify/Order/5550001", "fulfillments": []}}}
    one = {
        "data": {
            "order": {
                "id": "gid://shopify/Order/5550001",
                "fulfillments": [
                    {
                        "id": "gid://shopify/Fulfillment/9990001",
                        "status": "SUCCESS",
                        "trackingInfo": [{"number": "AB123456789GB"}],
                    }
                ],
            }
        }
    }
    created = answer("fulfillment_create_response.json")
    created_2 = copy.deepcopy(created)
    created["data"]["fulfillmentCreate"]["fulfillment"]["id"] = "gid://shopify/Fulfillment/9990001"
    created_2["data"]["fulfillmentCreate"]["fulfillment"]["id"] = (
        "gid://shopify/Fulfillment/9990002"
    )
    for body in (nothing, first_fo, created, one, second_fo, created_2):
        api.post(URL, json=body)
    shop = connector()
    royal_mail = {"carrier": "royalmail", "carrier_name": "Royal Mail", "tracking_url": None}

    first = shop.push_fulfilment(
        parcel(
            MUG_ORDER,
            [{"external_id": "6660001", "sku": "MUG-1", "quantity": 2}],
            tracking_number="AB123456789GB",
            complete=False,
            **royal_mail,
        )
    )
    second = shop.push_fulfilment(
        parcel(
            MUG_ORDER,
            [
                {"external_id": "6660001", "sku": "MUG-1", "quantity": 1},
                {"external_id": "6660002", "sku": "TEE-S", "quantity": 1},
            ],
            tracking_number="AB987654321GB",
            **royal_mail,
        )
    )

    assert (first, second) == (
        "gid://shopify/Fulfillment/9990001",
        "gid://shopify/Fulfillment/9990002",
    )
    bodies = sent(api)
    assert bodies[0]["variables"] == {"id": "gid://shopify/Order/5550001"}
    assert bodies[2]["variables"]["fulfillment"] == {
        "lineItemsByFulfillmentOrder": [
            {
                "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/7770001",
                "fulfillmentOrderLineItems": [
                    {"id": "gid://shopify/FulfillmentOrderLineItem/8880001", "quantity": 2}
                ],
            }
        ],
        "trackingInfo": {"company": "Royal Mail", "number": "AB123456789GB"},
        "notifyCustomer": True,
    }
    assert bodies[5]["variables"]["fulfillment"] == {
        "lineItemsByFulfillmentOrder": [
            {
                "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/7770001",
                "fulfillmentOrderLineItems": [
                    {"id": "gid://shopify/FulfillmentOrderLineItem/8880001", "quantity": 1},
                    {"id": "gid://shopify/FulfillmentOrderLineItem/8880002", "quantity": 1},
                ],
            }
        ],
        "trackingInfo": {"company": "Royal Mail", "number": "AB987654321GB"},
        "notifyCustomer": True,
    }


def test_fulfillment_orders_and_their_line_items_are_read_page_by_page(api):
    api.post(
        URL, json={"data": {"order": {"id": "gid://shopify/Order/5550002", "fulfillments": []}}}
    )
    api.post(URL, json=answer("fulfillment_orders_page_1_response.json"))
    api.post(URL, json=answer("fulfillment_orders_page_2_response.json"))
    api.post(URL, json=answer("fulfillment_order_lines_page_2_response.json"))
    api.post(URL, json=answer("fulfillment_create_response.json"))
    order = {"external_id": "5550002", "lines": []}
    push = parcel(order, [{"external_id": "6660003", "sku": "POSTER-A2", "quantity": 4}])

    connector().push_fulfilment(push)

    _, page_1, page_2, lines, create = sent(api)
    assert page_1["variables"] == {"id": "gid://shopify/Order/5550002", "after": None}
    assert page_2["variables"] == {
        "id": "gid://shopify/Order/5550002",
        "after": "eyJsYXN0X2lkIjo3NzcwMDEyfQ==",
    }
    assert lines == {
        "query": fulfilment.MORE_LINES_QUERY,
        "variables": {
            "id": "gid://shopify/FulfillmentOrder/7770011",
            "after": "eyJsYXN0X2lkIjo4ODgwMDExfQ==",
        },
    }
    # 1 from the open 7770011 (its second page), none from 7770012 (on hold), 3 from 7770013
    assert create["variables"]["fulfillment"]["lineItemsByFulfillmentOrder"] == [
        {
            "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/7770011",
            "fulfillmentOrderLineItems": [
                {"id": "gid://shopify/FulfillmentOrderLineItem/8880012", "quantity": 1}
            ],
        },
        {
            "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/7770013",
            "fulfillmentOrderLineItems": [
                {"id": "gid://shopify/FulfillmentOrderLineItem/8880014", "quantity": 3}
            ],
        },
    ]


# -- refusals -----------------------------------------------------------------------------------


def test_shopify_user_errors_are_permanent_with_shopifys_words(api):
    api.post(URL, json=answer("order_fulfillments_response.json"))
    api.post(URL, json=answer("fulfillment_orders_response.json"))
    api.post(URL, json=answer("fulfillment_create_user_errors_response.json"))

    with pytest.raises(PermanentError) as caught:
        connector().push_fulfilment(red_ipod_parcel())

    assert caught.value.message == (
        "Shopify refused the fulfillment: "
        "fulfillment: Invalid fulfillment order line item quantity requested."
    )
    assert caught.value.details == {
        "userErrors": [
            {
                "field": ["fulfillment"],
                "message": "Invalid fulfillment order line item quantity requested.",
            }
        ]
    }


def test_a_line_already_fulfilled_is_named_and_nothing_is_sent(api):
    orders = answer("fulfillment_orders_response.json")
    node = orders["data"]["order"]["fulfillmentOrders"]["nodes"][0]
    node["status"] = "CLOSED"
    node["lineItems"]["nodes"][0]["remainingQuantity"] = 0
    api.post(URL, json=answer("order_fulfillments_response.json"))
    api.post(URL, json=orders)

    with pytest.raises(PermanentError) as caught:
        connector().push_fulfilment(red_ipod_parcel())

    assert "line 518995019 (IPOD2008RED): 1 in the parcel but 0 left to fulfil" in str(caught.value)
    assert "already fulfilled" in str(caught.value)
    assert len(api.calls) == 2  # no fulfillmentCreate


def test_more_than_is_left_and_lines_on_hold_or_unknown_are_all_named(api):
    api.post(URL, json=answer("order_fulfillments_response.json"))
    api.post(URL, json=answer("fulfillment_orders_two_lines_response.json"))
    lines = [
        {"external_id": "6660001", "sku": "MUG-1", "quantity": 2},
        {"external_id": "6660001", "sku": "MUG-1", "quantity": 2},  # 4 of 3, named twice
        {"external_id": "6660009", "sku": "CAP-RED", "quantity": 1},
    ]

    with pytest.raises(PermanentError) as caught:
        connector().push_fulfilment(parcel(MUG_ORDER, lines))

    assert caught.value.details == {
        "problems": [
            "line 6660001 (MUG-1): 4 in the parcel but 3 left to fulfil (the rest is already "
            "fulfilled)",
            "line 6660009 (CAP-RED) is on none of its fulfillment orders",
        ]
    }


def test_a_line_on_a_held_fulfillment_order_says_so():
    orders = [
        fulfilment.FulfillmentOrder(
            "gid://shopify/FulfillmentOrder/1",
            "ON_HOLD",
            [
                fulfilment.OrderLineItem(
                    "gid://shopify/FulfillmentOrderLineItem/2", "gid://shopify/LineItem/3", 1
                )
            ],
        )
    ]
    push = parcel({"external_id": "9"}, [{"external_id": "3", "sku": "X", "quantity": 1}])
    with pytest.raises(PermanentError, match="fulfillment orders that are ON_HOLD"):
        fulfilment.line_items_by_fulfillment_order(push, orders)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tracking_number": "  "}, "parcel 41 has no tracking number"),
        ({"lines": []}, "parcel 41 has no lines"),
        ({"lines": [{"sku": "X", "quantity": 1}]}, "lines\\[0\\] has no external_id"),
        ({"lines": [{"external_id": "5", "quantity": 0}]}, "quantity 0 is not a positive"),
        ({"lines": [{"external_id": "x5", "quantity": 1}]}, "'x5' is not a Shopify id"),
        ({"order": {"external_id": None}}, "order external_id None is not a Shopify id"),
    ],
)
def test_a_parcel_that_cannot_be_sent_is_refused_before_anything_is_made(api, fields, message):
    with pytest.raises(PermanentError, match=message):
        connector().push_fulfilment(red_ipod_parcel(**fields))

    assert len(api.calls) == 0


def test_an_order_shopify_does_not_have_is_permanent(api):
    api.post(URL, json=answer("order_not_found_response.json"))
    with pytest.raises(PermanentError, match="Shopify has no order gid://shopify/Order/450789469"):
        connector().push_fulfilment(red_ipod_parcel())


def test_an_answer_with_neither_fulfillment_nor_errors_may_be_retried(api):
    api.post(URL, json=answer("order_fulfillments_response.json"))
    api.post(URL, json=answer("fulfillment_orders_response.json"))
    api.post(URL, json={"data": {"fulfillmentCreate": {"fulfillment": None, "userErrors": []}}})
    with pytest.raises(RetryableError):
        connector().push_fulfilment(red_ipod_parcel())


# -- tracking events ----------------------------------------------------------------------------


def test_every_canonical_status_has_a_row_and_every_row_is_a_shopify_status():
    assert set(events.EVENT_STATUSES) == set(TRACKING_STATUSES)
    sent_statuses = {s for s in events.EVENT_STATUSES.values() if s is not None}
    assert sent_statuses <= SHOPIFY_EVENT_STATUSES
    assert events.event_status("picked_up") == "CARRIER_PICKED_UP"
    assert events.event_status("delivery_attempted") == "ATTEMPTED_DELIVERY"
    assert events.event_status("unknown") is None


def test_a_tracking_event_becomes_a_fulfillment_event(api):
    api.post(URL, json=answer("fulfillment_events_response.json"))
    api.post(URL, json=answer("fulfillment_event_create_response.json"))
    event = TrackingEvent(
        at=datetime(2024, 4, 3, 7, 5, 9, 250000, tzinfo=UTC),
        status="out_for_delivery",
        code="OFD",
        text="Out for delivery",
        location="Louisville KY",
    )

    connector().push_tracking_event(red_ipod_parcel(), FULFILLMENT_GID, event)

    read, create = sent(api)
    assert read == {
        "query": events.FULFILLMENT_EVENTS_QUERY,
        "variables": {"id": FULFILLMENT_GID},
    }
    assert create == {
        "query": events.FULFILLMENT_EVENT_CREATE_MUTATION,
        "variables": {
            "fulfillmentEvent": {
                "fulfillmentId": FULFILLMENT_GID,
                "status": "OUT_FOR_DELIVERY",
                "happenedAt": "2024-04-03T07:05:09Z",
                "message": "Out for delivery",
                "city": "Louisville KY",
            }
        },
    }


def test_an_event_without_words_or_place_sends_only_what_it_has(api):
    api.post(URL, json=answer("fulfillment_events_response.json"))
    api.post(URL, json=answer("fulfillment_event_create_response.json"))
    event = TrackingEvent(at=datetime(2024, 4, 4, 9, 0, tzinfo=UTC), status="exception")

    connector().push_tracking_event(red_ipod_parcel(), FULFILLMENT_GID, event)

    assert sent(api)[1]["variables"]["fulfillmentEvent"] == {
        "fulfillmentId": FULFILLMENT_GID,
        "status": "DELAYED",
        "happenedAt": "2024-04-04T09:00:00Z",
    }


def test_an_event_already_on_shopify_is_not_sent_again(api):
    api.post(URL, json=answer("fulfillment_events_response.json"))
    event = TrackingEvent(at=datetime(2024, 4, 3, 6, 12, tzinfo=UTC), status="in_transit")

    connector().push_tracking_event(red_ipod_parcel(), FULFILLMENT_GID, event)

    assert len(api.calls) == 1


def test_a_status_shopify_has_no_word_for_is_skipped_without_a_call(api):
    event = TrackingEvent(at=SHIPPED, status="unknown", code="??")
    connector().push_tracking_event(red_ipod_parcel(), FULFILLMENT_GID, event)
    assert len(api.calls) == 0


def test_a_refused_tracking_event_is_permanent(api):
    api.post(URL, json=answer("fulfillment_events_response.json"))
    refused = answer("fulfillment_event_create_response.json")
    refused["data"]["fulfillmentEventCreate"] = {
        "fulfillmentEvent": None,
        "userErrors": [
            {
                "field": ["fulfillmentEvent", "fulfillmentId"],
                "message": "Fulfillment does not exist.",
            }
        ],
    }
    api.post(URL, json=refused)
    event = TrackingEvent(at=SHIPPED, status="delivered")

    with pytest.raises(
        PermanentError,
        match=re.escape("fulfillmentEvent.fulfillmentId: Fulfillment does not exist."),
    ):
        connector().push_tracking_event(red_ipod_parcel(), FULFILLMENT_GID, event)
