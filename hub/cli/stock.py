"""``hub stock``: the built-in ledger filled from a file, and stock pushed to the channels."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from hub.cli.base import actor, chosen_accounts, cli, open_hub
from hub.runtime import Hub
from hub.storage import audit, migrate


@cli.group()
def stock() -> None:
    """Stock in the built-in ledger."""


@stock.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--client", default=None, help="whose stock this is (default: the only client with accounts)"
)
@click.option(
    "--location",
    "default_location",
    default=None,
    help="for rows without a location column (default: the client's default location)",
)
def stock_import(path: str, client: str | None, default_location: str | None) -> None:
    """Set on hand from a CSV file: header sku,on_hand[,location].

    Every row is checked first; a file with any error changes nothing and every error is
    reported with its line number. The rows are then written in transactions of a few
    thousand, so webhooks and workers never wait long for the database; an import cut off
    half way is finished by running it again (it sets levels, it does not add)."""
    hub = open_hub()
    try:
        _import(hub, path, _client(hub, client), default_location)
    finally:
        hub.close()


def _client(hub: Hub, client: str | None) -> str:
    """The client named, which must have accounts; or the only client that has any."""
    clients = sorted({account.client for account in hub.accounts.values()})
    if client is not None and client in clients:
        return client
    if client is None and len(clients) == 1:
        return clients[0]
    have = ", ".join(clients) if clients else f"none (no accounts in {hub.settings.config})"
    if client is None:
        raise click.ClickException(
            f"name the client this stock belongs to with --client (clients with accounts: {have})"
        )
    raise click.ClickException(
        f"client {client!r} has no accounts, so no channel would ever sell this stock "
        f"(clients with accounts: {have}); nothing was imported"
    )


def _import(hub: Hub, path: str, client: str, default_location: str | None) -> None:
    from hub.shipping import release, warehouse
    from hub.stock import ledger

    migrate.upgrade(hub.db)
    default_location = default_location or warehouse.default_location(hub, client)
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows, errors = ledger.parse_levels_csv(handle.read(), default_location=default_location)
    for error in errors[:100]:
        click.echo(f"{path}: {error}", err=True)
    if len(errors) > 100:
        click.echo(f"{path}: ... and {len(errors) - 100} more", err=True)
    if errors:
        raise click.ClickException(f"{len(errors)} error(s); nothing was imported")
    woken = 0

    def wake(session: Any, batch: list[ledger.ImportRow]) -> None:
        nonlocal woken
        woken += release.wake(hub, session, client, sorted({r.sku for r in batch}))

    with click.progressbar(
        length=len(rows), label=f"importing {len(rows)} rows", file=sys.stderr
    ) as bar:
        changed = ledger.import_in_batches(
            hub.db,
            client,
            rows,
            actor=actor(),
            ref=f"import:{os.path.basename(path)}",
            progress=bar.update,
            each=wake,
        )
    with hub.db.transaction() as session:
        audit.record(
            session,
            actor(),
            "stock.import",
            f"stock:{client}",
            {"file": os.path.basename(path), "rows": len(rows), "changed": changed},
        )
    click.echo(
        f"{len(rows)} rows for client {client!r}: {changed} levels changed; "
        f"{woken} waiting order(s) queued for release"
    )


@stock.command("sync")
@click.option("--account", "names", multiple=True, help="only this channel account (repeatable)")
@click.option("--full", is_flag=True, help="read the channel's levels back and fix any drift")
def stock_sync(names: tuple[str, ...], full: bool) -> None:
    """Push available-to-sell to the sales channels now.

    Every SKU is compared with what its channel last confirmed and only differences are
    sent; --full first reads every item and level from the channel (new SKUs, drift)."""
    hub = open_hub()
    try:
        _sync_accounts(hub, names, full)
    finally:
        hub.close()


def _sync_accounts(hub: Hub, names: tuple[str, ...], full: bool) -> None:
    from hub.errors import ConnectorError
    from hub.stock import changes, sync

    migrate.upgrade(hub.db)
    left_out = changes.not_pushed(hub)
    for name in names:
        if name in left_out:
            raise click.ClickException(f"{name}: not synced: {left_out[name]}")
    if not names:
        for name, why in left_out.items():
            click.echo(f"{name}: skipped: {why}", err=True)
    accounts = chosen_accounts(sync.push_accounts(hub), names, "channel account with stock push")
    failed = 0
    for account in accounts:
        with click.progressbar(
            length=1, label=f"{account.name}: pushing", file=sys.stderr, show_pos=True
        ) as bar:

            def step(sent: int, total: int, bar=bar) -> None:
                bar.length = max(total, 1)
                bar.update(sent)

            try:
                report = sync.sync_account(hub, account, "full" if full else "delta", progress=step)
            except ConnectorError as exc:
                failed += 1
                click.echo(f"{account.name}: failed: {exc.message}", err=True)
                continue
        click.echo(
            f"{account.name}: {report.checked} SKUs checked, {report.pushed} pushed in "
            f"{report.calls} call(s), {len(report.errors)} refused, {len(report.drift)} drifted, "
            f"{report.new_items} new, {report.seconds:.2f}s"
        )
        for error in report.errors[:20]:
            click.echo(f"  {error['sku']}: {error['error']}", err=True)
    if failed:
        raise click.ClickException(f"{failed} account(s) failed; their changes stay due")
