"""WooCommerce REST v3 orders to canonical orders. Pure functions: no I/O, no database.

The webhook body for ``order.created`` / ``order.updated`` / ``order.restored`` is the same JSON
as ``GET /wp-json/wc/v3/orders/<id>``; for ``order.deleted`` it is only ``{"id": N}``. The
payload must have been parsed with :func:`hub.values.loads`, so JSON numbers that are not
integers (WooCommerce sends a line's ``price`` as a PHP float, e.g. ``12.5``) arrive as
``Decimal``; a ``float`` is refused by :func:`hub.values.money`.

Every error is a :class:`~hub.errors.TranslationError` whose ``path`` names the offending field
(``"$"`` is the body itself), e.g. ``line_items[1].total`` or ``shipping.country``.

Totals follow the canonical contract (:class:`hub.canonical.Totals`). WooCommerce keeps every
line, shipping and discount amount without tax, with the tax beside it (``subtotal_tax``,
``shipping_tax``, ``discount_tax``), whatever the store's setting. A store that enters prices
with tax (``prices_include_tax``) has ``tax_included`` set and its amounts read with their tax
added back, as the customer saw them. Each ``fee_lines`` entry (a handling or payment fee)
becomes a line that does not ship, without a SKU; a negative fee (a discount entered as a fee)
adds to ``discount`` instead.

The order's refunds, when ``fetch`` has read them beside it (``returns.REFUNDS_KEY``), become
the update's ``returns``: the goods WooCommerce restocked (see ``returns.py``).
"""

from __future__ import annotations

import html
from datetime import datetime
from decimal import Decimal, Inexact, localcontext
from typing import Any

from connectors.channels.woocommerce import returns
from hub import values
from hub.canonical import (
    Address,
    Customer,
    Line,
    Order,
    OrderRemoved,
    OrderStatus,
    OrderUpdate,
    Shipping,
    Totals,
    fulfilment_problems,
)
from hub.errors import TranslationError

CHANNEL = "woocommerce"

#: Webhook topics this module translates (``X-WC-Webhook-Topic``).
ORDER_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")

#: WooCommerce core order statuses (REST slugs, without the ``wc-`` prefix) to canonical ones.
_STATUSES: dict[str, OrderStatus] = {
    # Not paid yet. "on-hold" is Woo's "awaiting manual payment confirmation" (e.g. bank
    # transfer); "failed" means the payment failed and the customer may still retry;
    # "checkout-draft" is a block-checkout cart that has not been placed.
    "pending": OrderStatus.AWAITING_PAYMENT,
    "on-hold": OrderStatus.AWAITING_PAYMENT,
    "failed": OrderStatus.AWAITING_PAYMENT,
    "checkout-draft": OrderStatus.AWAITING_PAYMENT,
    # Paid, waiting to be fulfilled.
    "processing": OrderStatus.READY,
    # Woo's "completed" means fulfilled (shipped) by the merchant.
    "completed": OrderStatus.SHIPPED,
    "cancelled": OrderStatus.CANCELLED,
    "refunded": OrderStatus.CANCELLED,
    "trash": OrderStatus.CANCELLED,
}

_ADDRESS_FIELDS = (
    ("company", "company"),
    ("address_1", "line1"),
    ("address_2", "line2"),
    ("city", "city"),
    ("state", "region"),
    ("postcode", "postal_code"),
)


def order_status(woo_status: str) -> tuple[OrderStatus, str | None]:
    """Map a WooCommerce order status to a canonical status and, if unknown, a problem.

    ``pending``, ``on-hold``, ``failed`` and ``checkout-draft`` are awaiting payment;
    ``processing`` is ready to fulfil; ``completed`` is shipped; ``cancelled``, ``refunded``
    and ``trash`` are cancelled. Any other status (plugins register custom ones) cannot be
    judged here, so the order is held (``on_hold``) with a problem naming the status.
    """
    slug = woo_status.strip().lower()
    known = _STATUSES.get(slug)
    if known is not None:
        return known, None
    return OrderStatus.ON_HOLD, f"unknown WooCommerce status {woo_status!r}"


def translate_order(payload: Any, *, topic: str) -> OrderUpdate | OrderRemoved:
    """Translate one order webhook body for ``topic`` (one of :data:`ORDER_TOPICS`).

    ``order.deleted`` gives :class:`OrderRemoved` (its body is only ``{"id": N}``); the other
    topics give :class:`OrderUpdate` with the canonical order and its problems. An unknown
    topic, a body that is not a JSON object, or a missing id is a TranslationError.
    """
    if topic not in ORDER_TOPICS:
        raise TranslationError(f"not a WooCommerce order topic: {topic!r}")
    if not isinstance(payload, dict):
        raise TranslationError(f"expected a JSON object, got {type(payload).__name__}", path="$")
    external_id = _id(payload.get("id"), path="id", required=True)
    assert external_id is not None
    if topic == "order.deleted":
        return OrderRemoved(external_id=external_id)
    return _order_update(payload, external_id)


def _order_update(data: dict[str, Any], external_id: str) -> OrderUpdate:
    """Build the canonical order from a full REST v3 order and collect its problems."""
    problems: list[str] = []
    currency = _currency(data.get("currency"))

    raw_status = data.get("status")
    if not isinstance(raw_status, str) or not raw_status.strip():
        raise TranslationError(f"missing or not a status: {raw_status!r}", path="status")
    status, status_problem = order_status(raw_status)
    if status_problem:
        problems.append(status_problem)

    billing = values.json_object(data.get("billing"), path="billing")
    shipping = values.json_object(data.get("shipping"), path="shipping")
    shipping_address = _address(shipping, path="shipping")
    billing_address = _address(billing, path="billing")

    shipping_lines = values.json_objects(data.get("shipping_lines"), path="shipping_lines")
    requires_shipping = _requires_shipping(shipping_lines, shipping_address)

    tax_included = data.get("prices_include_tax") is True
    items = values.json_objects(data.get("line_items"), path="line_items")
    lines = [
        _line(
            item,
            currency,
            path=f"line_items[{i}]",
            requires_shipping=requires_shipping,
            tax_included=tax_included,
        )
        for i, item in enumerate(items)
    ]
    subtotal = values.money("0", currency)
    for i, item in enumerate(items):
        subtotal += _with_tax(item, "subtotal", currency, f"line_items[{i}]", tax_included)
    discount = _with_tax(data, "discount", currency, "", tax_included, amount="discount_total")
    for i, fee in enumerate(values.json_objects(data.get("fee_lines"), path="fee_lines")):
        charge = _with_tax(fee, "total", currency, f"fee_lines[{i}]", tax_included)
        if charge < 0:
            discount -= charge
            continue
        subtotal += charge
        lines.append(
            Line(
                external_id=_id(fee.get("id"), path=f"fee_lines[{i}].id", required=False),
                sku=None,
                name=values.text(fee.get("name")),
                quantity=1,
                unit_price=charge,
                discount=values.money("0", currency),
                tax=values.money(fee.get("total_tax"), currency, path=f"fee_lines[{i}].total_tax"),
                requires_shipping=False,
            )
        )
    charged = _shipping(shipping_lines, data, currency, tax_included)

    order = Order(
        channel=CHANNEL,
        external_id=external_id,
        number=values.text(data.get("number")),
        status=status,
        placed_at=_placed_at(data),
        updated_at=values.utc(data.get("date_modified_gmt"), path="date_modified_gmt"),
        currency=currency,
        customer=Customer(
            email=values.text(billing.get("email")),
            name=_full_name(billing) or _full_name(shipping),
            phone=values.text(billing.get("phone")),
        ),
        shipping_address=shipping_address,
        billing_address=billing_address,
        lines=lines,
        shipping=charged,
        totals=Totals(
            subtotal=subtotal,
            discount=discount,
            shipping=charged.price,
            tax=values.money(data.get("total_tax"), currency, path="total_tax"),
            tax_included=tax_included,
            total=values.money(data.get("total"), currency, path="total"),
        ),
        notes=values.text(data.get("customer_note")),
        tags=[],
    )
    return OrderUpdate(
        order=order,
        problems=problems + fulfilment_problems(order, line_path="line_items"),
        channel_status=raw_status.strip(),
        status_problem=status_problem,
        returns=returns.returns_of(data, external_id),
    )


def _requires_shipping(shipping_lines: list[dict[str, Any]], address: Address | None) -> bool:
    """Whether the order's lines need shipping (applied to every line of the order).

    WooCommerce knows per product whether it is virtual or downloadable, but REST v3 line items
    do not carry that flag (neither the line nor its ``meta_data`` says so), and looking the
    product up would be I/O. So this is judged per order: a line requires shipping unless the
    order has no ``shipping_lines`` and no shipping address, in which case nothing is shipped
    (Woo leaves both empty when every item in the cart is virtual). A mixed order (some
    virtual items) therefore has all its lines marked as requiring shipping.
    """
    return bool(shipping_lines) or address is not None


def _with_tax(
    data: dict[str, Any],
    key: str,
    currency: str,
    path: str,
    tax_included: bool,
    *,
    amount: str | None = None,
) -> Decimal:
    """``data[amount or key]``, plus its tax ``data[key + "_tax"]`` when prices include tax.

    Woo names the tax beside the amount: ``subtotal``/``subtotal_tax``, ``total``/
    ``total_tax``, ``shipping_total``/``shipping_tax``, ``discount_total``/``discount_tax``.
    """
    at = f"{path}." if path else ""
    name = amount or key
    value = values.money(data.get(name), currency, path=f"{at}{name}")
    if tax_included:
        value += values.money(data.get(f"{key}_tax"), currency, path=f"{at}{key}_tax")
    return value


def _line(
    item: dict[str, Any],
    currency: str,
    *,
    path: str,
    requires_shipping: bool,
    tax_included: bool = False,
) -> Line:
    """One ``line_items`` entry as a canonical line.

    ``unit_price``: see :func:`_unit_price`. ``discount`` is ``subtotal - total``; ``tax`` is
    the line's ``total_tax`` (after discounts). With ``tax_included`` the subtotal and total
    carry their tax (``subtotal_tax``, ``total_tax``). The name has its HTML entities decoded
    (Woo stores variation names such as ``Shirt &ndash; Color: Black``).
    """
    quantity = values.quantity(item.get("quantity"), path=f"{path}.quantity")
    subtotal = _with_tax(item, "subtotal", currency, path, tax_included)
    total = _with_tax(item, "total", currency, path, tax_included)
    discount = values.money(subtotal - total, currency)
    unit_price = _unit_price(item, subtotal, quantity, discount, currency, path=path)
    name = item.get("name")
    return Line(
        external_id=_id(item.get("id"), path=f"{path}.id", required=False),
        sku=values.text(item.get("sku")),
        name=values.text(html.unescape(name)) if isinstance(name, str) else values.text(name),
        quantity=quantity,
        unit_price=unit_price,
        discount=discount,
        tax=values.money(item.get("total_tax"), currency, path=f"{path}.total_tax"),
        requires_shipping=requires_shipping,
    )


def _unit_price(
    item: dict[str, Any],
    subtotal: Decimal,
    quantity: int,
    discount: Decimal,
    currency: str,
    *,
    path: str,
) -> Decimal:
    """The pre-discount price per unit: ``subtotal / quantity``, kept exact.

    When that does not divide evenly (10.00 for 3), WooCommerce's own ``price`` field is kept
    exactly as sent. But Woo computes ``price`` as ``total / quantity``, i.e. after discounts,
    so it is only used when the line has no discount; a discounted uneven line keeps the
    quotient to 28 significant digits instead. A zero quantity uses ``price`` (Woo sends 0).
    """
    if quantity:
        exact = _exact_quotient(subtotal, quantity)
        if exact is not None:
            return values.money(exact, currency)
        if discount != 0 or item.get("price") is None:
            with localcontext() as ctx:
                ctx.prec = 28
                return values.money(subtotal / quantity, currency)
    return values.money(item.get("price"), currency, path=f"{path}.price")


def _exact_quotient(dividend: Decimal, divisor: int) -> Decimal | None:
    """``dividend / divisor`` if it is an exact (terminating) decimal, else None."""
    with localcontext() as ctx:
        ctx.prec = 100
        ctx.traps[Inexact] = True
        try:
            return dividend / divisor
        except Inexact:
            return None


def _shipping(
    lines: list[dict[str, Any]], data: dict[str, Any], currency: str, tax_included: bool
) -> Shipping:
    """Method titles joined with ``" + "``; price is the sum of the shipping lines' totals
    (with their tax when prices include tax).

    Without shipping lines the price falls back to the order's ``shipping_total``.
    """
    titles = [values.text(html.unescape(str(line.get("method_title") or ""))) for line in lines]
    method = " + ".join(t for t in titles if t) or None
    if lines:
        price = values.money("0", currency)
        for i, line in enumerate(lines):
            price += _with_tax(line, "total", currency, f"shipping_lines[{i}]", tax_included)
    else:
        price = _with_tax(data, "shipping", currency, "", tax_included, amount="shipping_total")
    return Shipping(method=method, carrier_service=None, price=price)


def _address(data: dict[str, Any], *, path: str) -> Address | None:
    """A ``billing`` or ``shipping`` object as an Address; None when every field is empty."""
    fields = {name: values.text(data.get(key)) for key, name in _ADDRESS_FIELDS}
    address = Address(
        name=_full_name(data),
        country_code=values.country(data.get("country"), path=f"{path}.country"),
        phone=values.text(data.get("phone")),
        **fields,
    )
    if all(value is None for value in vars(address).values()):
        return None
    return address


def _full_name(data: dict[str, Any]) -> str | None:
    """``first_name`` and ``last_name`` joined with a space; None if both are empty."""
    parts = [values.text(data.get("first_name")), values.text(data.get("last_name"))]
    return " ".join(p for p in parts if p) or None


def _placed_at(data: dict[str, Any]) -> datetime | None:
    """``date_created_gmt`` (naive, UTC); ``date_created`` only when the GMT field is absent.

    ``date_created`` is the site's local time without an offset; it is read as UTC, which can
    be off by the site's offset, but only applies to payloads missing the GMT field.
    """
    if data.get("date_created_gmt") not in (None, ""):
        return values.utc(data["date_created_gmt"], path="date_created_gmt")
    return values.utc(data.get("date_created"), path="date_created")


def _currency(value: Any) -> str:
    """The order's ISO 4217 code, upper-cased; required."""
    code = values.text(value)
    if code is None or len(code) != 3 or not code.isalpha():
        raise TranslationError(f"not an ISO 4217 currency code: {value!r}", path="currency")
    return code.upper()


def _id(value: Any, *, path: str, required: bool) -> str | None:
    """An outside id as a string, exactly (64-bit ints survive); bools and fractions refused."""
    if value is None or value == "":
        if required:
            raise TranslationError("missing id", path=path)
        return None
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise TranslationError(f"not an id: {value!r}", path=path)
    if isinstance(value, Decimal) and value != value.to_integral_value():
        raise TranslationError(f"not an id: {value!r}", path=path)
    out = values.ext_id(value)
    if out is None or not out.strip():
        raise TranslationError(f"not an id: {value!r}", path=path)
    return out.strip()
