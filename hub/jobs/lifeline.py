"""Worker heartbeats (the "lifeline" of Oban and solid_queue): a crashed worker's jobs run
again within seconds, not when their lease expires.

Each worker process has a row in ``workers`` and beats it from a thread of its own, so a long
job never stops the beat. Every beat, in one transaction:

1. stamps the process's ``heartbeat_at`` (and adds the row again if another process took it
   for dead, say while the database was unreachable);
2. renews the lease of every job the process holds, so a long job is not taken over while
   its worker lives;
3. takes back the jobs of every worker that has not beaten for ``worker_timeout`` seconds
   (``HUB_WORKER_TIMEOUT``) and deletes that worker's row.

A job taken back is queued again, due at once and **without its attempt counted** (as a
stopping worker gives back the jobs it had not started): most jobs a dead worker holds were
claimed in a batch and never started, and a worker's death (a deploy, an out-of-memory kill, a
lost machine) is not the job's failure. ``last_error`` says which worker fell silent. The
price: a job that itself kills its worker runs again after each crash rather than going dead,
as it already did when only its lease brought it back. If the silent worker was alive after
all, its job's completion finds the job no longer its own and rolls back (``LeaseLost``).

The lease (``HUB_JOB_LEASE``) stays the last resort: it brings back the jobs of a process that
does not beat (an older release during a rolling upgrade, ``Worker.drain`` in tests). Leases
of a live worker are renewed, so a job stuck in a live process is not taken over: the
handlers' timeouts (the HTTP client's) bound it instead.

Times are the beating process's clock, as leases are: machines' clocks must agree to well
within ``worker_timeout``. A worker that stops cleanly deletes its row.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from hub.jobs.outbox import QUEUED, RUNNING
from hub.settings import Settings
from hub.storage.db import Database
from hub.storage.models import JobRow, WorkerRow
from hub.values import now

if TYPE_CHECKING:
    from hub.runtime import Hub

log = logging.getLogger("hub.worker")


def interval(settings: Settings) -> float:
    """Seconds between beats: a quarter of the timeout, or of the lease when that is shorter
    (a beat renews leases, so it must come well before one runs out)."""
    return min(settings.worker_timeout, settings.job_lease) / 4


def reclaim(session: Session, silent_since: datetime, at: datetime) -> list[int]:
    """Give back the running jobs of every worker whose last beat is older than
    ``silent_since``, and delete those workers' rows. Returns the ids of the jobs given back.

    On PostgreSQL the silent rows are locked ``SKIP LOCKED``: two beats never take back the
    same worker, and a worker beating right now (its row locked) is not taken for dead.
    """
    query = select(WorkerRow.id, WorkerRow.heartbeat_at).where(
        WorkerRow.heartbeat_at < silent_since
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    silent = session.execute(query).all()
    taken: list[int] = []
    for worker_id, heartbeat_at in silent:
        taken += (
            session.execute(
                update(JobRow)
                .where(JobRow.status == RUNNING, JobRow.worker_id == worker_id)
                .values(
                    status=QUEUED,
                    run_at=at,
                    attempts=JobRow.attempts - 1,
                    lease_until=None,
                    locked_by=None,
                    worker_id=None,
                    last_error=(
                        f"taken back: worker {worker_id} stopped beating "
                        f"(last heartbeat {heartbeat_at.isoformat()}); attempt not counted"
                    )[:10_000],
                )
                .returning(JobRow.id)
            )
            .scalars()
            .all()
        )
    if silent:
        session.execute(delete(WorkerRow).where(WorkerRow.id.in_([w for w, _ in silent])))
    return taken


def beat(
    db: Database,
    worker_id: str,
    *,
    lease: float,
    timeout: float,
    host: str = "",
    pid: int = 0,
    at: datetime | None = None,
) -> list[int]:
    """One heartbeat of ``worker_id``: stamp it (adding its row if missing), renew the leases
    of its running jobs, take back the jobs of workers silent for ``timeout`` seconds.
    Returns the ids of the jobs taken back."""
    at = at or now()
    with db.transaction() as session:
        stamped = session.execute(
            update(WorkerRow).where(WorkerRow.id == worker_id).values(heartbeat_at=at)
        ).rowcount
        if not stamped:
            session.add(WorkerRow(id=worker_id, host=host, pid=pid, started_at=at, heartbeat_at=at))
        session.execute(
            update(JobRow)
            .where(JobRow.status == RUNNING, JobRow.worker_id == worker_id)
            .values(lease_until=at + timedelta(seconds=lease))
        )
        return reclaim(session, at - timedelta(seconds=timeout), at)


def remove(db: Database, worker_id: str) -> None:
    """Delete a worker's row (it stopped cleanly, holding no job)."""
    with db.transaction() as session:
        session.execute(delete(WorkerRow).where(WorkerRow.id == worker_id))


class Lifeline:
    """The heartbeat of one worker process, beaten from a daemon thread."""

    def __init__(self, hub: Hub):
        self.hub = hub
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.id = f"{self.host}:{self.pid}:{secrets.token_hex(4)}"
        self.users = 0
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def beat(self) -> list[int]:
        settings = self.hub.settings
        taken = beat(
            self.hub.db,
            self.id,
            lease=settings.job_lease,
            timeout=settings.worker_timeout,
            host=self.host,
            pid=self.pid,
        )
        if taken:
            log.warning(
                "worker %s: took back %d job(s) of silent workers: %s",
                self.id,
                len(taken),
                ", ".join(map(str, taken)),
            )
        return taken

    def _beat_safely(self) -> None:
        try:
            self.beat()
        except Exception:  # the database may be briefly unreachable: beat again next time
            log.exception("worker %s: heartbeat failed", self.id)

    def _run(self) -> None:
        while not self.stopping.wait(interval(self.hub.settings)):
            self._beat_safely()

    def start(self) -> None:
        """Beat once now (registering, and taking back what the dead left), then keep
        beating in the background."""
        self._beat_safely()
        self.thread = threading.Thread(
            target=self._run, name=f"hub-heartbeat-{self.pid}", daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        try:
            remove(self.hub.db, self.id)
        except Exception:  # left behind, it is deleted once it looks silent
            log.exception("worker %s: could not delete its heartbeat row", self.id)


#: one lifeline per process and hub, shared by the process's worker threads
_LINES: dict[tuple[int, int], Lifeline] = {}
_LINES_LOCK = threading.Lock()


def attach(hub: Hub) -> Lifeline:
    """The lifeline of this process for ``hub``, started by its first worker thread."""
    key = (os.getpid(), id(hub))
    with _LINES_LOCK:
        line = _LINES.get(key)
        if line is None:
            line = _LINES[key] = Lifeline(hub)
            line.start()
        line.users += 1
        return line


def detach(line: Lifeline) -> None:
    """A worker thread stopped: the last one stops the beat and deletes the row."""
    with _LINES_LOCK:
        line.users -= 1
        if line.users > 0:
            return
        _LINES.pop((line.pid, id(line.hub)), None)
    line.stop()
