"""A return's life, in the caller's transaction: opened (through the API, the console or a
channel), authorised or rejected, on its way back, received, inspected (each line resellable,
damaged or quarantine, with an optional grade), closed; cancelled at any point before it is
received. Every step is on the return's timeline and the order's.

Quantities never exceed what was shipped of a line less what other returns (not rejected or
cancelled) already take back. At inspection resellable goods go back to on-hand stock through
the ledger (the delta stock sync then tells every channel); damaged and quarantined goods go
to the ``damaged`` and ``quarantine`` locations, held but never sold. When the account's
policy says so (``returns.refund``: ``on_receipt`` or ``on_inspection``; default ``none``) a
``return.refund`` job tells the channel, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.canonical import RETURN_REASONS, ReturnRequest
from hub.connectors import Account, Capability, calls_out, connector_class
from hub.jobs import outbox
from hub.orders.store import add_event
from hub.shipping import tracking
from hub.shipping.shipments import carriers, shipped_so_far
from hub.shipping.warehouse import warehouse_for
from hub.stock import ledger
from hub.storage.models import OrderRow, ParcelRow, ReturnEventRow, ReturnLineRow, ReturnRow
from hub.values import iso, now

REQUESTED, AUTHORISED, REJECTED, IN_TRANSIT = "requested", "authorised", "rejected", "in_transit"
RECEIVED, INSPECTED, CLOSED, CANCELLED = "received", "inspected", "closed", "cancelled"
STATUSES = (REQUESTED, AUTHORISED, REJECTED, IN_TRANSIT, RECEIVED, INSPECTED, CLOSED, CANCELLED)
#: returns that no longer take anything back
VOID = (REJECTED, CANCELLED)
CONDITIONS = ("resellable", "damaged", "quarantine")
GRADES = ("A", "B", "C")
#: where each condition's goods go in the ledger (resellable: the location given, or this)
SELLABLE_LOCATION = "default"
LOCATION = {"damaged": "damaged", "quarantine": "quarantine"}
REFUND_POLICIES = ("none", "on_receipt", "on_inspection")
REFUND = "return.refund"
#: the advance notice to the client's outside warehouse (:mod:`hub.returns.warehouse`)
EXPECT = "return.expect"
#: which states each step may start from
_FROM = {
    AUTHORISED: (REQUESTED,),
    REJECTED: (REQUESTED,),
    IN_TRANSIT: (AUTHORISED,),
    RECEIVED: (REQUESTED, AUTHORISED, IN_TRANSIT),
    INSPECTED: (RECEIVED,),
    CLOSED: (RECEIVED, INSPECTED),
    CANCELLED: (REQUESTED, AUTHORISED, IN_TRANSIT),
}


class ReturnError(ValueError):
    """A return that cannot be made or moved: ``status`` 404 (no such order or line), 409
    (the wrong state, more than can come back) or 422 (a value that makes no sense)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


@dataclass(frozen=True)
class LineRequest:
    """One line of a request: the order line by the channel's line id or by SKU."""

    quantity: int | None = None
    line_id: str | None = None
    sku: str | None = None
    reason: str | None = None
    condition: str | None = None
    grade: str | None = None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> LineRequest:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})


def policy(account: Account | None) -> dict[str, Any]:
    """The account's returns policy (``returns = {refund, restock_on_channel}``)."""
    given = dict((account.settings.get("returns") or {}) if account is not None else {})
    return {
        "refund": given.get("refund", "none"),
        "restock_on_channel": bool(given.get("restock_on_channel", False)),
    }


# -- reading ------------------------------------------------------------------------------------
def lines_of(session: Session, return_id: int) -> list[ReturnLineRow]:
    return list(
        session.execute(
            select(ReturnLineRow)
            .where(ReturnLineRow.return_id == return_id)
            .order_by(ReturnLineRow.position)
        ).scalars()
    )


def events_of(session: Session, return_id: int) -> list[ReturnEventRow]:
    return list(
        session.execute(
            select(ReturnEventRow)
            .where(ReturnEventRow.return_id == return_id)
            .order_by(ReturnEventRow.at, ReturnEventRow.id)
        ).scalars()
    )


def to_json(session: Session, row: ReturnRow, *, events: bool = False) -> dict[str, Any]:
    """A return as the API shows it; with ``events``, its timeline too."""
    order = session.get(OrderRow, row.order_id)
    order_lines = (order.data.get("lines") or []) if order is not None else []
    out: dict[str, Any] = {
        "id": row.id,
        "order_id": row.order_id,
        "order_number": order.number if order is not None else None,
        "client": row.client,
        "account": row.account,
        "channel": row.channel,
        "status": row.status,
        "source": row.source,
        "external_id": row.external_id,
        "note": row.note,
        "rejected_reason": row.rejected_reason,
        "label": {"carrier": row.label_carrier, "tracking_number": row.label_tracking}
        if row.label_tracking
        else None,
        **_label_tracking(session, row),
        "lines": [
            {
                "position": line.position,
                "line_id": (
                    order_lines[line.position].get("external_id")
                    if line.position < len(order_lines)
                    else None
                ),
                "sku": line.sku,
                "quantity": line.quantity,
                "reason": line.reason,
                "received": line.received,
                "condition": line.condition,
                "grade": line.grade,
            }
            for line in lines_of(session, row.id)
        ],
        "refund": {"status": row.refund_status, "ref": row.refund_ref},
        "created_at": iso(row.created_at),
        "authorised_at": iso(row.authorised_at),
        "received_at": iso(row.received_at),
        "restocked_at": iso(row.restocked_at),
        "closed_at": iso(row.closed_at),
        "dock_to_stock_seconds": round((row.restocked_at - row.received_at).total_seconds(), 1)
        if row.restocked_at and row.received_at
        else None,
    }
    if events:
        out["events"] = [
            {"at": iso(e.at), "kind": e.kind, "message": e.message, "actor": e.actor}
            for e in events_of(session, row.id)
        ]
    return out


def _label_tracking(session: Session, row: ReturnRow) -> dict[str, Any]:
    """What the carrier last said of the return label (all None while it is not followed)."""
    parcel = tracking.return_label(session, row.id) if row.label_tracking else None
    return {
        "label_status": parcel.status if parcel is not None else None,
        "label_status_at": iso(parcel.last_event_at) if parcel is not None else None,
        "label_checked_at": iso(parcel.last_checked_at) if parcel is not None else None,
    }


# -- steps --------------------------------------------------------------------------------------
def record(session: Session, row: ReturnRow, kind: str, message: str, actor: str) -> None:
    at = now()
    row.updated_at = at
    session.add(ReturnEventRow(return_id=row.id, at=at, kind=kind, message=message, actor=actor))
    order = session.get(OrderRow, row.order_id)
    if order is not None:
        add_event(
            session, order, f"return_{kind}", f"return {row.id}: {message}",
            data={"return_id": row.id},
        )  # fmt: skip


def _move(row: ReturnRow, to: str) -> None:
    if row.status not in _FROM[to]:
        raise ReturnError(
            409,
            "wrong_state",
            f"return {row.id} is {row.status}; it can become {to} only from "
            f"{' or '.join(_FROM[to])}",
            {"status": row.status},
        )
    row.status = to


def _position(order: OrderRow, line: LineRequest, index: int, field: str) -> int:
    """The order line a request names, by the channel's line id or else by SKU."""
    lines = order.data.get("lines") or []
    if line.line_id is not None:
        for position, found in enumerate(lines):
            if str(found.get("external_id")) == str(line.line_id):
                return position
        raise ReturnError(
            422, "unknown_line", f"{field}[{index}].line_id: order {order.id} has no line "
            f"{line.line_id!r}", {"field": f"{field}[{index}].line_id"},
        )  # fmt: skip
    if line.sku is not None:
        matches = [p for p, found in enumerate(lines) if found.get("sku") == line.sku]
        if not matches:
            raise ReturnError(
                422, "unknown_line", f"{field}[{index}].sku: order {order.id} has no line "
                f"with SKU {line.sku!r}", {"field": f"{field}[{index}].sku"},
            )  # fmt: skip
        return matches[0]
    raise ReturnError(
        422, "unknown_line", f"{field}[{index}]: give line_id or sku",
        {"field": f"{field}[{index}]"},
    )  # fmt: skip


def returnable(session: Session, order: OrderRow, excluding: int | None = None) -> dict[int, int]:
    """Per order line position: shipped less what returns not rejected or cancelled take."""
    shipped = shipped_so_far(session, order.id)
    taken = dict(
        session.execute(
            select(ReturnLineRow.position, func.sum(ReturnLineRow.quantity))
            .join(ReturnRow, ReturnRow.id == ReturnLineRow.return_id)
            .where(
                ReturnRow.order_id == order.id,
                ReturnRow.status.not_in(VOID),
                ReturnRow.id != (excluding or 0),
            )
            .group_by(ReturnLineRow.position)
        ).all()
    )
    return {p: n - int(taken.get(p, 0)) for p, n in shipped.items()}


def open_return(
    session: Session,
    order: OrderRow,
    lines: Iterable[LineRequest],
    *,
    actor: str,
    source: str,
    note: str | None = None,
    external_id: str | None = None,
) -> ReturnRow:
    """Open a return of ``order`` for ``lines`` (each with a quantity and a reason)."""
    wanted: dict[int, tuple[int, str]] = {}
    for index, line in enumerate(lines):
        if line.quantity is None or line.quantity < 1:
            raise ReturnError(
                422, "bad_quantity", f"lines[{index}].quantity: at least 1",
                {"field": f"lines[{index}].quantity"},
            )  # fmt: skip
        reason = line.reason or "unknown"
        if reason not in RETURN_REASONS:
            raise ReturnError(
                422, "bad_reason",
                f"lines[{index}].reason: one of {', '.join(RETURN_REASONS)}, not {reason!r}",
                {"field": f"lines[{index}].reason"},
            )  # fmt: skip
        position = _position(order, line, index, "lines")
        before = wanted.get(position, (0, reason))[0]
        wanted[position] = (before + line.quantity, reason)
    if not wanted:
        raise ReturnError(422, "no_lines", "lines: a return takes back at least one line")
    left = returnable(session, order)
    over = [
        f"lines {p} ({(order.data['lines'][p].get('sku'))}): {n} asked, {max(left.get(p, 0), 0)} "
        "shipped and not returned yet"
        for p, (n, _) in sorted(wanted.items())
        if n > left.get(p, 0)
    ]
    if over:
        raise ReturnError(409, "too_many", "more than can come back: " + "; ".join(over), over)
    at = now()
    row = ReturnRow(
        order_id=order.id,
        client=order.client,
        account=order.account,
        channel=order.channel,
        status=REQUESTED,
        source=source,
        external_id=external_id,
        note=note,
        created_at=at,
        updated_at=at,
    )
    session.add(row)
    session.flush()
    for position, (quantity, reason) in sorted(wanted.items()):
        session.add(
            ReturnLineRow(
                return_id=row.id,
                position=position,
                sku=order.data["lines"][position].get("sku"),
                quantity=quantity,
                reason=reason,
                received=0,
            )
        )
    count = sum(q for q, _ in wanted.values())
    record(session, row, "requested", f"{count} item(s) to come back ({source})", actor)
    return row


def authorise(
    session: Session,
    row: ReturnRow,
    *,
    actor: str,
    hub: Any = None,
    carrier: str | None = None,
    tracking_number: str | None = None,
    carrier_account: str | None = None,
) -> ReturnRow:
    """Authorise it; with a return label's tracking number it is on its way back. Given the
    ``hub``, the client's outside warehouse is told to expect it (when it takes returns), and
    a label with its carrier is followed by the carrier's tracking (:func:`in_transit`)."""
    _move(row, AUTHORISED)
    row.authorised_at = now()
    record(session, row, "authorised", "authorised", actor)
    if hub is not None:
        notify_warehouse(hub, session, row)
    if tracking_number:
        in_transit(
            session, row, actor=actor, carrier=carrier, tracking_number=tracking_number,
            hub=hub, carrier_account=carrier_account,
        )  # fmt: skip
    return row


def in_transit(
    session: Session,
    row: ReturnRow,
    *,
    actor: str,
    carrier: str | None,
    tracking_number: str,
    hub: Any = None,
    carrier_account: str | None = None,
) -> ReturnRow:
    """On its way back with a label. Given the ``hub`` and the label's carrier, the label is
    followed like an outbound parcel, by the carrier account that would follow the client's
    parcels (422 naming the field when there is none, as for a shipment; 409 when another
    parcel has the number)."""
    _move(row, IN_TRANSIT)
    row.label_carrier, row.label_tracking = carrier, tracking_number
    if hub is not None and carrier:
        account = _label_account(hub, session, row, carrier, tracking_number, carrier_account)
        tracking.follow_return_label(hub, session, row, carrier, tracking_number, account)
    where = f"{carrier} {tracking_number}" if carrier else tracking_number
    record(session, row, "in_transit", f"on its way back ({where})", actor)
    return row


def _label_account(
    hub: Any, session: Session, row: ReturnRow, carrier: str, number: str, name: str | None
) -> str | None:
    """The carrier account named for the label (None: the one tracking picks), once it is
    known that some account will follow it."""
    if carrier not in carriers():
        raise ReturnError(
            422, "unknown_carrier", f"carrier: one of {', '.join(carriers())}, not {carrier!r}",
            {"field": "carrier"},
        )  # fmt: skip
    if name:
        account, problem = hub.accounts.get(name), None
        if account is None:
            problem = f"no account named {name!r} is configured"
        elif account.connector != carrier:
            problem = f"{name!r} is a {account.connector} account, not {carrier}"
        elif account.client != row.client:
            problem = f"{name!r} is client {account.client!r}'s, not {row.client!r}'s"
        if problem:
            raise ReturnError(
                422, "no_carrier_account", f"carrier_account: {problem}",
                {"field": "carrier_account"},
            )  # fmt: skip
    elif tracking.carrier_account(hub, row.client, carrier, None) is None:
        own = sorted(
            a.name
            for a in hub.accounts.values()
            if a.connector == carrier and a.client == row.client
        )
        if own:
            raise ReturnError(
                422, "no_carrier_account", f"carrier_account: client {row.client!r} has "
                f"several {carrier} accounts: name one of {', '.join(own)}",
                {"field": "carrier_account"},
            )  # fmt: skip
        raise ReturnError(
            422, "no_carrier_account", f"carrier: no {carrier} account is configured for client "
            f"{row.client!r}, so nothing could follow the return label", {"field": "carrier"},
        )  # fmt: skip
    taken = session.execute(
        select(ParcelRow).where(ParcelRow.carrier == carrier, ParcelRow.tracking_number == number)
    ).scalar_one_or_none()
    if taken is not None:
        whose = f"return {taken.return_id}'s label" if taken.return_id else "a parcel"
        whose += f" of order {taken.order_id}"
        raise ReturnError(
            409, "tracking_taken", f"tracking_number: {carrier} {number} is {whose} already",
            {"field": "tracking_number"},
        )  # fmt: skip
    return name


def notify_warehouse(hub: Any, session: Session, row: ReturnRow) -> bool:
    """Queue the advance notice to the client's outside warehouse, once, when its connector
    takes returns; False when there is none to tell."""
    account = warehouse_for(hub, row.client)
    if account is None or Capability.RETURNS not in connector_class(account.connector).capabilities:
        return False
    outbox.enqueue(
        session,
        EXPECT,
        {"return_id": row.id, "account": account.name},
        max_attempts=hub.settings.job_max_attempts,
        dedupe_key=f"{EXPECT}:{row.id}",
    )
    return True


def reject(session: Session, row: ReturnRow, *, actor: str, reason: str) -> ReturnRow:
    _move(row, REJECTED)
    row.rejected_reason = reason
    record(session, row, "rejected", f"rejected: {reason}", actor)
    return row


def cancel(session: Session, row: ReturnRow, *, actor: str, reason: str | None = None) -> ReturnRow:
    _move(row, CANCELLED)
    tracking.stop_following_return(session, row.id)
    record(session, row, "cancelled", "cancelled" + (f": {reason}" if reason else ""), actor)
    return row


def close(session: Session, row: ReturnRow, *, actor: str) -> ReturnRow:
    _move(row, CLOSED)
    row.closed_at = now()
    tracking.stop_following_return(session, row.id)
    record(session, row, "closed", "closed", actor)
    return row


def receive(
    session: Session,
    hub: Any,
    row: ReturnRow,
    lines: Iterable[LineRequest],
    *,
    actor: str,
    received_at: datetime | None = None,
    location: str | None = None,
) -> ReturnRow:
    """What came back, per line. Lines given a condition are inspected at once (their stock
    moves); the return is ``inspected`` when every line received has one, else ``received``
    (:func:`inspect` gives the rest)."""
    order = _order(session, row)
    _move(row, RECEIVED)
    row.received_at = received_at or now()
    kept = {line.position: line for line in lines_of(session, row.id)}
    given = _per_line(order, kept, lines, "lines")
    for position, (quantity, _condition, _grade) in given.items():
        line = kept[position]
        if quantity > line.quantity - line.received:
            raise ReturnError(
                409, "too_many", f"lines: {quantity} of {line.sku or position} received; the "
                f"return expects {line.quantity - line.received}",
            )  # fmt: skip
        line.received += quantity
    total = sum(q for q, _, _ in given.values())
    record(session, row, "received", f"{total} item(s) received", actor)
    _refund_if(hub, session, row, "on_receipt")
    conditions = {p: (c, g) for p, (_, c, g) in given.items() if c}
    if conditions:
        _inspect(session, hub, row, order, kept, conditions, actor=actor, location=location)
    return row


def inspect(
    session: Session,
    hub: Any,
    row: ReturnRow,
    lines: Iterable[LineRequest],
    *,
    actor: str,
    location: str | None = None,
) -> ReturnRow:
    """The condition (and grade) of each received line, and its stock put away."""
    if row.status != RECEIVED:
        raise ReturnError(
            409, "wrong_state", f"return {row.id} is {row.status}; only a received one is "
            "inspected", {"status": row.status},
        )  # fmt: skip
    order = _order(session, row)
    kept = {line.position: line for line in lines_of(session, row.id)}
    given = _per_line(order, kept, lines, "lines")
    missing = [p for p, (_, c, _) in given.items() if not c]
    if missing:
        raise ReturnError(422, "no_condition", "lines: each needs a condition to be inspected")
    conditions = {p: (c, g) for p, (_, c, g) in given.items()}
    _inspect(session, hub, row, order, kept, conditions, actor=actor, location=location)
    return row


def _order(session: Session, row: ReturnRow) -> OrderRow:
    order = session.get(OrderRow, row.order_id)
    if order is None:  # pragma: no cover - returns go with their order
        raise ReturnError(404, "not_found", f"return {row.id}'s order is gone")
    return order


def _per_line(
    order: OrderRow,
    kept: Mapping[int, ReturnLineRow],
    lines: Iterable[LineRequest],
    field: str,
) -> dict[int, tuple[int, str | None, str | None]]:
    given: dict[int, tuple[int, str | None, str | None]] = {}
    for index, line in enumerate(lines):
        position = _position(order, line, index, field)
        if position not in kept:
            raise ReturnError(
                422, "unknown_line", f"{field}[{index}]: the return does not take back order "
                f"line {position}", {"field": f"{field}[{index}]"},
            )  # fmt: skip
        if line.condition is not None and line.condition not in CONDITIONS:
            raise ReturnError(
                422, "bad_condition",
                f"{field}[{index}].condition: one of {', '.join(CONDITIONS)}, "
                f"not {line.condition!r}",
                {"field": f"{field}[{index}].condition"},
            )  # fmt: skip
        if line.grade is not None and line.grade not in GRADES:
            raise ReturnError(
                422, "bad_grade", f"{field}[{index}].grade: A, B or C, not {line.grade!r}",
                {"field": f"{field}[{index}].grade"},
            )  # fmt: skip
        quantity = line.quantity if line.quantity is not None else kept[position].quantity
        if quantity < 0:
            raise ReturnError(422, "bad_quantity", f"{field}[{index}].quantity: not below 0")
        given[position] = (quantity, line.condition, line.grade)
    if not given:
        raise ReturnError(422, "no_lines", f"{field}: name at least one line")
    return given


def _inspect(
    session: Session,
    hub: Any,
    row: ReturnRow,
    order: OrderRow,
    kept: Mapping[int, ReturnLineRow],
    conditions: Mapping[int, tuple[str, str | None]],
    *,
    actor: str,
    location: str | None,
) -> None:
    words = []
    for position, (condition, grade) in sorted(conditions.items()):
        line = kept[position]
        line.condition, line.grade = condition, grade
        if line.sku and line.received:
            where = LOCATION.get(condition, location or SELLABLE_LOCATION)
            ledger.adjust(
                session, order.client, line.sku, where, line.received,
                reason="return", actor=actor, ref=f"return:{row.id}",
            )  # fmt: skip
        words.append(f"{line.received} x {line.sku or position} {condition}"
                     + (f" (grade {grade})" if grade else ""))  # fmt: skip
    if all(line.condition for line in kept.values() if line.received):
        row.status = INSPECTED
        row.restocked_at = now()
        record(session, row, "inspected", "; ".join(words), actor)
        _refund_if(hub, session, row, "on_inspection")


def _refund_if(hub: Any, session: Session, row: ReturnRow, moment: str) -> None:
    """Queue the refund on the channel once, when the account's policy is ``moment``."""
    account = hub.accounts.get(row.account) if hub is not None else None
    if policy(account)["refund"] != moment or row.refund_status is not None:
        return
    if not calls_out(account, Capability.RETURNS):
        row.refund_status = "not_sent"
        record(
            session,
            row,
            "refund_not_sent",
            f"no refund sent to {row.account}: api_calls = false in its settings "
            "(the hub never calls it; refund it on the channel)",
            "hub",
        )
        return
    row.refund_status = "queued"
    outbox.enqueue(
        session,
        REFUND,
        {"return_id": row.id, "account": row.account},
        max_attempts=hub.settings.job_max_attempts,
        dedupe_key=f"{REFUND}:{row.id}",
    )
    record(session, row, "refund_queued", f"refund queued for {row.account} ({moment})", "hub")


# -- from a channel -------------------------------------------------------------------------------
def from_channel(
    session: Session, hub: Any, account: Account, request: ReturnRequest, *, actor: str
) -> ReturnRow | None:
    """Apply what a channel says of a return: open it the first time, then move it on (a step
    already taken, or one that no longer applies, changes nothing). None when the order is not
    the hub's, or when the channel names a return the hub never opened and no goods with it.

    ``external_id`` ``hub-return-<id>`` (the key the hub sends with its own refunds) names the
    hub's return ``<id>``. ``closed`` means the channel has refunded the return: the hub then
    never refunds it itself (a refund it queued is called off), and closes it once inspected."""
    row = _channel_return(session, account, request.external_id)
    if row is None:
        if not request.lines:
            return None
        order = session.execute(
            select(OrderRow).where(
                OrderRow.account == account.name,
                OrderRow.external_id == request.order_external_id,
            )
        ).scalar_one_or_none()
        if order is None:
            return None
        lines, left_out = _shipped_part(session, order, request)
        if not lines:
            return None
        row = open_return(
            session,
            order,
            lines,
            actor=actor,
            source="channel",
            note=request.note,
            external_id=request.external_id,
        )
        if left_out:
            record(
                session, row, "left_out", "never shipped from here: " + "; ".join(left_out), actor
            )
    if request.status == CLOSED and row.refund_status in (None, "queued", "not_sent"):
        row.refund_status, row.refund_ref = "done", request.external_id
        record(session, row, "refunded", f"refunded on {account.name} itself", actor)
    if request.status in _FROM and row.status in _FROM[request.status]:
        if request.status == AUTHORISED:
            authorise(session, row, actor=actor)
        elif request.status == REJECTED:
            reject(session, row, actor=actor, reason=request.reason_text or "by the channel")
        elif request.status == CANCELLED:
            cancel(session, row, actor=actor, reason=request.reason_text)
        elif request.status == CLOSED and row.status == INSPECTED:
            close(session, row, actor=actor)  # not before inspection puts the goods away
    return row


def _shipped_part(
    session: Session, order: OrderRow, request: ReturnRequest
) -> tuple[list[LineRequest], list[str]]:
    """What of a channel's return the hub can take back: each line up to what it shipped and
    no other return takes (a channel also restocks units it cancelled before they shipped, or
    ones it shipped itself); and what was left out, line by line."""
    left = returnable(session, order)
    lines, left_out = [], []
    for index, asked in enumerate(request.lines):
        line = LineRequest(
            quantity=asked.quantity, line_id=asked.line_id, sku=asked.sku, reason=asked.reason
        )
        position = _position(order, line, index, "lines")
        take = min(line.quantity or 0, max(left.get(position, 0), 0))
        if take < (line.quantity or 0):
            sku = order.data["lines"][position].get("sku")
            left_out.append(
                f"lines {position} ({sku}): {(line.quantity or 0) - take} of {line.quantity}"
            )
        if take > 0:
            left[position] -= take
            lines.append(replace(line, quantity=take))
    return lines, left_out


#: the prefix of the key the hub's own refunds carry (``return.refund``)
OWN_KEY = "hub-return-"


def _channel_return(session: Session, account: Account, external_id: str) -> ReturnRow | None:
    if external_id.startswith(OWN_KEY) and external_id[len(OWN_KEY) :].isdigit():
        row = session.get(ReturnRow, int(external_id[len(OWN_KEY) :]))
        return row if row is not None and row.account == account.name else None
    return session.execute(
        select(ReturnRow).where(
            ReturnRow.account == account.name, ReturnRow.external_id == external_id
        )
    ).scalar_one_or_none()
