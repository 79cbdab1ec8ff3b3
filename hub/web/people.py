"""People who sign in to the console: accounts with a role, scrypt password hashes, a
sign-in rate limit, and the key that signs their session cookies.

Roles mean what they mean for API tokens (:mod:`hub.web.tokens`), plus ``admin``: viewers
read, editors also change things (retry, replay, mappings, stock), admins also manage people
and tokens. ``clients`` limits a person to some clients' data (None: all of them, as a 3PL's
own staff).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from hub.storage.db import Database
from hub.storage.models import InstanceValueRow, LoginFailureRow, UserRow
from hub.values import now

ROLES = ("viewer", "editor", "admin")
_RANK = {"viewer": 1, "editor": 2, "admin": 3}
MIN_PASSWORD = 10
#: refused sign-ins counted over this window; past the limits, sign-in waits
WINDOW = timedelta(minutes=15)
PER_EMAIL, PER_REMOTE = 5, 30
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: how passwords are hashed: werkzeug's scrypt, N=2^15, r=8, p=1 (its default). A stored hash
#: names its own parameters, so a change here applies to passwords set from then on.
SCRYPT = "scrypt:32768:8:1"
_dummy: dict[str, str] = {}


def _dummy_hash() -> str:
    """Checked against when the email is unknown, so both refusals take as long."""
    if SCRYPT not in _dummy:
        _dummy[SCRYPT] = generate_password_hash("not a password of anyone", method=SCRYPT)
    return _dummy[SCRYPT]


class SignInRefused(Exception):
    """A sign-in that did not succeed, with what to tell the person."""


@dataclass(frozen=True)
class Person:
    """The signed-in person, as views see them."""

    id: int
    email: str
    role: str
    clients: tuple[str, ...] | None

    def can(self, needed: str) -> bool:
        return allows(self.role, needed)

    def sees(self, client: str | None) -> bool:
        return self.clients is None or client in self.clients


def allows(role: str, needed: str) -> bool:
    return _RANK.get(role, 0) >= _RANK[needed]


def normal_email(email: str) -> str:
    return email.strip().lower()


def create(
    session: Session, email: str, role: str, password: str, clients: list[str] | None = None
) -> UserRow:
    """A new person; refuses a bad email, an unknown role, a short password or a repeat."""
    email = normal_email(email)
    if not _EMAIL.match(email) or len(email) > 254:
        raise ValueError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")
    if session.execute(select(UserRow.id).where(UserRow.email == email)).first():
        raise ValueError(f"a person with email {email!r} exists already")
    row = UserRow(
        email=email,
        role=role,
        password_hash=generate_password_hash(password, method=SCRYPT),
        clients=sorted(set(clients)) if clients else None,
        created_at=now(),
    )
    session.add(row)
    session.flush()
    return row


def disable(session: Session, email: str) -> bool:
    row = session.execute(
        select(UserRow).where(UserRow.email == normal_email(email))
    ).scalar_one_or_none()
    if row is None or row.disabled_at is not None:
        return False
    row.disabled_at = now()
    return True


def person(row: UserRow) -> Person:
    return Person(row.id, row.email, row.role, tuple(row.clients) if row.clients else None)


def active(session: Session, user_id: int) -> Person | None:
    """The person of a session, while they are not disabled."""
    row = session.get(UserRow, user_id)
    if row is None or row.disabled_at is not None:
        return None
    return person(row)


def sign_in(db: Database, email: str, password: str, remote: str) -> Person:
    """The person whose email and password these are, or :class:`SignInRefused`. Refused
    attempts are counted (committed even though the sign-in fails) per email and per
    address; past :data:`PER_EMAIL` or :data:`PER_REMOTE` in :data:`WINDOW`, sign-in is
    refused without looking at the password."""
    email = normal_email(email)[:254]
    remote = (remote or "-")[:100]
    since = now() - WINDOW
    with db.transaction() as session:
        session.execute(delete(LoginFailureRow).where(LoginFailureRow.at < since))
        by_email = session.execute(
            select(func.count()).where(LoginFailureRow.email == email, LoginFailureRow.at >= since)
        ).scalar_one()
        by_remote = session.execute(
            select(func.count()).where(
                LoginFailureRow.remote == remote, LoginFailureRow.at >= since
            )
        ).scalar_one()
        if by_email >= PER_EMAIL or by_remote >= PER_REMOTE:
            minutes = int(WINDOW.total_seconds() // 60)
            raise SignInRefused(f"too many refused sign-ins; try again in {minutes} minutes")
        row = session.execute(select(UserRow).where(UserRow.email == email)).scalar_one_or_none()
        good = check_password_hash(row.password_hash if row else _dummy_hash(), password)
        if row is not None and good and row.disabled_at is None:
            row.last_login_at = now()
            return person(row)
        session.add(LoginFailureRow(email=email, remote=remote, at=now()))
    raise SignInRefused("the email or password is not right, or the account is disabled")


def session_key(db: Database) -> str:
    """The key that signs session cookies when ``HUB_SECRET_KEY`` is not set: made once and
    kept in the database, so every web process of the hub signs with the same key."""
    with db.transaction() as session:
        row = session.get(InstanceValueRow, "session_key")
        if row is not None:
            return row.value
    try:
        with db.transaction() as session:
            session.add(InstanceValueRow(name="session_key", value=secrets.token_hex(32)))
    except IntegrityError:
        pass  # another process made it first
    with db.transaction() as session:
        return session.get(InstanceValueRow, "session_key").value  # type: ignore[union-attr]


def everyone(session: Session) -> list[UserRow]:
    """Every person, by email, disabled ones too."""
    return list(session.execute(select(UserRow).order_by(UserRow.email)).scalars())
