"""BigCommerce stock, the pure half: catalog variants in, absolute adjustments out. No I/O.

Reading: ``GET /v3/catalog/variants`` (``include_fields=sku,inventory_level,product_id``, 250
a page, ``meta.pagination.total_pages``): every variant with a SKU is an item, keyed by its
variant id (a product without options has one variant, its base variant).
``inventory_level`` is the variant's level over every location: it is the level the channel
shows only when the account sets stock at the store's one default location; with another
``location_id`` the level there is not read (None), so the first push sets it.

Writing: ``PUT /v3/inventory/adjustments/absolute`` ``{"reason", "items": [{"location_id",
"variant_id", "quantity"}]}``, at most 2,000 items a call. The answer is all or nothing: a
200 with a ``transaction_id``, or a 422 naming the item it refused (e.g. a variant whose
stock is tracked by product), after which none of the call's items were set.

— ``reference/inventory.v3.yml`` in ``bigcommerce/docs`` (``put-absolute-adjustment``: "Limit
of 2000 items for payload length"; ``SimpleTransactionResponse``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from hub.connectors import ChannelItem, StockOutcome, StockUpdate
from hub.errors import PermanentError

MAX_ITEMS = 2000
VARIANTS_PATH = "v3/catalog/variants"
ADJUST_PATH = "v3/inventory/adjustments/absolute"
VARIANT_FIELDS = "sku,inventory_level,product_id"
PAGE_SIZE = 250
REASON = "Fulfilment hub: available to sell"
_VARIANT = re.compile(r"variant_id (\d+)")


def read_variants(body: Any, location_id: str | None) -> tuple[list[ChannelItem], int | None]:
    """A page of variants as items, and the number of pages (None when not said)."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise PermanentError(f"GET {VARIANTS_PATH}: the answer has no data list")
    items = []
    for variant in body["data"]:
        if not isinstance(variant, dict) or variant.get("id") is None:
            continue
        sku = variant.get("sku")
        if not isinstance(sku, str) or not sku.strip():
            continue
        level = variant.get("inventory_level")
        items.append(
            ChannelItem(
                sku=sku.strip(),
                item_id=str(variant["id"]),
                location_id=location_id,
                parent_id=str(variant["product_id"]) if variant.get("product_id") else None,
                quantity=level if isinstance(level, int) and not isinstance(level, bool) else None,
            )
        )
    pages = (body.get("meta") or {}).get("pagination", {}).get("total_pages")
    return items, pages if isinstance(pages, int) else None


def adjustment_body(updates: Sequence[StockUpdate], default_location: int) -> dict[str, Any]:
    """One absolute adjustment for every update (variant ids; each at its location)."""
    if len(updates) > MAX_ITEMS:
        raise ValueError(f"at most {MAX_ITEMS} items per adjustment, got {len(updates)}")
    return {
        "reason": REASON,
        "items": [
            {
                "location_id": int(u.item.location_id or default_location),
                "variant_id": int(u.item.item_id),
                "quantity": max(0, u.quantity),
            }
            for u in updates
        ],
    }


def unaddressable(updates: Sequence[StockUpdate]) -> dict[int, StockOutcome]:
    """Updates that cannot be sent (an id that is no BigCommerce id), by index."""
    refused = {}
    for index, update in enumerate(updates):
        for value in (update.item.item_id, update.item.location_id):
            if value is not None and not str(value).isdigit():
                refused[index] = StockOutcome(
                    sku=update.item.sku, ok=False, error=f"{value!r} is no BigCommerce id"
                )
    return refused


def outcomes(updates: Sequence[StockUpdate], answer: Any) -> list[StockOutcome]:
    """Every update set, once the call answered 200 with a transaction id."""
    if not isinstance(answer, dict) or answer.get("transaction_id") in (None, ""):
        raise PermanentError(f"PUT {ADJUST_PATH}: the answer has no transaction_id")
    return [StockOutcome(sku=u.item.sku, ok=True, quantity=max(0, u.quantity)) for u in updates]


def refused(updates: Sequence[StockUpdate], reason: str) -> list[StockOutcome]:
    """The outcomes of a call BigCommerce refused (422): none was set. The item its message
    names (``Item with variant_id 106 ...``) failed; the others are fine to send again
    (``again``). When no item is named, every one failed with the reason."""
    named = set(_VARIANT.findall(reason))
    if not named & {u.item.item_id for u in updates}:
        return [StockOutcome(sku=u.item.sku, ok=False, error=reason) for u in updates]
    return [
        StockOutcome(sku=u.item.sku, ok=False, error=reason)
        if u.item.item_id in named
        else StockOutcome(sku=u.item.sku, ok=False, error="not set: " + reason, again=True)
        for u in updates
    ]
