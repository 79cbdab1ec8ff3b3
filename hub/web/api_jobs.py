"""``/api/jobs``: the outbox, its dead letters and their replay; ``/api/accounts``: each
account and whether its credentials were refused. Every change is audited.

A dead job shows its error and its input: its payload and, for a translation, the raw
delivery it was for. Retry one, retry every dead job matching a filter, or discard one with a
reason (it is kept, marked ``discarded``).
"""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from hub.jobs import account_health, listing, outbox
from hub.storage import audit
from hub.storage.fields import Text, column_length, column_text
from hub.storage.models import JobRow
from hub.web import openapi, validation
from hub.web.api import account_or_404, authenticate, current_hub, page, requires
from hub.web.errors import ApiError
from hub.web.validation import ID

bp = Blueprint("jobs", __name__, url_prefix="/api")
validation.install_converters(bp)
bp.before_request(authenticate)


class JobsQuery(validation.PageSchema):
    status = fields.String(
        validate=validate.OneOf(
            outbox.STATUSES, error=f"must be one of: {', '.join(outbox.STATUSES)}"
        )
    )
    kind = validation.QueryText(column_length(JobRow.kind))
    account = validation.QueryText(100)
    error = validation.QueryText(1000)


class RetryMatching(Schema):
    """``POST /api/jobs/retry``: which dead jobs."""

    kind = column_text(JobRow.kind, allow_none=True)
    account = Text(100, allow_none=True)
    error = Text(1000, allow_none=True)


class Discard(Schema):
    """``POST /api/jobs/<id>/discard``: why."""

    reason = Text(
        10_000, required=True, error_messages={"required": 'say why: {{"reason": "..."}}'}
    )


@bp.get("/jobs")
@requires("viewer")
@openapi.doc(
    summary="The outbox, newest first", query=JobsQuery, answer=openapi.page_of(openapi.Job)
)
def list_jobs() -> Response:
    """``?status=&kind=&account=&error=``: newest first, with each job's error."""
    params = validation.query(JobsQuery())
    return page(listing.matching(select(JobRow), params), JobRow.id, listing.job_json, params)


@bp.get(f"/jobs/<{ID}:job_id>")
@requires("viewer")
@openapi.doc(summary="One job, its input and failed attempts", answer=openapi.JobDetail)
def get_job(job_id: int) -> Response:
    with current_hub().db.transaction() as session:
        row = session.get(JobRow, job_id)
        if row is None:
            raise ApiError(404, "not_found", f"no job {job_id}")
        return jsonify(listing.job_detail(session, row))


@bp.post(f"/jobs/<{ID}:job_id>/retry")
@requires("editor")
@openapi.doc(summary="Retry a dead job now", answer=openapi.JobState, errors=(409,))
def retry_job(job_id: int) -> Response:
    with current_hub().db.transaction() as session:
        if not outbox.retry(session, job_id):
            raise ApiError(409, "not_retryable", f"job {job_id} does not exist or is not dead")
        audit.record(session, g.token_name, "job.retry", f"job:{job_id}")
    return jsonify({"id": job_id, "status": outbox.QUEUED})


@bp.post("/jobs/retry")
@requires("editor")
@openapi.doc(body=RetryMatching, body_required=False, answer=openapi.Retried)
def retry_matching() -> Response:
    """``{"kind"?, "account"?, "error"?}``: every dead job matching, back to run now."""
    body = validation.body(RetryMatching(), empty=True)
    filters = {k: body.get(k) for k in ("kind", "account", "error")}
    with current_hub().db.transaction() as session:
        ids = listing.retry_matching(session, filters)
        audit.record(
            session,
            g.token_name,
            "job.retry_matching",
            "jobs",
            {"filters": filters, "count": len(ids), "ids": ids[:1000]},
        )
    return jsonify({"retried": len(ids), "ids": ids})


@bp.post(f"/jobs/<{ID}:job_id>/discard")
@requires("editor")
@openapi.doc(body=Discard, answer=openapi.JobState, errors=(409,))
def discard_job(job_id: int) -> Response:
    """``{"reason": "..."}``: a dead job that must never run; kept, marked discarded."""
    reason = validation.body(Discard(), empty=True)["reason"]
    with current_hub().db.transaction() as session:
        if not listing.discard(session, job_id, reason, g.token_name):
            raise ApiError(409, "not_discardable", f"job {job_id} does not exist or is not dead")
    return jsonify({"id": job_id, "status": outbox.DISCARDED})


# -- accounts --------------------------------------------------------------------------------


@bp.get("/accounts")
@requires("viewer")
@openapi.doc(answer=openapi.page_of(openapi.Account))
def list_accounts() -> Response:
    """Every configured account (no secrets), whether its credentials were refused, and
    whether its jobs wait on an open circuit breaker or a rate limit."""
    hub = current_hub()
    with hub.db.transaction() as session:
        items = account_health.report(session, hub.accounts)
    return jsonify({"items": items, "next": None})


@bp.post("/accounts/<name>/resume")
@requires("editor")
@openapi.doc(answer=openapi.Resumed)
def resume_account(name: str) -> Response:
    """Clear a refused-credentials flag (after fixing them at the other end); its waiting
    jobs run now."""
    account_or_404(name)
    with current_hub().db.transaction() as session:
        woken = account_health.resume(session, name)
        audit.record(session, g.token_name, "account.resume", f"account:{name}", {"jobs": woken})
    return jsonify({"account": name, "status": "ok", "jobs_resumed": woken})
