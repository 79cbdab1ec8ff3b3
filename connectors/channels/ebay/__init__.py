"""eBay: orders are read from the Fulfillment API (``getOrders`` by last-modified window, on
the reconciliation timer, ``orders.py``); the Notification API posts signed notifications,
of which the marketplace account deletion notice is acted on (the buyer's data erased) and
the rest are stored (``notifications.py``); stock goes out through the Inventory API's
``bulk_update_price_quantity``, 25 SKUs a call (``stock.py``), or the Trading API's
``ReviseInventoryStatus`` for legacy listings (``trading.py``); shipped parcels go back as
shipping fulfillments, one per package (``fulfilment.py``)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from connectors.channels.ebay import fulfilment, notifications, stock, trading, translate
from connectors.channels.ebay.client import EbayClient
from connectors.channels.ebay.settings import EbaySettings
from hub.canonical import CustomerErasure, Translation
from hub.connectors import (
    Account,
    Capability,
    ChannelItem,
    Connector,
    Delivery,
    FulfilmentPush,
    StockOutcome,
    StockUpdate,
)
from hub.errors import ConnectorError, PermanentError, RetryableError, TranslationError
from hub.values import loads

log = logging.getLogger(__name__)

KEPT_HEADERS = (notifications.SIGNATURE_HEADER, "User-Agent")


class EbayConnector(Connector):
    name = "ebay"
    kind = "channel"
    title = "eBay"
    capabilities = frozenset(
        {
            Capability.NOTIFICATIONS,  # not ORDERS_WEBHOOK: orders come by polling
            Capability.ORDERS_POLL,
            Capability.STOCK_PUSH,
            Capability.FULFILMENT_PUSH,
        }
    )
    settings_schema = EbaySettings
    topics = frozenset({*translate.ORDER_TOPICS, translate.DELETION_TOPIC})
    reconcile_topic = translate.ORDER_TOPIC
    line_path = "lineItems"
    stock_batch_size = stock.BATCH
    #: eBay's SDKs answer a verified notification 204 and a bad signature 412
    webhook_accepted_status = 204
    webhook_refused_status = 412

    def __init__(self, account: Account, *, client: EbayClient | None = None):
        super().__init__(account)
        self._client = client
        self.keys = notifications.PublicKeys(lambda kid: self.client.public_key(kid))
        if account.settings.get("stock_api") == "trading":
            self.stock_batch_size = trading.BATCH  # type: ignore[misc]

    @property
    def client(self) -> EbayClient:
        if self._client is None:
            self._client = EbayClient(self.account)
        return self._client

    # -- notifications ------------------------------------------------------------------------
    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        """The ECDSA signature in ``X-EBAY-SIGNATURE``, checked with eBay's public key for its
        key id (fetched once an hour). A key eBay does not know is a bad signature; eBay
        unreachable is a ``RetryableError`` (503: eBay sends the notification again)."""
        signature = notifications.read_signature(headers.get(notifications.SIGNATURE_HEADER))
        if signature is None:
            return False
        try:
            key = self.keys.get(signature.kid)
        except PermanentError as exc:
            log.warning("%s: no eBay public key %s: %s", self.account.name, signature.kid, exc)
            return False
        except ConnectorError as exc:
            raise RetryableError(
                f"eBay's public key {signature.kid} could not be fetched: {exc.message}",
                retry_after=getattr(exc, "retry_after", None),
            ) from None
        return notifications.verify(body, signature, key)

    def challenge(self, args: Mapping[str, str]) -> dict[str, Any] | None:
        """eBay's endpoint check: ``challenge_code`` answered with the hash of it, the
        verification token and the endpoint address."""
        code = args.get("challenge_code")
        if not code:
            return None
        settings = self.account.settings
        return {
            "challengeResponse": notifications.challenge_response(
                code, str(settings["verification_token"]), str(settings["endpoint_url"])
            )
        }

    def read_delivery(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        try:
            payload = loads(body)
        except ValueError:
            payload = None
        topic = notifications.topic_of(payload) or "unknown"
        found = notifications.notification_id(payload)
        # the notificationId is the same on every attempt at one notification
        key = f"notification:{found}" if found else f"body:{_digest(body)}"
        kept = {h: headers[h] for h in KEPT_HEADERS if h in headers}
        return Delivery(topic=topic, dedupe_key=key, event_id=found, headers=kept)

    def fetch(self, topic: str, payload: Any) -> Any:
        """An order notification (``ORDER_CONFIRMATION``, ``ITEM_MARKED_SHIPPED``) carries only
        the order's id: the worker reads the order with getOrder before translating."""
        if topic in translate.ORDER_NOTIFICATION_TOPICS:
            return self.client.order(translate.notified_order_id(payload))
        return payload

    def translate(self, topic: str, payload: Any) -> Translation:
        if topic == translate.DELETION_TOPIC:
            deletion = translate.read_deletion(payload)
            refs = tuple(r for r in (deletion.username, deletion.user_id) if r)
            return CustomerErasure(customer_refs=refs, reason="eBay marketplace account deletion")
        if topic in translate.ORDER_TOPICS:
            return translate.translate_order(payload, topic=topic)
        raise TranslationError(f"not an eBay topic the hub translates: {topic!r}")

    def customer_of(self, topic: str, payload: Any) -> str | None:
        if topic in translate.ORDER_TOPICS:
            return translate.buyer_username(payload)
        return None

    def erase_customer(self, topic: str, payload: Any) -> Any:
        if topic in translate.ORDER_TOPICS:
            return translate.erase_buyer(payload)
        if topic == translate.DELETION_TOPIC:
            return translate.erase_deletion(payload)
        return payload

    # -- reconciliation -----------------------------------------------------------------------
    def orders_updated(self, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """Every order last modified from ``since`` to ``until``, each the ``Order`` object
        of ``getOrders``, parsed with :func:`hub.values.loads`."""
        return self.client.orders_updated(since, until)

    # -- stock --------------------------------------------------------------------------------
    def stock_items(self) -> Iterator[ChannelItem]:
        if self.account.settings.get("stock_api") == "trading":
            raise PermanentError(
                "stock_api = 'trading': the hub cannot list Trading API listings; "
                "give the item map by SKU (hub stock sync pushes what it holds)"
            )
        yield from stock.items(self.client.inventory_levels())

    def push_stock(self, updates: list[StockUpdate], key: str) -> list[StockOutcome]:
        # eBay takes no idempotency key and has no compare-and-set: absolute levels are safe to
        # send again, so ``key`` and ``previous`` are not used.
        if not updates:
            return []
        if self.account.settings.get("stock_api") == "trading":
            answer = self.client.revise_inventory_status(trading.request_xml(updates))
            return trading.outcomes(updates, answer)
        return stock.outcomes(updates, self.client.bulk_update(stock.bulk_body(updates)))

    # -- fulfilment ---------------------------------------------------------------------------
    def push_fulfilment(self, push: FulfilmentPush) -> str:
        """One shipping fulfillment for the parcel; the order's fulfillment that already
        carries the tracking number is returned instead of making a second one."""
        order_id = fulfilment.order_id(push)
        number = fulfilment.tracking_number(push)
        body = fulfilment.body(push, number)  # a parcel that cannot be sent is refused first
        found = fulfilment.existing(self.client.shipping_fulfillments(order_id), number)
        if found is not None:
            log.info(
                "%s: parcel %s is already fulfillment %s", self.account.name, push.parcel_id, found
            )
            return found
        return self.client.create_fulfillment(order_id, body)


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
