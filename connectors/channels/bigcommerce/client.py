"""BigCommerce's REST APIs for one store: the connector's only I/O.

Calls go to ``<api_base>/stores/<store_hash>/v2/...`` (orders, products of an order, shipping
addresses, shipments) and ``/v3/...`` (catalog variants, inventory adjustments, hooks), with
``X-Auth-Token`` (the access token) and ``X-Auth-Client`` (the client id), through the hub's
:class:`~hub.connectors.http.HttpClient` (timeouts, retries, typed errors, the circuit
breaker) and one shared :class:`~hub.connectors.ratelimit.RateLimiter` per account,
``bigcommerce:<account>``.

Rate limits are per store, shared by every app, in a window of 30 s (150 requests on
Standard and Plus, 450 on Pro). Every answer says what is left
(``X-Rate-Limit-Requests-Left``) and when the window resets (``X-Rate-Limit-Time-Reset-Ms``);
when the store is nearly out the limiter is paused until the reset, so the hub does not
spend the other apps' share or run into 429s. A 429 carries two waits,
``X-Retry-After`` (seconds until the quota refreshes) and ``X-Rate-Limit-Time-Reset-Ms``;
BigCommerce asks that the longer be honoured, and ``HttpClient`` does for every connector
(``hub.connectors.answers.retry_wait``: ``Retry-After``, else ``X-Retry-After``, or the reset
when longer): the account's limiter is paused for it, so every caller of the store waits, not
only the one that was refused. — ``docs/api-docs/getting-started/api-rate-limits.mdx``,
``docs/start/about/index.mdx`` (``X-Retry-After``) and ``docs/start/migration/4_errors.md``
("honor the longer of the two wait times") in ``bigcommerce/docs``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import requests

from connectors.channels.bigcommerce import hooks, orders, stock
from connectors.channels.bigcommerce.settings import DEFAULT_API_BASE, DEFAULT_RATE
from hub.connectors import Account, ChannelItem
from hub.connectors.answers import number
from hub.connectors.http import HttpClient
from hub.connectors.ratelimit import RateLimiter, Sleep, limiter_for
from hub.errors import PermanentError, RetryableError
from hub.values import loads

log = logging.getLogger(__name__)

#: requests kept back for the store's other apps: below this many left, wait for the reset
RESERVE = 5
#: the most pages one list is read to (250 a page: 250,000 records)
MAX_PAGES = 1000


def store_root(settings: Any) -> str:
    """``<api_base>/stores/<store_hash>``; ``api_base`` replaces https://api.bigcommerce.com."""
    base = str(settings.get("api_base") or DEFAULT_API_BASE).rstrip("/")
    return f"{base}/stores/{settings['store_hash']}"


class BigCommerceClient:
    """The calls the worker's fetch, reconciliation, stock sync, fulfilment push and hooks
    make. ``limiter``, ``session`` and ``sleep`` are for tests."""

    def __init__(
        self,
        account: Account,
        *,
        limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        sleep: Sleep = time.sleep,
    ):
        settings = account.settings
        rate = float(settings.get("rate_limit") or DEFAULT_RATE)
        self.account = account
        self.http = HttpClient(
            store_root(settings),
            limiter=limiter or limiter_for(f"bigcommerce:{account.name}", rate, max(1.0, 2 * rate)),
            headers={
                "X-Auth-Token": str(settings["access_token"]),
                "X-Auth-Client": str(settings["client_id"]),
                "Accept": "application/json",
            },
            session=session,
            sleep=sleep,
        )

    # -- orders -------------------------------------------------------------------------------

    def order_document(self, order_id: str) -> dict[str, Any]:
        """The order with its products and shipping addresses (three reads, or more pages).
        An order BigCommerce does not have (404) is a PermanentError."""
        order = self._json(self.http.get(f"{orders.ORDERS_PATH}/{order_id}"), "GET order")
        return self.complete(order)

    def complete(self, order: Any) -> dict[str, Any]:
        """The order (as ``GET /v2/orders/{id}`` or the list gives it) with its products and
        shipping addresses read in place of their links (two reads, or more pages)."""
        if not isinstance(order, dict) or order.get("id") is None:
            raise PermanentError("GET v2/orders/{id}: the answer is not an order")
        order_id = order["id"]
        products = list(self._v2_list(f"{orders.ORDERS_PATH}/{order_id}/products", {}))
        addresses = list(self._v2_list(f"{orders.ORDERS_PATH}/{order_id}/shipping_addresses", {}))
        return orders.document(order, products, addresses)

    def orders_updated(self, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """Every order modified from ``since`` to ``until`` (both included), oldest first, as
        the list gives it: its products and shipping addresses links, not read (one call a
        page of 250 orders; :meth:`complete` reads them). A window that starts after it ends
        is a ValueError, raised here."""
        params = orders.window_params(since, until)
        return self._v2_list(orders.ORDERS_PATH, params)

    def order_products(self, order_id: str) -> list[dict[str, Any]]:
        return list(self._v2_list(f"{orders.ORDERS_PATH}/{order_id}/products", {}))

    # -- fulfilment ---------------------------------------------------------------------------

    def shipments(self, order_id: str) -> list[dict[str, Any]]:
        return list(self._v2_list(f"{orders.ORDERS_PATH}/{order_id}/shipments", {}))

    def create_shipment(self, order_id: str, body: dict[str, Any]) -> Any:
        """One new shipment. Not idempotent: not sent again here when the answer is lost; the
        outbox job runs again and finds the shipment by its tracking number."""
        path = f"{orders.ORDERS_PATH}/{order_id}/shipments"
        return self._json(self.http.post(path, json=body), f"POST {path}")

    # -- stock --------------------------------------------------------------------------------

    def stock_items(self, location_id: str | None) -> Iterator[ChannelItem]:
        page = 1
        while page <= MAX_PAGES:
            params = {
                "include_fields": stock.VARIANT_FIELDS,
                "limit": stock.PAGE_SIZE,
                "page": page,
            }
            body = self._json(self.http.get(stock.VARIANTS_PATH, params=params), "GET variants")
            items, pages = stock.read_variants(body, location_id)
            yield from items
            if not items or pages is None or page >= pages:
                return
            page += 1

    def adjust_absolute(self, body: dict[str, Any]) -> Any:
        """One absolute adjustment; safe to send twice (absolute levels), so retried here.
        A 422 is returned as ``{"refused": <message>}``: the call set nothing."""
        try:
            response = self.http.put(stock.ADJUST_PATH, json=body, idempotent=True)
        except PermanentError as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            if details.get("status") == 422:
                return {"refused": _problem(details.get("body")) or exc.message}
            raise
        return self._json(response, f"PUT {stock.ADJUST_PATH}")

    # -- hooks --------------------------------------------------------------------------------

    def hooks(self) -> list[dict[str, Any]]:
        """Every hook of the app on the store (the token's client id), active or not."""
        found: list[dict[str, Any]] = []
        page = 1
        while page <= MAX_PAGES:
            params = {"page": page, "limit": 250}
            body = self._json(self.http.get(hooks.HOOKS_PATH, params=params), "GET hooks")
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise PermanentError(f"GET {hooks.HOOKS_PATH}: the answer has no data list")
            found.extend(h for h in data if isinstance(h, dict))
            pages = ((body.get("meta") or {}).get("pagination") or {}).get("total_pages")
            if not data or not isinstance(pages, int) or page >= pages:
                return found
            page += 1
        return found

    def change_hook(self, change: hooks.HookChange) -> Any:
        response = self.http.request(change.method, change.path, json=change.body)
        return self._json(response, f"{change.method} {change.path}")

    # -- helpers ------------------------------------------------------------------------------

    def _v2_list(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a V2 list, page by page until a short page or a 204."""
        page = 1
        previous: list[dict[str, Any]] | None = None
        while page <= MAX_PAGES:
            query = {"limit": orders.PAGE_SIZE, **params, "page": page}
            items = orders.read_list(self._json(self.http.get(path, params=query), path), path)
            if items and items == previous:
                # a proxy or cache that ignores ``page`` would otherwise be read 1000 times
                raise PermanentError(f"GET {path}: page {page} repeats page {page - 1}")
            yield from items
            if len(items) < int(query["limit"]):
                return
            previous = items
            page += 1
        raise PermanentError(f"GET {path}: more than {MAX_PAGES} pages")

    def _json(self, response: requests.Response, label: str) -> Any:
        self._note_quota(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return loads(response.content)
        except ValueError:
            raise RetryableError(
                f"{label}: HTTP {response.status_code} answer is not JSON",
                details={"status": response.status_code},
            ) from None

    def _note_quota(self, response: requests.Response) -> None:
        """Pause the account's limiter until the window resets when the store is nearly out."""
        left = number(response.headers.get("X-Rate-Limit-Requests-Left"))
        reset_ms = number(response.headers.get("X-Rate-Limit-Time-Reset-Ms"))
        limiter = self.http.limiter
        if limiter is None or left is None or reset_ms is None or left > RESERVE:
            return
        log.info(
            "%s: %d requests left in BigCommerce's window; waiting %.1fs for its reset",
            self.account.name,
            left,
            reset_ms / 1000,
        )
        limiter.pause_until(limiter.now() + max(0.0, reset_ms) / 1000)


def _problem(body: Any) -> str | None:
    """The ``title`` of a BigCommerce problem answer (``{"status", "title", "errors"}``)."""
    try:
        parsed = loads(body) if isinstance(body, str | bytes) else body
    except ValueError:
        return None
    if isinstance(parsed, dict) and parsed.get("title"):
        return str(parsed["title"])
    return None
