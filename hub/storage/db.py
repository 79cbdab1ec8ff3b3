"""Database engines and transactions: SQLite (WAL) embedded, PostgreSQL for scale-out."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hub.errors import ConfigError
from hub.storage import sql


def normalise_url(url: str) -> str:
    """Accept addresses as people paste them: `postgres(ql)://` use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def upsert_insert(dialect: str) -> Any:
    """The dialect's ``insert`` construct, the one with ``on_conflict_do_nothing`` (SQLite and
    PostgreSQL both have ``ON CONFLICT``)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def make_engine(url: str) -> Engine:
    """An engine tuned for the backend: WAL, a busy timeout and write-locking transactions on
    SQLite; a pre-pinged pool on PostgreSQL."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(f"HUB_DATABASE_URL is not a database address: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin").
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
            sql.install_sqlite(dbapi_conn)  # what reports need that PostgreSQL has built in

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Take the write lock up front: a deferred transaction that reads and then writes
            # fails with SQLITE_BUSY instead of waiting when another process writes between.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() == "postgresql":
        # No server-side prepared statements: after five runs psycopg prepares a statement and
        # PostgreSQL may keep a generic plan made while a table was small (a sequential scan
        # for ``sku IN (...)`` that took 0.5 s a batch at 30k levels instead of 10 ms). They
        # also break behind a transaction-pooling PgBouncer.
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            connect_args={"prepare_threshold": None},
        )
    raise ConfigError(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql"
    )


# -- work done as a transaction commits ---------------------------------------------------------

#: topic -> what runs, in the committing session, just before it commits
_BEFORE_COMMIT: dict[str, Callable[[Session, Any], None]] = {}


def before_commit(topic: str) -> Callable[[Callable[[Session, Any], None]], Callable]:
    """Register ``fn(session, gathered)`` to run just before a session commits, for what was
    gathered under ``topic`` in that transaction (see :func:`gathered`). A lower layer notes
    what changed; the package that acts on it registers here, so neither imports the other."""

    def register(fn: Callable[[Session, Any], None]) -> Callable[[Session, Any], None]:
        _BEFORE_COMMIT[topic] = fn
        return fn

    return register


def gathered(session: Session, topic: str, start: Callable[[], Any] = dict) -> Any:
    """What this transaction has gathered so far under ``topic`` (created by ``start``)."""
    return session.info.setdefault(topic, start())


@event.listens_for(Session, "before_commit")
def _run_before_commit(session: Session) -> None:
    for topic, fn in _BEFORE_COMMIT.items():
        value = session.info.pop(topic, None)
        if value:
            fn(session, value)


#: seconds a long job pauses between its transactions on SQLite (see Database.let_writers_in)
WRITERS_MOMENT = 0.002


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str):
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        database = self.engine.url.database
        self._thread_lock = threading.Lock()
        self._lock_fd: int | None = None
        self._lock_pid: int | None = None
        self._lock_path = (
            f"{database}.write-lock"
            if self.engine.dialect.name == "sqlite" and database and database != ":memory:"
            else None
        )

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """On SQLite, one writing transaction at a time across threads and processes.

        SQLite's own busy handler polls with sleeps of up to 100 ms, so under load writers
        idle while the database is free; a blocking file lock hands over at once.
        """
        if self._lock_path is None:
            yield
            return
        with self._thread_lock:  # threads of one process queue here, processes at the flock
            if self._lock_pid != os.getpid():  # first use, or a fork: the file is ours anew
                self._lock_fd, self._lock_pid = (
                    os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600),
                    os.getpid(),
                )
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def let_writers_in(self) -> None:
        """Between the transactions of a long job: on SQLite, a moment in which writers
        queued for the write lock take it (a lock released and taken again at once is most
        often taken by the same thread again, so a webhook could wait for the whole job)."""
        if self._lock_path is not None:
            time.sleep(WRITERS_MOMENT)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together, or not at all."""
        with self.write_lock(), self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        if self._lock_fd is not None and self._lock_pid == os.getpid():
            os.close(self._lock_fd)
            self._lock_fd = self._lock_pid = None
