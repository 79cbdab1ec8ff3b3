"""Shipments told to Amazon: the pure half of confirmShipment.

``POST /orders/v0/orders/{orderId}/shipmentConfirmation`` (2/s, burst 10) answers 204. Its
body: ``marketplaceId`` and ``packageDetail`` with ``packageReferenceId`` (unique within the
order: the hub's parcel id), ``carrierCode`` (required in every marketplace), ``carrierName``
(required when the code is ``Other``), ``shippingMethod``, ``trackingNumber``, ``shipDate``
(ISO 8601) and ``orderItems [{orderItemId, quantity}]``. — ``ordersV0.json``
(``ConfirmShipmentRequest``, ``PackageDetail``) in ``amzn/selling-partner-api-models``;
confirmShipment has no v2026-01-01 counterpart, so it stays on v0.

Exactly once: before confirming, the order is read with getOrder (``includedData=PACKAGES``);
a package already carrying the parcel's tracking number (an earlier attempt whose answer was
lost) is the fulfilment, and nothing is sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hub.connectors import FulfilmentPush
from hub.errors import PermanentError

#: the carrier codes the hub may send, as Amazon lists them, with where that list comes from
#: (``carrier_codes.json``: a part of Amazon's CarrierCode list)
RECORDED_CODES = Path(__file__).with_name("carrier_codes.json")
OTHER = "Other"


def _known_codes() -> dict[str, str]:
    codes = json.loads(RECORDED_CODES.read_text(encoding="utf-8"))["codes"]
    return {str(code).casefold(): str(code) for code in codes}


#: Amazon's codes by their casefolded spelling
KNOWN_CODES = _known_codes()
#: the hub's carrier names -> Amazon's carrier codes, for carriers the mapping does not name.
#: Evri is not in Amazon's list: it is the former Hermes UK, whose code it keeps. Any other
#: carrier goes as ``Other`` with its name (a mapping's ``tracking_carrier`` may name a code).
CARRIER_CODES = {
    "royalmail": "Royal Mail",
    "dpd_uk": "DPD",
    "dpd": "DPD",
    "evri": "Hermes UK",
    "dhl": "DHL",
    "ups": "UPS",
    "fedex": "FedEx",
    "usps": "USPS",
}


def known_code(name: str | None) -> str | None:
    """Amazon's spelling of ``name`` when it is one of Amazon's carrier codes."""
    return KNOWN_CODES.get(name.strip().casefold()) if name else None


def confirm_path(order_id: str) -> str:
    return f"/orders/v0/orders/{quote(order_id, safe='')}/shipmentConfirmation"


def order_id(push: FulfilmentPush) -> str:
    found = push.order.get("external_id")
    if not found:
        raise PermanentError(f"order {push.order.get('id')} has no Amazon order id")
    return str(found)


def carrier(push: FulfilmentPush) -> tuple[str, str | None]:
    """``(carrierCode, carrierName)``: the mapping's name when it is one of Amazon's codes,
    else the code for the hub's carrier, else ``Other`` with the carrier's name (which
    Amazon requires with ``Other``)."""
    code = known_code(push.carrier_name)
    if code is not None and code != OTHER:
        return code, code
    code = CARRIER_CODES.get(push.carrier)
    if code is not None:
        return code, code
    return OTHER, push.carrier_name or push.carrier


def order_items(push: FulfilmentPush) -> list[dict[str, Any]]:
    """The parcel's lines as ``[{orderItemId, quantity}]`` (lines of one item summed)."""
    quantities: dict[str, int] = {}
    for line in push.lines:
        item_id = line.get("external_id")
        if not item_id:
            raise PermanentError(f"parcel {push.parcel_id}: a line has no Amazon order item id")
        quantity = int(line.get("quantity") or 0)
        if quantity <= 0:
            continue
        quantities[str(item_id)] = quantities.get(str(item_id), 0) + quantity
    if not quantities:
        raise PermanentError(f"parcel {push.parcel_id}: nothing to confirm")
    return [{"orderItemId": k, "quantity": v} for k, v in quantities.items()]


def confirm_body(push: FulfilmentPush, marketplace_id: str) -> dict[str, Any]:
    code, name = carrier(push)
    detail: dict[str, Any] = {
        "packageReferenceId": str(push.parcel_id),
        "carrierCode": code,
        "trackingNumber": push.tracking_number,
        "shipDate": push.shipped_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "orderItems": order_items(push),
    }
    if name:
        detail["carrierName"] = name
    if push.service:
        detail["shippingMethod"] = push.service
    return {"marketplaceId": marketplace_id, "packageDetail": detail}


def marketplace_of(order: dict[str, Any], default: str) -> str:
    """The marketplace an order was placed in (its ``salesChannel``), else the account's first."""
    channel = order.get("salesChannel")
    found = channel.get("marketplaceId") if isinstance(channel, dict) else None
    return str(found) if found else default


def existing_package(order: dict[str, Any], tracking_number: str) -> str | None:
    """The ``packageReferenceId`` of the order's package with this tracking number, if any."""
    wanted = tracking_number.strip().upper()
    for package in order.get("packages") or []:
        if not isinstance(package, dict):
            continue
        number = str(package.get("trackingNumber") or "").strip().upper()
        if number and number == wanted:
            return str(package.get("packageReferenceId") or "")
    return None
