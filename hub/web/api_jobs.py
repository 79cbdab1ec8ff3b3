"""``/api/jobs``: the outbox, its dead letters and their replay; ``/api/accounts``: each
account and whether its credentials were refused. Every change is audited.

A dead job shows its error and its input: its payload and, for a translation, the raw
delivery it was for. Retry one, retry every dead job matching a filter, or discard one with a
reason (it is kept, marked ``discarded``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy import select

from hub.connectors import connector_class
from hub.jobs import account_health, listing, outbox
from hub.storage import audit
from hub.storage.models import JobRow
from hub.web.api import account_or_404, authenticate, current_hub, page, requires
from hub.web.errors import ApiError

bp = Blueprint("jobs", __name__, url_prefix="/api")
bp.before_request(authenticate)


def _matching(query: Any, filters: Any) -> Any:
    try:
        return listing.matching(query, filters)
    except ValueError as exc:
        raise ApiError(
            400, "bad_parameter", str(exc), {"parameter": "status", "value": filters.get("status")}
        ) from None


@bp.get("/jobs")
@requires("viewer")
def list_jobs() -> Response:
    """``?status=&kind=&account=&error=``: newest first, with each job's error."""
    return page(_matching(select(JobRow), request.args), JobRow.id, listing.job_json)


@bp.get("/jobs/<int:job_id>")
@requires("viewer")
def get_job(job_id: int) -> Response:
    with current_hub().db.transaction() as session:
        row = session.get(JobRow, job_id)
        if row is None:
            raise ApiError(404, "not_found", f"no job {job_id}")
        return jsonify({**listing.job_json(row), "input": listing.job_input(session, row)})


@bp.post("/jobs/<int:job_id>/retry")
@requires("editor")
def retry_job(job_id: int) -> Response:
    with current_hub().db.transaction() as session:
        if not outbox.retry(session, job_id):
            raise ApiError(409, "not_retryable", f"job {job_id} does not exist or is not dead")
        audit.record(session, g.token_name, "job.retry", f"job:{job_id}")
    return jsonify({"id": job_id, "status": outbox.QUEUED})


@bp.post("/jobs/retry")
@requires("editor")
def retry_matching() -> Response:
    """``{"kind"?, "account"?, "error"?}``: every dead job matching, back to run now."""
    body = _body()
    filters = {k: body.get(k) for k in ("kind", "account", "error")}
    with current_hub().db.transaction() as session:
        ids = list(
            session.execute(
                _matching(select(JobRow.id), {**filters, "status": outbox.DEAD}).order_by(JobRow.id)
            ).scalars()
        )
        for job_id in ids:
            outbox.retry(session, job_id)
        audit.record(
            session,
            g.token_name,
            "job.retry_matching",
            "jobs",
            {"filters": filters, "count": len(ids), "ids": ids[:1000]},
        )
    return jsonify({"retried": len(ids), "ids": ids})


@bp.post("/jobs/<int:job_id>/discard")
@requires("editor")
def discard_job(job_id: int) -> Response:
    """``{"reason": "..."}``: a dead job that must never run; kept, marked discarded."""
    reason = _body().get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ApiError(400, "bad_request", 'say why: {"reason": "..."}', {"field": "reason"})
    with current_hub().db.transaction() as session:
        row = session.get(JobRow, job_id)
        payload = row.payload if row is not None else None
        if not outbox.discard(session, job_id, reason.strip()):
            raise ApiError(409, "not_discardable", f"job {job_id} does not exist or is not dead")
        audit.record(
            session,
            g.token_name,
            "job.discard",
            f"job:{job_id}",
            {"reason": reason.strip(), "payload": payload},
        )
    return jsonify({"id": job_id, "status": outbox.DISCARDED})


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


# -- accounts --------------------------------------------------------------------------------


@bp.get("/accounts")
@requires("viewer")
def list_accounts() -> Response:
    """Every configured account (no secrets) and whether its credentials were refused."""
    hub = current_hub()
    items = []
    with hub.db.transaction() as session:
        for name, account in sorted(hub.accounts.items()):
            cls = connector_class(account.connector)
            refused = account_health.flagged(session, account)
            items.append(
                {
                    "account": name,
                    "connector": account.connector,
                    "kind": cls.kind,
                    "client": account.client,
                    "status": "credentials_refused" if refused else "ok",
                    "refused": refused,
                }
            )
    return jsonify({"items": items, "next": None})


@bp.post("/accounts/<name>/resume")
@requires("editor")
def resume_account(name: str) -> Response:
    """Clear a refused-credentials flag (after fixing them at the other end); its waiting
    jobs run now."""
    account_or_404(name)
    with current_hub().db.transaction() as session:
        woken = account_health.resume(session, name)
        audit.record(session, g.token_name, "account.resume", f"account:{name}", {"jobs": woken})
    return jsonify({"account": name, "status": "ok", "jobs_resumed": woken})
