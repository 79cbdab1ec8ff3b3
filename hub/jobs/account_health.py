"""Accounts whose credentials an outside system refused.

A job that gets ``AuthError`` (401/403, a refused token) flags its account: that job and every
later job of the account wait (the attempt is not counted, nothing is lost) instead of burning
retries against credentials that cannot work. The flag clears itself when the account's keys
change (fix the secrets, restart), or by hand (``POST /api/accounts/<name>/resume``); the
waiting jobs then run.

:func:`report` is what ``/api/accounts`` and the console's accounts page show: each account,
its flag, and what its waiting jobs were last told by the account's circuit breaker (paused
after failures in a row) or rate limiter (``hub.connectors.breaker`` and ``ratelimit``). The
breakers and limiters live in each worker process; the jobs they held back say so in the
database, which every process reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from hub.connectors import Account, connector_class
from hub.storage import account_state
from hub.storage.models import AccountStateRow, JobRow
from hub.values import iso, now

KEY = "auth_refused"
#: the account's webhooks as the channel last listed them (``hub.intake.reconcile``)
WEBHOOKS = "webhooks"
#: seconds a job of a flagged account waits before looking again
WAIT = 600.0


def fingerprint(account: Account) -> str:
    """Changes whenever any of the account's keys (its secrets included) changes."""
    text = json.dumps(dict(account.settings), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def flag(session: Session, account: Account, reason: str) -> None:
    account_state.save(
        session,
        account.name,
        KEY,
        {"reason": reason, "at": iso(now()), "fingerprint": fingerprint(account)},
    )


def flagged(session: Session, account: Account) -> dict[str, Any] | None:
    """The account's flag, or None (a flag set under other keys no longer holds)."""
    found = account_state.load(session, account.name, KEY)
    if not found:
        return None
    if found.get("fingerprint") != fingerprint(account):
        resume(session, account.name)
        return None
    return {"reason": found.get("reason"), "at": found.get("at")}


def resume(session: Session, name: str) -> int:
    """Clear the flag and make the jobs that waited for it due now; returns how many."""
    session.execute(
        delete(AccountStateRow).where(AccountStateRow.account == name, AccountStateRow.key == KEY)
    )
    waiting = session.execute(
        update(JobRow)
        .where(
            JobRow.status == "queued",
            JobRow.run_at > now(),
            JobRow.last_error.like(f"waiting: account {name.replace('_', '|_')} %", escape="|"),
        )
        .values(run_at=now())
    )
    return waiting.rowcount or 0


#: the words a job's last error has when a circuit breaker or a rate limit held it back
CIRCUIT_OPEN = "circuit open"
THROTTLED = ("rate limit", "server asks to wait")


def _held_back(session: Session) -> dict[str, dict[str, Any]]:
    """Per account: its queued jobs waiting on an open circuit or a rate limit, and until when."""
    account = JobRow.payload["account"].as_string()
    error = JobRow.last_error

    def counted(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    rows = session.execute(
        select(
            account,
            counted(error.contains(CIRCUIT_OPEN)),
            counted(error.contains(THROTTLED[0]) | error.contains(THROTTLED[1])),
            func.max(JobRow.run_at),
        )
        .where(JobRow.status == "queued", JobRow.run_at > now(), error.is_not(None))
        .group_by(account)
    ).all()
    return {
        name: {"circuit_open": int(tripped or 0), "throttled": int(slowed or 0), "until": until}
        for name, tripped, slowed, until in rows
        if name is not None
    }


def report(session: Session, accounts: Mapping[str, Account]) -> list[dict[str, Any]]:
    """Every account by name: connector, kind, client, ``status`` (``credentials_refused``
    when flagged, ``paused`` when its jobs wait on an open circuit, ``throttled`` when on a
    rate limit, ``webhooks_inactive`` when the channel has turned off or lacks a hook of the
    hub's, else ``ok``), the flag (``refused``), ``webhooks`` (as last listed, or None),
    ``circuit`` (``open`` or ``closed``), ``rate_limit`` (``throttled`` or ``ok``), how many
    jobs wait and until when (ISO)."""
    held = _held_back(session)
    items = []
    for name, account in sorted(accounts.items()):
        refused = flagged(session, account)
        waits = held.get(name, {"circuit_open": 0, "throttled": 0, "until": None})
        circuit = "open" if waits["circuit_open"] else "closed"
        rate = "throttled" if waits["throttled"] else "ok"
        hooks = account_state.load(session, name, WEBHOOKS) or None
        if refused:
            status = "credentials_refused"
        elif hooks is not None and not hooks.get("ok", True):
            status = "webhooks_inactive"
        elif circuit == "open":
            status = "paused"
        else:
            status = "throttled" if rate == "throttled" else "ok"
        items.append(
            {
                "account": name,
                "connector": account.connector,
                "kind": connector_class(account.connector).kind,
                "client": account.client,
                "status": status,
                "refused": refused,
                "circuit": circuit,
                "rate_limit": rate,
                "jobs_held": waits["circuit_open"] + waits["throttled"],
                "held_until": iso(waits["until"]) if waits["until"] else None,
                "webhooks": hooks,
            }
        )
    return items
