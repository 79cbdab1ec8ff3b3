"""``hub accounts``: the accounts file checked and listed."""

from __future__ import annotations

import json

import click

from hub.cli.base import cli, open_hub


@cli.command("accounts")
def accounts_cmd() -> None:
    """Check the accounts file and list its accounts (secrets hidden)."""
    hub = open_hub()
    for name, account in sorted(hub.accounts.items()):
        click.echo(
            json.dumps({"account": name, "connector": account.connector, "client": account.client})
        )
