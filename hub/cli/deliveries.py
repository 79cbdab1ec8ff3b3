"""``hub deliveries``: stored webhook deliveries, replayed after a fix."""

from __future__ import annotations

import click

from hub.cli.base import cli, open_hub


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

    from hub.intake import inbox, translation
    from hub.storage.models import DeliveryRow

    hub = open_hub()
    ids = list(delivery_ids)
    with hub.db.transaction() as session:
        if failed:
            query = select(DeliveryRow.id).where(DeliveryRow.status == inbox.FAILED)
            if account:
                query = query.where(DeliveryRow.account == account)
            ids += list(session.execute(query).scalars())
        missing = [i for i in ids if not translation.replay(hub, session, i)]
    if missing:
        raise click.ClickException(f"no delivery with id {', '.join(map(str, missing))}")
    click.echo(f"{len(ids)} deliveries queued for translation")
