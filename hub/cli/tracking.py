"""``hub tracking``: one pass of carrier tracking, now."""

from __future__ import annotations

import click

from hub.cli.base import chosen_accounts, cli, open_hub
from hub.storage import migrate


@cli.group("tracking")
def tracking_cmd() -> None:
    """Parcel tracking from the carriers."""


@tracking_cmd.command("poll")
@click.option("--account", "names", multiple=True, help="only this carrier account (repeatable)")
@click.option("--due-only", is_flag=True, help="only parcels due a check (what the scheduler does)")
@click.option("--all", "_everything", is_flag=True, hidden=True, help="the default: every parcel")
def tracking_poll(names: tuple[str, ...], due_only: bool, _everything: bool) -> None:
    """Ask the carriers about every parcel still followed, now (one pass); ``--due-only`` asks
    only about those due a check, as the scheduler does."""
    from hub.errors import ConnectorError
    from hub.shipping import tracking

    hub = open_hub()
    try:
        migrate.upgrade(hub.db)
        accounts = chosen_accounts(tracking.tracking_accounts(hub), names, "carrier account")
        failed = 0
        for account in accounts:
            try:
                counts = tracking.poll_account(hub, account, due_only=due_only, limit=None)
            except ConnectorError as exc:
                failed += 1
                click.echo(f"{account.name}: failed: {exc.message}", err=True)
                continue
            click.echo(
                f"{account.name}: {counts['parcels']} parcel(s) in {counts['calls']} call(s): "
                f"{counts['events']} new event(s), {counts['delivered']} delivered, "
                f"{counts['not_found']} not found"
            )
        if failed:
            raise click.ClickException(f"{failed} account(s) failed")
    finally:
        hub.close()
