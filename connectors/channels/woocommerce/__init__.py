"""WooCommerce: order webhooks carry the REST v3 order, as `GET /wc/v3/orders/<id>` gives it,
and the orders whose webhook was lost are read back from the orders list in the same shape
(``orders.py``); stock levels are read from and set through the REST v3 products API (``stock.py``,
``client.py``); shipped parcels go back as Shipment Tracking items, or customer notes where
that extension is not installed (``fulfilment.py``). Refunds arrive as ``order.updated``: the
worker reads the order's refunds and the goods WooCommerce restocked become returns; a return
the hub refunds goes back as an order refund (``returns.py``)."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from connectors.channels.woocommerce import fulfilment, returns, stock, translate
from connectors.channels.woocommerce.client import WooCommerceClient
from connectors.channels.woocommerce.settings import WooCommerceSettings
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
from hub.values import loads

KEPT_HEADERS = (
    "X-WC-Webhook-Source",
    "X-WC-Webhook-Topic",
    "X-WC-Webhook-Resource",
    "X-WC-Webhook-Event",
    "X-WC-Webhook-ID",
    "X-WC-Webhook-Delivery-ID",
    "X-WC-Webhook-Signature",
)
_PING = re.compile(rb"webhook_id=\d+")

log = logging.getLogger(__name__)


class WooCommerceConnector(Connector):
    name = "woocommerce"
    kind = "channel"
    title = "WooCommerce"
    capabilities = frozenset(
        {
            Capability.ORDERS_WEBHOOK,
            Capability.ORDERS_POLL,
            Capability.STOCK_PUSH,
            Capability.FULFILMENT_PUSH,
            Capability.RETURNS,
        }
    )
    settings_schema = WooCommerceSettings
    topics = frozenset(translate.ORDER_TOPICS)
    #: the topic an order read back by :meth:`orders_updated` is taken in under
    reconcile_topic = "order.updated"
    line_path = "line_items"
    stock_batch_size = stock.BATCH_LIMIT

    def __init__(self, account: Account, *, client: WooCommerceClient | None = None):
        super().__init__(account)
        self._client = client
        #: whether the store has the Shipment Tracking extension (None: not asked yet)
        self._shipment_tracking: bool | None = None

    @property
    def client(self) -> WooCommerceClient:
        """The account's REST client, built on first use (tests may pass their own)."""
        if self._client is None:
            self._client = WooCommerceClient(self.account)
        return self._client

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        return verify_hmac_sha256_base64(
            self.account.webhook_secrets, body, headers.get("X-WC-Webhook-Signature")
        )

    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        # Sent unsigned when a webhook is saved; anything but a 2xx disables the webhook.
        return _PING.fullmatch(body.strip()) is not None

    def read_delivery(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        topic = headers.get("X-WC-Webhook-Topic") or "unknown"
        kept = {h: headers[h] for h in KEPT_HEADERS if h in headers}
        # The delivery id changes on every send, so the key is the resource and the time it
        # was modified: the same change delivered twice is stored once.
        try:
            data = loads(body)
        except ValueError:
            data = None
        resource = topic.split(".", 1)[0]
        if isinstance(data, dict) and data.get("id") is not None:
            modified = data.get("date_modified_gmt")
            key = (
                f"{resource}:{data['id']}:{modified}"
                if modified
                else f"{topic}:{data['id']}:{hashlib.sha256(body).hexdigest()}"
            )
        else:
            key = "sha256:" + hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()
        return Delivery(topic=topic, dedupe_key=key, headers=kept)

    def fetch(self, topic: str, payload: Any) -> Any:
        """An order whose ``refunds`` are not empty, with its refunds read beside it (their
        lines say which goods came back; the webhook's summary does not). Any other body,
        or one read already, is returned as it is; an account with ``api_calls = false``
        keeps its orders and hears of no refunds."""
        if not returns.needs_refunds(topic, payload):
            return payload
        if not self.account.settings.get("api_calls", True):
            log.info("%s: api_calls = false; order refunds are not read", self.account.name)
            return payload
        refunds = self.client.refunds(returns.webhook_order_id(payload))
        return returns.with_refunds(payload, refunds)

    def translate(self, topic: str, payload: Any) -> Translation:
        return translate.translate_order(payload, topic=topic)

    # -- reconciliation -----------------------------------------------------------------------
    def orders_updated(self, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """Every order modified from ``since`` to ``until`` (both included; a naive time is
        UTC), each as the body of an ``order.updated`` webhook: the v3 order resource, parsed
        with :func:`hub.values.loads`. Needs WooCommerce 5.8 or later (``modified_after``);
        an older store, which ignores the filter, is refused with a PermanentError rather
        than read in full. Deleted orders are not in the list, so not found this way."""
        return self.client.orders_updated(since, until)

    # -- stock push ---------------------------------------------------------------------------
    def stock_items(self) -> Iterator[ChannelItem]:
        return self.client.stock_items()

    def push_stock(self, updates: list[StockUpdate], key: str) -> list[StockOutcome]:
        # WooCommerce takes no idempotency key and has no compare-and-set: ``key`` and each
        # update's ``previous`` are not used. Absolute levels are safe to send again.
        return self.client.push_stock(updates)

    # -- fulfilment push ----------------------------------------------------------------------
    def push_fulfilment(self, push: FulfilmentPush) -> str:
        """Give the order the parcel's tracking: a Shipment Tracking item
        (``"tracking:<tracking_id>"``) or, without that extension, a customer note
        (``"note:<id>"``); an existing item or note with the tracking number (an earlier
        attempt whose answer was lost) is returned instead of adding another. Once the order
        is fully shipped it is set to ``completed``, after the tracking, so the extension puts
        the tracking into the Completed Order e-mail."""
        order_id = fulfilment.order_id(push.order)
        number = fulfilment.tracking_number(push)
        items = None
        # Asking for the order's tracking items is also how the extension is found: once it
        # is known to be missing, this connector stops asking.
        if self._shipment_tracking is not False:
            items = self.client.shipment_trackings(order_id)
            if self._shipment_tracking != (items is not None):
                log.info(
                    "%s: Shipment Tracking extension %s",
                    self.account.name,
                    "found" if items is not None else "not installed; tracking goes in notes",
                )
            self._shipment_tracking = items is not None
        if items is not None:
            found = fulfilment.existing_tracking(items, number)
            if found is None:
                body = fulfilment.tracking_body(push, number)
                found = fulfilment.created_tracking(
                    self.client.add_shipment_tracking(order_id, body)
                )
            reference = fulfilment.TRACKING_PREFIX + found
        else:
            found = fulfilment.existing_note(self.client.customer_notes(order_id), number)
            if found is None:
                body = fulfilment.note_body(push, number)
                found = fulfilment.created_note(self.client.add_customer_note(order_id, body))
            reference = fulfilment.NOTE_PREFIX + found
        if push.complete and fulfilment.needs_completing(
            self.client.order_status(order_id), order_id
        ):
            fulfilment.check_completed(self.client.complete_order(order_id), order_id)
        return reference

    # -- returns ----------------------------------------------------------------------------
    def push_refund(self, push: RefundPush) -> str:
        """Refund the returned lines as an order refund (see ``returns.py``): through the
        payment gateway only with the account's ``returns.api_refund``, restocked in
        WooCommerce only when ``push.restock``; return the refund's id. WooCommerce takes no
        idempotency key, so the order's refunds are read first and one whose reason carries
        ``push.key`` (an earlier try whose answer was lost) is returned instead."""
        order_id = returns.order_id(push)
        found = returns.existing_refund(self.client.refunds(order_id), push.key)
        if found is not None:
            log.info("%s: return %s is already refund %s", self.account.name, push.return_id, found)
            return found
        policy = self.account.settings.get("returns") or {}
        body = returns.refund_body(
            push, self.client.refund_order(order_id), api_refund=bool(policy.get("api_refund"))
        )
        return returns.read_refund_created(self.client.create_refund(order_id, body))

    def push_tracking_event(
        self, push: FulfilmentPush, channel_id: str, event: TrackingEvent
    ) -> None:
        """Nothing: WooCommerce (and its Shipment Tracking extension) shows no tracking events;
        the customer follows the carrier's link instead."""
