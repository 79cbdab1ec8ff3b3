"""The day at a glance, for the console's front page: orders in today and shipped today by
channel and client, what needs a person, and the queue. Limited to some clients when the
reader is."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.storage.models import DeliveryRow, JobRow, OrderRow
from hub.values import now


@dataclass
class Overview:
    since: datetime
    #: (channel, client) -> orders received since ``since``
    received: dict[tuple[str, str], int] = field(default_factory=dict)
    #: (channel, client) -> orders that reached ``shipped`` since ``since`` (by last change)
    shipped: dict[tuple[str, str], int] = field(default_factory=dict)
    needs_attention: int = 0
    failed_deliveries: int = 0
    jobs: dict[str, int] = field(default_factory=dict)

    @property
    def exceptions(self) -> int:
        return self.needs_attention + self.failed_deliveries + self.jobs.get("dead", 0)


def overview(session: Session, clients: Iterable[str] | None = None) -> Overview:
    """Today (UTC) so far. ``clients``: only these clients' orders (deliveries and jobs are
    shown to readers of every client only, as they are not yet tied to a client)."""
    start = datetime.combine(now().date(), time(), tzinfo=now().tzinfo)
    result = Overview(since=start)
    limit = list(clients) if clients is not None else None

    def orders(*where):
        query = select(OrderRow.channel, OrderRow.client, func.count()).where(*where)
        if limit is not None:
            query = query.where(OrderRow.client.in_(limit))
        return {
            (c, k): n
            for c, k, n in session.execute(query.group_by(OrderRow.channel, OrderRow.client))
        }

    result.received = orders(OrderRow.created_at >= start)
    result.shipped = orders(OrderRow.status == "shipped", OrderRow.updated_at >= start)
    attention = select(func.count()).where(OrderRow.status == "needs_attention")
    if limit is not None:
        attention = attention.where(OrderRow.client.in_(limit))
    result.needs_attention = session.execute(attention).scalar_one()
    if limit is None:
        result.failed_deliveries = session.execute(
            select(func.count()).where(DeliveryRow.status == "failed")
        ).scalar_one()
        result.jobs = {
            status: n
            for status, n in session.execute(
                select(JobRow.status, func.count())
                .where(JobRow.status.in_(["queued", "running", "dead"]))
                .group_by(JobRow.status)
            )
        }
    return result
