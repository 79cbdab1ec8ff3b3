"""The ``hub`` command group and what every command shares: the hub built from the
environment, the actor named in the audit log, an account looked up by name, a spec file read."""

from __future__ import annotations

from typing import Any

import click

from hub.errors import ConfigError
from hub.runtime import Hub
from hub.settings import load_settings


def open_hub(**overrides: Any) -> Hub:
    """The hub from the environment, logging set up for it (every command comes here)."""
    from hub import logs

    try:
        settings = load_settings({k: v for k, v in overrides.items() if v is not None})
        logs.configure(settings)  # first: building the hub may already say something
        hub = Hub(settings)
    except ConfigError as exc:
        raise click.ClickException(exc.message) from None
    return hub


@click.group()
@click.version_option(package_name="fulfilment-hub")
def cli() -> None:
    """Fulfilment Hub: orders from every channel, to the warehouse, to the carriers, and back.

    Settings come from the environment (HUB_DATABASE_URL, HUB_CONFIG, HUB_SECRET_KEY,
    HUB_LOG_LEVEL, HUB_LOG_FORMAT, HUB_MAX_BODY), then the [settings] table of the accounts file.
    """


def account_of(hub: Hub, name: str) -> Any:
    account = hub.accounts.get(name)
    if account is None:
        raise click.ClickException(f"no account named {name!r} in {hub.settings.config}")
    return account


def actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


def read_spec(path: str) -> Any:
    from hub.errors import MappingError
    from hub.mapping import compiled

    fmt = "json" if path.endswith(".json") else "yaml"
    try:
        with open(path, "rb") as handle:
            return compiled.parse_spec(handle.read(), fmt)
    except (OSError, MappingError) as exc:
        raise click.ClickException(f"{path}: {getattr(exc, 'message', exc)}") from None


def chosen_accounts(accounts: list[Any], names: tuple[str, ...], what: str) -> list[Any]:
    """``accounts`` narrowed to ``names`` (all when none are given); an unknown name, or no
    account at all, stops the command saying which ``what`` (e.g. "carrier account") exist."""
    if names:
        unknown = sorted(set(names) - {a.name for a in accounts})
        if unknown:
            known = ", ".join(a.name for a in accounts) or "none"
            raise click.ClickException(f"not a {what}: {', '.join(unknown)} (known: {known})")
        accounts = [a for a in accounts if a.name in names]
    if not accounts:
        raise click.ClickException(f"no {what} is configured")
    return accounts
