"""``hub stock``: the built-in ledger filled from a file, and stock pushed to the channels."""

from __future__ import annotations

import os
import sys

import click

from hub.cli.base import actor, chosen_accounts, cli, open_hub
from hub.runtime import Hub
from hub.storage import audit, migrate


@cli.group()
def stock() -> None:
    """Stock in the built-in ledger."""


@stock.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--client", default="default", show_default=True, help="whose stock this is")
@click.option(
    "--location",
    "default_location",
    default=None,
    help="for rows without a location column (default: the client's default location)",
)
def stock_import(path: str, client: str, default_location: str | None) -> None:
    """Set on hand from a CSV file: header sku,on_hand[,location].

    Every row is checked first; a file with any error changes nothing and every error is
    reported with its line number."""
    from hub.shipping import release, warehouse
    from hub.stock import ledger

    hub = open_hub()
    migrate.upgrade(hub.db)
    default_location = default_location or warehouse.default_location(hub, client)
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows, errors = ledger.parse_levels_csv(handle.read(), default_location=default_location)
    for error in errors:
        click.echo(f"{path}: {error}", err=True)
    if errors:
        raise click.ClickException(f"{len(errors)} error(s); nothing was imported")
    with (
        hub.db.transaction() as session,
        click.progressbar(
            length=len(rows), label=f"importing {len(rows)} rows", file=sys.stderr
        ) as bar,
    ):
        changed = ledger.import_levels(
            session,
            client,
            rows,
            actor=actor(),
            ref=f"import:{os.path.basename(path)}",
            progress=bar.update,
        )
        woken = release.wake(hub, session, client, sorted({r.sku for r in rows}))
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
    from hub.stock import sync

    migrate.upgrade(hub.db)
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
