"""Carrier pushes: UPS Track Alert is subscribed when a UPS parcel ships (and renewed before
its 14 days run out), and a pushed scan comes in through the inbox like any webhook, is
checked, stored once and moves the parcel and the order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import responses
from sqlalchemy import delete, select, update

from hub.jobs import outbox
from hub.runtime import Hub
from hub.shipping import tracking
from hub.storage.models import DeliveryRow, JobRow, ParcelRow
from hub.values import now
from tests.conftest import ACCOUNTS, only_order, receive, send_shopify, shopify_order

UPS = "https://onlinetools.ups.com"
NUMBER = "1Z204W4R0308071865"  # track_alert_delivered.json
CREDENTIAL = "ups-push-credential-5d1e"
PUSHED = (
    Path(__file__).parents[2]
    / "connectors/carriers/ups/tests/payloads/webhook/track_alert_delivered.json"
)


@pytest.fixture
def accounts_file(tmp_path: Path) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(
        ACCOUNTS
        + f"""
[accounts.acme-ups]
connector = "ups"
client = "acme"
client_id = "ups-client"
client_secret = "ups-secret-0123456789"
webhook_secret = "{CREDENTIAL}"
"""
    )
    return path


@pytest.fixture
def hub(database_url: str, accounts_file: Path) -> Iterator[Hub]:
    from hub.storage import migrate

    instance = Hub.from_env(
        {
            "database_url": database_url,
            "config": str(accounts_file),
            "public_url": "https://hub.example",
            "job_backoff": 0.01,
            "job_backoff_max": 0.05,
        }
    )
    migrate.upgrade(instance.db)
    yield instance
    instance.close()


@pytest.fixture
def ups() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(f"{UPS}/security/v1/oauth/token", json={"access_token": "t", "expires_in": 14399})
        mock.post(
            f"{UPS}/api/track/v1/subscription/standard/package",
            json={"validTrackingNumbers": [NUMBER], "invalidTrackingNumbers": []},
        )
        yield mock


def _ship_ups(hub, client, worker, viewer, editor) -> dict:
    receive(hub, "IPOD2008RED", 1)
    send_shopify(client, shopify_order())
    worker.drain()
    order = only_order(client, viewer)
    body = {
        "order_id": order["id"],
        "parcels": [
            {
                "carrier": "ups",
                "tracking_number": NUMBER,
                "lines": [{"sku": "IPOD2008RED", "quantity": 1}],
            }
        ],
    }
    assert client.post("/api/shipments", json=body, headers=editor).status_code == 201
    # telling Shopify is tests/shipping/test_fulfilment.py's business
    with hub.db.transaction() as s:
        s.execute(delete(JobRow).where(JobRow.kind == "fulfilment.push"))
    return order


def test_a_ups_parcel_is_subscribed_and_its_push_delivers_the_order(
    hub, client, worker, viewer, editor, ups
):
    order = _ship_ups(hub, client, worker, viewer, editor)
    worker.drain()
    [call] = [c for c in ups.calls if c.request.url.endswith("/package")]
    sent = json.loads(call.request.body)
    assert sent["trackingNumberList"] == [NUMBER]
    assert sent["destination"] == {
        "url": "https://hub.example/webhooks/acme-ups",
        "credentialType": "Bearer",
        "credential": CREDENTIAL,
    }
    with hub.db.transaction() as s:
        assert s.execute(select(ParcelRow.subscribed_at)).scalar_one() is not None

    body = PUSHED.read_bytes()
    headers = {"Content-Type": "application/json", "credential": CREDENTIAL}
    assert client.post("/webhooks/acme-ups", data=body, headers=headers).status_code == 202
    again = client.post("/webhooks/acme-ups", data=body, headers=headers)
    assert again.status_code == 202 and again.get_json()["duplicate"] is True
    wrong = client.post("/webhooks/acme-ups", data=body, headers={**headers, "credential": "x"})
    assert wrong.status_code == 401
    worker.drain()
    shown = client.get(f"/api/orders/{order['id']}", headers=viewer).get_json()
    assert shown["status"] == "delivered"
    [parcel] = shown["shipments"][0]["parcels"]
    assert [(e["status"], e["at"]) for e in parcel["events"]] == [
        ("delivered", "2024-04-23T13:50:04Z")
    ]
    with hub.db.transaction() as s:
        [delivery] = s.execute(select(DeliveryRow)).scalars().all()[-1:]
        assert delivery.status == "processed" and delivery.order_id == order["id"]


def test_a_push_for_a_number_the_hub_does_not_follow_is_kept_and_noted(
    hub, client, worker, viewer, editor, ups
):
    pushed = json.loads(PUSHED.read_text())
    pushed["trackingNumber"] = "1Z999AA10123456784"
    body = json.dumps(pushed).encode()
    headers = {"Content-Type": "application/json", "credential": CREDENTIAL}
    assert client.post("/webhooks/acme-ups", data=body, headers=headers).status_code == 202
    worker.drain()
    with hub.db.transaction() as s:
        delivery = s.execute(select(DeliveryRow)).scalar_one()
        assert delivery.status == "ignored"
        assert delivery.error == "no parcel here with tracking number(s) 1Z999AA10123456784"


def test_subscriptions_are_renewed_before_they_run_out(hub, client, worker, viewer, editor, ups):
    _ship_ups(hub, client, worker, viewer, editor)
    worker.drain()
    with hub.db.transaction() as s:
        s.execute(update(ParcelRow).values(subscribed_at=now() - timedelta(days=13, hours=1)))
        outbox.enqueue(s, tracking.POLL_DUE, {"slot": 1}, max_attempts=3)
    worker.drain()
    renewals = [c for c in ups.calls if c.request.url.endswith("/package")]
    assert len(renewals) == 2
    with hub.db.transaction() as s:
        assert s.execute(select(ParcelRow.subscribed_at)).scalar_one() > now() - timedelta(
            minutes=1
        )
