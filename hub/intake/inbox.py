"""The durable inbox: every webhook is stored raw, once, before anything else happens.

``accept`` runs inside the request and only stores; the ``translate`` job it enqueues in the
same transaction does the translating, in a worker.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from hub import observe
from hub.connectors import Account, Delivery
from hub.errors import RetryableError
from hub.jobs import outbox
from hub.runtime import Hub
from hub.values import now

log = logging.getLogger("hub.inbox")

RECEIVED, PROCESSED, IGNORED, FAILED = "received", "processed", "ignored", "failed"
TRANSLATE = "translate"


@dataclass(frozen=True)
class Accepted:
    delivery_id: int
    duplicate: bool
    status: str


_DELIVERY_COLUMNS = (
    "account",
    "connector",
    "topic",
    "dedupe_key",
    "event_id",
    "headers",
    "content_type",
    "body",
    "status",
    "error",
    "received_at",
)
_JOB_COLUMNS = ("kind", "payload", "status", "attempts", "max_attempts", "run_at", "created_at")


class _Sql:
    """The acceptance's statements in the driver's own dialect.

    This is the hottest path of the hub (every webhook), so it talks to the DBAPI cursor
    directly, and a batch is one multi-row insert per table: building SQLAlchemy statements
    costs more than the inserts, and every call into the driver gives up Python's GIL, which
    a busy process is slow to hand back while the write lock is held.
    """

    def __init__(self, postgres: bool):
        self.mark = "%s" if postgres else "?"
        self.json_mark = "CAST(%s AS JSON)" if postgres else "?"
        self.existing = (
            f"SELECT id, status FROM deliveries WHERE account = {self.mark} "
            f"AND dedupe_key = {self.mark}"
        )
        self._store: dict[int, str] = {}
        self._job: dict[int, str] = {}
        self._together: dict[int, str] = {}
        # SQLite keeps times as text in SQLAlchemy's format; PostgreSQL takes aware datetimes
        self.time = (
            (lambda t: t)
            if postgres
            else (lambda t: t.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds"))
        )

    def _values(self, columns: tuple[str, ...], rows: int) -> str:
        one = ", ".join(
            self.json_mark if c in ("headers", "payload") else self.mark for c in columns
        )
        return ", ".join([f"({one})"] * rows)

    def store(self, rows: int) -> str:
        """Insert ``rows`` deliveries; returns (id, account, dedupe_key) of the new ones only."""
        if rows not in self._store:
            self._store[rows] = (
                f"INSERT INTO deliveries ({', '.join(_DELIVERY_COLUMNS)}) "
                f"VALUES {self._values(_DELIVERY_COLUMNS, rows)} "
                "ON CONFLICT (account, dedupe_key) DO NOTHING RETURNING id, account, dedupe_key"
            )
        return self._store[rows]

    def store_with_jobs(self, rows: int) -> str:
        """PostgreSQL: insert ``rows`` deliveries and a translate job for each new one that is
        handled, in one statement (one round trip, and on an autocommit connection its own
        transaction); returns (id, account, dedupe_key) of the new deliveries. Its parameters
        are the rows, then the job's status and max_attempts."""
        if rows not in self._together:
            self._together[rows] = (
                f"WITH new AS ({self.store(rows)}, status, received_at), "  # more returned
                f"queued AS (INSERT INTO jobs ({', '.join(_JOB_COLUMNS)}) "
                f"SELECT {self.mark}, CAST(json_build_object('delivery_id', id) AS JSON), "
                f"{self.mark}, 0, {self.mark}, received_at, received_at "
                f"FROM new WHERE status = {self.mark}) "
                "SELECT id, account, dedupe_key FROM new"
            )
        return self._together[rows]

    def job(self, rows: int) -> str:
        if rows not in self._job:
            self._job[rows] = (
                f"INSERT INTO jobs ({', '.join(_JOB_COLUMNS)}) "
                f"VALUES {self._values(_JOB_COLUMNS, rows)}"
            )
        return self._job[rows]


class _Signal:
    """A one-shot wake-up: a bare lock, cheaper than an Event on this per-request path."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def set(self) -> None:
        self._lock.release()

    def wait(self, timeout: float = -1) -> bool:
        return self._lock.acquire(timeout=timeout)


class _Pending:
    __slots__ = ("done", "error", "handled", "lead", "result", "row")

    def __init__(self, row: tuple[Any, ...], handled: bool):
        self.row, self.handled = row, handled
        self.done = _Signal()
        self.lead = False
        self.result: Accepted | None = None
        self.error: BaseException | None = None


class InboxWriter:
    """Stores accepted deliveries with group commit.

    The first request to arrive writes (it leads); requests arriving meanwhile queue up. When
    the leader has committed, it hands the lead to the first waiting request, which writes the
    whole queue in one transaction (each row under the same unique key as ever) and commits.
    Every request answers only after its own delivery is committed. One commit and one write
    lock then serve many deliveries, so intake keeps up under load, on SQLite's single writer
    too; with no load a request simply writes its own row.
    """

    WAIT = 30.0

    def __init__(self, hub: Hub):
        self.hub = hub
        self.sql = _Sql(hub.db.postgres)
        self.max_attempts = hub.settings.job_max_attempts
        self._mutex = threading.Lock()
        self._busy = False
        self._waiting: list[_Pending] = []
        self._raw: Any = None
        self._raw_pid: int | None = None

    def submit(self, row: tuple[Any, ...], handled: bool) -> Accepted:
        """Store a delivery row (in ``_DELIVERY_COLUMNS`` order); returns once committed."""
        pending = _Pending(row, handled)
        with self._mutex:
            if self._busy:
                self._waiting.append(pending)
            else:
                self._busy = pending.lead = True
        if not pending.lead and not pending.done.wait(self.WAIT):
            with self._mutex:
                if pending in self._waiting:
                    self._waiting.remove(pending)
                    raise RetryableError("the inbox could not store the delivery in time")
            pending.done.wait()  # it is being written (or handed the lead) right now
        if pending.lead:
            self._lead(pending)
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def _lead(self, leader: _Pending) -> None:
        batch = [leader]
        try:
            # The batch is taken once the write lock is ours: whatever queued up while
            # another process was writing goes into this one commit.
            with self.hub.db.write_lock():
                with self._mutex:
                    batch, self._waiting = [leader, *self._waiting], []
                try:
                    self._write(batch)
                except Exception:
                    # Something in the batch failed: store one by one, so one bad delivery
                    # cannot fail the others.
                    for pending in batch:
                        try:
                            self._write([pending])
                        except Exception as exc:
                            log.exception("storing a delivery failed")
                            pending.error = exc
        finally:
            with self._mutex:
                if self._waiting:
                    successor = self._waiting.pop(0)
                    successor.lead = True
                    successor.done.set()
                else:
                    self._busy = False
            for pending in batch[1:]:
                pending.done.set()

    def _write(self, batch: list[_Pending]) -> None:
        """One transaction for the batch, on a connection this writer keeps (the hot path
        skips the pool and the ORM). Only the leader uses it, so it is never shared. The
        caller holds the write lock."""
        raw = self._connection()
        try:
            cursor = raw.cursor()
            if self.hub.db.postgres:
                results = self._store_together(cursor, batch)  # autocommit: committed here
            else:
                cursor.execute("BEGIN IMMEDIATE")
                results = self._store(cursor, batch)
                raw.commit()
        except BaseException:
            self._drop_connection()
            raise
        for pending, result in zip(batch, results, strict=True):
            pending.result = result
            log.info(
                "delivery received",
                extra={
                    "account": pending.row[0],
                    "topic": pending.row[2],
                    "delivery": result.delivery_id,
                    "duplicate": result.duplicate,
                },
            )

    def _store_together(self, cursor: Any, batch: list[_Pending]) -> list[Accepted]:
        """PostgreSQL: the deliveries and their jobs in one statement, committed by it."""
        params = [v for p in batch for v in p.row]
        params += [TRANSLATE, outbox.QUEUED, self.max_attempts, RECEIVED]
        cursor.execute(self.sql.store_with_jobs(len(batch)), params)
        return [accepted for accepted, _ in self._answers(cursor, batch)]

    def _store(self, cursor: Any, batch: list[_Pending]) -> list[Accepted]:
        """SQLite: the deliveries, then one insert of the jobs of the new handled ones."""
        cursor.execute(self.sql.store(len(batch)), [v for p in batch for v in p.row])
        results: list[Accepted] = []
        jobs: list[Any] = []
        for accepted, pending in self._answers(cursor, batch):
            results.append(accepted)
            if pending.handled and not accepted.duplicate:
                at = pending.row[-1]
                payload = f'{{"delivery_id": {int(accepted.delivery_id)}}}'
                jobs += (TRANSLATE, payload, outbox.QUEUED, 0, self.max_attempts, at, at)
        if jobs:
            cursor.execute(self.sql.job(len(jobs) // len(_JOB_COLUMNS)), jobs)
        return results

    def _answers(self, cursor: Any, batch: list[_Pending]) -> list[tuple[Accepted, _Pending]]:
        """Each delivery's answer from the insert's RETURNING rows. They come in no order:
        matched by the unique key. A repeat inside the batch (or of an earlier delivery) is
        not returned and is answered with the stored one."""
        new = {(account, key): delivery_id for delivery_id, account, key in cursor.fetchall()}
        answers = []
        for pending in batch:
            row = pending.row
            delivery_id = new.pop((row[0], row[3]), None)
            if delivery_id is None:  # the same delivery again: answer with the first one
                cursor.execute(self.sql.existing, (row[0], row[3]))
                existing = cursor.fetchone()
                answers.append((Accepted(existing[0], True, existing[1]), pending))
            else:
                answers.append((Accepted(delivery_id, False, row[8]), pending))
        return answers

    def _connection(self) -> Any:
        if self._raw is None or self._raw_pid != os.getpid():  # new, or inherited by a fork
            raw = self.hub.db.engine.raw_connection()
            if self.hub.db.postgres:
                # every write is one statement, and so its own transaction: no COMMIT trip
                raw.driver_connection.autocommit = True
            else:
                # Copying the WAL back into the database is left to a background thread, so
                # no commit here stalls behind a checkpoint while holding the write lock.
                raw.cursor().execute("PRAGMA wal_autocheckpoint=0")
                threading.Thread(
                    target=self._checkpoints,
                    args=(os.getpid(),),
                    name="hub-wal-checkpoint",
                    daemon=True,
                ).start()
            self._raw, self._raw_pid = raw, os.getpid()
        return self._raw

    def _checkpoints(self, pid: int) -> None:
        """Checkpoint the WAL every half second while this process writes (PASSIVE: it never
        blocks writers or readers)."""
        raw = self.hub.db.engine.raw_connection()
        try:
            while self._raw_pid == pid:
                time.sleep(0.5)
                try:
                    raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)")
                except Exception:  # a busy database is checked again next time
                    log.debug("WAL checkpoint skipped", exc_info=True)
        finally:
            raw.close()

    def close(self) -> None:
        """Close the kept connection (and so stop the checkpoint thread)."""
        with self._mutex:
            self._drop_connection()
            self._raw_pid = None

    def _drop_connection(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.rollback()
            with contextlib.suppress(Exception):
                raw.invalidate()


def accept(
    hub: Hub, account: Account, delivery: Delivery, body: bytes, content_type: str | None
) -> Accepted:
    """Store a verified delivery and, if its topic is handled, its translate job, together.

    The same delivery twice (same dedupe key) is stored once: the database's unique key
    decides, so this holds across any number of web processes.
    """
    started = time.perf_counter()
    handled = delivery.topic in hub.connector(account).topics
    writer = hub.service("inbox_writer", InboxWriter)
    # the row is made ready here, in the request's own thread, outside any lock
    row = (
        account.name,
        account.connector,
        delivery.topic,
        delivery.dedupe_key,
        delivery.event_id,
        json.dumps(dict(delivery.headers or {})),
        content_type,
        body,
        RECEIVED if handled else IGNORED,
        None if handled else f"topic {delivery.topic!r} is not handled",
        writer.sql.time(now()),
    )
    try:
        accepted = writer.submit(row, handled)
    except BaseException:
        _observe(account.connector, "error", started)
        raise
    outcome = "duplicate" if accepted.duplicate else ("stored" if handled else "ignored")
    _observe(account.connector, outcome, started)
    return accepted


def _observe(connector: str, outcome: str, started: float) -> None:
    """Count and time the intake, once the delivery is committed (outside every lock)."""
    observe.child(observe.WEBHOOK_INTAKE, connector, outcome).observe(time.perf_counter() - started)
    observe.child(observe.DELIVERIES, connector, outcome).inc()
