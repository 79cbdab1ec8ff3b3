"""What the hub keeps between runs for one account, by key: a warehouse feed's cursor, the
last stock sync's report. One JSON document per (account, key), replaced whole."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hub.storage.db import upsert_insert
from hub.storage.models import AccountStateRow
from hub.values import now


def load(session: Session, account: str, key: str) -> dict[str, Any]:
    row = session.get(AccountStateRow, (account, key))
    return dict(row.data) if row is not None else {}


def save(
    session: Session, account: str, key: str, data: dict[str, Any], *, replace: bool = True
) -> None:
    """Store ``data`` under the key (with ``replace=False``, only if nothing is stored)."""
    stmt = upsert_insert(session.get_bind().dialect.name)(AccountStateRow).values(
        account=account, key=key, data=data, updated_at=now()
    )
    if not replace:
        session.execute(stmt.on_conflict_do_nothing(index_elements=["account", "key"]))
        return
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["account", "key"],
            set_={"data": stmt.excluded.data, "updated_at": stmt.excluded.updated_at},
        )
    )
