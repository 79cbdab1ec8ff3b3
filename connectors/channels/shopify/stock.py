"""Shopify stock sync, the pure half: the GraphQL documents ``client.py`` sends, the variables
they take and the reading of their answers. No I/O.

Shapes as shopify.dev documents them for the GraphQL Admin API 2026-01 and later:

* reading: the ``productVariants`` connection, each variant's ``inventoryItem`` with its
  ``inventoryLevel(locationId:)`` and the ``available`` quantity there; ``location`` with no id
  is the shop's primary location;
* writing: ``inventorySetQuantities`` with ``name: "available"``, every quantity carrying
  ``changeFromQuantity`` (compare-and-set; an explicit null opts out, and from 2026-04 leaving
  it out is an error) and the ``@idempotent(key:)`` directive (required from 2026-04);
* a refused quantity comes back as a ``userErrors`` entry whose ``field`` path names its index
  (``["input", "quantities", "3", "changeFromQuantity"]``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from hub.connectors import ChannelItem, StockOutcome, StockUpdate
from hub.errors import ConnectorError, PermanentError, RetryableError

log = logging.getLogger(__name__)

#: every array input, and every page, holds at most 250 items in Shopify's APIs
MAX_ITEMS = 250
QUANTITY_NAME = "available"
REASON = "correction"
REFERENCE_PREFIX = "gid://fulfilment-hub/StockSync/"
LOCATION_PREFIX = "gid://shopify/Location/"

#: the compare-and-set refusals: ``COMPARE_QUANTITY_STALE`` is what versions before 2026-04 say
STALE_CODES = frozenset({"CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE"})
#: "this request is in progress, try again": the same key, later
CONCURRENT_CODE = "IDEMPOTENCY_CONCURRENT_REQUEST"
CONCURRENT_RETRY_AFTER = 2.0

# Estimated costs (shopify.dev, "GraphQL Admin API rate limits": object 1, scalar 0, mutation
# 10, a connection 2 + first x its node). A variant node selects four objects: the variant, its
# inventory item, the level and the level's quantities.
VARIANT_NODE_COST = 4
LEVEL_NODE_COST = 3
LOCATION_COST = 1
MUTATION_COST = 10

PRIMARY_LOCATION_QUERY = """\
query PrimaryLocation {
  location {
    id
    name
  }
}
"""

VARIANTS_QUERY = """\
query StockVariants($first: Int!, $after: String, $locationId: ID!) {
  productVariants(first: $first, after: $after) {
    nodes {
      id
      sku
      inventoryItem {
        id
        tracked
        inventoryLevel(locationId: $locationId) {
          quantities(names: ["available"]) {
            name
            quantity
          }
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
"""

SET_QUANTITIES_MUTATION = """\
mutation StockSet($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup {
      id
    }
    userErrors {
      code
      field
      message
    }
  }
}
"""

LEVELS_QUERY = """\
query StockLevels($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      inventoryLevel(locationId: $locationId) {
        quantities(names: ["available"]) {
          name
          quantity
        }
      }
    }
  }
}
"""

_NUMERIC_ID = re.compile(r"[1-9][0-9]*")


def location_gid(value: str | int) -> str:
    """A Shopify location as a GID, from a GID or a numeric id. Raises ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("not a location id")
    text = str(value).strip()
    number = text.removeprefix(LOCATION_PREFIX)
    if not _NUMERIC_ID.fullmatch(number):
        raise ValueError(f"expected a numeric id or {LOCATION_PREFIX}<id>, got {text!r}")
    return LOCATION_PREFIX + number


# -- reading --------------------------------------------------------------------------------


def primary_location(data: Mapping[str, Any]) -> str:
    """The primary location's GID from a :data:`PRIMARY_LOCATION_QUERY` answer."""
    location = data.get("location")
    gid = location.get("id") if isinstance(location, Mapping) else None
    if not isinstance(gid, str) or not gid:
        raise PermanentError("Shopify named no primary location; set location_id on the account")
    return gid


def variants_variables(location_id: str, first: int, after: str | None) -> dict[str, Any]:
    return {"first": first, "after": after, "locationId": location_id}


def variants_cost(first: int) -> int:
    return 2 + first * VARIANT_NODE_COST


def smaller_page(first: int, error_extensions: Mapping[str, Any]) -> int | None:
    """The page size that fits a ``MAX_COST_EXCEEDED`` refusal's ``maxCost``, or None when the
    refusal says nothing usable or the page cannot shrink."""
    cost, most = error_extensions.get("cost"), error_extensions.get("maxCost")
    if not _is_number(cost) or not _is_number(most) or cost <= 2 or most <= 2:
        return None
    # a connection costs 2 + first x (one node's cost): keep the node cost, fit the maximum
    fits = min(first - 1, int((most - 2) * first // (cost - 2)))
    return fits if fits >= 1 else None


def _connection(data: Mapping[str, Any]) -> Mapping[str, Any]:
    connection = data.get("productVariants")
    if not isinstance(connection, Mapping):
        raise PermanentError("Shopify's answer has no productVariants")
    return connection


def next_cursor(data: Mapping[str, Any]) -> str | None:
    """The cursor of the page after this one, or None on the last page."""
    info = _connection(data).get("pageInfo")
    if not isinstance(info, Mapping) or not info.get("hasNextPage"):
        return None
    cursor = info.get("endCursor")
    if not isinstance(cursor, str) or not cursor:
        raise PermanentError("Shopify said there is a next page but gave no endCursor")
    return cursor


@dataclass(frozen=True)
class VariantItem:
    """One variant that has a SKU, as :func:`read_variants` finds it."""

    variant_id: str
    item: ChannelItem


def read_variants(data: Mapping[str, Any], location_id: str) -> list[VariantItem]:
    """The variants with a SKU on one page of :data:`VARIANTS_QUERY`.

    A SKU loses surrounding blanks; a variant without one is skipped. ``quantity`` is the
    ``available`` level at ``location_id``; None when Shopify does not track the item or it is
    not stocked there.
    """
    nodes = _connection(data).get("nodes")
    if not isinstance(nodes, list):
        raise PermanentError("Shopify's productVariants answer has no nodes")
    found: list[VariantItem] = []
    for node in nodes:
        if not isinstance(node, Mapping):
            continue
        sku = node.get("sku")
        sku = sku.strip() if isinstance(sku, str) else ""
        inventory = node.get("inventoryItem")
        item_id = inventory.get("id") if isinstance(inventory, Mapping) else None
        if not sku or not isinstance(item_id, str) or not item_id:
            continue
        quantity = available(inventory.get("inventoryLevel")) if inventory.get("tracked") else None
        item = ChannelItem(sku=sku, item_id=item_id, location_id=location_id, quantity=quantity)
        found.append(VariantItem(variant_id=str(node.get("id") or ""), item=item))
    return found


def unique_skus(variants: Iterable[VariantItem], label: str = "shopify") -> Iterator[ChannelItem]:
    """Each SKU once, the first variant that has it; a repeat is logged and skipped, since one
    hub level cannot be pushed to two items without selling the stock twice."""
    first_seen: dict[str, str] = {}
    for variant in variants:
        sku = variant.item.sku
        if sku in first_seen:
            log.warning(
                "%s: SKU %r is on variant %s and again on %s; stock goes to the first only",
                label,
                sku,
                first_seen[sku],
                variant.variant_id,
            )
            continue
        first_seen[sku] = variant.variant_id
        yield variant.item


def available(level: Any) -> int | None:
    """The ``available`` quantity of an ``InventoryLevel`` (None when there is no level)."""
    if not isinstance(level, Mapping):
        return None
    for entry in level.get("quantities") or []:
        if isinstance(entry, Mapping) and entry.get("name") == QUANTITY_NAME:
            quantity = entry.get("quantity")
            if isinstance(quantity, int) and not isinstance(quantity, bool):
                return quantity
            return None
    return None


# -- writing --------------------------------------------------------------------------------


def reference_uri(key: str) -> str:
    """``referenceDocumentUri`` for a batch: the merchant's inventory history names the sync."""
    return REFERENCE_PREFIX + quote(key, safe="-._~")


def set_quantities_variables(
    updates: Sequence[StockUpdate], key: str, default_location: str | None
) -> dict[str, Any]:
    """The variables of :data:`SET_QUANTITIES_MUTATION` for at most :data:`MAX_ITEMS` updates.

    ``changeFromQuantity`` is each update's ``previous``, an explicit null when the hub never
    confirmed a level (the API refuses a quantity that leaves it out). An item without a
    location goes to ``default_location``.
    """
    if len(updates) > MAX_ITEMS:
        raise ValueError(f"at most {MAX_ITEMS} updates per call, got {len(updates)}")
    quantities = []
    for update in updates:
        location = update.item.location_id or default_location
        if not location:
            raise ValueError(f"{update.item.sku}: no location to set stock at")
        quantities.append(
            {
                "inventoryItemId": update.item.item_id,
                "locationId": location,
                "quantity": update.quantity,
                "changeFromQuantity": update.previous,
            }
        )
    return {
        "input": {
            "name": QUANTITY_NAME,
            "reason": REASON,
            "referenceDocumentUri": reference_uri(key),
            "quantities": quantities,
        },
        "idempotencyKey": key,
    }


#: the mutation, its adjustment group and its list of errors
SET_COST = MUTATION_COST + 2


@dataclass(frozen=True)
class UserError:
    code: str | None
    message: str
    field: tuple[str, ...] = ()

    @property
    def stale(self) -> bool:
        return self.code in STALE_CODES

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


@dataclass(frozen=True)
class SetResult:
    """What ``inventorySetQuantities`` answered: the refusals by index into ``quantities``,
    and whether Shopify made an adjustment group (it did not when it refused the call)."""

    applied: bool
    errors: Mapping[int, list[UserError]] = field(default_factory=dict)

    @property
    def stale(self) -> list[int]:
        return sorted(i for i, errors in self.errors.items() if all(e.stale for e in errors))


def quantity_index(path: Any, count: int) -> int | None:
    """The index a ``userErrors.field`` path names in ``quantities`` (None: no single one)."""
    if not isinstance(path, list):
        return None
    for at, part in enumerate(path[:-1]):
        if part == "quantities":
            index = path[at + 1]
            if isinstance(index, str) and index.isdigit():
                index = int(index)
            if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < count:
                return index
            return None
    return None


def read_set_result(data: Mapping[str, Any], count: int) -> SetResult:
    """Read a :data:`SET_QUANTITIES_MUTATION` answer for ``count`` quantities.

    Raises what the whole call's failure means: ``RetryableError`` while Shopify still works
    on the same key, ``PermanentError`` for a refusal that names no single quantity (a reused
    key, a failed previous attempt under this key, a bad reason...).
    """
    payload = data.get("inventorySetQuantities")
    if not isinstance(payload, Mapping):
        raise PermanentError("Shopify's answer has no inventorySetQuantities")
    by_index: dict[int, list[UserError]] = {}
    whole: list[UserError] = []
    for raw in payload.get("userErrors") or []:
        if not isinstance(raw, Mapping):
            continue
        path = raw.get("field")
        error = UserError(
            code=str(raw["code"]) if raw.get("code") else None,
            message=str(raw.get("message") or "refused"),
            field=tuple(str(p) for p in path) if isinstance(path, list) else (),
        )
        index = quantity_index(path, count)
        if index is None:
            whole.append(error)
        else:
            by_index.setdefault(index, []).append(error)
    if whole:
        raise whole_call_error(whole)
    return SetResult(applied=payload.get("inventoryAdjustmentGroup") is not None, errors=by_index)


def whole_call_error(errors: Sequence[UserError]) -> ConnectorError:
    text = "; ".join(str(e) for e in errors)
    details = {"user_errors": [{"code": e.code, "message": e.message} for e in errors]}
    if all(e.code == CONCURRENT_CODE for e in errors):
        return RetryableError(
            f"inventorySetQuantities: {text}", retry_after=CONCURRENT_RETRY_AFTER, details=details
        )
    return PermanentError(f"inventorySetQuantities refused the call: {text}", details=details)


def levels_variables(item_ids: Sequence[str], location_id: str) -> dict[str, Any]:
    return {"ids": list(item_ids), "locationId": location_id}


def levels_cost(count: int) -> int:
    return 1 + count * LEVEL_NODE_COST


def read_levels(data: Mapping[str, Any]) -> dict[str, int | None]:
    """``available`` by inventory item GID from a :data:`LEVELS_QUERY` answer."""
    levels: dict[str, int | None] = {}
    for node in data.get("nodes") or []:
        if isinstance(node, Mapping) and isinstance(node.get("id"), str):
            levels[node["id"]] = available(node.get("inventoryLevel"))
    return levels


def outcomes(
    updates: Sequence[StockUpdate],
    result: SetResult,
    levels: Mapping[tuple[str, str], int | None],
    default_location: str | None = None,
) -> list[StockOutcome]:
    """One outcome per update, in order.

    A compare-and-set refusal is ``stale`` with the level Shopify shows now (from ``levels``,
    by inventory item and location; None when it could not be read). When Shopify refused the
    call for some items and made no adjustment, the others were not applied either.
    """
    refused_call = bool(result.errors) and not result.applied
    out: list[StockOutcome] = []
    for index, update in enumerate(updates):
        sku = update.item.sku
        errors = result.errors.get(index)
        if errors and all(e.stale for e in errors):
            location = update.item.location_id or default_location or ""
            out.append(
                StockOutcome(
                    sku=sku,
                    ok=False,
                    stale=True,
                    quantity=levels.get((update.item.item_id, location)),
                    error="; ".join(str(e) for e in errors),
                )
            )
        elif errors:
            out.append(StockOutcome(sku=sku, ok=False, error="; ".join(str(e) for e in errors)))
        elif refused_call:
            out.append(
                StockOutcome(
                    sku=sku,
                    ok=False,
                    error="not applied: Shopify refused the batch over other items in it",
                    again=True,
                )
            )
        else:
            out.append(StockOutcome(sku=sku, ok=True, quantity=update.quantity))
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
