"""``hub accounts``: the accounts file checked and listed; ``hub accounts hooks check|sync
NAME``: a channel's webhooks to the hub listed, and made to exist and be active."""

from __future__ import annotations

import json

import click

from hub.cli.base import account_of, cli, open_hub
from hub.intake import reconcile


@cli.group("accounts", invoke_without_command=True)
@click.pass_context
def accounts_cmd(ctx: click.Context) -> None:
    """Check the accounts file and list its accounts (secrets hidden)."""
    if ctx.invoked_subcommand is not None:
        return
    hub = open_hub()
    for name, account in sorted(hub.accounts.items()):
        click.echo(
            json.dumps({"account": name, "connector": account.connector, "client": account.client})
        )


@accounts_cmd.group("hooks")
def hooks_cmd() -> None:
    """The channel's webhooks to this hub (channels that can list them, e.g. BigCommerce,
    which turns a hook off after 48 hours of failed deliveries)."""


def _hooks_target(name: str) -> tuple[object, object, str]:
    hub = open_hub()
    account = account_of(hub, name)
    url = reconcile.webhook_url(hub, account)
    if url is None:
        raise click.ClickException("set HUB_PUBLIC_URL: the channel must be told where to call")
    return hub, account, url


@hooks_cmd.command("check")
@click.argument("name")
def hooks_check(name: str) -> None:
    """Whether every topic's hook is there and active (kept for the account's health)."""
    hub, account, _ = _hooks_target(name)
    try:
        state = reconcile.check_webhooks(hub, account)  # type: ignore[arg-type]
    except NotImplementedError:
        state = None
    if state is None:
        raise click.ClickException(f"account {name!r}: its channel cannot list its webhooks")
    click.echo(json.dumps(state))
    if not state.get("ok"):
        raise SystemExit(1)


@hooks_cmd.command("sync")
@click.argument("name")
def hooks_sync(name: str) -> None:
    """Create the missing hooks and make inactive ones active again."""
    hub, account, url = _hooks_target(name)
    connector = hub.connector(account)  # type: ignore[attr-defined]
    try:
        done = connector.sync_webhook_subscriptions(url)
    except NotImplementedError:
        raise click.ClickException(
            f"account {name!r}: its channel's webhooks are not managed here"
        ) from None
    for line in done:
        click.echo(line)
    click.echo(f"{len(done)} change(s); hooks call {url}")
    reconcile.check_webhooks(hub, account)  # type: ignore[arg-type]
