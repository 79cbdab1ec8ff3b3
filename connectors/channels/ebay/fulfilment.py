"""Shipped parcels told to eBay: the pure half of ``createShippingFulfillment``.

``POST /sell/fulfillment/v1/order/{orderId}/shipping_fulfillment`` once per package with
``{"lineItems": [{"lineItemId", "quantity"}], "shippedDate", "shippingCarrierCode",
"trackingNumber"}``; 201 Created, the new fulfillment's address in ``Location``
(``.../shipping_fulfillment/{fulfillmentId}``). ``shippedDate`` is ISO 8601 UTC
(``2026-05-01T10:00:00.000Z``). ``shippingCarrierCode`` is one of eBay's carrier codes
(``ShippingCarrierCodeType``, ``carriers.py``), from the account's mapping
(``mappings/ebay.yaml``, ``tracking_carrier``); a carrier eBay has no code for is refused
before any call, naming the mapping to fix. A line's units may be split across packages: each
call names the units in its own package (``LineItemReference.quantity``, "the number of
lineItems associated with the trackingNumber", default 1); what eBay keeps together is one
unit's components. Exactly once: ``GET .../shipping_fulfillment`` lists the order's fulfillments
(``fulfillments[{fulfillmentId, shipmentTrackingNumber, lineItems}]``), and one that already
carries the tracking number (an earlier attempt whose answer was lost) is returned instead of
making another. — docs,
https://developer.ebay.com/api-docs/sell/fulfillment/resources/order/shipping_fulfillment/methods/createShippingFulfillment,
https://developer.ebay.com/api-docs/sell/fulfillment/types/sel:LineItemReference
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connectors.channels.ebay import carriers
from connectors.channels.ebay.orders import ORDERS_PATH, stamp
from hub.connectors import FulfilmentPush
from hub.errors import PermanentError


def path(order_id: str) -> str:
    return f"{ORDERS_PATH}/{quote(order_id, safe='')}/shipping_fulfillment"


def order_id(push: FulfilmentPush) -> str:
    found = push.order.get("external_id")
    if not found:
        raise PermanentError(f"order {push.order.get('id')} has no eBay orderId")
    return str(found)


def tracking_number(push: FulfilmentPush) -> str:
    number = (push.tracking_number or "").strip()
    if not number:
        raise PermanentError(f"parcel {push.parcel_id} has no tracking number")
    return number


def carrier_code(push: FulfilmentPush) -> str:
    """eBay's code for the parcel's carrier (the mapped name, in eBay's spelling)."""
    found = carriers.code(push.carrier_name) or carriers.code(push.carrier)
    if found is None:
        raise PermanentError(
            f"parcel {push.parcel_id}: carrier {push.carrier!r} ({push.carrier_name!r}) is not "
            "one of eBay's shipping carrier codes; map it under tracking_carrier in the "
            "account's mapping"
        )
    return found


def normalised(number: str) -> str:
    return "".join(number.split()).upper()


def body(push: FulfilmentPush, number: str) -> dict[str, Any]:
    """The package: its line items with quantities (a line named twice is summed), eBay's
    carrier code and the tracking number."""
    quantities: dict[str, int] = {}
    for line in push.lines:
        line_id = line.get("external_id")
        if not line_id:
            raise PermanentError(
                f"parcel {push.parcel_id}: line {line.get('sku')!r} has no eBay lineItemId"
            )
        quantities[str(line_id)] = quantities.get(str(line_id), 0) + int(line["quantity"])
    if not quantities:
        raise PermanentError(f"parcel {push.parcel_id} has no lines")
    return {
        "lineItems": [{"lineItemId": k, "quantity": v} for k, v in quantities.items()],
        "shippedDate": stamp(push.shipped_at),
        "shippingCarrierCode": carrier_code(push),
        "trackingNumber": number,
    }


def existing(body: Any, number: str) -> str | None:
    """The id of the order's fulfillment with this tracking number, if there is one."""
    fulfillments = body.get("fulfillments") if isinstance(body, dict) else None
    for found in fulfillments or []:
        if not isinstance(found, dict):
            continue
        given = str(found.get("shipmentTrackingNumber") or "")
        if given and normalised(given) == normalised(number) and found.get("fulfillmentId"):
            return str(found["fulfillmentId"])
    return None


def created_id(location: str | None, answer: Any) -> str:
    """The new fulfillment's id: the last segment of ``Location`` (or ``fulfillmentId``)."""
    if location:
        tail = location.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
        if tail and tail != "shipping_fulfillment":
            return tail
    if isinstance(answer, dict) and answer.get("fulfillmentId"):
        return str(answer["fulfillmentId"])
    raise PermanentError("createShippingFulfillment answered without the fulfillment's id")
