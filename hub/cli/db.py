"""``hub db``: the database schema."""

from __future__ import annotations

import click

from hub.cli.base import cli, open_hub
from hub.storage import migrate


@cli.group()
def db() -> None:
    """Database schema."""


@db.command()
def upgrade() -> None:
    """Bring the database schema up to date."""
    hub = open_hub()
    applied = migrate.upgrade(hub.db)
    click.echo(f"schema {'upgraded to' if applied else 'already at'} {migrate.head_revision()}")
