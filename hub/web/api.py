"""The read and admin API under ``/api``. Every route needs a bearer token with a role."""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy import Select, select

from hub.canonical import OrderStatus
from hub.connectors import Account
from hub.intake import inbox, translation
from hub.orders.store import event_to_json, to_json
from hub.runtime import Hub
from hub.shipping import shipments
from hub.storage import audit
from hub.storage.models import AuditRow, DeliveryRow, OrderEventRow, OrderLineRow, OrderRow
from hub.values import iso, utc
from hub.web import tokens
from hub.web.errors import ApiError

bp = Blueprint("api", __name__, url_prefix="/api")
MAX_LIMIT = 200


def current_hub() -> Hub:
    """The hub serving this request."""
    return current_app.extensions["hub"]


def account_or_404(name: str) -> Account:
    """The configured account of that name, or a 404 that names it."""
    account = current_hub().accounts.get(name)
    if account is None:
        raise ApiError(404, "unknown_account", f"no account named {name!r} is configured")
    return account


def authenticate() -> None:
    """Every /api route: a bearer token, whose name and role land on flask.g."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "unauthorized",
            "send an API token: Authorization: Bearer <token> (hub tokens create)",
        )
    with current_hub().db.transaction() as session:
        row = tokens.lookup(session, token.strip())
        if row is None:
            raise ApiError(401, "unauthorized", "the API token is unknown or revoked")
        g.token_name, g.token_role = row.name, row.role


bp.before_request(authenticate)


def requires(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not tokens.allows(g.token_role, role):
                raise ApiError(
                    403,
                    "forbidden",
                    f"token {g.token_name!r} has role {g.token_role!r}; this needs {role!r}",
                )
            return view(*args, **kwargs)

        return checked

    return wrap


# -- pagination -----------------------------------------------------------------------------
def _limit() -> int:
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(
            400,
            "bad_parameter",
            f"limit must be a whole number from 1 to {MAX_LIMIT}",
            {"parameter": "limit", "value": raw},
        )
    return int(raw)


def _after() -> int | None:
    cursor = request.args.get("cursor")
    if not cursor:
        return None
    try:
        value = int(base64.urlsafe_b64decode(cursor.encode() + b"==").decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ApiError(
            400,
            "bad_parameter",
            "cursor is not one this API gave out",
            {"parameter": "cursor", "value": cursor},
        ) from None
    return value


def _cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def page(query: Select[Any], id_column: Any, render: Callable[[Any], dict[str, Any]]) -> Response:
    """Newest first; ``next`` is an opaque cursor for the following page, or null."""
    limit, after = _limit(), _after()
    if after is not None:
        query = query.where(id_column < after)
    with current_hub().db.transaction() as session:
        rows = session.execute(query.order_by(id_column.desc()).limit(limit + 1)).scalars().all()
        items = [render(row) for row in rows[:limit]]
    more = len(rows) > limit
    return jsonify({"items": items, "next": _cursor(rows[limit - 1].id) if more else None})


def _filtered(
    query: Select[Any], model: Any, *, statuses: list[str], exact: tuple[str, ...]
) -> Select[Any]:
    """Apply ``?status=`` (checked against ``statuses``) and exact-match parameters."""
    status = _choice("status", statuses)
    if status:
        query = query.where(model.status == status)
    for name in exact:
        value = request.args.get(name)
        if value is not None:
            query = query.where(getattr(model, name) == value)
    return query


def _choice(name: str, allowed: list[str]) -> str | None:
    value = request.args.get(name)
    if value is not None and value not in allowed:
        raise ApiError(
            400,
            "bad_parameter",
            f"{name} must be one of: {', '.join(allowed)}",
            {"parameter": name, "value": value},
        )
    return value


# -- orders ---------------------------------------------------------------------------------
@bp.get("/orders")
@requires("viewer")
def list_orders() -> Response:
    query = _filtered(
        select(OrderRow),
        OrderRow,
        statuses=[s.value for s in OrderStatus],
        exact=("channel", "account", "client", "external_id"),
    )
    sku = request.args.get("sku")
    if sku is not None:
        query = query.where(
            OrderRow.id.in_(select(OrderLineRow.order_id).where(OrderLineRow.sku == sku))
        )
    since = request.args.get("since")
    if since is not None:
        try:
            moment = utc(since)
        except Exception:
            raise ApiError(
                400,
                "bad_parameter",
                "since must be an ISO 8601 time",
                {"parameter": "since", "value": since},
            ) from None
        query = query.where(OrderRow.updated_at >= moment)
    return page(query, OrderRow.id, to_json)


def _order(session: Any, order_id: int) -> OrderRow:
    row = session.get(OrderRow, order_id)
    if row is None:
        raise ApiError(404, "not_found", f"no order with id {order_id}")
    return row


def tracking_page(token: str | None) -> str | None:
    """The end customer's tracking page for an order, once it has shipped."""
    if token is None:
        return None
    base = current_hub().settings.public_url or request.url_root
    return f"{base.rstrip('/')}/track/{token}"


@bp.get("/orders/<int:order_id>")
@requires("viewer")
def get_order(order_id: int) -> Response:
    with current_hub().db.transaction() as session:
        row = _order(session, order_id)
        order = to_json(row)
        return jsonify(
            {
                **order,
                "shipments": shipments.for_order(session, order_id),
                "tracking_page": tracking_page(row.tracking_token),
            }
        )


@bp.get("/orders/<int:order_id>/events")
@requires("viewer")
def order_events(order_id: int) -> Response:
    with current_hub().db.transaction() as session:
        _order(session, order_id)
        events = (
            session.execute(
                select(OrderEventRow)
                .where(OrderEventRow.order_id == order_id)
                .order_by(OrderEventRow.id)
            )
            .scalars()
            .all()
        )
        return jsonify({"items": [event_to_json(e) for e in events], "next": None})


# -- deliveries (the inbox) -------------------------------------------------------------------
def _delivery_json(row: DeliveryRow, with_body: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "account": row.account,
        "connector": row.connector,
        "topic": row.topic,
        "dedupe_key": row.dedupe_key,
        "event_id": row.event_id,
        "status": row.status,
        "error": row.error,
        "order_id": row.order_id,
        "received_at": iso(row.received_at),
        "processed_at": iso(row.processed_at),
        "size": len(row.body),
    }
    if with_body:
        out["headers"] = row.headers
        out["content_type"] = row.content_type
        out["body"] = row.body.decode("utf-8", errors="replace")
    return out


@bp.get("/deliveries")
@requires("viewer")
def list_deliveries() -> Response:
    query = _filtered(
        select(DeliveryRow),
        DeliveryRow,
        exact=("account", "topic"),
        statuses=[inbox.RECEIVED, inbox.PROCESSED, inbox.IGNORED, inbox.FAILED],
    )
    return page(query, DeliveryRow.id, _delivery_json)


@bp.get("/deliveries/<int:delivery_id>")
@requires("viewer")
def get_delivery(delivery_id: int) -> Response:
    with current_hub().db.transaction() as session:
        row = session.get(DeliveryRow, delivery_id)
        if row is None:
            raise ApiError(404, "not_found", f"no delivery with id {delivery_id}")
        return jsonify(_delivery_json(row, with_body=True))


@bp.post("/deliveries/<int:delivery_id>/replay")
@requires("editor")
def replay_delivery(delivery_id: int) -> tuple[Response, int]:
    hub = current_hub()
    with hub.db.transaction() as session:
        if not translation.replay(hub, session, delivery_id):
            raise ApiError(404, "not_found", f"no delivery with id {delivery_id}")
        audit.record(session, g.token_name, "delivery.replay", f"delivery:{delivery_id}")
    return jsonify({"delivery_id": delivery_id, "status": inbox.RECEIVED}), 202


@bp.get("/audit")
@requires("viewer")
def audit_log() -> Response:
    """Who changed what, newest first (``?actor=``, ``?action=``; cursor pagination)."""
    query = select(AuditRow)
    for name in ("actor", "action"):
        if request.args.get(name):
            query = query.where(getattr(AuditRow, name) == request.args[name])
    return page(query, AuditRow.id, audit.to_json)
