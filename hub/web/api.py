"""The read and admin API under ``/api``. Every route needs a bearer token with a role."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from marshmallow import fields, validate
from sqlalchemy import Select, select

from hub.canonical import OrderStatus
from hub.connectors import Account
from hub.intake import inbox, translation
from hub.intake import listing as deliveries
from hub.orders import query as orders
from hub.orders.store import event_to_json, to_json
from hub.runtime import Hub
from hub.shipping import shipments
from hub.storage import audit, pages
from hub.storage.fields import UtcTime, column_length
from hub.storage.models import AuditRow, DeliveryRow, OrderLineRow, OrderRow
from hub.web import openapi, tokens, validation
from hub.web.errors import ApiError
from hub.web.validation import ID

bp = Blueprint("api", __name__, url_prefix="/api")
validation.install_converters(bp)


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

        checked.role = role  # type: ignore[attr-defined]  # for the OpenAPI document
        return checked

    return wrap


# -- pagination and filters -------------------------------------------------------------------
def page(
    query: Select[Any],
    id_column: Any,
    render: Callable[[Any], dict[str, Any]],
    params: dict[str, Any] | None = None,
) -> Response:
    """Newest first; ``next`` is an opaque cursor for the following page, or null.
    ``params``: the loaded query (a :class:`validation.PageSchema`), read here when not given."""
    params = params if params is not None else validation.query(validation.PageSchema())
    with current_hub().db.transaction() as session:
        rows, last = pages.newest_first(
            session, query, id_column, params["limit"], params["cursor"]
        )
        items = [render(row) for row in rows]
    return jsonify({"items": items, "next": validation.encode_cursor(last) if last else None})


def _status(choices: list[str]) -> fields.Field:
    return fields.String(
        validate=validate.OneOf(choices, error=f"must be one of: {', '.join(choices)}")
    )


def _exact(query: Select[Any], model: Any, params: dict[str, Any], names: tuple[str, ...]) -> Any:
    """Apply the exact-match parameters that were given."""
    for name in names:
        if params.get(name) is not None:
            query = query.where(getattr(model, name) == params[name])
    return query


class OrdersQuery(validation.PageSchema):
    status = _status([s.value for s in OrderStatus])
    channel = validation.QueryText(column_length(OrderRow.channel))
    account = validation.QueryText(column_length(OrderRow.account))
    client = validation.QueryText(column_length(OrderRow.client))
    external_id = validation.QueryText(column_length(OrderRow.external_id))
    sku = validation.QueryText(column_length(OrderLineRow.sku))
    since = UtcTime()
    placed_from = fields.Date()
    placed_to = fields.Date()
    q = validation.QueryText(column_length(OrderRow.email))


class DeliveriesQuery(validation.PageSchema):
    status = _status(deliveries.STATUSES)
    account = validation.QueryText(column_length(DeliveryRow.account))
    topic = validation.QueryText(column_length(DeliveryRow.topic))


class AuditQuery(validation.PageSchema):
    actor = validation.QueryText(column_length(AuditRow.actor))
    action = validation.QueryText(column_length(AuditRow.action))


# -- orders ---------------------------------------------------------------------------------
@bp.get("/orders")
@requires("viewer")
@openapi.doc(
    summary="Orders, newest first", query=OrdersQuery, answer=openapi.page_of(openapi.Order)
)
def list_orders() -> Response:
    params = validation.query(OrdersQuery())
    return page(
        orders.select_orders(orders.OrderFilters.of(params)), OrderRow.id, order_json, params
    )


def _order(session: Any, order_id: int) -> OrderRow:
    row = orders.find(session, order_id)
    if row is None:
        raise ApiError(404, "not_found", f"no order with id {order_id}")
    return row


def tracking_page(token: str | None) -> str | None:
    """The end customer's tracking page for an order, once it has shipped."""
    if token is None:
        return None
    base = current_hub().settings.public_url or request.url_root
    return f"{base.rstrip('/')}/track/{token}"


def order_json(row: OrderRow, session: Any = None) -> dict[str, Any]:
    """An order as the API shows it, in a list and alone: the same fields; given a
    ``session``, with its ``shipments`` (parcels and their events), which a list leaves out."""
    out = {**to_json(row), "tracking_page": tracking_page(row.tracking_token)}
    if session is not None:
        out["shipments"] = shipments.for_order(session, row.id)
    return out


@bp.get(f"/orders/<{ID}:order_id>")
@requires("viewer")
@openapi.doc(summary="One order, with its shipments", answer=openapi.OrderDetail)
def get_order(order_id: int) -> Response:
    with current_hub().db.transaction() as session:
        return jsonify(order_json(_order(session, order_id), session))


@bp.get(f"/orders/<{ID}:order_id>/events")
@requires("viewer")
@openapi.doc(summary="An order's timeline", answer=openapi.page_of(openapi.OrderEvent))
def order_events(order_id: int) -> Response:
    with current_hub().db.transaction() as session:
        _order(session, order_id)
        events = orders.events(session, order_id)
        return jsonify({"items": [event_to_json(e) for e in events], "next": None})


# -- deliveries (the inbox) -------------------------------------------------------------------
@bp.get("/deliveries")
@requires("viewer")
@openapi.doc(
    summary="The inbox, newest first",
    query=DeliveriesQuery,
    answer=openapi.page_of(openapi.Delivery),
)
def list_deliveries() -> Response:
    params = validation.query(DeliveriesQuery())
    return page(
        deliveries.select_deliveries(params), DeliveryRow.id, deliveries.delivery_json, params
    )


@bp.get(f"/deliveries/<{ID}:delivery_id>")
@requires("viewer")
@openapi.doc(summary="One delivery, with its raw body", answer=openapi.DeliveryDetail)
def get_delivery(delivery_id: int) -> Response:
    with current_hub().db.transaction() as session:
        row = session.get(DeliveryRow, delivery_id)
        if row is None:
            raise ApiError(404, "not_found", f"no delivery with id {delivery_id}")
        return jsonify(deliveries.delivery_json(row, with_body=True))


@bp.post(f"/deliveries/<{ID}:delivery_id>/replay")
@requires("editor")
@openapi.doc(summary="Translate a delivery again", answer=openapi.Replayed, status=202)
def replay_delivery(delivery_id: int) -> tuple[Response, int]:
    hub = current_hub()
    with hub.db.transaction() as session:
        if not translation.replay(hub, session, delivery_id):
            raise ApiError(404, "not_found", f"no delivery with id {delivery_id}")
        audit.record(session, g.token_name, "delivery.replay", f"delivery:{delivery_id}")
    return jsonify({"delivery_id": delivery_id, "status": inbox.RECEIVED}), 202


@bp.get("/audit")
@requires("viewer")
@openapi.doc(query=AuditQuery, answer=openapi.page_of(openapi.AuditEntry))
def audit_log() -> Response:
    """Who changed what, newest first (``?actor=``, ``?action=``; cursor pagination)."""
    params = validation.query(AuditQuery())
    query = _exact(select(AuditRow), AuditRow, params, ("actor", "action"))
    return page(query, AuditRow.id, audit.to_json, params)
