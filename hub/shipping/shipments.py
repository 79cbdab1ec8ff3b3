"""Pack confirmations: a shipment records its parcels, moves the stock out of the ledger,
releases what was allocated for it, and moves the order to ``partially_shipped`` or
``shipped``. The same record serves every warehouse (the ledger, a WMS, a file drop).

Shape, as ``POST /api/shipments`` takes it::

    {"order_id": 12, "shipped_at": "2026-11-26T10:00:00Z",
     "parcels": [{"carrier": "royalmail", "carrier_account": null, "service": "TPN24",
                  "tracking_number": "AB123456789GB",
                  "lines": [{"line_id": "466157049" | "sku": "MUG-1", "quantity": 1}]}]}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.canonical import OrderStatus
from hub.orders.store import move
from hub.stock import ledger
from hub.storage.models import (
    AllocationRow,
    OrderRow,
    ParcelEventRow,
    ParcelRow,
    ShipmentRow,
    StockLevelRow,
)
from hub.values import iso, now, utc

#: the carrier connectors' names (DESIGN)


def carriers() -> tuple[str, ...]:
    """Carrier names a parcel may name: every installed carrier connector."""
    from hub.connectors import registry

    return tuple(sorted(name for name, cls in registry().items() if cls.kind == "carrier"))


SHIPPABLE = (OrderStatus.RELEASED.value, OrderStatus.PARTIALLY_SHIPPED.value)


class ShipmentError(ValueError):
    """A shipment that cannot be recorded; ``status`` is the HTTP status that says why."""

    def __init__(self, message: str, status: int = 422, details: Any = None):
        super().__init__(message)
        self.status, self.details = status, details


@dataclass(frozen=True)
class Recorded:
    shipment_id: int
    order_id: int
    status: str
    duplicate: bool


def shipped_so_far(session: Session, order_id: int) -> dict[int, int]:
    """Quantity shipped per order line position."""
    done: dict[int, int] = {}
    for lines in session.execute(
        select(ParcelRow.lines).where(ParcelRow.order_id == order_id)
    ).scalars():
        for line in lines:
            done[line["position"]] = done.get(line["position"], 0) + line["quantity"]
    return done


def _resolve(order: OrderRow, ref: dict[str, Any], where: str) -> int:
    """The order line position a parcel line means (by ``line_id`` or ``sku``)."""
    lines = order.data.get("lines") or []
    if "line_id" in ref:
        found = [i for i, ln in enumerate(lines) if ln.get("external_id") == str(ref["line_id"])]
        what = f"line_id {ref['line_id']!r}"
    elif "sku" in ref:
        found = [i for i, ln in enumerate(lines) if ln.get("sku") == ref["sku"]]
        what = f"sku {ref['sku']!r}"
    else:
        raise ShipmentError(f"{where}: give line_id or sku")
    if not found:
        raise ShipmentError(f"{where}: the order has no line with {what}")
    if len(found) > 1 and "sku" in ref:
        raise ShipmentError(f"{where}: {what} is on several lines; give line_id")
    return found[0]


def _parse(order: OrderRow, body: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
    shipped_at = utc(body.get("shipped_at"), path="shipped_at") or now()
    parcels = body.get("parcels")
    if not isinstance(parcels, list) or not parcels:
        raise ShipmentError("parcels: give at least one parcel")
    out = []
    for p, parcel in enumerate(parcels):
        where = f"parcels[{p}]"
        if not isinstance(parcel, dict):
            raise ShipmentError(f"{where}: must be an object")
        if parcel.get("carrier") not in carriers():
            raise ShipmentError(
                f"{where}.carrier: one of {', '.join(carriers())}, not {parcel.get('carrier')!r}"
            )
        tracking = parcel.get("tracking_number")
        if not isinstance(tracking, str) or not tracking.strip():
            raise ShipmentError(f"{where}.tracking_number: required")
        lines = parcel.get("lines")
        if not isinstance(lines, list) or not lines:
            raise ShipmentError(f"{where}.lines: give at least one line")
        resolved = []
        for i, ref in enumerate(lines):
            at = f"{where}.lines[{i}]"
            if not isinstance(ref, dict):
                raise ShipmentError(f"{at}: must be an object")
            quantity = ref.get("quantity")
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                raise ShipmentError(f"{at}.quantity: a whole number >= 1")
            position = _resolve(order, ref, at)
            resolved.append(
                {
                    "position": position,
                    "line_id": order.data["lines"][position].get("external_id"),
                    "sku": order.data["lines"][position].get("sku"),
                    "quantity": quantity,
                }
            )
        out.append(
            {
                "carrier": parcel["carrier"],
                "carrier_account": parcel.get("carrier_account"),
                "service": parcel.get("service"),
                "tracking_number": tracking.strip(),
                "lines": resolved,
            }
        )
    return shipped_at, out


def _take_stock(
    session: Session, client: str, sku: str, quantity: int, ref: str, actor: str, counted: bool
) -> None:
    """Move ``quantity`` out, from the locations that hold it (alphabetical: pick order).

    ``counted``: the warehouse's own counts feed the ledger, and a count read before this
    shipment may have left its units out already; take what is there instead of refusing
    (the next count settles the level either way)."""
    rows = (
        session.execute(
            select(StockLevelRow)
            .where(
                StockLevelRow.client == client, StockLevelRow.sku == sku, StockLevelRow.on_hand > 0
            )
            .order_by(StockLevelRow.location)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    held = sum(r.on_hand for r in rows)
    if counted:
        quantity = min(quantity, held)
    if held < quantity:
        raise ShipmentError(
            f"{sku!r}: the ledger holds {sum(r.on_hand for r in rows)}, "
            f"{quantity} shipped; count the stock first",
            status=409,
        )
    for row in rows:
        take = min(row.on_hand, quantity)
        if take:
            ledger.adjust(
                session, client, sku, row.location, -take, reason="shipment", actor=actor, ref=ref
            )
            quantity -= take


def record(
    session: Session,
    body: dict[str, Any],
    *,
    actor: str,
    source: str = "api",
    counted: bool = False,
) -> Recorded:
    """Record a pack confirmation in the caller's transaction. ``counted``: from a warehouse
    whose stock counts feed the ledger (see :func:`_take_stock`)."""
    order_id = body.get("order_id")
    order = (
        session.execute(
            select(OrderRow).where(OrderRow.id == order_id).with_for_update()
        ).scalar_one_or_none()
        if isinstance(order_id, int)
        else None
    )
    if order is None:
        raise ShipmentError(f"no order with id {order_id!r}", status=404)
    shipped_at, parcels = _parse(order, body)
    known = [
        session.execute(
            select(ParcelRow).where(
                ParcelRow.carrier == p["carrier"], ParcelRow.tracking_number == p["tracking_number"]
            )
        ).scalar_one_or_none()
        for p in parcels
    ]
    if any(k is not None for k in known):
        first = next(k for k in known if k is not None)
        if all(k is not None and k.order_id == order.id for k in known):
            # the same confirmation again: one effect
            return Recorded(first.shipment_id, order.id, order.status, True)
        raise ShipmentError(
            f"{first.carrier} tracking number {first.tracking_number} is recorded already "
            f"(order {first.order_id})",
            status=409,
        )
    if order.status not in SHIPPABLE:
        raise ShipmentError(
            f"order {order.id} is {order.status}; only released or partially "
            "shipped orders can ship",
            status=409,
        )
    ordered = {i: int(ln.get("quantity", 0)) for i, ln in enumerate(order.data["lines"])}
    done = shipped_so_far(session, order.id)
    for parcel in parcels:
        for line in parcel["lines"]:
            done[line["position"]] = done.get(line["position"], 0) + line["quantity"]
    over = [
        f"lines[{i}]: {n} shipped, {ordered[i]} ordered" for i, n in done.items() if n > ordered[i]
    ]
    if over:
        raise ShipmentError("more shipped than ordered: " + "; ".join(over), details=over)
    shipment = ShipmentRow(
        order_id=order.id, shipped_at=shipped_at, source=source, created_at=now()
    )
    session.add(shipment)
    session.flush()
    for parcel in parcels:
        session.add(
            ParcelRow(shipment_id=shipment.id, order_id=order.id, status="label_created", **parcel)
        )
        for line in parcel["lines"]:
            _take_stock(
                session,
                order.client,
                line["sku"],
                line["quantity"],
                f"shipment:{shipment.id}",
                actor,
                counted,
            )
            _release_allocation(session, order.id, line["position"], line["quantity"])
    owed = [
        i
        for i, ln in enumerate(order.data["lines"])
        if ln.get("requires_shipping") and ordered[i] > 0
    ]
    complete = all(done.get(i, 0) >= ordered[i] for i in owed)
    status = OrderStatus.SHIPPED if complete else OrderStatus.PARTIALLY_SHIPPED
    tracking = ", ".join(f"{p['carrier']} {p['tracking_number']}" for p in parcels)
    move(
        session,
        order,
        status,
        "shipped",
        f"{len(parcels)} parcel(s) shipped ({tracking}); {status.value}",
        data={"shipment_id": shipment.id},
    )
    return Recorded(shipment.id, order.id, order.status, False)


def _release_allocation(session: Session, order_id: int, position: int, quantity: int) -> None:
    row = session.execute(
        select(AllocationRow).where(
            AllocationRow.order_id == order_id, AllocationRow.position == position
        )
    ).scalar_one_or_none()
    if row is None:
        return
    if row.quantity <= quantity:
        session.delete(row)
    else:
        row.quantity -= quantity


def for_order(session: Session, order_id: int) -> list[dict[str, Any]]:
    """The order's shipments, as ``GET /api/orders/<id>`` shows them."""
    shipments = (
        session.execute(
            select(ShipmentRow).where(ShipmentRow.order_id == order_id).order_by(ShipmentRow.id)
        )
        .scalars()
        .all()
    )
    parcels = (
        session.execute(
            select(ParcelRow).where(ParcelRow.order_id == order_id).order_by(ParcelRow.id)
        )
        .scalars()
        .all()
    )
    events: dict[int, list[dict[str, Any]]] = {}
    if parcels:
        for e in session.execute(
            select(ParcelEventRow)
            .where(ParcelEventRow.parcel_id.in_([p.id for p in parcels]))
            .order_by(ParcelEventRow.at, ParcelEventRow.id)
        ).scalars():
            events.setdefault(e.parcel_id, []).append(event_to_json(e))
    return [
        {
            "id": s.id,
            "order_id": order_id,
            "shipped_at": iso(s.shipped_at),
            "source": s.source,
            "parcels": [
                {
                    "id": p.id,
                    "carrier": p.carrier,
                    "carrier_account": p.carrier_account,
                    "service": p.service,
                    "tracking_number": p.tracking_number,
                    "status": p.status,
                    "carrier_status": p.carrier_status,
                    "estimated_delivery": iso(p.estimated_delivery),
                    "events": events.get(p.id, []),
                    "lines": p.lines,
                    "channel_ref": p.channel_ref,
                }
                for p in parcels
                if p.shipment_id == s.id
            ],
        }
        for s in shipments
    ]


def event_to_json(e: ParcelEventRow) -> dict[str, Any]:
    return {
        "at": iso(e.at),
        "status": e.status,
        "code": e.code or None,
        "text": e.text,
        "location": e.location,
    }
