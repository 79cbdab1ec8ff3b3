"""The built-in stock ledger: on hand per client, SKU and location, every change an entry with
its reason, and allocations that reserve stock for unshipped orders.

Available = on hand (all locations) - allocated to unshipped orders. Allocation takes the stock
rows' locks (``FOR UPDATE`` on PostgreSQL; SQLite serialises writers), so two orders after
the last unit cannot both get it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from hub.storage.db import Database, gathered, upsert_insert
from hub.storage.fields import MAX_INT, clean_text, column_length
from hub.storage.models import AllocationRow, OrderRow, StockLedgerRow, StockLevelRow
from hub.values import iso, now

DEFAULT_LOCATION = "default"
REASONS = ("import", "count", "adjustment", "receipt", "shipment", "return", "damage")
#: locations whose stock is held but not for sale: returns set aside as damaged or to be
#: looked at; never offered to a channel, allocated or shipped
NON_SELLABLE = ("damaged", "quarantine")


class StockError(ValueError):
    """A stock change that cannot be made (it would leave on hand below zero, a bad reason)."""


@dataclass(frozen=True)
class ImportRow:
    line: int
    sku: str
    on_hand: int
    location: str


def parse_levels_csv(
    text: str, *, default_location: str = DEFAULT_LOCATION
) -> tuple[list[ImportRow], list[str]]:
    """Rows of a ``sku,on_hand[,location]`` CSV, and every error by line number.

    The caller applies nothing when there is any error, so a half-imported count never
    happens.
    """
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    errors: list[str] = []
    if "sku" not in header or "on_hand" not in header:
        return [], [f"line 1: the header must name sku and on_hand (got {','.join(header)!r})"]
    unknown = [h for h in header if h not in ("sku", "on_hand", "location")]
    if unknown:
        errors.append(f"line 1: unknown column(s) {', '.join(unknown)}")
    at = {name: header.index(name) for name in ("sku", "on_hand", "location") if name in header}
    rows: list[ImportRow] = []
    seen: dict[tuple[str, str], int] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            errors.append(f"line {line}: {len(cells)} fields, the header has {len(header)}")
            continue
        sku = cells[at["sku"]].strip()
        raw = cells[at["on_hand"]].strip()
        location = (cells[at["location"]].strip() if "location" in at else "") or default_location
        if not sku:
            errors.append(f"line {line}: sku is empty")
            continue
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > MAX_INT:
            errors.append(
                f"line {line}: on_hand must be a whole number from 0 to {MAX_INT}, got {raw[:20]!r}"
            )
            continue
        problem = _unstorable(sku, "sku", StockLevelRow.sku) or _unstorable(
            location, "location", StockLevelRow.location
        )
        if problem:
            errors.append(f"line {line}: {problem}")
            continue
        key = (sku, location)
        if key in seen:
            errors.append(f"line {line}: {sku!r} at {location!r} again (first on line {seen[key]})")
            continue
        seen[key] = line
        rows.append(ImportRow(line, sku, int(raw), location))
    return rows, errors


def _unstorable(value: str, name: str, column: Any) -> str | None:
    problem = clean_text(value)
    if problem:
        return f"{name} {problem}"
    limit = column_length(column)
    if limit is not None and len(value) > limit:
        return f"{name} is {len(value)} characters, at most {limit}"
    return None


def touched(session: Session, client: str, skus: Iterable[str]) -> None:
    """Note that the available stock of ``skus`` changed in this transaction: as it commits,
    the sales channels selling them are told (``hub.stock.changes.on_commit``)."""
    gathered(session, TOUCHED).setdefault(client, set()).update(skus)


TOUCHED = "stock_touched"


def _level(session: Session, client: str, sku: str, location: str) -> StockLevelRow:
    """The level row, created at zero if new, locked for this transaction."""
    session.execute(
        upsert_insert(session.get_bind().dialect.name)(StockLevelRow)
        .values(client=client, sku=sku, location=location, on_hand=0, updated_at=now())
        .on_conflict_do_nothing(index_elements=["client", "sku", "location"])
    )
    return session.execute(
        select(StockLevelRow)
        .where(
            StockLevelRow.client == client,
            StockLevelRow.sku == sku,
            StockLevelRow.location == location,
        )
        .with_for_update()
    ).scalar_one()


def adjust(
    session: Session,
    client: str,
    sku: str,
    location: str,
    delta: int,
    *,
    reason: str,
    actor: str,
    ref: str | None = None,
) -> int:
    """Change on hand by ``delta`` with a ledger entry; returns the new on hand."""
    if reason not in REASONS:
        raise StockError(f"reason must be one of {', '.join(REASONS)}, not {reason!r}")
    level = _level(session, client, sku, location)
    if level.on_hand + delta < 0:
        raise StockError(
            f"{sku!r} at {location!r} has {level.on_hand} on hand; cannot take {-delta}"
        )
    if delta:
        touched(session, client, [sku])
        level.on_hand += delta
        level.updated_at = now()
        session.add(
            StockLedgerRow(
                at=level.updated_at,
                client=client,
                sku=sku,
                location=location,
                delta=delta,
                on_hand=level.on_hand,
                reason=reason,
                ref=ref,
                actor=actor,
            )
        )
    return level.on_hand


def set_on_hand(
    session: Session,
    client: str,
    sku: str,
    location: str,
    on_hand: int,
    *,
    reason: str,
    actor: str,
    ref: str | None = None,
) -> int:
    """Set on hand (a count or an import) as the change from what is stored; returns it."""
    if on_hand < 0:
        raise StockError(f"on hand cannot be negative ({on_hand})")
    current = _level(session, client, sku, location).on_hand
    return (
        adjust(
            session, client, sku, location, on_hand - current, reason=reason, actor=actor, ref=ref
        )
        - current
    )


#: rows per transaction of an import: small enough that a webhook waiting for the write lock
#: waits a few milliseconds, large enough that each transaction's overhead is spread thin
IMPORT_BATCH = 500


def import_levels(
    session: Session,
    client: str,
    rows: Iterable[ImportRow],
    *,
    actor: str,
    ref: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Set on hand from parsed rows, in the caller's transaction; returns how many changed.

    Set-based: the batch's missing levels are created in one statement, every level is read
    (and locked) in one, and the changed ones are updated and written to the ledger in one
    each, so the cost is a few statements per batch, not per row. Callers pass at most
    :data:`IMPORT_BATCH` rows at a time and commit in between (see ``hub stock import``)."""
    rows = list(rows)
    if not rows:
        return 0
    stamp = now()
    levels = StockLevelRow.__table__
    session.execute(
        upsert_insert(session.get_bind().dialect.name)(levels).on_conflict_do_nothing(
            index_elements=["client", "sku", "location"]
        ),
        [
            {
                "client": client,
                "sku": r.sku,
                "location": r.location,
                "on_hand": 0,
                "updated_at": stamp,
            }
            for r in rows
        ],
    )
    current = {
        (sku, location): on_hand
        for sku, location, on_hand in session.execute(
            select(levels.c.sku, levels.c.location, levels.c.on_hand)
            .where(levels.c.client == client, levels.c.sku.in_(sorted({r.sku for r in rows})))
            .with_for_update()
        )
    }
    changes = [(r, current[(r.sku, r.location)]) for r in rows]
    changes = [(r, was) for r, was in changes if r.on_hand != was]
    if changes:
        session.execute(
            update(levels)
            .where(
                levels.c.client == client,
                levels.c.sku == bindparam("k_sku"),
                levels.c.location == bindparam("k_location"),
            )
            .values(on_hand=bindparam("k_on_hand"), updated_at=stamp),
            [
                {"k_sku": r.sku, "k_location": r.location, "k_on_hand": r.on_hand}
                for r, _ in changes
            ],
        )
        session.execute(
            insert(StockLedgerRow),
            [
                {
                    "at": stamp,
                    "client": client,
                    "sku": r.sku,
                    "location": r.location,
                    "delta": r.on_hand - was,
                    "on_hand": r.on_hand,
                    "reason": "import",
                    "ref": f"{ref}:{r.line}",
                    "actor": actor,
                }
                for r, was in changes
            ],
        )
        touched(session, client, {r.sku for r, _ in changes})
    if progress:
        progress(len(rows))
    return len(changes)


def import_in_batches(
    db: Database,
    client: str,
    rows: list[ImportRow],
    *,
    actor: str,
    ref: str,
    progress: Callable[[int], None] | None = None,
    each: Callable[[Session, list[ImportRow]], None] | None = None,
) -> int:
    """Import ``rows`` in transactions of :data:`IMPORT_BATCH` rows, with a pause between
    them in which waiting writers (webhooks) take the database; ``each(session, batch)``
    runs in every batch's transaction. Returns how many levels changed."""
    changed = 0
    for start in range(0, len(rows), IMPORT_BATCH):
        if start:
            db.let_writers_in()
        batch = rows[start : start + IMPORT_BATCH]
        with db.transaction() as session:
            changed += import_levels(
                session, client, batch, actor=actor, ref=ref, progress=progress
            )
            if each is not None:
                each(session, batch)
    return changed


def _allocated(session: Session, client: str, skus: list[str] | None) -> dict[str, int]:
    query = (
        select(AllocationRow.sku, func.sum(AllocationRow.quantity))
        .where(AllocationRow.client == client)
        .group_by(AllocationRow.sku)
    )
    if skus is not None:
        query = query.where(AllocationRow.sku.in_(skus))
    return dict(session.execute(query).all())


def _on_hand(session: Session, client: str, skus: list[str], lock: bool = False) -> dict[str, int]:
    query = (
        select(StockLevelRow.sku, StockLevelRow.on_hand)
        .where(
            StockLevelRow.client == client,
            StockLevelRow.sku.in_(skus),
            StockLevelRow.location.not_in(NON_SELLABLE),
        )
        .order_by(StockLevelRow.sku, StockLevelRow.location)
    )
    totals: dict[str, int] = {}
    for sku, on_hand in session.execute(query.with_for_update() if lock else query):
        totals[sku] = totals.get(sku, 0) + on_hand
    return totals


def levels(session: Session, client: str, skus: list[str]) -> list[dict[str, Any]]:
    """On hand, allocated and available for each SKU."""
    held, allocated = _on_hand(session, client, skus), _allocated(session, client, skus)
    return [
        {
            "client": client,
            "sku": sku,
            "on_hand": held.get(sku, 0),
            "allocated": allocated.get(sku, 0),
            "available": max(0, held.get(sku, 0) - allocated.get(sku, 0)),
        }
        for sku in skus
    ]


def allocate(session: Session, order: OrderRow) -> list[str]:
    """Reserve stock for every line of ``order`` that needs shipping, all or nothing.

    Returns the shortfalls (``"MUG-1: 3 wanted, 1 available"``); empty when allocated. An
    order allocated already is not allocated twice.
    """
    if session.execute(
        select(AllocationRow.id).where(AllocationRow.order_id == order.id).limit(1)
    ).first():
        return []
    wanted: dict[str, int] = {}
    lines = [
        (i, ln)
        for i, ln in enumerate(order.data.get("lines") or [])
        if ln.get("requires_shipping") and ln.get("sku") and ln.get("quantity", 0) > 0
    ]
    for _, line in lines:
        wanted[line["sku"]] = wanted.get(line["sku"], 0) + int(line["quantity"])
    skus = sorted(wanted)
    held = _on_hand(session, order.client, skus, lock=True)  # the locks serialise allocators
    allocated = _allocated(session, order.client, skus)
    short = [
        f"{sku}: {n} wanted, {max(0, held.get(sku, 0) - allocated.get(sku, 0))} available"
        for sku, n in wanted.items()
        if held.get(sku, 0) - allocated.get(sku, 0) < n
    ]
    if short:
        return short
    touched(session, order.client, skus)
    session.add_all(
        AllocationRow(
            order_id=order.id,
            position=i,
            client=order.client,
            sku=line["sku"],
            quantity=int(line["quantity"]),
            created_at=now(),
        )
        for i, line in lines
    )
    session.flush()
    return []


def deallocate(session: Session, order_id: int) -> int:
    """Give back what an order had reserved (cancelled, or shipped and moved out)."""
    rows = session.execute(select(AllocationRow).where(AllocationRow.order_id == order_id))
    count = 0
    for row in rows.scalars():
        touched(session, row.client, [row.sku])
        session.delete(row)
        count += 1
    return count


def ledger_to_json(row: StockLedgerRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": iso(row.at),
        "client": row.client,
        "sku": row.sku,
        "location": row.location,
        "delta": row.delta,
        "on_hand": row.on_hand,
        "reason": row.reason,
        "ref": row.ref,
        "actor": row.actor,
    }


def _add_to(entries: list[dict[str, Any]], quantity: int, **key: Any) -> None:
    """Add ``quantity`` to the entry with these ``key`` values, or append a new one: an order
    with the same SKU on two lines is one entry for the picker, not two."""
    for entry in entries:
        if all(entry[name] == value for name, value in key.items()):
            entry["quantity"] += quantity
            return
    entries.append({**key, "quantity": quantity})


def pick_list(session: Session, client: str, *, limit: int = 50) -> dict[str, Any]:
    """A batch of released orders (oldest first) and what to pick for them, by location and
    then SKU, so a picker walks the aisles once. Each line says which orders it is for."""
    allocations = session.execute(
        select(AllocationRow, OrderRow.number)
        .join(OrderRow, OrderRow.id == AllocationRow.order_id)
        .where(AllocationRow.client == client, OrderRow.status == "released")
        .order_by(AllocationRow.order_id, AllocationRow.position)
    ).all()
    batch: list[int] = []
    for alloc, _ in allocations:
        if alloc.order_id not in batch:
            batch.append(alloc.order_id)
    batch = batch[:limit]
    skus = sorted({a.sku for a, _ in allocations if a.order_id in batch})
    shelves: dict[str, list[list[Any]]] = {}
    for sku, location, on_hand in session.execute(
        select(StockLevelRow.sku, StockLevelRow.location, StockLevelRow.on_hand)
        .where(
            StockLevelRow.client == client, StockLevelRow.sku.in_(skus), StockLevelRow.on_hand > 0
        )
        .order_by(StockLevelRow.location)
    ):
        shelves.setdefault(sku, []).append([location, on_hand])
    picks: dict[tuple[str, str], dict[str, Any]] = {}
    unlocated: list[dict[str, Any]] = []
    for alloc, number in allocations:
        if alloc.order_id not in batch:
            continue
        wanted = alloc.quantity
        for shelf in shelves.get(alloc.sku, []):
            take = min(wanted, shelf[1])
            if take:
                shelf[1] -= take
                wanted -= take
                line = picks.setdefault(
                    (shelf[0], alloc.sku),
                    {"location": shelf[0], "sku": alloc.sku, "quantity": 0, "orders": []},
                )
                line["quantity"] += take
                _add_to(line["orders"], take, order_id=alloc.order_id, number=number)
            if not wanted:
                break
        if wanted:  # allocated but not on any shelf: the ledger needs a count
            _add_to(unlocated, wanted, order_id=alloc.order_id, sku=alloc.sku)
    return {
        "client": client,
        "orders": batch,
        "lines": [picks[key] for key in sorted(picks)],
        "unlocated": unlocated,
    }


def available_to_sell(
    session: Session,
    client: str,
    skus: list[str] | None,
    *,
    locations: list[str] | None = None,
    buffer: int = 0,
    buffers: dict[str, int] | None = None,
    share: float = 1.0,
) -> dict[str, int]:
    """What one sales channel may sell of each SKU: the ``share`` of (on hand at
    ``locations``, never the :data:`NON_SELLABLE` ones, - allocated to unshipped orders),
    rounded down, less the SKU's safety buffer (``buffers`` over ``buffer``), never below
    zero. ``skus`` None: every SKU the client holds or has allocated."""
    query = (
        select(StockLevelRow.sku, func.sum(StockLevelRow.on_hand))
        .where(StockLevelRow.client == client, StockLevelRow.location.not_in(NON_SELLABLE))
        .group_by(StockLevelRow.sku)
    )
    if skus is not None:
        query = query.where(StockLevelRow.sku.in_(skus))
    if locations is not None:
        query = query.where(StockLevelRow.location.in_(locations))
    held = dict(session.execute(query).all())
    allocated = _allocated(session, client, skus)
    buffers = buffers or {}
    out = {}
    for sku in skus if skus is not None else held.keys() | allocated.keys():
        free = max(0, int(held.get(sku, 0)) - int(allocated.get(sku, 0)))
        out[sku] = max(0, int(free * share) - buffers.get(sku, buffer))
    return out
