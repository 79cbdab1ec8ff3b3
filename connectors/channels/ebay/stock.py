"""Stock levels read from and set through the Inventory API: the pure half.

* Items: ``GET /sell/inventory/v1/inventory_item?limit=&offset=`` answers ``{href, total,
  size, limit, next, inventoryItems[{sku, availability{shipToLocationAvailability{quantity}}}]}``.
  Here ``offset`` is "the page number to retrieve" (0, 1, ...; ``limit`` at most 100), unlike
  getOrders' count of records to skip, so pages are followed by the ``offset`` of the answer's
  ``next`` address (sent to ``api_base``, not to ``next`` itself), until an answer has no
  ``next``. — eBay's contract ``sell_inventory_v1_oas3.json`` (getInventoryItems). Each SKU's
  offers come from ``GET /sell/inventory/v1/offer?sku=&marketplace_id=`` (``offers[{offerId,
  marketplaceId, status, availableQuantity}]``).
* Set: ``POST /sell/inventory/v1/bulk_update_price_quantity`` with ``{"requests": [{"sku",
  "shipToLocationAvailability": {"quantity"}, "offers": [{"offerId", "availableQuantity"}]}]}``,
  at most 25 requests (SKUs) a call; the answer (200, or 207 when some failed) is
  ``{"responses": [{"statusCode", "sku", "offerId", "errors", "warnings"}]}``, one per SKU
  and one per offer. The listed quantity is the smaller of the item's total and the offer's
  ``availableQuantity``, so both are set. — docs,
  https://developer.ebay.com/api-docs/sell/inventory/resources/inventory_item/methods/bulkUpdatePriceQuantity
  and https://developer.ebay.com/api-docs/sell/static/inventory/bulk-updates.html

A :class:`~hub.connectors.ChannelItem` here is the inventory item: ``item_id`` its SKU,
``parent_id`` the account marketplace's offer id, when the SKU has one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from connectors.channels.ebay import envelope
from hub.connectors import ChannelItem, StockOutcome, StockUpdate
from hub.errors import PermanentError

ITEMS_PATH = "sell/inventory/v1/inventory_item"
OFFERS_PATH = "sell/inventory/v1/offer"
BULK_PATH = "sell/inventory/v1/bulk_update_price_quantity"
BATCH = 25  # requests per bulk_update_price_quantity call
PAGE_SIZE = 100


def read_items(body: Any) -> tuple[list[tuple[str, int | None]], str | None]:
    """A page's ``(sku, ship-to-home quantity)`` and the ``offset`` of the next page (None
    after the last)."""
    if not isinstance(body, dict):
        raise PermanentError(f"GET {ITEMS_PATH}: the answer is not an object")
    found = []
    for item in body.get("inventoryItems") or []:
        if not isinstance(item, dict) or not item.get("sku"):
            continue
        availability = item.get("availability") or {}
        ship = availability.get("shipToLocationAvailability") or {}
        quantity = ship.get("quantity")
        found.append((str(item["sku"]), int(quantity) if isinstance(quantity, int) else None))
    following = body.get("next")
    if not following or not found:
        return found, None
    offset = parse_qs(urlsplit(str(following)).query).get("offset")
    if not offset:
        raise PermanentError(f"GET {ITEMS_PATH}: next names no offset: {following!r}")
    return found, offset[0]


def offer_id(body: Any, marketplace_id: str) -> str | None:
    """The SKU's published offer on the marketplace (else any of its offers there)."""
    offers = body.get("offers") if isinstance(body, dict) else None
    mine = [
        o
        for o in offers or []
        if isinstance(o, dict) and o.get("offerId") and o.get("marketplaceId") == marketplace_id
    ]
    mine.sort(key=lambda o: o.get("status") != "PUBLISHED")
    return str(mine[0]["offerId"]) if mine else None


def items(levels: Iterable[tuple[str, int | None, str | None]]) -> Iterator[ChannelItem]:
    for sku, quantity, offer in levels:
        yield ChannelItem(sku=sku, item_id=sku, parent_id=offer, quantity=quantity)


def bulk_body(updates: list[StockUpdate]) -> dict[str, Any]:
    if len(updates) > BATCH:
        raise ValueError(f"at most {BATCH} SKUs a call, got {len(updates)}")
    requests = []
    for update in updates:
        request: dict[str, Any] = {
            "sku": update.item.item_id or update.item.sku,
            "shipToLocationAvailability": {"quantity": update.quantity},
        }
        if update.item.parent_id:
            request["offers"] = [
                {"offerId": update.item.parent_id, "availableQuantity": update.quantity}
            ]
        requests.append(request)
    return {"requests": requests}


def outcomes(updates: list[StockUpdate], body: Any) -> list[StockOutcome]:
    """One outcome per update from the per-SKU and per-offer ``responses``: an update is done
    when every answer about its SKU is 200; otherwise it failed with eBay's errors, and
    only an eBay-side fault (``APPLICATION``) is worth sending again."""
    answers = body.get("responses") if isinstance(body, dict) else None
    by_sku: dict[str, list[dict[str, Any]]] = {}
    for answer in answers or []:
        if isinstance(answer, dict) and answer.get("sku") is not None:
            by_sku.setdefault(str(answer["sku"]), []).append(answer)
    out = []
    for update in updates:
        sku = update.item.item_id or update.item.sku
        mine = by_sku.get(sku)
        if not mine:
            out.append(
                StockOutcome(update.item.sku, ok=False, error="eBay's answer does not name it")
            )
            continue
        failed = [a for a in mine if a.get("statusCode") != 200]
        if not failed:
            out.append(StockOutcome(update.item.sku, ok=True, quantity=update.quantity))
            continue
        errors = [e for a in failed for e in envelope.errors_of(a)]
        said = envelope.describe(errors) or f"HTTP {failed[0].get('statusCode')}"
        out.append(
            StockOutcome(update.item.sku, ok=False, error=said, again=envelope.retryable(errors))
        )
    return out
