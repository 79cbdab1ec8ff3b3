"""BigCommerce end to end, on both databases: a thin signed webhook comes in, the worker
fetches the order from the V2 API and stores it; stock goes out as an absolute adjustment;
the parcel goes back as one shipment, exactly once; a deactivated hook shows in the
account's health. Every call to BigCommerce is answered by ``responses``."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import responses

from connectors.channels.bigcommerce import hooks as bc_hooks
from connectors.channels.bigcommerce import orders as bc_orders
from connectors.channels.bigcommerce import sign, translate
from hub.intake import reconcile
from hub.jobs.worker import HANDLERS
from hub.stock import sync
from hub.storage.models import DeliveryRow, JobRow, OrderRow, ParcelRow
from tests.conftest import ACCOUNTS, QUIET_ROYALMAIL, only_order, order_events, receive

SECRET = "bc-a-client-secret"
STORE = "abc123"
ROOT = f"https://api.bigcommerce.com/stores/{STORE}"
PAYLOADS = Path(__file__).parents[2] / "connectors/channels/bigcommerce/tests/payloads"
PARTS = ("products", "shipping_addresses")


@pytest.fixture
def accounts_file(tmp_path: Path) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(
        ACCOUNTS
        + QUIET_ROYALMAIL
        + f"""
[accounts.bc-a]
connector = "bigcommerce"
client = "acme"
store_hash = "{STORE}"
client_id = "bc-client-id"
client_secret = "{SECRET}"
access_token = "bc-token"
rate_limit = 1000
"""
    )
    return path


def recorded(name: str):
    return json.loads((PAYLOADS / name).read_bytes())


class FakeStore:
    """Order 218 (the assembled document), its shipments and the inventory it is sent."""

    def __init__(self, mock: responses.RequestsMock):
        self.doc = recorded("order_v2_document.json")
        self.shipments: list[dict] = []
        self.adjustments: list[dict] = []
        order = {k: v for k, v in self.doc.items() if k not in ("products", "shipping_addresses")}
        mock.get(f"{ROOT}/v2/orders/218", json=order)
        mock.get(f"{ROOT}/v2/orders/218/products", json=self.doc["products"])
        mock.get(f"{ROOT}/v2/orders/218/shipping_addresses", json=self.doc["shipping_addresses"])
        mock.add_callback(responses.GET, f"{ROOT}/v2/orders/218/shipments", self._list)
        mock.add_callback(responses.POST, f"{ROOT}/v2/orders/218/shipments", self._ship)
        mock.get(
            f"{ROOT}/v3/catalog/variants",
            json={
                "data": [
                    {"id": 7, "product_id": 77, "sku": "S-ORAN", "inventory_level": 0},
                    {"id": 9, "product_id": 86, "sku": "ABS", "inventory_level": 0},
                ],
                "meta": {"pagination": {"total_pages": 1}},
            },
        )
        mock.add_callback(responses.PUT, f"{ROOT}/v3/inventory/adjustments/absolute", self._adjust)

    def _list(self, request):
        return (204, {}, "") if not self.shipments else (200, {}, json.dumps(self.shipments))

    def _ship(self, request):
        body = json.loads(request.body)
        shipment = {"id": 11 + len(self.shipments), "order_id": 218, **body}
        self.shipments.append(shipment)
        return 201, {}, json.dumps(shipment)

    def _adjust(self, request):
        self.adjustments.append(json.loads(request.body))
        return 200, {"X-Rate-Limit-Requests-Left": "140"}, json.dumps({"transaction_id": "t1"})


@pytest.fixture
def store() -> Iterator[FakeStore]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeStore(mock)


def webhook(name: str, msg: str) -> tuple[bytes, dict[str, str]]:
    body = recorded(name)
    body["data"]["id"] = 218
    body["producer"] = f"stores/{STORE}"
    raw = json.dumps(body).encode()
    at = str(int(time.time()))
    return raw, {
        "Content-Type": "application/json",
        "webhook-id": msg,
        "webhook-timestamp": at,
        "webhook-signature": sign(SECRET, msg, at, raw),
    }


def test_webhook_fetch_store_stock_and_one_shipment(hub, client, worker, viewer, editor, store):
    receive(hub, "S-ORAN", 3)
    receive(hub, "ABS", 3)
    body, headers = webhook("webhook_store_order_created.json", "msg_1")
    answer = client.post("/webhooks/bc-a", data=body, headers=headers)
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["topic"] == translate.CREATED
    again = client.post(
        "/webhooks/bc-a", data=body, headers=webhook("webhook_store_order_created.json", "msg_2")[1]
    )
    assert again.get_json()["duplicate"] is True  # the same hash: one event
    bad = dict(headers, **{"webhook-signature": "v1,AAAA"})
    assert client.post("/webhooks/bc-a", data=body, headers=bad).status_code == 401

    worker.drain()
    order = only_order(client, viewer)
    assert (order["channel"], order["external_id"], order["status"]) == (
        "bigcommerce",
        "218",
        "released",
    )
    assert order["totals"]["total"] == "100.9300"
    assert [line["sku"] for line in order["lines"]] == ["S-ORAN", "ABS", None, None]
    with hub.db.transaction() as s:
        (delivery,) = s.query(DeliveryRow).all()
        assert (delivery.status, delivery.order_id) == ("processed", order["id"])
        assert json.loads(delivery.body)["scope"] == translate.CREATED  # the thin body, raw

    # stock: the variants are mapped, then the levels go out as one absolute adjustment
    report = sync.sync_account(hub, hub.accounts["bc-a"], "delta")
    assert (report.errors, report.failed, report.pushed, report.calls) == ([], None, 2, 1)
    sent = {
        (i["variant_id"], i["location_id"]): i["quantity"]
        for a in store.adjustments
        for i in a["items"]
    }
    assert sent == {(7, 1): 2, (9, 1): 2}  # 3 on hand, 1 allocated to order 218
    pushed = len(store.adjustments)
    sync.sync_account(hub, hub.accounts["bc-a"], "delta")
    assert len(store.adjustments) == pushed  # delta only: nothing changed, nothing sent

    parcel = {
        "carrier": "royalmail",
        "tracking_number": "EJ958083578GB",
        "lines": [{"sku": "S-ORAN", "quantity": 1}, {"sku": "ABS", "quantity": 1}],
    }
    shipped = client.post(
        "/api/shipments", json={"order_id": order["id"], "parcels": [parcel]}, headers=editor
    )
    assert shipped.status_code == 201, shipped.get_json()
    worker.drain()
    assert len(store.shipments) == 1
    made = store.shipments[0]
    assert made["order_address_id"] == 132
    assert made["shipping_provider"] == "royalmail"
    assert made["tracking_number"] == "EJ958083578GB"
    assert sorted((i["order_product_id"], i["quantity"]) for i in made["items"]) == [
        (65, 1),
        (66, 1),
    ]
    with hub.db.transaction() as s:
        parcel_ids = [p.id for p in s.query(ParcelRow).all()]
    for parcel_id in parcel_ids:  # the job again (a lost answer): found, not made twice
        HANDLERS["fulfilment.push"](hub, {"parcel_id": parcel_id})
    assert len(store.shipments) == 1
    kinds = [e["kind"] for e in order_events(client, viewer, order["id"])]
    assert kinds == ["received", "released", "shipped", "pushed_to_channel"]  # pushed once


def test_an_order_the_store_no_longer_has_fails_the_delivery_with_the_reason(hub, client, worker):
    body, headers = webhook("webhook_store_order_statusUpdated.json", "msg_3")
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/218", status=404, json=[{"status": 404, "message": "gone"}])
        assert client.post("/webhooks/bc-a", data=body, headers=headers).status_code == 202
        worker.drain()
    with hub.db.transaction() as s:
        (delivery,) = s.query(DeliveryRow).all()
        assert delivery.status == "failed" and "HTTP 404" in delivery.error


def test_refused_credentials_keep_the_delivery_and_retry_later(hub, client, worker):
    body, headers = webhook("webhook_store_order_created.json", "msg_4")
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/218", status=401, json={})
        assert client.post("/webhooks/bc-a", data=body, headers=headers).status_code == 202
        worker.drain()
    with hub.db.transaction() as s:
        (delivery,) = s.query(DeliveryRow).all()
        assert delivery.status == "received"  # kept for when the keys work again
        (job,) = s.query(JobRow).filter(JobRow.kind == "translate").all()
        assert job.status == "queued" and "AuthError" in (job.last_error or "")


def test_a_deactivated_hook_shows_in_the_accounts_health_and_sync_turns_it_on(
    hub, client, viewer, monkeypatch
):
    monkeypatch.setattr(
        hub, "settings", dataclasses.replace(hub.settings, public_url="https://hub.example")
    )
    url = "https://hub.example/webhooks/bc-a"
    listed = [
        {
            "id": n,
            "scope": scope,
            "destination": url,
            "is_active": n != 2,
            "headers": {bc_hooks.SCOPE_HEADER: scope},
        }
        for n, scope in enumerate(translate.ORDER_TOPICS, start=1)
    ]
    with responses.RequestsMock() as mock:
        mock.get(
            f"{ROOT}/v3/hooks", json={"data": listed, "meta": {"pagination": {"total_pages": 1}}}
        )
        state = reconcile.check_webhooks(hub, hub.accounts["bc-a"])
    assert state["inactive"] == [translate.ORDER_TOPICS[1]]
    accounts = client.get("/api/accounts", headers=viewer).get_json()
    (bc,) = [a for a in accounts["items"] if a["account"] == "bc-a"]
    assert bc["status"] == "webhooks_inactive" and bc["webhooks"]["inactive"] == state["inactive"]

    listed[1]["is_active"] = False
    with responses.RequestsMock() as mock:
        mock.get(
            f"{ROOT}/v3/hooks", json={"data": listed, "meta": {"pagination": {"total_pages": 1}}}
        )
        mock.put(f"{ROOT}/v3/hooks/2", json={"data": {}})
        done = hub.connector(hub.accounts["bc-a"]).sync_webhook_subscriptions(url)
    assert done == [f"{translate.ORDER_TOPICS[1]}: updated (inactive)"]


def test_hub_accounts_hooks_sync_turns_a_deactivated_hook_on_and_creates_a_missing_one(
    hub, accounts_file, database_url, monkeypatch
):
    from click.testing import CliRunner

    from hub import cli
    from hub.storage import account_state

    help_text = CliRunner().invoke(cli.cli, ["accounts", "hooks", "sync", "--help"])
    assert help_text.exit_code == 0
    assert "Usage:" in help_text.output and "NAME" in help_text.output
    assert "deactivated" in help_text.output and "HUB_PUBLIC_URL" in help_text.output

    monkeypatch.setenv("HUB_DATABASE_URL", database_url)
    monkeypatch.setenv("HUB_CONFIG", str(accounts_file))
    monkeypatch.delenv("HUB_PUBLIC_URL", raising=False)
    unset = CliRunner().invoke(cli.cli, ["accounts", "hooks", "sync", "bc-a"])
    assert unset.exit_code != 0 and "set HUB_PUBLIC_URL" in unset.output

    monkeypatch.setenv("HUB_PUBLIC_URL", "https://hub.example/")
    url = "https://hub.example/webhooks/bc-a"
    topics = translate.ORDER_TOPICS
    before = [  # the second hook deactivated by BigCommerce; the last topic has none
        {"id": n, "scope": s, "destination": url, "is_active": n != 2}
        | {"headers": {bc_hooks.SCOPE_HEADER: s}}
        for n, s in enumerate(topics[:-1], start=1)
    ]
    after = [dict(h, is_active=True) for h in before] + [
        {"id": 9, "scope": topics[-1], "destination": url, "is_active": True}
        | {"headers": {bc_hooks.SCOPE_HEADER: topics[-1]}}
    ]
    page = {"meta": {"pagination": {"total_pages": 1}}}
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v3/hooks", json={"data": before, **page})
        mock.get(f"{ROOT}/v3/hooks", json={"data": after, **page})
        put = mock.put(
            f"{ROOT}/v3/hooks/2",
            json={"data": after[1]},
            match=[responses.matchers.json_params_matcher({"is_active": True})],
        )
        post = mock.post(f"{ROOT}/v3/hooks", json={"data": after[-1]})
        result = CliRunner().invoke(cli.cli, ["accounts", "hooks", "sync", "bc-a"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{topics[1]}: updated (inactive)",
        f"{topics[-1]}: created",
        f"2 change(s); hooks call {url}",
    ]
    assert put.call_count == 1 and post.call_count == 1
    created = json.loads(post.calls[0].request.body)
    assert created == {
        "scope": topics[-1],
        "destination": url,
        "is_active": True,
        "headers": {bc_hooks.SCOPE_HEADER: topics[-1]},
    }
    with hub.db.transaction() as session:  # checked again: the account's health is ok
        state = account_state.load(session, "bc-a", reconcile.WEBHOOKS)
    assert state["ok"] is True and state["inactive"] == [] and state["missing"] == []

    with responses.RequestsMock() as mock:  # a revoked token: one line, no traceback
        mock.get(f"{ROOT}/v3/hooks", status=401, json={"status": 401, "title": "Unauthorized"})
        refused = CliRunner().invoke(cli.cli, ["accounts", "hooks", "sync", "bc-a"])
    assert refused.exit_code == 1 and "credentials refused" in refused.output
    assert "Traceback" not in refused.output and "bc-token" not in refused.output

    unknown = CliRunner().invoke(cli.cli, ["accounts", "hooks", "sync", "nope"])
    assert unknown.exit_code != 0 and "no account named 'nope'" in unknown.output


def listed(doc: dict, **changes) -> dict:
    """The order as ``GET /v2/orders`` lists it (``order_v2_get_response.json``): its
    products and shipping addresses links, not lists."""
    links = {k: v for k, v in recorded("order_v2_get_response.json").items() if k in PARTS}
    order = {k: v for k, v in doc.items() if k not in PARTS}
    return order | links | changes


def test_the_reconciliation_takes_in_a_missed_order_then_overlaps_its_last_window(
    hub, worker, client, viewer
):
    """No webhook came: the timed pass lists orders modified in its window (V2
    ``min_date_modified``/``max_date_modified``) and takes 218 in through the inbox as listed;
    the worker reads its products and addresses; the next pass starts HUB_RECONCILE_OVERLAP
    before the last one ended and finds 218 current."""
    doc = recorded("order_v2_document.json")
    listed_params: list[dict[str, str]] = []

    def orders_list(request):
        listed_params.append(dict(request.params))
        return 200, {}, json.dumps([listed(doc)])

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.GET, f"{ROOT}/v2/orders", orders_list)
        mock.get(f"{ROOT}/v2/orders/218/products", json=doc["products"])
        mock.get(f"{ROOT}/v2/orders/218/shipping_addresses", json=doc["shipping_addresses"])
        first = reconcile.reconcile_account(hub, hub.accounts["bc-a"])
        assert _paths(mock) == ["/v2/orders"]  # the pass reads the list, nothing more
        worker.drain()
        assert _paths(mock)[1:] == ["/v2/orders/218/products", "/v2/orders/218/shipping_addresses"]
        second = reconcile.reconcile_account(hub, hub.accounts["bc-a"])
        assert _paths(mock)[3:] == ["/v2/orders"]
    assert (first["seen"], first["missing"], first["taken_in"]) == (1, 1, 1)
    assert (second["seen"], second["current"], second["taken_in"]) == (1, 1, 0)
    stored = only_order(client, viewer)
    assert (stored["external_id"], stored["totals"]["total"]) == ("218", "100.9300")
    assert listed_params[0]["sort"] == "date_modified:asc" and listed_params[0]["page"] == "1"
    assert listed_params[0]["limit"] == "250"
    overlap = timedelta(seconds=hub.settings.reconcile_overlap)
    assert datetime.fromisoformat(listed_params[1]["min_date_modified"]) == (
        datetime.fromisoformat(first["until"]).replace(microsecond=0) - overlap
    )


def _paths(mock: responses.RequestsMock) -> list[str]:
    return [urlsplit(c.request.url).path.removeprefix(f"/stores/{STORE}") for c in mock.calls]


def test_a_pass_over_current_orders_reads_only_the_list_and_completes_what_it_takes_in(
    hub, worker, client, viewer, monkeypatch
):
    """Five orders the hub holds as BigCommerce does cost the list's pages alone, however
    many; a stale one and a missing one are taken in as listed, and the worker reads the
    products and addresses of those two only, each translated as a webhook's would be."""
    monkeypatch.setattr(bc_orders, "PAGE_SIZE", 2)  # 250 in life: three pages here
    doc = recorded("order_v2_document.json")
    shop = {n: listed(doc, id=n) for n in range(301, 306)}

    def orders_list(request):
        return _pages(list(shop.values()))(request)

    account = hub.accounts["bc-a"]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, f"{ROOT}/v2/orders", orders_list)
        for n in range(301, 307):
            for part in PARTS:
                mock.add_callback(responses.GET, f"{ROOT}/v2/orders/{n}/{part}", _pages(doc[part]))
        assert reconcile.reconcile_account(hub, account)["taken_in"] == 5
        worker.drain()
        mock.calls.reset()

        current = reconcile.reconcile_account(hub, account)
        assert _paths(mock) == ["/v2/orders"] * 3
        assert (current["seen"], current["current"], current["taken_in"]) == (5, 5, 0)
        mock.calls.reset()

        shop[302] = listed(
            doc, id=302, status_id=5, status="Cancelled", date_modified=_later(doc)
        )  # changed on the store, its webhook lost
        shop[306] = listed(doc, id=306)  # never heard of
        found = reconcile.reconcile_account(hub, account)
        assert _paths(mock) == ["/v2/orders"] * 4  # three full pages, then a 204
        counts = {k: found[k] for k in ("seen", "current", "stale", "missing", "taken_in")}
        assert counts == {"seen": 6, "current": 4, "stale": 1, "missing": 1, "taken_in": 2}
        mock.calls.reset()
        worker.drain()
        # (two products fill a page of two: their list is read to its 204)
        assert sorted(set(_paths(mock))) == [
            f"/v2/orders/{n}/{part}" for n in (302, 306) for part in PARTS
        ]
    stored = {o["external_id"]: o for o in _orders(client, viewer)}
    assert sorted(stored) == [str(n) for n in range(301, 307)]
    assert stored["302"]["status"] == "cancelled"
    expected = json.loads((PAYLOADS.parent / "expected/order_v2_document.json").read_text())
    canonical = {k: v for k, v in stored["306"].items() if k in expected and k not in _OWN}
    assert canonical == {k: v for k, v in expected.items() if k not in _OWN}
    with hub.db.transaction() as s:
        bodies = [
            json.loads(d.body)
            for d in s.query(DeliveryRow).order_by(DeliveryRow.id)
            if (d.headers or {}).get("X-Hub-Source") == "reconcile"
        ]
        keys = [d.dedupe_key for d in s.query(DeliveryRow).order_by(DeliveryRow.id)]
        times = dict(s.query(OrderRow.external_id, OrderRow.channel_updated_at))
    assert times["306"] == datetime(2019, 3, 11, 15, 17, 25, tzinfo=UTC)
    assert times["302"] == times["306"] + timedelta(hours=1)
    assert len(bodies) == 7 and all(isinstance(b["products"], dict) for b in bodies)
    assert keys[-1] == "reconcile:306:2019-03-11T15:17:25Z"


def _pages(items: list[dict]):
    """A V2 list's answers, page by page (a 204 past the last)."""

    def answer(request):
        page, size = int(request.params["page"]), int(request.params["limit"])
        found = items[(page - 1) * size : page * size]
        return (200, {}, json.dumps(found)) if found else (204, {}, "")

    return answer


#: what differs between two orders translated from one document under different ids (and
#: ``updated_at``, the hub's own time; the channel's is ``channel_updated_at``, checked apart)
_OWN = ("id", "client", "account", "external_id", "number", "updated_at")


def _orders(client, viewer) -> list[dict]:
    return client.get("/api/orders?limit=100", headers=viewer).get_json()["items"]


def test_an_order_to_two_addresses_is_held_not_released(hub, client, worker, viewer):
    """BigCommerce's multi-address checkout: the hub ships an order to one address, so the
    order is stored held for a person (recorded shipping addresses of order 229)."""
    receive(hub, "S-ORAN", 3)
    receive(hub, "ABS", 3)
    doc = recorded("order_v2_document.json")
    two = recorded("order_v2_shipping_addresses_response.json")
    order = {k: v for k, v in doc.items() if k not in ("products", "shipping_addresses")}
    body, headers = webhook("webhook_store_order_created.json", "msg_5")
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/218", json=order | {"shipping_address_count": 2})
        mock.get(f"{ROOT}/v2/orders/218/products", json=doc["products"])
        mock.get(f"{ROOT}/v2/orders/218/shipping_addresses", json=two)
        assert client.post("/webhooks/bc-a", data=body, headers=headers).status_code == 202
        worker.drain()
    stored = only_order(client, viewer)
    assert stored["status"] == "needs_attention", stored
    events = order_events(client, viewer, stored["id"])
    (held,) = [e for e in events if e["kind"] == "needs_attention"]
    assert translate.MULTI_ADDRESS.format(n=2) in held["message"]
    assert "released" not in [e["kind"] for e in events]


def test_a_full_refund_cancels_the_stored_order(hub, client, worker, viewer):
    """``store/order/refund/created`` names the order (and the refund); the order is read
    again, now Refunded (4), and the stored order is cancelled: no return is opened, since a
    BigCommerce refund says nothing of goods coming back."""
    receive(hub, "S-ORAN", 3)
    receive(hub, "ABS", 3)
    doc = recorded("order_v2_document.json")
    order = {k: v for k, v in doc.items() if k not in ("products", "shipping_addresses")}
    created, created_headers = webhook("webhook_store_order_created.json", "msg_6")
    refund, refund_headers = webhook("webhook_store_order_refund_created.json", "msg_7")
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/218", json=order)
        mock.get(
            f"{ROOT}/v2/orders/218",
            json=order | {"status_id": 4, "status": "Refunded", "date_modified": _later(order)},
        )
        mock.get(f"{ROOT}/v2/orders/218/products", json=doc["products"])
        mock.get(f"{ROOT}/v2/orders/218/shipping_addresses", json=doc["shipping_addresses"])
        client.post("/webhooks/bc-a", data=created, headers=created_headers)
        worker.drain()
        answer = client.post("/webhooks/bc-a", data=refund, headers=refund_headers)
        assert answer.get_json()["topic"] == translate.REFUND_CREATED
        worker.drain()
    stored = only_order(client, viewer)
    assert stored["status"] == "cancelled"
    with hub.db.transaction() as s:
        assert [d.status for d in s.query(DeliveryRow).order_by(DeliveryRow.id)] == [
            "processed",
            "processed",
        ]
    returns = client.get("/api/returns", headers=viewer).get_json()
    assert returns["items"] == []


def _later(order: dict) -> str:
    """The order's ``date_modified`` an hour on (RFC 2822, as V2 writes it)."""
    from email.utils import format_datetime, parsedate_to_datetime

    return format_datetime(parsedate_to_datetime(order["date_modified"]) + timedelta(hours=1))


def test_hub_accounts_hooks_check_exits_1_while_a_hook_is_deactivated(
    hub, accounts_file, database_url, monkeypatch
):
    from click.testing import CliRunner

    from hub import cli

    monkeypatch.setenv("HUB_DATABASE_URL", database_url)
    monkeypatch.setenv("HUB_CONFIG", str(accounts_file))
    monkeypatch.setenv("HUB_PUBLIC_URL", "https://hub.example")
    url = "https://hub.example/webhooks/bc-a"
    listed = [
        {"id": n, "scope": s, "destination": url, "is_active": s != translate.UPDATED}
        for n, s in enumerate(translate.ORDER_TOPICS, start=1)
    ]
    with responses.RequestsMock() as mock:
        mock.get(
            f"{ROOT}/v3/hooks", json={"data": listed, "meta": {"pagination": {"total_pages": 1}}}
        )
        result = CliRunner().invoke(cli.cli, ["accounts", "hooks", "check", "bc-a"])
    assert result.exit_code == 1, result.output
    (line,) = [x for x in result.output.splitlines() if x.startswith("{")]  # beside the log
    state = json.loads(line)
    assert (state["ok"], state["inactive"], state["missing"]) == (False, [translate.UPDATED], [])
    assert state["url"] == url
    help_text = CliRunner().invoke(cli.cli, ["accounts", "hooks", "check", "--help"])
    assert help_text.exit_code == 0 and "exits 1" in help_text.output


def test_a_mapping_preview_on_a_thin_webhook_reads_its_order_from_the_store(
    hub, client, viewer, store
):
    """The stored delivery is only the scope and the id: the preview completes it as the
    worker would, and the draft's fields read the document BigCommerce gives now."""
    body, headers = webhook("webhook_store_order_created.json", "msg_preview")
    delivery = client.post("/webhooks/bc-a", data=body, headers=headers).get_json()["delivery_id"]
    draft = {"version": 1, "fields": {"notes": "products[0].sku"}}
    answer = client.post(
        "/api/mappings/bc-a/preview", headers=viewer, json={"delivery_id": delivery, "spec": draft}
    )
    assert answer.status_code == 200, answer.get_json()
    out = answer.get_json()
    assert "error" not in out, out
    assert (out["result"]["external_id"], out["result"]["notes"]) == ("218", "S-ORAN")
    assert [c for c in out["changes"] if c["path"] == "notes"] == [
        {"path": "notes", "change": "changed", "from": None, "to": "S-ORAN"}
    ]  # the current version (none saved: the defaults) keeps no notes


def test_a_mapping_preview_names_an_order_the_store_cannot_give(hub, client, viewer):
    body, headers = webhook("webhook_store_order_statusUpdated.json", "msg_gone")
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/218", status=404, json=[{"status": 404, "message": "gone"}])
        delivery = client.post("/webhooks/bc-a", data=body, headers=headers).get_json()[
            "delivery_id"
        ]
        out = client.post(
            "/api/mappings/bc-a/preview", headers=viewer, json={"delivery_id": delivery}
        ).get_json()
    assert out["result"] is None
    assert out["error"].startswith("the order could not be read from bc-a: ")
    assert "HTTP 404" in out["error"]
