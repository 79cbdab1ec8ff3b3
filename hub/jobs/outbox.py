"""The outbox: jobs in the same database as the state that caused them.

Enqueue inside the caller's transaction, so a state change and its effects commit together.
Workers claim jobs with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises
writers). A worker process that beats a heartbeat (``hub.jobs.lifeline``) renews the leases of
the jobs it holds, and when it dies the others take its jobs back within
``HUB_WORKER_TIMEOUT``; a job whose worker does not beat runs again once its lease expires
(``HUB_JOB_LEASE``, the last resort). Failures retry
with exponential backoff and jitter; after ``max_attempts`` a job is dead, keeping its error,
until someone retries or discards it.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from hub.secrets import scrub
from hub.settings import Settings
from hub.storage.db import Database, upsert_insert
from hub.storage.models import JobAttemptRow, JobRow
from hub.values import now

QUEUED, RUNNING, DONE, DEAD = "queued", "running", "done", "dead"
#: a dead job someone decided must never run (kept, with the reason, until pruned)
DISCARDED = "discarded"
STATUSES = [QUEUED, RUNNING, DONE, DEAD, DISCARDED]


@functools.cache
def insert_statement(dialect: str) -> Any:
    """``INSERT INTO jobs ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id``, built once."""
    insert = upsert_insert(dialect)
    table = JobRow.__table__
    return insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)


def job_values(
    kind: str,
    payload: dict[str, Any],
    *,
    max_attempts: int,
    dedupe_key: str | None = None,
    run_at: datetime | None = None,
) -> dict[str, Any]:
    at = now()
    return dict(
        kind=kind,
        payload=payload,
        dedupe_key=dedupe_key,
        status=QUEUED,
        attempts=0,
        max_attempts=max_attempts,
        run_at=run_at or at,
        created_at=at,
        lease_until=None,
        locked_by=None,
        worker_id=None,
        last_error=None,
        finished_at=None,
    )


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    max_attempts: int,
    dedupe_key: str | None = None,
    run_at: datetime | None = None,
) -> int | None:
    """Add a job in the caller's transaction. With ``dedupe_key``, a second job with the same
    key is not added (None is returned)."""
    stmt = insert_statement(session.get_bind().dialect.name)
    values = job_values(
        kind, payload, max_attempts=max_attempts, dedupe_key=dedupe_key, run_at=run_at
    )
    return session.execute(stmt, values).scalar_one_or_none()


@dataclass(frozen=True)
class Job:
    """A claimed job, detached from any session."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    token: str
    #: when it was due, and when this worker claimed it (for the queue wait metric)
    run_at: datetime | None = None
    claimed_at: datetime | None = None


def _claimable(at: datetime):
    return or_(
        (JobRow.status == QUEUED) & (JobRow.run_at <= at),
        (JobRow.status == RUNNING) & (JobRow.lease_until < at),
    )


def claim(
    db: Database,
    worker: str,
    *,
    lease: float,
    limit: int = 1,
    kinds: list[str] | None = None,
    exclude: list[str] | None = None,
    worker_id: str | None = None,
) -> list[Job]:
    """Lease up to ``limit`` due jobs for ``worker`` (of ``kinds``, or not of ``exclude``).
    Each claim bumps ``attempts``. ``worker_id`` names the claiming process's heartbeat row
    (``hub.jobs.lifeline``), whose beats then renew the leases and whose silence gives the
    jobs back; without one only the lease brings a job back."""
    at = now()
    query = select(JobRow.id).where(_claimable(at)).order_by(JobRow.run_at, JobRow.id)
    if kinds:
        query = query.where(JobRow.kind.in_(kinds))
    if exclude:
        query = query.where(JobRow.kind.not_in(exclude))
    query = query.limit(limit)
    if db.postgres:
        query = query.with_for_update(skip_locked=True)
    claimed: list[Job] = []
    with db.transaction() as session:
        for job_id in session.execute(query).scalars().all():
            token = f"{worker}:{random.getrandbits(48):012x}"
            row = session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, _claimable(at))
                .values(
                    status=RUNNING,
                    lease_until=at + timedelta(seconds=lease),
                    locked_by=token,
                    worker_id=worker_id,
                    attempts=JobRow.attempts + 1,
                )
                .returning(
                    JobRow.kind, JobRow.payload, JobRow.attempts, JobRow.max_attempts, JobRow.run_at
                )
            ).one_or_none()
            if row is not None:
                claimed.append(
                    Job(
                        job_id,
                        row.kind,
                        row.payload,
                        row.attempts,
                        row.max_attempts,
                        token,
                        run_at=row.run_at,
                        claimed_at=at,
                    )
                )
    return claimed


def _owned(job: Job):
    return (JobRow.id == job.id) & (JobRow.locked_by == job.token) & (JobRow.status == RUNNING)


def complete(session: Session, job: Job) -> bool:
    """Mark the job done in the caller's transaction (with the work it did). False when the
    lease was lost to another worker, in which case the caller must roll back."""
    result = session.execute(
        update(JobRow)
        .where(_owned(job))
        .values(status=DONE, finished_at=now(), lease_until=None, last_error=None)
    )
    return result.rowcount == 1


def backoff(attempts: int, settings: Settings, retry_after: float | None = None) -> float:
    """Seconds before the next try: exponential, capped, with equal jitter; never sooner than
    a sender's ``Retry-After``."""
    ceiling = min(settings.job_backoff_max, settings.job_backoff * 2 ** max(attempts - 1, 0))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    return max(delay, retry_after or 0.0)


def fail(
    db: Database,
    job: Job,
    error: str,
    settings: Settings,
    *,
    permanent: bool = False,
    retry_after: float | None = None,
) -> str:
    """Record a failed attempt: back to the queue after a backoff, or dead. Returns the status."""
    dead = permanent or job.attempts >= job.max_attempts
    values: dict[str, Any] = dict(
        last_error=scrub(error)[:10_000], lease_until=None, locked_by=None, worker_id=None
    )
    if dead:
        values.update(status=DEAD, finished_at=now())
    else:
        values.update(
            status=QUEUED,
            run_at=now() + timedelta(seconds=backoff(job.attempts, settings, retry_after)),
        )
    status = DEAD if dead else QUEUED
    with db.transaction() as session:
        if session.execute(update(JobRow).where(_owned(job)).values(**values)).rowcount:
            session.add(
                JobAttemptRow(
                    job_id=job.id,
                    attempt=job.attempts,
                    outcome=status,
                    worker_id=job.token[:200],
                    error=values["last_error"],
                )
            )
    return status


def unclaim(db: Database, jobs: list[Job]) -> int:
    """Give back jobs claimed but not started (a worker stopping): due again at once, their
    attempt not counted. Returns how many were still ours."""
    given = 0
    with db.transaction() as session:
        for job in jobs:
            result = session.execute(
                update(JobRow)
                .where(_owned(job))
                .values(
                    status=QUEUED,
                    attempts=JobRow.attempts - 1,
                    lease_until=None,
                    locked_by=None,
                    worker_id=None,
                )
            )
            given += result.rowcount
    return given


def defer(db: Database, job: Job, seconds: float, reason: str) -> str:
    """Put a job back without counting its attempt (it never really ran: its account waits
    for someone to fix it). Returns the status."""
    with db.transaction() as session:
        session.execute(
            update(JobRow)
            .where(_owned(job))
            .values(
                status=QUEUED,
                run_at=now() + timedelta(seconds=seconds),
                attempts=JobRow.attempts - 1,
                lease_until=None,
                locked_by=None,
                worker_id=None,
                last_error=scrub(reason)[:10_000],
            )
        )
    return QUEUED


def retry(session: Session, job_id: int) -> bool:
    """Put a dead (or queued) job back to run now, with a fresh set of attempts."""
    result = session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.status.in_([DEAD, QUEUED]))
        .values(status=QUEUED, run_at=now(), attempts=0, finished_at=None)
    )
    return result.rowcount == 1


def discard(session: Session, job_id: int, reason: str) -> bool:
    """Mark a dead job as never to run, keeping it and the reason."""
    result = session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.status == DEAD)
        .values(status=DISCARDED, finished_at=now(), last_error=f"discarded: {reason}"[:10_000])
    )
    return result.rowcount == 1


def prune(session: Session, older_than: timedelta) -> int:
    """Delete finished (done or discarded) jobs older than the given age, and their attempts
    (the database cascades); dead ones are kept until someone retries or discards them."""
    result = session.execute(
        delete(JobRow).where(
            JobRow.status.in_([DONE, DISCARDED]), JobRow.finished_at < now() - older_than
        )
    )
    return result.rowcount
