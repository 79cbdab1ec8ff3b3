"""eBay: orders are read from the Fulfillment API (``getOrders`` by last-modified window, on
the reconciliation timer, ``orders.py``); the Notification API posts signed notifications,
of which the marketplace account deletion notice is acted on (the buyer's data erased) and
the rest are stored (``notifications.py``), and the hub can make the destination and the
subscriptions they come by (``subscriptions.py``, ``hub accounts hooks check|sync``); stock
goes out through the Inventory API's ``bulk_update_price_quantity``, 25 SKUs a call
(``stock.py``), or the Trading API's ``ReviseInventoryStatus`` for legacy listings
(``trading.py``); shipped parcels go back as shipping fulfillments, one per package
(``fulfilment.py``)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from connectors.channels.ebay import (
    fulfilment,
    notifications,
    stock,
    subscriptions,
    trading,
    translate,
)
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
#: the Notification API topics the hub subscribes an account to
SUBSCRIBED_TOPICS = (translate.DELETION_TOPIC, *translate.ORDER_NOTIFICATION_TOPICS)


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

    # -- notification subscriptions ----------------------------------------------------------
    def webhook_endpoint(self) -> str:
        """``endpoint_url``: eBay delivers there and its challenge hash covers that address,
        so the destination is made for it, not for ``HUB_PUBLIC_URL``."""
        return str(self.account.settings["endpoint_url"])

    def _found(self, url: str) -> tuple[subscriptions.Found, dict[str, Any], dict[str, Any]]:
        """The destination for the account's ``endpoint_url``, each topic's state, the topics
        eBay offers (by id) and the subscriptions read (app's and seller's, read once each)."""
        if not self.account.settings.get("api_calls", True):
            raise PermanentError(
                f"api_calls = false in {self.account.name}'s settings: the hub never calls it"
            )
        endpoint = self.webhook_endpoint()
        destination = subscriptions.find_destination(self.client.destinations(), endpoint)
        offered: dict[str, Any] = {}
        for topic_id in SUBSCRIBED_TOPICS:
            topic = self.client.topic(topic_id)
            if topic is not None:
                offered[topic_id] = topic
        listed: dict[bool, list[dict[str, Any]]] = {}
        for topic in offered.values():
            user = subscriptions.is_user_topic(topic)
            if user not in listed:
                listed[user] = self.client.subscriptions(user)
        dest_id = str(destination["destinationId"]) if destination is not None else None
        states: dict[str, str] = {}
        found_subs: dict[str, Any] = {}
        for topic_id in SUBSCRIBED_TOPICS:
            topic = offered.get(topic_id)
            if topic is None:
                states[topic_id] = subscriptions.UNAVAILABLE
                continue
            listing = listed[subscriptions.is_user_topic(topic)]
            sub = subscriptions.find_subscription(listing, topic_id, dest_id)
            states[topic_id] = subscriptions.topic_state(sub)
            found_subs[topic_id] = sub
            other = subscriptions.elsewhere(listing, topic_id, dest_id) if sub is None else None
            if other is not None:
                states[topic_id] = subscriptions.ELSEWHERE
                found_subs[topic_id] = other
        return subscriptions.Found(destination, states), offered, found_subs

    def webhook_subscriptions(self, url: str) -> dict[str, Any]:
        """The account's destination (its ``endpoint_url``) and each topic's subscription to
        it: missing, disabled or enabled; a topic eBay does not offer on the marketplace is
        reported ``unavailable`` and does not make the account unhealthy."""
        found, _, _ = self._found(url)
        return subscriptions.status(found)

    def sync_webhook_subscriptions(self, url: str) -> list[str]:
        """The destination made (or enabled, its verification token set), then each offered
        topic's subscription created or enabled; one line per change (a topic not offered, or
        subscribed to another endpoint of the app, is logged and left). eBay checks the
        endpoint's challenge when the destination is made: the hub must answer it."""
        found, offered, subs = self._found(url)
        settings = self.account.settings
        endpoint, token = str(settings["endpoint_url"]), str(settings["verification_token"])
        done: list[str] = []
        destination = found.destination
        if destination is None:
            body = subscriptions.destination_body(self.account.name, endpoint, token)
            dest_id = self.client.create_destination(body)
            done.append(f"destination {endpoint}: created ({dest_id})")
        else:
            dest_id = str(destination["destinationId"])
            update = subscriptions.destination_update(
                destination, self.account.name, endpoint, token
            )
            if update is not None:
                self.client.update_destination(dest_id, update[0])
                done.append(f"destination {endpoint}: updated ({update[1]})")
        for topic_id in SUBSCRIBED_TOPICS:
            topic = offered.get(topic_id)
            if topic is None:  # reported by the check (unavailable): nothing to change
                log.warning(
                    "%s: eBay offers no topic %s on %s",
                    self.account.name,
                    topic_id,
                    self.client.marketplace,
                )
                continue
            user = subscriptions.is_user_topic(topic)
            sub = subs.get(topic_id)
            if found.topics.get(topic_id) == subscriptions.ELSEWHERE and sub is not None:
                log.warning(
                    "%s: %s left as it is: subscription %s goes to destination %s",
                    self.account.name,
                    topic_id,
                    sub.get("subscriptionId"),
                    sub.get("destinationId"),
                )
            elif sub is None:
                made = self.client.create_subscription(
                    subscriptions.subscription_body(topic, dest_id), user
                )
                done.append(f"{topic_id}: created ({made})")
            elif sub.get("status") != subscriptions.ENABLED:
                self.client.enable_subscription(str(sub["subscriptionId"]), user)
                done.append(f"{topic_id}: enabled (was {subscriptions.topic_state(sub)})")
        return done

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
