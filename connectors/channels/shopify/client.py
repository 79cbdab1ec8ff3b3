"""Shopify's Admin API for one account: the connector's only I/O.

Stock and fulfilment go through the GraphQL Admin API; the orders read back for
reconciliation go through the REST Admin API, legacy but still served, because only REST
answers with the order resource that order webhooks carry (see ``orders.py``). Everything goes
through the hub's :class:`~hub.connectors.http.HttpClient` (timeouts, retries, typed errors, the
``THROTTLED`` wait, 429 + ``Retry-After``). Shopify keeps a separate bucket per API, so the
account has two limiters (:class:`~hub.connectors.ratelimit.RateLimiter`): ``shopify:<account>``
counted in GraphQL cost points and ``shopify-rest:<account>`` counted in requests. The documents and
the reading of answers live in ``stock.py``, ``fulfilment.py``, ``events.py`` and ``orders.py``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import requests

from connectors.channels.shopify import events, fulfilment, orders, returns, stock
from hub.connectors import Account
from hub.connectors.http import HttpClient
from hub.connectors.ratelimit import RateLimiter, limiter_for
from hub.errors import PermanentError, RetryableError
from hub.values import loads

log = logging.getLogger(__name__)

#: the leaky bucket's size before Shopify's first answer states its own
BUCKET = 1000.0
#: the REST bucket (requests) and its leak rate (requests per second) on the Standard plan;
#: Advanced leaks 4/s and Plus 20/s. Each answer's ``X-Shopify-Shop-Api-Call-Limit`` then
#: gives the bucket's real size and fill. — https://shopify.dev/docs/api/admin-rest/usage/rate-limits
REST_BUCKET = 40.0
REST_RATE = 2.0


def api_root(settings: Mapping[str, Any]) -> str:
    """``<root>/admin/api/<version>``, the REST resources' base; ``api_base`` replaces
    ``https://<shop>``."""
    root = settings.get("api_base") or f"https://{settings['shop']}"
    return f"{str(root).rstrip('/')}/admin/api/{settings['api_version']}"


def endpoint(settings: Mapping[str, Any]) -> str:
    """``<root>/admin/api/<version>/graphql.json``; ``api_base`` replaces ``https://<shop>``."""
    return f"{api_root(settings)}/graphql.json"


class ShopifyClient:
    """The calls the stock sync, the fulfilment push and order reconciliation make.
    ``limiter`` (GraphQL), ``rest_limiter``, ``session`` and ``sleep`` are for tests; by
    default the account shares the process's limiters ``shopify:<account name>`` and
    ``shopify-rest:<account name>``."""

    def __init__(
        self,
        account: Account,
        *,
        limiter: RateLimiter | None = None,
        rest_limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        settings = account.settings
        rate = float(settings.get("graphql_rate") or 100.0)
        token = {"X-Shopify-Access-Token": str(settings["access_token"])}
        self.account = account
        self.http = HttpClient(
            endpoint(settings),
            limiter=limiter or limiter_for(f"shopify:{account.name}", rate, BUCKET),
            headers=token,
            session=session,
            sleep=sleep,
        )
        self.rest = HttpClient(
            api_root(settings),
            limiter=rest_limiter
            or limiter_for(f"shopify-rest:{account.name}", REST_RATE, REST_BUCKET),
            headers=token,
            session=session,
            sleep=sleep,
        )

    def primary_location(self) -> str:
        """The GID of the shop's primary location (``location`` asked with no id)."""
        data = self.http.graphql(stock.PRIMARY_LOCATION_QUERY, cost=stock.LOCATION_COST)
        return stock.primary_location(data)

    def variant_pages(self, location_id: str) -> Iterator[dict[str, Any]]:
        """Every page of ``productVariants``, :data:`stock.MAX_ITEMS` at a time, each with the
        level at ``location_id``. A page Shopify finds too dear (``MAX_COST_EXCEEDED``) is
        asked again smaller, and later pages keep that size."""
        first, after = stock.MAX_ITEMS, None
        while True:
            variables = stock.variants_variables(location_id, first, after)
            try:
                data = self.http.graphql(
                    stock.VARIANTS_QUERY, variables, cost=stock.variants_cost(first)
                )
            except PermanentError as exc:
                smaller = _smaller_page(exc, first)
                if smaller is None:
                    raise
                log.warning(
                    "%s: %d variants a page cost more than Shopify allows; asking for %d",
                    self.account.name,
                    first,
                    smaller,
                )
                first = smaller
                continue
            yield data
            after = stock.next_cursor(data)
            if after is None:
                return

    def set_quantities(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """One ``inventorySetQuantities`` call. The ``@idempotent`` key makes a resend harmless,
        so a connection lost after sending is retried here too."""
        return self.http.graphql(
            stock.SET_QUANTITIES_MUTATION, variables, cost=stock.SET_COST, idempotent=True
        )

    def levels(self, item_ids: Sequence[str], location_id: str) -> dict[str, int | None]:
        """``available`` at ``location_id`` for at most :data:`stock.MAX_ITEMS` inventory items."""
        data = self.http.graphql(
            stock.LEVELS_QUERY,
            stock.levels_variables(item_ids, location_id),
            cost=stock.levels_cost(len(item_ids)),
        )
        return stock.read_levels(data)

    # -- fulfilment ---------------------------------------------------------------------------

    def order_fulfillments(self, order_id: str) -> dict[str, Any]:
        """The order's fulfillments with their status and tracking numbers."""
        return self.http.graphql(
            fulfilment.ORDER_FULFILLMENTS_QUERY,
            {"id": order_id},
            cost=fulfilment.FULFILLMENTS_COST,
        )

    def fulfillment_orders(self, order_id: str) -> list[fulfilment.FulfillmentOrder]:
        """Every fulfillment order of the order with every one of its line items, read a page
        at a time (a fulfillment order with many line items gets pages of its own)."""
        orders: list[fulfilment.FulfillmentOrder] = []
        after = None
        while True:
            data = self.http.graphql(
                fulfilment.FULFILLMENT_ORDERS_QUERY,
                {"id": order_id, "after": after},
                cost=fulfilment.ORDERS_COST,
            )
            page, after = fulfilment.read_fulfillment_orders(data, order_id)
            orders.extend(page)
            if after is None:
                break
        for order in orders:
            while order.more_lines is not None:
                data = self.http.graphql(
                    fulfilment.MORE_LINES_QUERY,
                    {"id": order.id, "after": order.more_lines},
                    cost=fulfilment.MORE_LINES_COST,
                )
                lines, order.more_lines = fulfilment.read_more_lines(data, order.id)
                order.lines.extend(lines)
        return orders

    def create_fulfillment(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """One ``fulfillmentCreate``. Not idempotent: a request that may have reached Shopify
        is not sent again here; the outbox job runs again and finds what it made."""
        return self.http.graphql(
            fulfilment.FULFILLMENT_CREATE_MUTATION, variables, cost=fulfilment.MUTATION_COST
        )

    def fulfillment_events(self, fulfillment_id: str) -> dict[str, Any]:
        """The fulfillment's latest tracking events (status and time)."""
        return self.http.graphql(
            events.FULFILLMENT_EVENTS_QUERY,
            {"id": fulfillment_id},
            cost=events.EVENTS_COST,
        )

    def create_fulfillment_event(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """One ``fulfillmentEventCreate`` (not sent again here, as above)."""
        return self.http.graphql(
            events.FULFILLMENT_EVENT_CREATE_MUTATION,
            variables,
            cost=fulfilment.MUTATION_COST,
        )

    # -- refunds ------------------------------------------------------------------------------

    def refund_context(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The order's refunds (to find one made already) and its ``suggestedRefund`` for
        the lines (the money and the transactions it goes back through)."""
        return self.http.graphql(returns.REFUND_CONTEXT_QUERY, variables, cost=returns.CONTEXT_COST)

    def create_refund(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """One ``refundCreate``. Its ``@idempotent`` key makes a resend harmless, so a
        connection lost after sending is retried here too."""
        return self.http.graphql(
            returns.REFUND_CREATE_MUTATION, variables, cost=returns.REFUND_COST, idempotent=True
        )

    # -- orders (REST) --------------------------------------------------------------------------

    def orders_updated(self, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """Every order updated from ``since`` to ``until`` (both included), oldest update
        first, as the REST Order resource an ``orders/updated`` webhook carries; read 250 at a
        time, following the ``Link`` header's ``rel="next"`` cursor. A window that starts
        after it ends is a ValueError, raised here rather than at the first read."""
        return self._orders(orders.window_params(since, until))

    def _orders(self, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        while True:
            response = self.rest.get(orders.ORDERS_PATH, params=params)
            self._note_bucket(response)
            yield from orders.read_orders(_json(response))
            next_params = orders.next_page_params(response.headers.get("Link"))
            if next_params is None:
                return
            if next_params["page_info"] in seen:
                # A proxy or cache that ignores page_info would otherwise loop forever.
                raise PermanentError("GET orders.json: Shopify's next page repeats an earlier one")
            seen.add(next_params["page_info"])
            params = next_params

    def _note_bucket(self, response: requests.Response) -> None:
        """Adopt the REST bucket's size and fill from ``X-Shopify-Shop-Api-Call-Limit``."""
        state = orders.bucket_state(response.headers.get("X-Shopify-Shop-Api-Call-Limit"))
        if state is not None and self.rest.limiter is not None:
            # The same leaky-bucket figures GraphQL reports in throttleStatus, counted in
            # requests; the leak rate is not in the header and stays as configured.
            self.rest.limiter.update_from_shopify_cost(state)


def _json(response: requests.Response) -> Any:
    try:
        return loads(response.content)
    except ValueError:
        # A 200 that is no JSON is a proxy's or a maintenance page: worth asking again later.
        raise RetryableError(
            f"GET {orders.ORDERS_PATH}: HTTP {response.status_code} answer is not JSON",
            details={"status": response.status_code},
        ) from None


def _smaller_page(exc: PermanentError, first: int) -> int | None:
    details = exc.details if isinstance(exc.details, Mapping) else {}
    for error in details.get("errors") or []:
        extensions = error.get("extensions") if isinstance(error, Mapping) else None
        if isinstance(extensions, Mapping) and extensions.get("code") == "MAX_COST_EXCEEDED":
            return stock.smaller_page(first, extensions)
    return None
