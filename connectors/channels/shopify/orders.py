"""Orders updated in a time window, read back for reconciliation: the pure half (the query,
the ``Link`` header, the call-limit header). ``client.py`` sends the requests.

This reads the REST Admin API, legacy since 2024-10-01 but still served, on purpose: an
``orders/*`` webhook carries the REST Order resource, unwrapped, and a reconciled order is
taken in as if it were such a webhook (``translate.translate_order`` reads that shape). The
GraphQL Admin API returns another shape, which the translator does not read.

``GET /admin/api/<version>/orders.json`` takes ``status=any`` (the default is ``open``, which
would miss closed and cancelled orders), ``updated_at_min`` / ``updated_at_max`` (both
inclusive) and ``limit`` (at most 250). Later pages are cursor-based: the answer's ``Link``
header names the ``rel="next"`` page by ``page_info``, and a request with ``page_info`` may
carry no other parameter than ``limit`` and ``fields`` (the filters of the first request are
kept in the cursor). — https://shopify.dev/docs/api/admin-rest/usage/pagination,
https://shopify.dev/docs/api/admin-rest/latest/resources/order
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from requests.utils import parse_header_links

from hub.errors import PermanentError
from hub.values import second_window

ORDERS_PATH = "orders.json"  # under /admin/api/<version>/
PAGE_SIZE = 250  # the most ``limit`` allows
#: parameters a ``page_info`` request may carry besides ``page_info`` itself
_PAGE_KEYS = ("limit", "fields")


window = second_window  # whole seconds: the channel keeps no fractions


def stamp(moment: datetime) -> str:
    """``2026-05-01T10:00:00Z``: ISO 8601 in UTC, as Shopify's filters take it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def window_params(since: datetime, until: datetime) -> dict[str, str]:
    """The first request's parameters. ``order=updated_at asc`` is not among the Order
    resource's documented parameters (it is commonly sent and not refused); the whole window
    is read either way, so if Shopify ignored it only the order of the answers would change."""
    start, end = window(since, until)
    return {
        "status": "any",
        "updated_at_min": stamp(start),
        "updated_at_max": stamp(end),
        "limit": str(PAGE_SIZE),
        "order": "updated_at asc",
    }


def next_page_params(link_header: str | None) -> dict[str, str] | None:
    """The parameters of the ``rel="next"`` page named in a ``Link`` header (None on the last
    page): its ``page_info`` exactly as given, and its ``limit``. Only the parameters are
    kept, not the address: the account's ``api_base`` may stand in front of the shop."""
    if not link_header:
        return None
    for link in parse_header_links(link_header):
        if link.get("rel", "").strip('"').lower() != "next":
            continue
        query = parse_qs(urlsplit(link.get("url", "")).query, keep_blank_values=True)
        page_info = query.get("page_info", [""])[0]
        if not page_info:
            raise PermanentError('Shopify\'s Link rel="next" names no page_info')
        params = {"page_info": page_info}
        params.update({key: query[key][0] for key in _PAGE_KEYS if query.get(key)})
        params.setdefault("limit", str(PAGE_SIZE))
        return params
    return None


def read_orders(body: Any) -> list[dict[str, Any]]:
    """The order resources of one page (``{"orders": [...]}``), each as a webhook carries it."""
    orders = body.get("orders") if isinstance(body, dict) else None
    if not isinstance(orders, list) or not all(isinstance(o, dict) for o in orders):
        raise PermanentError('GET orders.json: the answer is not {"orders": [<order>, ...]}')
    return orders


def bucket_state(header: str | None) -> dict[str, float] | None:
    """``X-Shopify-Shop-Api-Call-Limit`` (``"32/40"``: requests in the bucket / its size) as a
    throttle status a :class:`~hub.connectors.ratelimit.RateLimiter` adopts; None when absent or
    unreadable."""
    used, _, size = (header or "").partition("/")
    try:
        filled, capacity = float(used), float(size)
    except ValueError:
        return None
    if capacity <= 0 or filled < 0:
        return None
    return {"maximumAvailable": capacity, "currentlyAvailable": max(0.0, capacity - filled)}
