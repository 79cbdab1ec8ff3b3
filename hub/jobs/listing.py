"""Reading the outbox for people: jobs as JSON, each failed attempt, the raw input behind a
job, and the filters the API, the console and ``hub jobs`` share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.jobs import outbox
from hub.storage import audit
from hub.storage.models import DeliveryRow, JobAttemptRow, JobRow
from hub.values import iso


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


def attempts(session: Session, job_id: int, limit: int = 100) -> list[dict[str, Any]]:
    """A job's failed attempts, the latest ``limit`` of them, oldest first."""
    rows = session.execute(
        select(JobAttemptRow)
        .where(JobAttemptRow.job_id == job_id)
        .order_by(JobAttemptRow.id.desc())
        .limit(limit)
    ).scalars()
    return [
        {
            "attempt": row.attempt,
            "at": iso(row.at),
            "outcome": row.outcome,
            "worker": row.worker_id,
            "error": row.error,
        }
        for row in reversed(list(rows))
    ]


def job_detail(session: Session, row: JobRow) -> dict[str, Any]:
    """One job as the API and ``hub jobs show`` show it: its fields, its raw input and its
    failed attempts."""
    return {
        **job_json(row),
        "input": job_input(session, row),
        "failures": attempts(session, row.id),
    }


def job_input(session: Session, row: JobRow) -> dict[str, Any] | None:
    """The raw input behind a job, when it has one beyond its payload: the stored delivery a
    job was made from (its payload names it as ``delivery_id``)."""
    delivery_id = row.payload.get("delivery_id")
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
            raise ValueError(f"status must be one of: {', '.join(outbox.STATUSES)}")
        query = query.where(JobRow.status == status)
    if filters.get("kind"):
        query = query.where(JobRow.kind == filters["kind"])
    if filters.get("account"):
        query = query.where(JobRow.payload["account"].as_string() == str(filters["account"]))
    if filters.get("error"):
        query = query.where(JobRow.last_error.contains(str(filters["error"]), autoescape=True))
    return query


def retry_matching(session: Session, filters: dict[str, Any]) -> list[int]:
    """Every dead job matching ``kind``, ``account`` and ``error``, back to run now; their
    ids, lowest first."""
    ids = list(
        session.execute(
            matching(select(JobRow.id), {**filters, "status": outbox.DEAD}).order_by(JobRow.id)
        ).scalars()
    )
    for job_id in ids:
        outbox.retry(session, job_id)
    return ids


def discard(session: Session, job_id: int, reason: str, actor: str) -> bool:
    """Discard a dead job for good, keeping ``reason``, and audit it with the job's payload
    (for the API and the console); False when there is no such dead job."""
    row = session.get(JobRow, job_id)
    payload = row.payload if row is not None else None
    if not outbox.discard(session, job_id, reason):
        return False
    audit.record(
        session, actor, "job.discard", f"job:{job_id}", {"reason": reason, "payload": payload}
    )
    return True
