"""Telling the sales channel: every shipped parcel is pushed to the order's channel once, with
its carrier (by the name the channel knows, from the account's mapping), tracking number and
link, and later tracking events follow where the channel shows them.

A push is a ``fulfilment.push`` job per parcel. Exactly once: the channel's id for the
fulfilment is stored on the parcel, a job for a parcel that has one does nothing, and the
connector looks for an existing fulfilment with the same tracking number before it makes one
(so a retry after a lost answer finds the first). The push that completes an order says so
(WooCommerce then marks the order completed).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.canonical import OrderStatus
from hub.connectors import (
    Account,
    Capability,
    FulfilmentPush,
    TrackingEvent,
    calls_out,
    connector_class,
)
from hub.jobs import outbox
from hub.jobs.worker import job_handler
from hub.mapping import store
from hub.orders.store import add_event
from hub.runtime import Hub
from hub.shipping import tracking
from hub.storage.models import OrderRow, ParcelEventRow, ParcelRow, ShipmentRow
from hub.values import now

log = logging.getLogger("hub.fulfilment")

PUSH = "fulfilment.push"
DONE = (OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value)


def after_shipment(hub: Hub, session: Session, shipment_id: int) -> None:
    """A shipment was recorded (pack confirmation or warehouse): give the order its tracking
    page, start following its parcels, and queue their pushes to the channel."""
    parcels = (
        session.execute(select(ParcelRow).where(ParcelRow.shipment_id == shipment_id))
        .scalars()
        .all()
    )
    if not parcels:
        return
    order = session.get(OrderRow, parcels[0].order_id)
    if order is None:
        return
    if order.tracking_token is None:
        order.tracking_token = secrets.token_urlsafe(24)
    tracking.schedule_new(hub, session, parcels)
    account = hub.accounts.get(order.account)
    if account is None or not _pushes(account):
        return
    for parcel in parcels:
        queue(hub, session, parcel.id)


def queue(hub: Hub, session: Session, parcel_id: int, *, complete: bool = False) -> None:
    outbox.enqueue(
        session,
        PUSH,
        {"parcel_id": parcel_id, **({"complete": True} if complete else {})},
        max_attempts=hub.settings.job_max_attempts,
        dedupe_key=f"{PUSH}:{parcel_id}{':complete' if complete else ''}",
    )


def _pushes(account: Account) -> bool:
    return calls_out(account, Capability.FULFILMENT_PUSH)


def tracking_url(
    hub: Hub, client: str, carrier: str, account: str | None, number: str
) -> str | None:
    """The carrier's public tracking page for a parcel (no account needed for the link)."""
    found = tracking.carrier_account(hub, client, carrier, account)
    try:
        connector = (
            hub.connector(found)
            if found is not None
            else connector_class(carrier)(Account(carrier, carrier, client, {}))
        )
    except Exception:  # an unknown carrier has no link, which is no reason to fail
        return None
    return connector.tracking_url(number)


def _carrier_name(hub: Hub, session: Session, account: Account, carrier: str) -> str:
    compiled = store.compiled_for(hub, store.current(session, account))
    named = compiled.tracking_carrier(carrier)
    if named:
        return named
    try:
        return connector_class(carrier).title
    except Exception:
        return carrier


def build(hub: Hub, session: Session, parcel: ParcelRow, *, complete: bool) -> FulfilmentPush:
    """What the channel is told about one parcel."""
    order = session.get(OrderRow, parcel.order_id)
    assert order is not None
    account = hub.accounts[order.account]
    lines = order.data.get("lines") or []
    shipped_at = session.execute(
        select(ShipmentRow.shipped_at).where(ShipmentRow.id == parcel.shipment_id)
    ).scalar_one()
    return FulfilmentPush(
        order={**order.data, "id": order.id},
        parcel_id=parcel.id,
        carrier=parcel.carrier,
        carrier_name=_carrier_name(hub, session, account, parcel.carrier),
        service=parcel.service,
        tracking_number=parcel.tracking_number,
        tracking_url=tracking_url(
            hub, order.client, parcel.carrier, parcel.carrier_account, parcel.tracking_number
        ),
        lines=[
            {
                "external_id": (lines[ln["position"]] if ln["position"] < len(lines) else {}).get(
                    "external_id"
                ),
                "sku": ln.get("sku"),
                "quantity": ln["quantity"],
            }
            for ln in parcel.lines
        ],
        complete=complete,
        shipped_at=shipped_at,
    )


def _completes(session: Session, parcel: ParcelRow, order: OrderRow) -> bool:
    """Whether this parcel's push completes the order: it is fully shipped and every other
    outbound parcel has been pushed (a return's label coming back is never pushed)."""
    if order.status not in DONE:
        return False
    others = session.execute(
        select(func.count())
        .select_from(ParcelRow)
        .where(
            ParcelRow.order_id == order.id,
            ParcelRow.id != parcel.id,
            ParcelRow.direction == tracking.OUTBOUND,
            ParcelRow.channel_ref.is_(None),
        )
    ).scalar_one()
    return others == 0


def _parcel_account(hub: Hub, payload: dict[str, Any]) -> str | None:
    """The channel account a parcel's push goes to (its order's)."""
    with hub.db.transaction() as session:
        parcel = session.get(ParcelRow, payload["parcel_id"])
        order = session.get(OrderRow, parcel.order_id) if parcel is not None else None
        return order.account if order is not None else None


@job_handler(PUSH, own_transactions=True, account=_parcel_account)
def push(hub: Hub, payload: dict[str, Any]) -> None:
    again = bool(payload.get("complete"))
    with hub.db.transaction() as session:
        parcel = session.get(ParcelRow, payload["parcel_id"])
        if parcel is None or (parcel.channel_ref and not again):
            return  # pushed already: exactly once
        order = session.get(OrderRow, parcel.order_id)
        account = hub.accounts.get(order.account) if order is not None else None
        if order is None or account is None or not _pushes(account):
            return
        complete = again or _completes(session, parcel, order)
        request = build(hub, session, parcel, complete=complete)
    channel_id = hub.connector(account).push_fulfilment(request)
    with hub.db.transaction() as session:
        parcel = session.get(ParcelRow, payload["parcel_id"], with_for_update=True)
        order = session.get(OrderRow, parcel.order_id) if parcel is not None else None
        if parcel is None or order is None:
            return
        first = parcel.channel_ref is None
        parcel.channel_ref, parcel.channel_pushed_at = channel_id, now()
        if first:
            add_event(
                session,
                order,
                "pushed_to_channel",
                f"{parcel.carrier} {parcel.tracking_number} sent to {account.name} "
                f"(fulfilment {channel_id})" + ("; order complete" if complete else ""),
                data={"parcel_id": parcel.id, "channel_ref": channel_id},
            )
            log.info(
                "shipment pushed",
                extra={
                    "order": order.id,
                    "account": account.name,
                    "carrier": parcel.carrier,
                    "tracking": parcel.tracking_number,
                    "channel_ref": channel_id,
                    "complete": complete,
                },
            )
        if complete:
            order.data = {**order.data, "channel_completed": True}
        elif (
            order.status in DONE
            and not order.data.get("channel_completed")
            and _completes(session, parcel, order)
        ):
            # two last parcels pushed at once may each have seen the other unpushed
            queue(hub, session, parcel.id, complete=True)


@job_handler(tracking.PUSH_EVENT, own_transactions=True, account=_parcel_account)
def push_event(hub: Hub, payload: dict[str, Any]) -> None:
    with hub.db.transaction() as session:
        event = session.get(ParcelEventRow, payload["event_id"])
        parcel = session.get(ParcelRow, payload["parcel_id"])
        if event is None or parcel is None or event.pushed_at or not parcel.channel_ref:
            return
        order = session.get(OrderRow, parcel.order_id)
        account = hub.accounts.get(order.account) if order is not None else None
        if account is None or not _pushes(account):
            return
        request = build(hub, session, parcel, complete=False)
        channel_ref = parcel.channel_ref
        canonical = TrackingEvent(
            event.at, event.status, event.code or None, event.text, event.location
        )
    hub.connector(account).push_tracking_event(request, channel_ref, canonical)
    with hub.db.transaction() as session:
        event = session.get(ParcelEventRow, payload["event_id"])
        if event is not None:
            event.pushed_at = now()
