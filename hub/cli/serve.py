"""``hub serve``, ``hub web``, ``hub worker``, ``hub scheduler``: the processes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from hub.cli.base import cli, open_hub
from hub.runtime import Hub


def metrics_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--metrics-port`` and ``--metrics-host``: for the processes with no web server of
    their own (``hub worker``, ``hub scheduler``)."""
    command = click.option("--metrics-host", default="127.0.0.1", show_default=True)(command)
    return click.option(
        "--metrics-port",
        default=None,
        type=int,
        help="serve this process's metrics (Prometheus) at http://HOST:PORT/metrics",
    )(command)


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
    from hub.cli.processes import run_gunicorn

    hub = open_hub()
    _announce(hub)
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
    from hub.cli.processes import run_gunicorn

    hub = open_hub()
    _announce(hub)
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
@metrics_options
def worker(threads: int, inside: int, metrics_port: int | None, metrics_host: str) -> None:
    """Run jobs from the outbox until stopped: --inside threads for the hub's own jobs
    (translation, release), --threads for pushes and polls, so a slow outside system never
    holds up orders coming in."""
    from hub.cli.processes import run_worker

    run_worker(
        open_hub(),
        threads=threads,
        inside=inside,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
    )


@cli.command()
@metrics_options
def scheduler(metrics_port: int | None, metrics_host: str) -> None:
    """Run the periodic triggers alone."""
    from hub.cli.processes import run_scheduler

    run_scheduler(open_hub(), metrics_port=metrics_port, metrics_host=metrics_host)


def _announce(hub: Hub) -> None:
    """What the process will serve; "listening" follows once the port is bound."""
    click.echo(f"hub: database {hub.db.engine.url.render_as_string(hide_password=True)}", err=True)
    click.echo(
        f"hub: accounts from {hub.settings.config}: {', '.join(sorted(hub.accounts)) or 'none'}",
        err=True,
    )
