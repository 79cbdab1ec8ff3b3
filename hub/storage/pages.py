"""Keyset pages of a query, newest first: what every list of the API and the console shows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session


def newest_first(
    session: Session, query: Select[Any], id_column: Any, limit: int, after: int | None = None
) -> tuple[list[Any], int | None]:
    """Up to ``limit`` rows of ``query`` with ids below ``after`` (all when None), highest id
    first, and the id to continue below for the next page (None on the last page). Reading
    one row more than asked tells whether there is a next page without counting."""
    if after is not None:
        query = query.where(id_column < after)
    rows = list(session.execute(query.order_by(id_column.desc()).limit(limit + 1)).scalars())
    more = len(rows) > limit
    return rows[:limit], (rows[limit - 1].id if more else None)
