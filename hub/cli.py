"""The ``hub`` command."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from hub import audit, migrate, tokens
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
@click.option(
    "--threads",
    default=2,
    show_default=True,
    type=int,
    help="threads for jobs that wait on channels, carriers and warehouses",
)
@click.option(
    "--inside",
    default=1,
    show_default=True,
    type=int,
    help="threads for the hub's own jobs (translation, release)",
)
def worker(threads: int, inside: int) -> None:
    """Run jobs from the outbox until stopped: --inside threads for the hub's own jobs
    (translation, release), --threads for pushes and polls, so a slow outside system never
    holds up orders coming in."""
    from hub.serve import run_worker

    run_worker(_hub(), threads=threads, inside=inside)


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
            audit.record(session, _actor(), "token.create", f"token:{name}", {"role": role})
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
        audit.record(session, _actor(), "token.revoke", f"token:{name}")
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

    from hub import inbox, translation
    from hub.models import DeliveryRow

    hub = _hub()
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


def _account_of(hub: Hub, name: str) -> Any:
    account = hub.accounts.get(name)
    if account is None:
        raise click.ClickException(f"no account named {name!r} in {hub.settings.config}")
    return account


def _actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


def _read_spec(path: str) -> Any:
    from hub import mapping
    from hub.errors import MappingError

    fmt = "json" if path.endswith(".json") else "yaml"
    try:
        with open(path, "rb") as handle:
            return mapping.parse_spec(handle.read(), fmt)
    except (OSError, MappingError) as exc:
        raise click.ClickException(f"{path}: {getattr(exc, 'message', exc)}") from None


@cli.group()
def mappings() -> None:
    """Mapping specs, for people who keep them in git."""


@mappings.command("export")
@click.argument("account")
@click.option("--version", "number", type=int, help="a saved version (default: the current)")
@click.option(
    "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
)
def mappings_export(account: str, number: int | None, fmt: str) -> None:
    """Print an account's mapping spec."""
    import yaml

    from hub import mapping_store

    hub = _hub()
    acc = _account_of(hub, account)
    migrate.upgrade(hub.db)
    with hub.db.transaction() as session:
        version = (
            mapping_store.get(session, acc, number)
            if number is not None
            else mapping_store.current(session, acc)
        )
    if version is None:
        raise click.ClickException(f"account {account!r} has no mapping version {number}")
    if fmt == "json":
        click.echo(json.dumps(version.spec, indent=2))
    else:
        click.echo(yaml.safe_dump(version.spec, sort_keys=False, allow_unicode=True), nl=False)


@mappings.command("import")
@click.argument("account")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--comment", "-m", help="why (kept with the version)")
def mappings_import(account: str, path: str, comment: str | None) -> None:
    """Save a spec file (YAML or .json) as the account's next version, if it is valid."""
    from hub import mapping_store
    from hub.errors import MappingError

    hub = _hub()
    acc = _account_of(hub, account)
    migrate.upgrade(hub.db)
    spec = _read_spec(path)
    try:
        with hub.db.transaction() as session:
            version = mapping_store.save(session, acc, spec, author=_actor(), comment=comment)
    except MappingError as exc:
        for message in exc.details or [exc.message]:
            click.echo(f"{path}: {message}", err=True)
        raise click.ClickException("the mapping is invalid; nothing was saved") from None
    click.echo(f"saved {account} mapping version {version.number}")


@mappings.command("validate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--account", help="also check SKUs against this account's client catalogue")
def mappings_validate(path: str, account: str | None) -> None:
    """Check a spec file; prints every problem with where it is."""
    from hub import mapping, mapping_store

    spec = _read_spec(path)
    if account:
        hub = _hub()
        acc = _account_of(hub, account)
        migrate.upgrade(hub.db)
        with hub.db.transaction() as session:
            messages = mapping_store.check(session, acc, spec)
    else:
        messages = mapping.validate_spec(spec)
    for message in messages:
        click.echo(f"{path}: {message}")
    if messages:
        raise click.ClickException(f"{len(messages)} problem(s)")
    click.echo(f"{path}: valid")


@mappings.command("diff")
@click.argument("account")
@click.argument("first")
@click.argument("second", required=False)
def mappings_diff(account: str, first: str, second: str | None) -> None:
    """What changed between two versions, or a file and the current version.

    FIRST and SECOND are version numbers or spec files; SECOND defaults to the current."""
    from hub import mapping_store

    hub = _hub()
    acc = _account_of(hub, account)
    migrate.upgrade(hub.db)

    def spec_of(session: Any, ref: str | None) -> Any:
        if ref is None:
            return mapping_store.current(session, acc).spec
        if ref.isdigit():
            version = mapping_store.get(session, acc, int(ref))
            if version is None:
                raise click.ClickException(f"account {account!r} has no mapping version {ref}")
            return version.spec
        return _read_spec(ref)

    with hub.db.transaction() as session:
        result = mapping_store.diff(spec_of(session, first), spec_of(session, second))
    click.echo(result["text"] or "no differences", nl=not result["text"])


@cli.group()
def catalogue() -> None:
    """A client's warehouse SKUs (mappings and orders are checked against them)."""


@catalogue.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--client", required=True, help="the client whose SKUs these are")
def catalogue_import(path: str, client: str) -> None:
    """Add SKUs from a CSV file with a header row: sku[,name]."""
    import csv

    from hub.db import upsert_insert
    from hub.models import SkuRow
    from hub.values import now

    hub = _hub()
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
    from hub import release, warehouse
    from hub import stock as ledger

    hub = _hub()
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
            actor=_actor(),
            ref=f"import:{os.path.basename(path)}",
            progress=bar.update,
        )
        woken = release.wake(hub, session, client, sorted({r.sku for r in rows}))
        audit.record(
            session,
            _actor(),
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
    hub = _hub()
    try:
        _sync_accounts(hub, names, full)
    finally:
        hub.close()


def _sync_accounts(hub: Hub, names: tuple[str, ...], full: bool) -> None:
    from hub import stock_sync as sync
    from hub.errors import ConnectorError

    migrate.upgrade(hub.db)
    accounts = sync.push_accounts(hub)
    if names:
        unknown = sorted(set(names) - {a.name for a in accounts})
        if unknown:
            known = ", ".join(a.name for a in accounts) or "none"
            raise click.ClickException(
                f"not a channel account with stock push: {', '.join(unknown)} (known: {known})"
            )
        accounts = [a for a in accounts if a.name in names]
    if not accounts:
        raise click.ClickException("no channel account with stock push is configured")
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


@cli.group("tracking")
def tracking_cmd() -> None:
    """Parcel tracking from the carriers."""


@tracking_cmd.command("poll")
@click.option("--account", "names", multiple=True, help="only this carrier account (repeatable)")
@click.option("--all", "everything", is_flag=True, help="every parcel followed, not only those due")
def tracking_poll(names: tuple[str, ...], everything: bool) -> None:
    """Ask the carriers about their parcels now (one pass)."""
    from hub import tracking
    from hub.errors import ConnectorError

    hub = _hub()
    try:
        migrate.upgrade(hub.db)
        accounts = tracking.tracking_accounts(hub)
        if names:
            unknown = sorted(set(names) - {a.name for a in accounts})
            if unknown:
                known = ", ".join(a.name for a in accounts) or "none"
                raise click.ClickException(
                    f"not a carrier account: {', '.join(unknown)} (known: {known})"
                )
            accounts = [a for a in accounts if a.name in names]
        if not accounts:
            raise click.ClickException("no carrier account is configured")
        failed = 0
        for account in accounts:
            try:
                counts = tracking.poll_account(hub, account, due_only=not everything, limit=None)
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


def _register() -> None:
    from hub.cli_jobs import jobs_group  # it uses this module's helpers

    cli.add_command(jobs_group)


_register()


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        cli.main(prog_name="hub")
    except ConfigError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
