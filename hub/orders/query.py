"""Reading orders: the filters of a list, one order's timeline and the deliveries that made it.

The JSON API and the console read orders through these, so a filter means the same in both.
Every filter uses an indexed column; a search (``q``) collects the ids it matches from four
indexes (number, external id, customer email, parcel tracking number) before the page is read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select, union
from sqlalchemy.orm import Session

from hub.orders.store import search_email
from hub.storage.models import DeliveryRow, OrderEventRow, OrderLineRow, OrderRow, ParcelRow


@dataclasses.dataclass(frozen=True)
class OrderFilters:
    """What a list of orders is narrowed to; a filter left None does not narrow it."""

    status: str | None = None
    channel: str | None = None
    account: str | None = None
    client: str | None = None
    external_id: str | None = None
    #: orders with a line of this SKU
    sku: str | None = None
    #: orders changed at or after this time
    since: datetime | None = None
    #: orders placed on or after this UTC day
    placed_from: date | None = None
    #: orders placed on or before this UTC day
    placed_to: date | None = None
    #: an order number (with or without its ``#``), external id, customer email or tracking number
    q: str | None = None
    #: the clients whose orders may be shown (a person limited to some clients); None: all
    clients: frozenset[str] | None = None

    @classmethod
    def of(cls, params: Mapping[str, Any], clients: Collection[str] | None = None) -> OrderFilters:
        """The filters among loaded query parameters (other names are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)} - {"clients"}
        given = {name: params[name] for name in names if params.get(name) not in (None, "")}
        return cls(**given, clients=frozenset(clients) if clients is not None else None)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _matching(q: str) -> Any:
    """The ids of the orders a search matches, each part read through its own index."""
    numbers = {q, q[1:] if q.startswith("#") else f"#{q}"}
    parts = [
        select(OrderRow.id).where(OrderRow.number.in_(sorted(numbers))),
        select(OrderRow.id).where(OrderRow.external_id == q),
        select(ParcelRow.order_id).where(ParcelRow.tracking_number == q),
    ]
    email = search_email(q)
    if email is not None and "@" in email:
        parts.append(select(OrderRow.id).where(OrderRow.email == email))
    return union(*parts)


def select_orders(filters: OrderFilters) -> Select[Any]:
    """The orders ``filters`` let through, in no order (pages read them newest first)."""
    query = select(OrderRow)
    for name in ("status", "channel", "account", "client", "external_id"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(getattr(OrderRow, name) == value)
    if filters.clients is not None:
        query = query.where(OrderRow.client.in_(sorted(filters.clients)))
    if filters.sku is not None:
        query = query.where(
            OrderRow.id.in_(select(OrderLineRow.order_id).where(OrderLineRow.sku == filters.sku))
        )
    if filters.since is not None:
        query = query.where(OrderRow.updated_at >= filters.since)
    if filters.placed_from is not None:
        query = query.where(OrderRow.placed_at >= _day_start(filters.placed_from))
    if filters.placed_to is not None:
        query = query.where(OrderRow.placed_at < _day_start(filters.placed_to) + timedelta(days=1))
    q = (filters.q or "").strip()
    if q:
        query = query.where(OrderRow.id.in_(_matching(q)))
    return query


def find(
    session: Session, order_id: int, clients: Collection[str] | None = None
) -> OrderRow | None:
    """The order with that id, or None, also when it belongs to a client not in ``clients``."""
    row = session.get(OrderRow, order_id)
    if row is None or (clients is not None and row.client not in clients):
        return None
    return row


def events(session: Session, order_id: int) -> list[OrderEventRow]:
    """The order's whole timeline, oldest first."""
    query = select(OrderEventRow).where(OrderEventRow.order_id == order_id)
    return list(session.execute(query.order_by(OrderEventRow.id)).scalars())


def deliveries(session: Session, order_id: int) -> list[DeliveryRow]:
    """The deliveries (webhooks and polled payloads) that made or changed the order, oldest
    first, raw bodies included."""
    query = select(DeliveryRow).where(DeliveryRow.order_id == order_id)
    return list(session.execute(query.order_by(DeliveryRow.id)).scalars())
