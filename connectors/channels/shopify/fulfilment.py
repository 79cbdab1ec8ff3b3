"""Shopify fulfilment push, the pure half: the GraphQL documents ``client.py`` sends, their
variables, the matching of a parcel's lines to fulfillment order line items, the reading of
answers. No I/O. Tracking events on a fulfillment are in ``events.py``.

Shapes as shopify.dev documents them for the GraphQL Admin API (2026-01 and later):

* a fulfillment is made against fulfillment orders, never the order: ``fulfillmentCreate``
  takes ``lineItemsByFulfillmentOrder`` (fulfillment order id + its line items and quantities;
  leaving the line items out would fulfil the whole fulfillment order, which the hub never
  does), ``trackingInfo`` (company, number, url) and ``notifyCustomer``;
* one fulfillment holds one tracking number, so each parcel is its own fulfillment;
* ``Order.fulfillments`` is a plain list, ``Order.fulfillmentOrders`` and
  ``FulfillmentOrder.lineItems`` are connections (paged);

Exactly once: ``fulfillmentCreate`` takes no idempotency key, so before creating, the order's
fulfillments are read and one that already carries the parcel's tracking number is the answer
(a retry after a lost answer finds the fulfillment the first attempt made).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.connectors import FulfilmentPush
from hub.errors import PermanentError, RetryableError

ORDER_PREFIX = "gid://shopify/Order/"
LINE_ITEM_PREFIX = "gid://shopify/LineItem/"

#: fulfillment orders a page; each brings at most LINES_PAGE of its line items
ORDERS_PAGE = 5
LINES_PAGE = 50
#: line items a page when one fulfillment order holds more than LINES_PAGE
MORE_LINES_PAGE = 250

# Estimated costs (object 1, scalar 0, connection 2 + first x its node, mutation 10; see
# stock.py). A fulfillment order line item selects two objects (itself and its line item).
# ``Order.fulfillments`` is a list, not a connection; it is counted here as if each of the
# 250 entries and its tracking info were an object, which is the most it can be.
FULFILLMENTS_COST = 1 + 250 * 2
ORDERS_COST = 1 + 2 + ORDERS_PAGE * (1 + 1 + 2 + LINES_PAGE * 2) + 1
MORE_LINES_COST = 1 + 2 + MORE_LINES_PAGE * 2 + 1
MUTATION_COST = 10

#: fulfillment order statuses ``fulfillmentCreate`` accepts work on
FULFILLABLE = frozenset({"OPEN", "IN_PROGRESS"})
#: fulfillment statuses that do not count as "the parcel is already on Shopify"
DEAD_FULFILLMENTS = frozenset({"CANCELLED", "ERROR", "FAILURE"})


ORDER_FULFILLMENTS_QUERY = """\
query FulfilmentCheck($id: ID!) {
  order(id: $id) {
    id
    fulfillments(first: 250) {
      id
      status
      trackingInfo(first: 10) {
        number
      }
    }
  }
}
"""

FULFILLMENT_ORDERS_QUERY = """\
query FulfilmentOrders($id: ID!, $after: String) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 5, after: $after) {
      nodes {
        id
        status
        lineItems(first: 50) {
          nodes {
            id
            remainingQuantity
            lineItem {
              id
            }
          }
          pageInfo {
            hasNextPage
            endCursor
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
}
"""

MORE_LINES_QUERY = """\
query FulfilmentOrderLines($id: ID!, $after: String) {
  node(id: $id) {
    ... on FulfillmentOrder {
      id
      lineItems(first: 250, after: $after) {
        nodes {
          id
          remainingQuantity
          lineItem {
            id
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
}
"""

FULFILLMENT_CREATE_MUTATION = """\
mutation FulfilmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment {
      id
      status
    }
    userErrors {
      field
      message
    }
  }
}
"""

_NUMBER = re.compile(r"[1-9][0-9]*")


@dataclass(frozen=True)
class OrderLineItem:
    """One fulfillment order line item: its GID, the order line item it is for, and how many
    units are still to be fulfilled."""

    id: str
    line_item_id: str
    remaining: int


@dataclass
class FulfillmentOrder:
    """A fulfillment order with the line items read so far; ``more_lines`` is the cursor of
    the next page of its line items (None: all read)."""

    id: str
    status: str
    lines: list[OrderLineItem] = field(default_factory=list)
    more_lines: str | None = None


# -- ids ------------------------------------------------------------------------------------


def gid(prefix: str, value: Any, what: str) -> str:
    """A Shopify GID from a GID or a numeric id (canonical ids are the numbers)."""
    text = str(value if value is not None else "").strip()
    number = text.removeprefix(prefix)
    if isinstance(value, bool) or not _NUMBER.fullmatch(number):
        raise PermanentError(f"{what} {value!r} is not a Shopify id")
    return prefix + number


def order_gid(order: Mapping[str, Any]) -> str:
    return gid(ORDER_PREFIX, order.get("external_id"), "order external_id")


def tracking_key(number: Any) -> str:
    """A tracking number as compared: without spaces, upper case (carriers ignore both)."""
    return "".join(str(number or "").split()).upper()


def tracking_number(push: FulfilmentPush) -> str:
    """The parcel's tracking number, refused when blank: it is what makes the push exactly
    once, and what the customer is sent."""
    number = str(push.tracking_number or "").strip()
    if not number:
        raise PermanentError(f"parcel {push.parcel_id} has no tracking number to send Shopify")
    return number


# -- the exactly-once check -----------------------------------------------------------------


def _order(data: Mapping[str, Any], order_id: str) -> Mapping[str, Any]:
    order = data.get("order")
    if not isinstance(order, Mapping):
        raise PermanentError(f"Shopify has no order {order_id} (or the app may not read it)")
    return order


def existing_fulfillment(data: Mapping[str, Any], order_id: str, number: str) -> str | None:
    """The GID of the order's live fulfillment that carries ``number``, from an
    :data:`ORDER_FULFILLMENTS_QUERY` answer (None: there is none)."""
    wanted = tracking_key(number)
    for fulfillment in _order(data, order_id).get("fulfillments") or []:
        if not isinstance(fulfillment, Mapping):
            continue
        if str(fulfillment.get("status") or "").upper() in DEAD_FULFILLMENTS:
            continue
        numbers = {
            tracking_key(info.get("number"))
            for info in fulfillment.get("trackingInfo") or []
            if isinstance(info, Mapping)
        }
        if wanted in numbers and isinstance(fulfillment.get("id"), str):
            return str(fulfillment["id"])
    return None


# -- reading fulfillment orders ---------------------------------------------------------------


def _lines(connection: Any, where: str) -> tuple[list[OrderLineItem], str | None]:
    if not isinstance(connection, Mapping):
        raise PermanentError(f"Shopify's answer has no lineItems for {where}")
    lines = []
    for node in connection.get("nodes") or []:
        line_item = node.get("lineItem") if isinstance(node, Mapping) else None
        remaining = node.get("remainingQuantity") if isinstance(node, Mapping) else None
        if (
            not isinstance(line_item, Mapping)
            or not isinstance(node.get("id"), str)
            or not isinstance(line_item.get("id"), str)
            or not isinstance(remaining, int)
            or isinstance(remaining, bool)
        ):
            raise PermanentError(f"Shopify's answer has an unreadable line item in {where}")
        lines.append(OrderLineItem(node["id"], line_item["id"], remaining))
    return lines, _cursor(connection, where)


def _cursor(connection: Mapping[str, Any], where: str) -> str | None:
    info = connection.get("pageInfo")
    if not isinstance(info, Mapping) or not info.get("hasNextPage"):
        return None
    cursor = info.get("endCursor")
    if not isinstance(cursor, str) or not cursor:
        raise PermanentError(f"Shopify said {where} has a next page but gave no endCursor")
    return cursor


def read_fulfillment_orders(
    data: Mapping[str, Any], order_id: str
) -> tuple[list[FulfillmentOrder], str | None]:
    """One page of a :data:`FULFILLMENT_ORDERS_QUERY` answer and the next page's cursor."""
    connection = _order(data, order_id).get("fulfillmentOrders")
    if not isinstance(connection, Mapping):
        raise PermanentError(f"Shopify's answer has no fulfillmentOrders for {order_id}")
    orders = []
    for node in connection.get("nodes") or []:
        if not isinstance(node, Mapping) or not isinstance(node.get("id"), str):
            raise PermanentError(
                f"Shopify's answer has an unreadable fulfillment order of {order_id}"
            )
        lines, more = _lines(node.get("lineItems"), node["id"])
        orders.append(FulfillmentOrder(node["id"], str(node.get("status") or ""), lines, more))
    return orders, _cursor(connection, f"the fulfillment orders of {order_id}")


def read_more_lines(
    data: Mapping[str, Any], fulfillment_order_id: str
) -> tuple[list[OrderLineItem], str | None]:
    """A :data:`MORE_LINES_QUERY` answer: the line items and the next page's cursor."""
    node = data.get("node")
    if not isinstance(node, Mapping):
        raise PermanentError(f"Shopify has no fulfillment order {fulfillment_order_id}")
    return _lines(node.get("lineItems"), fulfillment_order_id)


# -- matching a parcel to fulfillment order line items ----------------------------------------


def parcel_lines(push: FulfilmentPush) -> dict[str, tuple[int, str]]:
    """The parcel's quantities by line item GID (a line named twice is added up), with a label
    for messages."""
    if not push.lines:
        raise PermanentError(f"parcel {push.parcel_id} has no lines to fulfil")
    wanted: dict[str, tuple[int, str]] = {}
    for index, line in enumerate(push.lines):
        external = line.get("external_id")
        label = f"line {external}" + (f" ({line['sku']})" if line.get("sku") else "")
        if external in (None, ""):
            raise PermanentError(f"parcel {push.parcel_id} lines[{index}] has no external_id")
        quantity = line.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise PermanentError(f"{label}: quantity {quantity!r} is not a positive whole number")
        line_gid = gid(LINE_ITEM_PREFIX, external, "line external_id")
        before = wanted.get(line_gid, (0, label))[0]
        wanted[line_gid] = (before + quantity, label)
    return wanted


def line_items_by_fulfillment_order(
    push: FulfilmentPush, orders: Sequence[FulfillmentOrder]
) -> list[dict[str, Any]]:
    """``lineItemsByFulfillmentOrder`` for the parcel: each line's quantity taken from the open
    fulfillment orders that still have it to fulfil, in Shopify's order. Raises
    PermanentError naming every line that cannot be placed (not on the order, already
    fulfilled, on hold...)."""
    taken: dict[str, list[dict[str, Any]]] = {}
    left = {o.id: {line.id: line.remaining for line in o.lines} for o in orders}
    problems = []
    for line_gid, (quantity, label) in parcel_lines(push).items():
        need = quantity
        for order in orders:
            if order.status.upper() not in FULFILLABLE:
                continue
            for line in order.lines:
                if need == 0:
                    break
                if line.line_item_id != line_gid or left[order.id][line.id] <= 0:
                    continue
                quantity_here = min(need, left[order.id][line.id])
                left[order.id][line.id] -= quantity_here
                need -= quantity_here
                taken.setdefault(order.id, []).append({"id": line.id, "quantity": quantity_here})
        if need:
            problems.append(_shortfall(label, line_gid, quantity, need, orders))
    if problems:
        raise PermanentError(
            f"Shopify order {order_gid(push.order)} cannot take parcel {push.parcel_id}: "
            + "; ".join(problems),
            details={"problems": problems},
        )
    return [
        {"fulfillmentOrderId": order.id, "fulfillmentOrderLineItems": taken[order.id]}
        for order in orders
        if order.id in taken
    ]


def _shortfall(
    label: str, line_gid: str, quantity: int, missing: int, orders: Sequence[FulfillmentOrder]
) -> str:
    mine = [(o, line) for o in orders for line in o.lines if line.line_item_id == line_gid]
    if not mine:
        return f"{label} is on none of its fulfillment orders"
    open_left = quantity - missing
    blocked = sorted(
        {o.status for o, line in mine if o.status.upper() not in FULFILLABLE and line.remaining}
    )
    text = f"{label}: {quantity} in the parcel but {open_left} left to fulfil"
    if blocked:
        return text + f" (the rest is on fulfillment orders that are {', '.join(blocked)})"
    return text + " (the rest is already fulfilled)"


def create_variables(
    push: FulfilmentPush, number: str, orders: Sequence[FulfillmentOrder]
) -> dict[str, Any]:
    """Variables for :data:`FULFILLMENT_CREATE_MUTATION`: the parcel's lines, its tracking, and
    the customer told (Shopify sends its shipping confirmation)."""
    tracking: dict[str, Any] = {"company": push.carrier_name, "number": number}
    if push.tracking_url:
        tracking["url"] = push.tracking_url
    return {
        "fulfillment": {
            "lineItemsByFulfillmentOrder": line_items_by_fulfillment_order(push, orders),
            "trackingInfo": tracking,
            "notifyCustomer": True,
        }
    }


def user_errors(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [e for e in payload.get("userErrors") or [] if isinstance(e, Mapping)]


def error_text(errors: Iterable[Mapping[str, Any]]) -> str:
    parts = []
    for error in errors:
        where = error.get("field")
        where = ".".join(str(p) for p in where) if isinstance(where, list) else where
        message = str(error.get("message") or "no message")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def read_created(data: Mapping[str, Any]) -> str:
    """The new fulfillment's GID from a :data:`FULFILLMENT_CREATE_MUTATION` answer. Shopify's
    ``userErrors`` (a line already fulfilled, a fulfillment order on hold...) raise
    PermanentError with Shopify's own messages."""
    payload = data.get("fulfillmentCreate")
    if not isinstance(payload, Mapping):
        raise PermanentError("Shopify's answer has no fulfillmentCreate")
    errors = user_errors(payload)
    if errors:
        raise PermanentError(
            f"Shopify refused the fulfillment: {error_text(errors)}",
            details={"userErrors": errors},
        )
    fulfillment = payload.get("fulfillment")
    if not isinstance(fulfillment, Mapping) or not isinstance(fulfillment.get("id"), str):
        # Nothing says it was not made: pushing again first looks for it, so this is safe
        raise RetryableError(
            "Shopify answered fulfillmentCreate with neither a fulfillment nor errors"
        )
    return str(fulfillment["id"])
