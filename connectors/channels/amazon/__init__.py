"""Amazon Selling Partner API: orders are polled with the Orders API v2026-01-01
(``searchOrders`` by ``lastUpdatedAfter``, on the hub's reconciliation timer), and, when the
account has an SQS queue subscribed to ORDER_CHANGE notifications, the orders named there are
fetched at once (``getOrder``) in the same pass; either way each order goes through the inbox
like a webhook. Orders fulfilled by Amazon are recorded and never released. Stock goes out
through the Listings Items API (a PATCH per SKU for a few, a JSON_LISTINGS_FEED for more);
shipped parcels go back with confirmShipment (Orders v0), once each."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from connectors.channels.amazon import fulfilment, notifications, stock, translate
from connectors.channels.amazon.client import AmazonClient
from connectors.channels.amazon.settings import AmazonSettings
from hub.canonical import Translation
from hub.connectors import (
    Account,
    Capability,
    ChannelItem,
    Connector,
    FulfilmentPush,
    StockOutcome,
    StockUpdate,
)
from hub.errors import RetryableError

log = logging.getLogger(__name__)

#: rounds of ReceiveMessage a pass reads at most (10 messages each)
MAX_ROUNDS = 50
#: notification ids remembered per account, to recognise a redelivered message
REMEMBERED = 10_000

_SEEN: dict[str, OrderedDict[str, None]] = {}
_SEEN_LOCK = threading.Lock()


def _seen(account: str) -> OrderedDict[str, None]:
    with _SEEN_LOCK:
        return _SEEN.setdefault(account, OrderedDict())


class AmazonConnector(Connector):
    name = "amazon"
    kind = "channel"
    title = "Amazon"
    capabilities = frozenset(
        {Capability.ORDERS_POLL, Capability.STOCK_PUSH, Capability.FULFILMENT_PUSH}
    )
    settings_schema = AmazonSettings
    topics = frozenset(translate.ORDER_TOPICS)
    reconcile_topic = translate.ORDER_TOPIC
    line_path = "orderItems"
    stock_batch_size = stock.FEED_MAX

    def __init__(self, account: Account, *, client: AmazonClient | None = None):
        super().__init__(account)
        self._client = client

    @property
    def client(self) -> AmazonClient:
        if self._client is None:
            self._client = AmazonClient(self.account)
        return self._client

    # Amazon sends no HTTP webhooks: nothing posted to /webhooks/<account> is Amazon's.
    def verify(self, headers: Any, body: bytes) -> bool:
        return False

    def translate(self, topic: str, payload: Any) -> Translation:
        return translate.translate_order(payload, topic=topic)

    # -- orders in ----------------------------------------------------------------------------
    def orders_updated(self, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """The orders named by waiting ORDER_CHANGE notifications first (when the account has
        a queue), then every order updated since ``since`` (searchOrders reaches to now, which
        covers ``until``). Each is the ``Order`` as getOrder/searchOrders give it. The hub
        stores each order before it asks for the next, so a notification's message is
        deleted only once its order is in the inbox."""
        if self.account.settings.get("sqs_queue_url"):
            yield from self.notified_orders()
        yield from self.client.search_orders(since)

    def notified_orders(self) -> Iterator[dict[str, Any]]:
        """Drain the queue: long-poll the first read, then read while messages come; fetch
        each named order once, yield it, then delete its messages. A notification already
        handled (SQS delivers at least once) is deleted without fetching again."""
        seen = _seen(self.account.name)
        for round_ in range(MAX_ROUNDS):
            try:
                notices = self.client.receive(notifications.LONG_POLL if round_ == 0 else 0)
            except RetryableError as exc:
                # the queue is away (or its credentials): the poll below still runs
                log.warning("%s: notifications not read: %s", self.account.name, exc)
                return
            if not notices:
                return
            by_order: dict[str, list[notifications.Notice]] = {}
            done: list[str] = []
            for notice in notices:
                if notice.notification_id and notice.notification_id in seen:
                    done.append(notice.receipt)
                elif notice.order_id is None:
                    log.warning(
                        "%s: SQS message %s dropped: %s",
                        self.account.name,
                        notice.notification_id,
                        notice.problem,
                    )
                    done.append(notice.receipt)
                else:
                    by_order.setdefault(notice.order_id, []).append(notice)
            if done:
                self.client.delete(done)
            for order_id, held in by_order.items():
                yield self.client.get_order(order_id)
                self.client.delete([n.receipt for n in held])
                with _SEEN_LOCK:
                    for notice in held:
                        if notice.notification_id:
                            seen[notice.notification_id] = None
                    while len(seen) > REMEMBERED:
                        seen.popitem(last=False)

    # -- stock --------------------------------------------------------------------------------
    def stock_items(self) -> Iterator[ChannelItem]:
        yield from stock.unique(self.client.stock_items())

    def push_stock(self, updates: list[StockUpdate], key: str) -> list[StockOutcome]:
        """A few SKUs as single PATCH calls (``feed_threshold``), more as one listings feed
        whose processing report gives each SKU's outcome (waited for up to ``feed_wait``)."""
        if not updates:
            return []
        settings = self.account.settings
        if len(updates) <= int(settings.get("feed_threshold", 10)):
            return [stock.patch_outcome(u, self.client.patch_quantity(u)) for u in updates]
        feed_id = self.client.submit_feed(updates)
        status, report = self.client.feed_report(feed_id, float(settings.get("feed_wait", 240.0)))
        if report is not None:
            return stock.report_outcomes(updates, report)
        if status in ("CANCELLED", "FATAL"):
            return stock.failed(updates, f"listings feed {feed_id} {status}")
        log.info(
            "%s: listings feed %s still %s; taken as accepted",
            self.account.name,
            feed_id,
            status or "unknown",
        )
        return stock.accepted(updates)

    # -- fulfilment ---------------------------------------------------------------------------
    def push_fulfilment(self, push: FulfilmentPush) -> str:
        """confirmShipment for the parcel; returns ``<orderId>/<packageReferenceId>``. A
        package of the order already carrying the tracking number is returned instead."""
        order_id = fulfilment.order_id(push)
        fulfilment.order_items(push)  # a parcel that cannot be sent is refused before any call
        order = self.client.get_order(order_id)
        found = fulfilment.existing_package(order, push.tracking_number)
        if found is not None:
            log.info(
                "%s: parcel %s is already package %s", self.account.name, push.parcel_id, found
            )
            return f"{order_id}/{found}"
        marketplace = fulfilment.marketplace_of(order, self.client.marketplace_ids[0])
        body = fulfilment.confirm_body(push, marketplace)
        self.client.confirm_shipment(order_id, body)
        return f"{order_id}/{body['packageDetail']['packageReferenceId']}"
