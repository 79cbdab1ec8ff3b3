"""BigCommerce: order webhooks are thin (the scope and the order's id), signed per Standard
Webhooks with the app's client secret; the worker fetches the order, its products and its
shipping addresses from the V2 orders API before translating (:meth:`BigCommerceConnector.fetch`,
``orders.py``). The reconciliation lists the orders modified in a window and compares each
listed order's ``date_modified`` with the stored order's; only an order it takes in has its
products and shipping addresses read, by the same fetch.
Stock goes out as absolute inventory adjustments (``stock.py``), shipped parcels as V2
shipments (``fulfilment.py``), and the store's hooks, which BigCommerce deactivates after
48 hours of failed deliveries, are checked and made active again (``hooks.py``)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from connectors.channels.bigcommerce import fulfilment, hooks, orders, stock, translate
from connectors.channels.bigcommerce.client import BigCommerceClient
from connectors.channels.bigcommerce.settings import (
    DEFAULT_LOCATION,
    BigCommerceSettings,
    client_secrets,
)
from hub.canonical import Translation
from hub.connectors import (
    Account,
    Capability,
    ChannelItem,
    Connector,
    Delivery,
    FulfilmentPush,
    StockOutcome,
    StockUpdate,
    TrackingEvent,
)
from hub.errors import PermanentError
from hub.values import loads

log = logging.getLogger(__name__)

#: Standard Webhooks' headers (https://www.standardwebhooks.com), as BigCommerce sends them
ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = (
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
)
SCOPE_HEADER = hooks.SCOPE_HEADER  # the hooks the hub makes name their scope (the body does too)
#: how far a signed delivery's timestamp may be from the hub's clock, either way
TOLERANCE = 300
#: headers kept with every stored delivery (never the custom secret header)
KEPT_HEADERS = (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER, SCOPE_HEADER)


def sign(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """``v1,<base64>`` as BigCommerce signs: Standard Webhooks' HMAC-SHA256 over
    ``<id>.<timestamp>.<body>``. BigCommerce's verifier key is base64(client secret), which
    the Standard Webhooks libraries base64-decode again, so the HMAC key is the secret's
    own bytes."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class BigCommerceConnector(Connector):
    name = "bigcommerce"
    kind = "channel"
    title = "BigCommerce"
    capabilities = frozenset(
        {
            Capability.ORDERS_WEBHOOK,
            Capability.ORDERS_POLL,
            Capability.STOCK_PUSH,
            Capability.FULFILMENT_PUSH,
        }
    )
    settings_schema = BigCommerceSettings
    topics = frozenset(translate.ORDER_TOPICS)
    reconcile_topic = translate.UPDATED
    line_path = "products"
    stock_batch_size = stock.MAX_ITEMS

    def __init__(
        self,
        account: Account,
        *,
        client: BigCommerceClient | None = None,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__(account)
        self._client = client
        self._clock = clock

    @property
    def client(self) -> BigCommerceClient:
        """The store's API client, made on first use (webhooks never need one)."""
        if self._client is None:
            self._client = BigCommerceClient(self.account)
        return self._client

    # -- webhooks -----------------------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        """A Standard Webhooks signature by one of the client secrets, no more than five
        minutes off, or else the account's custom header secret; and, when the body names
        its store (``producer``), this account's store: one app's secret signs every store's
        deliveries."""
        if not (self._signed(headers, body) or self._header_secret(headers)):
            return False
        try:
            data = loads(body)
        except ValueError:
            return True  # signed, but no order: read_delivery and the translator say so
        producer = data.get("producer") if isinstance(data, dict) else None
        if isinstance(producer, str):
            return (
                producer.strip().lower() == f"stores/{self.account.settings['store_hash']}".lower()
            )
        return True

    def _signed(self, headers: Mapping[str, str], body: bytes) -> bool:
        message_id = (headers.get(ID_HEADER) or "").strip()
        timestamp = (headers.get(TIMESTAMP_HEADER) or "").strip()
        given = (headers.get(SIGNATURE_HEADER) or "").split()
        if not message_id or not timestamp.isdigit() or not given:
            return False
        if abs(self._clock() - int(timestamp)) > TOLERANCE:
            return False  # stale (a replay) or from the future
        offered = []
        for entry in given:
            version, _, value = entry.partition(",")
            if version != "v1":
                continue
            try:
                offered.append(base64.b64decode(value, validate=True))
            except (binascii.Error, ValueError):
                continue
        ok = False
        signed = f"{message_id}.{timestamp}.".encode() + body
        for secret in client_secrets(self.account.settings):
            expected = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
            for candidate in offered:  # every pair is compared: timing tells nothing
                ok |= hmac.compare_digest(expected, candidate)
        return ok

    def _header_secret(self, headers: Mapping[str, str]) -> bool:
        secret = self.account.settings.get("webhook_header_secret")
        if not secret:
            return False
        given = headers.get(self.account.settings.get("webhook_header") or "") or ""
        return hmac.compare_digest(given.strip().encode(), str(secret).encode())

    def read_delivery(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """The topic is the body's ``scope``. The dedupe key is the scope and the body's
        ``hash``, the same for a duplicate fire of one event (the scope too: BigCommerce's own
        samples give one hash to an order's refund and its message, and a created and a
        statusUpdated of one moment must both come in); else the delivery's ``webhook-id``;
        else the body's digest."""
        try:
            data = loads(body)
        except ValueError:
            data = None
        data = data if isinstance(data, dict) else {}
        scope = data.get("scope")
        topic = scope if isinstance(scope, str) and scope else headers.get(SCOPE_HEADER)
        topic = topic or "unknown"
        message_id = headers.get(ID_HEADER)
        digest = data.get("hash")
        if isinstance(digest, str) and digest.strip():
            key = f"hash:{topic}:{digest.strip()}"
        elif message_id:
            key = f"webhook:{message_id.strip()}"
        else:
            key = "sha256:" + hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()
        kept = {h: headers[h] for h in KEPT_HEADERS if h in headers}
        return Delivery(topic=topic, dedupe_key=key, event_id=message_id, headers=kept)

    def fetch(self, topic: str, payload: Any) -> Any:
        """A thin webhook's order document: the order, its products and shipping addresses,
        read now (so the latest state, whatever the webhook's age). An order the
        reconciliation took in as listed (its products and shipping addresses links) has
        those two read now. An archived order needs no read. A document (a replay's fixture,
        a reconciliation's stored complete) is returned as it is."""
        if topic not in self.topics:
            return payload
        if translate.is_thin(payload):
            order_id = orders.webhook_order_id(payload)
            if topic == translate.ARCHIVED:
                return {"id": order_id, "is_deleted": True}
            self._may_call("the order BigCommerce's thin webhook names cannot be read")
            return self.client.order_document(order_id)
        if topic != translate.ARCHIVED and orders.linked(payload):
            self._may_call("the products and shipping addresses of the order cannot be read")
            return self.client.complete(payload)
        return payload

    def _may_call(self, what: str) -> None:
        if not self.account.settings.get("api_calls", True):
            raise PermanentError(f"account {self.account.name} has api_calls = false: {what}")

    def translate(self, topic: str, payload: Any) -> Translation:
        return translate.translate_order(payload, topic=topic)

    # -- reconciliation -----------------------------------------------------------------------

    def orders_updated(self, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """Every order modified from ``since`` to ``until``, each as the V2 list gives it (its
        products and shipping addresses links): the list's pages are the only calls, and
        :meth:`fetch` reads the rest of an order taken in."""
        return self.client.orders_updated(since, until)

    def order_version(self, payload: Any) -> tuple[str | None, datetime | None]:
        """A listed order's id and ``date_modified``, read as the translator reads them."""
        return orders.version(payload)

    # -- webhook subscriptions ------------------------------------------------------------------

    def webhook_subscriptions(self, url: str) -> dict[str, Any]:
        """Which of the hub's scopes have a hook to ``url`` on the store, and which are
        inactive (deactivated by BigCommerce after 48 hours of failures) or missing."""
        return hooks.status(self.client.hooks(), url)

    def sync_webhook_subscriptions(self, url: str) -> list[str]:
        """Create the missing hooks and make inactive ones active again; returns what was
        done, one line per hook."""
        headers = None
        if self.account.settings.get("webhook_header_secret"):
            headers = {
                str(self.account.settings["webhook_header"]): str(
                    self.account.settings["webhook_header_secret"]
                )
            }
        done = []
        for change in hooks.plan(self.client.hooks(), url, headers):
            self.client.change_hook(change)
            verb = "created" if change.method == "POST" else f"updated ({change.why})"
            done.append(f"{change.scope}: {verb}")
        return done

    # -- stock --------------------------------------------------------------------------------

    def _location(self) -> str:
        return str(self.account.settings.get("location_id") or DEFAULT_LOCATION)

    def stock_items(self) -> Iterator[ChannelItem]:
        """Every variant with a SKU. Its level is read only at the default location (the
        catalog's ``inventory_level`` is the level over all locations)."""
        location = self._location()
        seen: set[str] = set()
        for item in self.client.stock_items(location):
            if item.sku in seen:
                log.warning("%s: SKU %r is on more than one variant", self.account.name, item.sku)
                continue
            seen.add(item.sku)
            if location != str(DEFAULT_LOCATION):
                item = ChannelItem(item.sku, item.item_id, location, item.parent_id, None)
            yield item

    def push_stock(self, updates: list[StockUpdate], key: str) -> list[StockOutcome]:
        # Absolute levels: the key is not needed (sending twice sets the same levels), and
        # BigCommerce has no compare-and-set, so ``previous`` is not used.
        if not updates:
            return []
        results = stock.unaddressable(updates)
        sendable = [i for i in range(len(updates)) if i not in results]
        if sendable:
            group = [updates[i] for i in sendable]
            body = stock.adjustment_body(group, int(self._location()))
            answer = self.client.adjust_absolute(body)
            if isinstance(answer, dict) and "refused" in answer:
                done = stock.refused(group, str(answer["refused"]))
            else:
                done = stock.outcomes(group, answer)
            results.update(zip(sendable, done, strict=True))
        return [results[i] for i in range(len(updates))]

    # -- fulfilment ---------------------------------------------------------------------------

    def push_fulfilment(self, push: FulfilmentPush) -> str:
        """The parcel as a shipment of its order (its lines, their address, the tracking);
        a shipment of the order already carrying the tracking number (an earlier attempt
        whose answer was lost) is returned instead of making another."""
        order_id = fulfilment.order_id(push.order)
        number = fulfilment.tracking_number(push)
        found = fulfilment.existing_shipment(self.client.shipments(order_id), number)
        if found is not None:
            log.info(
                "%s: parcel %s is already shipment %s", self.account.name, push.parcel_id, found
            )
            return found
        body = fulfilment.shipment_body(push, number, self.client.order_products(order_id))
        return fulfilment.created_shipment(self.client.create_shipment(order_id, body))

    def push_tracking_event(
        self, push: FulfilmentPush, channel_id: str, event: TrackingEvent
    ) -> None:
        """Nothing: a BigCommerce shipment shows no tracking events; the customer follows the
        tracking link."""
