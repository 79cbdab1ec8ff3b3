"""``hub demo``: the whole intake flow, offline, on a throwaway SQLite database.

Signs real recorded Shopify and WooCommerce order payloads, posts them to the real app, sends
one twice and one malformed body, runs the worker, and prints what came out.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import click

from hub.cli.base import cli
from hub.connectors.signing import hmac_sha256_base64
from hub.errors import HubError
from hub.jobs.worker import Worker
from hub.runtime import Hub
from hub.values import loads
from hub.web.app import create_app

CONNECTORS = Path(__file__).resolve().parents[2] / "connectors" / "channels"
ACCOUNTS = """
[accounts.demo-shopify]
connector = "shopify"
client = "demo"
shop = "demo.myshopify.com"
webhook_secret = "demo-shopify-secret"
access_token = "shpat_demo"

[accounts.demo-woo]
connector = "woocommerce"
client = "demo"
url = "https://demo-shop.example"
webhook_secret = "demo-woo-secret"
consumer_key = "ck_demo"
consumer_secret = "cs_demo"
"""


def run(say: Callable[[str], None]) -> None:
    with tempfile.TemporaryDirectory(prefix="hub-demo-") as work:
        (Path(work) / "hub.toml").write_text(ACCOUNTS)
        hub = Hub.from_env(
            {"config": f"{work}/hub.toml", "database_url": f"sqlite:///{work}/demo.db"}
        )
        app = create_app(hub=hub)
        client = app.test_client()
        shopify = CONNECTORS / "shopify/tests/payloads/order_get_rest_2024-04_response.json"
        order = loads(shopify.read_bytes())["order"]
        body = json.dumps(order, default=str).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": "demo.myshopify.com",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Hmac-Sha256": hmac_sha256_base64("demo-shopify-secret", body),
        }
        for attempt in ("first", "retry"):
            r = client.post("/webhooks/demo-shopify", data=body, headers=headers)
            say(f"shopify orders/create ({attempt}): {r.status_code} {r.get_json()}")
        woo = (CONNECTORS / "woocommerce/tests/payloads/order_get_v3_response.json").read_bytes()
        r = client.post(
            "/webhooks/demo-woo",
            data=woo,
            headers={
                "Content-Type": "application/json",
                "X-WC-Webhook-Topic": "order.created",
                "X-WC-Webhook-Signature": hmac_sha256_base64("demo-woo-secret", woo),
            },
        )
        say(f"woocommerce order.created: {r.status_code} {r.get_json()}")
        r = client.post(
            "/webhooks/demo-woo",
            data=b"{not json",
            headers={
                "Content-Type": "application/json",
                "X-WC-Webhook-Topic": "order.updated",
                "X-WC-Webhook-Signature": hmac_sha256_base64("demo-woo-secret", b"{not json"),
            },
        )
        say(f"woocommerce malformed body: {r.status_code} {r.get_json()}")
        ran = Worker(hub).drain()
        say(f"worker ran {ran} jobs")
        from sqlalchemy import select

        from hub.orders.store import to_json
        from hub.storage.models import DeliveryRow, OrderEventRow, OrderRow

        with hub.db.transaction() as session:
            for row in session.execute(select(OrderRow).order_by(OrderRow.id)).scalars():
                say(json.dumps(to_json(row), indent=2))
                for ev in session.execute(
                    select(OrderEventRow).where(OrderEventRow.order_id == row.id)
                ).scalars():
                    say(f"  timeline: {ev.kind}: {ev.message}")
            for d in session.execute(select(DeliveryRow).where(DeliveryRow.status == "failed")):
                say(f"failed delivery {d[0].id} ({d[0].topic}): {d[0].error}")
        hub.close()


@cli.command()
def demo() -> None:
    """An end-to-end run, offline: sample Shopify and WooCommerce webhooks in, orders out."""
    try:
        run(click.echo)
    except HubError as exc:
        raise click.ClickException(exc.message) from None
