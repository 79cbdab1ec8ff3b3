"""Canonical orders in the database: applying translations, and the order timeline.

Updates are ordered by the channel's own modified time: an update older than what is stored
never overwrites newer data (webhooks arrive out of order: retries, several workers). An update
for an order not seen before is applied, whatever its topic.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.canonical import (
    HUB_OWNED_STATUSES,
    Order,
    OrderRemoved,
    OrderStatus,
    OrderUpdate,
    Translation,
    order_to_json,
    to_fulfil,
)
from hub.connectors import Account
from hub.storage.db import upsert_insert
from hub.storage.models import DeliveryRow, OrderEventRow, OrderLineRow, OrderRow
from hub.values import iso, now

#: canonical fields whose change is worth naming on the timeline
_WATCHED = (
    "status",
    "shipping_address",
    "lines",
    "shipping",
    "totals",
    "customer",
    "notes",
    "tags",
    "billing_address",
)


def add_event(
    session: Session,
    order: OrderRow,
    kind: str,
    message: str,
    *,
    delivery_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        OrderEventRow(
            order_id=order.id,
            at=now(),
            kind=kind,
            message=message,
            data=data,
            delivery_id=delivery_id,
        )
    )


def move(
    session: Session,
    order: OrderRow,
    status: OrderStatus,
    kind: str,
    message: str,
    *,
    data: dict[str, Any] | None = None,
    keep: dict[str, Any] | None = None,
) -> None:
    """The hub moves an order on (released, shipped, needs attention): its status, the
    hub's own keys in its JSON (``keep``, e.g. the warehouse it went to) and the timeline."""
    order.status = status.value
    order.data = {**order.data, **(keep or {}), "status": order.status}
    order.updated_at = now()
    add_event(session, order, kind, message, data=data)


def merge_status(current: str | None, incoming: OrderStatus) -> OrderStatus:
    """The status after a channel update, keeping progress only the hub knows of.

    A channel that says "paid and open" does not move a released or shipped order back to
    ready; a cancellation still stops an order that has not left the warehouse.
    """
    if current is None or current not in HUB_OWNED_STATUSES:
        return incoming
    held = OrderStatus(current)
    if held in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        return held
    if incoming in (OrderStatus.CANCELLED, OrderStatus.SHIPPED):
        return incoming
    return held


def mapping_label(version: int | None) -> str:
    return f"mapping version {version}" if version is not None else "default mapping"


def _lock(session: Session, account: str, external_id: str) -> OrderRow | None:
    return session.execute(
        select(OrderRow)
        .where(OrderRow.account == account, OrderRow.external_id == external_id)
        .with_for_update()
    ).scalar_one_or_none()


def _create(session: Session, account: Account, update: OrderUpdate) -> OrderRow | None:
    """Insert the order, or return None when a concurrent worker inserted it first."""
    order = update.order
    insert = upsert_insert(session.get_bind().dialect.name)
    at = now()
    new_id = session.execute(
        insert(OrderRow)
        .values(
            client=account.client,
            channel=order.channel,
            account=account.name,
            external_id=order.external_id,
            number=order.number,
            status=str(order.status),
            currency=order.currency,
            placed_at=order.placed_at,
            channel_updated_at=order.updated_at,
            data={},
            created_at=at,
            updated_at=at,
        )
        .on_conflict_do_nothing(index_elements=["account", "external_id"])
        .returning(OrderRow.id)
    ).scalar_one_or_none()
    return session.get(OrderRow, new_id) if new_id is not None else None


#: keys of an order's JSON that the hub adds (not the channel), kept across channel updates
HUB_KEYS = ("warehouse",)


def _write(session: Session, row: OrderRow, update: OrderUpdate, status: OrderStatus) -> None:
    order = update.order
    row.number, row.status, row.currency = order.number, str(status), order.currency
    row.placed_at, row.channel_updated_at, row.updated_at = order.placed_at, order.updated_at, now()
    row.email = search_email(order.customer.email)
    row.line_count = len(order.lines)
    order.status = status
    kept = {k: row.data[k] for k in HUB_KEYS if row.data and k in row.data}
    row.data = {**order_to_json(order), **kept}
    session.execute(delete(OrderLineRow).where(OrderLineRow.order_id == row.id))
    session.add_all(
        OrderLineRow(order_id=row.id, position=i, sku=line.sku)
        for i, line in enumerate(order.lines)
    )


#: canonical fields the orders tables keep in columns of their own, with the columns' lengths
_COLUMN_LIMITS = (("external_id", 100), ("number", 100), ("currency", 3))
_SKU_LIMIT = 200


def column_problems(order: Order, *, line_path: str = "lines") -> list[str]:
    """Values longer than the columns that keep them: the same refusal on every database
    (PostgreSQL would raise mid-apply; SQLite would keep them silently)."""
    problems = [
        f"{name} is {len(value)} characters long; at most {limit} are kept"
        for name, limit in _COLUMN_LIMITS
        if isinstance(value := getattr(order, name), str) and len(value) > limit
    ]
    problems.extend(
        f"{line_path}[{i}].sku is {len(line.sku)} characters long; at most {_SKU_LIMIT} are kept"
        for i, line in enumerate(order.lines)
        if line.sku is not None and len(line.sku) > _SKU_LIMIT
    )
    return problems


def search_email(email: str | None) -> str | None:
    """An email as the orders table keeps it for search: trimmed, lower-cased; None when
    there is none or it is longer than the column."""
    text = (email or "").strip().lower()
    return text if text and len(text) <= 254 else None


def _same_content(row: OrderRow, order: Order) -> bool:
    """Whether the channel's side of the stored order equals ``order`` (statuses aside: the
    hub may have moved the order on since)."""
    ignored = {"status", *HUB_KEYS}
    incoming = {k: v for k, v in order_to_json(order).items() if k not in ignored}
    return incoming == {k: v for k, v in (row.data or {}).items() if k in incoming}


def apply(
    session: Session,
    account: Account,
    translation: Translation,
    delivery: DeliveryRow,
    mapping_version: int | None = None,
) -> OrderRow | None:
    """Apply a translation in the caller's transaction; returns the order it touched."""
    if isinstance(translation, OrderRemoved):
        return _remove(session, account, translation, delivery)
    order = translation.order
    order.client, order.account = account.client, account.name
    # problems hold an order for a person, but a cancelled or fulfilled order stays as it is
    held = bool(translation.problems) and to_fulfil(order)
    incoming = OrderStatus.NEEDS_ATTENTION if held else order.status
    row = _lock(session, account.name, order.external_id)
    created = False
    if row is None:
        row = _create(session, account, translation)
        created = row is not None
        if row is None:
            row = _lock(session, account.name, order.external_id)
            assert row is not None
    topic = delivery.topic
    if created:
        _write(session, row, translation, incoming)
        add_event(
            session,
            row,
            "received",
            f"order {order.number or order.external_id} received "
            f"({topic}, {mapping_label(mapping_version)})",
            delivery_id=delivery.id,
            data={"status": str(incoming), "mapping_version": mapping_version},
        )
    else:
        stored = row.channel_updated_at
        if stored is not None and order.updated_at is not None and order.updated_at < stored:
            add_event(
                session,
                row,
                "stale_update_ignored",
                f"{topic} from {iso(order.updated_at)} is older than the stored "
                f"update from {iso(stored)}; not applied",
                delivery_id=delivery.id,
            )
            return row
        if stored is not None and order.updated_at == stored and _same_content(row, order):
            add_event(
                session,
                row,
                "replay_ignored",
                f"{topic} carries the update from {iso(stored)} already applied; not applied again",
                delivery_id=delivery.id,
            )
            return row
        before = dict(row.data)
        status = merge_status(row.status, incoming)
        _write(session, row, translation, status)
        changed = [k for k in _WATCHED if before.get(k) != row.data.get(k)]
        message = f"updated ({topic}, {mapping_label(mapping_version)})" + (
            f": {', '.join(changed)} changed" if changed else ": no change"
        )
        add_event(
            session,
            row,
            "updated",
            message,
            delivery_id=delivery.id,
            data={
                "changed": changed,
                "status": str(status),
                "previous_status": before.get("status"),
                "mapping_version": mapping_version,
            },
        )
    if held:
        add_event(
            session,
            row,
            "needs_attention",
            "; ".join(translation.problems),
            delivery_id=delivery.id,
            data={"problems": translation.problems},
        )
    return row


def _remove(
    session: Session, account: Account, removed: OrderRemoved, delivery: DeliveryRow
) -> OrderRow | None:
    row = _lock(session, account.name, removed.external_id)
    if row is None:
        return None
    if row.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.PARTIALLY_SHIPPED):
        add_event(
            session,
            row,
            "removed_on_channel",
            f"deleted on the channel after shipping ({delivery.topic}); status kept",
            delivery_id=delivery.id,
        )
        return row
    previous = row.status
    row.status = str(OrderStatus.CANCELLED)
    row.data = {**row.data, "status": row.status}
    # A later update modified after this removal arrived (a restore) is applied again.
    row.channel_updated_at = delivery.received_at
    row.updated_at = now()
    add_event(
        session,
        row,
        "removed_on_channel",
        f"deleted on the channel ({delivery.topic}); cancelled",
        delivery_id=delivery.id,
        data={"previous_status": previous},
    )
    return row


def to_json(row: OrderRow) -> dict[str, Any]:
    """The order as the API returns it."""
    return {
        **row.data,
        "id": row.id,
        "client": row.client,
        "account": row.account,
        "status": row.status,
        "updated_at": iso(row.updated_at),
    }


def event_to_json(event: OrderEventRow) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": iso(event.at),
        "kind": event.kind,
        "message": event.message,
        "delivery_id": event.delivery_id,
        "data": event.data,
    }
