"""eBay end to end, on SQLite and PostgreSQL: orders polled from the Fulfillment API are
stored; a signed notification is accepted (204) and a bad one refused (412); the endpoint
challenge; a marketplace account deletion notice erases the buyer from stored orders and
deliveries; stock goes out 25 SKUs a call; a parcel becomes one shipping fulfillment,
exactly once.

eBay's APIs are faked with ``responses``: the fake keeps the fulfillments it was sent.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses
from sqlalchemy import select, update

from connectors.channels.ebay.tests.helpers import (
    order_notification,
    own_key_signer,
    payload,
    raw,
    vector,
    vector_body,
)
from hub.connectors.accounts import load_accounts
from hub.intake import reconcile
from hub.shipping import fulfilment
from hub.stock import sync
from hub.storage import account_state
from hub.storage.models import AuditRow, DeliveryRow, OrderRow, ParcelRow
from tests.conftest import QUIET_ROYALMAIL, accounts_fixture, receive

API = "https://api.ebay.com"
ORDERS = f"{API}/sell/fulfillment/v1/order"
NOTIFICATION = f"{API}/commerce/notification/v1"
NOTHING = "notifications/"
KEY = f"{API}/commerce/notification/v1/public_key/9936261a-7d7b-4621-a0f1-96ccb428af49"
TOKEN = "hub-ebay-verification-token-0123456789abcdef"
ENDPOINT = "https://hub.example/webhooks/acme-ebay"
TAMPERED = "notifications/notification_MARKETPLACE_ACCOUNT_DELETION_tampered_javasdk.json"
EBAY = f"""
[accounts.acme-ebay]
connector = "ebay"
client = "acme"
marketplace_id = "EBAY_GB"
client_id = "AcmeHub-PRD-0123456789-abcdef01"
client_secret = "PRD-0123456789ab-cdef-0123-4567-89ab"
refresh_token = "v^1.1#i^1#refresh-token-for-tests"
verification_token = "{TOKEN}"
endpoint_url = "{ENDPOINT}"
rate_limit = 1000
"""
accounts_file = accounts_fixture(EBAY + QUIET_ROYALMAIL)


def _tokens(mock: responses.RequestsMock) -> None:
    mock.post(
        f"{API}/identity/v1/oauth2/token",
        json={"access_token": "v^1.1#test-token", "expires_in": 7200},
    )


def _order(username: str = "jane_buyer_uk") -> dict[str, Any]:
    order = copy.deepcopy(payload("order_paid_built.json"))
    order["buyer"]["username"] = username
    return order


def _poll(hub, orders: list[dict[str, Any]], windows: list[str] | None = None) -> dict[str, Any]:
    """One reconciliation pass against a getOrders answering ``orders``; the ``filter`` of
    each getOrders call is added to ``windows``. The pass also checks the account's
    Notification API subscriptions (for its health): eBay answers that none are made yet."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        _tokens(mock)
        mock.get(ORDERS, json={"total": len(orders), "offset": 0, "orders": orders})
        mock.get(
            NOTIFICATION + "/destination", json=payload(NOTHING + "destinations_none_built.json")
        )
        mock.get(
            re.compile(NOTIFICATION + "/topic/.+"),
            status=404,
            json=payload(NOTHING + "error_no_topic_195002_built.json"),
        )
        mock.get(
            NOTIFICATION + "/subscription", json=payload(NOTHING + "subscriptions_none_built.json")
        )
        report = reconcile.reconcile_account(hub, hub.accounts["acme-ebay"])
        if windows is not None:
            for call in mock.calls:
                if call.request.url.startswith(ORDERS):
                    windows.extend(parse_qs(urlsplit(call.request.url).query)["filter"])
    return report


def _signed(client, body: bytes, signature: str | None = None):
    headers = {
        "Content-Type": "application/json",
        "X-EBAY-SIGNATURE": signature or vector()["signature"],
    }
    return client.post("/webhooks/acme-ebay", data=body, headers=headers)


def test_a_polled_order_is_stored(hub, client, worker, viewer):
    windows: list[str] = []
    report = _poll(hub, [_order()], windows)
    assert report["missing"] == 1 and report["taken_in"] == 1
    worker.drain()
    items = client.get("/api/orders?channel=ebay", headers=viewer).get_json()["items"]
    assert len(items) == 1
    order = items[0]
    assert (order["external_id"], order["account"], order["client"]) == (
        "12-34567-89012",
        "acme-ebay",
        "acme",
    )
    assert order["status"] == "ready" and order["totals"]["total"] == "37.45"
    assert [line["sku"] for line in order["lines"]] == ["MUG-1", "TEE-RED-M"]
    # the pass checked the account's subscriptions at its endpoint_url (no HUB_PUBLIC_URL)
    with hub.db.transaction() as session:
        hooks = account_state.load(session, "acme-ebay", reconcile.WEBHOOKS)
    assert hub.settings.public_url is None and hooks["url"] == ENDPOINT
    # the next pass finds it current, asking from before the last pass ended (the overlap)
    assert _poll(hub, [_order()], windows)["current"] == 1
    (start_1, end_1), (start_2, end_2) = (_window(w) for w in windows)
    assert start_1 < end_1 and start_2 < end_1 <= end_2
    assert end_1 - start_2 == timedelta(seconds=hub.settings.reconcile_overlap)


def _window(given: str) -> tuple[datetime, datetime]:
    """``lastmodifieddate:[<from>..<to>]`` as two times."""
    found = re.fullmatch(r"lastmodifieddate:\[(\S+Z)\.\.(\S+Z)\]", given)
    assert found, given
    start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in found.groups())
    return start, end


def test_a_signed_notification_is_accepted_with_204_and_a_bad_one_refused_with_412(hub, client):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        _tokens(mock)
        mock.get(KEY, json=vector()["response"])
        first = _signed(client, vector_body())
        again = _signed(client, vector_body())
        # eBay's Java SDK's copy of the message with another username, under the same header
        tampered = _signed(client, raw(TAMPERED))
        assert sum(c.request.url == KEY for c in mock.calls) == 1  # the key is kept
    assert (first.status_code, first.data) == (204, b"")
    assert again.status_code == 204
    assert tampered.status_code == 412
    assert tampered.get_json()["error"]["code"] == "bad_signature"
    unsigned = client.post(
        "/webhooks/acme-ebay", data=vector_body(), content_type="application/json"
    )
    assert unsigned.status_code == 412
    with hub.db.transaction() as s:
        rows = s.execute(select(DeliveryRow.topic, DeliveryRow.dedupe_key)).all()
    assert rows == [
        (
            "MARKETPLACE_ACCOUNT_DELETION",
            "notification:49feeaeb-4982-42d9-a377-9645b8479411_33f7e043-fed8-442b-9d44-791923bd9a6d",
        )
    ]


def test_an_order_notification_brings_the_order_in_through_get_order(hub, client, worker, viewer):
    sign, key = own_key_signer()
    body = order_notification("12-34567-89012")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        _tokens(mock)
        mock.get(f"{API}/commerce/notification/v1/public_key/test-kid-0001", json=key)
        mock.get(f"{ORDERS}/12-34567-89012", json=_order())
        assert _signed(client, body, sign(body)).status_code == 204
        worker.drain()
    items = client.get("/api/orders?channel=ebay", headers=viewer).get_json()["items"]
    assert [(o["external_id"], o["status"]) for o in items] == [("12-34567-89012", "ready")]


def test_the_endpoint_challenge_is_answered_and_other_accounts_have_none(client):
    answer = client.get("/webhooks/acme-ebay?challenge_code=abc-123")
    expected = hashlib.sha256(("abc-123" + TOKEN + ENDPOINT).encode()).hexdigest()
    assert answer.status_code == 200
    assert answer.get_json() == {"challengeResponse": expected}
    assert client.get("/webhooks/acme-ebay").status_code == 404
    assert client.get("/webhooks/shop-a?challenge_code=x").get_json()["error"]["code"] == (
        "no_challenge"
    )
    assert client.get("/webhooks/nobody?challenge_code=x").status_code == 404


def test_a_deletion_notice_erases_the_buyer_from_orders_and_deliveries(hub, client, worker):
    # the test vector deletes eBay user "test_user": make them a buyer here, and one other
    _poll(hub, [_order("test_user")])
    other = _order("someone_else")
    other["orderId"] = "12-99999-00001"
    _poll(hub, [other])
    worker.drain()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        _tokens(mock)
        mock.get(KEY, json=vector()["response"])
        assert _signed(client, vector_body()).status_code == 204
    worker.drain()
    personal = (
        "Jane Buyer",
        "High Street",
        "SW1A 1AA",
        "07700900123",
        "members.ebay.com",
        "jane.buyer@example.com",
        "test_user",
        "ma8vp1jySJC",
    )
    with hub.db.transaction() as s:
        orders = {o.external_id: o for o in s.execute(select(OrderRow)).scalars()}
        erased, kept = orders["12-34567-89012"], orders["12-99999-00001"]
        assert erased.email is None
        assert erased.data["customer"] == {"email": None, "name": None, "phone": None}
        assert erased.data["shipping_address"]["country_code"] == "GB"
        text = json.dumps(erased.data)
        assert not [p for p in personal if p in text]
        assert kept.data["customer"]["name"] == "Jane Buyer"  # another buyer keeps theirs
        bodies = {
            d.id: (d.order_id, bytes(d.body)) for d in s.execute(select(DeliveryRow)).scalars()
        }
        for order_id, body in bodies.values():
            if order_id == kept.id:
                assert b"Jane Buyer" in body
            else:
                assert not [p for p in personal if p.encode() in body], body[:300]
        notice = s.execute(
            select(DeliveryRow).where(DeliveryRow.topic == "MARKETPLACE_ACCOUNT_DELETION")
        ).scalar_one()
        assert notice.status == "processed"
        audit = s.execute(select(AuditRow).where(AuditRow.action == "customer.erase")).scalar_one()
        assert audit.details["orders"] == [erased.id] and audit.details["deliveries"] == 1
        assert "test_user" not in json.dumps(audit.details)


def test_stock_goes_out_25_skus_a_call_and_only_what_changed(hub):
    skus = [f"SKU-{i:02d}" for i in range(30)]
    items = [
        {"sku": s, "availability": {"shipToLocationAvailability": {"quantity": 0}}} for s in skus
    ]
    for sku in skus:
        receive(hub, sku, 3)
    sent: list[list[dict[str, Any]]] = []

    def bulk(request):  # type: ignore[no-untyped-def]
        requests_ = json.loads(request.body)["requests"]
        sent.append(requests_)
        answers = [{"statusCode": 200, "sku": r["sku"]} for r in requests_]
        return 200, {}, json.dumps({"responses": answers})

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        _tokens(mock)
        mock.get(
            f"{API}/sell/inventory/v1/inventory_item",
            json={"total": 30, "inventoryItems": items},
        )
        mock.get(re.compile(f"{API}/sell/inventory/v1/offer.*"), status=404, json={"errors": []})
        mock.add_callback(
            responses.POST, f"{API}/sell/inventory/v1/bulk_update_price_quantity", callback=bulk
        )
        report = sync.sync_account(hub, hub.accounts["acme-ebay"])
        assert [len(batch) for batch in sent] == [25, 5]
        assert {r["shipToLocationAvailability"]["quantity"] for b in sent for r in b} == {3}
        # nothing changed since: the next pass sends nothing
        sent.clear()
        sync.sync_account(hub, hub.accounts["acme-ebay"])
        assert sent == []
    assert report.pushed == 30 and report.calls == 2


def test_a_parcel_is_pushed_as_one_fulfillment_exactly_once(hub, client, worker, viewer, editor):
    receive(hub, "MUG-1", 2)
    receive(hub, "TEE-RED-M", 1)
    _poll(hub, [_order()])
    worker.drain()
    order = client.get("/api/orders?channel=ebay", headers=viewer).get_json()["items"][0]
    assert order["status"] == "released"
    made: list[dict[str, Any]] = []
    path = f"{ORDERS}/12-34567-89012/shipping_fulfillment"

    def listed(request):  # type: ignore[no-untyped-def]
        return 200, {}, json.dumps({"total": len(made), "fulfillments": made})

    def create(request):  # type: ignore[no-untyped-def]
        body = json.loads(request.body)
        made.append(
            {
                "fulfillmentId": f"F-{len(made) + 1}",
                "shipmentTrackingNumber": body["trackingNumber"],
                **body,
            }
        )
        return 201, {"Location": f"{path}/F-{len(made)}"}, ""

    parcels = [
        {
            "carrier": "royalmail",
            "tracking_number": "TT123456785GB",
            "lines": [{"sku": "MUG-1", "quantity": 2}],
        },
        {
            "carrier": "royalmail",
            "tracking_number": "TT000000027GB",
            "lines": [{"sku": "TEE-RED-M", "quantity": 1}],
        },
    ]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        _tokens(mock)
        mock.add_callback(responses.GET, path, callback=listed)
        mock.add_callback(responses.POST, path, callback=create)
        first = {"order_id": order["id"], "parcels": parcels[:1]}
        assert client.post("/api/shipments", json=first, headers=editor).status_code == 201
        worker.drain()
        assert client.get(f"/api/orders/{order['id']}", headers=viewer).get_json()["status"] == (
            "partially_shipped"
        )
        second = {"order_id": order["id"], "parcels": parcels[1:]}
        assert client.post("/api/shipments", json=second, headers=editor).status_code == 201
        worker.drain()
        assert [(m["lineItems"], m["shippingCarrierCode"]) for m in made] == [
            ([{"lineItemId": "10012345678901", "quantity": 2}], "RoyalMail"),
            ([{"lineItemId": "10012345678902", "quantity": 1}], "RoyalMail"),
        ]
        # an answer lost: the push runs again and finds the fulfillment eBay already holds
        with hub.db.transaction() as s:
            parcel_id = s.execute(
                select(ParcelRow.id).where(ParcelRow.tracking_number == "TT123456785GB")
            ).scalar_one()
            s.execute(update(ParcelRow).where(ParcelRow.id == parcel_id).values(channel_ref=None))
        fulfilment.push(hub, {"parcel_id": parcel_id})
        assert len(made) == 2
    with hub.db.transaction() as s:
        refs = s.execute(select(ParcelRow.tracking_number, ParcelRow.channel_ref)).all()
    assert sorted(refs) == [("TT000000027GB", "F-2"), ("TT123456785GB", "F-1")]


def test_the_example_config_has_an_ebay_account_like_the_other_channels():
    accounts = load_accounts(Path(__file__).parents[1] / "config" / "hub.toml", env={})
    ebay = accounts["example-ebay"]
    assert (ebay.connector, ebay.client) == ("ebay", "example")
    settings = ebay.settings
    for key in ("marketplace_id", "client_id", "client_secret", "refresh_token"):
        assert settings[key], key
    assert 32 <= len(settings["verification_token"]) <= 80
    # the address eBay calls, and hashes in the challenge, is this account's webhook
    assert settings["endpoint_url"].endswith("/webhooks/example-ebay")
    assert settings["api_calls"] is False and settings.get("api_base") is None
