"""BigCommerce V2 orders to canonical orders. Pure functions: no I/O, no database.

BigCommerce's webhooks are thin (``{"scope", "data": {"type", "id"}, "hash", ...}``); the
worker fetches the order before translating (``BigCommerceConnector.fetch``), so what arrives
here is the **order document**: ``GET /v2/orders/{id}`` with its two sub-resource links
replaced by what they point at, ``products`` (``GET /v2/orders/{id}/products``) and
``shipping_addresses`` (``GET /v2/orders/{id}/shipping_addresses``), both lists. An order
the reconciliation takes in from the list is completed the same way before it gets here. A
thin body, or a listed order with its links, that reaches the translator unfetched is a
TranslationError.

Money: every amount is a decimal string (``"62.6793"``, four places); ``currency_code`` is the
order's transactional currency. BigCommerce gives each amount both ways, ``*_ex_tax`` and
``*_inc_tax``; a store whose prices include tax (``is_tax_inclusive_pricing``) is read from
the ``_inc_tax`` side with ``tax_included`` set, any other from the ``_ex_tax`` side. Lines:
``unit_price`` is ``price_ex_tax`` (``price_inc_tax``), ``discount`` the line's
``applied_discounts``, ``tax`` its ``total_tax``. The order's ``discount`` is
``discount_amount + coupon_discount``; ``shipping`` is the shipping and handling cost; gift
wrapping and the order's ``fees`` are lines that do not ship. ``total`` is ``total_inc_tax``
(what the customer pays).

Statuses are BigCommerce's fixed ``status_id`` (``GET /v2/order_statuses``; a store can
relabel them, never add one): see :data:`STATUSES`.

An order with more than one shipping address (``shipping_address_count`` > 1, BigCommerce's
multi-address checkout) is kept but held (``needs_attention``): the hub ships an order to one
address. A line with refunded units is held too, since what is left to ship needs a person.

Refunds (``store/order/refund/created``, ``data.refund.refund_id``) are read as the order they
name, not as returns: a BigCommerce refund says what money went back, never whether goods
come back or are restocked, so it opens no return. A full refund leaves the order Refunded
(4, ``cancelled``: not shipped if it has not gone); a partial one, Partially Refunded (14),
holds the order on its refunded lines. Inventory scopes (``store/sku/inventory/updated``...)
are not subscribed: the hub sets the store's stock, it does not read it from webhooks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

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

CHANNEL = "bigcommerce"

CREATED = "store/order/created"
UPDATED = "store/order/updated"
STATUS_UPDATED = "store/order/statusUpdated"
ARCHIVED = "store/order/archived"
REFUND_CREATED = "store/order/refund/created"
#: the webhook scopes this module translates (each fetched first; archived is a removal)
ORDER_TOPICS = (CREATED, UPDATED, STATUS_UPDATED, ARCHIVED, REFUND_CREATED)

#: BigCommerce's order status ids (``GET /v2/order_statuses``) to canonical statuses
STATUSES: dict[int, OrderStatus] = {
    0: OrderStatus.AWAITING_PAYMENT,  # Incomplete: checkout never finished
    1: OrderStatus.AWAITING_PAYMENT,  # Pending
    2: OrderStatus.SHIPPED,  # Shipped
    3: OrderStatus.PARTIALLY_SHIPPED,  # Partially Shipped
    4: OrderStatus.CANCELLED,  # Refunded
    5: OrderStatus.CANCELLED,  # Cancelled
    6: OrderStatus.CANCELLED,  # Declined
    7: OrderStatus.AWAITING_PAYMENT,  # Awaiting Payment
    8: OrderStatus.SHIPPED,  # Awaiting Pickup: handed over at the store, not shipped by us
    9: OrderStatus.READY,  # Awaiting Shipment
    10: OrderStatus.SHIPPED,  # Completed (digital goods delivered)
    11: OrderStatus.READY,  # Awaiting Fulfillment: paid
    12: OrderStatus.ON_HOLD,  # Manual Verification Required
    13: OrderStatus.ON_HOLD,  # Disputed
    14: OrderStatus.READY,  # Partially Refunded: the rest still ships
}

MULTI_ADDRESS = "ships to {n} addresses; the hub ships an order to one address"


def is_thin(payload: Any) -> bool:
    """Whether ``payload`` is a webhook's thin body (``scope`` and ``data``), not an order."""
    return (
        isinstance(payload, dict) and "scope" in payload and isinstance(payload.get("data"), dict)
    )


def order_status(status_id: Any) -> tuple[OrderStatus, str | None]:
    """The canonical status of a BigCommerce ``status_id``, and a problem if it is unknown
    (the order is then held ``on_hold``)."""
    if isinstance(status_id, int) and not isinstance(status_id, bool) and status_id in STATUSES:
        return STATUSES[status_id], None
    return OrderStatus.ON_HOLD, f"unknown BigCommerce status_id {status_id!r}"


def translate_order(payload: Any, *, topic: str) -> OrderUpdate | OrderRemoved:
    """Translate one order document for ``topic`` (one of :data:`ORDER_TOPICS`)."""
    if topic not in ORDER_TOPICS:
        raise TranslationError(f"not a BigCommerce order topic: {topic!r}")
    if not isinstance(payload, dict):
        raise TranslationError(f"expected a JSON object, got {type(payload).__name__}", path="$")
    if is_thin(payload):
        raise TranslationError(
            "a thin webhook body: the order must be fetched from BigCommerce first", path="data"
        )
    external_id = _id(payload.get("id"), path="id")
    if topic == ARCHIVED or payload.get("is_deleted") is True:
        return OrderRemoved(external_id=external_id)
    return _order_update(payload, external_id)


def _order_update(data: dict[str, Any], external_id: str) -> OrderUpdate:
    problems: list[str] = []
    currency = _currency(data.get("currency_code"))
    status_id = data.get("status_id")
    status, status_problem = order_status(status_id)
    if status_problem:
        problems.append(status_problem)
    inclusive = data.get("is_tax_inclusive_pricing") is True
    side = "inc_tax" if inclusive else "ex_tax"

    products = _objects(data.get("products"), path="products", required=True)
    addresses = _objects(data.get("shipping_addresses"), path="shipping_addresses", required=True)
    lines = [_line(p, currency, side, path=f"products[{i}]") for i, p in enumerate(products)]
    for i, p in enumerate(products):
        refunded = p.get("quantity_refunded")
        if isinstance(refunded, int) and not isinstance(refunded, bool) and refunded > 0:
            problems.append(
                f"products[{i}]: {refunded} of {lines[i].quantity} refunded; "
                "check what is left to ship"
            )

    wrapping = _money(data, f"wrapping_cost_{side}", currency)
    if wrapping:
        lines.append(_extra("Gift wrapping", wrapping, data, "wrapping_cost_tax", currency))
    for i, fee in enumerate(_objects(data.get("fees"), path="fees", required=False)):
        # BigCommerce's own sample spells the ex-tax cost both cost_ex_tax and cost_exc_tax
        key = f"cost_{side}" if f"cost_{side}" in fee or side == "inc_tax" else "cost_exc_tax"
        amount = _m(fee.get(key), currency, path=f"fees[{i}].{key}")
        name = values.text(fee.get("display_name_customer") or fee.get("display_name_merchant"))
        lines.append(_extra(name, amount, fee, "cost_tax", currency, path=f"fees[{i}]"))

    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    discount = _money(data, "discount_amount", currency) + _money(data, "coupon_discount", currency)
    shipping_price = _money(data, f"shipping_cost_{side}", currency) + _money(
        data, f"handling_cost_{side}", currency
    )
    count = data.get("shipping_address_count")
    if (isinstance(count, int) and not isinstance(count, bool) and count > 1) or len(addresses) > 1:
        problems.append(MULTI_ADDRESS.format(n=max(count or 0, len(addresses))))
    billing = values.json_object(data.get("billing_address"), path="billing_address")
    shipping_address = _address(addresses[0], path="shipping_addresses[0]") if addresses else None
    first = addresses[0] if addresses else {}
    methods = [values.text(a.get("shipping_method")) for a in addresses]
    order = Order(
        channel=CHANNEL,
        external_id=external_id,
        number=external_id,
        status=status,
        placed_at=_time(data.get("date_created"), path="date_created"),
        updated_at=_time(data.get("date_modified"), path="date_modified"),
        currency=currency,
        customer=Customer(
            email=values.text(billing.get("email")) or values.text(first.get("email")),
            name=_name(billing) or _name(first),
            phone=values.text(billing.get("phone")),
        ),
        shipping_address=shipping_address,
        billing_address=_address(billing, path="billing_address"),
        lines=lines,
        shipping=Shipping(
            method=" + ".join(m for m in methods if m and m != "None") or None,
            carrier_service=None,
            price=shipping_price,
        ),
        totals=Totals(
            subtotal=_m(subtotal, currency),
            discount=discount,
            shipping=shipping_price,
            tax=_m(data.get("total_tax"), currency, path="total_tax"),
            tax_included=inclusive,
            total=_m(data.get("total_inc_tax"), currency, path="total_inc_tax"),
        ),
        notes=values.text(data.get("customer_message")),
        tags=[],
    )
    return OrderUpdate(
        order=order,
        problems=problems + fulfilment_problems(order, line_path="products"),
        channel_status=str(status_id) if status_id is not None else None,
        status_problem=status_problem,
    )


def _line(item: dict[str, Any], currency: str, side: str, *, path: str) -> Line:
    quantity = values.quantity(item.get("quantity"), path=f"{path}.quantity")
    discount = _m("0", currency)
    for j, applied in enumerate(
        _objects(item.get("applied_discounts"), path=f"{path}.applied_discounts", required=False)
    ):
        discount += _m(
            applied.get("amount"), currency, path=f"{path}.applied_discounts[{j}].amount"
        )
    return Line(
        external_id=_id(item.get("id"), path=f"{path}.id"),
        sku=values.text(item.get("sku")),
        name=values.text(item.get("name_customer") or item.get("name")),
        quantity=quantity,
        unit_price=_m(item.get(f"price_{side}"), currency, path=f"{path}.price_{side}"),
        discount=discount,
        tax=_m(item.get("total_tax"), currency, path=f"{path}.total_tax"),
        requires_shipping=item.get("type") != "digital",
    )


def _extra(
    name: str | None,
    amount: Decimal,
    data: dict[str, Any],
    tax_key: str,
    currency: str,
    *,
    path: str = "",
) -> Line:
    """A charge that is a line of its own and ships nothing (wrapping, a fee)."""
    at = f"{path}.{tax_key}" if path else tax_key
    return Line(
        external_id=None,
        sku=None,
        name=name,
        quantity=1,
        unit_price=amount,
        discount=_m("0", currency),
        tax=_m(data.get(tax_key) or "0", currency, path=at),
        requires_shipping=False,
    )


def _m(value: Any, currency: str, *, path: str = "") -> Decimal:
    """An exact amount, every place BigCommerce gives kept (``"55.9900"``)."""
    return values.money(value, currency, path=path)


def _money(data: dict[str, Any], key: str, currency: str) -> Decimal:
    """An optional amount (absent or empty is zero)."""
    value = data.get(key)
    return _m("0" if value in (None, "") else value, currency, path=key)


def _address(data: dict[str, Any], *, path: str) -> Address | None:
    """A V2 address (billing, or one shipping address); None when every field is empty."""
    address = Address(
        name=_name(data),
        company=values.text(data.get("company")),
        line1=values.text(data.get("street_1")),
        line2=values.text(data.get("street_2")),
        city=values.text(data.get("city")),
        region=values.text(data.get("state")),
        postal_code=values.text(data.get("zip")),
        country_code=values.country(data.get("country_iso2"), path=f"{path}.country_iso2"),
        phone=values.text(data.get("phone")),
    )
    if all(value is None for value in vars(address).values()):
        return None
    return address


def _name(data: dict[str, Any]) -> str | None:
    parts = [values.text(data.get("first_name")), values.text(data.get("last_name"))]
    return " ".join(p for p in parts if p) or None


def _time(value: Any, *, path: str) -> datetime | None:
    """BigCommerce V2 times are RFC 2822 (``Tue, 05 Mar 2019 21:40:11 +0000``); ISO 8601 is
    read too. Empty is None."""
    if value in (None, ""):
        return None
    if isinstance(value, str) and not value[:4].isdigit():
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            raise TranslationError(f"not an RFC 2822 time: {value!r}", path=path) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    return values.utc(value, path=path)


def _currency(value: Any) -> str:
    code = values.text(value)
    if code is None or len(code) != 3 or not code.isalpha():
        raise TranslationError(f"not an ISO 4217 currency code: {value!r}", path="currency_code")
    return code.upper()


def _id(value: Any, *, path: str) -> str:
    """A BigCommerce id (a positive integer) as a string."""
    if isinstance(value, bool) or not isinstance(value, int | str) or value in ("", None):
        raise TranslationError(f"missing or not an id: {value!r}", path=path)
    text = str(value).strip()
    if not text.isdigit() or int(text) <= 0:
        raise TranslationError(f"not an id: {value!r}", path=path)
    return str(int(text))


def _objects(value: Any, *, path: str, required: bool) -> list[dict[str, Any]]:
    """A list of objects. ``required``: the order's sub-resources, which must have been
    fetched (a ``{"url", "resource"}`` link in their place means they were not)."""
    if value is None and not required:
        return []
    if not isinstance(value, list):
        what = "a link, not fetched" if isinstance(value, dict) else type(value).__name__
        raise TranslationError(f"expected a list, got {what}", path=path)
    return values.json_objects(value, path=path)
