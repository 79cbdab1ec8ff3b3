"""Orders read from the V2 orders API, the pure half: which order a thin webhook names, the
list's query for a window, which orders still need their parts read, the version the
reconciliation compares, and the order document the translator reads. ``client.py`` sends
the requests.

A webhook names the order only (``data.id``); the worker reads ``GET /v2/orders/{id}``, then
``/v2/orders/{id}/products`` and ``/v2/orders/{id}/shipping_addresses`` (each paged, at most
250 a page), and :func:`document` puts the two lists where the order has their links. Missed
webhooks are found with ``GET /v2/orders?min_date_modified=...&max_date_modified=...``
(RFC 2822 or ISO 8601; both bounds included), sorted ``date_modified:asc``, paged by ``page``
and ``limit`` (50 unless asked, 250 at most: the hub asks 250). A V2 list with nothing to
list answers ``204 No Content``. The list gives each order as ``GET /v2/orders/{id}`` does,
its products and shipping addresses as links (:func:`linked`): the reconciliation compares
the listed order's ``id`` and ``date_modified`` (:func:`version`) with the stored order's,
and only an order it takes in has its parts read, by the worker's fetch.

— ``reference/orders.v2.oas2.yml`` in ``bigcommerce/docs`` (parameters ``min_date_modified``,
``max_date_modified``, ``sort``, ``page``, ``limit``, default 50);
``docs/start/best-practices/integration-design.mdx`` there (a list's limit set to 250).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.channels.bigcommerce import translate
from hub.errors import PermanentError, TranslationError
from hub.values import second_window

ORDERS_PATH = "v2/orders"
PAGE_SIZE = 250
#: the order's sub-resources the document holds in place of their links
PARTS = ("products", "shipping_addresses")


def webhook_order_id(payload: Any) -> str:
    """The order id a thin webhook body names (``data.id``, ``data.type`` ``order``)."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise TranslationError("the webhook body has no data object", path="data")
    kind = data.get("type")
    if kind not in (None, "order"):
        raise TranslationError(f"the webhook is about a {kind!r}, not an order", path="data.type")
    value = data.get("id")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise TranslationError(f"not an order id: {value!r}", path="data.id")
    return str(int(value))


def stamp(moment: datetime) -> str:
    """``2026-05-01T10:00:00+00:00``: ISO 8601 with its offset, as the list's filters take it."""
    return moment.isoformat(timespec="seconds")


def window_params(since: datetime, until: datetime) -> dict[str, Any]:
    """The list's filters for a window (whole seconds; ``page`` is the pager's)."""
    start, end = second_window(since, until)
    return {
        "min_date_modified": stamp(start),
        "max_date_modified": stamp(end),
        "sort": "date_modified:asc",
        "limit": PAGE_SIZE,
    }


def linked(order: Any) -> bool:
    """Whether ``order`` is an order as the V2 API gives it, a sub-resource still a link
    (``{"url", "resource"}``), not a document; a deleted order never is (it translates as a
    removal, from its id alone)."""
    if not isinstance(order, dict) or order.get("is_deleted") is True:
        return False
    return any(isinstance(order.get(part), dict) for part in PARTS)


def version(order: Any) -> tuple[str | None, datetime | None]:
    """The order's id and ``date_modified`` as the translator reads them (so a comparison
    with the stored order's id and update time is the one its translation would give); no
    time for a deleted order (a removal has none); None for what is not readable."""
    if not isinstance(order, dict):
        return None, None
    try:
        external_id = translate._id(order.get("id"), path="id")
        if order.get("is_deleted") is True:
            return external_id, None
        return external_id, translate._time(order.get("date_modified"), path="date_modified")
    except TranslationError:
        return None, None


def document(
    order: Any, products: list[dict[str, Any]], addresses: list[dict[str, Any]]
) -> dict[str, Any]:
    """The order with its products and shipping addresses in place of their links."""
    if not isinstance(order, dict) or order.get("id") is None:
        raise PermanentError("GET v2/orders/{id}: the answer is not an order")
    return {**order, "products": products, "shipping_addresses": addresses}


def read_list(body: Any, path: str) -> list[dict[str, Any]]:
    """One page of a V2 list (None for a 204: nothing there)."""
    if body is None:
        return []
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise PermanentError(f"GET {path}: the answer is not a list of objects")
    return body
