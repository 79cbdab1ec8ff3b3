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
from sqlalchemy.orm import Session

from hub import account_health, audit, inbox, outbox
from hub.api import account_or_404, authenticate, current_hub, page, requires
from hub.connectors import connector_class
from hub.http_errors import ApiError
from hub.models import DeliveryRow, JobRow
from hub.values import iso

bp = Blueprint("jobs", __name__, url_prefix="/api")
bp.before_request(authenticate)


def job_json(row: JobRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "payload": row.payload,
        "status": row.status,
        "attempts": row.attempts,
        "max_attempts": row.max_attempts,
        "run_at": iso(row.run_at),
        "last_error": row.last_error,
        "created_at": iso(row.created_at),
        "finished_at": iso(row.finished_at),
    }


def job_input(session: Session, row: JobRow) -> dict[str, Any] | None:
    """The raw input behind a job, when it has one beyond its payload (a delivery's body)."""
    delivery_id = row.payload.get("delivery_id") if row.kind == inbox.TRANSLATE else None
    delivery = session.get(DeliveryRow, delivery_id) if delivery_id else None
    if delivery is None:
        return None
    return {
        "delivery_id": delivery.id,
        "account": delivery.account,
        "topic": delivery.topic,
        "headers": delivery.headers,
        "body": delivery.body.decode("utf-8", errors="replace"),
    }


def matching(query: Any, filters: dict[str, Any]) -> Any:
    """Jobs matching ``kind``, ``status``, ``account`` (payload) and ``error`` (text in the
    last error), the filters of both the list and the bulk retry."""
    status = filters.get("status")
    if status is not None:
        if status not in outbox.STATUSES:
            raise ApiError(
                400,
                "bad_parameter",
                f"status must be one of: {', '.join(outbox.STATUSES)}",
                {"parameter": "status", "value": status},
            )
        query = query.where(JobRow.status == status)
    if filters.get("kind"):
        query = query.where(JobRow.kind == filters["kind"])
    if filters.get("account"):
        query = query.where(JobRow.payload["account"].as_string() == str(filters["account"]))
    if filters.get("error"):
        query = query.where(JobRow.last_error.contains(str(filters["error"]), autoescape=True))
    return query


@bp.get("/jobs")
@requires("viewer")
def list_jobs() -> Response:
    """``?status=&kind=&account=&error=``: newest first, with each job's error."""
    return page(matching(select(JobRow), request.args), JobRow.id, job_json)


@bp.get("/jobs/<int:job_id>")
@requires("viewer")
def get_job(job_id: int) -> Response:
    with current_hub().db.transaction() as session:
        row = session.get(JobRow, job_id)
        if row is None:
            raise ApiError(404, "not_found", f"no job {job_id}")
        return jsonify({**job_json(row), "input": job_input(session, row)})


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
                matching(select(JobRow.id), {**filters, "status": outbox.DEAD}).order_by(JobRow.id)
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
