"""``/api/stock``: levels (on hand, allocated, available), the ledger, adjustments; and
``/api/shipments``, the pack confirmations that move stock out."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, g, jsonify
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import func, select

from hub.shipping import adjustments, fulfilment, shipments
from hub.stock import changes, ledger, listing, sync
from hub.storage import audit
from hub.storage.fields import MAX_INT, Text, Whole, column_length, column_text
from hub.storage.models import ChannelItemRow, StockLedgerRow, StockLevelRow
from hub.values import iso
from hub.web import openapi, validation
from hub.web.api import account_or_404, authenticate, current_hub, page, requires
from hub.web.errors import ApiError

bp = Blueprint("stock", __name__, url_prefix="/api")
validation.install_converters(bp)
bp.before_request(authenticate)

_SKU = column_length(StockLevelRow.sku)


class LevelsQuery(Schema):
    client = validation.QueryText(column_length(StockLevelRow.client), load_default="default")
    sku = fields.List(validation.QueryText(_SKU), load_default=list)


class AvailableQuery(Schema):
    account = validation.QueryText(column_length(ChannelItemRow.account), load_default="")
    sku = fields.List(validation.QueryText(_SKU), load_default=list)


class LedgerQuery(validation.PageSchema):
    client = validation.QueryText(column_length(StockLedgerRow.client))
    sku = validation.QueryText(column_length(StockLedgerRow.sku))
    location = validation.QueryText(column_length(StockLedgerRow.location))
    reason = validation.QueryText(column_length(StockLedgerRow.reason))


class PicklistQuery(Schema):
    client = validation.QueryText(column_length(StockLevelRow.client), load_default="default")
    limit = validation.QueryInt(min=1, max=500, load_default=50)


class Adjustment(Schema):
    """``POST /api/stock/adjustments``."""

    sku = column_text(StockLedgerRow.sku, required=True)
    delta = Whole()
    on_hand = Whole(min=0, max=MAX_INT)
    reason = Text(
        required=True,
        validate=validate.OneOf(
            ledger.REASONS, error=f"must be one of: {', '.join(ledger.REASONS)}"
        ),
    )
    client = column_text(StockLedgerRow.client, load_default="default")
    location = column_text(StockLedgerRow.location, allow_none=True)
    ref = column_text(StockLedgerRow.ref, allow_none=True)

    @validates_schema
    def _one_change(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("delta" in data) == ("on_hand" in data):
            raise ValidationError("give exactly one of delta or on_hand", "delta")


class SyncRequest(Schema):
    """``POST /api/stock/sync``."""

    account = Text(100, allow_none=True)
    mode = fields.String(
        load_default="delta",
        validate=validate.OneOf(("delta", "full"), error="must be delta or full"),
    )


@bp.get("/stock")
@requires("viewer")
@openapi.doc(summary="Stock levels", query=LevelsQuery, answer=openapi.page_of(openapi.StockHeld))
def levels() -> Response:
    """``?client=C`` (default ``default``), optional ``sku`` (repeatable). On hand, allocated
    and available count sellable stock only; ``held`` is what is set apart (damaged,
    quarantine), never offered to a channel."""
    params = validation.query(LevelsQuery(), lists=("sku",))
    client = params["client"]
    with current_hub().db.transaction() as session:
        skus = params["sku"] or [sku for _, sku in listing.skus(session, None, client=client)]
        items = listing.levels(session, client, skus)
    return jsonify({"items": items, "next": None})


@bp.get("/stock/available")
@requires("viewer")
@openapi.doc(query=AvailableQuery, answer=openapi.AvailableList, errors=(404,))
def available() -> Response:
    """``?account=A[&sku=S...]``: available-to-sell on one sales channel account, with what
    the channel last confirmed for each SKU it lists."""
    params = validation.query(AvailableQuery(), lists=("sku",))
    name = params["account"]
    account = account_or_404(name)
    with current_hub().db.transaction() as session:
        skus = params["sku"] or sorted(
            set(
                session.execute(
                    select(StockLevelRow.sku).where(StockLevelRow.client == account.client)
                ).scalars()
            )
        )
        ats = sync.available(session, account, skus)
        on_channel = {
            row.sku: row
            for row in session.execute(
                select(ChannelItemRow).where(
                    ChannelItemRow.account == name, ChannelItemRow.sku.in_(skus)
                )
            ).scalars()
        }
    items = []
    for sku, n in ats.items():
        item: dict[str, Any] = {"sku": sku, "available_to_sell": n}
        row = on_channel.get(sku)
        if row is not None:
            item["channel"] = {
                "confirmed": row.confirmed,
                "confirmed_at": iso(row.confirmed_at),
                "pending": row.dirty or row.confirmed != n,
                "last_error": row.last_error,
            }
        items.append(item)
    return jsonify({"account": name, "client": account.client, "items": items, "next": None})


@bp.get("/stock/sync")
@requires("viewer")
@openapi.doc(answer=openapi.page_of(openapi.SyncStatus))
def sync_status() -> Response:
    """Every channel account with stock push: its last pass and what is waiting."""
    hub = current_hub()
    items = []
    with hub.db.transaction() as session:
        counts = {
            (account, dirty): n
            for account, dirty, n in session.execute(
                select(ChannelItemRow.account, ChannelItemRow.dirty, func.count()).group_by(
                    ChannelItemRow.account, ChannelItemRow.dirty
                )
            )
        }
        errors = dict(
            session.execute(
                select(ChannelItemRow.account, func.count())
                .where(ChannelItemRow.last_error.is_not(None))
                .group_by(ChannelItemRow.account)
            ).all()
        )
        for account in sync.push_accounts(hub):
            items.append(
                {
                    "account": account.name,
                    "client": account.client,
                    "connector": account.connector,
                    "items": counts.get((account.name, False), 0)
                    + counts.get((account.name, True), 0),
                    "changed": counts.get((account.name, True), 0),
                    "refused": errors.get(account.name, 0),
                    "last_sync": sync.last_sync(session, account.name),
                }
            )
    return jsonify({"items": items, "next": None})


@bp.post("/stock/sync")
@requires("editor")
@openapi.doc(
    body=SyncRequest, body_required=False, answer=openapi.SyncQueued, status=202, errors=(404, 409)
)
def sync_now() -> tuple[Response, int]:
    """``{"account"?: A, "mode"?: "delta" | "full"}``: queue a pass now (every account when
    none is named). Accounts left out of stock sync are listed in ``skipped`` with the reason;
    naming one is a 409 saying why."""
    hub = current_hub()
    body = validation.body(SyncRequest(), empty=True)
    mode = body["mode"]
    accounts = sync.push_accounts(hub)
    left_out = changes.not_pushed(hub)
    if body.get("account") in left_out:
        raise ApiError(
            409,
            "not_synced",
            f"{body['account']}: not synced: {left_out[body['account']]}",
            {"account": body["account"], "reason": left_out[body["account"]]},
        )
    if body.get("account") is not None:
        accounts = [a for a in accounts if a.name == body["account"]]
        if not accounts:
            raise ApiError(
                404, "not_found", f"no channel account {body['account']!r} with stock push"
            )
    queued = []
    with hub.db.transaction() as session:
        for account in accounts:
            sync.queue(hub, session, account, mode, key=f"api:{uuid.uuid4().hex}")
            queued.append(account.name)
        audit.record(session, g.token_name, "stock.sync", ",".join(queued) or "-", {"mode": mode})
    skipped = [{"account": name, "reason": why} for name, why in left_out.items()]
    return jsonify({"queued": queued, "mode": mode, "skipped": skipped}), 202


@bp.get("/stock/ledger")
@requires("viewer")
@openapi.doc(
    summary="The stock ledger, newest first",
    query=LedgerQuery,
    answer=openapi.page_of(openapi.LedgerEntry),
)
def entries() -> Response:
    params = validation.query(LedgerQuery())
    query = select(StockLedgerRow)
    for name in ("client", "sku", "location", "reason"):
        if params.get(name):
            query = query.where(getattr(StockLedgerRow, name) == params[name])
    return page(query, StockLedgerRow.id, ledger.ledger_to_json, params)


@bp.post("/stock/adjustments")
@requires("editor")
@openapi.doc(body=Adjustment, answer=openapi.StockAdjusted, status=201)
def adjustment() -> tuple[Response, int]:
    """``{"sku", "delta" | "on_hand", "reason", "client"?, "location"?, "ref"?}``: one change,
    with its reason, as a ledger entry."""
    body = validation.body(Adjustment())
    try:
        with current_hub().db.transaction() as session:
            level = adjustments.adjust(
                current_hub(),
                session,
                body["client"],
                body["sku"],
                reason=body["reason"],
                actor=g.token_name,
                delta=body.get("delta"),
                on_hand=body.get("on_hand"),
                location=body.get("location"),
                ref=body.get("ref"),
            )
    except ledger.StockError as exc:
        raise ApiError(422, "bad_stock_change", str(exc)) from None
    return jsonify(level), 201


@bp.post("/shipments")
@requires("editor")
@openapi.doc(
    summary="Record a pack confirmation",
    body=shipments.ShipmentSchema,
    answer=openapi.ShipmentRecorded,
    status=(201, 200),
    errors=(404, 409),
)
def ship() -> tuple[Response, int]:
    """A pack confirmation (see hub.shipments): 201 recorded, 200 the same one again."""
    body = validation.json_object()
    hub = current_hub()
    try:
        with hub.db.transaction() as session:
            recorded = shipments.record(session, body, actor=g.token_name, hub=hub)
            if not recorded.duplicate:
                fulfilment.after_shipment(current_hub(), session, recorded.shipment_id)
                audit.record(
                    session,
                    g.token_name,
                    "shipment.record",
                    f"order:{recorded.order_id}",
                    {"shipment_id": recorded.shipment_id},
                )
            listed = shipments.for_order(session, recorded.order_id)
    except shipments.ShipmentError as exc:
        code = {404: "not_found", 409: "conflict"}.get(exc.status, "bad_shipment")
        raise ApiError(exc.status, code, str(exc), exc.details) from None
    [shipment] = [s for s in listed if s["id"] == recorded.shipment_id]
    return jsonify(
        {**shipment, "order_status": recorded.status, "duplicate": recorded.duplicate}
    ), (200 if recorded.duplicate else 201)


@bp.get("/picklists")
@requires("viewer")
@openapi.doc(query=PicklistQuery, answer=openapi.PickList)
def picklist() -> Response:
    """``?client=C&limit=N``: the next batch of released orders to pick, by location."""
    params = validation.query(PicklistQuery())
    with current_hub().db.transaction() as session:
        return jsonify(ledger.pick_list(session, params["client"], limit=params["limit"]))
