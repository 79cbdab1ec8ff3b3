"""eBay Fulfillment API orders to canonical orders, and the marketplace account deletion
notice. Pure functions: no I/O, no database.

An order is the ``Order`` object of ``getOrders`` / ``getOrder`` (``GET
/sell/fulfillment/v1/order``), parsed with :func:`hub.values.loads`. It comes in by polling
(reconciliation) under the topic :data:`ORDER_TOPIC`. Fields read — eBay's type pages
https://developer.ebay.com/api-docs/sell/fulfillment/types/sel:Order and those it links:

* ``orderId``, ``legacyOrderId``, ``salesRecordReference``, ``creationDate``,
  ``lastModifiedDate`` (ISO 8601 UTC), ``buyerCheckoutNotes``;
* ``buyer.username``, ``buyer.buyerRegistrationAddress{fullName, email, primaryPhone}``;
* ``fulfillmentStartInstructions[0].shippingStep{shipTo{fullName, companyName,
  contactAddress{addressLine1, addressLine2, city, stateOrProvince, postalCode,
  countryCode}, primaryPhone{phoneNumber}, email}, shippingServiceCode}``;
* ``lineItems[]{lineItemId, sku, title, quantity, lineItemCost (all units, before
  discounts), appliedPromotions[].discountAmount, taxes[].amount, deliveryCost}``;
* ``pricingSummary{priceSubtotal, priceDiscount (negative), deliveryCost (before its
  discount), deliveryDiscount (negative), tax, adjustment, total}`` (amounts are
  ``{value, currency}``, values decimal strings);
* statuses: ``orderPaymentStatus`` (``PAID``, ``PENDING``, ``FAILED``, ``FULLY_REFUNDED``,
  ``PARTIALLY_REFUNDED``), ``orderFulfillmentStatus`` (``NOT_STARTED``, ``IN_PROGRESS``,
  ``FULFILLED``), ``cancelStatus.cancelState`` (``NONE_REQUESTED``, ``IN_PROGRESS``: the buyer
  asked to cancel, ``CANCELED``) and ``paymentSummary.payments[]{paymentStatus,
  paymentHolds[].holdState}``.

Status, first rule that applies: cancelled (``CANCELED``) or refunded in full ->
``cancelled``; fulfilled on eBay -> ``shipped``; a cancel request open (``IN_PROGRESS``) ->
``on_hold`` (the seller must answer it before anything ships); not paid (``PENDING``,
``FAILED``, or a payment still ``PENDING``) -> ``awaiting_payment``; otherwise ``ready``.
A payment hold (``holdState`` ``HELD``/``HELD_PENDING``) holds the *seller's* funds, not the
buyer's payment, and eBay releases it once the item is shipped and tracked
(``sellerActionsToRelease``): it does not stop the order, and is kept in the order's tags
(``ebay:payment_held``) so it shows.

Totals: ``subtotal`` = ``priceSubtotal``; ``discount`` = ``-priceDiscount`` (and a negative
``adjustment``); ``shipping`` = ``deliveryCost + deliveryDiscount``; ``tax`` =
``pricingSummary.tax`` (what the seller collects; eBay's collect-and-remit taxes are eBay's
and not in ``total``: for sellers in eBay managed payments ``pricingSummary.total`` "will never
reflect any 'Collect and Remit' tax" and ``lineItems.taxes`` is empty, eBay's OAS3 contract,
``PricingSummary.total``, ``LineItem.taxes``); ``tax_included`` false; ``total`` =
``pricingSummary.total``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
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

CHANNEL = "ebay"
#: the topic orders read back from getOrders are taken in under
ORDER_TOPIC = "order"
DELETION_TOPIC = "MARKETPLACE_ACCOUNT_DELETION"
#: Notification API topics about an order: their data names the order (``orderId``), which
#: the worker fetches with getOrder before translating (``Connector.fetch``). "An
#: ORDER_CONFIRMATION notification is generated for each line item in the order. The seller
#: looks up the orderId from the notification" — eBay's AsyncAPI contract
#: ``commerce/notification/asyncapi/order_confirmation.yaml``; ITEM_MARKED_SHIPPED likewise
#: (``item_marked_shipped.yaml``)
ORDER_NOTIFICATION_TOPICS = ("ORDER_CONFIRMATION", "ITEM_MARKED_SHIPPED")
ORDER_TOPICS = (ORDER_TOPIC, *ORDER_NOTIFICATION_TOPICS)
HELD_PAYMENT_TAG = "ebay:payment_held"
CANCEL_REQUESTED = "the buyer asked eBay to cancel the order (cancelState IN_PROGRESS)"
_UNPAID = {"PENDING", "FAILED"}
_HELD = {"HELD", "HELD_PENDING"}


@dataclass(frozen=True)
class AccountDeletion:
    """A marketplace account deletion notice: everything kept about this eBay user must go."""

    username: str | None
    user_id: str | None
    eias_token: str | None
    notification_id: str | None


def order_status(order: dict[str, Any]) -> tuple[OrderStatus, str | None]:
    """The canonical status and, for an order on hold, why (see the module's docstring)."""
    cancel = values.json_object(order.get("cancelStatus"), path="cancelStatus")
    cancel_state = str(cancel.get("cancelState") or "NONE_REQUESTED").upper()
    payment = str(order.get("orderPaymentStatus") or "").upper()
    fulfilled = str(order.get("orderFulfillmentStatus") or "").upper()
    if cancel_state == "CANCELED" or payment == "FULLY_REFUNDED":
        return OrderStatus.CANCELLED, None
    if fulfilled == "FULFILLED":
        return OrderStatus.SHIPPED, None
    if cancel_state == "IN_PROGRESS":
        return OrderStatus.ON_HOLD, CANCEL_REQUESTED
    payments = _payments(order)
    if payment in _UNPAID or any(
        str(p.get("paymentStatus") or "").upper() == "PENDING" for p in payments
    ):
        return OrderStatus.AWAITING_PAYMENT, None
    if payment in ("PAID", "PARTIALLY_REFUNDED"):
        return OrderStatus.READY, None
    return OrderStatus.ON_HOLD, f"unknown eBay payment status {payment or None!r}"


def payment_held(order: dict[str, Any]) -> bool:
    """Whether eBay holds any of the order's payments from the seller."""
    return any(
        str(hold.get("holdState") or "").upper() in _HELD
        for payment in _payments(order)
        for hold in values.array_or_empty(payment.get("paymentHolds"))
        if isinstance(hold, dict)
    )


def translate_order(payload: Any, *, topic: str = ORDER_TOPIC) -> OrderUpdate:
    """One ``Order`` object as a canonical order with its problems."""
    if topic not in ORDER_TOPICS:
        raise TranslationError(f"not an eBay order topic: {topic!r}")
    if not isinstance(payload, dict):
        raise TranslationError(f"expected a JSON object, got {type(payload).__name__}", path="$")
    external_id = values.text(payload.get("orderId"))
    if external_id is None:
        raise TranslationError("missing orderId", path="orderId")
    pricing = values.json_object(payload.get("pricingSummary"), path="pricingSummary")
    currency = _currency(pricing)
    status, held_because = order_status(payload)
    problems = [held_because] if held_because else []

    items = values.json_objects(payload.get("lineItems"), path="lineItems")
    lines = [_line(item, currency, path=f"lineItems[{i}]") for i, item in enumerate(items)]
    step = _shipping_step(payload)
    ship_to = values.json_object(
        step.get("shipTo"), path="fulfillmentStartInstructions[0].shippingStep.shipTo"
    )
    address = _address(ship_to, path="fulfillmentStartInstructions[0].shippingStep.shipTo")
    buyer = values.json_object(payload.get("buyer"), path="buyer")
    registered = values.json_object(
        buyer.get("buyerRegistrationAddress"), path="buyer.buyerRegistrationAddress"
    )

    def amount(name: str) -> Decimal:
        return _money(pricing.get(name), currency, path=f"pricingSummary.{name}")

    adjustment = amount("adjustment")
    discount = -amount("priceDiscount") - min(adjustment, Decimal(0))
    subtotal = amount("priceSubtotal") + max(adjustment, Decimal(0))
    shipping_price = amount("deliveryCost") + amount("deliveryDiscount")
    tags = [HELD_PAYMENT_TAG] if payment_held(payload) else []
    order = Order(
        channel=CHANNEL,
        external_id=external_id,
        number=values.text(payload.get("salesRecordReference"))
        or values.text(payload.get("legacyOrderId")),
        status=status,
        placed_at=values.utc(payload.get("creationDate"), path="creationDate"),
        updated_at=values.utc(payload.get("lastModifiedDate"), path="lastModifiedDate"),
        currency=currency,
        customer=Customer(
            email=values.text(ship_to.get("email")) or values.text(registered.get("email")),
            name=values.text(registered.get("fullName")) or (address.name if address else None),
            phone=_phone(registered) or (address.phone if address else None),
        ),
        shipping_address=address,
        billing_address=None,
        lines=lines,
        shipping=Shipping(
            method=values.text(step.get("shippingServiceCode")),
            carrier_service=values.text(step.get("shippingServiceCode")),
            price=values.money(shipping_price, currency),
        ),
        totals=Totals(
            subtotal=values.money(subtotal, currency),
            discount=values.money(discount, currency),
            shipping=values.money(shipping_price, currency),
            tax=amount("tax"),
            tax_included=False,
            total=amount("total"),
        ),
        notes=values.text(payload.get("buyerCheckoutNotes")),
        tags=tags,
    )
    return OrderUpdate(
        order=order,
        problems=problems + fulfilment_problems(order, line_path="lineItems"),
        channel_status=_channel_status(payload),
        status_problem=held_because if status is OrderStatus.ON_HOLD else None,
    )


def notified_order_id(payload: Any) -> str:
    """The orderId an order notification names (``notification.data.orderId``)."""
    notification = payload.get("notification") if isinstance(payload, dict) else None
    data = notification.get("data") if isinstance(notification, dict) else None
    found = values.text(data.get("orderId")) if isinstance(data, dict) else None
    if found is None:
        raise TranslationError("the notification names no orderId", path="notification.data")
    return found


def buyer_username(payload: Any) -> str | None:
    """The eBay username of an order's buyer (``buyer.username``)."""
    buyer = payload.get("buyer") if isinstance(payload, dict) else None
    return values.text(buyer.get("username")) if isinstance(buyer, dict) else None


def read_deletion(payload: Any) -> AccountDeletion:
    """A ``MARKETPLACE_ACCOUNT_DELETION`` notification's ``data{username, userId,
    eiasToken}``; one of username and userId at least."""
    if not isinstance(payload, dict):
        raise TranslationError("expected a JSON object", path="$")
    notification = values.json_object(payload.get("notification"), path="notification")
    data = values.json_object(notification.get("data"), path="notification.data")
    deletion = AccountDeletion(
        username=values.text(data.get("username")),
        user_id=values.text(data.get("userId")),
        eias_token=values.text(data.get("eiasToken")),
        notification_id=values.text(notification.get("notificationId")),
    )
    if deletion.username is None and deletion.user_id is None:
        raise TranslationError("no username or userId", path="notification.data")
    return deletion


#: what is erased from a stored order body: the buyer's and recipient's personal data
ERASED = "[erased]"


def erase_buyer(payload: Any) -> Any:
    """The order body without its buyer's personal data (names, addresses, phones, emails,
    username, tax identifiers); order, lines and money are kept."""
    if not isinstance(payload, dict):
        return payload
    out = copy.deepcopy(payload)
    if isinstance(out.get("buyer"), dict):
        out["buyer"] = {"username": ERASED}
    for instruction in values.array_or_empty(out.get("fulfillmentStartInstructions")):
        step = instruction.get("shippingStep") if isinstance(instruction, dict) else None
        if isinstance(step, dict) and "shipTo" in step:
            step["shipTo"] = {}
        if isinstance(instruction, dict) and "finalDestinationAddress" in instruction:
            instruction["finalDestinationAddress"] = {}
    if "buyerCheckoutNotes" in out:
        out["buyerCheckoutNotes"] = ERASED
    return out


def erase_deletion(payload: Any) -> Any:
    """The deletion notice itself, once acted on, without the user's identifiers."""
    if not isinstance(payload, dict):
        return payload
    out = copy.deepcopy(payload)
    notification = out.get("notification")
    if isinstance(notification, dict) and isinstance(notification.get("data"), dict):
        notification["data"] = {k: ERASED for k in notification["data"]}
    return out


# -- helpers ----------------------------------------------------------------------------


def _channel_status(order: dict[str, Any]) -> str:
    cancel = order.get("cancelStatus") if isinstance(order.get("cancelStatus"), dict) else {}
    return "/".join(
        str(part or "-")
        for part in (
            order.get("orderPaymentStatus"),
            order.get("orderFulfillmentStatus"),
            cancel.get("cancelState"),
        )
    )


def _payments(order: dict[str, Any]) -> list[dict[str, Any]]:
    summary = order.get("paymentSummary")
    payments = summary.get("payments") if isinstance(summary, dict) else None
    return [p for p in values.array_or_empty(payments) if isinstance(p, dict)]


def _shipping_step(order: dict[str, Any]) -> dict[str, Any]:
    instructions = values.json_objects(
        order.get("fulfillmentStartInstructions"), path="fulfillmentStartInstructions"
    )
    for instruction in instructions:
        step = instruction.get("shippingStep")
        if isinstance(step, dict):
            return step
    return {}


def _line(item: dict[str, Any], currency: str, *, path: str) -> Line:
    quantity = item.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise TranslationError(f"not a quantity: {quantity!r}", path=f"{path}.quantity")
    cost = _money(item.get("lineItemCost"), currency, path=f"{path}.lineItemCost")
    unit = cost / quantity if quantity else cost
    discount = Decimal(0)
    for i, promotion in enumerate(values.array_or_empty(item.get("appliedPromotions"))):
        if isinstance(promotion, dict):
            at = f"{path}.appliedPromotions[{i}].discountAmount"
            discount += abs(_money(promotion.get("discountAmount"), currency, path=at))
    tax = Decimal(0)
    for i, entry in enumerate(values.array_or_empty(item.get("taxes"))):
        if isinstance(entry, dict):
            tax += _money(entry.get("amount"), currency, path=f"{path}.taxes[{i}].amount")
    return Line(
        external_id=values.text(item.get("lineItemId")),
        sku=values.text(item.get("sku")),
        name=values.text(item.get("title")),
        quantity=quantity,
        unit_price=values.money(unit, currency),
        discount=values.money(discount, currency),
        tax=values.money(tax, currency),
        requires_shipping=True,
    )


def _address(ship_to: dict[str, Any], *, path: str) -> Address | None:
    contact = values.json_object(ship_to.get("contactAddress"), path=f"{path}.contactAddress")
    address = Address(
        name=values.text(ship_to.get("fullName")),
        company=values.text(ship_to.get("companyName")),
        line1=values.text(contact.get("addressLine1")),
        line2=values.text(contact.get("addressLine2")),
        city=values.text(contact.get("city")),
        region=values.text(contact.get("stateOrProvince")),
        postal_code=values.text(contact.get("postalCode")),
        country_code=values.country(
            contact.get("countryCode"), path=f"{path}.contactAddress.countryCode"
        ),
        phone=_phone(ship_to),
    )
    if all(value is None for value in vars(address).values()):
        return None
    return address


def _phone(contact: dict[str, Any]) -> str | None:
    phone = contact.get("primaryPhone")
    return values.text(phone.get("phoneNumber")) if isinstance(phone, dict) else None


def _money(amount: Any, currency: str, *, path: str) -> Decimal:
    """An eBay ``Amount`` (``{value, currency}``); absent is zero; another currency is refused."""
    if amount is None:
        return values.money("0", currency)
    if not isinstance(amount, dict):
        raise TranslationError(f"expected an amount object, got {amount!r}", path=path)
    given = values.text(amount.get("currency"))
    if given is not None and given.upper() != currency:
        raise TranslationError(f"amount in {given}, the order is in {currency}", path=path)
    return values.money(amount.get("value"), currency, path=f"{path}.value")


def _currency(pricing: dict[str, Any]) -> str:
    total = pricing.get("total")
    code = values.text(total.get("currency")) if isinstance(total, dict) else None
    if code is None or len(code) != 3 or not code.isalpha():
        raise TranslationError(
            f"not an ISO 4217 currency code: {code!r}", path="pricingSummary.total.currency"
        )
    return code.upper()
