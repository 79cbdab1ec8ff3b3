"""The ``hub`` command."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from hub import migrate, tokens
from hub.errors import ConfigError, HubError
from hub.runtime import Hub


def _hub(**overrides: Any) -> Hub:
    try:
        return Hub.from_env({k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise click.ClickException(exc.message) from None


@click.group()
@click.version_option(package_name="fulfilment-hub")
def cli() -> None:
    """Fulfilment Hub: orders from every channel, to the warehouse, to the carriers, and back.

    Settings come from the environment (HUB_DATABASE_URL, HUB_CONFIG, HUB_SECRET_KEY,
    HUB_LOG_LEVEL, HUB_MAX_BODY), then the [settings] table of the accounts file.
    """


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--threads",
    default=32,
    show_default=True,
    type=int,
    help="request threads in the one web process",
)
def serve(host: str, port: int, threads: int) -> None:
    """Web, worker and scheduler in one process (upgrades the database schema first)."""
    from hub.serve import run_gunicorn

    hub = _hub()
    _announce(hub, host, port)
    run_gunicorn(hub, host=host, port=port, workers=1, threads=threads, background=True)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="web processes")
@click.option(
    "--threads",
    default=32,
    show_default=True,
    type=int,
    help="request threads per web process (requests mostly wait on the database)",
)
def web(host: str, port: int, workers: int, threads: int) -> None:
    """The web tier alone (webhooks and API), for scale-out behind a load balancer."""
    from hub.serve import run_gunicorn

    hub = _hub()
    _announce(hub, host, port)
    run_gunicorn(hub, host=host, port=port, workers=workers, threads=threads, background=False)


@cli.command()
@click.option("--threads", default=1, show_default=True, type=int)
def worker(threads: int) -> None:
    """Run jobs from the outbox until stopped."""
    from hub.serve import run_worker

    run_worker(_hub(), threads=threads)


@cli.command()
def scheduler() -> None:
    """Run the periodic triggers alone."""
    from hub.serve import run_scheduler

    run_scheduler(_hub())


def _announce(hub: Hub, host: str, port: int) -> None:
    click.echo(f"hub: database {hub.db.engine.url.render_as_string(hide_password=True)}", err=True)
    click.echo(
        f"hub: accounts from {hub.settings.config}: {', '.join(sorted(hub.accounts)) or 'none'}",
        err=True,
    )
    click.echo(f"hub: listening on http://{host}:{port}", err=True)


@cli.group()
def db() -> None:
    """Database schema."""


@db.command()
def upgrade() -> None:
    """Bring the database schema up to date."""
    hub = _hub()
    applied = migrate.upgrade(hub.db)
    click.echo(f"schema {'upgraded to' if applied else 'already at'} {migrate.head_revision()}")


@cli.group("tokens")
def tokens_group() -> None:
    """Admin API tokens."""


@tokens_group.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(tokens.ROLES), required=True)
def tokens_create(name: str, role: str) -> None:
    """Create a token; it is printed once, as the last line."""
    hub = _hub()
    migrate.upgrade(hub.db)
    try:
        with hub.db.transaction() as session:
            token = tokens.create(session, name, role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"token {name!r} ({role}) created; it is shown only now:", err=True)
    click.echo(token)


@tokens_group.command("revoke")
@click.argument("name")
def tokens_revoke(name: str) -> None:
    """Revoke a token by name."""
    hub = _hub()
    with hub.db.transaction() as session:
        if not tokens.revoke(session, name):
            raise click.ClickException(f"no live token named {name!r}")
    click.echo(f"token {name!r} revoked")


@cli.group()
def deliveries() -> None:
    """Stored webhook deliveries (the inbox)."""


@deliveries.command("replay")
@click.argument("delivery_ids", nargs=-1, type=int)
@click.option("--failed", is_flag=True, help="every delivery whose translation failed")
@click.option("--account", help="with --failed: only this account's")
def deliveries_replay(delivery_ids: tuple[int, ...], failed: bool, account: str | None) -> None:
    """Translate stored deliveries again (after a fix); a worker picks them up."""
    from sqlalchemy import select

    from hub import inbox
    from hub.models import DeliveryRow

    hub = _hub()
    ids = list(delivery_ids)
    with hub.db.transaction() as session:
        if failed:
            query = select(DeliveryRow.id).where(DeliveryRow.status == inbox.FAILED)
            if account:
                query = query.where(DeliveryRow.account == account)
            ids += list(session.execute(query).scalars())
        missing = [i for i in ids if not inbox.replay(hub, session, i)]
    if missing:
        raise click.ClickException(f"no delivery with id {', '.join(map(str, missing))}")
    click.echo(f"{len(ids)} deliveries queued for translation")


@cli.command()
def demo() -> None:
    """An end-to-end run, offline: sample Shopify and WooCommerce webhooks in, orders out."""
    from hub.demo import run

    try:
        run(click.echo)
    except HubError as exc:
        raise click.ClickException(exc.message) from None


@cli.command("accounts")
def accounts_cmd() -> None:
    """Check the accounts file and list its accounts (secrets hidden)."""
    hub = _hub()
    for name, account in sorted(hub.accounts.items()):
        click.echo(
            json.dumps({"account": name, "connector": account.connector, "client": account.client})
        )


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        cli.main(prog_name="hub")
    except ConfigError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
