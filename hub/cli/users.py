"""``hub users``: the people who sign in to the console (``/admin``)."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from hub.cli.base import actor, cli, open_hub
from hub.storage import audit, migrate
from hub.storage.models import UserRow
from hub.values import iso
from hub.web import people


@cli.group("users")
def users_group() -> None:
    """People who sign in to the console."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(people.ROLES), required=True)
@click.option(
    "--client", "clients", multiple=True, help="limit the person to this client (repeatable)"
)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def users_create(email: str, role: str, clients: tuple[str, ...], password_stdin: bool) -> None:
    """Create a person; the password comes from a prompt or standard input."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    hub = open_hub()
    unknown = sorted(set(clients) - {a.client for a in hub.accounts.values()})
    if unknown:
        hub.close()
        raise click.ClickException(f"no account has client {', '.join(unknown)}")
    try:
        migrate.upgrade(hub.db)
        with hub.db.transaction() as session:
            row = people.create(session, email, role, password, list(clients) or None)
            audit.record(
                session,
                actor(),
                "user.create",
                f"user:{row.email}",
                {"role": role, "clients": row.clients},
            )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        hub.close()
    limit = f", clients {', '.join(row.clients)}" if row.clients else ", every client"
    click.echo(f"{row.email} ({role}{limit}) can sign in at /admin/login")


@users_group.command("disable")
@click.argument("email")
def users_disable(email: str) -> None:
    """Disable a person: their sessions end and they cannot sign in."""
    hub = open_hub()
    try:
        with hub.db.transaction() as session:
            if not people.disable(session, email):
                raise click.ClickException(f"no active person with email {email!r}")
            audit.record(session, actor(), "user.disable", f"user:{people.normal_email(email)}")
    finally:
        hub.close()
    click.echo(f"{people.normal_email(email)} disabled")


@users_group.command("list")
def users_list() -> None:
    """Every person, with role, clients and last sign-in."""
    hub = open_hub()
    try:
        with hub.db.transaction() as session:
            rows = session.execute(select(UserRow).order_by(UserRow.email)).scalars().all()
            for row in rows:
                state = "disabled" if row.disabled_at else "active"
                clients = ",".join(row.clients) if row.clients else "*"
                last = iso(row.last_login_at) if row.last_login_at else "never"
                click.echo(f"{row.email}\t{row.role}\t{clients}\t{state}\tlast sign-in {last}")
    finally:
        hub.close()
