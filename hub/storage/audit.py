"""The audit log: who changed what, for every write an admin makes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hub.storage.models import AuditRow
from hub.values import iso, now


def record(
    session: Session, actor: str, action: str, target: str, details: dict[str, Any] | None = None
) -> None:
    """Add an entry in the caller's transaction, so it commits with the change it describes."""
    session.add(AuditRow(at=now(), actor=actor, action=action, target=target, details=details))


def to_json(row: AuditRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": iso(row.at),
        "actor": row.actor,
        "action": row.action,
        "target": row.target,
        "details": row.details,
    }
