"""WooCommerce stock levels: REST v3 product pages in, batch updates out. Pure: no I/O.

Reading (``GET /wp-json/wc/v3/products`` and ``/products/<id>/variations``, see ``client.py``):
every product and variation with a SKU of its own becomes a :class:`ChannelItem` whose
``quantity`` is ``stock_quantity`` when WooCommerce manages the item's stock, else None. What
the answers mean, as read in WooCommerce's source (``class-wc-product-variation.php``):

* a variation without a SKU of its own shows its parent's SKU, so a variation whose SKU equals
  its parent's has none and is left out (SKUs are unique across products and variations);
* a variation's ``manage_stock`` may be ``"parent"``: it sells from the parent's stock, and
  the ``stock_quantity`` shown is the parent's, not its own level, so its quantity is None;
* ``external`` products cannot manage stock (an update is refused) and ``grouped`` products
  cannot be bought, so neither is an item.

Writing: ``POST /products/batch`` for products and ``POST /products/<parent>/variations/batch``
for variations, each ``{"update": [{"id", "manage_stock": true, "stock_quantity"}]}``, at
most 100 entries (``woocommerce_rest_batch_items_limit``). The answer is a 200 whose ``update``
list holds each item as WooCommerce now has it, or ``{"id", "error": {"code", "message",
"data"}}`` for an item it refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hub.connectors import ChannelItem, StockOutcome, StockUpdate
from hub.errors import PermanentError

#: WooCommerce's default limit of entries in one batch call (create + update + delete).
BATCH_LIMIT = 100
#: the fields asked for with ``_fields`` (WordPress trims every REST answer to them)
PRODUCT_FIELDS = "id,sku,type,manage_stock,stock_quantity"
VARIATION_FIELDS = "id,sku,manage_stock,stock_quantity"
#: product types that hold no stock of their own
NO_STOCK_TYPES = frozenset({"external", "grouped"})

_DIGITS = re.compile(r"\d+")
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Parent:
    """A variable product, whose variations are read next."""

    id: str
    sku: str  # "" when it has none


@dataclass
class ProductPage:
    """What one page of products holds: items, variable products, and entries not read."""

    items: list[ChannelItem] = field(default_factory=list)
    parents: list[Parent] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BatchCall:
    """One batch request: where it goes, which updates (indexes into the list) it carries."""

    path: str
    indexes: tuple[int, ...]


def read_products(page: Any) -> ProductPage:
    """Read one page of ``GET /products`` into items and the variable products to descend."""
    out = ProductPage()
    for n, product in enumerate(_entries(page, "products")):
        product_id = woo_id(product.get("id")) if isinstance(product, dict) else None
        if product_id is None:
            out.problems.append(f"products[{n}]: no product id, left out")
            continue
        kind = product.get("type")
        sku = _sku(product.get("sku"))
        if kind == "variable":
            out.parents.append(Parent(product_id, sku))
        if kind in NO_STOCK_TYPES or not sku:
            continue
        level = _level(product.get("manage_stock"), product.get("stock_quantity"))
        out.items.append(ChannelItem(sku=sku, item_id=product_id, quantity=level))
    return out


def read_variations(parent: Parent, page: Any) -> tuple[list[ChannelItem], list[str]]:
    """Read one page of ``GET /products/<parent>/variations``: items and entries not read."""
    items: list[ChannelItem] = []
    problems: list[str] = []
    for n, variation in enumerate(_entries(page, f"products/{parent.id}/variations")):
        variation_id = woo_id(variation.get("id")) if isinstance(variation, dict) else None
        if variation_id is None:
            problems.append(f"products/{parent.id}/variations[{n}]: no variation id, left out")
            continue
        sku = _sku(variation.get("sku"))
        if not sku or sku == parent.sku:
            continue  # no SKU of its own: WooCommerce shows the parent's
        level = _level(variation.get("manage_stock"), variation.get("stock_quantity"))
        items.append(
            ChannelItem(sku=sku, item_id=variation_id, parent_id=parent.id, quantity=level)
        )
    return items, problems


def plan(updates: Sequence[StockUpdate]) -> tuple[list[BatchCall], dict[int, StockOutcome]]:
    """Group updates into batch calls: one for products, one per parent of variations.

    Updates that cannot be addressed (an id that is not a WooCommerce id) are not sent; they
    come back as failed outcomes, by index.
    """
    groups: dict[str, list[int]] = {}
    refused: dict[int, StockOutcome] = {}
    for index, update in enumerate(updates):
        item = update.item
        if woo_id(item.item_id) is None:
            refused[index] = _failed(item.sku, f"item id {item.item_id!r} is no WooCommerce id")
            continue
        if item.parent_id is None:
            path = "products/batch"
        else:
            parent = woo_id(item.parent_id)
            if parent is None:
                refused[index] = _failed(
                    item.sku, f"parent id {item.parent_id!r} is no WooCommerce id"
                )
                continue
            path = f"products/{parent}/variations/batch"
        groups.setdefault(path, []).append(index)
    return [BatchCall(path, tuple(indexes)) for path, indexes in groups.items()], refused


def batch_body(updates: Sequence[StockUpdate]) -> dict[str, Any]:
    """The body of one batch call setting absolute levels (``previous`` is not used: the API
    has no compare-and-set, the last write wins)."""
    return {
        "update": [
            {"id": int(u.item.item_id), "manage_stock": True, "stock_quantity": u.quantity}
            for u in updates
        ]
    }


def read_batch_answer(updates: Sequence[StockUpdate], answer: Any) -> list[StockOutcome]:
    """One outcome per update, in order, from a batch call's 200 answer."""
    if not isinstance(answer, dict) or not isinstance(answer.get("update"), list):
        raise PermanentError("batch answer has no 'update' list")
    by_id: dict[str, dict[str, Any]] = {}
    for entry in answer["update"]:
        entry_id = woo_id(entry.get("id")) if isinstance(entry, dict) else None
        if entry_id is not None:
            by_id.setdefault(entry_id, entry)
    return [_outcome(u, by_id.get(str(woo_id(u.item.item_id)))) for u in updates]


def woo_id(value: Any) -> str | None:
    """A WooCommerce object id as a string (``"799"``), or None if ``value`` is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value > 0 else None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value)
        return str(number) if number > 0 else None
    return None


def _outcome(update: StockUpdate, entry: dict[str, Any] | None) -> StockOutcome:
    sku = update.item.sku
    if entry is None:
        return _failed(sku, f"the answer has no entry for id {update.item.item_id}")
    error = entry.get("error")
    if error is not None:
        return _failed(sku, _error_text(error))
    # Without ``manage_stock`` in the answer (a trimmed one) the level alone is taken.
    managed = entry.get("manage_stock", True)
    if managed is not True:
        return _failed(sku, f"WooCommerce did not take the level (manage_stock={managed!r})")
    return StockOutcome(sku=sku, ok=True, quantity=_quantity(entry.get("stock_quantity")))


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        code = str(error.get("code") or "error")
        message = str(error.get("message") or "").strip()
        return f"{code}: {message}" if message else code
    return str(error)


def _failed(sku: str, error: str) -> StockOutcome:
    return StockOutcome(sku=sku, ok=False, error=error)


def _entries(page: Any, what: str) -> list[Any]:
    if not isinstance(page, list):
        raise PermanentError(f"{what}: the answer is not a list")
    return page


def _sku(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _level(manage_stock: Any, stock_quantity: Any) -> int | None:
    # Only ``true`` is a level of the item's own: ``false`` is untracked, and a variation's
    # ``"parent"`` shows the parent's shared stock.
    return _quantity(stock_quantity) if manage_stock is True else None


def _quantity(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    return None  # absent, null, or a fractional level (a store that filters stock amounts)
