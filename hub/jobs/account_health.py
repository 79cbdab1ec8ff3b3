"""Accounts whose credentials an outside system refused.

A job that gets ``AuthError`` (401/403, a refused token) flags its account: that job and every
later job of the account wait (the attempt is not counted, nothing is lost) instead of burning
retries against credentials that cannot work. The flag clears itself when the account's keys
change (fix the secrets, restart), or by hand (``POST /api/accounts/<name>/resume``); the
waiting jobs then run.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from hub.connectors import Account
from hub.storage import account_state
from hub.storage.models import AccountStateRow, JobRow
from hub.values import iso, now

KEY = "auth_refused"
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
