"""The ``hub`` command: one module per command group, all on the group in ``base``.

The CLI sits on top beside ``hub.web``: it may import every package, and nothing imports it.
Commands import what they use inside their function, so ``hub --help`` stays quick.
"""

from __future__ import annotations

import os
import sys

import click

from hub.cli import (  # noqa: F401  (each registers its commands on ``cli``)
    accounts,
    catalogue,
    db,
    deliveries,
    demo,
    jobs,
    mappings,
    serve,
    stock,
    tokens,
    tracking,
    users,
)
from hub.cli.base import cli
from hub.errors import ConfigError

__all__ = ["cli", "main"]


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        cli.main(prog_name="hub")
    except ConfigError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
