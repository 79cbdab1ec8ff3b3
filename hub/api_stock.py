"""``/api/stock``: levels (on hand, allocated, available), the ledger, adjustments; and
``/api/shipments``, the pack confirmations that move stock out."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy import select

from hub import audit, release, shipments
from hub import stock as ledger
from hub.api import account_or_404, authenticate, current_hub, page, requires
from hub.errors import TranslationError
from hub.http_errors import ApiError
from hub.models import StockLedgerRow, StockLevelRow

bp = Blueprint("stock", __name__, url_prefix="/api")
bp.before_request(authenticate)


@bp.get("/stock")
@requires("viewer")
def levels() -> Response:
    """``?client=C`` (default ``default``), optional ``sku`` (repeatable)."""
    client = request.args.get("client", "default")
    with current_hub().db.transaction() as session:
        skus = request.args.getlist("sku") or sorted(
            set(
                session.execute(
                    select(StockLevelRow.sku).where(StockLevelRow.client == client)
                ).scalars()
            )
        )
        items = ledger.levels(session, client, skus)
    return jsonify({"items": items, "next": None})


@bp.get("/stock/available")
@requires("viewer")
def available() -> Response:
    """``?account=A[&sku=S...]``: available-to-sell on one sales channel account."""
    name = request.args.get("account", "")
    account = account_or_404(name)
    settings = account.settings
    with current_hub().db.transaction() as session:
        skus = request.args.getlist("sku") or sorted(
            set(
                session.execute(
                    select(StockLevelRow.sku).where(StockLevelRow.client == account.client)
                ).scalars()
            )
        )
        ats = ledger.available_to_sell(
            session,
            account.client,
            skus,
            locations=settings.get("stock_locations"),
            buffer=settings.get("stock_buffer", 0),
            buffers=settings.get("stock_buffers"),
            share=settings.get("stock_share", 1.0),
        )
    return jsonify(
        {
            "account": name,
            "client": account.client,
            "items": [{"sku": sku, "available_to_sell": n} for sku, n in ats.items()],
            "next": None,
        }
    )


@bp.get("/stock/ledger")
@requires("viewer")
def entries() -> Response:
    query = select(StockLedgerRow)
    for name in ("client", "sku", "location", "reason"):
        if request.args.get(name):
            query = query.where(getattr(StockLedgerRow, name) == request.args[name])
    return page(query, StockLedgerRow.id, ledger.ledger_to_json)


@bp.post("/stock/adjustments")
@requires("editor")
def adjustment() -> tuple[Response, int]:
    """``{"sku", "delta" | "on_hand", "reason", "client"?, "location"?, "ref"?}``: one change,
    with its reason, as a ledger entry."""
    body: Any = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("sku"), str) or not body["sku"]:
        raise ApiError(
            400, "bad_request", "send a JSON object with sku, reason and delta or on_hand"
        )
    client = body.get("client", "default")
    location = body.get("location", ledger.DEFAULT_LOCATION)
    kinds = [k for k in ("delta", "on_hand") if k in body]
    if len(kinds) != 1 or not isinstance(body[kinds[0]], int) or isinstance(body[kinds[0]], bool):
        raise ApiError(
            400,
            "bad_request",
            "give exactly one of delta or on_hand, a whole number",
            {"parameter": "delta"},
        )
    try:
        with current_hub().db.transaction() as session:
            if kinds[0] == "delta":
                on_hand = ledger.adjust(
                    session,
                    client,
                    body["sku"],
                    location,
                    body["delta"],
                    reason=body.get("reason", ""),
                    actor=g.token_name,
                    ref=body.get("ref"),
                )
            else:
                ledger.set_on_hand(
                    session,
                    client,
                    body["sku"],
                    location,
                    body["on_hand"],
                    reason=body.get("reason", ""),
                    actor=g.token_name,
                    ref=body.get("ref"),
                )
                on_hand = body["on_hand"]
            audit.record(
                session,
                g.token_name,
                "stock.adjust",
                f"stock:{client}:{body['sku']}",
                {k: body.get(k) for k in ("delta", "on_hand", "reason", "location")},
            )
            [level] = ledger.levels(session, client, [body["sku"]])
            if level["available"] > 0:
                release.wake(current_hub(), session, client, [body["sku"]])
    except ledger.StockError as exc:
        raise ApiError(422, "bad_stock_change", str(exc)) from None
    return jsonify({**level, "location": location, "location_on_hand": on_hand}), 201


@bp.post("/shipments")
@requires("editor")
def ship() -> tuple[Response, int]:
    """A pack confirmation (see hub.shipments): 201 recorded, 200 the same one again."""
    body: Any = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "send the shipment as a JSON object")
    try:
        with current_hub().db.transaction() as session:
            recorded = shipments.record(session, body, actor=g.token_name)
            if not recorded.duplicate:
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
    except TranslationError as exc:  # a bad shipped_at
        raise ApiError(422, "bad_shipment", exc.message) from None
    [shipment] = [s for s in listed if s["id"] == recorded.shipment_id]
    return jsonify(
        {**shipment, "order_status": recorded.status, "duplicate": recorded.duplicate}
    ), (200 if recorded.duplicate else 201)


@bp.get("/picklists")
@requires("viewer")
def picklist() -> Response:
    """``?client=C&limit=N``: the next batch of released orders to pick, by location."""
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise ApiError(
            400,
            "bad_parameter",
            "limit must be a whole number from 1 to 500",
            {"parameter": "limit", "value": raw},
        )
    with current_hub().db.transaction() as session:
        return jsonify(
            ledger.pick_list(session, request.args.get("client", "default"), limit=int(raw))
        )
