"""WooCommerce refunds: an ``order.updated`` whose order carries refunds has them read by
``fetch``, and the goods WooCommerce restocked become closed returns; ``push_refund`` makes one
order refund per key (read first, since WooCommerce takes no idempotency key), through the
payment gateway only when the account says so.

Answers are the files in ``payloads/returns/`` (see its README) served by ``responses``; no
test reaches the network.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.channels.woocommerce import WooCommerceConnector, returns
from connectors.channels.woocommerce.tests.helpers import connector
from hub.canonical import OrderUpdate, ReturnLineRequest, ReturnRequest
from hub.connectors import Capability, RefundPush
from hub.errors import PermanentError, RetryableError, TranslationError
from hub.values import loads

TESTS = Path(__file__).parent
PAYLOADS = TESTS / "payloads" / "returns"
API = "https://woo.example/wp-json/wc/v3"
REFUNDS_723 = f"{API}/orders/723/refunds"
REFUNDS_727 = f"{API}/orders/727/refunds"
ONE_PAGE = {"X-WP-Total": "2", "X-WP-TotalPages": "1"}  # as WordPress heads a list


def payload(name: str) -> Any:
    """A recorded body, parsed as the hub parses it (decimals stay exact)."""
    return loads((PAYLOADS / name).read_bytes())


def answer(name: str) -> Any:
    """A recorded answer, as ``responses`` serves it."""
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def order(number: int) -> dict[str, Any]:
    """Order 723 (refunded twice) or 727 of the docs' orders list."""
    [found] = [o for o in payload("orders_list_v3_response.json") if o["id"] == number]
    return found


def restocked(body: dict[str, Any], line_id: int, units: int) -> dict[str, Any]:
    """``body`` with ``units`` of its line restocked, as ``wc_restock_refunded_items`` notes it
    on the order line."""
    body = copy.deepcopy(body)
    [line] = [item for item in body["line_items"] if item["id"] == line_id]
    line["meta_data"].append({"id": 9001, "key": "_restock_refunded_items", "value": str(units)})
    return body


def push(**fields: Any) -> RefundPush:
    values: dict[str, Any] = {
        "order": {"external_id": "727", "currency": "USD"},
        "return_id": 7,
        "key": "hub-return-7",
        "lines": [{"external_id": "315", "sku": "FOO-2", "quantity": 1}],
        "restock": False,
        **fields,
    }
    return RefundPush(**values)


# -- in -----------------------------------------------------------------------------------------
def test_woocommerce_declares_returns_through_its_order_topics():
    assert Capability.RETURNS in WooCommerceConnector.capabilities
    # refunds come inside order.updated: every topic is still an order topic
    assert WooCommerceConnector.return_topics == frozenset()


def test_fetch_reads_the_refunds_of_an_order_that_has_some(api):
    api.get(REFUNDS_723, json=answer("order_refunds_list_v3_response.json"), headers=ONE_PAGE)
    body = order(723)
    fetched = connector().fetch("order.updated", body)
    assert fetched[returns.REFUNDS_KEY] == payload("order_refunds_list_v3_response.json")
    assert returns.REFUNDS_KEY not in body  # the stored body is left as it was
    assert api.calls[0].request.params == {"per_page": "100", "page": "1"}
    # read once: a body that has them (a replay's document) is not read again
    assert connector().fetch("order.updated", fetched) is fetched
    assert len(api.calls) == 1


@pytest.mark.parametrize("topic", ["order.updated", "order.deleted"])
def test_an_order_without_refunds_and_a_deletion_are_not_read(api, topic):
    body = order(727) if topic == "order.updated" else {"id": 727}
    assert body.get("refunds") in ([], None)
    assert connector().fetch(topic, body) is body
    assert len(api.calls) == 0


def test_an_account_the_hub_never_calls_keeps_its_orders_without_refunds(api):
    body = order(723)
    assert connector(api_calls=False).fetch("order.updated", body) is body
    assert len(api.calls) == 0


def test_reading_refunds_in_an_outage_is_retryable(api):
    for _ in range(5):  # HttpClient's attempts
        api.get(REFUNDS_723, status=503, json={})
    with pytest.raises(RetryableError, match="gave up after 5 attempts"):
        connector().fetch("order.updated", order(723))


def test_restocked_refunded_lines_are_a_closed_return_of_the_order_line():
    body = returns.with_refunds(
        restocked(order(723), 311, 1), payload("order_refunds_list_v3_response.json")
    )
    update = connector().translate("order.updated", body)
    assert isinstance(update, OrderUpdate)
    assert update.order.external_id == "723"
    # refund 726 gave money only; refund 724 gave back one of line 311, restocked
    assert update.returns == [
        ReturnRequest(
            order_external_id="723",
            external_id="refund:724",
            status="closed",
            lines=[ReturnLineRequest(quantity=1, line_id="311", sku=None)],
            note=None,
            reason_text="refund 724 on WooCommerce",
        )
    ]


def test_a_refund_whose_goods_were_not_restocked_names_no_return():
    body = returns.with_refunds(order(723), payload("order_refunds_list_v3_response.json"))
    update = connector().translate("order.updated", body)
    assert isinstance(update, OrderUpdate) and update.returns == []


def test_restocked_units_go_to_the_oldest_refunds_first():
    refunds = payload("order_refunds_list_v3_response.json")
    later = copy.deepcopy(refunds[1])  # refund 724 again, as a later refund 730 of line 311
    later["id"] = 730
    later["line_items"][0]["quantity"] = -2
    body = returns.with_refunds(restocked(order(723), 311, 2), [later, *refunds])
    found = {r.external_id: r.lines for r in returns.returns_of(body, "723")}
    assert found == {
        "refund:724": [ReturnLineRequest(quantity=1, line_id="311")],
        "refund:730": [ReturnLineRequest(quantity=1, line_id="311")],  # 2 refunded, 1 restocked
    }


def test_the_hubs_own_refund_names_the_hubs_return_and_no_goods():
    refunds = payload("order_refunds_list_v3_response.json")
    refunds[1]["reason"] = "Return 12 received (hub-return-12)"
    body = returns.with_refunds(restocked(order(723), 311, 1), refunds)
    [own] = returns.returns_of(body, "723")
    assert (own.external_id, own.status, own.lines) == ("hub-return-12", "closed", [])
    assert own.note == "Return 12 received (hub-return-12)"


def test_refunds_the_hub_made_itself_are_not_read_but_still_name_its_return(api):
    body = copy.deepcopy(order(723))
    for entry, number in zip(body["refunds"], (12, 13), strict=True):
        entry["reason"] = f"Return {number} received (hub-return-{number})"
    assert connector().fetch("order.updated", body) is body
    assert len(api.calls) == 0
    update = connector().translate("order.updated", body)
    assert isinstance(update, OrderUpdate)
    assert [(r.external_id, r.status, r.lines, r.note) for r in update.returns] == [
        ("hub-return-12", "closed", [], "Return 12 received (hub-return-12)"),
        ("hub-return-13", "closed", [], "Return 13 received (hub-return-13)"),
    ]
    # one refund of the merchant's among them: all are read
    body["refunds"][1]["reason"] = "damaged in transit"
    api.get(REFUNDS_723, json=answer("order_refunds_list_v3_response.json"), headers=ONE_PAGE)
    assert returns.REFUNDS_KEY in connector().fetch("order.updated", body)


def test_the_contract_suites_order_without_fetched_refunds_has_no_returns():
    update = connector().translate("order.updated", order(723))
    assert isinstance(update, OrderUpdate) and update.returns == []


def test_a_bad_refund_is_a_translation_error_naming_the_field():
    refunds = payload("order_refunds_list_v3_response.json")
    refunds[1]["line_items"][0]["quantity"] = "one"
    body = returns.with_refunds(restocked(order(723), 311, 1), refunds)
    with pytest.raises(TranslationError) as caught:
        connector().translate("order.updated", body)
    assert caught.value.path == "hub_refunds[1].line_items[0].quantity"


# -- out ----------------------------------------------------------------------------------------
def test_push_refund_posts_the_lines_share_once_without_the_gateway(api):
    api.get(REFUNDS_727, json=[])
    api.get(f"{API}/orders/727", json=order(727))
    api.post(REFUNDS_727, json=answer("order_refund_create_v3_response.json"), status=201)
    lines = [
        {"external_id": "315", "sku": "FOO-2", "quantity": 1},
        {"external_id": "316", "sku": "Bar3", "quantity": 1},
    ]
    assert connector().push_refund(push(lines=lines)) == "726"
    assert [c.request.method for c in api.calls] == ["GET", "GET", "POST"]
    assert api.calls[1].request.params == {"_fields": "id,currency,line_items"}
    sent = json.loads(api.calls[2].request.body)
    # line 315: 1 of 2 of 6.00 and its 0.45 tax (half: 0.225, to the cent 0.23); 316 in full
    assert sent == {
        "amount": "16.13",
        "reason": "Return 7 received (hub-return-7)",
        "api_refund": False,
        "api_restock": False,
        "line_items": [
            {
                "id": "315",
                "quantity": 1,
                "refund_total": "3.00",
                "refund_tax": [{"id": "75", "refund_total": "0.23"}],
            },
            {
                "id": "316",
                "quantity": 1,
                "refund_total": "12.00",
                "refund_tax": [{"id": "75", "refund_total": "0.90"}],
            },
        ],
    }
    assert Decimal(sent["amount"]) == sum(
        Decimal(line["refund_total"]) + sum(Decimal(t["refund_total"]) for t in line["refund_tax"])
        for line in sent["line_items"]
    )


def test_the_accounts_policy_refunds_through_the_gateway_and_restocks(api):
    api.get(REFUNDS_727, json=[])
    api.get(f"{API}/orders/727", json=order(727))
    api.post(REFUNDS_727, json=answer("order_refund_create_v3_response.json"), status=201)
    woo = connector(returns={"refund": "on_receipt", "api_refund": True})
    woo.push_refund(push(restock=True))
    sent = json.loads(api.calls[2].request.body)
    assert (sent["api_refund"], sent["api_restock"]) == (True, True)


def test_a_refund_made_already_is_found_by_its_key_and_not_made_again(api):
    made = answer("order_refunds_list_v3_response.json")
    made[0]["reason"] = "Return 70 received (hub-return-70)"  # another return's key
    made[1]["reason"] = "Return 7 received (hub-return-7)"
    api.get(REFUNDS_727, json=made, headers=ONE_PAGE)
    assert connector().push_refund(push()) == "724"
    assert [c.request.method for c in api.calls] == ["GET"]


def test_a_line_the_order_does_not_have_is_permanent(api):
    api.get(REFUNDS_727, json=[])
    api.get(f"{API}/orders/727", json=order(727))
    with pytest.raises(PermanentError, match="no line 999"):
        connector().push_refund(push(lines=[{"external_id": "999", "quantity": 1}]))
    with pytest.raises(PermanentError, match="3 of line 315 back, 2 ordered"):
        api.get(REFUNDS_727, json=[])
        api.get(f"{API}/orders/727", json=order(727))
        connector().push_refund(push(lines=[{"external_id": "315", "quantity": 3}]))
    assert all(c.request.method == "GET" for c in api.calls)


def test_a_refused_refund_is_permanent_and_a_failed_one_retryable_unsent_again(api):
    api.get(REFUNDS_727, json=[])
    api.get(f"{API}/orders/727", json=order(727))
    api.post(REFUNDS_727, json=answer("refund_invalid_amount_400.json"), status=400)
    with pytest.raises(PermanentError):
        connector().push_refund(push())
    api.get(REFUNDS_727, json=[])
    api.get(f"{API}/orders/727", json=order(727))
    api.post(REFUNDS_727, json=answer("refund_cannot_create_500.json"), status=500)
    with pytest.raises(RetryableError, match="not retried here"):
        connector().push_refund(push())
    # each POST went once: the job's next run reads the refunds before sending again
    assert [c.request.method for c in api.calls].count("POST") == 2


def test_an_answer_without_a_refund_id_is_retryable(api):
    api.get(REFUNDS_727, json=[])
    api.get(f"{API}/orders/727", json=order(727))
    api.post(REFUNDS_727, json={}, status=201)
    with pytest.raises(RetryableError, match="no refund id"):
        connector().push_refund(push())
