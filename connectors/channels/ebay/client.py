"""eBay's REST APIs for one account: the connector's only I/O.

Every call goes through the hub's :class:`~hub.connectors.http.HttpClient` (timeouts, retries,
429 + ``Retry-After``, the account's rate limiter ``ebay:<account>`` and its circuit breaker),
at ``api_base`` or ``https://api.ebay.com``: identity (tokens), sell (fulfillment, inventory),
commerce (notification public keys) and, for legacy listings, the Trading API (``ws/api.dll``).

Three OAuth tokens (``hub.connectors.oauth.TokenCache``), all from ``POST
/identity/v1/oauth2/token`` with the app's id and secret as HTTP Basic credentials:

* the seller's user token: ``grant_type=refresh_token``, ``refresh_token``, ``scope`` (the
  scopes the seller consented to, or fewer): for orders, stock and fulfilments;
* an application token: ``grant_type=client_credentials``,
  ``scope=https://api.ebay.com/oauth/api_scope``: for ``getPublicKey``, topics, destinations
  and the application-scoped subscriptions (the account deletion topic);
* the seller's token again with ``scope=...commerce.notification.subscription`` alone: for the
  user-scoped subscriptions (the order topics), so a seller without that consent loses only
  those.

All last two hours (``expires_in`` 7200) and are renewed a minute early; a 401 on a cached
token fetches a new one once. eBay's error envelope is read into the hub's error tree by
``envelope.refine``. — https://developer.ebay.com/api-docs/static/oauth-refresh-token-request.html,
https://developer.ebay.com/api-docs/static/oauth-client-credentials-grant.html
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests

from connectors.channels.ebay import envelope, fulfilment, orders, stock, subscriptions, trading
from connectors.channels.ebay.settings import site_id
from hub.connectors import Account
from hub.connectors.http import HttpClient
from hub.connectors.oauth import TokenCache
from hub.connectors.ratelimit import RateLimiter, limiter_for
from hub.errors import ConnectorError, PermanentError, RetryableError
from hub.values import loads, utc

log = logging.getLogger(__name__)

API = "https://api.ebay.com"
TOKEN_PATH = "identity/v1/oauth2/token"
PUBLIC_KEY_PATH = "commerce/notification/v1/public_key"
TRADING_PATH = "ws/api.dll"
APP_SCOPE = "https://api.ebay.com/oauth/api_scope"
USER_SCOPES = (
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
)


def api_root(settings: Mapping[str, Any]) -> str:
    return str(settings.get("api_base") or API).rstrip("/")


class EbayClient:
    """The calls reconciliation, the notification check and subscriptions, the stock sync and
    the fulfilment push make. ``limiter``, ``session`` and ``sleep`` are for tests; by default
    the account shares the process's limiter ``ebay:<account name>``."""

    def __init__(
        self,
        account: Account,
        *,
        limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        settings = account.settings
        self.account = account
        self.marketplace = str(settings["marketplace_id"])
        rate = float(settings.get("rate_limit") or 5.0)
        self.http = HttpClient(
            api_root(settings),
            limiter=limiter or limiter_for(f"ebay:{account.name}", rate, rate * 2),
            session=session,
            sleep=sleep,
        )
        client_id, secret = str(settings["client_id"]), str(settings["client_secret"])
        scopes = settings.get("scopes") or USER_SCOPES
        self.user_tokens = TokenCache(
            self.http,
            TOKEN_PATH,
            client_id,
            secret,
            extra={
                "grant_type": "refresh_token",
                "refresh_token": str(settings["refresh_token"]),
                "scope": " ".join(scopes),
            },
            clock=clock,
        )
        self.app_tokens = TokenCache(
            self.http, TOKEN_PATH, client_id, secret, extra={"scope": APP_SCOPE}, clock=clock
        )
        #: the seller's token for user-based notification subscriptions (a token of its own,
        #: so a seller who has not consented to the scope loses only those)
        self.subscription_tokens = TokenCache(
            self.http,
            TOKEN_PATH,
            client_id,
            secret,
            extra={
                "grant_type": "refresh_token",
                "refresh_token": str(settings["refresh_token"]),
                "scope": subscriptions.USER_SCOPE,
            },
            clock=clock,
        )

    # -- plumbing -------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        tokens: TokenCache | None = None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
    ) -> requests.Response:
        cache = tokens or self.user_tokens
        label = f"{method} {path}"

        def send(token: str) -> requests.Response:
            sent = {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "X-EBAY-C-MARKETPLACE-ID": self.marketplace,
                **(headers or {}),
            }
            if json is not None:
                sent["Content-Type"] = "application/json"
            try:
                return self.http.request(
                    method,
                    path,
                    json=json,
                    params=params,
                    headers=sent,
                    idempotent=idempotent,
                    data=data,
                )
            except ConnectorError as exc:
                refined = envelope.refine(exc, label)
                if refined is exc:
                    raise
                raise refined from exc

        return cache.authorized(send)

    def _json(self, response: requests.Response, label: str) -> Any:
        if not response.content:
            return {}
        try:
            return loads(response.content)
        except ValueError:
            raise RetryableError(
                f"{label}: HTTP {response.status_code} answer is not JSON",
                details={"status": response.status_code},
            ) from None

    # -- notifications -----------------------------------------------------------------------

    def public_key(self, kid: str) -> dict[str, Any]:
        """``getPublicKey``: ``{key, algorithm, digest}`` for a notification's key id."""
        path = f"{PUBLIC_KEY_PATH}/{quote(kid, safe='')}"
        body = self._json(self._call("GET", path, tokens=self.app_tokens), f"GET {path}")
        if not isinstance(body, dict) or not body.get("key"):
            raise PermanentError(f"GET {path}: the answer holds no key")
        return body

    def topic(self, topic_id: str) -> dict[str, Any] | None:
        """``getTopic``; None when eBay does not offer the topic (404, errorId 195002)."""
        path = f"{subscriptions.TOPIC_PATH}/{quote(topic_id, safe='')}"
        try:
            response = self._call("GET", path, tokens=self.app_tokens)
        except PermanentError as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            ids = {envelope.error_id(e) for e in details.get("errors") or []}
            if details.get("status") == 404 or subscriptions.NO_TOPIC in ids:
                return None
            raise
        body = self._json(response, f"GET {path}")
        if not isinstance(body, dict) or not body.get("topicId"):
            raise PermanentError(f"GET {path}: the answer is not a topic")
        return body

    def destinations(self) -> list[dict[str, Any]]:
        """``getDestinations``: every destination of the app, page after page."""
        return self._pages(subscriptions.DESTINATION_PATH, "destinations", self.app_tokens)

    def subscriptions(self, user: bool) -> list[dict[str, Any]]:
        """``getSubscriptions``: the seller's (``user``) or the app's subscriptions."""
        tokens = self.subscription_tokens if user else self.app_tokens
        return self._pages(subscriptions.SUBSCRIPTION_PATH, "subscriptions", tokens)

    def _pages(self, path: str, key: str, tokens: TokenCache) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params: dict[str, str] = {"limit": str(subscriptions.PAGE_SIZE)}
        seen: set[str] = set()
        for _ in range(subscriptions.MAX_PAGES):
            response = self._call("GET", path, tokens=tokens, params=params)
            items, following = subscriptions.read_page(
                self._json(response, f"GET {path}"), key, f"GET {path}"
            )
            found.extend(items)
            token = (
                parse_qs(urlsplit(following).query).get("continuation_token") if following else None
            )
            if not token:
                return found
            if token[0] in seen:
                raise PermanentError(f"GET {path}: continuation token {token[0]} again")
            seen.add(token[0])
            params = {**params, "continuation_token": token[0]}
        raise PermanentError(f"GET {path}: more than {subscriptions.MAX_PAGES} pages")

    def create_destination(self, body: Mapping[str, Any]) -> str:
        """``createDestination`` (eBay checks the endpoint's challenge first); its id."""
        path = subscriptions.DESTINATION_PATH
        response = self._call("POST", path, tokens=self.app_tokens, json=body, idempotent=False)
        return subscriptions.created_id(response.headers.get("Location"), f"POST {path}")

    def update_destination(self, destination_id: str, body: Mapping[str, Any]) -> None:
        path = f"{subscriptions.DESTINATION_PATH}/{quote(destination_id, safe='')}"
        self._call("PUT", path, tokens=self.app_tokens, json=body, idempotent=True)

    def create_subscription(self, body: Mapping[str, Any], user: bool) -> str:
        path = subscriptions.SUBSCRIPTION_PATH
        tokens = self.subscription_tokens if user else self.app_tokens
        response = self._call("POST", path, tokens=tokens, json=body, idempotent=False)
        return subscriptions.created_id(response.headers.get("Location"), f"POST {path}")

    def enable_subscription(self, subscription_id: str, user: bool) -> None:
        path = f"{subscriptions.SUBSCRIPTION_PATH}/{quote(subscription_id, safe='')}/enable"
        tokens = self.subscription_tokens if user else self.app_tokens
        self._call("POST", path, tokens=tokens, idempotent=True)

    # -- orders --------------------------------------------------------------------------------

    def orders_updated(self, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """Every order last modified from ``since`` to ``until``, a page at a time. A window
        that starts after it ends is a ValueError, raised here rather than at the first read;
        one longer than eBay answers for (90 days) is shortened, and logged."""
        start, end = orders.window(since, until)
        if start != utc(since):
            log.warning(
                "%s: getOrders reaches back 90 days at most: orders modified from %s, not %s",
                self.account.name,
                orders.stamp(start),
                orders.stamp(since),
            )
        return self._orders(start, end)

    def _orders(self, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        offset: int | None = 0
        while offset is not None:
            params = orders.window_params(since, until, offset)
            response = self._call("GET", orders.ORDERS_PATH, params=params)
            page, offset = orders.read_page(
                self._json(response, f"GET {orders.ORDERS_PATH}"), offset
            )
            yield from page

    def order(self, order_id: str) -> dict[str, Any]:
        """``getOrder``: one ``Order`` (its cancel requests in full)."""
        path = f"{orders.ORDERS_PATH}/{quote(order_id, safe='')}"
        body = self._json(self._call("GET", path), f"GET {path}")
        if not isinstance(body, dict):
            raise PermanentError(f"GET {path}: the answer is not an order")
        return body

    # -- stock ---------------------------------------------------------------------------------

    def inventory_levels(self) -> Iterator[tuple[str, int | None, str | None]]:
        """Every inventory item's SKU, ship-to-home quantity and its offer on the marketplace,
        page after page as each answer's ``next`` says; a page named twice is refused."""
        offset: str | None = "0"
        seen: set[str] = set()
        while offset is not None:
            if offset in seen:
                raise PermanentError(f"GET {stock.ITEMS_PATH}: page offset {offset} again")
            seen.add(offset)
            params = {"limit": str(stock.PAGE_SIZE), "offset": offset}
            response = self._call("GET", stock.ITEMS_PATH, params=params)
            found, offset = stock.read_items(self._json(response, f"GET {stock.ITEMS_PATH}"))
            for sku, quantity in found:
                yield sku, quantity, self.offer_id(sku)

    def offer_id(self, sku: str) -> str | None:
        params = {"sku": sku, "marketplace_id": self.marketplace}
        try:
            response = self._call("GET", stock.OFFERS_PATH, params=params)
        except PermanentError as exc:
            if (exc.details or {}).get("status") == 404:  # type: ignore[union-attr]
                return None  # an item with no offer yet
            raise
        return stock.offer_id(self._json(response, f"GET {stock.OFFERS_PATH}"), self.marketplace)

    def bulk_update(self, body: Mapping[str, Any]) -> Any:
        """One ``bulk_update_price_quantity``. Absolute quantities: sending it again is
        harmless, so it is retried like a read."""
        response = self._call("POST", stock.BULK_PATH, json=body, idempotent=True)
        return self._json(response, f"POST {stock.BULK_PATH}")

    def revise_inventory_status(self, xml: bytes) -> bytes:
        """One Trading API ``ReviseInventoryStatus`` (absolute quantities, so retried)."""
        headers = {
            "X-EBAY-API-CALL-NAME": "ReviseInventoryStatus",
            "X-EBAY-API-SITEID": str(site_id(self.account.settings)),
            "X-EBAY-API-COMPATIBILITY-LEVEL": trading.COMPATIBILITY_LEVEL,
            "Content-Type": "text/xml",
        }
        cache = self.user_tokens

        def send(token: str) -> requests.Response:
            return self.http.request(
                "POST",
                TRADING_PATH,
                data=xml,
                headers={**headers, "X-EBAY-API-IAF-TOKEN": token},
                idempotent=True,
            )

        return cache.authorized(send).content

    # -- fulfilment ----------------------------------------------------------------------------

    def shipping_fulfillments(self, order_id: str) -> Any:
        path = fulfilment.path(order_id)
        return self._json(self._call("GET", path), f"GET {path}")

    def create_fulfillment(self, order_id: str, body: Mapping[str, Any]) -> str:
        """One ``createShippingFulfillment``; not sent again here once it may have reached
        eBay (the outbox job runs again and finds what it made). Returns its id."""
        path = fulfilment.path(order_id)
        response = self._call("POST", path, json=body, idempotent=False)
        return fulfilment.created_id(
            response.headers.get("Location"), self._json(response, f"POST {path}")
        )
