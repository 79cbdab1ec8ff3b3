"""``GET /metrics``: the hub's state in Prometheus' text format, read from the database, so
every web process answers the same whichever process did the work.

Gauges: orders, deliveries, jobs and parcels by status, SKUs waiting to be pushed per channel
account. Counters: tracking events flagged (exceptions, failed delivery attempts, returns to
sender) by carrier and status, and fulfilments pushed to channels.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.jobs import account_health
from hub.shipping.tracking import FLAGGED
from hub.storage.models import (
    AccountStateRow,
    ChannelItemRow,
    DeliveryRow,
    JobRow,
    OrderRow,
    ParcelEventRow,
    ParcelRow,
)


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(
    name: str, kind: str, help_text: str, rows: Iterable[tuple[dict[str, object], int]]
) -> list[str]:
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in rows:
        text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        out.append(f"{name}{{{text}}} {value}" if text else f"{name} {value}")
    return out


def render(session: Session) -> str:
    def grouped(*columns, where=None):
        query = select(*columns, func.count()).group_by(*columns)
        if where is not None:
            query = query.where(where)
        return session.execute(query.order_by(*columns)).all()

    lines: list[str] = []
    lines += _family(
        "hub_orders",
        "gauge",
        "Orders by status.",
        (({"status": s}, n) for s, n in grouped(OrderRow.status)),
    )
    lines += _family(
        "hub_deliveries",
        "gauge",
        "Webhook deliveries in the inbox by status.",
        (({"status": s}, n) for s, n in grouped(DeliveryRow.status)),
    )
    lines += _family(
        "hub_jobs",
        "gauge",
        "Outbox jobs by kind and status.",
        (({"kind": k, "status": s}, n) for k, s, n in grouped(JobRow.kind, JobRow.status)),
    )
    lines += _family(
        "hub_parcels",
        "gauge",
        "Parcels by carrier and tracking status.",
        (
            ({"carrier": c, "status": s}, n)
            for c, s, n in grouped(ParcelRow.carrier, ParcelRow.status)
        ),
    )
    flagged = session.execute(
        select(ParcelRow.carrier, ParcelEventRow.status, func.count())
        .join(ParcelRow, ParcelRow.id == ParcelEventRow.parcel_id)
        .where(ParcelEventRow.status.in_(sorted(FLAGGED)))
        .group_by(ParcelRow.carrier, ParcelEventRow.status)
        .order_by(ParcelRow.carrier, ParcelEventRow.status)
    ).all()
    lines += _family(
        "hub_tracking_flagged_events_total",
        "counter",
        "Tracking events that need attention: exceptions, failed attempts, returns to sender.",
        (({"carrier": c, "status": s}, n) for c, s, n in flagged),
    )
    pushed = session.execute(
        select(func.count()).select_from(ParcelRow).where(ParcelRow.channel_ref.is_not(None))
    ).scalar_one()
    lines += _family(
        "hub_fulfilments_pushed_total", "counter", "Parcels told to their channel.", [({}, pushed)]
    )
    lines += _family(
        "hub_stock_pending",
        "gauge",
        "SKUs whose stock changed and waits to be pushed, per channel account.",
        (
            ({"account": a}, n)
            for a, n in grouped(ChannelItemRow.account, where=ChannelItemRow.dirty.is_(True))
        ),
    )
    refused = session.execute(
        select(AccountStateRow.account)
        .where(AccountStateRow.key == account_health.KEY)
        .order_by(AccountStateRow.account)
    ).scalars()
    lines += _family(
        "hub_account_credentials_refused",
        "gauge",
        "Accounts whose credentials an outside system refused: their jobs wait.",
        (({"account": a}, 1) for a in refused),
    )
    return "\n".join(lines) + "\n"
