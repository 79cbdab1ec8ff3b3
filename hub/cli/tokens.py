"""``hub tokens``: API tokens for the admin API."""

from __future__ import annotations

import click

from hub.cli.base import actor, cli, open_hub
from hub.storage import audit, migrate
from hub.web import tokens


@cli.group("tokens")
def tokens_group() -> None:
    """Admin API tokens."""


@tokens_group.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(tokens.ROLES), required=True)
def tokens_create(name: str, role: str) -> None:
    """Create a token; it is printed once, as the last line."""
    hub = open_hub()
    migrate.upgrade(hub.db)
    try:
        with hub.db.transaction() as session:
            token = tokens.create(session, name, role)
            audit.record(session, actor(), "token.create", f"token:{name}", {"role": role})
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"token {name!r} ({role}) created; it is shown only now:", err=True)
    click.echo(token)


@tokens_group.command("revoke")
@click.argument("name")
def tokens_revoke(name: str) -> None:
    """Revoke a token by name."""
    hub = open_hub()
    with hub.db.transaction() as session:
        if not tokens.revoke(session, name):
            raise click.ClickException(f"no live token named {name!r}")
        audit.record(session, actor(), "token.revoke", f"token:{name}")
    click.echo(f"token {name!r} revoked")
