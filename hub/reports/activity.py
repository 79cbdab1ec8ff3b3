"""What each account's background work is doing, for the console's overview: the stock passes
of every sales channel account (the last pass and how far behind the channel is), the
tracking polls of every carrier account (the last poll, what waits for one, whether polling
fails), and the accounts that are paused and why. Readers limited to some clients pass only
those clients' accounts.

It reads what the domain records: the last pass's report (:func:`hub.stock.sync.last_sync`),
the channel item map (``channel_items``), the accounts left out of stock sync
(:func:`hub.stock.changes.not_pushed`), each account's health
(:func:`hub.jobs.account_health.report`), the ``tracking.poll`` jobs and their failed
attempts (``job_attempts``), and the parcels still followed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from hub.connectors import Account, Capability, connector_class
from hub.jobs import account_health, outbox
from hub.runtime import Hub
from hub.shipping import tracking
from hub.stock import changes, lag, sync
from hub.storage.models import (
    JobAttemptRow,
    JobRow,
    OrderRow,
    ParcelRow,
)
from hub.values import now, utc


def age(span: timedelta | None) -> str:
    """A span as a person reads it: ``40 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``."""
    if span is None:
        return "-"
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _since(at: datetime | str | None) -> timedelta | None:
    when = utc(at)
    return now() - when if when is not None else None


# -- stock sync -----------------------------------------------------------------------------


@dataclass
class StockSync:
    """One sales channel account that can take stock."""

    account: str
    client: str
    connector: str
    #: the last pass's report as :func:`hub.stock.sync.last_sync` keeps it (None: none yet)
    last: dict[str, Any] | None = None
    #: SKUs changed in the hub since their last push, and SKUs the channel refused last time
    changed: int = 0
    refused: int = 0
    #: the oldest stock change the channel has not confirmed yet (None: nothing waits)
    oldest_change: datetime | None = None
    #: why the hub never pushes this account's stock (None: it does)
    left_out: str | None = None

    @property
    def outcome(self) -> str:
        """``failed``, ``skipped``, ``pushed`` (it sent levels), ``unchanged`` or ``never``."""
        if self.last is None:
            return "never"
        if self.last.get("failed"):
            return "failed"
        if self.last.get("skipped"):
            return "skipped"
        return "pushed" if self.last.get("pushed") else "unchanged"

    @property
    def last_at(self) -> datetime | None:
        """When the last pass ended (or started, if it never ended)."""
        if self.last is None:
            return None
        return utc(self.last.get("finished_at") or self.last.get("started_at"))

    @property
    def last_ago(self) -> str:
        return age(_since(self.last_at))

    @property
    def lag(self) -> timedelta | None:
        return _since(self.oldest_change)

    @property
    def lag_text(self) -> str:
        return age(self.lag) if self.oldest_change is not None else "none"


def stock_sync(hub: Hub, session: Session, accounts: Mapping[str, Account]) -> list[StockSync]:
    """Every account of ``accounts`` that can take stock, by name: pushed ones with their
    last pass and what waits, left-out ones with the reason."""
    left_out = changes.not_pushed(hub)
    pushed = [a for a in changes.push_accounts(hub) if a.name in accounts]
    waiting = lag.waiting(session, [a.name for a in pushed])
    items = [
        StockSync(
            a.name,
            a.client,
            a.connector,
            last=sync.last_sync(session, a.name),
            **waiting.get(a.name, {}),
        )
        for a in pushed
    ]
    items += [
        StockSync(a.name, a.client, a.connector, left_out=left_out[a.name])
        for a in accounts.values()
        if a.name in left_out
    ]
    return sorted(items, key=lambda i: i.account)


# -- tracking polls -------------------------------------------------------------------------


@dataclass
class Polling:
    """One carrier account that can be polled for tracking."""

    account: str
    client: str
    connector: str
    #: the account's health as :func:`hub.jobs.account_health.report` gives it
    health: str = "ok"
    #: when its last poll ran (None: no poll recorded), and how it ended: ``ok``,
    #: ``retrying`` (failed, will run again), ``failed`` (gave up) or ``waiting`` (held
    #: back by its account's health without running)
    last_at: datetime | None = None
    outcome: str | None = None
    error: str | None = None
    #: parcels due a poll now, and parcels still followed
    awaiting: int = 0
    followed: int = 0
    #: the hub does not call this account (``api_calls = false``)
    not_called: bool = False

    @property
    def failing(self) -> bool:
        return self.outcome in ("retrying", "failed", "waiting") or self.health not in (
            "ok",
            "throttled",
        )

    @property
    def last_ago(self) -> str:
        return age(_since(self.last_at))


def _last_poll(session: Session, name: str) -> dict[str, Any]:
    """The account's newest ``tracking.poll`` job that has run, or was held back."""
    job = session.execute(
        select(JobRow)
        .where(
            JobRow.kind == tracking.POLL,
            JobRow.payload["account"].as_string() == name,
            or_(
                JobRow.status.in_([outbox.DONE, outbox.DEAD]),
                JobRow.last_error.is_not(None),
            ),
        )
        .order_by(JobRow.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if job is None:
        return {}
    if job.status == outbox.DONE:
        return {"last_at": job.finished_at, "outcome": "ok"}
    if job.status == outbox.DEAD:
        outcome = "failed"
    elif (job.last_error or "").startswith("waiting: "):
        outcome = "waiting"  # held back without running: no attempt is recorded
    else:
        outcome = "retrying"
    tried = session.execute(
        select(func.max(JobAttemptRow.at)).where(JobAttemptRow.job_id == job.id)
    ).scalar_one_or_none()
    return {"last_at": utc(tried) or job.finished_at, "outcome": outcome, "error": job.last_error}


def _parcels(hub: Hub, session: Session) -> dict[str, dict[str, int]]:
    """Per carrier account: parcels still followed and those due a poll now, each parcel
    counted for the account :func:`hub.shipping.tracking.carrier_account` gives it."""
    due = ParcelRow.next_check_at <= now()
    rows = session.execute(
        select(
            ParcelRow.carrier,
            ParcelRow.carrier_account,
            OrderRow.client,
            func.count(),
            func.sum(case((due, 1), else_=0)),
        )
        .join(OrderRow, OrderRow.id == ParcelRow.order_id)
        .where(ParcelRow.next_check_at.is_not(None))
        .group_by(ParcelRow.carrier, ParcelRow.carrier_account, OrderRow.client)
    ).all()
    found: dict[str, dict[str, int]] = {}
    for carrier, named, client, followed, awaiting in rows:
        account = tracking.carrier_account(hub, client, carrier, named)
        if account is None:
            continue
        counts = found.setdefault(account.name, {"followed": 0, "awaiting": 0})
        counts["followed"] += int(followed or 0)
        counts["awaiting"] += int(awaiting or 0)
    return found


def polling(
    hub: Hub,
    session: Session,
    accounts: Mapping[str, Account],
    health: list[dict[str, Any]] | None = None,
) -> list[Polling]:
    """Every carrier account of ``accounts`` whose connector polls tracking, by name.
    ``health``: :func:`hub.jobs.account_health.report` of these accounts, when the caller
    has it already."""
    carriers = {
        n: a
        for n, a in accounts.items()
        if Capability.TRACKING_POLL in connector_class(a.connector).capabilities
    }
    if not carriers:
        return []
    polled = {a.name for a in tracking.tracking_accounts(hub)}
    states = {h["account"]: h["status"] for h in health or account_health.report(session, carriers)}
    parcels = _parcels(hub, session)
    items = []
    for name, account in sorted(carriers.items()):
        item = Polling(
            name,
            account.client,
            account.connector,
            health=states.get(name, "ok"),
            not_called=name not in polled,
            **parcels.get(name, {}),
        )
        for key, value in _last_poll(session, name).items():
            setattr(item, key, value)
        items.append(item)
    return items


# -- paused accounts ------------------------------------------------------------------------


@dataclass
class Pause:
    """An account whose jobs wait: ``by`` is ``credentials`` (an outside system refused its
    keys; it waits for new keys or a person to resume it) or ``breaker`` (its circuit opened
    after failures in a row; it resumes by itself).

    ``since``: when its credentials were refused, or when a job it still holds first met the
    open circuit (None when no such attempt is recorded); ``why``: the refusal, or what its
    newest held job was told; ``until`` (ISO) and ``jobs_held``: the jobs a breaker holds."""

    account: str
    client: str
    connector: str
    by: str
    since: datetime | None
    why: str | None
    until: str | None = None
    jobs_held: int = 0


def _breakers(session: Session, names: list[str]) -> dict[str, dict[str, Any]]:
    """Per account among ``names``: since when its held jobs have met an open circuit (the
    first such failed attempt of a job still held) and what the newest of them was told."""
    if not names:
        return {}
    account = JobRow.payload["account"].as_string()
    held = and_(
        JobRow.status == outbox.QUEUED,
        JobRow.run_at > now(),
        JobRow.last_error.contains(account_health.CIRCUIT_OPEN),
        account.in_(names),
    )
    since = dict(
        session.execute(
            select(account, func.min(JobAttemptRow.at))
            .join(JobAttemptRow, JobAttemptRow.job_id == JobRow.id)
            .where(held, JobAttemptRow.error.contains(account_health.CIRCUIT_OPEN))
            .group_by(account)
        ).all()
    )
    found: dict[str, dict[str, Any]] = {}
    for name, error in session.execute(
        select(account, JobRow.last_error).where(held).order_by(JobRow.id.desc())
    ):
        found.setdefault(name, {"since": utc(since.get(name)), "why": error})
    return found


def pauses(
    session: Session, accounts: Mapping[str, Account], health: list[dict[str, Any]] | None = None
) -> list[Pause]:
    """The accounts of ``accounts`` that are paused, by name (``health`` as for
    :func:`polling`)."""
    health = health if health is not None else account_health.report(session, accounts)
    tripped = _breakers(session, [h["account"] for h in health if h["status"] == "paused"])
    found = []
    for h in health:
        if h["refused"]:
            found.append(
                Pause(
                    h["account"],
                    h["client"],
                    h["connector"],
                    "credentials",
                    since=utc(h["refused"]["at"]),
                    why=h["refused"]["reason"],
                )
            )
        elif h["status"] == "paused":
            breaker = tripped.get(h["account"], {})
            found.append(
                Pause(
                    h["account"],
                    h["client"],
                    h["connector"],
                    "breaker",
                    since=breaker.get("since"),
                    why=breaker.get("why"),
                    until=h["held_until"],
                    jobs_held=h["jobs_held"],
                )
            )
    return found


# -- together -------------------------------------------------------------------------------


@dataclass
class Activity:
    stock: list[StockSync]
    polling: list[Polling]
    paused: list[Pause]


def activity(hub: Hub, session: Session, accounts: Mapping[str, Account]) -> Activity:
    """Stock sync, tracking polls and pauses of ``accounts`` (those a reader sees)."""
    health = account_health.report(session, accounts)
    return Activity(
        stock=stock_sync(hub, session, accounts),
        polling=polling(hub, session, accounts, health),
        paused=pauses(session, accounts, health),
    )
