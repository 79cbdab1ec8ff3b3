"""The canonical order model: the one shape every channel's orders are translated into.

Money is Decimal, outside ids are strings, times are aware UTC datetimes. :func:`order_to_json`
gives the JSON form the API returns (money as decimal strings, times as ISO 8601 ``Z``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from hub.values import iso, minor


class OrderStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    ON_HOLD = "on_hold"
    READY = "ready"
    RELEASED = "released"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    NEEDS_ATTENTION = "needs_attention"


#: Statuses the hub reaches by its own work (warehouse, carriers); a channel update that is
#: merely "paid and open" must not move an order back out of them.
HUB_OWNED_STATUSES = frozenset(
    {
        OrderStatus.RELEASED,
        OrderStatus.PARTIALLY_SHIPPED,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
    }
)


@dataclass
class Customer:
    email: str | None = None
    name: str | None = None
    phone: str | None = None


@dataclass
class Address:
    name: str | None = None
    company: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    phone: str | None = None


@dataclass
class Line:
    external_id: str | None
    sku: str | None
    name: str | None
    quantity: int
    unit_price: Decimal
    discount: Decimal
    tax: Decimal
    requires_shipping: bool = True


@dataclass
class Shipping:
    method: str | None = None
    carrier_service: str | None = None
    price: Decimal = Decimal("0")


@dataclass
class Totals:
    """What the order costs, the same for every channel (see :func:`totals_problems`).

    ``subtotal`` is the sum of ``unit_price * quantity`` before any discount; ``discount`` every
    discount on lines and order, positive; ``shipping`` after its own discounts; ``tax`` all
    tax; ``tax_included`` whether the prices already contain the tax. Then ``total`` is
    ``subtotal - discount + shipping + (tax unless tax_included)``.
    """

    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    tax: Decimal
    tax_included: bool
    total: Decimal


@dataclass
class Order:
    """A canonical order. ``client``, ``account`` and ``id`` are set by the hub, not translators."""

    channel: str
    external_id: str
    number: str | None
    status: OrderStatus
    placed_at: datetime | None
    updated_at: datetime | None
    currency: str
    customer: Customer
    shipping_address: Address | None
    billing_address: Address | None
    lines: list[Line]
    shipping: Shipping
    totals: Totals
    notes: str | None = None
    tags: list[str] = field(default_factory=list)
    client: str | None = None
    account: str | None = None
    id: int | None = None


@dataclass
class OrderUpdate:
    """A translator's answer for a payload that carries an order.

    ``problems`` are reasons the order cannot be fulfilled as it stands (e.g. no shipping
    country); the hub puts the order in ``needs_attention`` and writes them on its timeline.
    """

    order: Order
    problems: list[str] = field(default_factory=list)
    #: the channel's own status word (e.g. WooCommerce ``processing``), for status lookups
    channel_status: str | None = None
    #: the entry of ``problems`` that says the channel status could not be judged, if any;
    #: a mapping that maps the status drops it
    status_problem: str | None = None
    #: returns the same payload tells of (WooCommerce: the order's refunds), applied after
    #: the order
    returns: list[ReturnRequest] = field(default_factory=list)


@dataclass
class OrderRemoved:
    """The channel deleted (or trashed) the order; only its id is known."""

    external_id: str


#: why a customer sends something back (Shopify's return reasons, lower-cased)
RETURN_REASONS = (
    "color", "defective", "not_as_described", "other", "size_too_large", "size_too_small",
    "style", "unknown", "unwanted", "wrong_item",
)  # fmt: skip


@dataclass
class ReturnLineRequest:
    """One line of a return as a channel names it: its own line id, else the SKU."""

    quantity: int
    line_id: str | None = None
    sku: str | None = None
    reason: str = "unknown"


@dataclass
class ReturnRequest:
    """A translator's answer for a return (or a refund that returns goods) on a channel.

    ``status``: what the channel says of it: ``requested``, ``authorised``, ``rejected``,
    ``cancelled`` or ``closed`` (refunded there). The hub opens the return the first time it
    hears of ``external_id`` and moves it on after, once per step (a webhook sent twice
    changes nothing)."""

    order_external_id: str
    external_id: str
    status: str
    lines: list[ReturnLineRequest]
    note: str | None = None
    reason_text: str | None = None


@dataclass
class CustomerErasure:
    """The channel asks that everything kept about one of its customers be erased (eBay's
    marketplace account deletion). ``customer_refs`` are the channel's own names for the
    customer (a username, a user id), as :meth:`hub.connectors.Connector.customer_of` reads
    them off stored payloads; ``reason`` goes on the audit log and the orders' timelines."""

    customer_refs: tuple[str, ...]
    reason: str


Translation = OrderUpdate | OrderRemoved | ReturnRequest | CustomerErasure

NO_SHIPPING_ADDRESS = "no shipping address for lines that need shipping"
NO_SHIPPING_COUNTRY = "shipping address has no country code"
NO_LINES = "the order has no lines"

#: statuses of orders the hub will not fulfil: nothing about them can stop a shipment
NOT_TO_FULFIL = frozenset({OrderStatus.CANCELLED, OrderStatus.SHIPPED, OrderStatus.DELIVERED})


def to_fulfil(order: Order) -> bool:
    """Whether the hub is to fulfil the order: not cancelled, not already fulfilled."""
    return order.status not in NOT_TO_FULFIL


def fulfilment_problems(
    order: Order, *, line_path: str = "lines", totals: bool = True
) -> list[str]:
    """Reasons a translated order cannot be fulfilled as it stands, the same for every channel.

    An order the hub will not fulfil (cancelled, or already fulfilled on the channel) has none:
    otherwise the hub would move a dead or finished order to ``needs_attention``. Lines are
    named ``<line_path>[i]``, so a translator can point at its own payload's list. Besides the
    address and SKUs, the lines and totals must make sense (:func:`totals_problems`), unless
    ``totals`` is false (lines a mapping reshaped, e.g. a kit, no longer sum as the channel's).
    """
    if not to_fulfil(order):
        return []
    problems = totals_problems(order, line_path=line_path) if totals else []
    shipped = [(i, line) for i, line in enumerate(order.lines) if line.requires_shipping]
    if not shipped:
        return problems
    if order.shipping_address is None:
        problems.append(NO_SHIPPING_ADDRESS)
    elif order.shipping_address.country_code is None:
        problems.append(NO_SHIPPING_COUNTRY)
    problems.extend(f"{line_path}[{i}]: no SKU" for i, line in shipped if line.sku is None)
    return problems


def totals_problems(order: Order, *, line_path: str = "lines") -> list[str]:
    """Where an order's lines and totals break the contract, each with the difference named.

    No lines; a negative quantity or amount; lines that do not add up to the subtotal
    (``Σ unit_price * quantity``); totals that do not add up (``subtotal - discount + shipping
    + tax unless tax_included``). Amounts are compared to the currency's minor unit.
    """
    if not order.lines:
        return [NO_LINES]
    problems = []
    for i, line in enumerate(order.lines):
        for name in ("quantity", "unit_price", "discount", "tax"):
            value = getattr(line, name)
            if value < 0:
                problems.append(f"{line_path}[{i}]: negative {name.replace('_', ' ')} {value}")
    totals = order.totals
    for name in ("subtotal", "discount", "shipping", "tax", "total"):
        value = getattr(totals, name)
        if value < 0:
            problems.append(f"negative {name} {value}")
    cur = order.currency
    lines_sum = minor(sum((ln.unit_price * ln.quantity for ln in order.lines), Decimal(0)), cur)
    if lines_sum != minor(totals.subtotal, cur):
        problems.append(
            f"lines add up to {lines_sum} but the subtotal is {totals.subtotal} "
            f"(difference {minor(totals.subtotal - lines_sum, cur)})"
        )
    expected = totals.subtotal - totals.discount + totals.shipping
    if not totals.tax_included:
        expected += totals.tax
    if minor(expected, cur) != minor(totals.total, cur):
        tax = "tax included" if totals.tax_included else f"+ tax {totals.tax}"
        problems.append(
            f"totals do not add up: subtotal {totals.subtotal} - discount {totals.discount} "
            f"+ shipping {totals.shipping} {tax} = {minor(expected, cur)}, but the total is "
            f"{totals.total} (difference {minor(totals.total - expected, cur)})"
        )
    return problems


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


ORDER_FIELDS = (
    "id",
    "client",
    "channel",
    "account",
    "external_id",
    "number",
    "status",
    "placed_at",
    "updated_at",
    "currency",
    "customer",
    "shipping_address",
    "billing_address",
    "lines",
    "shipping",
    "totals",
    "notes",
    "tags",
)


def order_to_json(order: Order) -> dict[str, Any]:
    """The canonical JSON form: money as strings, times ISO 8601 UTC, keys in contract order."""
    raw = asdict(order)
    raw["status"] = str(order.status)
    return {name: _plain(raw[name]) for name in ORDER_FIELDS}
