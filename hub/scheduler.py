"""Periodic work. A trigger only enqueues a job whose dedupe key names its time slot, so any
number of schedulers (one per ``hub serve`` or ``hub scheduler`` process) yield one job per slot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.orm import Session

from hub import outbox
from hub.runtime import Hub
from hub.values import now
from hub.worker import job_handler

log = logging.getLogger("hub.scheduler")

PRUNE_JOBS = "outbox.prune"


@dataclass(frozen=True)
class Periodic:
    kind: str
    every: timedelta
    payload: dict[str, Any]


#: what runs on a timer; later capabilities (stock sync, tracking polls) add theirs here
PERIODIC: list[Periodic] = [
    Periodic(PRUNE_JOBS, timedelta(hours=1), {"keep_days": 7}),
]


def enqueue_slot(hub: Hub, periodic: Periodic) -> int | None:
    """Enqueue the job for the current time slot, unless a scheduler already did."""
    seconds = int(periodic.every.total_seconds())
    slot = int(now().timestamp()) // seconds * seconds
    with hub.db.transaction() as session:
        job_id = outbox.enqueue(
            session,
            periodic.kind,
            periodic.payload,
            max_attempts=hub.settings.job_max_attempts,
            dedupe_key=f"schedule:{periodic.kind}:{slot}",
        )
    if job_id is not None:
        log.info("scheduled %s for slot %s (job %s)", periodic.kind, slot, job_id)
    return job_id


def build(hub: Hub, scheduler: BaseScheduler | None = None) -> BaseScheduler:
    """A scheduler with every periodic trigger added (not yet started)."""
    scheduler = scheduler or BackgroundScheduler(timezone="UTC")
    for periodic in PERIODIC:
        scheduler.add_job(
            enqueue_slot,
            "interval",
            args=[hub, periodic],
            seconds=periodic.every.total_seconds(),
            id=periodic.kind,
            next_run_time=now(),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(periodic.every.total_seconds()),
        )
    return scheduler


@job_handler(PRUNE_JOBS)
def prune_jobs(hub: Hub, session: Session, payload: dict[str, Any]) -> None:
    removed = outbox.prune(session, timedelta(days=payload.get("keep_days", 7)))
    log.info("pruned %s finished jobs", removed)
