"""``GET /metrics``: the hub in Prometheus' text format.

Two kinds of figures:

* read from the database, so every web process answers the same whichever process did the
  work (:class:`DatabaseCollector`). Gauges: orders, deliveries, jobs and parcels by status,
  SKUs waiting to be pushed per channel account, accounts whose credentials were refused, the
  age of the oldest job waiting to run, and each channel account's stock sync lag. Counters:
  tracking events flagged (exceptions, failed delivery attempts, returns to sender) by carrier
  and status, and fulfilments pushed to channels.
* recorded by the processes as they work (``hub.observe``): webhook intake and translation
  times, job run times and queue waits, outbound request latency, deliveries and job runs by
  outcome, rate-limit waits and circuit breaker opens. With a multiprocess directory they are
  the sum over every process recording into it (gunicorn's workers).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub import observe
from hub.jobs import account_health, outbox
from hub.shipping.tracking import FLAGGED
from hub.stock import changes, lag
from hub.storage.models import (
    AccountStateRow,
    ChannelItemRow,
    DeliveryRow,
    JobRow,
    OrderRow,
    ParcelEventRow,
    ParcelRow,
)
from hub.values import now, utc

if TYPE_CHECKING:
    from hub.runtime import Hub


class DatabaseCollector:
    """The figures every process agrees on, read in the scrape's transaction."""

    def __init__(self, hub: Hub, session: Session):
        self.hub, self.session = hub, session

    def collect(self) -> Iterator[Metric]:
        yield from families(self.hub, self.session)


def _gauge(name: str, help_text: str, labels: list[str], rows: Any) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, help_text, labels=labels)
    for *values, count in rows:
        family.add_metric([str(v) for v in values], count)
    return family


def families(hub: Hub, session: Session) -> list[Metric]:
    def grouped(*columns, where=None):
        query = select(*columns, func.count()).group_by(*columns)
        if where is not None:
            query = query.where(where)
        return session.execute(query.order_by(*columns)).all()

    out: list[Metric] = [
        _gauge("hub_orders", "Orders by status.", ["status"], grouped(OrderRow.status)),
        _gauge(
            "hub_deliveries",
            "Webhook deliveries in the inbox by status.",
            ["status"],
            grouped(DeliveryRow.status),
        ),
        _gauge(
            "hub_jobs",
            "Outbox jobs by kind and status (queued: the queue depth).",
            ["kind", "status"],
            grouped(JobRow.kind, JobRow.status),
        ),
        _gauge(
            "hub_parcels",
            "Parcels by carrier and tracking status.",
            ["carrier", "status"],
            grouped(ParcelRow.carrier, ParcelRow.status),
        ),
    ]
    flagged = session.execute(
        select(ParcelRow.carrier, ParcelEventRow.status, func.count())
        .join(ParcelRow, ParcelRow.id == ParcelEventRow.parcel_id)
        .where(ParcelEventRow.status.in_(sorted(FLAGGED)))
        .group_by(ParcelRow.carrier, ParcelEventRow.status)
        .order_by(ParcelRow.carrier, ParcelEventRow.status)
    ).all()
    family = CounterMetricFamily(
        "hub_tracking_flagged_events",
        "Tracking events that need attention: exceptions, failed attempts, returns to sender.",
        labels=["carrier", "status"],
    )
    for carrier, status, count in flagged:
        family.add_metric([carrier, status], count)
    out.append(family)
    pushed = session.execute(
        select(func.count()).select_from(ParcelRow).where(ParcelRow.channel_ref.is_not(None))
    ).scalar_one()
    out.append(
        CounterMetricFamily(
            "hub_fulfilments_pushed", "Parcels told to their channel.", value=pushed
        )
    )
    out.append(
        _gauge(
            "hub_stock_pending",
            "SKUs whose stock changed and waits to be pushed, per channel account.",
            ["account"],
            grouped(ChannelItemRow.account, where=ChannelItemRow.dirty.is_(True)),
        )
    )
    refused = session.execute(
        select(AccountStateRow.account)
        .where(AccountStateRow.key == account_health.KEY)
        .order_by(AccountStateRow.account)
    ).scalars()
    out.append(
        _gauge(
            "hub_account_credentials_refused",
            "Accounts whose credentials an outside system refused: their jobs wait.",
            ["account"],
            ((a, 1) for a in refused),
        )
    )
    at = now()
    oldest = session.execute(
        select(func.min(JobRow.run_at)).where(JobRow.status == outbox.QUEUED, JobRow.run_at <= at)
    ).scalar_one_or_none()
    waited = max(0.0, (at - utc(oldest)).total_seconds()) if oldest is not None else 0.0
    out.append(
        GaugeMetricFamily(
            "hub_oldest_queued_job_age_seconds",
            "How long the oldest job that is due has waited for a worker (0: none waits).",
            value=waited,
        )
    )
    out.append(stock_sync_lag(hub, session))
    return out


def stock_sync_lag(hub: Hub, session: Session) -> GaugeMetricFamily:
    """Per channel account that takes stock: seconds since the oldest stock change the
    channel has not confirmed yet (0 when it is up to date)."""
    names = sorted(a.name for a in changes.push_accounts(hub))
    waiting = lag.waiting(session, names)  # the console overview's figure
    at = now()
    family = GaugeMetricFamily(
        "hub_stock_sync_lag_seconds",
        "Seconds since the oldest stock change a channel account has not confirmed yet "
        "(0: up to date).",
        labels=["account"],
    )
    for name in names:
        oldest = waiting.get(name, {}).get("oldest_change")
        family.add_metric([name], max(0.0, (at - oldest).total_seconds()) if oldest else 0.0)
    return family


def render(session: Session) -> bytes:
    """The text of ``GET /metrics``: this process's (or every process's) recorded metrics
    and the database's figures, read in ``session`` (a session of the hub's database)."""
    hub: Hub = session.info["hub"]
    registry = CollectorRegistry()
    observe.collect_into(registry)
    registry.register(DatabaseCollector(hub, session))  # type: ignore[arg-type]
    return generate_latest(registry)
