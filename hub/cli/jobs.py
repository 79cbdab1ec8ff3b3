"""``hub jobs``: the outbox's dead letters by hand: list them with their error, show one with
its raw input, retry one or every one matching a filter, discard one with a reason. Every
change is audited, as over the API."""

from __future__ import annotations

import json

import click
from sqlalchemy import select

from hub.cli.base import actor, cli, open_hub
from hub.jobs import listing, outbox
from hub.storage import audit
from hub.storage.models import JobRow


def _filters(f):
    for option in (
        click.option("--kind", help="only jobs of this kind"),
        click.option("--account", help="only jobs of this account"),
        click.option("--error", help="only jobs whose last error contains this text"),
    ):
        f = option(f)
    return f


@cli.group("jobs")
def jobs_group() -> None:
    """The outbox: failed and dead jobs, retries and discards."""


@jobs_group.command("list")
@click.option(
    "--status",
    default=outbox.DEAD,
    show_default=True,
    type=click.Choice(outbox.STATUSES),
)
@_filters
@click.option("--limit", default=50, show_default=True, type=int)
def list_jobs(status: str, kind: str | None, account: str | None, error: str | None, limit: int):
    """Jobs, newest first: id, kind, attempts and the last error."""
    hub = open_hub()
    try:
        with hub.db.transaction() as session:
            query = listing.matching(
                select(JobRow), {"status": status, "kind": kind, "account": account, "error": error}
            )
            rows = session.execute(query.order_by(JobRow.id.desc()).limit(limit)).scalars()
            found = 0
            for row in rows:
                found += 1
                click.echo(
                    f"{row.id}\t{row.kind}\t{row.status}\t{row.attempts}/{row.max_attempts}\t"
                    f"{(row.last_error or '').splitlines()[0][:200] if row.last_error else ''}"
                )
        if not found:
            click.echo(f"no {status} jobs", err=True)
    finally:
        hub.close()


@jobs_group.command("show")
@click.argument("job_id", type=int)
def show_job(job_id: int) -> None:
    """One job as JSON, with its raw input (a delivery's body, for a translation) and its
    failed attempts."""
    hub = open_hub()
    try:
        with hub.db.transaction() as session:
            row = session.get(JobRow, job_id)
            if row is None:
                raise click.ClickException(f"no job {job_id}")
            shown = listing.job_detail(session, row)
        click.echo(json.dumps(shown, indent=2))
    finally:
        hub.close()


@jobs_group.command("retry")
@click.argument("job_ids", nargs=-1, type=int)
@click.option("--all-dead", is_flag=True, help="every dead job matching the filters")
@_filters
def retry_jobs(
    job_ids: tuple[int, ...],
    all_dead: bool,
    kind: str | None,
    account: str | None,
    error: str | None,
) -> None:
    """Run dead jobs again now, with a fresh set of attempts."""
    if bool(job_ids) == all_dead:
        raise click.UsageError("give job ids, or --all-dead with optional filters")
    hub = open_hub()
    try:
        with hub.db.transaction() as session:
            if all_dead:
                filters = {"kind": kind, "account": account, "error": error}
                ids = list(
                    session.execute(
                        listing.matching(select(JobRow.id), {**filters, "status": outbox.DEAD})
                    ).scalars()
                )
            else:
                ids, filters = list(job_ids), None
            retried = [i for i in ids if outbox.retry(session, i)]
            audit.record(
                session,
                actor(),
                "job.retry_matching" if all_dead else "job.retry",
                "jobs",
                {"filters": filters, "count": len(retried), "ids": retried[:1000]},
            )
        click.echo(f"{len(retried)} job(s) queued again")
        missing = sorted(set(ids) - set(retried))
        if missing:
            raise click.ClickException(f"not dead or not found: {', '.join(map(str, missing))}")
    finally:
        hub.close()


@jobs_group.command("discard")
@click.argument("job_id", type=int)
@click.option("--reason", required=True, help="why it must never run (kept with the job)")
def discard_job(job_id: int, reason: str) -> None:
    """Mark a dead job as never to run; it is kept, with the reason."""
    hub = open_hub()
    try:
        with hub.db.transaction() as session:
            row = session.get(JobRow, job_id)
            payload = row.payload if row is not None else None
            if not outbox.discard(session, job_id, reason):
                raise click.ClickException(f"job {job_id} does not exist or is not dead")
            audit.record(
                session,
                actor(),
                "job.discard",
                f"job:{job_id}",
                {"reason": reason, "payload": payload},
            )
        click.echo(f"job {job_id} discarded")
    finally:
        hub.close()
