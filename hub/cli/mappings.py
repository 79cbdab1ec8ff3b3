"""``hub mappings``: mapping specs exported, imported, checked and compared, for people
who keep them in git."""

from __future__ import annotations

import json
from typing import Any

import click

from hub.cli.base import account_of, actor, cli, open_hub, read_spec
from hub.storage import migrate


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

    from hub.mapping import store

    hub = open_hub()
    acc = account_of(hub, account)
    migrate.upgrade(hub.db)
    with hub.db.transaction() as session:
        version = (
            store.get(session, acc, number) if number is not None else store.current(session, acc)
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
    from hub.errors import MappingError
    from hub.mapping import store

    hub = open_hub()
    acc = account_of(hub, account)
    migrate.upgrade(hub.db)
    spec = read_spec(path)
    try:
        with hub.db.transaction() as session:
            version = store.save(session, acc, spec, author=actor(), comment=comment)
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
    from hub.mapping import compiled, store

    spec = read_spec(path)
    if account:
        hub = open_hub()
        acc = account_of(hub, account)
        migrate.upgrade(hub.db)
        with hub.db.transaction() as session:
            messages = store.check(session, acc, spec)
    else:
        messages = compiled.validate_spec(spec)
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
    from hub.mapping import store

    hub = open_hub()
    acc = account_of(hub, account)
    migrate.upgrade(hub.db)

    def spec_of(session: Any, ref: str | None) -> Any:
        if ref is None:
            return store.current(session, acc).spec
        if ref.isdigit():
            version = store.get(session, acc, int(ref))
            if version is None:
                raise click.ClickException(f"account {account!r} has no mapping version {ref}")
            return version.spec
        return read_spec(ref)

    with hub.db.transaction() as session:
        result = store.diff(spec_of(session, first), spec_of(session, second))
    click.echo(result["text"] or "no differences", nl=not result["text"])
