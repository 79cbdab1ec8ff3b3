"""``hub catalogue``: a client's warehouse SKUs."""

from __future__ import annotations

import click

from hub.cli.base import cli, open_hub
from hub.storage import migrate


@cli.group()
def catalogue() -> None:
    """A client's warehouse SKUs (mappings and orders are checked against them)."""


@catalogue.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--client", required=True, help="the client whose SKUs these are")
def catalogue_import(path: str, client: str) -> None:
    """Add SKUs from a CSV file with a header row: sku[,name]."""
    import csv

    from hub.storage.db import upsert_insert
    from hub.storage.models import SkuRow
    from hub.values import now

    hub = open_hub()
    migrate.upgrade(hub.db)
    with open(path, newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if (r.get("sku") or "").strip()]
    if not rows:
        raise click.ClickException(f"{path}: no rows with a 'sku' column")
    insert = upsert_insert(hub.db.engine.dialect.name)
    with hub.db.transaction() as session:
        for r in rows:
            session.execute(
                insert(SkuRow)
                .values(
                    client=client,
                    sku=r["sku"].strip(),
                    name=(r.get("name") or "").strip() or None,
                    created_at=now(),
                )
                .on_conflict_do_nothing(index_elements=["client", "sku"])
            )
    click.echo(f"{len(rows)} SKUs for client {client!r}")
