"""Stock changes at commit: which channels must hear of a change, and when.

Every change to available stock (``hub.stock.ledger.touched``) is gathered in its transaction;
just before it commits, the changed SKUs are marked dirty on every channel account of their
client that sells them, and a ``dirty`` sync pass is queued for the end of the current gathering
window (``stock_sync_delay``), so changes travel together. A change that sells a SKU out on a
channel (0 to sell here, more shown there) queues a pass at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.connectors import Account, Capability, calls_out, connector_class
from hub.jobs import outbox
from hub.runtime import Hub
from hub.stock import ledger
from hub.storage.db import before_commit
from hub.storage.models import ChannelItemRow
from hub.values import now

SYNC = "stock.sync"
CHUNK = 500  # SKUs per IN (...) list
_ZERO_CHECK_LIMIT = 1000  # above this many SKUs in one change, the gathered pass is soon enough


def _left_out(account: Account) -> str | None:
    """Why a channel account that can take stock is left out of every pass (None: it is not)."""
    if not calls_out(account, Capability.STOCK_PUSH):
        return "api_calls = false in its account settings: the hub never calls it"
    if not account.settings.get("stock_sync", True):
        return "stock_sync = false in its account settings"
    return None


def _takes_stock(account: Account) -> bool:
    return Capability.STOCK_PUSH in connector_class(account.connector).capabilities


def push_accounts(hub: Hub, client: str | None = None) -> list[Account]:
    """Channel accounts whose stock the hub keeps (of one client, or all)."""
    return [
        a
        for a in hub.accounts.values()
        if (client is None or a.client == client) and _takes_stock(a) and _left_out(a) is None
    ]


def not_pushed(hub: Hub) -> dict[str, str]:
    """Channel accounts that could take stock but are left out of every pass, and why."""
    return {
        a.name: why
        for a in hub.accounts.values()
        if _takes_stock(a) and (why := _left_out(a)) is not None
    }


def chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def available(session: Session, account: Account, skus: list[str] | None) -> dict[str, int]:
    """Available-to-sell on ``account`` for ``skus`` (None: every SKU its client holds)."""
    s = account.settings
    options = dict(
        locations=s.get("stock_locations"),
        buffer=s.get("stock_buffer", 0),
        buffers=s.get("stock_buffers"),
        share=s.get("stock_share", 1.0),
    )
    if skus is None:
        return ledger.available_to_sell(session, account.client, None, **options)
    out: dict[str, int] = {}
    for part in chunks(skus, CHUNK):
        out.update(ledger.available_to_sell(session, account.client, part, **options))
    return out


@before_commit(ledger.TOUCHED)
def on_commit(session: Session, changed: dict[str, set[str]]) -> None:
    """Mark changed SKUs on every channel of their client and queue the passes (run just
    before a transaction that changed stock commits)."""
    hub: Hub | None = session.info.get("hub")
    for client, skus in changed.items():
        ordered = sorted(skus)
        marked: set[str] = set()
        for part in chunks(ordered, CHUNK):
            marked.update(
                session.execute(
                    update(ChannelItemRow)
                    .where(
                        ChannelItemRow.client == client,
                        ChannelItemRow.sku.in_(part),
                        ChannelItemRow.dirty.is_(False),
                    )
                    .values(dirty=True)
                    .returning(ChannelItemRow.account)
                )
                .scalars()
                .all()
            )
        if hub is None:
            continue  # no scheduler to tell: the timed passes pick the marks up
        at = now().timestamp()
        delay = hub.settings.stock_sync_delay
        # every change in one window of `delay` seconds joins the pass at the window's end
        gathered = (math.floor(at / delay) + 1) * delay if delay > 0 else at
        for account in push_accounts(hub, client):
            if account.name in marked:
                queue(
                    hub,
                    session,
                    account,
                    "dirty",
                    run_at=datetime.fromtimestamp(gathered, UTC),
                    key=f"gather:{gathered}",
                )
            if len(ordered) <= _ZERO_CHECK_LIMIT and _sells_out(session, account, ordered):
                queue(hub, session, account, "dirty", key=f"zero:{int(at)}")


def _sells_out(session: Session, account: Account, skus: list[str]) -> bool:
    """True when one of ``skus`` is now 0 to sell on the account but the channel shows more."""
    confirmed = dict(
        session.execute(
            select(ChannelItemRow.sku, ChannelItemRow.confirmed).where(
                ChannelItemRow.account == account.name, ChannelItemRow.sku.in_(skus)
            )
        ).all()
    )
    if not confirmed:
        return False
    levels = available(session, account, list(confirmed))
    return any(levels.get(sku, 0) == 0 and shown != 0 for sku, shown in confirmed.items())


def queue(
    hub: Hub, session: Session, account: Account, mode: str, *, key: str, run_at=None
) -> int | None:
    """Queue a pass for an account (once per ``key``)."""
    return outbox.enqueue(
        session,
        SYNC,
        {"account": account.name, "mode": mode},
        max_attempts=hub.settings.job_max_attempts,
        dedupe_key=f"{SYNC}:{account.name}:{mode}:{key}",
        run_at=run_at,
    )
