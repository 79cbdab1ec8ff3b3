"""BigCommerce fulfilment push, the pure half: the shipment's body and finding one an earlier
attempt already made. No I/O.

A parcel becomes one shipment, ``POST /v2/orders/{order_id}/shipments`` with
``order_address_id`` (the shipping address its items go to, from the order's products),
``items`` ``[{"order_product_id", "quantity"}]`` (a subset for a partial shipment: BigCommerce
sets the order Partially Shipped, then Shipped once every item is), ``tracking_number``, and
the carrier: ``shipping_provider`` when BigCommerce knows the carrier (:data:`PROVIDERS`,
its fixed list, which also makes the tracking link), else ``tracking_carrier`` (an AfterShip
courier slug), and the carrier's own ``tracking_link`` when the hub has one.

Exactly once: shipments take no idempotency key, so the order's shipments are read first
and one that carries the parcel's tracking number is the answer.

— ``reference/orders.v2.oas2.yml`` in ``bigcommerce/docs`` (``orderShipment_Post``,
``shipping_provider_standard``, ``tracking_carrier``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hub.connectors import FulfilmentPush
from hub.errors import PermanentError

#: BigCommerce's ``shipping_provider_standard`` enum (without its empty string)
PROVIDERS = frozenset(
    {
        "auspost",
        "canadapost",
        "endicia",
        "usps",
        "fedex",
        "ups",
        "upsready",
        "upsonline",
        "shipperhq",
        "royalmail",
    }
)
#: the hub's carrier connectors BigCommerce has a provider for
CARRIER_PROVIDERS = {"royalmail": "royalmail", "ups": "ups", "fedex": "fedex", "usps": "usps"}
#: the others, as AfterShip courier slugs (``tracking_carrier``); the account's mapping
#: (``mappings/bigcommerce.yaml``) names them first
CARRIER_SLUGS = {"dhl": "dhl", "dpd_uk": "dpd-uk", "dpd": "dpd", "evri": "myhermes-uk"}
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")

_ID = re.compile(r"[1-9][0-9]*")


def order_id(order: Mapping[str, Any]) -> str:
    value = str(order.get("external_id") or "").strip()
    if not _ID.fullmatch(value):
        raise PermanentError(
            f"order external_id {order.get('external_id')!r} is not a BigCommerce id"
        )
    return value


def tracking_number(push: FulfilmentPush) -> str:
    number = str(push.tracking_number or "").strip()
    if not number:
        raise PermanentError(f"parcel {push.parcel_id} has no tracking number to send BigCommerce")
    return number


def tracking_key(number: Any) -> str:
    return "".join(str(number or "").split()).upper()


def existing_shipment(shipments: list[dict[str, Any]], number: str) -> str | None:
    """The id of the order's shipment with ``number`` (None: none yet)."""
    wanted = tracking_key(number)
    for shipment in shipments:
        if tracking_key(shipment.get("tracking_number")) == wanted and shipment.get("id"):
            return str(shipment["id"])
    return None


def carrier_fields(push: FulfilmentPush) -> dict[str, str]:
    """``shipping_provider`` from BigCommerce's list, else ``tracking_carrier`` (an AfterShip
    slug); plus the tracking link when BigCommerce cannot make one. ``carrier_name`` is the
    account's mapping's word for the carrier; a name that is neither (a carrier's title)
    falls back to this module's own tables."""
    named = (push.carrier_name or "").strip()
    provider = named.lower() if named.lower() in PROVIDERS else CARRIER_PROVIDERS.get(push.carrier)
    if provider:
        return {"shipping_provider": provider}
    slug = named if _SLUG.fullmatch(named) else CARRIER_SLUGS.get(push.carrier, "")
    out = {"shipping_provider": "", "tracking_carrier": slug}
    if push.tracking_url:
        out["tracking_link"] = push.tracking_url[:500]  # the field's maxLength
    return out


def shipment_body(
    push: FulfilmentPush, number: str, products: list[dict[str, Any]]
) -> dict[str, Any]:
    """The new shipment: the parcel's lines as order products, all to one address."""
    by_id = {str(p.get("id")): p for p in products if isinstance(p, Mapping)}
    items: list[dict[str, int]] = []
    addresses: set[str] = set()
    for line in push.lines:
        key = str(line.get("external_id") or "")
        product = by_id.get(key)
        if product is None:
            raise PermanentError(
                f"parcel {push.parcel_id}: line {key or line.get('sku')!r} is no product of "
                f"BigCommerce order {push.order.get('external_id')}"
            )
        quantity = int(line.get("quantity") or 0)
        if quantity <= 0:
            continue
        items.append({"order_product_id": int(key), "quantity": quantity})
        addresses.add(str(product.get("order_address_id")))
    if not items:
        raise PermanentError(f"parcel {push.parcel_id} carries no units to tell BigCommerce of")
    if len(addresses) != 1 or not _ID.fullmatch(next(iter(addresses))):
        raise PermanentError(
            f"parcel {push.parcel_id}: its lines go to {len(addresses)} shipping addresses; "
            "a BigCommerce shipment goes to one"
        )
    return {
        "order_address_id": int(next(iter(addresses))),
        "tracking_number": number,
        **carrier_fields(push),
        "items": items,
    }


def created_shipment(answer: Any) -> str:
    if not isinstance(answer, Mapping) or not answer.get("id"):
        raise PermanentError("BigCommerce's answer to the new shipment has no id")
    return str(answer["id"])
