"""``hub accounts``: the accounts file checked and listed; ``hub accounts hooks check|sync
NAME``: a channel's webhooks to the hub listed, and made to exist and be active."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import click

from hub.cli.base import account_of, cli, open_hub
from hub.connectors import Account
from hub.errors import HubError
from hub.intake import reconcile
from hub.runtime import Hub


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
    """The channel's webhooks to this hub (channels that can list them: BigCommerce, which
    turns a hook off after 48 hours of failed deliveries; eBay's Notification API destination
    and subscriptions)."""


@contextmanager
def _hooks_target(name: str) -> Iterator[tuple[Hub, Account, str]]:
    """The hub, the account NAME and its webhook address (the one the account names, as eBay's
    endpoint_url, else HUB_PUBLIC_URL/webhooks/NAME); the hub is closed afterwards, and a
    channel's refusal (credentials, an outage) is a one-line error, not a traceback."""
    hub = open_hub()
    try:
        account = account_of(hub, name)
        url = reconcile.webhook_url(hub, account)
        if url is None:
            raise click.ClickException(
                "set HUB_PUBLIC_URL (the hub's public address): the channel is told to call "
                f"HUB_PUBLIC_URL/webhooks/{name}"
            )
        yield hub, account, url
    except HubError as exc:
        raise click.ClickException(f"account {name!r}: {exc.message}") from None
    finally:
        hub.close()


@hooks_cmd.command("check")
@click.argument("name")
def hooks_check(name: str) -> None:
    """Whether every topic's hook of account NAME is there and active (kept for the
    account's health); exits 1 when one is missing or inactive."""
    with _hooks_target(name) as (hub, account, _):
        try:
            state = reconcile.check_webhooks(hub, account)
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
    """Create the account NAME's missing webhooks and turn deactivated ones back on.

    BigCommerce turns a hook off after 48 hours of failed deliveries (and after 90 days
    without one); the hooks call HUB_PUBLIC_URL/webhooks/NAME, which must be set. For eBay:
    the Notification API destination at the account's endpoint_url (no HUB_PUBLIC_URL
    needed) and its subscriptions to the deletion and order topics (eBay calls the endpoint's
    challenge when the destination is made, so the hub must answer there first). Prints one
    line per change, then checks the hooks again for the account's health (GET
    /api/accounts). Orders missed meanwhile come in with the next reconciliation."""
    with _hooks_target(name) as (hub, account, url):
        try:
            done = hub.connector(account).sync_webhook_subscriptions(url)
        except NotImplementedError:
            raise click.ClickException(
                f"account {name!r}: its channel's webhooks are not managed here"
            ) from None
        for line in done:
            click.echo(line)
        click.echo(f"{len(done)} change(s); hooks call {url}")
        reconcile.check_webhooks(hub, account)
