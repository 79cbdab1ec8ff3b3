"""Shopify: orders arrive as HTTPS webhooks carrying the full REST order resource."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from connectors.channels.shopify import translate
from connectors.channels.shopify.settings import ShopifySettings
from hub.canonical import Translation
from hub.connectors import Capability, Connector, Delivery
from hub.signing import verify_hmac_sha256_base64

#: headers kept with every stored delivery
KEPT_HEADERS = (
    "X-Shopify-Topic",
    "X-Shopify-Shop-Domain",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Event-Id",
    "X-Shopify-Triggered-At",
    "X-Shopify-API-Version",
    "X-Shopify-Hmac-Sha256",
)


class ShopifyConnector(Connector):
    name = "shopify"
    kind = "channel"
    title = "Shopify"
    capabilities = frozenset({Capability.ORDERS_WEBHOOK})
    settings_schema = ShopifySettings
    topics = frozenset(translate.ORDER_TOPICS)
    line_path = "line_items"

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        if not verify_hmac_sha256_base64(
            self.account.webhook_secrets, body, headers.get("X-Shopify-Hmac-Sha256")
        ):
            return False
        # One app secret signs every shop's deliveries: a delivery for another shop, posted to
        # this account's address, must not land here.
        # Shopify always sends the shop's domain; without it the delivery could be any shop's.
        shop = (headers.get("X-Shopify-Shop-Domain") or "").strip().lower()
        return bool(shop) and shop == str(self.account.settings["shop"]).strip().lower()

    def read_delivery(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        topic = headers.get("X-Shopify-Topic") or "unknown"
        webhook_id = headers.get("X-Shopify-Webhook-Id")
        # The webhook id is the same on every retry of one delivery: the dedupe key.
        key = (
            f"webhook:{webhook_id}"
            if webhook_id
            else "sha256:" + hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()
        )
        kept = {h: headers[h] for h in KEPT_HEADERS if h in headers}
        return Delivery(
            topic=topic, dedupe_key=key, event_id=headers.get("X-Shopify-Event-Id"), headers=kept
        )

    def translate(self, topic: str, payload: Any) -> Translation:
        return translate.translate_order(payload, topic=topic)
