"""Shopify: orders arrive as HTTPS webhooks carrying the full REST order resource, and the
ones whose webhook was lost are read back from the REST Admin API in the same shape
(``orders.py``); stock is read and set through the GraphQL Admin API at one location per
account; shipped parcels go back as fulfillments (one per parcel, with its tracking) and their
later tracking events as fulfillment events. Returns and refunds arrive as the ``returns/*``
and ``refunds/create`` webhooks, and a return the hub refunds goes back as ``refundCreate``
(``returns.py``)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from connectors.channels.shopify import events, fulfilment, returns, stock, translate
from connectors.channels.shopify.client import ShopifyClient
from connectors.channels.shopify.settings import ShopifySettings
from hub.canonical import Translation
from hub.connectors import (
    Account,
    Capability,
    ChannelItem,
    Connector,
    Delivery,
    FulfilmentPush,
    RefundPush,
    StockOutcome,
    StockUpdate,
    TrackingEvent,
)
from hub.connectors.signing import verify_hmac_sha256_base64
from hub.errors import PermanentError, RetryableError

log = logging.getLogger(__name__)

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
    capabilities = frozenset(
        {
            Capability.ORDERS_WEBHOOK,
            Capability.ORDERS_POLL,
            Capability.STOCK_PUSH,
            Capability.FULFILMENT_PUSH,
            Capability.RETURNS,
        }
    )
    settings_schema = ShopifySettings
    topics = frozenset((*translate.ORDER_TOPICS, *returns.TOPICS))
    #: the topics whose bodies are returns and refunds, not orders
    return_topics = frozenset(returns.TOPICS)
    #: the topic an order read back by :meth:`orders_updated` is taken in under
    reconcile_topic = "orders/updated"
    line_path = "line_items"
    stock_batch_size = stock.MAX_ITEMS

    def __init__(self, account: Account, *, client: ShopifyClient | None = None):
        super().__init__(account)
        self._client = client
        self._location: str | None = account.settings.get("location_id")

    @property
    def client(self) -> ShopifyClient:
        """The account's API client, made on first use (webhooks never need one)."""
        if self._client is None:
            self._client = ShopifyClient(self.account)
        return self._client

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
        if topic in returns.TOPICS:
            return returns.translate(topic, payload)
        return translate.translate_order(payload, topic=topic)

    # -- reconciliation -----------------------------------------------------------------------
    def orders_updated(self, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """Every order updated from ``since`` to ``until`` (both included; a naive time is
        UTC), each as the body of an ``orders/updated`` webhook: the REST Order resource,
        unwrapped, parsed with :func:`hub.values.loads`. Read from the REST Admin API, since
        the GraphQL one answers in another shape (see ``orders.py``); needs the
        ``read_orders`` scope, and ``read_all_orders`` for orders older than 60 days."""
        return self.client.orders_updated(since, until)

    # -- stock ------------------------------------------------------------------------------
    def stock_location(self) -> str:
        """The location GID stock is read and set at: ``location_id``, else the primary one."""
        if self._location is None:
            self._location = self.client.primary_location()
            log.info("%s: stock goes to the primary location %s", self.account.name, self._location)
        return self._location

    def stock_items(self) -> Iterator[ChannelItem]:
        location = self.stock_location()
        variants = (
            variant
            for page in self.client.variant_pages(location)
            for variant in stock.read_variants(page, location)
        )
        yield from stock.unique_skus(variants, label=self.account.name)

    def push_stock(self, updates: list[StockUpdate], key: str) -> list[StockOutcome]:
        if not updates:
            return []
        default = None
        if any(not u.item.location_id for u in updates):
            default = self.stock_location()
        variables = stock.set_quantities_variables(updates, key, default)
        result = stock.read_set_result(self.client.set_quantities(variables), len(updates))
        levels = self._stale_levels(updates, result.stale, default)
        return stock.outcomes(updates, result, levels, default)

    def _stale_levels(
        self, updates: list[StockUpdate], stale: list[int], default: str | None
    ) -> dict[tuple[str, str], int | None]:
        """What Shopify shows now for the items it refused as stale: one query per location
        (one in all, since the account has one). Unreadable levels stay unknown: the push
        itself is done and its outcomes stand."""
        by_location: dict[str, list[str]] = {}
        for index in stale:
            item = updates[index].item
            by_location.setdefault(item.location_id or default or "", []).append(item.item_id)
        levels: dict[tuple[str, str], int | None] = {}
        for location, item_ids in by_location.items():
            try:
                found = self.client.levels(sorted(set(item_ids)), location)
            except (RetryableError, PermanentError) as exc:
                log.warning("%s: could not read back stale levels: %s", self.account.name, exc)
                continue
            levels.update({(item_id, location): level for item_id, level in found.items()})
        return levels

    # -- fulfilment -------------------------------------------------------------------------
    def push_fulfilment(self, push: FulfilmentPush) -> str:
        """Make the parcel a fulfillment of its order's fulfillment orders, with its tracking;
        return the fulfillment's GID. A fulfillment of the order that already carries the
        tracking number (an earlier attempt whose answer was lost) is returned instead."""
        number = fulfilment.tracking_number(push)
        order_id = fulfilment.order_gid(push.order)
        fulfilment.parcel_lines(push)  # a parcel that cannot be sent is refused before any call
        found = fulfilment.existing_fulfillment(
            self.client.order_fulfillments(order_id), order_id, number
        )
        if found is not None:
            log.info(
                "%s: parcel %s is already fulfillment %s", self.account.name, push.parcel_id, found
            )
            return found
        orders = self.client.fulfillment_orders(order_id)
        variables = fulfilment.create_variables(push, number, orders)
        return fulfilment.read_created(self.client.create_fulfillment(variables))

    def push_tracking_event(
        self, push: FulfilmentPush, channel_id: str, event: TrackingEvent
    ) -> None:
        """Add the event to the fulfillment ``channel_id`` (a GID from :meth:`push_fulfilment`).
        Statuses Shopify has no word for (``unknown``) are not sent; an event already there
        (same status, same time) is not sent twice."""
        status = events.event_status(event.status)
        if status is None:
            return
        if events.has_event(self.client.fulfillment_events(channel_id), status, event.at):
            return
        variables = events.event_variables(channel_id, status, event)
        events.read_event_created(self.client.create_fulfillment_event(variables))

    # -- returns ----------------------------------------------------------------------------
    def push_refund(self, push: RefundPush) -> str:
        """Refund the returned lines with ``refundCreate`` (see ``returns.py``), restocked
        on Shopify (at ``location_id``, when set) only when ``push.restock``; return the
        refund's GID. A refund of the order whose note carries ``push.key`` (an earlier try)
        is returned instead, and the ``@idempotent`` key covers a try whose answer was lost."""
        lines = returns.refund_lines(push, self._location)
        context = self.client.refund_context(returns.context_variables(push, lines))
        found = returns.existing_refund(context, push.key)
        if found is not None:
            log.info("%s: return %s is already refund %s", self.account.name, push.return_id, found)
            return found
        variables = returns.create_variables(push, lines, context)
        return returns.read_refund_created(self.client.create_refund(variables))
