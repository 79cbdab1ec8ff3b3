"""Shopify returns and refunds: webhooks in, refunds out. Pure: documents and readers, no I/O.

In: the ``returns/*`` webhooks carry the REST-shaped Return (``id``, ``status``, ``order``
``{id}``, ``return_line_items`` with ``fulfillment_line_item.line_item.id``, ``quantity`` and
``return_reason``; ``returns/decline`` a ``decline`` ``{reason, note}``; the thinner ones may
carry ``order_id`` in place of ``order``), each a :class:`~hub.canonical.ReturnRequest`:
``returns/request`` requested, ``returns/approve`` authorised, ``returns/decline`` rejected,
``returns/cancel`` cancelled, ``returns/close`` closed. Shopify's return reasons are the hub's
(:data:`hub.canonical.RETURN_REASONS`); one it adds later is ``other``.

``refunds/create`` carries the REST Refund. A refund gives money back; goods come back only
with its ``refund_line_items`` of ``restock_type`` ``return`` (or the old ``legacy_restock``):
those lines are a return, ``closed`` (refunded on Shopify already, so the hub never refunds
it again; the warehouse's receipt still puts the goods back). A refund tied to a Shopify return
(``return.id``) names that return; one the hub made itself (its key ``hub-return-<id>`` in the
note) names the hub's return. A refund of money only (``no_restock``) or of unfulfilled items
(``cancel``) names no goods: nothing is opened and the delivery is ignored.

Out: :meth:`ShopifyConnector.push_refund` uses ``refundCreate``, not ``returnProcess``:
``returnProcess`` refunds a Shopify Return by its return line items, and a return opened in
the hub (the API, the console, a warehouse) has no Shopify Return; ``refundCreate`` refunds
the order's line items, which every hub return names, on every API version the connector
accepts (2026-01 on). It takes the ``@idempotent(key:)`` directive from 2026-01 and requires
it from 2026-04 (Shopify changelog, "Making idempotency mandatory for inventory adjustments
and refund mutations"); the key is the refund's ``push.key``. Before creating, the order's
refunds are read and one whose note carries the key is the answer (a key Shopify no longer
remembers cannot refund twice either). The money comes from the order's ``suggestedRefund``
for the same line items (its ``suggestedTransactions``: gateway, parent transaction, amount),
as Shopify's docs advise; without transactions ``refundCreate`` would record a refund of no
money.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from connectors.channels.shopify.fulfilment import (
    LINE_ITEM_PREFIX,
    MUTATION_COST,
    error_text,
    gid,
    order_gid,
    user_errors,
)
from hub.canonical import RETURN_REASONS, ReturnLineRequest, ReturnRequest
from hub.connectors import RefundPush
from hub.errors import PermanentError, RetryableError, TranslationError
from hub.values import json_array

RETURN_PREFIX = "gid://shopify/Return/"
REFUND_PREFIX = "gid://shopify/Refund/"
LOCATION_PREFIX = "gid://shopify/Location/"

#: what each returns webhook says of the return
RETURN_TOPICS = {
    "returns/request": "requested",
    "returns/approve": "authorised",
    "returns/decline": "rejected",
    "returns/cancel": "cancelled",
    "returns/close": "closed",
}
REFUND_TOPIC = "refunds/create"
TOPICS = (*RETURN_TOPICS, REFUND_TOPIC)
#: refund line restock types that mean the goods come back
RETURNED = frozenset({"return", "legacy_restock"})
_OWN_KEY = re.compile(r"hub-return-[0-9]+")
#: refunds read back to find one made already (a return is refunded a few times at most)
REFUNDS_READ = 50
CONTEXT_COST = 1 + REFUNDS_READ + 10


def translate(topic: str, payload: Any) -> ReturnRequest:
    """A ``returns/*`` or ``refunds/create`` body to a :class:`ReturnRequest`."""
    if topic == REFUND_TOPIC:
        return translate_refund(payload)
    if topic not in RETURN_TOPICS:
        raise TranslationError(f"not a Shopify returns topic: {topic!r}")
    raw = _object(payload, "$")
    number = _id(raw.get("id"), "id")
    if number is None:
        raise TranslationError("return has no id", path="id")
    lines = []
    for i, item in enumerate(json_array(raw.get("return_line_items"), path="return_line_items")):
        path = f"return_line_items[{i}]"
        item = _object(item, path)
        where = f"{path}.fulfillment_line_item"
        fulfilled = _object(item.get("fulfillment_line_item") or {}, where)
        line = _object(fulfilled.get("line_item") or {}, f"{where}.line_item")
        line_id = _id(line.get("id"), f"{where}.line_item.id")
        if line_id is None:
            raise TranslationError("return line names no order line", path=path)
        reason = str(item.get("return_reason") or "unknown").lower()
        lines.append(
            ReturnLineRequest(
                quantity=_quantity(item.get("quantity"), f"{path}.quantity"),
                line_id=line_id,
                reason=reason if reason in RETURN_REASONS else "other",
            )
        )
    decline = raw.get("decline") if isinstance(raw.get("decline"), Mapping) else {}
    said = [str(v) for v in (decline.get("reason"), decline.get("note")) if v]
    notes = [
        str(item.get(k))
        for item in raw.get("return_line_items") or []
        if isinstance(item, Mapping)
        for k in ("customer_note", "return_reason_note")
        if item.get(k)
    ]
    return ReturnRequest(
        order_external_id=_order_id(raw),
        external_id=RETURN_PREFIX + number,
        status=RETURN_TOPICS[topic],
        lines=lines,
        note="; ".join(notes) or None,
        reason_text=": ".join(said) or None,
    )


def translate_refund(payload: Any) -> ReturnRequest:
    """A ``refunds/create`` body (the REST Refund, unwrapped or in ``{"refund": ...}``)."""
    raw = _object(payload, "$")
    if set(raw) == {"refund"}:
        raw = _object(raw["refund"], "refund")
    number = _id(raw.get("id"), "id")
    order = _id(raw.get("order_id"), "order_id")
    if number is None or order is None:
        raise TranslationError("refund has no id or order_id", path="id")
    note = str(raw.get("note") or "") or None
    own = _OWN_KEY.search(note or "")
    tied = raw.get("return") if isinstance(raw.get("return"), Mapping) else None
    tied_id = _id(tied.get("id"), "return.id") if tied else None
    if own:
        external = own.group(0)
    elif tied_id:
        external = RETURN_PREFIX + tied_id
    else:
        external = REFUND_PREFIX + number
    lines = []
    for i, item in enumerate(json_array(raw.get("refund_line_items"), path="refund_line_items")):
        path = f"refund_line_items[{i}]"
        item = _object(item, path)
        if str(item.get("restock_type") or "").lower() not in RETURNED:
            continue
        line = item.get("line_item") if isinstance(item.get("line_item"), Mapping) else {}
        line_id = _id(item.get("line_item_id") or line.get("id"), f"{path}.line_item_id")
        lines.append(
            ReturnLineRequest(
                quantity=_quantity(item.get("quantity"), f"{path}.quantity"),
                line_id=line_id,
                sku=str(line["sku"]) if line.get("sku") else None,
            )
        )
    return ReturnRequest(
        order_external_id=order,
        external_id=external,
        status="closed",
        lines=lines,
        note=note,
        reason_text=f"refund {number} on Shopify",
    )


# -- push_refund ------------------------------------------------------------------------------
REFUND_CONTEXT_QUERY = f"""\
query RefundContext($id: ID!, $refundLineItems: [RefundLineItemInput!]) {{
  order(id: $id) {{
    id
    refunds(first: {REFUNDS_READ}) {{
      id
      note
    }}
    suggestedRefund(refundLineItems: $refundLineItems) {{
      suggestedTransactions {{
        gateway
        kind
        parentTransaction {{
          id
        }}
        amountSet {{
          presentmentMoney {{
            amount
            currencyCode
          }}
        }}
      }}
    }}
  }}
}}
"""

REFUND_CREATE_MUTATION = """\
mutation RefundCreate($input: RefundInput!, $idempotencyKey: String!) {
  refundCreate(input: $input) @idempotent(key: $idempotencyKey) {
    refund {
      id
    }
    userErrors {
      field
      message
    }
  }
}
"""
REFUND_COST = MUTATION_COST


def refund_lines(push: RefundPush, location_id: str | None) -> list[dict[str, Any]]:
    """``RefundLineItemInput`` for each returned line: ``RETURN`` (restocked at
    ``location_id``, else where Shopify chooses) when ``push.restock``, else ``NO_RESTOCK``."""
    lines = []
    for line in push.lines:
        entry: dict[str, Any] = {
            "lineItemId": gid(LINE_ITEM_PREFIX, line.get("external_id"), "line external_id"),
            "quantity": int(line["quantity"]),
            "restockType": "RETURN" if push.restock else "NO_RESTOCK",
        }
        if push.restock and location_id:
            entry["locationId"] = location_id
        lines.append(entry)
    if not lines:
        raise PermanentError(f"return {push.return_id} has no lines to refund")
    return lines


def context_variables(push: RefundPush, lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": order_gid(push.order), "refundLineItems": lines}


def note_for(push: RefundPush) -> str:
    """The refund's note: what it is, and the key that finds it again."""
    return f"Return {push.return_id} received ({push.key})"


def existing_refund(data: Mapping[str, Any], key: str) -> str | None:
    """The GID of the order's refund whose note carries ``key`` (made on an earlier try): the
    whole key, so ``hub-return-1`` is not found in the note of ``hub-return-12``."""
    order = _order_of(data)
    for refund in order.get("refunds") or []:
        if isinstance(refund, Mapping) and key in _OWN_KEY.findall(str(refund.get("note") or "")):
            return str(refund.get("id"))
    return None


def create_variables(
    push: RefundPush, lines: list[dict[str, Any]], data: Mapping[str, Any]
) -> dict[str, Any]:
    """``refundCreate``'s input: the lines, and the money as Shopify suggests it."""
    order = _order_of(data)
    suggested = order.get("suggestedRefund") or {}
    transactions = []
    for found in suggested.get("suggestedTransactions") or []:
        if not isinstance(found, Mapping):
            continue
        amount = ((found.get("amountSet") or {}).get("presentmentMoney") or {}).get("amount")
        parent = (found.get("parentTransaction") or {}).get("id")
        if amount is None or not found.get("gateway"):
            continue
        transaction = {
            "orderId": order_gid(push.order),
            "gateway": found["gateway"],
            "kind": "REFUND",
            "amount": str(amount),
        }
        if parent:
            transaction["parentId"] = parent
        transactions.append(transaction)
    return {
        "input": {
            "orderId": order_gid(push.order),
            "note": note_for(push),
            "notify": False,
            "refundLineItems": lines,
            "transactions": transactions,
        },
        "idempotencyKey": push.key,
    }


def read_refund_created(data: Mapping[str, Any]) -> str:
    """The new refund's GID; ``userErrors`` raise PermanentError with Shopify's messages."""
    payload = data.get("refundCreate")
    if not isinstance(payload, Mapping):
        raise PermanentError("Shopify's answer has no refundCreate")
    errors = user_errors(payload)
    if errors:
        raise PermanentError(
            f"Shopify refused the refund: {error_text(errors)}", details={"userErrors": errors}
        )
    refund = payload.get("refund")
    if not isinstance(refund, Mapping) or not isinstance(refund.get("id"), str):
        # the key makes asking again safe, and a refund made is found by its note first
        raise RetryableError("Shopify answered refundCreate with neither a refund nor errors")
    return str(refund["id"])


def _order_of(data: Mapping[str, Any]) -> Mapping[str, Any]:
    order = data.get("order")
    if not isinstance(order, Mapping):
        raise PermanentError("Shopify knows no such order (order is null)")
    return order


# -- reading ------------------------------------------------------------------------------------
def _order_id(raw: Mapping[str, Any]) -> str:
    order = raw.get("order")
    if isinstance(order, Mapping):
        found = _id(order.get("id"), "order.id")
        if found:
            return found
    return _id(raw.get("order_id"), "order_id") or ""


def _object(value: Any, path: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise TranslationError(f"expected a JSON object, got {type(value).__name__}", path=path)


def _id(value: Any, path: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TranslationError(f"not an id: {value!r}", path=path)
    text = str(value).strip().rsplit("/", 1)[-1]
    if not text.isdigit():
        raise TranslationError(f"not an id: {value!r}", path=path)
    return text


def _quantity(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TranslationError(f"not a quantity of at least 1: {value!r}", path=path)
    return value
