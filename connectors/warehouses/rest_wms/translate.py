"""The WMS's JSON <-> the hub's records. Pure functions: dicts and the account's settings in,
dicts and dataclasses out; no I/O.

* A canonical order (as ``GET /api/orders/<id>`` shows it) becomes the body POSTed to the WMS
  (:func:`order_body`), its external reference the hub's order id.
* A page of stock levels becomes :class:`~hub.connectors.StockCount` s (:func:`stock_counts`).
* A WMS shipment becomes a body as ``POST /api/shipments`` takes it (:func:`shipment`).

Where the WMS keeps each value is set in the account (``settings.py``) as dotted paths, read
by :func:`dig`. A bad record is never an exception here: a stock row that cannot be read is
left out and named in ``problems``; a shipment that cannot be read still becomes a body, which
the hub refuses with a reason (and audits) while the other shipments go on.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import jmespath

from hub.connectors import StockCount
from hub.errors import PermanentError, TranslationError
from hub.values import ext_id, iso, text, utc

Settings = Mapping[str, Any]

#: the canonical line fields the default order body sends for each line
_LINE_FIELDS = ("sku", "name", "quantity", "unit_price")
_ADDRESS_FIELDS = (
    "name",
    "company",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country_code",
    "phone",
)


# -- paths ---------------------------------------------------------------------------------


def dig(data: Any, path: str | None) -> Any:
    """The value at a dotted ``path`` (``a.b``, ``lines.0.sku``), or None; ``""`` is ``data``."""
    if path is None:
        return None
    if path == "":
        return data
    for part in path.split("."):
        if isinstance(data, Mapping):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit():
            index = int(part)
            data = data[index] if index < len(data) else None
        else:
            return None
        if data is None:
            return None
    return data


def put(data: dict[str, Any], path: str, value: Any) -> None:
    """Set the value at a dotted ``path``, making the objects on the way."""
    *parents, last = path.split(".")
    for part in parents:
        child = data.get(part)
        if not isinstance(child, dict):
            child = data[part] = {}
        data = child
    data[last] = value


def whole(value: Any) -> Any:
    """A whole number from JSON (``3``, ``"3"``, ``3.0`` parsed exactly); anything else is
    returned as it is (another number as text, so it stays JSON), for the hub to refuse with
    its own message."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        return str(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() else str(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return value


# -- orders --------------------------------------------------------------------------------


def order_reference(order_id: int) -> str:
    """The hub's order id as the WMS order's external reference."""
    return str(order_id)


def idempotency_key(order_id: int, action: str = "create") -> str:
    """The ``Idempotency-Key`` of a request about an order: the same on every retry."""
    key = f"hub-order-{order_id}"
    return key if action == "create" else f"{key}-{action}"


def shippable_lines(order: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The lines the warehouse must pick: they need shipping and something is still owed."""
    return [
        dict(line)
        for line in order.get("lines") or []
        if line.get("requires_shipping", True) and (whole(line.get("quantity")) or 0) > 0
    ]


def default_body(order: Mapping[str, Any]) -> dict[str, Any]:
    """The hub's own order body: the canonical order's names, reduced to what a warehouse
    needs to pick, pack and label. Each line sends its channel line id as ``line_id``, so a
    WMS that echoes it lets shipments name lines exactly (``line_id_field``)."""
    shipping = order.get("shipping") or {}
    address = order.get("shipping_address") or {}
    return {
        "number": order.get("number"),
        "channel": order.get("channel"),
        "placed_at": order.get("placed_at"),
        "currency": order.get("currency"),
        "customer": dict(order.get("customer") or {}),
        "shipping_address": {key: address.get(key) for key in _ADDRESS_FIELDS},
        "shipping": {
            "method": shipping.get("method"),
            "carrier_service": shipping.get("carrier_service"),
        },
        "lines": [
            {"line_id": line.get("external_id"), **{key: line.get(key) for key in _LINE_FIELDS}}
            for line in order.get("lines") or []
        ],
        "notes": order.get("notes"),
        "tags": list(order.get("tags") or []),
    }


@functools.lru_cache(maxsize=64)
def _compiled(expression: str) -> Any:
    return jmespath.compile(expression)


def order_body(order: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """The body POSTed to the WMS for a canonical order: ``order_template`` applied to the
    order with only its :func:`shippable_lines`, or :func:`default_body`; the external
    reference is then set at ``order_reference_field`` whatever the template made."""
    view = {**order, "lines": shippable_lines(order)}
    template = settings.get("order_template")
    if template:
        body = _compiled(template).search(view)
        if not isinstance(body, dict):
            raise PermanentError(
                f"order_template gave {type(body).__name__}, not an object: fix the account's "
                "order_template"
            )
    else:
        body = default_body(view)
    put(body, settings["order_reference_field"], order_reference(order["id"]))
    return body


def created_reference(answer: Any, location: str | None, settings: Settings) -> str | None:
    """The WMS's reference for an order it just made: ``reference_field`` of the answer, else
    the last segment of its ``Location`` header, else None."""
    reference = ext_id(dig(answer, settings["reference_field"])) if answer is not None else None
    if text(reference):
        return text(reference)
    if location:
        segment = urlsplit(location).path.rstrip("/").rpartition("/")[2]
        return text(segment)
    return None


def found_reference(answer: Any, order_id: int, settings: Settings) -> str | None:
    """The WMS's reference of the order with the hub's ``order_id`` in a lookup's answer (a
    list, or one order). A list whose items do not carry the external reference is trusted
    only when it holds exactly one order."""
    if isinstance(answer, list):
        candidates = answer
    else:
        listed = dig(answer, settings["items_path"]) if settings["items_path"] else None
        candidates = listed if isinstance(listed, list) else [answer]
    orders = [c for c in candidates if isinstance(c, Mapping)]
    wanted = order_reference(order_id)
    own = settings["order_reference_field"]
    matching = [o for o in orders if ext_id(dig(o, own)) == wanted]
    if not matching and len(orders) == 1 and dig(orders[0], own) is None:
        matching = orders
    for order in matching:
        reference = text(ext_id(dig(order, settings["reference_field"])))
        if reference:
            return reference
    return None


# -- lists ---------------------------------------------------------------------------------


def list_items(answer: Any, path: str, what: str) -> list[Any]:
    """The items of one page of a list. A missing list is a configuration problem, said with
    the keys the answer does have; an explicit ``null`` is an empty page."""
    items = dig(answer, path)
    if isinstance(items, list):
        return items
    if items is None and isinstance(answer, Mapping) and path and _present(answer, path):
        return []
    if isinstance(answer, Mapping):
        keys = ", ".join(sorted(str(k) for k in answer)) or "none"
        raise TranslationError(f"{what}: no list at {path!r} in the answer (its keys: {keys})")
    raise TranslationError(f"{what}: no list at {path!r} in the answer")


def _present(answer: Mapping[str, Any], path: str) -> bool:
    *parents, last = path.split(".")
    holder = dig(answer, ".".join(parents)) if parents else answer
    return isinstance(holder, Mapping) and last in holder


def next_cursor(answer: Any, settings: Settings) -> str | None:
    """Where the next page starts: a cursor token, or a link (see :func:`is_link`)."""
    value = dig(answer, settings["next_cursor_path"])
    if isinstance(value, bool):
        return None
    return text(ext_id(value))


def is_link(cursor: str) -> bool:
    """A cursor that is an address (``https://...`` or ``/api/...``) rather than a token."""
    return cursor.startswith(("http://", "https://", "/"))


# -- stock ---------------------------------------------------------------------------------


def stock_counts(items: list[Any], settings: Settings) -> tuple[list[StockCount], list[str]]:
    """One page of stock levels as counts, and the problems of rows left out. A negative
    level (a WMS that oversold) counts as 0: the ledger holds no negative stock."""
    counts: list[StockCount] = []
    problems: list[str] = []
    location_field = settings.get("location_field")
    for i, item in enumerate(items):
        where = f"stock item {i}"
        sku = text(ext_id(dig(item, settings["sku_field"])))
        if sku is None:
            problems.append(f"{where}: no SKU at {settings['sku_field']!r}; left out")
            continue
        on_hand = whole(dig(item, settings["on_hand_field"]))
        if not isinstance(on_hand, int) or isinstance(on_hand, bool):
            problems.append(
                f"{where} ({sku}): on hand {on_hand!r} at {settings['on_hand_field']!r} is not "
                "a whole number; left out"
            )
            continue
        if on_hand < 0:
            problems.append(f"{where} ({sku}): on hand {on_hand} counted as 0")
            on_hand = 0
        location = text(ext_id(dig(item, location_field))) if location_field else None
        counts.append(StockCount(sku=sku, on_hand=on_hand, location=location))
    return counts, problems


def merge_counts(counts: list[StockCount]) -> list[StockCount]:
    """One count per SKU and location: rows of the same place (lots, bins, pages) added up."""
    totals: dict[tuple[str, str | None], int] = {}
    for count in counts:
        key = (count.sku, count.location)
        totals[key] = totals.get(key, 0) + count.on_hand
    return [StockCount(sku=sku, on_hand=n, location=loc) for (sku, loc), n in totals.items()]


# -- shipments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Shipment:
    """One WMS shipment read: its id at the WMS, the body for the hub, and what was odd."""

    id: str | None
    body: dict[str, Any]
    problems: list[str] = field(default_factory=list)


def hub_order_id(reference: Any) -> Any:
    """The hub's order id from a shipment's external reference; a value that is no id is kept
    as it is, so the hub's refusal names it."""
    number = whole(reference)
    return number if isinstance(number, int) and not isinstance(number, bool) else reference


def carrier_name(value: Any, carrier_map: Mapping[str, str]) -> str | None:
    """The hub's carrier name for a WMS carrier code: ``carrier_map`` (any case), else the
    code lower-cased (a WMS that already says ``royalmail`` needs no map)."""
    code = text(value)
    if code is None:
        return None
    mapped = {k.strip().lower(): v for k, v in carrier_map.items()}
    return mapped.get(code.lower(), code.lower())


def _line(line: Any, settings: Settings) -> dict[str, Any]:
    ref: dict[str, Any] = {}
    line_id = text(ext_id(dig(line, settings.get("line_id_field"))))
    sku = text(ext_id(dig(line, settings["line_sku_field"])))
    # Only what the WMS gave: an absent SKU must not match an order line that has none.
    if line_id:
        ref["line_id"] = line_id
    elif sku:
        ref["sku"] = sku
    ref["quantity"] = whole(dig(line, settings["line_quantity_field"]))
    return ref


def shipment(item: Any, settings: Settings) -> Shipment:
    """A WMS shipment as a ``POST /api/shipments`` body: one parcel with its lines."""
    problems: list[str] = []
    shipment_id = text(ext_id(dig(item, settings["shipment_id_field"])))
    lines = dig(item, settings["lines_field"])
    parcel: dict[str, Any] = {
        "carrier": carrier_name(dig(item, settings["carrier_field"]), settings["carrier_map"]),
        "tracking_number": text(ext_id(dig(item, settings["tracking_field"]))),
        "lines": [_line(line, settings) for line in lines] if isinstance(lines, list) else [],
    }
    service = text(dig(item, settings["service_field"]))
    if service:
        parcel["service"] = service
    body: dict[str, Any] = {
        "order_id": hub_order_id(dig(item, settings["shipment_order_field"])),
        "parcels": [parcel],
    }
    shipped_at = dig(item, settings["shipped_at_field"])
    try:
        when = utc(shipped_at)
    except TranslationError:
        # The parcel left all the same; the hub then records it as shipped now.
        problems.append(f"shipment {shipment_id}: shipped_at {shipped_at!r} is no ISO 8601 time")
        when = None
    if when is not None:
        body["shipped_at"] = iso(when)
    return Shipment(id=shipment_id, body=body, problems=problems)
