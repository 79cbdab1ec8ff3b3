"""Shopify returns: the ``returns/*`` and ``refunds/create`` webhooks translate to
ReturnRequests, and ``push_refund`` makes one ``refundCreate`` (with ``@idempotent``) per key.

Answers are the files in ``payloads/returns/`` (see its README) served by ``responses``; no
test reaches the network.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from connectors.channels.shopify import ShopifyConnector, returns
from connectors.channels.shopify.tests.helpers import connector, sent
from hub.canonical import RETURN_REASONS, ReturnLineRequest, ReturnRequest
from hub.connectors import Capability, RefundPush
from hub.errors import PermanentError, RetryableError, TranslationError
from hub.values import loads

PAYLOADS = Path(__file__).parent / "payloads" / "returns"
URL = "https://shop-a.myshopify.com/admin/api/2026-10/graphql.json"
RETURN_GID = "gid://shopify/Return/3547267221"


def body(name: str) -> Any:
    """A webhook body, parsed as the hub parses it."""
    return loads((PAYLOADS / name).read_bytes())


def answer(name: str) -> Any:
    """An API answer, as ``responses`` serves it."""
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def push(**fields: Any) -> RefundPush:
    values: dict[str, Any] = {
        "order": {"external_id": "450789469", "number": "#1001"},
        "return_id": 7,
        "key": "hub-return-7",
        "lines": [{"external_id": "518995019", "sku": "IPOD2008RED", "quantity": 1}],
        "restock": True,
        **fields,
    }
    return RefundPush(**values)


# -- declarations -------------------------------------------------------------------------------


def test_shopify_declares_returns_and_their_topics():
    assert Capability.RETURNS in ShopifyConnector.capabilities
    wanted = {"returns/request", "returns/approve", "returns/decline", "returns/cancel"}
    assert wanted | {"returns/close", "refunds/create"} <= ShopifyConnector.topics
    assert ShopifyConnector.return_topics == frozenset(returns.TOPICS)
    assert not ShopifyConnector.return_topics & {"orders/create", "orders/updated"}


# -- translation --------------------------------------------------------------------------------


def test_a_return_request_is_a_requested_return_of_the_order_line():
    got = connector().translate("returns/request", body("returns_request_webhook.json"))
    assert got == ReturnRequest(
        order_external_id="5196695273621",
        external_id=RETURN_GID,
        status="requested",
        lines=[ReturnLineRequest(quantity=1, line_id="12695210000533", reason="unwanted")],
    )


@pytest.mark.parametrize(
    ("topic", "name", "status"),
    [
        ("returns/approve", "returns_approve_webhook.json", "authorised"),
        ("returns/decline", "returns_decline_webhook.json", "rejected"),
        ("returns/cancel", "returns_cancel_webhook.json", "cancelled"),
        ("returns/close", "returns_close_webhook.json", "closed"),
    ],
)
def test_each_returns_topic_moves_the_same_return(topic, name, status):
    got = connector().translate(topic, body(name))
    assert (got.external_id, got.order_external_id, got.status) == (
        RETURN_GID,
        "5196695273621",
        status,
    )


def test_a_decline_carries_shopifys_reason():
    got = connector().translate("returns/decline", body("returns_decline_webhook.json"))
    assert got.reason_text.startswith("return_period_ended: The return window")
    assert got.lines == []


@pytest.mark.parametrize("reason", [*RETURN_REASONS, "SIZE_TOO_SMALL", "something_new", None])
def test_return_reasons_map_to_the_hubs(reason):
    payload = body("returns_request_webhook.json")
    payload["return_line_items"][0]["return_reason"] = reason
    [line] = connector().translate("returns/request", payload).lines
    expected = (reason or "unknown").lower()
    assert line.reason == (expected if expected in RETURN_REASONS else "other")


def test_a_money_only_refund_names_no_goods():
    got = connector().translate("refunds/create", body("refund_create_rest_2024-04_response.json"))
    assert got.status == "closed" and got.lines == []  # no_restock: nothing comes back
    assert got.external_id == "gid://shopify/Refund/929361466"
    assert got.order_external_id == "450789469"


def returned_refund() -> dict[str, Any]:
    refund = copy.deepcopy(body("refund_create_rest_2024-04_response.json")["refund"])
    refund["refund_line_items"][0]["restock_type"] = "return"
    return refund


def test_a_refund_that_restocks_returned_goods_is_a_closed_return():
    got = connector().translate("refunds/create", returned_refund())
    assert got == ReturnRequest(
        order_external_id="450789469",
        external_id="gid://shopify/Refund/929361466",
        status="closed",
        lines=[ReturnLineRequest(quantity=1, line_id="518995019", sku="IPOD2008RED")],
        note="wrong size",
        reason_text="refund 929361466 on Shopify",
    )


def test_a_refund_of_a_shopify_return_names_that_return():
    refund = returned_refund()
    refund["return"] = {"id": 3547267221, "admin_graphql_api_id": RETURN_GID}
    assert connector().translate("refunds/create", refund).external_id == RETURN_GID


def test_the_hubs_own_refund_names_the_hubs_return():
    refund = returned_refund()
    refund["note"] = returns.note_for(push())
    assert connector().translate("refunds/create", refund).external_id == "hub-return-7"


@pytest.mark.parametrize("topic", returns.TOPICS)
def test_a_bad_returns_payload_raises_a_translation_error(topic):
    with pytest.raises(TranslationError):
        connector().translate(topic, {"id": "not-a-number"})


# -- push_refund --------------------------------------------------------------------------------


def test_push_refund_refunds_the_lines_once_with_the_suggested_money(api):
    api.post(URL, json=answer("refund_context_response.json"))
    api.post(URL, json=answer("refund_create_response.json"))
    assert connector().push_refund(push()) == "gid://shopify/Refund/929361467"
    context, create = sent(api)
    assert "suggestedRefund(refundLineItems: $refundLineItems)" in context["query"]
    line = {
        "lineItemId": "gid://shopify/LineItem/518995019",
        "quantity": 1,
        "restockType": "RETURN",
    }
    assert context["variables"] == {
        "id": "gid://shopify/Order/450789469",
        "refundLineItems": [line],
    }
    assert "@idempotent(key: $idempotencyKey)" in create["query"]
    assert create["variables"] == {
        "input": {
            "orderId": "gid://shopify/Order/450789469",
            "note": "Return 7 received (hub-return-7)",
            "notify": False,
            "refundLineItems": [line],
            "transactions": [
                {
                    "orderId": "gid://shopify/Order/450789469",
                    "gateway": "bogus",
                    "kind": "REFUND",
                    "amount": "41.94",
                    "parentId": "gid://shopify/OrderTransaction/801038806",
                }
            ],
        },
        "idempotencyKey": "hub-return-7",
    }


def test_push_refund_without_restock_and_at_the_accounts_location(api):
    api.post(URL, json=answer("refund_context_response.json"))
    api.post(URL, json=answer("refund_create_response.json"))
    connector().push_refund(push(restock=False))
    assert sent(api)[1]["variables"]["input"]["refundLineItems"][0]["restockType"] == "NO_RESTOCK"
    api.calls.reset()
    api.post(URL, json=answer("refund_context_response.json"))
    api.post(URL, json=answer("refund_create_response.json"))
    connector(location_id=487838322).push_refund(push())
    [line] = sent(api)[1]["variables"]["input"]["refundLineItems"]
    assert line["locationId"] == "gid://shopify/Location/487838322"


def test_a_refund_made_already_is_not_made_again(api):
    context = answer("refund_context_response.json")
    context["data"]["order"]["refunds"].append(
        {"id": "gid://shopify/Refund/929361467", "note": "Return 7 received (hub-return-7)"}
    )
    api.post(URL, json=context)
    assert connector().push_refund(push()) == "gid://shopify/Refund/929361467"
    assert len(api.calls) == 1  # no refundCreate


def test_user_errors_are_permanent_with_shopifys_message(api):
    api.post(URL, json=answer("refund_context_response.json"))
    api.post(URL, json=answer("refund_create_user_errors_response.json"))
    with pytest.raises(PermanentError, match="cannot refund more items than were purchased"):
        connector().push_refund(push())


def test_throttled_is_waited_out_and_5xx_is_retryable(api):
    api.post(URL, json=answer("graphql_throttled_response.json"))
    api.post(URL, json=answer("refund_context_response.json"))
    api.post(URL, json=answer("refund_create_response.json"))
    assert connector().push_refund(push()) == "gid://shopify/Refund/929361467"
    api.calls.reset()
    api.assert_all_requests_are_fired = False  # however many tries the client makes
    for _ in range(10):
        api.post(URL, status=503, body="unavailable")
    with pytest.raises(RetryableError):
        connector().push_refund(push())


def test_a_throttled_answer_that_never_clears_is_retryable(api):
    api.assert_all_requests_are_fired = False
    for _ in range(10):
        api.post(URL, json=answer("graphql_throttled_response.json"))
    with pytest.raises(RetryableError):
        connector().push_refund(push())


@pytest.mark.parametrize(
    ("note", "found"),
    [
        ("Return 7 received (hub-return-7)", "gid://shopify/Refund/1"),
        ("Return 70 received (hub-return-70)", None),  # another return's key starts the same
        ("Return 17 received (hub-return-17)", None),
        ("hub-return-7", "gid://shopify/Refund/1"),
        ("", None),
    ],
)
def test_an_earlier_refund_is_found_by_its_whole_key_only(note, found):
    data = {"order": {"refunds": [{"id": "gid://shopify/Refund/1", "note": note}]}}
    assert returns.existing_refund(data, "hub-return-7") == found
