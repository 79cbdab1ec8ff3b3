"""Shopify REST order resource -> canonical order. Pure functions: no I/O, no database.

Webhooks for ``orders/*`` carry the full REST Order resource, unwrapped; ``GET
/orders/<id>.json`` returns the same resource wrapped in ``{"order": ...}``. Both are accepted.

Choices worth knowing:

* Money is the shop currency (``currency``) and the plain amount fields (``price``,
  ``total_price``...), which are the ``shop_money`` side of the ``*_set`` pairs. Amounts go
  through :func:`hub.values.money`, so a payload parsed with :func:`hub.values.loads` stays exact.
* Times must carry a UTC offset (Shopify always sends one, in the shop's time zone); a naive
  time would be ambiguous, so it is refused rather than guessed.
* Totals follow the canonical contract (:class:`hub.canonical.Totals`): the order as it stands
  now. When the payload has the ``current_*`` fields (refunds and order edits applied), lines
  carry ``current_quantity`` with their discount and tax shared out by it, and the totals come
  from ``current_subtotal_price`` (after discounts, so the line discounts are added back),
  ``current_total_tax`` and ``current_total_price``; otherwise from ``total_line_items_price``,
  ``total_tax`` and ``total_price``. ``discount`` is the sum of the lines' discount allocations
  (order-level discounts are allocated to lines too); shipping discounts stay with shipping,
  which is each shipping line's ``price`` minus its own allocations and, read with the
  ``current_*`` fields, minus the shipping the ``refunds`` gave back (see
  :func:`_refunded_shipping`, which also says why a ``refund_discrepancy`` changes no total).
  Duties are charged with the totals' ``shipping``, never ``tax`` (see :func:`_totals` for
  why). ``tax_included`` is ``taxes_included``.
* The status comes from the payload (see :func:`order_status`), never from the topic: deliveries
  can arrive out of order, and the hub drops stale ones by ``updated_at``.
* :class:`~hub.errors.TranslationError` paths point into the payload as received, so a wrapped
  payload's paths start with ``order.``; ``$`` names the payload itself. Problem texts name
  fields relative to the order, so they read the same for either form.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hub.canonical import (
    Address,
    Customer,
    Line,
    Order,
    OrderStatus,
    OrderUpdate,
    Shipping,
    Totals,
    fulfilment_problems,
)
from hub.errors import TranslationError
from hub.values import country, json_array, minor, money, text, utc

CHANNEL = "shopify"

#: webhook topics whose body is an Order resource
ORDER_TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/cancelled",
    "orders/fulfilled",
)


_CANCELLED_FINANCIAL = frozenset({"voided", "refunded"})
_PAID_FINANCIAL = frozenset({"paid", "partially_refunded", "authorized"})


def translate_order(payload: Any, *, topic: str) -> OrderUpdate:
    """Translate one Shopify order payload (webhook body or wrapped REST response).

    ``payload`` must already be parsed with :func:`hub.values.loads`. Raises
    :class:`~hub.errors.TranslationError` (with ``path``) for an unknown topic or a payload that
    cannot be an order.
    """
    if topic not in ORDER_TOPICS:
        raise TranslationError(f"not a Shopify order topic: {topic!r}")
    raw, base = _unwrap(payload)

    def at(key: str) -> str:
        return f"{base}.{key}" if base else key

    external_id = _id(raw.get("id"), at("id"))
    if external_id is None:
        raise TranslationError("order has no id", path=at("id"))
    currency = _currency(raw.get("currency"), at("currency"))

    shipping_address = _address(raw.get("shipping_address"), at("shipping_address"))
    billing_address = _address(raw.get("billing_address"), at("billing_address"))
    lines = [
        _line(item, f"{at('line_items')}[{i}]", currency)
        for i, item in enumerate(json_array(raw.get("line_items"), path=at("line_items")))
    ]
    current = raw.get("current_total_price") is not None
    shipping = _shipping(raw, at, currency)
    if current:
        refunded = _refunded_shipping(raw, at, currency)
        shipping = Shipping(shipping.method, shipping.carrier_service, shipping.price - refunded)
    totals = _totals(raw, at, currency, lines, shipping)
    cancelled_at = utc(raw.get("cancelled_at"), naive_is_utc=False, path=at("cancelled_at"))
    status = order_status(
        financial_status=text(raw.get("financial_status")),
        fulfillment_status=text(raw.get("fulfillment_status")),
        cancelled=cancelled_at is not None,
    )

    order = Order(
        channel=CHANNEL,
        external_id=external_id,
        number=text(raw.get("name")) or _id(raw.get("order_number"), at("order_number")),
        status=status,
        placed_at=utc(raw.get("created_at"), naive_is_utc=False, path=at("created_at")),
        updated_at=utc(raw.get("updated_at"), naive_is_utc=False, path=at("updated_at")),
        currency=currency,
        customer=_customer(raw, at, shipping_address, billing_address),
        shipping_address=shipping_address,
        billing_address=billing_address,
        lines=lines,
        shipping=shipping,
        totals=totals,
        notes=text(raw.get("note")),
        tags=_tags(raw.get("tags"), at("tags")),
    )
    return OrderUpdate(order=order, problems=fulfilment_problems(order, line_path="line_items"))


def order_status(
    *, financial_status: str | None, fulfillment_status: str | None, cancelled: bool
) -> OrderStatus:
    """The canonical status of a Shopify order, from its cancel mark and two status fields.

    In order of precedence:

    1. ``cancelled_at`` set, or ``financial_status`` ``voided``/``refunded``: **cancelled**. The
       money is gone or was never taken, so nothing may ship, whatever else the order says.
    2. ``fulfillment_status`` ``fulfilled``: **shipped**; ``partial``: **partially_shipped**.
       The goods (or some) already left through Shopify, so the hub must not ship them again.
    3. ``financial_status`` ``paid``, ``partially_refunded`` or ``authorized``: **ready**.
       ``authorized`` counts as paid: the funds are secured, and Shopify shops commonly capture
       payment only on fulfilment, so waiting for ``paid`` would deadlock those shops.
    4. Anything else (``pending``, ``partially_paid``, missing or unknown): **awaiting_payment**.
    """
    financial = (financial_status or "").lower()
    fulfillment = (fulfillment_status or "").lower()
    if cancelled or financial in _CANCELLED_FINANCIAL:
        return OrderStatus.CANCELLED
    if fulfillment == "fulfilled":
        return OrderStatus.SHIPPED
    if fulfillment == "partial":
        return OrderStatus.PARTIALLY_SHIPPED
    if financial in _PAID_FINANCIAL:
        return OrderStatus.READY
    return OrderStatus.AWAITING_PAYMENT


# -- parts --------------------------------------------------------------------------------


def _unwrap(payload: Any) -> tuple[dict[str, Any], str]:
    """The order object and the path prefix of its fields (``order`` when wrapped)."""
    if not isinstance(payload, dict):
        raise TranslationError(f"expected a JSON object, got {type(payload).__name__}", path="$")
    if "id" not in payload and "order" in payload:
        inner = payload["order"]
        if not isinstance(inner, dict):
            raise TranslationError(
                f"expected a JSON object, got {type(inner).__name__}", path="order"
            )
        return inner, "order"
    return payload, ""


def _quantities(raw: dict[str, Any], path: str) -> tuple[int, int]:
    """The quantity still owed and the quantity ordered.

    The first is ``current_quantity`` (quantity minus what refunds and order edits removed)
    when the payload has it, else ``quantity``: a refunded unit must not ship.
    """
    ordered = _quantity(raw.get("quantity"), f"{path}.quantity")
    if raw.get("current_quantity") is None:
        return ordered, ordered
    return _quantity(raw["current_quantity"], f"{path}.current_quantity"), ordered


def _share(amount: Decimal, part: int, whole: int, currency: str) -> Decimal:
    """The part of a line's ``amount`` that belongs to ``part`` of its ``whole`` units."""
    if part == whole or whole == 0:
        return amount
    return money(minor(amount * part / whole, currency), currency)


def _line(item: Any, path: str, currency: str) -> Line:
    """One ``line_items`` entry."""
    raw = _object(item, path)
    if raw is None:
        raise TranslationError("expected a JSON object, got null", path=path)
    allocations = raw.get("discount_allocations")
    if allocations is None:  # older payloads: only the per-line total
        discount = money(raw.get("total_discount"), currency, path=f"{path}.total_discount")
    else:
        discount = _sum(allocations, "amount", f"{path}.discount_allocations", currency)
    quantity, ordered = _quantities(raw, path)
    tax = _sum(raw.get("tax_lines"), "price", f"{path}.tax_lines", currency)
    # The field is always sent; if a trimmed payload lacks it, assume the line must ship.
    requires_shipping = bool(raw.get("requires_shipping", True)) and not raw.get("gift_card")
    return Line(
        external_id=_id(raw.get("id"), f"{path}.id"),
        sku=text(raw.get("sku")),
        name=text(raw.get("name")) or text(raw.get("title")),
        quantity=quantity,
        unit_price=money(raw.get("price"), currency, path=f"{path}.price"),
        discount=_share(discount, quantity, ordered, currency),
        tax=_share(tax, quantity, ordered, currency),
        requires_shipping=requires_shipping,
    )


def _totals(
    raw: dict[str, Any],
    at: Callable[[str], str],
    currency: str,
    lines: list[Line],
    shipping: Shipping,
) -> Totals:
    """The order's totals as it stands now (see the module notes).

    Duties (import duties the shop collects at checkout) are charged with ``shipping``: the
    canonical totals have no field for them, and Shopify adds them to its total on top of the
    line prices, so filed under ``tax`` they would drop out of the sum of a ``taxes_included``
    shop (the UK and EU stores that most often ship across a border with duties paid). Like
    carriage, they are a cost of getting the goods to the customer, paid on top of the goods.
    The amount is the order's ``current_total_duties_set`` (after refunds) with the
    ``current_*`` totals, else ``original_total_duties_set``; the lines' ``duties`` are the
    same money itemised by line, so they are not added again. ``shipping.price`` stays the
    price of the carriage alone. Should a shop's prices ever contain the duties, the order
    does not add up and is held with the difference named.
    """

    def amount(key: str) -> Decimal:
        return money(raw.get(key), currency, path=at(key))

    discount = money(sum((line.discount for line in lines), Decimal(0)), currency)
    if raw.get("current_total_price") is not None:
        subtotal = amount("current_subtotal_price") + discount
        tax, total = amount("current_total_tax"), amount("current_total_price")
        duties_key = "current_total_duties_set"
    else:
        subtotal = amount("total_line_items_price")
        tax, total = amount("total_tax"), amount("total_price")
        duties_key = "original_total_duties_set"
    duties = _shop_money(raw.get(duties_key), at(duties_key), currency)
    return Totals(
        subtotal=subtotal,
        discount=discount,
        shipping=shipping.price + duties,
        tax=tax,
        tax_included=raw.get("taxes_included") is True,
        total=total,
    )


def _shipping(raw: dict[str, Any], at: Callable[[str], str], currency: str) -> Shipping:
    """Method titles and total price of the ``shipping_lines``, after their own discounts.

    With no shipping lines the price falls back to ``total_shipping_price_set.shop_money``.
    """
    path = at("shipping_lines")
    entries = json_array(raw.get("shipping_lines"), path=path)
    if entries:
        objects = [_object(entry, f"{path}[{j}]") or {} for j, entry in enumerate(entries)]
        titles = [t for t in (text(entry.get("title")) for entry in objects) if t]
        return Shipping(
            method=" + ".join(titles) or None,
            carrier_service=None,
            price=_sum(entries, "price", path, currency)
            - sum(
                (
                    _sum(
                        entry.get("discount_allocations"),
                        "amount",
                        f"{path}[{j}].discount_allocations",
                        currency,
                    )
                    for j, entry in enumerate(objects)
                ),
                Decimal(0),
            ),
        )
    price = _shop_money(
        raw.get("total_shipping_price_set"), at("total_shipping_price_set"), currency
    )
    return Shipping(method=None, carrier_service=None, price=price)


def _refunded_shipping(raw: dict[str, Any], at: Callable[[str], str], currency: str) -> Decimal:
    """The shipping given back by the order's ``refunds``, as a positive amount.

    A refund names its refunded shipping in ``refund_shipping_lines`` (from API 2024-10, each
    ``subtotal_amount_set``, positive) or, before that, as ``order_adjustments`` of kind
    ``shipping_refund`` (``amount`` negative). Shopify's own 2025-04 example carries both for
    the same refund, so a refund's shipping lines, when it has any, win over its adjustments.
    The shipping lines keep their original price while ``current_total_price`` drops by the
    refund, so this is taken off shipping for the order as it stands now.

    Adjustments of kind ``refund_discrepancy`` change no total: they record that a refund paid
    back more or less than what it removed was worth (a restocking fee, a goodwill amount).
    What it removed has already left the order (``current_quantity`` and the ``current_*``
    totals), so the discrepancy is money between shop and customer, not part of what the order
    now costs. Nor is an adjustment's ``tax_amount`` applied: ``current_total_tax`` is
    Shopify's own figure after refunds. Were either ever part of ``current_total_price``, the
    order would not add up and would be held with the difference named, never guessed.
    """
    path = at("refunds")
    total = Decimal(0)
    for i, entry in enumerate(json_array(raw.get("refunds"), path=path)):
        refund = _object(entry, f"{path}[{i}]")
        if refund is None:
            raise TranslationError("expected a JSON object, got null", path=f"{path}[{i}]")
        lines_path = f"{path}[{i}].refund_shipping_lines"
        lines = json_array(refund.get("refund_shipping_lines"), path=lines_path)
        if lines:
            for j, line in enumerate(lines):
                obj = _object(line, f"{lines_path}[{j}]") or {}
                set_path = f"{lines_path}[{j}].subtotal_amount_set"
                total += _shop_money(obj.get("subtotal_amount_set"), set_path, currency)
            continue
        adjustments_path = f"{path}[{i}].order_adjustments"
        adjustments = json_array(refund.get("order_adjustments"), path=adjustments_path)
        for j, adjustment in enumerate(adjustments):
            obj = _object(adjustment, f"{adjustments_path}[{j}]") or {}
            if text(obj.get("kind")) == "shipping_refund":
                amount_path = f"{adjustments_path}[{j}].amount"
                total -= money(obj.get("amount"), currency, path=amount_path)
    return money(total, currency, path=path)


def _customer(
    raw: dict[str, Any],
    at: Callable[[str], str],
    shipping_address: Address | None,
    billing_address: Address | None,
) -> Customer:
    """Contact details: order fields first, then the customer record, then the addresses."""
    customer = _object(raw.get("customer"), at("customer")) or {}
    return Customer(
        email=text(raw.get("email"))
        or text(raw.get("contact_email"))
        or text(customer.get("email")),
        name=_full_name(customer) or (billing_address.name if billing_address else None),
        phone=text(raw.get("phone"))
        or text(customer.get("phone"))
        or (shipping_address.phone if shipping_address else None),
    )


def _address(value: Any, path: str) -> Address | None:
    """A Shopify address; absent (or with every field empty) is None."""
    raw = _object(value, path)
    if raw is None:
        return None
    address = Address(
        name=text(raw.get("name")) or _full_name(raw),
        company=text(raw.get("company")),
        line1=text(raw.get("address1")),
        line2=text(raw.get("address2")),
        city=text(raw.get("city")),
        region=text(raw.get("province_code")) or text(raw.get("province")),
        postal_code=text(raw.get("zip")),
        country_code=country(raw.get("country_code"), path=f"{path}.country_code"),
        phone=text(raw.get("phone")),
    )
    return address if any(vars(address).values()) else None


def _full_name(raw: dict[str, Any]) -> str | None:
    """``first_name`` and ``last_name`` joined, or None when both are empty."""
    parts = [p for p in (text(raw.get("first_name")), text(raw.get("last_name"))) if p]
    return " ".join(parts) or None


def _tags(value: Any, path: str) -> list[str]:
    """Shopify keeps tags as one comma-separated string; a list is accepted too."""
    if value is None:
        return []
    if isinstance(value, str):
        parts: list[Any] = value.split(",")
    elif isinstance(value, list):
        parts = value
    else:
        raise TranslationError(f"expected comma-separated tags, got {value!r}", path=path)
    return [tag for tag in (text(part) for part in parts) if tag]


# -- values -------------------------------------------------------------------------------


def _object(value: Any, path: str) -> dict[str, Any] | None:
    """A JSON object or None; anything else is a TranslationError."""
    if value is None or isinstance(value, dict):
        return value
    raise TranslationError(f"expected a JSON object, got {type(value).__name__}", path=path)


def _shop_money(value: Any, path: str, currency: str) -> Decimal:
    """The ``shop_money.amount`` of a Shopify ``*_set`` money pair (0 when absent)."""
    price_set = _object(value, path) or {}
    shop_money = _object(price_set.get("shop_money"), f"{path}.shop_money") or {}
    return money(shop_money.get("amount"), currency, path=f"{path}.shop_money.amount")


def _sum(entries: Any, key: str, path: str, currency: str) -> Decimal:
    """The exact sum of ``entry[key]`` over a JSON array of objects (0 when empty)."""
    total = Decimal(0)
    for j, entry in enumerate(json_array(entries, path=path)):
        obj = _object(entry, f"{path}[{j}]") or {}
        total += money(obj.get(key), currency, path=f"{path}[{j}].{key}")
    return money(total, currency, path=path)


def _id(value: Any, path: str) -> str | None:
    """A Shopify id as a string, exactly: 64-bit ints never pass through float."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TranslationError(f"not an id: {value!r}", path=path)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return text(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return str(int(value))
    raise TranslationError(f"not an id: {value!r}", path=path)


def _quantity(value: Any, path: str) -> int:
    """A whole, non-negative quantity."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TranslationError(f"not a whole quantity: {value!r}", path=path)
    return value


def _currency(value: Any, path: str) -> str:
    """The shop currency, an ISO 4217 code."""
    code = text(value)
    if code is None:
        raise TranslationError("order has no currency", path=path)
    code = code.upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise TranslationError(f"not an ISO 4217 currency code: {value!r}", path=path)
    return code
