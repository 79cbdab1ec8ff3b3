"""How far behind each sales channel is on stock: the SKUs waiting for a push and the oldest
stock change a channel has not confirmed yet, read by the console's overview, ``/metrics``
and each stock pass (which records the lag it closed, for the stock sync lag report)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from hub.storage.models import AllocationRow, ChannelItemRow, StockLedgerRow
from hub.values import utc


def waiting(session: Session, names: list[str]) -> dict[str, dict[str, Any]]:
    """Per account: SKUs changed since their last push (``dirty``), SKUs refused at the last
    push, and the oldest change not confirmed yet.

    A waiting SKU's change is its first ledger entry or allocation after the channel last
    confirmed it. A change that leaves no row (an allocation released) is dated by that
    confirmation instead: it happened after it, so the lag shown is never too small."""
    if not names:
        return {}
    item = ChannelItemRow
    confirmed = func.coalesce(item.confirmed_at, item.updated_at)
    ledger_first = (
        select(func.min(StockLedgerRow.at))
        .where(
            StockLedgerRow.client == item.client,
            StockLedgerRow.sku == item.sku,
            StockLedgerRow.at > confirmed,
        )
        .scalar_subquery()
    )
    allocation_first = (
        select(func.min(AllocationRow.created_at))
        .where(
            AllocationRow.client == item.client,
            AllocationRow.sku == item.sku,
            AllocationRow.created_at > confirmed,
        )
        .scalar_subquery()
    )
    items = (
        select(
            item.account.label("account"),
            case((item.dirty.is_(True), 1), else_=0).label("changed"),
            case((item.last_error.is_not(None), 1), else_=0).label("refused"),
            ledger_first.label("ledger_at"),
            allocation_first.label("allocation_at"),
            confirmed.label("confirmed_at"),
        )
        .where(
            item.account.in_(names),
            or_(item.dirty.is_(True), item.last_error.is_not(None)),
        )
        .subquery()
    )
    unexplained = and_(items.c.ledger_at.is_(None), items.c.allocation_at.is_(None))
    rows = session.execute(
        select(
            items.c.account,
            func.sum(items.c.changed),
            func.sum(items.c.refused),
            func.min(items.c.ledger_at),
            func.min(items.c.allocation_at),
            func.min(case((unexplained, items.c.confirmed_at))),
        ).group_by(items.c.account)
    ).all()
    found = {}
    for name, changed, refused, *times in rows:
        dated = [utc(t) for t in times if t is not None]
        found[name] = {
            "changed": int(changed or 0),
            "refused": int(refused or 0),
            "oldest_change": min(dated) if dated else None,
        }
    return found
