"""Reading the inbox for people: deliveries as JSON, the filters the API and the console
share, and the translate jobs a delivery went through."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hub.intake import inbox
from hub.storage.models import DeliveryRow, JobRow
from hub.values import iso

STATUSES = [inbox.RECEIVED, inbox.PROCESSED, inbox.IGNORED, inbox.FAILED]


def delivery_json(row: DeliveryRow, with_body: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "account": row.account,
        "connector": row.connector,
        "topic": row.topic,
        "dedupe_key": row.dedupe_key,
        "event_id": row.event_id,
        "status": row.status,
        "error": row.error,
        "order_id": row.order_id,
        "received_at": iso(row.received_at),
        "processed_at": iso(row.processed_at),
        "size": len(row.body),
    }
    if with_body:
        out["headers"] = row.headers
        out["content_type"] = row.content_type
        out["body"] = row.body.decode("utf-8", errors="replace")
    return out


def readable_body(row: DeliveryRow) -> str:
    """A delivery's body for reading: JSON pretty-printed, anything else as text."""
    text = row.body.decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def select_deliveries(
    filters: dict[str, Any], accounts: Iterable[str] | None = None
) -> Select[Any]:
    """Deliveries matching ``status``, ``account`` and ``topic`` (exact, when given);
    ``accounts``: only these accounts' (a reader limited to some clients)."""
    query = select(DeliveryRow)
    for name in ("status", "account", "topic"):
        if filters.get(name):
            query = query.where(getattr(DeliveryRow, name) == filters[name])
    if accounts is not None:
        query = query.where(DeliveryRow.account.in_(list(accounts)))
    return query


def translations(session: Session, delivery_id: int, limit: int = 20) -> list[JobRow]:
    """The translate jobs made for a delivery (the first and each replay), oldest first.
    Finished jobs are pruned after a week, so this reads a bounded table."""
    query = (
        select(JobRow)
        .where(
            JobRow.kind == inbox.TRANSLATE,
            JobRow.payload["delivery_id"].as_integer() == delivery_id,
        )
        .order_by(JobRow.id)
        .limit(limit)
    )
    return list(session.execute(query).scalars())
