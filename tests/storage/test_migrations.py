"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hub.storage import migrate
from hub.storage.models import Base


def test_migrations_match_the_models(hub):
    with hub.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # UTCDateTime is a DateTime underneath; alembic does not report type decorators
    assert diff == []


def test_upgrade_is_idempotent_and_current(hub):
    assert migrate.is_current(hub.db)
    assert migrate.upgrade(hub.db) is False
    assert migrate.current_revision(hub.db) == migrate.head_revision()


def test_sqlite_runs_in_wal_mode(tmp_path):
    from hub.storage.db import Database

    db = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    migrate.upgrade(db)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    db.dispose()


def test_plain_postgresql_addresses_use_psycopg():
    from hub.storage.db import normalise_url

    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
