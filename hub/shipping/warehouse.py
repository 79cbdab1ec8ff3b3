"""Warehouses: which one serves a client, sending orders to it, and applying what it reports.

A client's warehouse is its one warehouse account other than the built-in ``ledger``; with
none, the ledger is the warehouse (release is the allocation, picking and packing happen in
the hub). An outside warehouse gets each allocated order as a ``warehouse.release`` job and
cancellations as ``warehouse.cancel``; its stock counts and shipments come back through
``warehouse.poll`` batches, each applied in one transaction: counts set on hand in the
ledger (reason ``count``), shipments are recorded as ``POST /api/shipments`` records them.
"""

from __future__ import annotations

import importlib
import logging
import traceback
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from hub.canonical import OrderStatus
from hub.connectors import Account, Capability, WarehouseBatch, calls_out, connector_class
from hub.errors import ConfigError, HubError, PermanentError
from hub.jobs import outbox
from hub.jobs.worker import job_handler
from hub.orders.store import add_event, move, to_json
from hub.runtime import Hub
from hub.shipping import fulfilment, shipments
from hub.stock import ledger
from hub.storage import account_state, audit
from hub.storage.models import OrderRow
from hub.values import now

log = logging.getLogger("hub.warehouse")

LEDGER = "ledger"
RELEASE = "warehouse.release"
CANCEL = "warehouse.cancel"
POLL = "warehouse.poll"
#: the module that applies the returns a warehouse reports received (named, not imported:
#: returns sit above shipping)
RETURNS_RECEIVER = "hub.returns.warehouse"
POLL_ALL = "warehouse.poll_all"


def _is_outside_warehouse(account: Account) -> bool:
    cls = connector_class(account.connector)
    return cls.kind == "warehouse" and account.connector != LEDGER


def warehouse_for(hub: Hub, client: str) -> Account | None:
    """The client's outside warehouse account, or None when the ledger serves it."""
    found = [a for a in hub.accounts.values() if a.client == client and _is_outside_warehouse(a)]
    if len(found) > 1:
        names = ", ".join(sorted(a.name for a in found))
        raise ConfigError(f"client {client!r} has more than one warehouse account ({names})")
    return found[0] if found else None


def default_location(hub: Hub, client: str) -> str:
    """Where the client's stock is counted when a count names no location: the
    ``default_location`` of its warehouse account (or of its ``ledger`` account)."""
    for account in hub.accounts.values():
        if account.client == client and connector_class(account.connector).kind == "warehouse":
            location = account.settings.get("default_location")
            if location:
                return str(location)
    return ledger.DEFAULT_LOCATION


def send(hub: Hub, session: Session, order: OrderRow, account: Account) -> None:
    """Queue an allocated order for its warehouse (once, however often it is asked)."""
    outbox.enqueue(
        session,
        RELEASE,
        {"order_id": order.id, "account": account.name},
        max_attempts=hub.settings.job_max_attempts,
        dedupe_key=f"{RELEASE}:{order.id}",
    )


def cancel(hub: Hub, session: Session, order: OrderRow) -> None:
    """Queue the cancellation of an order the warehouse was sent."""
    sent = order.data.get("warehouse")
    if not isinstance(sent, dict) or not sent.get("account"):
        return
    outbox.enqueue(
        session,
        CANCEL,
        {"order_id": order.id, "account": sent["account"], "reference": sent.get("reference")},
        max_attempts=hub.settings.job_max_attempts,
        dedupe_key=f"{CANCEL}:{order.id}",
    )


def _account(hub: Hub, name: str) -> Account:
    account = hub.accounts.get(name)
    if account is None:
        raise ConfigError(f"account {name!r} is no longer configured")
    return account


@job_handler(RELEASE, own_transactions=True)
def release(hub: Hub, payload: dict[str, Any]) -> None:
    account = _account(hub, payload["account"])
    with hub.db.transaction() as session:
        order = session.get(OrderRow, payload["order_id"])
        if order is None or order.status != OrderStatus.READY or order.data.get("warehouse"):
            return  # cancelled, or sent already
        body = to_json(order)
    try:
        reference = hub.connector(account).release_order(body)
    except PermanentError as exc:
        _refused(hub, payload["order_id"], account, exc)
        raise
    with hub.db.transaction() as session:
        order = session.execute(
            select(OrderRow).where(OrderRow.id == payload["order_id"]).with_for_update()
        ).scalar_one_or_none()
        if order is None:
            return
        sent = {"account": account.name, "reference": reference}
        if order.status == OrderStatus.CANCELLED:
            # cancelled while it was on its way: stop it there too
            order.data = {**order.data, "warehouse": sent}
            cancel(hub, session, order)
            return
        if order.status != OrderStatus.READY:
            return
        move(
            session,
            order,
            OrderStatus.RELEASED,
            "released",
            f"released to warehouse {account.name}"
            + (f" (reference {reference})" if reference else ""),
            data={"warehouse": account.name, "reference": reference},
            keep={"warehouse": sent},
        )


def _refused(hub: Hub, order_id: int, account: Account, exc: PermanentError) -> None:
    """The warehouse will never take the order as it is: give its stock back and put it in
    front of a person (``needs_attention``, the warehouse's reason on its timeline)."""
    with hub.db.transaction() as session:
        order = session.execute(
            select(OrderRow).where(OrderRow.id == order_id).with_for_update()
        ).scalar_one_or_none()
        if order is None or order.status != OrderStatus.READY:
            return
        ledger.deallocate(session, order.id)
        move(
            session,
            order,
            OrderStatus.NEEDS_ATTENTION,
            "warehouse_refused",
            f"warehouse {account.name} refused the order: {exc.message}",
            data={"warehouse": account.name},
        )


@job_handler(CANCEL, own_transactions=True)
def cancel_at_warehouse(hub: Hub, payload: dict[str, Any]) -> None:
    account = _account(hub, payload["account"])
    with hub.db.transaction() as session:
        order = session.get(OrderRow, payload["order_id"])
        if order is None:
            return
        body = to_json(order)
    hub.connector(account).cancel_order(body, payload.get("reference"))
    with hub.db.transaction() as session:
        order = session.get(OrderRow, payload["order_id"])
        if order is not None:
            add_event(session, order, "warehouse_cancelled", f"cancelled at {account.name}")


def apply_batch(hub: Hub, session: Session, account: Account, batch: WarehouseBatch) -> None:
    """A batch's counts and shipments, in the caller's transaction (all or nothing)."""
    location = default_location(hub, account.client)
    for count in batch.counts:
        ledger.set_on_hand(
            session,
            account.client,
            count.sku,
            count.location or location,
            count.on_hand,
            reason="count",
            actor=account.name,
            ref=batch.ref,
        )
    for body in batch.shipments:
        order = (
            session.get(OrderRow, body.get("order_id"))
            if isinstance(body.get("order_id"), int)
            else None
        )
        if order is not None and order.client != account.client:
            # a warehouse ships its own client's orders only
            raise shipments.ShipmentError(
                f"order {order.id} is not {account.client!r}'s", status=409
            )
        recorded = shipments.record(
            session, body, actor=account.name, source=account.name, counted=True
        )
        if not recorded.duplicate:
            fulfilment.after_shipment(hub, session, recorded.shipment_id)
    if batch.returns:  # receipts of returns: applied by hub.returns, above this floor
        receiver = importlib.import_module(RETURNS_RECEIVER)
        receiver.apply_receipts(hub, session, account, batch.returns)
    if batch.state is not None:
        account_state.save(session, account.name, "poll", batch.state)


class _Unreadable(Exception):
    """A batch the connector could not read (``WarehouseBatch.error``)."""


#: what a wrong batch raises; its message is the hub's own and is kept
_REFUSED = (HubError, ValueError, KeyError, _Unreadable)


def _reason(exc: Exception) -> str:
    """Why a batch was refused, for its audit entry, the log and the warehouse (a file
    drop's ``.error.txt``): never the database's echo of the values (a file's content)."""
    if isinstance(exc, _Unreadable):
        return str(exc)
    if isinstance(exc, DBAPIError):  # its text quotes the statement's values
        diag = getattr(exc.orig, "diag", None)
        constraint = getattr(diag, "constraint_name", None)
        said = f"{type(exc.orig).__name__}{f' on {constraint}' if constraint else ''}"
        return f"{type(exc).__name__}: the database refused it ({said})"
    if isinstance(exc, _REFUSED):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__} while applying it"


def poll_account(hub: Hub, account: Account) -> dict[str, int]:
    """Read and apply everything the warehouse has to report; returns counts of batches
    applied and failed. A failed batch is handed back to the connector (a file goes to
    ``failed/``) and audited with its error and content, never half applied."""
    connector = hub.connector(account)
    with hub.db.transaction() as session:
        state = account_state.load(session, account.name, "poll")
    applied = failed = 0
    for batch in connector.poll(state):
        try:
            if batch.error is not None:
                raise _Unreadable(batch.error)
            with hub.db.transaction() as session:
                apply_batch(hub, session, account, batch)
        except OperationalError:
            raise  # the database is down, not the batch wrong: the job is retried
        except Exception as exc:
            # Whatever it is (RecursionError, an overflow, a bug), the batch is refused whole
            # and the poll goes on: one that fails on every poll would block the warehouse.
            error = _reason(exc)
            if isinstance(exc, (*_REFUSED, IntegrityError)):
                log.warning("%s: batch %s refused: %s", account.name, batch.ref, error)
            else:
                where = traceback.extract_tb(exc.__traceback__)[-1]
                log.error(
                    "%s: batch %s refused: %s (at %s:%s)",
                    account.name,
                    batch.ref,
                    error,
                    Path(where.filename).name,
                    where.lineno,
                )
            with hub.db.transaction() as session:
                audit.record(
                    session,
                    account.name,
                    "warehouse.batch_failed",
                    batch.ref,
                    {
                        "error": error,
                        "counts": [vars(c) for c in batch.counts],
                        "shipments": batch.shipments,
                    },
                )
                if batch.state is not None:  # move past it: the audit entry keeps it
                    account_state.save(session, account.name, "poll", batch.state)
            connector.finish(batch, error)
            failed += 1
            continue
        connector.finish(batch, None)
        applied += 1
    return {"applied": applied, "failed": failed}


@job_handler(POLL, own_transactions=True)
def poll(hub: Hub, payload: dict[str, Any]) -> None:
    result = poll_account(hub, _account(hub, payload["account"]))
    log.info("warehouse %s polled: %s", payload["account"], result)


def feeds(hub: Hub) -> list[Account]:
    """Warehouse accounts that report stock and shipments back."""
    return [
        a
        for a in hub.accounts.values()
        if _is_outside_warehouse(a) and calls_out(a, Capability.WAREHOUSE_FEED)
    ]


@job_handler(POLL_ALL)
def poll_all(hub: Hub, session: Session, payload: dict[str, Any]) -> None:
    slot = payload.get("slot") or int(now().timestamp())
    for account in feeds(hub):
        outbox.enqueue(
            session,
            POLL,
            {"account": account.name},
            max_attempts=hub.settings.job_max_attempts,
            dedupe_key=f"{POLL}:{account.name}:{slot}",
        )
