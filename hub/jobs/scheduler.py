"""Periodic work. A trigger only enqueues a job whose dedupe key names its time slot, so any
number of schedulers (one per ``hub serve`` or ``hub scheduler`` process) yield one job per slot.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.orm import Session

from hub import observe
from hub.jobs import outbox
from hub.jobs.worker import job_handler
from hub.runtime import Hub
from hub.values import now

log = logging.getLogger("hub.scheduler")

PRUNE_JOBS = "outbox.prune"


@dataclass(frozen=True)
class Periodic:
    kind: str
    every: timedelta
    payload: dict[str, Any]


#: what runs on a timer at fixed intervals
PERIODIC: list[Periodic] = [
    Periodic(PRUNE_JOBS, timedelta(hours=1), {"keep_days": 7}),
]


def periodic(hub: Hub) -> list[Periodic]:
    """Everything on a timer: the fixed list, and the passes whose intervals are settings."""
    s = hub.settings
    timed = [
        # stock_sync and warehouse register these job kinds (hub.worker loads both)
        Periodic("stock.sync_all", timedelta(seconds=s.stock_sync_interval), {"mode": "delta"}),
        Periodic("stock.sync_all", timedelta(seconds=s.stock_reconcile_interval), {"mode": "full"}),
        Periodic("warehouse.poll_all", timedelta(seconds=s.warehouse_poll_interval), {}),
        Periodic("tracking.poll_due", timedelta(seconds=s.tracking_poll_interval), {}),
        Periodic("orders.reconcile_all", timedelta(seconds=s.reconcile_interval), {}),
    ]
    return PERIODIC + [p for p in timed if p.every.total_seconds() > 0]


def enqueue_slot(hub: Hub, periodic: Periodic) -> int | None:
    """Enqueue the job for the current time slot, unless a scheduler already did. Slots are
    the interval's own width, fractions of a second included. Each call is counted in
    ``hub_scheduler_slots_total``: enqueued, taken (None is returned) or error (raised)."""
    every = periodic.every.total_seconds()
    index = math.floor(now().timestamp() / every)
    began = round(index * every, 3)
    slot = int(began) if began.is_integer() else began  # when the slot began (epoch seconds)
    mode = periodic.payload.get("mode")
    key = f"schedule:{periodic.kind}{':' + mode if mode else ''}:{every:g}:{index}"
    counted = (observe.SCHEDULER_SLOTS, periodic.kind, mode or "")
    try:
        with hub.db.transaction() as session:
            job_id = outbox.enqueue(
                session,
                periodic.kind,
                {**periodic.payload, "slot": slot},
                max_attempts=hub.settings.job_max_attempts,
                dedupe_key=key,
            )
    except Exception:
        observe.child(*counted, "error").inc()
        raise
    observe.child(*counted, "enqueued" if job_id is not None else "taken").inc()
    if job_id is not None:
        log.info("scheduled %s for slot %s (job %s)", periodic.kind, slot, job_id)
    return job_id


def build(hub: Hub, scheduler: BaseScheduler | None = None) -> BaseScheduler:
    """A scheduler with every periodic trigger added (not yet started)."""
    scheduler = scheduler or BackgroundScheduler(timezone="UTC")
    for timed in periodic(hub):
        mode = timed.payload.get("mode")
        scheduler.add_job(
            enqueue_slot,
            "interval",
            args=[hub, timed],
            seconds=timed.every.total_seconds(),
            id=f"{timed.kind}:{mode}" if mode else timed.kind,
            next_run_time=now(),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(timed.every.total_seconds())),
        )
    return scheduler


@job_handler(PRUNE_JOBS)
def prune_jobs(hub: Hub, session: Session, payload: dict[str, Any]) -> None:
    removed = outbox.prune(session, timedelta(days=payload.get("keep_days", 7)))
    log.info("pruned %s finished jobs", removed)
