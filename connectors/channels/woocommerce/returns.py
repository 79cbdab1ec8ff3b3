"""WooCommerce refunds, in and out. Pure: readers and request bodies, no I/O.

WooCommerce has no returns of its own: a merchant refunds an order (REST v3 order refunds,
``/wc/v3/orders/<id>/refunds``), optionally giving back quantities of its line items and
restocking them. Its webhooks say so only as ``order.updated``, whose order carries a
``refunds`` summary (``[{id, reason, total}]``, no lines). When that summary is not empty the
connector's ``fetch`` reads the order's refunds (the worker's I/O, never the request's) and
puts them beside the order under :data:`REFUNDS_KEY`; :func:`returns_of` reads them. When
every refund in the summary is the hub's own (its key in the reason), nothing is read.

In: a refund's ``line_items`` carry negative quantities and, in ``meta_data``,
``_refunded_item_id``: the order line refunded. Goods come back only where WooCommerce restocked
them ("Restock refunded items", ``api_restock``): ``wc_restock_refunded_items`` adds the
quantity to the order line's ``_restock_refunded_items`` meta (a running count over every
refund of the line; it needs the product to manage stock). Those quantities, given to the
refunds oldest first, are a return, ``closed`` (refunded on WooCommerce already, so the hub
never refunds it again), as Shopify's ``refunds/create`` with restocked lines is. A refund of
money only, or of lines not restocked, names no goods and is not told. A refund the hub made
itself carries its key ``hub-return-<id>`` in ``reason`` and names the hub's return, never a
new one.

Out: :func:`refund_body` is ``POST /wc/v3/orders/<id>/refunds``: ``amount`` (the returned
lines' share of their line totals and taxes, as the order charged them), ``line_items``
``[{id, quantity, refund_total, refund_tax: [{id, refund_total}]}]`` (``refund_total``
without tax; ``refund_tax`` per tax rate id of the line's ``taxes``), ``reason`` with the key,
``api_refund`` (WooCommerce's default, true, refunds through the payment gateway; the hub
sends the account's ``returns.api_refund``, default false) and ``api_restock`` (the account's
``returns.restock_on_channel``). WooCommerce takes no idempotency key: the order's refunds are
read first and one whose reason carries the key is the answer (:func:`existing_refund`).
Amounts go as decimal strings, which WooCommerce reads as it reads numbers (``wc_format_decimal``).
Sources: ``woocommerce/woocommerce-rest-api-docs`` ``source/includes/wp-api-v3/_order-refunds.md``
(the refund object, create and list) and WooCommerce's
``RestApiParameterUtil::adjust_create_refund_request_parameters`` (``id``/``quantity``/
``refund_total``/``refund_tax`` read as above; ``api_refund``/``api_restock`` true unless sent).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from hub import values
from hub.canonical import ReturnLineRequest, ReturnRequest
from hub.connectors import RefundPush
from hub.errors import PermanentError, RetryableError, TranslationError

#: where ``fetch`` puts the order's refunds (the refund objects, with their lines)
REFUNDS_KEY = "hub_refunds"
#: the order topics whose orders may carry refunds
REFUND_TOPICS = ("order.created", "order.updated", "order.restored")
#: a ReturnRequest's ``external_id`` for a refund made on WooCommerce: ``refund:<id>``
REFUND_PREFIX = "refund:"
REFUNDED_ITEM = "_refunded_item_id"
RESTOCKED = "_restock_refunded_items"
_OWN_KEY = re.compile(r"hub-return-[0-9]+")


def needs_refunds(topic: str, payload: Any) -> bool:
    """Whether an order webhook's body names refunds whose lines are not read yet. Refunds
    the hub made itself need no reading: their summary names the hub's return already."""
    if topic not in REFUND_TOPICS or not isinstance(payload, dict) or REFUNDS_KEY in payload:
        return False
    summary = payload.get("refunds")
    if not isinstance(summary, list):
        return False
    return any(_own(entry) is None for entry in summary)


def _own(refund: Any) -> str | None:
    """The hub's key in a refund's reason (the summary names it ``reason``; stores before
    WooCommerce 3.x's fix, ``refund``), or None."""
    if not isinstance(refund, Mapping):
        return None
    found = _OWN_KEY.search(_said(refund) or "")
    return found.group(0) if found else None


def _said(refund: Mapping[str, Any]) -> str | None:
    return values.text(refund.get("reason")) or values.text(refund.get("refund"))


def webhook_order_id(payload: Mapping[str, Any]) -> str:
    found = _id(payload.get("id"), "id")
    if found is None:
        raise TranslationError("missing id", path="id")
    return found


def with_refunds(payload: dict[str, Any], refunds: list[Any]) -> dict[str, Any]:
    """The order body with its refunds beside it (a copy; the stored body is not changed)."""
    return {**payload, REFUNDS_KEY: refunds}


# -- in -----------------------------------------------------------------------------------------
def returns_of(order: Mapping[str, Any], external_id: str) -> list[ReturnRequest]:
    """The returns the order's refunds (under :data:`REFUNDS_KEY`) tell of, oldest refund
    first; none when the refunds were not read."""
    refunds = order.get(REFUNDS_KEY)
    if not isinstance(refunds, list):
        # not read: the hub's own refunds are known from the order's summary alone
        summary = values.array_or_empty(order.get("refunds"))
        return [
            _closed(external_id, key, [], _said(entry), str(entry.get("id")))
            for entry in summary
            if (key := _own(entry)) is not None
        ]
    restocked = _restocked(order)
    told = []
    for i, refund in sorted(enumerate(refunds), key=lambda found: _sort_key(found[1])):
        path = f"{REFUNDS_KEY}[{i}]"
        if not isinstance(refund, Mapping):
            raise TranslationError("expected a refund object", path=path)
        number = _id(refund.get("id"), f"{path}.id")
        if number is None:
            raise TranslationError("refund has no id", path=f"{path}.id")
        reason = _said(refund)
        own = _own(refund)
        lines = []
        items = values.json_array(refund.get("line_items"), path=f"{path}.line_items")
        for j, item in enumerate(items):
            at = f"{path}.line_items[{j}]"
            if not isinstance(item, Mapping):
                raise TranslationError("expected a line item object", path=at)
            line_id = _id(_meta(item, REFUNDED_ITEM), f"{at}.meta_data.{REFUNDED_ITEM}")
            quantity = abs(_int(item.get("quantity"), f"{at}.quantity"))
            if line_id is None or not quantity:
                continue
            back = min(quantity, restocked.get(line_id, 0))
            if back:
                restocked[line_id] -= back
                lines.append(
                    ReturnLineRequest(
                        quantity=back, line_id=line_id, sku=values.text(item.get("sku"))
                    )
                )
        if own:
            # the hub's own refund: it names the hub's return, which it never opens anew
            told.append(_closed(external_id, own, [], reason, number))
        elif lines:
            told.append(_closed(external_id, REFUND_PREFIX + number, lines, reason, number))
    return told


def _closed(
    order_id: str, external: str, lines: list[ReturnLineRequest], reason: str | None, number: str
) -> ReturnRequest:
    return ReturnRequest(
        order_external_id=order_id,
        external_id=external,
        status="closed",
        lines=lines,
        note=reason,
        reason_text=f"refund {number} on WooCommerce",
    )


def _restocked(order: Mapping[str, Any]) -> dict[str, int]:
    """Per order line id, how many units WooCommerce restocked over all its refunds."""
    counts = {}
    for i, item in enumerate(values.json_array(order.get("line_items"), path="line_items")):
        if not isinstance(item, Mapping):
            continue
        line_id = _id(item.get("id"), f"line_items[{i}].id")
        count = _meta(item, RESTOCKED)
        if line_id is not None and count not in (None, ""):
            counts[line_id] = max(_int(count, f"line_items[{i}].meta_data.{RESTOCKED}"), 0)
    return counts


def _sort_key(refund: Any) -> tuple[int, str]:
    raw = refund.get("id") if isinstance(refund, Mapping) else None
    text = str(raw) if raw is not None else ""
    return (int(text), text) if text.isdigit() else (0, text)


# -- out ----------------------------------------------------------------------------------------
def order_id(push: RefundPush) -> str:
    found = _id(push.order.get("external_id"), "order.external_id")
    if found is None:
        raise PermanentError(f"return {push.return_id}: its order has no WooCommerce id")
    return found


def reason_for(push: RefundPush) -> str:
    """The refund's reason: what it is, and the key that finds it again."""
    return f"Return {push.return_id} received ({push.key})"


def existing_refund(refunds: list[Any], key: str) -> str | None:
    """The id of the order's refund whose reason carries ``key`` (made on an earlier try)."""
    exact = re.compile(re.escape(key) + r"(?![0-9])")
    for refund in refunds:
        if isinstance(refund, Mapping) and exact.search(str(refund.get("reason") or "")):
            return str(refund.get("id"))
    return None


def refund_body(push: RefundPush, order: Mapping[str, Any], *, api_refund: bool) -> dict[str, Any]:
    """``POST /orders/<id>/refunds``'s body for the returned lines of ``order`` (the REST v3
    order, read now: its line totals and tax rate ids). Each line's share is its ``total``
    and each of its ``taxes`` times the quantity back over the quantity ordered, to the cent;
    ``amount`` is their sum."""
    if not isinstance(order, Mapping):
        raise PermanentError(f"order {order_id(push)}: WooCommerce's answer is not an order")
    currency = values.text(order.get("currency")) or values.text(push.order.get("currency"))
    items = {}
    for item in values.json_array(order.get("line_items"), path="line_items"):
        if isinstance(item, Mapping) and item.get("id") is not None:
            items[str(values.ext_id(item["id"]))] = item
    amount = values.money("0", currency)
    lines = []
    for line in push.lines:
        line_id = str(line.get("external_id") or "")
        item = items.get(line_id)
        if item is None:
            raise PermanentError(
                f"return {push.return_id}: order {order_id(push)} has no line {line_id or '?'}"
            )
        back = int(line["quantity"])
        ordered = _int(item.get("quantity"), f"line_items[{line_id}].quantity")
        if back < 1 or back > ordered:
            raise PermanentError(
                f"return {push.return_id}: {back} of line {line_id} back, {ordered} ordered"
            )
        total = _share(item.get("total"), back, ordered, currency)
        taxes = []
        for tax in values.json_array(item.get("taxes"), path=f"line_items[{line_id}].taxes"):
            if not isinstance(tax, Mapping) or tax.get("id") is None:
                continue
            share = _share(tax.get("total"), back, ordered, currency)
            taxes.append({"id": values.ext_id(tax["id"]), "refund_total": str(share)})
            amount += share
        amount += total
        entry: dict[str, Any] = {"id": line_id, "quantity": back, "refund_total": str(total)}
        if taxes:
            entry["refund_tax"] = taxes
        lines.append(entry)
    if not lines:
        raise PermanentError(f"return {push.return_id} has no lines to refund")
    return {
        "amount": str(amount),
        "reason": reason_for(push),
        "api_refund": api_refund,
        "api_restock": push.restock,
        "line_items": lines,
    }


def read_refund_created(answer: Any) -> str:
    """The new refund's id."""
    if isinstance(answer, Mapping) and _id(answer.get("id"), "id") is not None:
        return str(values.ext_id(answer["id"]))
    # a refund made is found by its reason on the next try, so asking again is safe
    raise RetryableError("WooCommerce answered the refund with no refund id")


def _share(value: Any, back: int, ordered: int, currency: str | None) -> Decimal:
    whole = values.money(value, currency)
    return values.minor(whole * back / ordered, currency) if back != ordered else whole


# -- reading ------------------------------------------------------------------------------------
def _meta(item: Mapping[str, Any], key: str) -> Any:
    for entry in item.get("meta_data") or []:
        if isinstance(entry, Mapping) and entry.get("key") == key:
            return entry.get("value")
    return None


def _id(value: Any, path: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TranslationError(f"not an id: {value!r}", path=path)
    text = str(values.ext_id(value)).strip()
    if not text.isdigit():
        raise TranslationError(f"not an id: {value!r}", path=path)
    return text


def _int(value: Any, path: str) -> int:
    if isinstance(value, bool):
        raise TranslationError(f"not a whole number: {value!r}", path=path)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value)
    raise TranslationError(f"not a whole number: {value!r}", path=path)
