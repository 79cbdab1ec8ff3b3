"""Orders read through the Orders API v2026-01-01: the pure half (the query of
``searchOrders`` and ``getOrder``, their answers). ``client.py`` sends the requests.

``GET /orders/2026-01-01/orders`` (searchOrders) takes exactly one of ``createdAfter`` and
``lastUpdatedAfter``; ``lastUpdatedBefore``, when sent, must be at least two minutes before
the request, so it is not sent: the window reaches to now, and the next window overlaps it
anyway (``HUB_RECONCILE_OVERLAP``). ``marketplaceIds`` (at most 50) and ``includedData`` are
comma-separated lists; ``maxResultsPerPage`` is 1 to 100. A page with more after it carries
``pagination.nextToken``, sent back as ``paginationToken`` (its own request, still within the
operation's usage plan: 0.0056 requests/s, burst 20). ``GET /orders/2026-01-01/orders/{orderId}``
(getOrder, 0.5/s, burst 30) answers ``{"order": {...}}``. — the model
``models/orders-api-model/orders_2026-01-01.json`` in ``amzn/selling-partner-api-models``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from hub.errors import PermanentError
from hub.values import utc

SEARCH_PATH = "/orders/2026-01-01/orders"
PAGE_SIZE = 100
#: the datasets the translator reads (items are always included): buyer and recipient, the
#: money, items' cancellation requests (held orders), fulfilment status and windows, and the
#: packages (a confirmation already made). Amazon leaves out any dataset not asked for.
INCLUDED_DATA = (
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
)


def stamp(moment: datetime) -> str:
    """``2026-05-01T10:00:00Z``: ISO 8601 in UTC, whole seconds."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[union-attr]


def search_params(since: datetime, marketplace_ids: Sequence[str]) -> dict[str, str]:
    """The first page's parameters: every order updated at or after ``since``."""
    return {
        "lastUpdatedAfter": stamp(since),
        "marketplaceIds": ",".join(marketplace_ids),
        "includedData": ",".join(INCLUDED_DATA),
        "maxResultsPerPage": str(PAGE_SIZE),
    }


def next_params(first: dict[str, str], token: str) -> dict[str, str]:
    """A later page: the same filters with the previous page's ``nextToken``."""
    return {**first, "paginationToken": token}


def order_path(order_id: str) -> str:
    return f"{SEARCH_PATH}/{quote(order_id, safe='')}"


def order_params() -> dict[str, str]:
    return {"includedData": ",".join(INCLUDED_DATA)}


def read_page(body: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The orders of one searchOrders page and the next page's token (None on the last)."""
    orders = body.get("orders") if isinstance(body, dict) else None
    if not isinstance(orders, list) or not all(isinstance(o, dict) for o in orders):
        raise PermanentError('searchOrders: the answer is not {"orders": [<order>, ...]}')
    pagination = body.get("pagination")
    token = pagination.get("nextToken") if isinstance(pagination, dict) else None
    return orders, (token if isinstance(token, str) and token else None)


def read_order(body: Any) -> dict[str, Any]:
    """The order of a getOrder answer."""
    order = body.get("order") if isinstance(body, dict) else None
    if not isinstance(order, dict):
        raise PermanentError('getOrder: the answer is not {"order": {...}}')
    return order
