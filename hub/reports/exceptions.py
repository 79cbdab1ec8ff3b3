"""What needs a person, in one queue: failed deliveries, dead jobs, orders in
``needs_attention`` and parcels with no scan for some days. Each item says why in words and
which actions fit it (``replay`` a delivery, ``retry`` or ``discard`` a job).

Read only: the actions themselves are :func:`hub.intake.translation.replay`,
:func:`hub.jobs.outbox.retry` and :func:`hub.jobs.outbox.discard`. Deliveries and jobs are
not tied to a client yet, so a reader limited to some clients sees only their orders and
parcels (as on the overview); a ``client`` filter reaches deliveries and jobs through the
accounts of that client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.storage.models import DeliveryRow, JobRow, OrderEventRow, OrderRow, ParcelRow, ShipmentRow
from hub.values import now

KINDS = ("delivery", "job", "order", "parcel")
#: parcel statuses after which no scan is expected
PARCEL_FINAL = ("delivered", "returned_to_sender")


@dataclass(frozen=True)
class Item:
    kind: str
    id: int
    reason: str
    at: datetime | None
    account: str | None = None
    client: str | None = None
    order_id: int | None = None
    #: what a person may do about it: ``replay``, ``retry``, ``discard``
    actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Filters:
    """``kind`` (one of :data:`KINDS`), ``account`` and ``client``; None matches every one.
    ``clients``: the reader's clients (None: every client)."""

    kind: str | None = None
    account: str | None = None
    client: str | None = None
    clients: tuple[str, ...] | None = None

    def wants(self, kind: str) -> bool:
        if self.kind is not None and self.kind != kind:
            return False
        # deliveries and jobs belong to no client yet: only for readers of every client
        return not (kind in ("delivery", "job") and self.clients is not None)


@dataclass
class Queue:
    items: list[Item] = field(default_factory=list)
    #: kind -> how many there are in all (``items`` holds at most ``limit`` of each)
    counts: dict[str, int] = field(default_factory=dict)


def _accounts(filters: Filters, account_clients: Mapping[str, str]) -> list[str] | None:
    """The accounts a delivery or job must belong to (None: any)."""
    names: set[str] | None = None
    if filters.account is not None:
        names = {filters.account}
    if filters.client is not None:
        of_client = {a for a, c in account_clients.items() if c == filters.client}
        names = of_client if names is None else names & of_client
    return None if names is None else sorted(names)


def failed_deliveries(filters: Filters, account_clients: Mapping[str, str] | None = None) -> Any:
    """The query of failed deliveries matching ``filters``."""
    query = select(DeliveryRow).where(DeliveryRow.status == "failed")
    accounts = _accounts(filters, account_clients or {})
    if accounts is not None:
        query = query.where(DeliveryRow.account.in_(accounts))
    return query


def dead_jobs(filters: Filters, account_clients: Mapping[str, str] | None = None) -> Any:
    """The query of dead jobs matching ``filters`` (a job's account is its payload's)."""
    query = select(JobRow).where(JobRow.status == "dead")
    accounts = _accounts(filters, account_clients or {})
    if accounts is not None:
        query = query.where(JobRow.payload["account"].as_string().in_(accounts))
    return query


def _orders(query: Any, filters: Filters) -> Any:
    if filters.account is not None:
        query = query.where(OrderRow.account == filters.account)
    if filters.client is not None:
        query = query.where(OrderRow.client == filters.client)
    if filters.clients is not None:
        query = query.where(OrderRow.client.in_(filters.clients))
    return query


def stuck_parcels(filters: Filters, days: float) -> Any:
    """The query of (parcel, order, shipped_at) not delivered or returned whose last scan (or
    shipping, before any scan) is more than ``days`` ago."""
    last = func.coalesce(ParcelRow.last_event_at, ShipmentRow.shipped_at)
    query = (
        select(ParcelRow, OrderRow, ShipmentRow.shipped_at)
        .join(ShipmentRow, ShipmentRow.id == ParcelRow.shipment_id)
        .join(OrderRow, OrderRow.id == ParcelRow.order_id)
        .where(ParcelRow.status.not_in(PARCEL_FINAL), last < now() - timedelta(days=days))
    )
    return _orders(query, filters)


def retryable(
    session: Session, filters: Filters, account_clients: Mapping[str, str] | None = None
) -> tuple[list[int], list[int]]:
    """Every failed delivery and dead job matching ``filters``: (delivery ids, job ids)."""
    deliveries: list[int] = []
    jobs: list[int] = []
    if filters.wants("delivery"):
        query = failed_deliveries(filters, account_clients).with_only_columns(DeliveryRow.id)
        deliveries = list(session.execute(query.order_by(DeliveryRow.id)).scalars())
    if filters.wants("job"):
        query = dead_jobs(filters, account_clients).with_only_columns(JobRow.id)
        jobs = list(session.execute(query.order_by(JobRow.id)).scalars())
    return deliveries, jobs


def _count(session: Session, query: Any) -> int:
    return session.execute(select(func.count()).select_from(query.subquery())).scalar_one()


def _days(since: datetime | None) -> str:
    if since is None:
        return "never"
    days = (now() - since).days
    return f"{days} day{'' if days == 1 else 's'} ago"


def queue(
    session: Session,
    filters: Filters,
    *,
    stuck_days: float,
    account_clients: Mapping[str, str] | None = None,
    limit: int = 200,
) -> Queue:
    """What needs a person, newest first within each kind, at most ``limit`` of each kind.
    ``account_clients``: account name -> its client, for the ``client`` filter."""
    result = Queue()
    clients = dict(account_clients or {})
    if filters.wants("delivery"):
        query = failed_deliveries(filters, clients)
        result.counts["delivery"] = _count(session, query)
        for row in session.execute(query.order_by(DeliveryRow.id.desc()).limit(limit)).scalars():
            result.items.append(
                Item(
                    "delivery", row.id, f"{row.topic} could not be taken in: {row.error}",
                    row.processed_at or row.received_at, row.account, clients.get(row.account),
                    row.order_id, ("replay",),
                )
            )  # fmt: skip
    if filters.wants("job"):
        query = dead_jobs(filters, clients)
        result.counts["job"] = _count(session, query)
        for row in session.execute(query.order_by(JobRow.id.desc()).limit(limit)).scalars():
            account = row.payload.get("account") if isinstance(row.payload, dict) else None
            result.items.append(
                Item(
                    "job", row.id,
                    f"{row.kind} gave up after {row.attempts} attempt"
                    f"{'' if row.attempts == 1 else 's'}: {row.last_error}",
                    row.finished_at or row.run_at, account, clients.get(account or ""),
                    row.payload.get("order_id") if isinstance(row.payload, dict) else None,
                    ("retry", "discard"),
                )
            )  # fmt: skip
    if filters.wants("order"):
        query = _orders(select(OrderRow).where(OrderRow.status == "needs_attention"), filters)
        result.counts["order"] = _count(session, query)
        orders = list(session.execute(query.order_by(OrderRow.id.desc()).limit(limit)).scalars())
        reasons = _last_words(session, [o.id for o in orders])
        for order in orders:
            result.items.append(
                Item(
                    "order", order.id,
                    f"order {order.number or order.external_id} needs attention: "
                    f"{reasons.get(order.id, 'no reason was recorded')}",
                    order.updated_at, order.account, order.client, order.id,
                )
            )  # fmt: skip
    if filters.kind in (None, "parcel"):
        query = stuck_parcels(filters, stuck_days)
        result.counts["parcel"] = _count(session, query)
        found = session.execute(query.order_by(ParcelRow.id.desc()).limit(limit)).all()
        for parcel, order, shipped_at in found:
            scanned = (
                f"last scan {_days(parcel.last_event_at)}"
                if parcel.last_event_at
                else f"no scan since it shipped {_days(shipped_at)}"
            )
            result.items.append(
                Item(
                    "parcel", parcel.id,
                    f"{parcel.carrier} parcel {parcel.tracking_number} is {parcel.status} "
                    f"with {scanned}",
                    parcel.last_event_at or shipped_at, order.account, order.client, order.id,
                )
            )  # fmt: skip
    return result


def _last_words(session: Session, order_ids: Iterable[int]) -> dict[int, str]:
    """Each order's latest timeline message."""
    ids = list(order_ids)
    if not ids:
        return {}
    latest = (
        select(func.max(OrderEventRow.id))
        .where(OrderEventRow.order_id.in_(ids))
        .group_by(OrderEventRow.order_id)
    )
    rows = session.execute(
        select(OrderEventRow.order_id, OrderEventRow.message).where(OrderEventRow.id.in_(latest))
    )
    return {order_id: message for order_id, message in rows}
