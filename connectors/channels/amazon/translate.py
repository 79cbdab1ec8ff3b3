"""Orders API v2026-01-01 orders to canonical orders. Pure: no I/O, no database.

The payload is one ``Order`` exactly as ``searchOrders`` and ``getOrder`` return it (asked
with ``includedData`` ``BUYER``, ``RECIPIENT``, ``PROCEEDS``, ``PROMOTION``, ``CANCELLATION``,
``FULFILLMENT`` and ``PACKAGES``), parsed with :func:`hub.values.loads`. Field names are the model's
(``models/orders-api-model/orders_2026-01-01.json`` in ``amzn/selling-partner-api-models``).

* **Status** from ``fulfillment.fulfillmentStatus``: ``PENDING`` and ``PENDING_AVAILABILITY``
  (payment not yet authorised, no address yet) -> ``awaiting_payment``; ``UNSHIPPED`` and
  ``PARTIALLY_SHIPPED`` -> ``ready``; ``SHIPPED`` -> ``shipped``; ``CANCELLED`` and
  ``UNFULFILLABLE`` -> ``cancelled``.
* **Fulfilled by Amazon** (``fulfillment.fulfilledBy`` ``AMAZON``): recorded, tagged ``FBA``
  and never released to the warehouse: an FBA order that is not shipped, cancelled or
  pending is ``on_hold`` (Amazon ships it from its own stock), and it is never held for a
  missing address or SKU.
* **A buyer's cancellation request** (an item's ``cancellation.cancellationRequest``) holds a
  merchant-fulfilled order that is still to ship (``on_hold``, tagged
  ``BUYER_REQUESTED_CANCEL``, the reason in ``notes``) until the seller cancels it on Amazon
  or the request goes.
* **Programs** (``PRIME``, ``AMAZON_BUSINESS``, ...) become tags; the ship-by and deliver-by
  windows, the buyer's purchase order number and gift messages go in ``notes``.
* **Money**: each line's ``unit_price`` is ``product.price.unitPrice`` (else its ``ITEM``
  proceeds over the quantity); ``discount`` the line's ``DISCOUNT`` proceeds (made positive);
  ``tax`` its ``TAX`` proceeds; ``shipping`` the lines' ``SHIPPING`` proceeds. Gift wrap,
  cash-on-delivery fees, delivery tips and other charges (order-level proceeds breakdowns)
  become lines that do not ship. ``total`` is ``proceeds.grandTotal`` when Amazon gives it;
  a grand total that already holds the tax (VAT marketplaces) sets ``tax_included``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from hub import values
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

CHANNEL = "amazon"
#: the topic every order is taken in under (polled, or fetched after a notification)
ORDER_TOPIC = "order"
ORDER_TOPICS = (ORDER_TOPIC,)
FBA_TAG = "FBA"
CANCEL_TAG = "BUYER_REQUESTED_CANCEL"

STATUSES = {
    "PENDING_AVAILABILITY": OrderStatus.AWAITING_PAYMENT,
    "PENDING": OrderStatus.AWAITING_PAYMENT,
    "UNSHIPPED": OrderStatus.READY,
    "PARTIALLY_SHIPPED": OrderStatus.READY,
    "SHIPPED": OrderStatus.SHIPPED,
    "CANCELLED": OrderStatus.CANCELLED,
    "UNFULFILLABLE": OrderStatus.CANCELLED,
}
#: order-level proceeds that are neither goods, shipping, tax nor discount: lines that do not ship
CHARGES = {
    "GIFT_WRAP": "Gift wrap",
    "COD_FEE": "Cash on delivery fee",
    "DELIVERY_TIP": "Delivery tip",
    "OTHER": "Other charge",
}


def is_fba(payload: Any) -> bool:
    """Whether Amazon fulfils the order itself (Fulfilled by Amazon)."""
    fulfilment = payload.get("fulfillment") if isinstance(payload, dict) else None
    return isinstance(fulfilment, dict) and fulfilment.get("fulfilledBy") == "AMAZON"


def order_status(fulfillment_status: str | None, *, fba: bool) -> OrderStatus:
    """The canonical status for Amazon's ``fulfillmentStatus`` (see the module's docstring)."""
    status = STATUSES.get(fulfillment_status or "")
    if status is None:
        raise TranslationError(
            f"unknown fulfillment status {fulfillment_status!r}",
            path="fulfillment.fulfillmentStatus",
        )
    if fba and status == OrderStatus.READY:
        return OrderStatus.ON_HOLD
    return status


def translate_order(payload: Any, *, topic: str = ORDER_TOPIC) -> OrderUpdate:
    """One Orders API v2026-01-01 ``Order`` to a canonical order and its problems."""
    if topic not in ORDER_TOPICS:
        raise TranslationError(f"not an Amazon order topic: {topic!r}")
    data = values.json_object(payload, path="$", optional=False)
    order_id = values.text(data.get("orderId"))
    if order_id is None:
        raise TranslationError("missing orderId", path="orderId")
    fulfilment = values.json_object(data.get("fulfillment") or {}, path="fulfillment")
    fba = is_fba(data)
    raw_status = values.text(fulfilment.get("fulfillmentStatus"))
    status = order_status(raw_status, fba=fba)
    items = values.json_objects(data.get("orderItems"), path="orderItems", optional=False)
    currency = _currency(data, items)

    zero = values.money(0, currency)
    lines: list[Line] = []
    shipping_price = zero
    tax = zero
    for i, item in enumerate(items):
        line, shipped_for, line_tax = _line(item, currency, path=f"orderItems[{i}]")
        lines.append(line)
        shipping_price += shipped_for
        tax += line_tax
    proceeds = values.json_object(data.get("proceeds") or {}, path="proceeds")
    breakdowns = values.json_objects(proceeds.get("breakdowns") or [], path="proceeds.breakdowns")
    for j, entry in enumerate(breakdowns):
        kind = entry.get("type")
        if kind in CHARGES:
            amount = _money(entry.get("subtotal"), currency, path=f"proceeds.breakdowns[{j}]")
            if amount:
                lines.append(Line(None, None, CHARGES[kind], 1, amount, zero, zero, False))

    subtotal = sum((ln.unit_price * ln.quantity for ln in lines), zero)
    discount = sum((ln.discount for ln in lines), zero)
    before_tax = subtotal - discount + shipping_price
    grand = proceeds.get("grandTotal")
    total = _money(grand, currency, path="proceeds.grandTotal") if grand else before_tax + tax
    tax_included = (
        bool(tax)
        and grand is not None
        and values.minor(total, currency) == values.minor(before_tax, currency)
    )

    address = _address(data)
    buyer = values.json_object(data.get("buyer") or {}, path="buyer")
    order = Order(
        channel=CHANNEL,
        external_id=order_id,
        number=order_id,
        status=status,
        placed_at=values.utc(data.get("createdTime"), path="createdTime"),
        updated_at=values.utc(data.get("lastUpdatedTime"), path="lastUpdatedTime"),
        currency=currency,
        customer=Customer(
            email=values.text(buyer.get("buyerEmail")),
            name=values.text(buyer.get("buyerName")),
            phone=address.phone if address else None,
        ),
        shipping_address=address,
        billing_address=None,
        lines=lines,
        shipping=Shipping(
            method=values.text(fulfilment.get("fulfillmentServiceLevel")),
            price=shipping_price,
        ),
        totals=Totals(
            subtotal=subtotal,
            discount=discount,
            shipping=shipping_price,
            tax=tax,
            tax_included=tax_included,
            total=total,
        ),
        notes=_notes(data, fulfilment, buyer, items),
        tags=_tags(data, fba),
    )
    if fba:
        # Amazon ships it: nothing about it can stop the hub, which never touches it.
        problems: list[str] = []
    else:
        problems = fulfilment_problems(order, line_path="orderItems")
        if order.status == OrderStatus.READY and _cancel_requested(items):
            # the seller decides on Amazon (cancel, or ship anyway): nothing leaves meanwhile
            order.status = OrderStatus.ON_HOLD
            order.tags.append(CANCEL_TAG)
    channel_status = f"{'FBA' if fba else 'MFN'}:{raw_status}"
    return OrderUpdate(order=order, problems=problems, channel_status=channel_status)


def _cancel_requested(items: list[dict[str, Any]]) -> bool:
    """Whether the buyer asked to cancel an item (``cancellation.cancellationRequest``)."""
    for item in items:
        cancellation = item.get("cancellation")
        if isinstance(cancellation, dict) and isinstance(
            cancellation.get("cancellationRequest"), dict
        ):
            return True
    return False


def _line(item: dict[str, Any], currency: str, *, path: str) -> tuple[Line, Decimal, Decimal]:
    """The line, the shipping charged for it and its tax."""
    item_id = values.text(item.get("orderItemId"))
    if item_id is None:
        raise TranslationError("missing orderItemId", path=f"{path}.orderItemId")
    quantity = item.get("quantityOrdered")
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise TranslationError(f"not a quantity: {quantity!r}", path=f"{path}.quantityOrdered")
    product = values.json_object(item.get("product") or {}, path=f"{path}.product")
    zero = values.money(0, currency)
    parts: dict[str, Decimal] = {}
    proceeds = values.json_object(item.get("proceeds") or {}, path=f"{path}.proceeds")
    breakdowns = values.json_objects(proceeds.get("breakdowns") or [], path=f"{path}.proceeds")
    for k, entry in enumerate(breakdowns):
        kind = str(entry.get("type") or "")
        amount = _money(entry.get("subtotal"), currency, path=f"{path}.proceeds.breakdowns[{k}]")
        parts[kind] = parts.get(kind, zero) + amount
    price = (
        (product.get("price") or {}).get("unitPrice")
        if isinstance(product.get("price"), dict)
        else None
    )
    if price:
        unit = _money(price, currency, path=f"{path}.product.price.unitPrice")
    elif "ITEM" in parts and quantity:
        unit = parts["ITEM"] / quantity
    else:
        unit = zero
    line = Line(
        external_id=item_id,
        sku=values.text(product.get("sellerSku")),
        name=values.text(product.get("title")),
        quantity=quantity,
        unit_price=unit,
        discount=abs(parts.get("DISCOUNT", zero)),
        tax=parts.get("TAX", zero),
        requires_shipping=True,
    )
    return line, parts.get("SHIPPING", zero), line.tax


def _address(data: dict[str, Any]) -> Address | None:
    recipient = data.get("recipient")
    found = recipient.get("deliveryAddress") if isinstance(recipient, dict) else None
    if not isinstance(found, dict) or not any(found.values()):
        return None
    line2 = ", ".join(
        part
        for part in (values.text(found.get("addressLine2")), values.text(found.get("addressLine3")))
        if part
    )
    return Address(
        name=values.text(found.get("name")),
        company=values.text(found.get("companyName")),
        line1=values.text(found.get("addressLine1")),
        line2=line2 or None,
        city=values.text(found.get("city")) or values.text(found.get("municipality")),
        region=values.text(found.get("stateOrRegion"))
        or values.text(found.get("districtOrCounty")),
        postal_code=values.text(found.get("postalCode")),
        country_code=values.country(
            found.get("countryCode"), path="recipient.deliveryAddress.countryCode"
        ),
        phone=values.text(found.get("phone")),
    )


def _tags(data: dict[str, Any], fba: bool) -> list[str]:
    programs = data.get("programs") if isinstance(data.get("programs"), list) else []
    tags = [str(p) for p in programs if isinstance(p, str) and p]
    return tags + ([FBA_TAG] if fba else [])


def _window(fulfilment: dict[str, Any], key: str) -> datetime | None:
    window = fulfilment.get(key)
    if not isinstance(window, dict):
        return None
    return values.utc(window.get("latestDateTime"), path=f"fulfillment.{key}.latestDateTime")


def ship_by(payload: dict[str, Any]) -> datetime | None:
    """The latest time Amazon promised the order would ship (``shipByWindow``)."""
    fulfilment = payload.get("fulfillment")
    return _window(fulfilment, "shipByWindow") if isinstance(fulfilment, dict) else None


def _notes(
    data: dict[str, Any],
    fulfilment: dict[str, Any],
    buyer: dict[str, Any],
    items: list[dict[str, Any]],
) -> str | None:
    notes = []
    for key, label in (("shipByWindow", "Ship by"), ("deliverByWindow", "Deliver by")):
        when = _window(fulfilment, key)
        if when is not None:
            notes.append(f"{label} {values.iso(when)}")
    for item in items:
        cancellation = item.get("cancellation")
        request = (
            cancellation.get("cancellationRequest") if isinstance(cancellation, dict) else None
        )
        if isinstance(request, dict):
            reason = values.text(request.get("cancelReason")) or "no reason given"
            notes.append(f"Cancellation requested ({item.get('orderItemId')}): {reason}")
    po = values.text(buyer.get("buyerPurchaseOrderNumber"))
    if po:
        notes.append(f"Buyer PO {po}")
    for item in items:
        packing = (
            ((item.get("fulfillment") or {}).get("packing") or {})
            if isinstance(item.get("fulfillment"), dict)
            else {}
        )
        gift = packing.get("giftOption") if isinstance(packing, dict) else None
        message = values.text(gift.get("giftMessage")) if isinstance(gift, dict) else None
        if message:
            notes.append(f"Gift message ({item.get('orderItemId')}): {message}")
    return "; ".join(notes) or None


def _currency(data: dict[str, Any], items: list[dict[str, Any]]) -> str:
    candidates = []
    proceeds = data.get("proceeds")
    if isinstance(proceeds, dict) and isinstance(proceeds.get("grandTotal"), dict):
        candidates.append(proceeds["grandTotal"].get("currencyCode"))
    for item in items:
        price = (
            (item.get("product") or {}).get("price")
            if isinstance(item.get("product"), dict)
            else None
        )
        if isinstance(price, dict) and isinstance(price.get("unitPrice"), dict):
            candidates.append(price["unitPrice"].get("currencyCode"))
    for code in candidates:
        if isinstance(code, str) and len(code) == 3 and code.isalpha():
            return code.upper()
    raise TranslationError("no currency code on the order's amounts", path="proceeds.grandTotal")


def _money(value: Any, currency: str, *, path: str) -> Decimal:
    if not isinstance(value, dict):
        raise TranslationError("expected a Money object {amount, currencyCode}", path=path)
    code = value.get("currencyCode")
    if code and str(code).upper() != currency:
        raise TranslationError(f"currency {code!r} differs from the order's {currency}", path=path)
    return values.money(value.get("amount"), currency, path=f"{path}.amount")
