"""The worker: claims jobs from the outbox and runs their handlers.

A handler's database work and the job's completion commit in one transaction, so a job's
effect is recorded once. Errors follow ``hub.errors``: RetryableError waits (at least its
``retry_after``), PermanentError and AuthError make the job dead at once, anything else is
retried with backoff until ``max_attempts``.

While :meth:`Worker.run` runs, the process beats a heartbeat (``hub.jobs.lifeline``): the
jobs it holds keep their leases, and if it dies the other workers take them back.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hub import observe
from hub.connectors import Account
from hub.errors import AuthError, PermanentError, RetryableError
from hub.jobs import account_health, lifeline, outbox

if TYPE_CHECKING:
    from hub.runtime import Hub

log = logging.getLogger("hub.worker")

Handler = Callable[..., None]
HANDLERS: dict[str, Handler] = {}
#: how to tell which account a job of a kind works for (default: its payload's ``account``)
ACCOUNT_OF: dict[str, Callable[[Hub, dict[str, Any]], str | None]] = {}
#: kinds whose handlers open their own transactions (see :func:`job_handler`)
OWN_TRANSACTIONS: set[str] = set()
#: modules whose handlers every worker runs. They sit above the jobs package (the domain), so
#: they are named here and imported when a worker starts, never imported by this module.
BUILTIN_HANDLER_MODULES = (
    "hub.intake.translation",
    "hub.intake.reconcile",
    "hub.shipping.release",
    "hub.shipping.warehouse",
    "hub.shipping.tracking",
    "hub.shipping.fulfilment",
    "hub.stock.sync",
    "hub.returns.refunds",
    "hub.returns.warehouse",
    "hub.jobs.scheduler",
)


def job_handler(
    kind: str,
    *,
    own_transactions: bool = False,
    account: Callable[[Hub, dict[str, Any]], str | None] | None = None,
) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of ``kind``: ``fn(hub, session, payload)``, run
    inside the transaction that completes the job.

    A handler that talks to an outside system takes ``own_transactions``: it is called as
    ``fn(hub, payload)`` and opens short transactions itself, so no database lock is held
    while it waits on the network. Its effects must then be safe to repeat (the job runs
    again if the worker dies before completing it). ``account`` names the outside account a
    job works for when its payload does not (``payload["account"]``): a job of an account
    whose credentials were refused waits instead of running (``hub.jobs.account_health``).
    """

    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        if account is not None:
            ACCOUNT_OF[kind] = account
        if own_transactions:
            OWN_TRANSACTIONS.add(kind)
        else:
            OWN_TRANSACTIONS.discard(kind)
        return fn

    return register


def load_handlers() -> dict[str, Handler]:
    for module in BUILTIN_HANDLER_MODULES:
        importlib.import_module(module)
    return HANDLERS


class LeaseLost(Exception):
    """Another worker took the job over after our lease expired: our work is rolled back."""


#: a worker's lane: ``inside`` runs the hub's own jobs (translation, release), ``outside``
#: the jobs that wait on other systems (pushes, polls), so a slow channel or carrier never
#: holds up orders coming in; None runs everything
LANES = ("inside", "outside")


#: a job's status after a run, as the outcome its metrics name
_OUTCOMES = {outbox.DONE: "done", outbox.QUEUED: "retry", outbox.DEAD: "dead", "lost": "lost"}


class Worker:
    """Runs jobs until stopped. Many workers, in many processes, may share one database."""

    def __init__(self, hub: Hub, name: str | None = None, batch: int = 10, lane: str | None = None):
        if lane not in (None, *LANES):
            raise ValueError(f"lane must be one of {', '.join(LANES)} or None, not {lane!r}")
        self.hub = hub
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.batch = batch
        self.lane = lane
        self.handlers = load_handlers()
        self.stopping = threading.Event()
        #: the process's heartbeat row while :meth:`run` runs (None: only leases protect)
        self.worker_id: str | None = None

    def run_once(self) -> int:
        """Claim and run one batch of due jobs. Returns how many were claimed."""
        outside = sorted(OWN_TRANSACTIONS)
        if self.lane == "outside" and not outside:
            return 0
        jobs = outbox.claim(
            self.hub.db,
            self.name,
            lease=self.hub.settings.job_lease,
            limit=self.batch,
            kinds=outside if self.lane == "outside" else None,
            exclude=outside if self.lane == "inside" else None,
            worker_id=self.worker_id,
        )
        for job in jobs:
            if job.run_at is not None and job.claimed_at is not None:
                waited = max(0.0, (job.claimed_at - job.run_at).total_seconds())
                observe.child(observe.JOB_QUEUE_WAIT, job.kind).observe(waited)
        for i, job in enumerate(jobs):
            if self.stopping.is_set():
                # stopping: hand the jobs not started back now, not when their lease expires
                outbox.unclaim(self.hub.db, jobs[i:])
                break
            self.run_job(job)
        return len(jobs)

    def run_job(self, job: outbox.Job) -> str:
        """Run one claimed job; returns its status after (done, queued, dead) or ``lost``."""
        started = time.perf_counter()
        status = self._run_job(job)
        outcome = _OUTCOMES.get(status, status)
        observe.child(observe.JOB_RUN, job.kind, outcome).observe(time.perf_counter() - started)
        observe.child(observe.JOBS, job.kind, outcome).inc()
        return status

    def _run_job(self, job: outbox.Job) -> str:
        settings = self.hub.settings
        handler = self.handlers.get(job.kind)
        if handler is None:
            return outbox.fail(
                self.hub.db, job, f"no handler for job kind {job.kind!r}", settings, permanent=True
            )
        account = self._account(job)
        if account is not None:
            with self.hub.db.transaction() as session:
                refused = account_health.flagged(session, account)
            if refused is not None:
                return self._wait(job, account.name, refused["reason"])
        try:
            if job.kind in OWN_TRANSACTIONS:
                handler(self.hub, job.payload)
            with self.hub.db.transaction() as session:
                if job.kind not in OWN_TRANSACTIONS:
                    handler(self.hub, session, job.payload)
                if not outbox.complete(session, job):
                    raise LeaseLost(f"job {job.id} was taken over by another worker")
            return outbox.DONE
        except LeaseLost:
            log.warning("job %s: lease lost, work rolled back", job.id)
            return "lost"
        except RetryableError as exc:
            status = outbox.fail(
                self.hub.db,
                job,
                f"{type(exc).__name__}: {exc}",
                settings,
                retry_after=exc.retry_after,
            )
        except AuthError as exc:
            if account is None:
                status = outbox.fail(
                    self.hub.db, job, f"AuthError: {exc}", settings, permanent=True
                )
            else:
                log.error("account %s: credentials refused (%s); its jobs wait", account.name, exc)
                with self.hub.db.transaction() as session:
                    account_health.flag(session, account, f"AuthError: {exc}")
                return self._wait(job, account.name, f"AuthError: {exc}")
        except PermanentError as exc:
            status = outbox.fail(
                self.hub.db, job, f"{type(exc).__name__}: {exc}", settings, permanent=True
            )
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            status = outbox.fail(self.hub.db, job, f"{type(exc).__name__}: {exc}", settings)
        log.info("job %s (%s) attempt %s failed; now %s", job.id, job.kind, job.attempts, status)
        return status

    def _account(self, job: outbox.Job) -> Account | None:
        resolve = ACCOUNT_OF.get(job.kind)
        try:
            name = resolve(self.hub, job.payload) if resolve else job.payload.get("account")
        except Exception:  # the job itself will say what is wrong with it
            return None
        return self.hub.accounts.get(name) if isinstance(name, str) else None

    def _wait(self, job: outbox.Job, account: str, reason: str) -> str:
        return outbox.defer(
            self.hub.db,
            job,
            account_health.WAIT,
            f"waiting: account {account} needs its credentials fixed ({reason})",
        )

    def run(self) -> None:
        """Loop until :meth:`stop`; sleeps ``worker_poll`` seconds when there is nothing to do.
        The process's heartbeat runs while any of its workers does."""
        line = lifeline.attach(self.hub)
        self.worker_id = line.id
        log.info("worker %s started", self.name)
        try:
            while not self.stopping.is_set():
                try:
                    busy = self.run_once()
                except Exception:  # the database may be briefly unreachable: keep going
                    log.exception("worker %s: claiming jobs failed", self.name)
                    busy = 0
                if not busy:
                    self.stopping.wait(self.hub.settings.worker_poll)
        finally:
            self.worker_id = None
            lifeline.detach(line)
        log.info("worker %s stopped", self.name)

    def stop(self) -> None:
        self.stopping.set()

    def drain(self, limit: int = 10_000) -> int:
        """Run due jobs until none is left (for tests, demos and one-off runs)."""
        total = 0
        while total < limit:
            ran = self.run_once()
            if not ran:
                break
            total += ran
        return total
