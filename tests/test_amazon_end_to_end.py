"""Amazon end to end, on SQLite and PostgreSQL: the reconciliation's poll (searchOrders)
brings a merchant-fulfilled order and an FBA order through the inbox; the first is released
and its stock pushed to Amazon (delta only), the FBA one is kept and never released; a parcel
recorded for the first is confirmed to Amazon exactly once, even when Amazon's answer to the
confirmation is lost; and an ORDER_CHANGE notification on the account's SQS queue (botocore's
Stubber) has its order fetched and stored by the reconcile job before its message is deleted;
and with a short ``HUB_RECONCILE_INTERVAL`` the scheduler's slot alone brings the orders in,
the next pass reaching ``HUB_RECONCILE_OVERLAP`` back over the last.

Amazon is a fake built on ``responses`` from the Orders API model's sandbox answers (see
``connectors/channels/amazon/tests/payloads/SOURCES.md``); it keeps the packages confirmed
to it, so a second confirmation would show.
"""

from __future__ import annotations

import copy
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import responses
from botocore.stub import Stubber
from sqlalchemy import select

import connectors.channels.amazon as amazon_connector
from connectors.channels.amazon.orders import stamp
from hub.intake import inbox, reconcile
from hub.jobs import outbox, scheduler
from hub.jobs.worker import Worker
from hub.runtime import Hub
from hub.stock import sync
from hub.storage import account_state, migrate
from hub.storage.models import JobRow, OrderRow, ParcelRow
from hub.values import utc
from tests.conftest import QUIET_ROYALMAIL, accounts_fixture, receive

PAYLOADS = Path(__file__).parents[1] / "connectors/channels/amazon/tests/payloads"
API = "https://sellingpartnerapi-eu.amazon.com"
SELLER = "A3TH9S8BH6GOGM"
MFN_ID = "171-2345678-9012345"  # sandbox case 3: merchant-fulfilled, UNSHIPPED
FBA_ID = "250-1234567-8901234"  # sandbox case 1: fulfilled by Amazon
SKU = "DELL-I15-BR-001"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/sp-api-orders"

AMAZON_ACCOUNTS = f"""
[accounts.amazon-br]
connector = "amazon"
client = "acme"
region = "eu"
marketplace_ids = ["A2Q3Y263D00KWC"]
client_id = "amzn1.application-oa2-client.e2e"
client_secret = "e2e-client-secret"
refresh_token = "Atzr|e2e-refresh"
seller_id = "{SELLER}"

[accounts.amazon-sqs]
connector = "amazon"
client = "acme"
region = "eu"
marketplace_ids = ["A2Q3Y263D00KWC"]
client_id = "amzn1.application-oa2-client.e2e"
client_secret = "e2e-client-secret"
refresh_token = "Atzr|e2e-refresh"
seller_id = "{SELLER}"
sqs_queue_url = "{QUEUE}"
"""
accounts_file = accounts_fixture(QUIET_ROYALMAIL + AMAZON_ACCOUNTS)


def sandbox(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


class FakeAmazon:
    """LWA, searchOrders, getOrder, Listings and confirmShipment for two orders."""

    def __init__(self, mock: responses.RequestsMock):
        self.orders = {MFN_ID: sandbox("searchOrders_sandbox_3.json")["orders"][0]}
        fba = copy.deepcopy(sandbox("searchOrders_sandbox_1.json")["orders"][0])
        fba["fulfillment"]["fulfillmentStatus"] = "UNSHIPPED"  # Amazon has yet to ship it
        self.orders[FBA_ID] = fba
        self.confirmed: list[dict[str, Any]] = []
        self.patched: list[dict[str, Any]] = []
        self.lose_next_answer = False
        mock.post(
            "https://api.amazon.com/auth/o2/token",
            json={"access_token": "Atza|e2e", "token_type": "bearer", "expires_in": 3600},
        )
        mock.get(f"{API}/orders/2026-01-01/orders", json={"orders": list(self.orders.values())})
        for order_id in self.orders:
            mock.add_callback(
                responses.GET,
                f"{API}/orders/2026-01-01/orders/{order_id}",
                callback=lambda request, oid=order_id: (
                    200,
                    {},
                    json.dumps({"order": self.orders[oid]}),
                ),
            )
            mock.add_callback(
                responses.POST,
                f"{API}/orders/v0/orders/{order_id}/shipmentConfirmation",
                callback=lambda request, oid=order_id: self._confirm(oid, request),
            )
        listing = sandbox("searchListingsItems_sandbox.json")["items"][0]
        mock.get(
            f"{API}/listings/2021-08-01/items/{SELLER}",
            json={"numberOfResults": 1, "items": [{**listing, "sku": SKU}]},
        )
        mock.add_callback(
            responses.PATCH,
            f"{API}/listings/2021-08-01/items/{SELLER}/{SKU}",
            callback=self._patch,
        )

    def _confirm(self, order_id: str, request: Any) -> tuple[int, dict, str]:
        body = json.loads(request.body)
        self.confirmed.append(body)
        detail = body["packageDetail"]
        package = {
            "packageReferenceId": detail["packageReferenceId"],
            "carrier": detail["carrierCode"],
            "trackingNumber": detail["trackingNumber"],
            "packageItems": detail["orderItems"],
        }
        self.orders[order_id].setdefault("packages", []).append(package)
        if self.lose_next_answer:  # Amazon acted, but its answer never arrives
            self.lose_next_answer = False
            return 500, {}, json.dumps({"errors": [{"code": "InternalFailure", "message": "x"}]})
        return 204, {}, ""

    def _patch(self, request: Any) -> tuple[int, dict, str]:
        self.patched.append(json.loads(request.body))
        answer = sandbox("patchListingsItem_2021-08-01_response.json")
        return 200, {}, json.dumps({**answer, "sku": SKU})


def drain_until_quiet(worker, hub) -> None:
    """Run jobs, waiting out the short test backoff of retried ones."""
    for _ in range(40):
        worker.drain()
        with hub.db.transaction() as s:
            waiting = s.execute(
                select(JobRow.id).where(JobRow.status == "queued", JobRow.kind == "fulfilment.push")
            ).first()
        if waiting is None:
            return
        time.sleep(0.05)


def test_poll_fba_stock_and_shipment_exactly_once(hub, client, worker, viewer, editor):
    receive(hub, SKU, 5)
    account = hub.accounts["amazon-br"]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        amazon = FakeAmazon(mock)
        report = reconcile.reconcile_account(hub, account)
        assert (report["seen"], report["missing"], report["taken_in"]) == (2, 2, 2)
        worker.drain()
        with hub.db.transaction() as s:
            rows = {o.external_id: o for o in s.execute(select(OrderRow)).scalars()}
            assert rows[MFN_ID].status == "released"
            assert rows[FBA_ID].status == "on_hold"  # recorded, never released
            assert "FBA" in rows[FBA_ID].data["tags"]
            assert "Ship by 2024-12-24T23:59:59Z" in rows[MFN_ID].data["notes"]
            mfn_id = rows[MFN_ID].id

        # the next poll overlaps the last window: nothing is taken in twice
        again = reconcile.reconcile_account(hub, account)
        assert again["current"] == 2 and again["taken_in"] == 0

        # stock: 5 on hand, 1 allocated to the released order -> 4, once
        first = sync.sync_account(hub, account, "delta")
        assert amazon.patched and amazon.patched[-1]["patches"][0]["value"] == [
            {"fulfillment_channel_code": "DEFAULT", "quantity": 4}
        ]
        assert not first.errors
        pushed = len(amazon.patched)
        sync.sync_account(hub, account, "delta")
        assert len(amazon.patched) == pushed  # delta only: nothing changed, nothing sent

        # the shipment: Amazon acts on the confirmation but the answer is lost; the retry
        # finds the package and sends nothing more
        amazon.lose_next_answer = True
        parcel = {
            "carrier": "royalmail",
            "service": "TPN24",
            "tracking_number": "TT123456785GB",
            "lines": [{"sku": SKU, "quantity": 1}],
        }
        answer = client.post(
            "/api/shipments", json={"order_id": mfn_id, "parcels": [parcel]}, headers=editor
        )
        assert answer.status_code == 201, answer.get_json()
        drain_until_quiet(worker, hub)
        assert len(amazon.confirmed) == 1
        detail = amazon.confirmed[0]["packageDetail"]
        assert amazon.confirmed[0]["marketplaceId"] == "A2Q3Y263D00KWC"
        assert (detail["carrierCode"], detail["trackingNumber"]) == ("Royal Mail", "TT123456785GB")
        assert detail["orderItems"] == [{"orderItemId": "17123456789012", "quantity": 1}]
        with hub.db.transaction() as s:
            ref = s.execute(select(ParcelRow.channel_ref)).scalar_one()
            assert ref == f"{MFN_ID}/{detail['packageReferenceId']}"
    order = client.get(f"/api/orders/{mfn_id}", headers=viewer).get_json()
    assert order["status"] == "shipped"


def test_an_order_change_notification_brings_its_order_in_through_the_reconcile_job(
    hub, worker, monkeypatch
):
    sqs = boto3.client(
        "sqs", region_name="eu-west-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: sqs)
    # notification ids are remembered per process: the other database's run saw this one
    monkeypatch.setattr(amazon_connector, "_SEEN", {})
    notice = sandbox("notification_ORDER_CHANGE_example.json")
    notice["Payload"]["OrderChangeNotification"]["AmazonOrderId"] = MFN_ID
    steps: list[str] = []
    accept = inbox.accept

    def storing(*args: Any, **kwargs: Any) -> Any:
        accepted = accept(*args, **kwargs)  # returns once the delivery is committed
        steps.append("stored")
        return accepted

    monkeypatch.setattr(inbox, "accept", storing)
    sqs.meta.events.register(
        "before-parameter-build.sqs.DeleteMessageBatch", lambda **kw: steps.append("deleted")
    )
    receive_params = {"QueueUrl": QUEUE, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 20}
    with Stubber(sqs) as stub, responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        stub.add_response(
            "receive_message",
            {"Messages": [{"MessageId": "m", "ReceiptHandle": "r-1", "Body": json.dumps(notice)}]},
            receive_params,
        )
        stub.add_response(
            "delete_message_batch",
            {"Successful": [{"Id": "0"}], "Failed": []},
            {"QueueUrl": QUEUE, "Entries": [{"Id": "0", "ReceiptHandle": "r-1"}]},
        )
        stub.add_response("receive_message", {}, {**receive_params, "WaitTimeSeconds": 0})
        amazon = FakeAmazon(mock)
        mock.replace(responses.GET, f"{API}/orders/2026-01-01/orders", json={"orders": []})
        with hub.db.transaction() as s:
            outbox.enqueue(s, reconcile.RECONCILE, {"account": "amazon-sqs"}, max_attempts=3)
        worker.drain()
        stub.assert_no_pending_responses()
    assert steps == ["stored", "deleted"]  # the delivery was in the inbox before the delete
    assert amazon.orders  # the fake answered getOrder for the notified order
    with hub.db.transaction() as s:
        row = s.execute(select(OrderRow).where(OrderRow.account == "amazon-sqs")).scalar_one()
        assert row.external_id == MFN_ID


def test_the_reconcile_timer_polls_amazon_with_overlapping_windows(
    database_url, tmp_path, monkeypatch
):
    # a short HUB_RECONCILE_INTERVAL: the scheduler's slot brings Amazon's orders in at once,
    # and the next pass asks again from HUB_RECONCILE_OVERLAP before the last one's end
    monkeypatch.setenv("HUB_RECONCILE_INTERVAL", "0.2")
    monkeypatch.setenv("HUB_RECONCILE_OVERLAP", "120")
    monkeypatch.setattr(amazon_connector, "_SEEN", {})
    sqs = boto3.client(
        "sqs", region_name="eu-west-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: sqs)
    config = tmp_path / "amazon.toml"  # the Amazon accounts alone: nothing else polls
    config.write_text(QUIET_ROYALMAIL + AMAZON_ACCOUNTS)
    hub = Hub.from_env({"database_url": database_url, "config": str(config), "job_backoff": 0.01})
    migrate.upgrade(hub.db)
    receive(hub, SKU, 5)
    worker = Worker(hub, name="timer-worker")
    try:
        timer = next(p for p in scheduler.periodic(hub) if p.kind == reconcile.RECONCILE_ALL)
        assert timer.every == timedelta(seconds=0.2)
        receive_params = {"QueueUrl": QUEUE, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 20}
        with (
            Stubber(sqs) as stub,
            responses.RequestsMock(assert_all_requests_are_fired=False) as mock,
        ):
            for _ in range(2):  # the queue account's two passes find its queue empty
                stub.add_response("receive_message", {}, receive_params)
            FakeAmazon(mock)
            assert scheduler.enqueue_slot(hub, timer) is not None
            worker.drain()
            with hub.db.transaction() as s:
                got = {
                    (o.account, o.external_id): o.status
                    for o in s.execute(select(OrderRow)).scalars()
                }
                first = account_state.load(s, "amazon-br", reconcile.STATE)
            assert got[("amazon-br", MFN_ID)] == "released"
            assert got[("amazon-br", FBA_ID)] == "on_hold"
            assert ("amazon-sqs", MFN_ID) in got

            time.sleep(0.25)  # the next slot
            assert scheduler.enqueue_slot(hub, timer) is not None
            worker.drain()
            stub.assert_no_pending_responses()
            searched = [
                parse_qs(urlsplit(c.request.url).query)["lastUpdatedAfter"][0]
                for c in mock.calls
                if urlsplit(c.request.url).path == "/orders/2026-01-01/orders"
            ]
        assert len(searched) == 4  # two accounts, two passes
        assert stamp(utc(first["until"]) - timedelta(seconds=120)) in searched
    finally:
        hub.close()
