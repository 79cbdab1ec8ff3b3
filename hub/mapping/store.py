"""Mapping specs as versioned data: save (validated first), read, list, diff, roll back, and
the compiled mapping each account translates with. Every write lands in the audit log.

An account with no saved version uses its connector's default spec (``mappings/<name>.yaml``),
shown as version ``null``.
"""

from __future__ import annotations

import difflib
import json
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.connectors import Account
from hub.errors import MappingError
from hub.mapping import compiled
from hub.runtime import Hub
from hub.storage import audit
from hub.storage.models import MappingVersionRow, SkuRow
from hub.values import iso, now


@dataclass(frozen=True)
class Version:
    account: str
    number: int | None  # None: the connector's default spec, never saved for this account
    spec: dict[str, Any]
    author: str | None = None
    comment: str | None = None
    created_at: str | None = None

    def to_json(self, with_spec: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "account": self.account,
            "version": self.number,
            "author": self.author,
            "comment": self.comment,
            "created_at": self.created_at,
        }
        if with_spec:
            out["spec"] = self.spec
        return out


def _version(row: MappingVersionRow) -> Version:
    return Version(row.account, row.number, row.spec, row.author, row.comment, iso(row.created_at))


class Catalogue:
    """A client's catalogue, asked SKU by SKU: only an order's SKUs are looked up."""

    def __init__(self, session: Session, client: str):
        self._session, self._client = session, client
        self._known: dict[str, bool] = {}

    def __contains__(self, sku: object) -> bool:
        if not isinstance(sku, str):
            return False
        if sku not in self._known:
            self._known[sku] = (
                self._session.execute(
                    select(SkuRow.sku).where(SkuRow.client == self._client, SkuRow.sku == sku)
                ).first()
                is not None
            )
        return self._known[sku]


def catalogue_for(session: Session, client: str) -> Catalogue | None:
    """The client's catalogue for order checks, or None when it has none yet (then no SKU
    can be called unknown)."""
    has_any = session.execute(select(SkuRow.sku).where(SkuRow.client == client).limit(1))
    return Catalogue(session, client) if has_any.first() is not None else None


def catalogue(session: Session, client: str) -> set[str] | None:
    """The client's known warehouse SKUs, or None when it has no catalogue yet."""
    skus = set(session.execute(select(SkuRow.sku).where(SkuRow.client == client)).scalars())
    return skus or None


def current(session: Session, account: Account) -> Version:
    row = session.execute(
        select(MappingVersionRow)
        .where(MappingVersionRow.account == account.name)
        .order_by(MappingVersionRow.number.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        return Version(account.name, None, compiled.default_spec(account.connector))
    return _version(row)


def get(session: Session, account: Account, number: int) -> Version | None:
    row = session.execute(
        select(MappingVersionRow).where(
            MappingVersionRow.account == account.name, MappingVersionRow.number == number
        )
    ).scalar_one_or_none()
    return _version(row) if row is not None else None


def history(session: Session, account: Account) -> list[Version]:
    rows = session.execute(
        select(MappingVersionRow)
        .where(MappingVersionRow.account == account.name)
        .order_by(MappingVersionRow.number.desc())
    ).scalars()
    return [_version(r) for r in rows]


def check(session: Session, account: Account, spec: Any) -> list[str]:
    """Validation messages for a spec against the account's client catalogue ([] if valid)."""
    return compiled.validate_spec(spec, known_skus=catalogue(session, account.client))


def save(
    session: Session,
    account: Account,
    spec: Any,
    *,
    author: str,
    comment: str | None,
    action: str = "mapping.save",
) -> Version:
    """Validate and store ``spec`` as the account's next version. An invalid spec is never
    saved: MappingError carries every message in ``details``."""
    messages = check(session, account, spec)
    if messages:
        raise MappingError(
            f"the mapping for {account.name!r} is invalid: {messages[0]}", details=messages
        )
    last = session.execute(
        select(func.max(MappingVersionRow.number)).where(MappingVersionRow.account == account.name)
    ).scalar_one()
    row = MappingVersionRow(
        account=account.name,
        number=(last or 0) + 1,
        spec=spec,
        author=author,
        comment=comment,
        created_at=now(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        author,
        action,
        f"mapping:{account.name}",
        {"version": row.number, "comment": comment},
    )
    return _version(row)


def rollback(
    session: Session, account: Account, number: int, *, author: str, comment: str | None
) -> Version:
    """A new version equal to version ``number``."""
    old = get(session, account, number)
    if old is None:
        raise LookupError(f"account {account.name!r} has no mapping version {number}")
    return save(
        session,
        account,
        old.spec,
        author=author,
        comment=comment or f"roll back to version {number}",
        action="mapping.rollback",
    )


def diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """What changed from spec ``a`` to spec ``b``: paths with their old and new values, and a
    unified text diff of both as indented JSON."""
    changes: list[dict[str, Any]] = []

    def walk(x: Any, y: Any, path: str) -> None:
        if isinstance(x, dict) and isinstance(y, dict):
            for key in sorted(set(x) | set(y), key=str):
                sub = f"{path}.{key}" if path else str(key)
                if key not in x:
                    changes.append({"path": sub, "change": "added", "to": y[key]})
                elif key not in y:
                    changes.append({"path": sub, "change": "removed", "from": x[key]})
                else:
                    walk(x[key], y[key], sub)
        elif x != y:
            changes.append({"path": path, "change": "changed", "from": x, "to": y})

    walk(a, b, "")
    text = "".join(
        difflib.unified_diff(
            json.dumps(a, indent=2, sort_keys=True).splitlines(keepends=True),
            json.dumps(b, indent=2, sort_keys=True).splitlines(keepends=True),
            fromfile="from",
            tofile="to",
        )
    )
    return {"changes": changes, "text": text}


class CompiledCache:
    """Compiled mappings by (account, version): expressions and lookup tables are built once
    per version, not per order."""

    def __init__(self, size: int = 256):
        self._lock = threading.Lock()
        self._items: dict[tuple[str, int | None], compiled.CompiledMapping] = {}
        self._size = size

    def get(self, version: Version) -> compiled.CompiledMapping:
        key = (version.account, version.number)
        with self._lock:
            found = self._items.get(key)
        if found is None:
            # Saved versions were validated against the catalogue when saved; a catalogue
            # changed since is checked per order (unknown SKUs), not here.
            found = compiled.compile_spec(version.spec)
            with self._lock:
                if len(self._items) >= self._size:
                    self._items.pop(next(iter(self._items)))
                self._items[key] = found
        return found


def compiled_for(hub: Hub, version: Version) -> compiled.CompiledMapping:
    """The compiled mapping of ``version``, from this hub's cache."""
    return hub.service("mappings", lambda _hub: CompiledCache()).get(version)
