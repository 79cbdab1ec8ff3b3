"""Admin API tokens: shown once, stored as SHA-256 hashes, each with a role."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.storage.models import TokenRow
from hub.values import now

ROLES = ("viewer", "editor")
#: what each role may do; an editor can do everything a viewer can
_RANK = {"viewer": 1, "editor": 2}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Session, name: str, role: str) -> str:
    """Make a token and return it; only its hash is kept."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if session.execute(select(TokenRow.id).where(TokenRow.name == name)).first():
        raise ValueError(f"a token named {name!r} exists already")
    token = "hub_" + secrets.token_urlsafe(32)
    session.add(TokenRow(name=name, role=role, token_hash=_hash(token), created_at=now()))
    return token


def everyone(session: Session) -> list[TokenRow]:
    """Every token, live and revoked, by name (never the token itself: only its hash is kept)."""
    return list(session.execute(select(TokenRow).order_by(TokenRow.name)).scalars())


def lookup(session: Session, token: str) -> TokenRow | None:
    """The live token row for a presented token, or None."""
    row = session.execute(
        select(TokenRow).where(TokenRow.token_hash == _hash(token))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    return row


def revoke(session: Session, name: str) -> bool:
    """Revoke the live token of that name (kept, marked revoked); False when there is none."""
    row = session.execute(select(TokenRow).where(TokenRow.name == name)).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now()
    return True


def allows(role: str, needed: str) -> bool:
    return _RANK.get(role, 0) >= _RANK[needed]
