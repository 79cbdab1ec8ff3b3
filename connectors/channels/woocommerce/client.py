"""WooCommerce REST v3 over HTTP: the only module of this connector that does I/O.

The API lives at ``<url>/wp-json/wc/v3`` (``api_base``, when set, replaces ``url``); the
Shipment Tracking extension's, when installed, at ``<url>/wp-json/wc-shipment-tracking/v3``,
reached with the same keys. Requests
authenticate with HTTP Basic, the consumer key as user and the consumer secret as password,
which WooCommerce accepts over HTTPS only (over plain HTTP it wants OAuth 1.0a signatures,
which this client does not make). Orders modified in a window are read back for
reconciliation with the orders list (``orders.py``); an order's refunds are read, and made,
through ``orders/<id>/refunds`` (``returns.py``). WooCommerce itself has no rate limit;
the account's
``rate_limit`` (requests per second) keeps the hub from overloading a shared host. Retries,
timeouts and typed errors are :class:`hub.connectors.http.HttpClient`'s.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import requests

from connectors.channels.woocommerce import fulfilment, orders, stock
from hub.connectors import Account, ChannelItem, StockOutcome, StockUpdate
from hub.connectors.http import HttpClient
from hub.connectors.ratelimit import RateLimiter, Sleep, limiter_for
from hub.errors import PermanentError, RetryableError
from hub.values import loads

log = logging.getLogger(__name__)

WP_PATH = "/wp-json"
API_PATH = WP_PATH + "/wc/v3"
TRACKING_PATH = "wc-shipment-tracking/v3"  # under WP_PATH
PAGE_SIZE = 100  # the most ``per_page`` the WordPress REST API allows
DEFAULT_RATE = 5.0  # requests per second, when the account sets no ``rate_limit``

_SHARED = object()  # "use the account's shared limiter"


class WooCommerceClient:
    """The REST API of one WooCommerce account: stock levels read and set, orders told
    they shipped, orders modified in a window read back, refunds read and made."""

    def __init__(
        self,
        account: Account,
        *,
        session: requests.Session | None = None,
        sleep: Sleep = time.sleep,
        limiter: RateLimiter | object | None = _SHARED,
    ):
        settings = account.settings
        self.account = account
        root = (settings.get("api_base") or settings["url"]).rstrip("/")
        if limiter is _SHARED:
            rate = float(settings.get("rate_limit") or DEFAULT_RATE)
            limiter = limiter_for(f"woocommerce:{account.name}", rate, max(1.0, 2 * rate))
        assert limiter is None or isinstance(limiter, RateLimiter)
        session = session if session is not None else requests.Session()
        # requests sends this as ``Authorization: Basic``; HttpClient keeps both values out of
        # its error messages.
        session.auth = (settings["consumer_key"], settings["consumer_secret"])
        self.http = HttpClient(root + API_PATH, limiter=limiter, session=session, sleep=sleep)
        # The same session, keys and limiter, for routes of extensions beside wc/v3
        self.wp = HttpClient(root + WP_PATH, limiter=limiter, session=session, sleep=sleep)

    # -- reading ------------------------------------------------------------------------------

    def stock_items(self) -> Iterator[ChannelItem]:
        """Every product and variation with a SKU of its own, with the level the store shows."""
        seen: dict[str, str] = {}
        products = {"_fields": stock.PRODUCT_FIELDS, "orderby": "id", "order": "asc"}
        for page in self.pages("products", products):
            read = stock.read_products(page)
            self._warn(read.problems)
            yield from self._first(read.items, seen)
            for parent in read.parents:
                path = f"products/{parent.id}/variations"
                variations = {"_fields": stock.VARIATION_FIELDS, "orderby": "id", "order": "asc"}
                for variation_page in self.pages(path, variations):
                    items, problems = stock.read_variations(parent, variation_page)
                    self._warn(problems)
                    yield from self._first(items, seen)

    def orders_updated(self, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """Every order modified from ``since`` to ``until`` (both included), oldest first, as
        the v3 order resource an ``order.updated`` webhook carries; 100 a page, paged by
        ``page`` up to ``X-WP-TotalPages``. A window that starts after it ends is a
        ValueError, raised here rather than at the first read."""
        params = orders.window_params(since, until)
        return self._orders(params, since)

    def _orders(self, params: dict[str, Any], since: datetime) -> Iterator[dict[str, Any]]:
        for page in self.pages(orders.ORDERS_PATH, params):
            yield from orders.check_page(page, since)

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[list[Any]]:
        """The pages of a list endpoint, until ``X-WP-TotalPages`` or an empty page."""
        page = 1
        previous: list[Any] | None = None
        while True:
            response = self.http.get(path, params={**params, "per_page": PAGE_SIZE, "page": page})
            body = self._json(response, path)
            if not isinstance(body, list):
                raise PermanentError(f"GET {path} page {page}: the answer is not a list")
            if not body:
                return
            if body == previous:
                # A store (or a cache in front of it) that ignores ``page`` would loop forever.
                raise PermanentError(f"GET {path}: page {page} repeats page {page - 1}")
            yield body
            total = _int(response.headers.get("X-WP-TotalPages"))
            if total is not None and page >= total:
                return
            previous = body
            page += 1

    # -- writing ------------------------------------------------------------------------------

    def push_stock(self, updates: list[StockUpdate]) -> list[StockOutcome]:
        """Set the levels: one batch call for products, one per parent of variations."""
        if len(updates) > stock.BATCH_LIMIT:
            raise ValueError(f"at most {stock.BATCH_LIMIT} updates per push, got {len(updates)}")
        calls, outcomes = stock.plan(updates)
        for call in calls:
            group = [updates[i] for i in call.indexes]
            # Marked idempotent so HttpClient may retry it after a 5xx or a dropped connection:
            # the body sets absolute levels, so sending it twice leaves the store as sending it
            # once does. WooCommerce has no compare-and-set and no idempotency key; a sale
            # between the two sends is overwritten either way, and the next sync pass sees it.
            response = self.http.post(call.path, json=stock.batch_body(group), idempotent=True)
            answer = self._json(response, call.path)
            try:
                results = stock.read_batch_answer(group, answer)
            except PermanentError as exc:
                raise PermanentError(f"POST {call.path}: {exc.message}") from None
            outcomes.update(zip(call.indexes, results, strict=True))
        return [outcomes[i] for i in range(len(updates))]

    # -- fulfilment ---------------------------------------------------------------------------

    def shipment_trackings(self, order_id: str) -> list[Any] | None:
        """The order's Shipment Tracking items; None when the extension is not installed
        (WordPress has no such route)."""
        path = f"{TRACKING_PATH}/orders/{order_id}/shipment-trackings"
        try:
            response = self.wp.get(path)
        except PermanentError as exc:
            if fulfilment.is_no_route(exc.details):
                return None
            raise
        items = self._json(response, path)
        if not isinstance(items, list):
            raise PermanentError(f"GET {path}: the answer is not a list")
        return items

    def add_shipment_tracking(self, order_id: str, body: dict[str, Any]) -> Any:
        """A new tracking item (not sent again here if the answer is lost: the outbox job runs
        again and finds the item by its tracking number)."""
        path = f"{TRACKING_PATH}/orders/{order_id}/shipment-trackings"
        return self._json(self.wp.post(path, json=body), path)

    def customer_notes(self, order_id: str) -> list[Any]:
        """The order's notes to the customer (the API gives them all at once)."""
        path = f"orders/{order_id}/notes"
        notes = self._json(self.http.get(path, params={"type": "customer"}), path)
        if not isinstance(notes, list):
            raise PermanentError(f"GET {path}: the answer is not a list")
        return notes

    def add_customer_note(self, order_id: str, body: dict[str, Any]) -> Any:
        """A new order note (not sent again here, as above)."""
        path = f"orders/{order_id}/notes"
        return self._json(self.http.post(path, json=body), path)

    def order_status(self, order_id: str) -> Any:
        path = f"orders/{order_id}"
        return self._json(self.http.get(path, params={"_fields": "id,status"}), path)

    def complete_order(self, order_id: str) -> Any:
        """Set the order to ``completed`` (the same PUT twice leaves it so)."""
        path = f"orders/{order_id}"
        body = {"status": fulfilment.COMPLETED}
        return self._json(self.http.put(path, json=body, params={"_fields": "id,status"}), path)

    # -- refunds ------------------------------------------------------------------------------

    def refunds(self, order_id: str) -> list[Any]:
        """Every refund of the order, with its line items (100 a page)."""
        path = f"orders/{order_id}/refunds"
        found: list[Any] = []
        for page in self.pages(path, {}):
            found.extend(page)
        return found

    def refund_order(self, order_id: str) -> Any:
        """The order's currency and line items (totals, taxes with their rate ids), read as
        a refund of its lines is worked out."""
        path = f"orders/{order_id}"
        params = {"_fields": "id,currency,line_items"}
        return self._json(self.http.get(path, params=params), path)

    def create_refund(self, order_id: str, body: dict[str, Any]) -> Any:
        """One new refund. Not idempotent, so not sent again here when an answer is lost: the
        outbox job runs again and finds the refund by the key in its reason first."""
        path = f"orders/{order_id}/refunds"
        return self._json(self.http.post(path, json=body), path)

    # -- helpers ------------------------------------------------------------------------------

    def _json(self, response: requests.Response, path: str) -> Any:
        try:
            return loads(response.content)
        except ValueError:
            # A 200 that is no JSON is usually a host's or a WAF's page in front of the store.
            raise RetryableError(
                f"{response.request.method} {path}: HTTP {response.status_code} answer is not JSON",
                details={"status": response.status_code},
            ) from None

    def _warn(self, problems: list[str]) -> None:
        for problem in problems:
            log.warning("%s: %s", self.account.name, problem)

    def _first(self, items: list[ChannelItem], seen: dict[str, str]) -> Iterator[ChannelItem]:
        for item in items:
            holder = seen.get(item.sku)
            if holder is None:
                seen[item.sku] = item.item_id
                yield item
            elif holder != item.item_id:
                log.warning(
                    "%s: SKU %r is on items %s and %s; the first is kept",
                    self.account.name,
                    item.sku,
                    holder,
                    item.item_id,
                )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
