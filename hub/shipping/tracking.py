"""Following parcels: tracking from carriers (polled or pushed), kept per parcel, and what it
means for the order.

Each undelivered parcel has a ``next_check_at`` set from its state (:data:`POLL_EVERY`):
often when out for delivery, rarely when nothing has moved for days, never once delivered or
returned, and no more after ``tracking_max_days``. A timed ``tracking.poll_due`` queues one
``tracking.poll`` job per carrier account with parcels due; the job asks the carrier in
batches of its API's size. Carrier webhooks take the same path at once.

Applying tracking stores new events once (a poll and a webhook may report the same scan),
sets the parcel's status, and: an exception, a failed delivery attempt or a return to sender
goes on the order's timeline; the order is ``delivered`` when all its parcels are; and every
new event of a parcel the channel knows is queued for the channel (``fulfilment.event``).

A return's label is followed the same way (:func:`follow_return_label`): a parcel coming back
(``direction`` ``return``), polled by the same carrier accounts. Its news goes on the return's
timeline (and the order's) instead; it is never pushed to the channel and never makes the
order delivered, and its being delivered does not receive the return (that is counted at the
dock). It stops being followed once the return is closed or cancelled.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.canonical import OrderStatus
from hub.connectors import Account, Capability, ParcelTracking, calls_out, connector_class
from hub.jobs import outbox
from hub.jobs.worker import job_handler
from hub.orders.store import add_event, move
from hub.runtime import Hub
from hub.storage.db import upsert_insert
from hub.storage.models import (
    OrderRow,
    ParcelEventRow,
    ParcelRow,
    ReturnEventRow,
    ReturnRow,
    ShipmentRow,
)
from hub.values import now

log = logging.getLogger("hub.tracking")

SUBSCRIBE = "tracking.subscribe"
POLL = "tracking.poll"
POLL_DUE = "tracking.poll_due"
PUSH_EVENT = "fulfilment.event"

#: a parcel's ``direction``: a shipment's, or a return's label coming back
OUTBOUND, RETURN = "outbound", "return"
#: the states of a return whose label is no longer followed (``hub.returns.store``'s closed
#: and cancelled: returns build on shipping, not the other way round)
RETURN_DONE = ("closed", "cancelled")

FINAL = frozenset({"delivered", "returned_to_sender"})
#: statuses worth a line on the order's timeline (and a count in /metrics)
FLAGGED = frozenset({"exception", "returned_to_sender", "delivery_attempted"})
#: how long to wait before asking the carrier again, by the parcel's status
POLL_EVERY: dict[str, timedelta] = {
    "unknown": timedelta(hours=6),  # not scanned yet, or the carrier does not know it yet
    "label_created": timedelta(hours=6),
    "picked_up": timedelta(hours=4),
    "in_transit": timedelta(hours=4),
    "out_for_delivery": timedelta(minutes=30),
    "delivery_attempted": timedelta(hours=2),
    "ready_for_pickup": timedelta(hours=6),
    "exception": timedelta(hours=2),
}
#: nothing new from the carrier for this long: the parcel is stale and asked about rarely
STALE_AFTER = timedelta(days=3)
STALE_EVERY = timedelta(hours=12)
#: a parcel no carrier account can answer for is looked at again this much later
NO_ACCOUNT_EVERY = timedelta(days=1)


def next_check(
    status: str,
    *,
    at: datetime,
    shipped_at: datetime,
    last_event_at: datetime | None,
    max_days: int,
) -> datetime | None:
    """When to ask the carrier next about a parcel in ``status`` (None: stop following)."""
    if status in FINAL or at - shipped_at > timedelta(days=max_days):
        return None
    every = POLL_EVERY.get(status, POLL_EVERY["in_transit"])
    if last_event_at is not None and at - last_event_at > STALE_AFTER:
        every = max(every, STALE_EVERY)
    return at + every


def carrier_account(hub: Hub, client: str, carrier: str, name: str | None) -> Account | None:
    """The account that tracks a parcel: the one it names, else the client's only account of
    that carrier (else any client's only one: carriers' tracking is not per merchant)."""
    if name:
        return hub.accounts.get(name)
    for pool in (client, None):
        found = [
            a
            for a in hub.accounts.values()
            if a.connector == carrier and (pool is None or a.client == pool)
        ]
        if len(found) == 1:
            return found[0]
    return None


@dataclass
class Applied:
    new_events: int = 0
    status_changed: bool = False
    delivered_order: bool = False


def apply(
    hub: Hub, session: Session, parcel: ParcelRow, tracking: ParcelTracking, source: str
) -> Applied:
    """Store what a carrier said about a parcel, in the caller's transaction."""
    at = now()
    result = Applied()
    parcel.last_checked_at = at
    if not tracking.found:
        parcel.carrier_status = tracking.error or parcel.carrier_status
        _schedule(hub, session, parcel, at)
        return result
    insert = upsert_insert(session.get_bind().dialect.name)
    new_ids: list[int] = []
    flagged: list[Any] = []
    for event in tracking.events:
        new_id = session.execute(
            insert(ParcelEventRow)
            .values(
                parcel_id=parcel.id,
                at=event.at,
                status=event.status,
                code=event.code or "",
                text=event.text,
                location=event.location,
                source=source,
                received_at=at,
                pushed_at=None,
            )
            .on_conflict_do_nothing(index_elements=["parcel_id", "at", "status", "code"])
            .returning(ParcelEventRow.id)
        ).scalar_one_or_none()
        if new_id is not None:
            new_ids.append(new_id)
            if event.status in FLAGGED:
                flagged.append(event)
    result.new_events = len(new_ids)
    latest = max((e.at for e in tracking.events), default=None)
    if latest is not None and (parcel.last_event_at is None or latest > parcel.last_event_at):
        parcel.last_event_at = latest
    status = tracking.status if tracking.status else parcel.status
    if not tracking.events and status == "unknown":
        status = parcel.status  # nothing new: keep what is known
    if status != parcel.status:
        result.status_changed = True
        parcel.status = status
        if status == "delivered" and parcel.delivered_at is None:
            parcel.delivered_at = max(
                (e.at for e in tracking.events if e.status == "delivered"),
                default=parcel.last_event_at or at,
            )
    parcel.carrier_status = tracking.carrier_status or parcel.carrier_status
    if tracking.estimated_delivery is not None:
        parcel.estimated_delivery = tracking.estimated_delivery
    _schedule(hub, session, parcel, at)
    order = session.get(OrderRow, parcel.order_id)
    if order is None:
        return result
    if parcel.direction == RETURN:
        _return_news(session, order, parcel, flagged, status if result.status_changed else None)
        return result
    for event in flagged:  # each problem the carrier reports, once, even if since resolved
        add_event(
            session,
            order,
            f"tracking_{event.status}",
            f"{parcel.carrier} {parcel.tracking_number}: {event.status.replace('_', ' ')}"
            + (f" ({event.text})" if event.text else "")
            + (f" at {event.location}" if event.location else ""),
            data={"parcel_id": parcel.id, "status": event.status, "code": event.code},
        )
    if result.status_changed and status == "delivered":
        result.delivered_order = _maybe_delivered(session, order, parcel)
    if new_ids and parcel.channel_ref:
        for event_id in new_ids:
            outbox.enqueue(
                session,
                PUSH_EVENT,
                {"parcel_id": parcel.id, "event_id": event_id},
                max_attempts=hub.settings.job_max_attempts,
                dedupe_key=f"{PUSH_EVENT}:{event_id}",
            )
    return result


def _schedule(hub: Hub, session: Session, parcel: ParcelRow, at: datetime) -> None:
    if parcel.direction == RETURN:
        row = session.get(ReturnRow, parcel.return_id)
        if row is None or row.status in RETURN_DONE:
            parcel.next_check_at = None
            return
        shipped_at = row.authorised_at or at  # the label is made when the return is authorised
    else:
        shipped_at = session.execute(
            select(ShipmentRow.shipped_at).where(ShipmentRow.id == parcel.shipment_id)
        ).scalar_one()
    parcel.next_check_at = next_check(
        parcel.status,
        at=at,
        shipped_at=shipped_at,
        last_event_at=parcel.last_event_at,
        max_days=hub.settings.tracking_max_days,
    )


def _maybe_delivered(session: Session, order: OrderRow, parcel: ParcelRow) -> bool:
    """The order is delivered once it is fully shipped and every parcel is delivered."""
    if order.status != OrderStatus.SHIPPED:
        return False
    waiting = session.execute(
        select(func.count())
        .select_from(ParcelRow)
        .where(
            ParcelRow.order_id == order.id,
            ParcelRow.direction == OUTBOUND,
            ParcelRow.status != "delivered",
        )
    ).scalar_one()
    if waiting:
        return False
    move(
        session,
        order,
        OrderStatus.DELIVERED,
        "delivered",
        f"every parcel delivered (last: {parcel.carrier} {parcel.tracking_number})",
        data={"parcel_id": parcel.id},
    )
    return True


def _return_news(
    session: Session,
    order: OrderRow,
    parcel: ParcelRow,
    flagged: list[Any],
    status: str | None,
) -> None:
    """A return label's news on the return's timeline and the order's: each problem the
    carrier reports (once), and its new status. Delivered is said as the warehouse sees it;
    the return stays as it is until the dock receives it."""
    row = session.get(ReturnRow, parcel.return_id)
    if row is None:
        return
    said = []
    for event in flagged:
        said.append((event.status, event.text, event.location))
    if status is not None and status not in {s for s, _, _ in said}:
        said.append((status, None, None))
    at = now()
    for what, text, location in said:
        words = (
            "delivered back to the warehouse (receive it at the dock)"
            if what == "delivered"
            else what.replace("_", " ")
        )
        message = (
            f"return parcel {parcel.carrier} {parcel.tracking_number}: {words}"
            + (f" ({text})" if text else "")
            + (f" at {location}" if location else "")
        )
        row.updated_at = at
        session.add(
            ReturnEventRow(
                return_id=row.id, at=at, kind=f"label_{what}", message=message, actor="hub"
            )
        )
        add_event(
            session,
            order,
            f"return_label_{what}",
            f"return {row.id}: {message}",
            data={"return_id": row.id, "parcel_id": parcel.id, "status": what},
        )


def follow_return_label(
    hub: Hub,
    session: Session,
    row: ReturnRow,
    carrier: str,
    tracking_number: str,
    account: str | None = None,
) -> ParcelRow:
    """Start following a return's label as a parcel coming back to the warehouse, polled
    (or pushed) like any other. The caller has checked that a carrier account follows it
    (:func:`carrier_account`) and that no other parcel has its number."""
    parcel = ParcelRow(
        shipment_id=None,
        direction=RETURN,
        return_id=row.id,
        order_id=row.order_id,
        carrier=carrier,
        carrier_account=account,
        tracking_number=tracking_number,
        status="label_created",
        lines=[],  # it ships nothing: what comes back is the return's lines
    )
    session.add(parcel)
    session.flush()
    schedule_new(hub, session, [parcel])
    return parcel


def return_label(session: Session, return_id: int) -> ParcelRow | None:
    """The parcel that follows a return's label, if it is followed."""
    return (
        session.execute(
            select(ParcelRow).where(ParcelRow.return_id == return_id).order_by(ParcelRow.id.desc())
        )
        .scalars()
        .first()
    )


def stop_following_return(session: Session, return_id: int) -> None:
    """The return is closed or cancelled: its label is asked about no more."""
    for parcel in session.execute(
        select(ParcelRow).where(
            ParcelRow.return_id == return_id, ParcelRow.next_check_at.is_not(None)
        )
    ).scalars():
        parcel.next_check_at = None


def schedule_new(hub: Hub, session: Session, parcels: Iterable[ParcelRow]) -> None:
    """Start following parcels just shipped: first look when the carrier has had time to scan,
    and ask carriers that push only subscribed numbers to push these."""
    at = now()
    for parcel in parcels:
        parcel.next_check_at = at + POLL_EVERY["label_created"]
        order = session.get(OrderRow, parcel.order_id)
        account = carrier_account(
            hub, order.client if order else "", parcel.carrier, parcel.carrier_account
        )
        if account is not None and subscribes(hub, account):
            queue_subscription(hub, session, account, parcel.id)


def subscribes(hub: Hub, account: Account) -> bool:
    """Whether the account's carrier pushes only subscribed numbers and can be asked here: it
    needs a webhook secret and the hub's public address."""
    cls = connector_class(account.connector)
    return bool(
        cls.subscription_days
        and Capability.TRACKING_WEBHOOK in cls.capabilities
        and account.webhook_secrets
        and hub.settings.public_url
    )


def queue_subscription(
    hub: Hub, session: Session, account: Account, parcel_id: int, last: datetime | None = None
) -> None:
    """Queue a push subscription (once per parcel, and once per renewal of ``last``)."""
    outbox.enqueue(
        session,
        SUBSCRIBE,
        {"account": account.name, "parcel_id": parcel_id},
        max_attempts=hub.settings.job_max_attempts,
        dedupe_key=f"{SUBSCRIBE}:{parcel_id}:{last.isoformat() if last else 'first'}",
    )


@job_handler(SUBSCRIBE, own_transactions=True)
def subscribe(hub: Hub, payload: dict[str, Any]) -> None:
    account = hub.accounts.get(payload["account"])
    with hub.db.transaction() as session:
        parcel = session.get(ParcelRow, payload["parcel_id"])
        if account is None or parcel is None or parcel.next_check_at is None:
            return  # gone, or no longer followed
        number = parcel.tracking_number
    url = f"{str(hub.settings.public_url).rstrip('/')}/webhooks/{account.name}"
    refused = hub.connector(account).subscribe_tracking([number], url)
    with hub.db.transaction() as session:
        parcel = session.get(ParcelRow, payload["parcel_id"])
        if parcel is not None and not refused:
            parcel.subscribed_at = now()
        elif parcel is not None:
            log.warning("%s refused a push subscription for %s", account.name, number)


def renew_subscriptions(hub: Hub, session: Session) -> int:
    """Renew push subscriptions about to run out for parcels still followed."""
    renewed = 0
    for account in tracking_accounts(hub):
        if not subscribes(hub, account):
            continue
        days = connector_class(account.connector).subscription_days or 0
        cutoff = now() - timedelta(days=max(1, days - 1))
        for parcel_id, last in session.execute(
            select(ParcelRow.id, ParcelRow.subscribed_at).where(
                ParcelRow.carrier == account.connector,
                ParcelRow.next_check_at.is_not(None),
                ParcelRow.subscribed_at.is_not(None),
                ParcelRow.subscribed_at < cutoff,
            )
        ).all():
            queue_subscription(hub, session, account, parcel_id, last)
            renewed += 1
    return renewed


# -- polling --------------------------------------------------------------------------------


def poll_account(
    hub: Hub, account: Account, *, due_only: bool = True, limit: int | None = 1000
) -> dict[str, int]:
    """Ask one carrier account about its parcels due a check (``due_only`` False: every one
    still followed), at most ``limit``, in batches of its API's size, each batch applied in
    its own transaction."""
    connector = hub.connector(account)
    at = now()
    with hub.db.transaction() as session:
        query = (
            select(ParcelRow.id, ParcelRow.tracking_number, ParcelRow.carrier_account)
            .join(OrderRow, OrderRow.id == ParcelRow.order_id)
            .where(ParcelRow.carrier == account.connector, ParcelRow.next_check_at.is_not(None))
            .order_by(ParcelRow.next_check_at, ParcelRow.id)
        )
        if due_only:
            query = query.where(ParcelRow.next_check_at <= at)
        rows = [
            r
            for r in session.execute(query.add_columns(OrderRow.client)).all()
            if carrier_account(hub, r.client, account.connector, r.carrier_account) == account
        ]
    if limit is not None:
        rows = rows[:limit]
    counts = {"parcels": len(rows), "calls": 0, "events": 0, "delivered": 0, "not_found": 0}
    size = max(1, connector.track_batch_size)
    for start in range(0, len(rows), size):
        batch = rows[start : start + size]
        results = connector.track([r.tracking_number for r in batch])
        counts["calls"] += 1
        with hub.db.transaction() as session:
            for row, tracking in zip(batch, results, strict=True):
                parcel = session.get(ParcelRow, row.id, with_for_update=True)
                if parcel is None:
                    continue
                applied = apply(hub, session, parcel, tracking, "poll")
                counts["events"] += applied.new_events
                counts["delivered"] += parcel.status == "delivered" and applied.status_changed
                counts["not_found"] += not tracking.found
    return counts


def tracking_accounts(hub: Hub) -> list[Account]:
    return [a for a in hub.accounts.values() if calls_out(a, Capability.TRACKING_POLL)]


@job_handler(POLL, own_transactions=True)
def poll(hub: Hub, payload: dict[str, Any]) -> None:
    account = hub.accounts.get(payload["account"])
    if account is None:
        return
    counts = poll_account(hub, account)
    log.info("tracking %s: %s", account.name, counts)


@job_handler(POLL_DUE)
def poll_due(hub: Hub, session: Session, payload: dict[str, Any]) -> None:
    """Queue a poll for every carrier account that has parcels due (one per slot), and renew
    push subscriptions about to run out."""
    slot = payload.get("slot") or int(now().timestamp())
    renew_subscriptions(hub, session)
    due = set(
        session.execute(
            select(ParcelRow.carrier)
            .where(ParcelRow.next_check_at.is_not(None), ParcelRow.next_check_at <= now())
            .distinct()
        ).scalars()
    )
    for account in tracking_accounts(hub):
        if account.connector in due:
            outbox.enqueue(
                session,
                POLL,
                {"account": account.name},
                max_attempts=hub.settings.job_max_attempts,
                dedupe_key=f"{POLL}:{account.name}:{slot}",
            )
