"""Refunds between the hub and its sales channels, end to end on SQLite and PostgreSQL: a
signed webhook is stored, the worker translates it, and a return is opened once, refunded on
the channel already (a Shopify ``refunds/create`` with goods coming back; a WooCommerce
``order.updated`` whose refund restocked a line, its refunds read by the worker); and a return
opened through the API, under the policy ``returns = {refund = "on_receipt"}``, is refunded on
WooCommerce (one order refund, found again by its key) and on Shopify (one ``refundCreate``
per ``@idempotent`` key) by the ``return.refund`` job exactly once, even when the answer is
lost.

The channels are fakes on ``responses`` serving recorded payloads (the Shopify docs order and
refund; WooCommerce's docs order 727 and refund list, see
``connectors/channels/woocommerce/tests/payloads/returns/README.md``); no test reaches the
network.
"""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from sqlalchemy import select

from hub.jobs.worker import HANDLERS
from hub.storage.models import DeliveryRow, JobRow
from tests.conftest import (
    ACCOUNTS,
    QUIET_ROYALMAIL,
    make_person,
    only_order,
    receive,
    send_shopify,
    shipped_order,
    shopify_headers,
    sign_in,
    woo_headers,
    woo_order,
)

ROOT = Path(__file__).resolve().parents[2]
WOO_PAYLOADS = ROOT / "connectors/channels/woocommerce/tests/payloads/returns"
SHOPIFY_PAYLOADS = ROOT / "connectors/channels/shopify/tests/payloads/returns"
WOO = "https://woo-a.example/wp-json"
ORDER = f"{WOO}/wc/v3/orders/727"
REFUNDS = f"{ORDER}/refunds"
TRACKINGS = f"{WOO}/wc-shipment-tracking/v3/orders/727/shipment-trackings"

# shop-a is only heard from here (its fulfilments are not pushed); woo-a is called, and both
# refund a return once it is received
POLICY = 'returns = { refund = "on_receipt" }\n'
accounts = ACCOUNTS.replace(
    'access_token = "shpat_test"\n', 'access_token = "shpat_test"\napi_calls = false\n' + POLICY
).replace('consumer_secret = "cs_test"\n', 'consumer_secret = "cs_test"\n' + POLICY)
assert accounts.count(POLICY) == 2


@pytest.fixture
def accounts_file(tmp_path: Path) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(accounts + QUIET_ROYALMAIL)
    return path


class FakeWoo:
    """A WooCommerce store holding order 727: Shipment Tracking, the order, its refunds.
    ``lose_next_refund_answer`` makes the next refund POST take effect and its answer fail
    to arrive (a dropped connection)."""

    def __init__(self, mock: responses.RequestsMock, order: dict[str, Any]):
        self.order = copy.deepcopy(order)
        self.refunds: list[dict[str, Any]] = []
        self.posted: list[dict[str, Any]] = []
        self.lose_next_refund_answer = False
        self.trackings: list[dict[str, Any]] = []
        mock.add_callback(responses.GET, TRACKINGS, callback=self._trackings)
        mock.add_callback(responses.POST, TRACKINGS, callback=self._track)
        mock.add_callback(responses.GET, ORDER, callback=self._order)
        mock.add_callback(responses.PUT, ORDER, callback=self._status)
        mock.add_callback(responses.GET, REFUNDS, callback=self._list_refunds)
        mock.add_callback(responses.POST, REFUNDS, callback=self._refund)

    def _trackings(self, request):
        return 200, {}, json.dumps(self.trackings)

    def _track(self, request):
        item = {**json.loads(request.body), "tracking_id": f"t{len(self.trackings) + 1}"}
        self.trackings.append(item)
        return 201, {}, json.dumps(item)

    def _order(self, request):
        return 200, {}, json.dumps(self.order)

    def _status(self, request):
        self.order["status"] = json.loads(request.body)["status"]
        return 200, {}, json.dumps({"id": 727, "status": self.order["status"]})

    def _list_refunds(self, request):
        pages = {"X-WP-Total": str(len(self.refunds)), "X-WP-TotalPages": "1"}
        return 200, pages, json.dumps(self.refunds)

    def _refund(self, request):
        body = json.loads(request.body)
        self.posted.append(body)
        refund = json.loads((WOO_PAYLOADS / "order_refund_create_v3_response.json").read_text())
        refund.update(id=800 + len(self.posted), amount=body["amount"], reason=body["reason"])
        self.refunds.append(refund)
        if self.lose_next_refund_answer:
            self.lose_next_refund_answer = False
            raise requests.ConnectionError("connection reset by peer")
        return 201, {}, json.dumps(refund)


def woo_727() -> dict[str, Any]:
    order = woo_order()
    order["line_items"][0]["sku"] = "FOO-2"  # the sample's first line has no SKU
    return order


def send_woo(client, order: dict[str, Any], topic: str = "order.updated") -> None:
    body = json.dumps(order).encode()
    answer = client.post("/webhooks/woo-a", data=body, headers=woo_headers(body, topic))
    assert answer.status_code == 202, answer.get_json()


def drain_until_quiet(worker, hub) -> None:
    """Run jobs, waiting out the short test backoff of retried ones."""
    for _ in range(40):
        worker.drain()
        with hub.db.transaction() as s:
            waiting = s.execute(select(JobRow.id).where(JobRow.status == "queued")).first()
        if waiting is None:
            return
        time.sleep(0.05)
    raise AssertionError("jobs still queued")


def shipped_woo_order(hub, client, worker, viewer, editor, store: FakeWoo) -> dict[str, Any]:
    """Order 727 taken in, released and its line 316 (Bar3) shipped in one parcel."""
    receive(hub, "FOO-2", 2)
    receive(hub, "Bar3", 1)
    send_woo(client, woo_727(), topic="order.created")
    worker.drain()
    order = only_order(client, viewer)
    assert order["status"] == "released"
    parcel = {
        "carrier": "royalmail",
        "tracking_number": "RM100",
        "lines": [{"line_id": "316", "quantity": 1}],
    }
    body = {"order_id": order["id"], "parcels": [parcel]}
    assert client.post("/api/shipments", json=body, headers=editor).status_code == 201
    drain_until_quiet(worker, hub)
    assert [t["tracking_number"] for t in store.trackings] == ["RM100"]
    return order


def returns_listed(client, viewer) -> list[dict[str, Any]]:
    return client.get("/api/returns", headers=viewer).get_json()["items"]


# -- in: Shopify ----------------------------------------------------------------------------------
def test_a_shopify_refund_that_takes_goods_back_opens_one_refunded_return(
    hub, client, worker, viewer, editor
):
    order = shipped_order(hub, client, worker, viewer, editor)
    recorded = json.loads(
        (SHOPIFY_PAYLOADS / "refund_create_rest_2024-04_response.json").read_text()
    )
    refund = recorded["refund"]
    refund["refund_line_items"][0]["restock_type"] = "return"  # the goods come back
    body = json.dumps(refund).encode()
    headers = shopify_headers(body, "refunds/create", webhook_id="wh-refund-1")
    for _ in range(2):  # Shopify's retry of the same delivery
        assert client.post("/webhooks/shop-a", data=body, headers=headers).status_code == 202
    drain_until_quiet(worker, hub)
    [opened] = returns_listed(client, viewer)
    got = client.get(f"/api/returns/{opened['id']}", headers=viewer).get_json()
    assert (got["order_id"], got["source"], got["external_id"]) == (
        order["id"],
        "channel",
        "gid://shopify/Refund/929361466",
    )
    assert [(n["line_id"], n["sku"], n["quantity"]) for n in got["lines"]] == [
        ("518995019", "IPOD2008RED", 1)
    ]
    # refunded on Shopify: the hub never refunds it, whatever its own policy
    assert got["refund"] == {"status": "done", "ref": "gid://shopify/Refund/929361466"}
    # the same refund under another delivery id (a second subscription): nothing new
    again = shopify_headers(body, "refunds/create", webhook_id="wh-refund-2")
    assert client.post("/webhooks/shop-a", data=body, headers=again).status_code == 202
    drain_until_quiet(worker, hub)
    assert len(returns_listed(client, viewer)) == 1
    with hub.db.transaction() as s:
        kinds = s.execute(select(JobRow.kind).where(JobRow.kind == "return.refund")).all()
        assert kinds == []


def test_a_shopify_return_request_opens_a_requested_return(hub, client, worker, viewer, editor):
    order = shipped_order(hub, client, worker, viewer, editor)
    request = json.loads((SHOPIFY_PAYLOADS / "returns_request_webhook.json").read_text())
    # the recorded return is of another store's order: pointed at this one's shipped line
    request["order"]["id"] = 450789469
    line = request["return_line_items"][0]["fulfillment_line_item"]["line_item"]
    line["id"] = 518995019
    request["return_line_items"][0]["quantity"] = 1
    send_shopify(client, request, topic="returns/request")
    drain_until_quiet(worker, hub)
    [opened] = returns_listed(client, viewer)
    assert (opened["order_id"], opened["status"], opened["external_id"]) == (
        order["id"],
        "requested",
        "gid://shopify/Return/3547267221",
    )
    assert opened["refund"]["status"] is None  # refunded by the hub once received


# -- in: WooCommerce ------------------------------------------------------------------------------
def woo_refund_of_316() -> dict[str, Any]:
    """The docs' refund 724 (one unit of a line, quantity -1), of order 727's line 316."""
    [_, refund] = json.loads((WOO_PAYLOADS / "order_refunds_list_v3_response.json").read_text())
    item = refund["line_items"][0]
    item.update(name="Ship Your Idea", sku="Bar3", subtotal="-12.00", total="-12.00")
    item["meta_data"][0]["value"] = "316"
    refund.update(amount="12.90", reason="arrived broken")
    return refund


def refunded(order: dict[str, Any], refunds: list[dict[str, Any]], at: str) -> dict[str, Any]:
    """``order`` as ``order.updated`` carries it once refunded and line 316 restocked."""
    order = copy.deepcopy(order)
    order["date_modified_gmt"] = at
    order["refunds"] = [
        {"id": r["id"], "reason": r["reason"], "total": f"-{r['amount']}"} for r in refunds
    ]
    [line] = [item for item in order["line_items"] if item["id"] == 316]
    line["meta_data"].append({"id": 2101, "key": "_restock_refunded_items", "value": "1"})
    return order


def test_a_woocommerce_refund_read_by_the_worker_opens_one_refunded_return(
    hub, client, worker, viewer, editor
):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        store = FakeWoo(mock, woo_727())
        order = shipped_woo_order(hub, client, worker, viewer, editor, store)
        store.refunds = [woo_refund_of_316()]
        update = refunded(store.order, store.refunds, "2026-12-07T10:00:00")
        for _ in range(2):  # the same change sent twice: stored once
            send_woo(client, update)
        drain_until_quiet(worker, hub)
        reads = [c for c in mock.calls if c.request.url.startswith(REFUNDS)]
        assert len(reads) == 1  # read in the worker, once
        [opened] = returns_listed(client, viewer)
        got = client.get(f"/api/returns/{opened['id']}", headers=viewer).get_json()
        assert (got["order_id"], got["source"], got["external_id"]) == (
            order["id"],
            "channel",
            "refund:724",
        )
        assert [(n["line_id"], n["sku"], n["quantity"]) for n in got["lines"]] == [
            ("316", "Bar3", 1)
        ]
        assert got["refund"] == {"status": "done", "ref": "refund:724"}
        # a later change of the order (a note, say) carries the same refund: nothing new
        send_woo(client, refunded(store.order, store.refunds, "2026-12-07T11:00:00"))
        drain_until_quiet(worker, hub)
        assert len(returns_listed(client, viewer)) == 1
        assert store.posted == []
        with hub.db.transaction() as s:
            states = s.execute(select(DeliveryRow.topic, DeliveryRow.status)).all()
        assert sorted(states) == [
            ("order.created", "processed"),
            ("order.updated", "processed"),
            ("order.updated", "processed"),
        ]


# -- out: the hub refunds on WooCommerce ----------------------------------------------------------
def test_a_received_return_is_refunded_on_woocommerce_exactly_once(
    hub, client, worker, viewer, editor
):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        store = FakeWoo(mock, woo_727())
        order = shipped_woo_order(hub, client, worker, viewer, editor, store)
        line = {"line_id": "316", "quantity": 1, "reason": "defective"}
        opened = client.post(
            "/api/returns", json={"order_id": order["id"], "lines": [line]}, headers=editor
        )
        assert opened.status_code == 201, opened.get_json()
        rid = opened.get_json()["id"]
        assert client.post(f"/api/returns/{rid}/authorise", headers=editor).status_code == 200
        store.lose_next_refund_answer = True  # the refund is made; its answer never comes
        received = client.post(
            f"/api/returns/{rid}/receive",
            json={"lines": [{"line_id": "316", "quantity": 1, "condition": "resellable"}]},
            headers=editor,
        )
        assert received.get_json()["refund"]["status"] == "queued"
        drain_until_quiet(worker, hub)
        key = f"hub-return-{rid}"
        assert store.posted == [
            {
                "amount": "12.90",
                "reason": f"Return {rid} received ({key})",
                "api_refund": False,  # recorded in WooCommerce, the gateway not asked
                "api_restock": False,  # the hub restocks; WooCommerce gets the level pushed
                "line_items": [
                    {
                        "id": "316",
                        "quantity": 1,
                        "refund_total": "12.00",
                        "refund_tax": [{"id": "75", "refund_total": "0.90"}],
                    }
                ],
            }
        ]
        got = client.get(f"/api/returns/{rid}", headers=viewer).get_json()
        assert got["refund"] == {"status": "done", "ref": "801"}  # found again by its key
        with hub.db.transaction() as s:
            [job] = s.execute(select(JobRow).where(JobRow.kind == "return.refund")).scalars()
            assert (job.status, job.attempts) == ("done", 2)
        # the job run again (a replay): nothing more is sent
        HANDLERS["return.refund"](hub, {"return_id": rid, "account": "woo-a"})
        assert len(store.posted) == 1
        # WooCommerce tells of the hub's own refund: it names this return, no second one,
        # and its lines need no reading
        reads = len(mock.calls)
        send_woo(client, refunded(store.order, store.refunds, "2026-12-07T12:00:00"))
        drain_until_quiet(worker, hub)
        assert not [c for c in mock.calls[reads:] if c.request.url.startswith(REFUNDS)]
        assert [r["id"] for r in returns_listed(client, viewer)] == [rid]
        assert len(store.posted) == 1


# -- out: the hub refunds on Shopify --------------------------------------------------------------
class FakeShopify:
    """Shopify's GraphQL for order 450789469's refunds: ``RefundContext`` (the recorded answer,
    with the refunds made here added) and ``refundCreate``, which, as Shopify does, makes one
    refund per ``@idempotent`` key (a mutation sent again with the key answers the same refund)
    and may lose its first answer after refunding."""

    def __init__(self, mock: responses.RequestsMock):
        self.mutations: list[dict[str, Any]] = []
        self.made: dict[str, dict[str, Any]] = {}  # idempotency key -> refund
        self.lose_next_answer = False
        url = re.compile(r"https://shop-a\.myshopify\.com/admin/api/[^/]+/graphql\.json")
        mock.add_callback(responses.POST, url, callback=self._graphql)

    def _graphql(self, request):
        body = json.loads(request.body)
        if "refundCreate(" in body["query"]:
            variables = body["variables"]
            self.mutations.append(variables)
            answer = json.loads((SHOPIFY_PAYLOADS / "refund_create_response.json").read_text())
            refund = self.made.setdefault(
                variables["idempotencyKey"],
                {"id": f"gid://shopify/Refund/{929361467 + len(self.made)}",
                 "note": variables["input"]["note"]},
            )  # fmt: skip
            answer["data"]["refundCreate"]["refund"]["id"] = refund["id"]
            if self.lose_next_answer:
                self.lose_next_answer = False
                raise requests.ConnectionError("connection reset by peer")
            return 200, {}, json.dumps(answer)
        context = json.loads((SHOPIFY_PAYLOADS / "refund_context_response.json").read_text())
        context["data"]["order"]["refunds"] += list(self.made.values())
        return 200, {}, json.dumps(context)


def test_a_received_return_is_refunded_on_shopify_exactly_once(hub, client, worker, viewer, editor):
    order = shipped_order(hub, client, worker, viewer, editor)
    # the hub has taken the order in and shipped it without calling Shopify; now it may
    account = hub.accounts["shop-a"]
    hub.accounts["shop-a"] = type(account)(
        account.name, account.connector, account.client, {**account.settings, "api_calls": True}
    )
    line = {"sku": "IPOD2008RED", "quantity": 1, "reason": "defective"}
    rid = client.post(
        "/api/returns", json={"order_id": order["id"], "lines": [line]}, headers=editor
    ).get_json()["id"]
    client.post(f"/api/returns/{rid}/authorise", headers=editor)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        shopify = FakeShopify(mock)
        shopify.lose_next_answer = True
        got = client.post(
            f"/api/returns/{rid}/receive",
            json={"lines": [{"sku": "IPOD2008RED", "condition": "resellable"}]},
            headers=editor,
        ).get_json()
        assert got["refund"]["status"] == "queued"
        drain_until_quiet(worker, hub)
        # one refund: the mutation sent again after the lost answer carried the same key
        [created] = shopify.made.values()
        assert {m["idempotencyKey"] for m in shopify.mutations} == {f"hub-return-{rid}"}
        created = shopify.mutations[0]
        assert created["input"]["note"] == f"Return {rid} received (hub-return-{rid})"
        assert created["input"]["refundLineItems"] == [
            {
                "lineItemId": "gid://shopify/LineItem/518995019",
                "quantity": 1,
                "restockType": "NO_RESTOCK",
            }
        ]
        got = client.get(f"/api/returns/{rid}", headers=viewer).get_json()
        assert got["refund"] == {"status": "done", "ref": "gid://shopify/Refund/929361467"}
        sent = len(shopify.mutations)
        HANDLERS["return.refund"](hub, {"return_id": rid, "account": "shop-a"})
        assert len(shopify.mutations) == sent and len(shopify.made) == 1


def test_a_return_received_for_an_account_the_hub_never_calls_is_not_refunded_and_says_so(
    hub, client, worker, viewer, editor
):
    # shop-a says api_calls = false: its refund policy cannot be carried out by the hub
    order = shipped_order(hub, client, worker, viewer, editor)
    line = {"sku": "IPOD2008RED", "quantity": 1, "reason": "defective"}
    rid = client.post(
        "/api/returns", json={"order_id": order["id"], "lines": [line]}, headers=editor
    ).get_json()["id"]
    client.post(f"/api/returns/{rid}/authorise", headers=editor)
    with responses.RequestsMock() as mock:  # any call to Shopify would fail the test
        got = client.post(
            f"/api/returns/{rid}/receive",
            json={"lines": [{"sku": "IPOD2008RED", "condition": "resellable"}]},
            headers=editor,
        ).get_json()
        drain_until_quiet(worker, hub)
        assert len(mock.calls) == 0
    assert got["refund"]["status"] == "not_sent"
    shown = client.get(f"/api/returns/{rid}?events=1", headers=viewer).get_json()
    [said] = [e for e in shown["events"] if e["kind"] == "refund_not_sent"]
    assert "api_calls = false" in said["message"]
    with hub.db.transaction() as s:
        assert s.execute(select(JobRow).where(JobRow.kind == "return.refund")).first() is None
    # a refund job queued before the account stopped being called fails by name, sending nothing
    with pytest.raises(Exception, match="api_calls = false"):
        HANDLERS["return.refund"](hub, {"return_id": rid, "account": "shop-a"})
    # and the console says why there is no refund
    sign_in(client, make_person(hub, "ops@example.com", "viewer"))
    page = client.get(f"/admin/returns/{rid}")
    assert page.status_code == 200
    assert "not sent" in page.text and "api_calls = false" in page.text
