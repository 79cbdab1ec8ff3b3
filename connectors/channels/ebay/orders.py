"""Orders modified in a time window, read back from the Fulfillment API: the pure half (the
query and the pages). ``client.py`` sends the requests.

``GET /sell/fulfillment/v1/order`` with ``filter=lastmodifieddate:[<from>..<to>]`` (ISO 8601
UTC with milliseconds, both ends given), ``limit`` (at most 200 here, the answer's ``limit``
says what eBay applied) and ``offset``; the answer is ``{href, total, limit, offset, next,
orders[], warnings[]}``. Pages are followed by ``offset`` against ``total`` rather than the
``next`` address, since ``api_base`` may stand in front of api.ebay.com. getOrders returns
cancel requests empty (getOrder has them in full); ``cancelStatus.cancelState`` is there
either way. Orders older than two years are not returned. The filter reaches back at most 90
days (errorId 30830 "Start date must be within 90 days of end date and current date"), so a
longer window starts 90 days before its end. — docs,
https://developer.ebay.com/api-docs/sell/fulfillment/resources/order/methods/getOrders and
the contract's ``x-response-codes`` (``sell_fulfillment_v1_oas3.json``)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hub.errors import PermanentError
from hub.values import utc

ORDERS_PATH = "sell/fulfillment/v1/order"
PAGE_SIZE = 200
#: how far back the lastmodifieddate filter may start from its end (a minute to spare)
LONGEST_WINDOW = timedelta(days=90) - timedelta(minutes=1)


def stamp(moment: datetime) -> str:
    """``2026-05-01T10:00:00.000Z``, as eBay's date filters are written."""
    moment = utc(moment)  # type: ignore[assignment]
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def window(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """The window eBay can be asked for: ``since`` to ``until``, starting no more than
    :data:`LONGEST_WINDOW` before its end. A window that starts after it ends is a
    ValueError."""
    start, end = utc(since), utc(until)
    if start is None or end is None:
        raise ValueError("the window needs a start and an end")
    if start > end:
        raise ValueError(f"the window starts after it ends: {start} > {end}")
    return max(start, end - LONGEST_WINDOW), end


def window_params(since: datetime, until: datetime, offset: int = 0) -> dict[str, str]:
    start, end = window(since, until)
    return {
        "filter": f"lastmodifieddate:[{stamp(start)}..{stamp(end)}]",
        "limit": str(PAGE_SIZE),
        "offset": str(offset),
    }


def read_page(body: Any, offset: int) -> tuple[list[dict[str, Any]], int | None]:
    """A page's orders and the next page's offset (None after the last)."""
    if not isinstance(body, dict):
        raise PermanentError(f"GET {ORDERS_PATH}: the answer is not an object")
    orders = body.get("orders") or []
    if not isinstance(orders, list) or not all(isinstance(o, dict) for o in orders):
        raise PermanentError(f"GET {ORDERS_PATH}: orders is not a list of objects")
    try:
        total = int(body.get("total") or 0)
    except (TypeError, ValueError):
        raise PermanentError(f"GET {ORDERS_PATH}: total is not a number") from None
    following = offset + len(orders)
    if not orders or following >= total:
        return orders, None
    return orders, following
