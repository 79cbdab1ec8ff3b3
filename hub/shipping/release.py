"""Release to the warehouse: a ``ready`` order gets its stock allocated and goes to the
client's warehouse as a job; short of stock, it waits (``ready``, the shortfall on its
timeline) and is tried again when stock arrives. A cancelled order gives its stock back.

The built-in ledger is the warehouse when a client has no warehouse account: releasing there
is the allocation itself, and picking and packing follow in the hub. An outside warehouse
(``hub.shipping.warehouse``) gets the allocated order as a job, and the order is ``released`` when
it has taken it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.canonical import OrderStatus
from hub.jobs import outbox
from hub.jobs.worker import job_handler
from hub.orders.store import add_event, move
from hub.runtime import Hub
from hub.shipping import warehouse
from hub.stock import ledger
from hub.storage.models import OrderEventRow, OrderLineRow, OrderRow

RELEASE = "order.release"


def after_change(hub: Hub, session: Session, order: OrderRow) -> None:
    """What an order's (possibly new) status asks of the warehouse, in the caller's
    transaction: a ready order is queued for release; a cancelled one gives stock back."""
    if order.status == OrderStatus.READY:
        outbox.enqueue(
            session, RELEASE, {"order_id": order.id}, max_attempts=hub.settings.job_max_attempts
        )
    elif order.status == OrderStatus.CANCELLED:
        warehouse.cancel(hub, session, order)
        returned = ledger.deallocate(session, order.id)
        if returned:
            add_event(
                session,
                order,
                "deallocated",
                f"cancelled: {returned} allocated line(s) given back to stock",
            )


def wake(hub: Hub, session: Session, client: str, skus: list[str]) -> int:
    """Queue a release for the client's waiting orders that want any of ``skus`` (stock
    arrived), oldest first. Returns how many were queued."""
    waiting = (
        session.execute(
            select(OrderRow.id)
            .where(
                OrderRow.client == client,
                OrderRow.status == OrderStatus.READY.value,
                OrderRow.id.in_(select(OrderLineRow.order_id).where(OrderLineRow.sku.in_(skus))),
            )
            .order_by(OrderRow.id)
        )
        .scalars()
        .all()
    )
    for order_id in waiting:
        outbox.enqueue(
            session, RELEASE, {"order_id": order_id}, max_attempts=hub.settings.job_max_attempts
        )
    return len(waiting)


def _last_waiting(session: Session, order_id: int) -> str | None:
    return session.execute(
        select(OrderEventRow.message)
        .where(OrderEventRow.order_id == order_id, OrderEventRow.kind == "waiting_for_stock")
        .order_by(OrderEventRow.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _said(session: Session, order_id: int, kind: str) -> bool:
    return (
        session.execute(
            select(OrderEventRow.id)
            .where(OrderEventRow.order_id == order_id, OrderEventRow.kind == kind)
            .limit(1)
        ).first()
        is not None
    )


@job_handler(RELEASE)
def release_order(hub: Hub, session: Session, payload: dict[str, Any]) -> None:
    order = session.execute(
        select(OrderRow).where(OrderRow.id == payload["order_id"]).with_for_update()
    ).scalar_one_or_none()
    if order is None or order.status != OrderStatus.READY:
        return  # released already, cancelled, or changed since: nothing to do
    short = ledger.allocate(session, order)
    if short:
        message = "waiting for stock: " + "; ".join(short)
        if _last_waiting(session, order.id) != message:  # say it once, not on every try
            add_event(session, order, "waiting_for_stock", message, data={"short": short})
        return
    outside = warehouse.warehouse_for(hub, order.client)
    if outside is not None:
        if not _said(session, order.id, "allocated"):
            add_event(
                session,
                order,
                "allocated",
                f"stock allocated; sending to warehouse {outside.name}",
                data={"warehouse": outside.name},
            )
        warehouse.send(hub, session, order, outside)
        return
    move(
        session,
        order,
        OrderStatus.RELEASED,
        "released",
        f"stock allocated; released to the {warehouse.LEDGER}",
        data={"warehouse": warehouse.LEDGER},
    )
