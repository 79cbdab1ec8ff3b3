"""Stock sync: every sales channel shows what the hub says it may sell, and no more.

For each channel account with ``stock_push``, the hub keeps one row per SKU on that channel
(``channel_items``: where the stock lives there, read from the channel's products, and the
level the channel last confirmed). A pass pushes a SKU only when its available-to-sell
(``hub.stock.ledger.available_to_sell`` with the account's locations, buffers and share) differs
from what the channel confirmed, sell-outs first, in batches of the API's size.

Passes, all ``stock.sync`` jobs that hold no database lock while they talk to the channel:

* ``dirty``: the SKUs whose stock changed since their last push. Every stock change marks its
  SKUs at commit and queues this pass a few seconds later (``stock_sync_delay``) so changes
  travel together; a change that sells a SKU out on a channel queues it at once.
* ``delta``: every SKU of the account against its last confirmed level (on a timer, and
  ``hub stock sync``), which also catches changes of buffers or shares in the accounts file.
* ``full``: reads the channel's items and levels back first (``hub stock sync --full``, and on
  a timer): new SKUs are mapped, drift (the channel showing something else than the hub last
  confirmed) is reported and fixed.

Compare-and-set, where the API has it (Shopify): each update says what the hub last confirmed.
If the channel moved meanwhile (a sale there the hub has not heard of yet), the hub lowers it
when it must but never raises it above what the channel shows, so a sale in flight is not
sold twice; the reconciliation settles what is left.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from hub.connectors import Account, ChannelItem, StockUpdate
from hub.jobs.worker import job_handler
from hub.runtime import Hub
from hub.stock import lag
from hub.stock.changes import (
    CHUNK,
    SYNC,
    available,
    chunks,
    push_accounts,
    queue,
)
from hub.storage import account_state
from hub.storage.db import upsert_insert
from hub.storage.models import AccountStateRow, ChannelItemRow, StockSyncPassRow
from hub.values import iso, now

log = logging.getLogger("hub.stock_sync")

SYNC_ALL = "stock.sync_all"
MODES = ("dirty", "delta", "full")
LOCK = "stock_sync_lock"
_LEASE = 300.0  # seconds a pass holds its account without renewing

#: ``progress(sent_now, total)``: called once the pass is planned, then after every call
Progress = Callable[[int, int], None]


# -- a pass ----------------------------------------------------------------------------------


@dataclass
class Report:
    """What one pass did (kept as the account's last sync, shown by ``/api/stock/sync``)."""

    account: str
    mode: str
    started_at: str = ""
    finished_at: str | None = None
    seconds: float = 0.0
    checked: int = 0
    pushed: int = 0
    confirmed: int = 0
    calls: int = 0
    stale: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    drift: list[dict[str, Any]] = field(default_factory=list)
    new_items: int = 0
    failed: str | None = None
    skipped: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["errors"] = data["errors"][:100]
        data["drift"] = data["drift"][:100]
        data["drift_count"] = len(self.drift)
        data["error_count"] = len(self.errors)
        return data


def _store_items(
    session: Session, account: Account, items: list[ChannelItem], report: Report
) -> None:
    """Make the item map what the channel holds: new SKUs added, ids refreshed, SKUs gone from
    the channel dropped, and each level the channel shows taken as confirmed. A level that
    differs from what the hub last confirmed is drift, reported."""
    at = now()
    before = dict(
        session.execute(
            select(ChannelItemRow.sku, ChannelItemRow.confirmed).where(
                ChannelItemRow.account == account.name
            )
        ).all()
    )
    insert = upsert_insert(session.get_bind().dialect.name)
    seen: set[str] = set()
    for part in chunks(items, CHUNK):
        rows = []
        for i in part:
            if i.sku in seen:
                continue  # the connector warned; the first one wins
            seen.add(i.sku)
            if i.sku not in before:
                report.new_items += 1
            elif before[i.sku] is not None and i.quantity != before[i.sku]:
                report.drift.append({"sku": i.sku, "channel": i.quantity, "hub": before[i.sku]})
            rows.append(
                dict(
                    account=account.name,
                    sku=i.sku,
                    client=account.client,
                    item_id=i.item_id,
                    location_id=i.location_id,
                    parent_id=i.parent_id,
                    confirmed=i.quantity,
                    confirmed_at=at,
                    dirty=False,
                    last_error=None,
                    updated_at=at,
                )
            )
        if not rows:
            continue
        stmt = insert(ChannelItemRow).values(rows)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["account", "sku"],
                set_={
                    name: getattr(stmt.excluded, name)
                    for name in (
                        "item_id",
                        "location_id",
                        "parent_id",
                        "confirmed",
                        "confirmed_at",
                        "updated_at",
                    )
                },
            )
        )
    gone = sorted(set(before) - seen)
    for part in chunks(gone, CHUNK):
        session.execute(
            delete(ChannelItemRow).where(
                ChannelItemRow.account == account.name, ChannelItemRow.sku.in_(part)
            )
        )


def _plan(session: Session, account: Account, mode: str) -> tuple[list[StockUpdate], int]:
    """The updates a pass must send, sell-outs first, and how many SKUs it compared."""
    query = select(
        ChannelItemRow.sku,
        ChannelItemRow.item_id,
        ChannelItemRow.location_id,
        ChannelItemRow.parent_id,
        ChannelItemRow.confirmed,
    ).where(ChannelItemRow.account == account.name)
    if mode == "dirty":
        query = query.where(ChannelItemRow.dirty.is_(True))
    rows = session.execute(query).all()
    if mode == "dirty" and rows:
        for part in chunks([r.sku for r in rows], CHUNK):
            session.execute(
                update(ChannelItemRow)
                .where(ChannelItemRow.account == account.name, ChannelItemRow.sku.in_(part))
                .values(dirty=False)
            )
    levels = available(session, account, None if mode != "dirty" else [r.sku for r in rows])
    updates = [
        StockUpdate(
            ChannelItem(row.sku, row.item_id, row.location_id, row.parent_id),
            levels.get(row.sku, 0),
            row.confirmed,
        )
        for row in rows
        if levels.get(row.sku, 0) != row.confirmed
    ]
    updates.sort(key=lambda u: (u.quantity != 0, u.item.sku))  # sold out goes first
    return updates, len(rows)


def _record(
    session: Session,
    account: Account,
    batch: list[StockUpdate],
    outcomes,
    report: Report,
    followed: set[str],
) -> list[StockUpdate]:
    """Store the channel's answers; returns the updates to send again in this pass (each SKU
    at most once, in ``followed``): compare-and-set conflicts where the hub must lower a
    level the channel shows, and updates the channel set aside over another one's refusal."""
    at = now()
    wanted = {u.item.sku: u for u in batch}
    follow: list[StockUpdate] = []
    for outcome in outcomes:
        values: dict[str, Any]
        if outcome.again and outcome.sku in wanted and outcome.sku not in followed:
            followed.add(outcome.sku)
            follow.append(wanted[outcome.sku])
            continue
        if outcome.ok:
            report.confirmed += 1
            values = {"confirmed": outcome.quantity, "confirmed_at": at, "last_error": None}
        elif outcome.stale and outcome.quantity is not None:
            report.stale += 1
            values = {"confirmed": outcome.quantity, "confirmed_at": at, "last_error": None}
            update_ = wanted.get(outcome.sku)
            if (
                update_ is not None
                and update_.quantity < outcome.quantity
                and outcome.sku not in followed
            ):
                followed.add(outcome.sku)
                follow.append(StockUpdate(update_.item, update_.quantity, outcome.quantity))
        else:
            report.errors.append({"sku": outcome.sku, "error": outcome.error or "refused"})
            values = {"last_error": outcome.error or "refused"}
        session.execute(
            update(ChannelItemRow)
            .where(ChannelItemRow.account == account.name, ChannelItemRow.sku == outcome.sku)
            .values(**values)
        )
    return follow


def _remark(hub: Hub, account: Account, updates: list[StockUpdate]) -> None:
    """Unsent updates stay due: mark them for the next pass."""
    with hub.db.transaction() as session:
        for part in chunks([u.item.sku for u in updates], CHUNK):
            session.execute(
                update(ChannelItemRow)
                .where(ChannelItemRow.account == account.name, ChannelItemRow.sku.in_(part))
                .values(dirty=True)
            )


def _claim(hub: Hub, account: Account, holder: str | None, release: bool = False) -> bool:
    """Take (or renew, or with ``release`` give up) the account's one-pass-at-a-time lease.

    Only one pass per account talks to its channel at a time: WooCommerce keeps the last
    write, so two passes racing could leave an older level standing."""
    at = now().timestamp()
    with hub.db.transaction() as session:
        account_state.save(session, account.name, LOCK, {}, replace=False)
        row = session.execute(
            select(AccountStateRow)
            .where(AccountStateRow.account == account.name, AccountStateRow.key == LOCK)
            .with_for_update()
        ).scalar_one()
        held = row.data or {}
        if held.get("holder") not in (None, holder) and held.get("until", 0) > at:
            return False
        row.data = {} if release else {"holder": holder, "until": at + _LEASE}
        return True


def sync_account(
    hub: Hub, account: Account, mode: str = "delta", progress: Progress | None = None
) -> Report:
    """One pass for one channel account (see the module's docstring for the modes).

    A pass with no item map yet reads the channel first. If another pass for the account is
    running, this one does nothing (``report.skipped``): that pass queues another when it ends
    and changes are waiting. Raises ``RetryableError`` or ``AuthError`` when the channel
    refused a whole call, after marking what was not sent, so the next pass sends it.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    holder = uuid.uuid4().hex
    report = Report(account.name, mode, started_at=iso(now()))
    if not _claim(hub, account, holder):
        report.skipped = "another pass for this account is running"
        return report
    with hub.db.transaction() as session:
        oldest = lag.waiting(session, [account.name]).get(account.name, {}).get("oldest_change")
    try:
        _pass(hub, account, mode, holder, report, progress)
    finally:
        _claim(hub, account, holder, release=True)
        with hub.db.transaction() as session:
            account_state.save(session, account.name, "stock_sync", report.to_json())
            if report.confirmed:
                session.add(
                    StockSyncPassRow(
                        account=account.name,
                        client=account.client,
                        at=now(),
                        mode=mode,
                        pushed=report.pushed,
                        confirmed=report.confirmed,
                        refused=len(report.errors),
                        oldest_change_at=oldest,
                    )
                )
            waiting = session.execute(
                select(ChannelItemRow.sku)
                .where(ChannelItemRow.account == account.name, ChannelItemRow.dirty.is_(True))
                .limit(1)
            ).first()
            if waiting and report.failed is None:  # changed while this pass ran
                queue(hub, session, account, "dirty", key=f"after:{holder}")
        if report.drift:
            log.warning("%s: %d SKU(s) drifted on the channel", account.name, len(report.drift))
        log.info(
            "stock pass",
            extra={
                "account": account.name,
                "mode": mode,
                "checked": report.checked,
                "pushed": report.pushed,
                "skipped": max(0, report.checked - report.pushed),
                "calls": report.calls,
                "errors": len(report.errors),
                "failed": report.failed,
            },
        )
    return report


def _pass(
    hub: Hub,
    account: Account,
    mode: str,
    holder: str,
    report: Report,
    progress: Progress | None,
) -> None:
    connector = hub.connector(account)
    started = time.perf_counter()
    updates: list[StockUpdate] = []
    pending: list[StockUpdate] = []
    followed: set[str] = set()
    try:
        with hub.db.transaction() as session:
            mapped = session.execute(
                select(ChannelItemRow.sku).where(ChannelItemRow.account == account.name).limit(1)
            ).first()
        if mode == "full" or not mapped:
            items = list(connector.stock_items())
            with hub.db.transaction() as session:
                _store_items(session, account, items, report)
        with hub.db.transaction() as session:
            updates, report.checked = _plan(session, account, mode)
        pending = list(updates)
        if progress:
            progress(0, len(updates))
        while pending:
            size = connector.stock_batch_size
            batch = pending[:size]
            report.calls += 1
            outcomes = connector.push_stock(batch, uuid.uuid4().hex)
            pending = pending[size:]
            report.pushed += len(batch)
            with hub.db.transaction() as session:
                pending = _record(session, account, batch, outcomes, report, followed) + pending
            _claim(hub, account, holder)  # a long pass keeps its lease
            if progress:
                progress(len(batch), len(updates))
    except Exception as exc:
        report.failed = f"{type(exc).__name__}: {exc}"
        _remark(hub, account, pending)
        raise
    finally:
        report.seconds = round(time.perf_counter() - started, 3)
        report.finished_at = iso(now())


def last_sync(session: Session, account: str) -> dict[str, Any] | None:
    return account_state.load(session, account, "stock_sync") or None


@job_handler(SYNC, own_transactions=True)
def run_sync(hub: Hub, payload: dict[str, Any]) -> None:
    account = hub.accounts.get(payload["account"])
    if account is None:
        log.warning("stock sync for %s: the account is no longer configured", payload["account"])
        return
    sync_account(hub, account, payload.get("mode", "delta"))  # it logs the pass


@job_handler(SYNC_ALL)
def sync_all(hub: Hub, session: Session, payload: dict[str, Any]) -> None:
    """The timed passes: one job per channel account."""
    mode = payload.get("mode", "delta")
    slot = payload.get("slot") or int(now().timestamp())
    for account in push_accounts(hub):
        queue(hub, session, account, mode, key=f"timer:{slot}")
