"""``GET /metrics``: the hub in Prometheus' text format.

Two kinds of figures:

* read from the database, so every web process answers the same whichever process did the
  work (:class:`DatabaseCollector`). Gauges: orders, deliveries and jobs by status, parcels by
  carrier, direction (outbound, or a return's label coming back) and status, SKUs waiting to
  be pushed per channel account, accounts whose credentials were refused, the age of the
  oldest job waiting to run, each channel account's stock sync lag, and per periodic job
  (kind, and mode for stock passes) when one last finished and when one last died. Counters:
  tracking events flagged (exceptions, failed delivery attempts, returns to sender) by
  carrier, direction and status, and outbound parcels pushed to channels as fulfilments.
* recorded by the processes as they work (``hub.observe``): webhook intake and translation
  times, job run times and queue waits, outbound request latency, deliveries and job runs by
  outcome, rate-limit waits, circuit breaker opens, and the scheduler's time slots (enqueued
  here, or taken by another scheduler). With a multiprocess directory they are the sum over
  every process recording into it (gunicorn's workers).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub import observe
from hub.jobs import account_health, outbox, scheduler
from hub.shipping.tracking import FLAGGED, OUTBOUND
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
            "Parcels by carrier, direction (outbound: shipped to a customer; return: a "
            "return's label coming back) and tracking status.",
            ["carrier", "direction", "status"],
            grouped(ParcelRow.carrier, ParcelRow.direction, ParcelRow.status),
        ),
    ]
    by = (ParcelRow.carrier, ParcelRow.direction, ParcelEventRow.status)
    flagged = session.execute(
        select(*by, func.count())
        .join(ParcelRow, ParcelRow.id == ParcelEventRow.parcel_id)
        .where(ParcelEventRow.status.in_(sorted(FLAGGED)))
        .group_by(*by)
        .order_by(*by)
    ).all()
    family = CounterMetricFamily(
        "hub_tracking_flagged_events",
        "Tracking events that need attention: exceptions, failed attempts, returns to sender; "
        "by carrier, parcel direction (outbound, or return: a return's label) and status.",
        labels=["carrier", "direction", "status"],
    )
    for carrier, direction, status, count in flagged:
        family.add_metric([carrier, direction, status], count)
    out.append(family)
    pushed = session.execute(
        select(func.count())
        .select_from(ParcelRow)
        .where(ParcelRow.direction == OUTBOUND, ParcelRow.channel_ref.is_not(None))
    ).scalar_one()
    out.append(
        CounterMetricFamily(
            "hub_fulfilments_pushed",
            "Outbound parcels told to their channel as fulfilments (a return's label never is).",
            value=pushed,
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
    out.extend(periodic_runs(hub, session))
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


def periodic_runs(hub: Hub, session: Session) -> list[GaugeMetricFamily]:
    """Per periodic job the scheduler makes (kind, and mode for the stock passes; mode ""
    for the others): when its newest job finished, and when its newest job died (epoch
    seconds, 0 when none is kept: finished jobs are pruned after a week). An alert on
    ``time() - last_finished`` catches a scheduler, worker or pass that stopped."""
    timers = sorted({(p.kind, p.payload.get("mode") or "") for p in scheduler.periodic(hub)})
    mode = JobRow.payload["mode"].as_string()
    newest: dict[tuple[str, str, str], float] = {}
    for kind, found_mode, status, finished in session.execute(
        select(JobRow.kind, mode, JobRow.status, func.max(JobRow.finished_at))
        .where(
            JobRow.kind.in_(sorted({kind for kind, _ in timers})),
            JobRow.status.in_([outbox.DONE, outbox.DEAD]),
            JobRow.finished_at.is_not(None),
        )
        .group_by(JobRow.kind, mode, JobRow.status)
    ):
        at = utc(finished)
        if at is not None:
            newest[(kind, found_mode or "", status)] = at.timestamp()
    finished = GaugeMetricFamily(
        "hub_periodic_last_finished_timestamp_seconds",
        "When the newest job of a periodic kind (and mode, for stock passes) finished, in "
        "seconds since the epoch (0: none kept yet).",
        labels=["kind", "mode"],
    )
    died = GaugeMetricFamily(
        "hub_periodic_last_failed_timestamp_seconds",
        "When the newest job of a periodic kind (and mode, for stock passes) died after its "
        "attempts, in seconds since the epoch (0: none kept).",
        labels=["kind", "mode"],
    )
    for kind, timer_mode in timers:
        finished.add_metric([kind, timer_mode], newest.get((kind, timer_mode, outbox.DONE), 0.0))
        died.add_metric([kind, timer_mode], newest.get((kind, timer_mode, outbox.DEAD), 0.0))
    return [finished, died]


def render(session: Session) -> bytes:
    """The text of ``GET /metrics``: this process's (or every process's) recorded metrics
    and the database's figures, read in ``session`` (a session of the hub's database)."""
    hub: Hub = session.info["hub"]
    registry = CollectorRegistry()
    observe.collect_into(registry)
    registry.register(DatabaseCollector(hub, session))  # type: ignore[arg-type]
    return generate_latest(registry)
