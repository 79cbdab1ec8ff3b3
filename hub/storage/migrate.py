"""Schema migrations (Alembic), safe to start from many processes at once.

Only one process upgrades at a time: PostgreSQL takes an advisory lock, SQLite a file lock
beside the database. The others wait, then find the schema current.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from hub.storage.db import Database

_LOCK_ID = 0x6875625F6D6967  # "hub_mig"


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_current(db: Database) -> bool:
    return current_revision(db) == head_revision()


@contextlib.contextmanager
def _exclusive(db: Database) -> Iterator[None]:
    if db.postgres:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_ID})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_ID})
                conn.commit()
        return
    database = db.engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(db: Database) -> bool:
    """Bring the schema to the newest revision. True when anything was applied."""
    if is_current(db):
        return False
    with _exclusive(db):
        if is_current(db):
            return False
        with db.engine.begin() as conn:
            command.upgrade(_config(conn), "head")
    return True
