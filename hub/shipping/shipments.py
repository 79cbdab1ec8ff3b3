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

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.canonical import OrderStatus
from hub.orders.store import move
from hub.runtime import Hub
from hub.shipping import tracking
from hub.stock import ledger
from hub.storage.fields import Id, Text, UtcTime, Whole, column_text, first_problem
from hub.storage.models import (
    AllocationRow,
    OrderRow,
    ParcelEventRow,
    ParcelRow,
    ShipmentRow,
    StockLevelRow,
)
from hub.values import iso, now


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


class _ExtId(Text):
    """An outside id: a string, or a whole number taken as its digits."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return super()._deserialize(value, attr, data, **kwargs)


def _one_of_carriers(value: str) -> None:
    if value not in carriers():
        raise ValidationError(f"one of {', '.join(carriers())}, not {value!r}")


_REQUIRED = {"required": "required", "blank": "required", "null": "required"}


class LineSchema(Schema):
    line_id = _ExtId(200)
    sku = column_text(StockLevelRow.sku)
    quantity = Whole(min=1, required=True, error_messages={"required": "required"})

    @validates_schema
    def _which(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "line_id" not in data and "sku" not in data:
            raise ValidationError("give line_id or sku")


class ParcelSchema(Schema):
    carrier = Text(50, required=True, validate=_one_of_carriers, error_messages=_REQUIRED)
    carrier_account = column_text(ParcelRow.carrier_account, allow_none=True)
    service = column_text(ParcelRow.service, allow_none=True)
    tracking_number = column_text(
        ParcelRow.tracking_number, required=True, error_messages=_REQUIRED
    )
    lines = fields.List(
        fields.Nested(LineSchema),
        required=True,
        validate=validate.Length(min=1, error="give at least one line"),
        error_messages=_REQUIRED,
    )


class ShipmentSchema(Schema):
    """A pack confirmation, as ``POST /api/shipments`` takes it (the module's docstring)."""

    order_id = Id(required=True, error_messages=_REQUIRED)
    shipped_at = UtcTime(allow_none=True)
    parcels = fields.List(
        fields.Nested(ParcelSchema),
        required=True,
        validate=validate.Length(min=1, error="give at least one parcel"),
        error_messages=_REQUIRED,
    )

    @validates_schema
    def _each_parcel_once(self, data: dict[str, Any], **kwargs: Any) -> None:
        seen: dict[tuple[str, str], int] = {}
        for i, parcel in enumerate(data.get("parcels") or []):
            key = (parcel["carrier"], parcel["tracking_number"])
            if key in seen:
                raise ValidationError(
                    {
                        "parcels": {
                            i: {
                                "tracking_number": [
                                    f"{key[0]} {key[1]} is parcels[{seen[key]}] already"
                                ]
                            }
                        }
                    }
                )
            seen[key] = i


_SHIPMENT = ShipmentSchema()


def load(body: Any) -> dict[str, Any]:
    """A shipment body checked and converted (``shipped_at`` a UTC datetime), or a
    ShipmentError (422) naming the first bad field."""
    if not isinstance(body, dict):
        raise ShipmentError("body: send the shipment as a JSON object", details={"field": "body"})
    try:
        return _SHIPMENT.load(body)
    except ValidationError as exc:
        name, message, problems = first_problem(exc)
        raise ShipmentError(
            f"{name}: {message}", details={"field": name, "fields": problems}
        ) from None


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
    """The loaded body's parcels with their lines resolved against the order."""
    out = []
    for p, parcel in enumerate(body["parcels"]):
        resolved = []
        for i, ref in enumerate(parcel["lines"]):
            position = _resolve(order, ref, f"parcels[{p}].lines[{i}]")
            resolved.append(
                {
                    "position": position,
                    "line_id": order.data["lines"][position].get("external_id"),
                    "sku": order.data["lines"][position].get("sku"),
                    "quantity": ref["quantity"],
                }
            )
        out.append(
            {
                "carrier": parcel["carrier"],
                "carrier_account": parcel.get("carrier_account"),
                "service": parcel.get("service"),
                "tracking_number": parcel["tracking_number"],
                "lines": resolved,
            }
        )
    return body.get("shipped_at") or now(), out


def _check_carrier_accounts(hub: Hub, order: OrderRow, parcels: list[dict[str, Any]]) -> None:
    """Every parcel has an account that will follow it: the one it names (of its carrier and
    the order's client), else the one the tracking would pick (see
    :func:`hub.shipping.tracking.carrier_account`). Without one the parcel would stay
    ``label_created`` for ever."""
    for p, parcel in enumerate(parcels):
        carrier, name = parcel["carrier"], parcel["carrier_account"]
        where = f"parcels[{p}].carrier_account"
        if name:
            account = hub.accounts.get(name)
            if account is None:
                problem = f"no account named {name!r} is configured"
            elif account.connector != carrier:
                problem = f"{name!r} is a {account.connector} account, not {carrier}"
            elif account.client != order.client:
                problem = f"{name!r} is client {account.client!r}'s, not {order.client!r}'s"
            else:
                continue
        elif tracking.carrier_account(hub, order.client, carrier, None) is not None:
            continue
        else:
            own = sorted(
                a.name
                for a in hub.accounts.values()
                if a.connector == carrier and a.client == order.client
            )
            if own:
                problem = f"client {order.client!r} has several {carrier} accounts: name one of "
                problem += ", ".join(own)
            else:
                where = f"parcels[{p}].carrier"
                problem = (
                    f"no {carrier} account is configured for client {order.client!r}, "
                    "so nothing could follow the parcel"
                )
        raise ShipmentError(f"{where}: {problem}", details={"field": where})


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
                StockLevelRow.client == client,
                StockLevelRow.sku == sku,
                StockLevelRow.on_hand > 0,
                StockLevelRow.location.not_in(ledger.NON_SELLABLE),  # never damaged goods
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
    hub: Hub | None = None,
) -> Recorded:
    """Record a pack confirmation in the caller's transaction. ``counted``: from a warehouse
    whose stock counts feed the ledger (see :func:`_take_stock`). Given the ``hub``, every
    parcel must have a carrier account that will follow it (a 422 naming it otherwise)."""
    body = load(body)
    order_id = body["order_id"]
    order = session.execute(
        select(OrderRow).where(OrderRow.id == order_id).with_for_update()
    ).scalar_one_or_none()
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
        label = next((k for k in known if k is not None and k.return_id is not None), None)
        if label is not None:
            raise ShipmentError(
                f"{label.carrier} tracking number {label.tracking_number} is the label of "
                f"return {label.return_id} coming back, not a shipment",
                status=409,
            )
        if all(k is not None and k.order_id == order.id for k in known):
            # the same confirmation again: one effect
            return Recorded(first.shipment_id, order.id, order.status, True)
        raise ShipmentError(
            f"{first.carrier} tracking number {first.tracking_number} is recorded already "
            f"(order {first.order_id})",
            status=409,
        )
    if hub is not None:
        _check_carrier_accounts(hub, order, parcels)
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
            ParcelRow(
                shipment_id=shipment.id,
                order_id=order.id,
                status="label_created",
                order_placed_at=order.placed_at,
                **parcel,
            )
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
    if complete and order.shipped_at is None:
        order.shipped_at = shipped_at
    order.lines_shipped = sum(  # lines nothing is owed on count as complete
        1 for i in ordered if i not in owed or done.get(i, 0) >= ordered[i]
    )
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
