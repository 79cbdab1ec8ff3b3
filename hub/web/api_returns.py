"""``/api/returns``: returns (RMAs) opened, read and moved on through :mod:`hub.returns.store`;
every change is audited with the token's name. A quantity that cannot come back or a step
from the wrong state is a 409, a line the order does not have or a bad value a 422, each
naming the problem."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from hub.canonical import RETURN_REASONS
from hub.returns import store
from hub.storage import audit, pages
from hub.storage.fields import Id, Text, UtcTime, Whole
from hub.storage.models import OrderRow, ReturnRow
from hub.web import openapi, validation
from hub.web.api import authenticate, current_hub, requires
from hub.web.errors import ApiError
from hub.web.validation import ID

bp = Blueprint("returns", __name__, url_prefix="/api")
validation.install_converters(bp)
bp.before_request(authenticate)


def _one_of(choices: tuple[str, ...]) -> validate.OneOf:
    return validate.OneOf(choices, error=f"must be one of: {', '.join(choices)}")


class _Line(Schema):
    line_id = Text(100, metadata={"description": "the channel's line id"})
    sku = Text(200)


class OpenLine(_Line):
    quantity = Whole(min=1, max=100_000, required=True)
    reason = fields.String(required=True, validate=_one_of(RETURN_REASONS))


class OpenReturn(Schema):
    """``POST /api/returns``."""

    order_id = Id(required=True)
    lines = fields.List(
        fields.Nested(OpenLine), required=True, validate=validate.Length(min=1, max=500)
    )
    note = Text(10_000, allow_none=True)


class ReceiveLine(_Line):
    quantity = Whole(min=0, max=100_000, metadata={"description": "default: all expected"})
    condition = fields.String(validate=_one_of(store.CONDITIONS))
    grade = fields.String(validate=_one_of(store.GRADES))


class Receive(Schema):
    """``POST /api/returns/<id>/receive``: what came in; a line with a condition is inspected
    (and its stock put away) at once."""

    lines = fields.List(
        fields.Nested(ReceiveLine), required=True, validate=validate.Length(min=1, max=500)
    )
    received_at = UtcTime(metadata={"description": "when it came in at the dock (default now)"})
    location = Text(100, metadata={"description": "where resellable goods go (default)"})


class InspectLine(_Line):
    condition = fields.String(required=True, validate=_one_of(store.CONDITIONS))
    grade = fields.String(validate=_one_of(store.GRADES))


class Inspect(Schema):
    lines = fields.List(
        fields.Nested(InspectLine), required=True, validate=validate.Length(min=1, max=500)
    )
    location = Text(100)


class Authorise(Schema):
    """With a label's carrier and tracking number the return is on its way back, and the
    label is followed by the carrier's tracking like an outbound parcel (a 422 naming the
    field when no carrier account of the client would follow it)."""

    carrier = Text(50, metadata={"description": "the return label's carrier (connector name)"})
    tracking_number = Text(100, metadata={"description": "the return label's tracking number"})
    carrier_account = Text(
        100,
        metadata={"description": "the account that follows it (default: the client's only one)"},
    )


class Reject(Schema):
    reason = Text(10_000, required=True)


class Cancel(Schema):
    reason = Text(10_000)


class ReturnsQuery(validation.PageSchema):
    status = fields.String(validate=_one_of(store.STATUSES))
    client = validation.QueryText(100)
    account = validation.QueryText(100)
    order_id = validation.QueryInt(min=1, max=2**63 - 1)


class ReturnLineAnswer(openapi.Answer):
    position = fields.Integer(required=True)
    line_id = fields.String(allow_none=True)
    sku = fields.String(allow_none=True)
    quantity = fields.Integer(required=True)
    reason = fields.String(required=True)
    received = fields.Integer(required=True)
    condition = fields.String(allow_none=True)
    grade = fields.String(allow_none=True)


class ReturnEventAnswer(openapi.Answer):
    at = fields.String(required=True)
    kind = fields.String(required=True)
    message = fields.String(required=True)
    actor = fields.String(required=True)


class ReturnAnswer(openapi.Answer):
    """A return: its state, lines (what comes back, what came in and in what condition),
    refund and dates; alone, its timeline (``events``) too."""

    id = fields.Integer(required=True)
    order_id = fields.Integer(required=True)
    order_number = fields.String(allow_none=True)
    client = fields.String(required=True)
    account = fields.String(required=True)
    channel = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(store.STATUSES))
    source = fields.String(required=True)
    external_id = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    rejected_reason = fields.String(allow_none=True)
    label = fields.Dict(allow_none=True)
    label_status = fields.String(
        allow_none=True,
        metadata={
            "description": "the label's tracking status, as for a parcel (null: not followed); "
            "delivered does not receive the return, the dock does"
        },
    )
    label_status_at = fields.String(
        allow_none=True, metadata={"description": "the carrier's latest event, ISO 8601, UTC"}
    )
    label_checked_at = fields.String(
        allow_none=True, metadata={"description": "when the carrier was last asked, ISO 8601, UTC"}
    )
    lines = fields.List(fields.Nested(ReturnLineAnswer), required=True)
    refund = fields.Dict(required=True)
    created_at = fields.String(required=True)
    authorised_at = fields.String(allow_none=True)
    received_at = fields.String(allow_none=True)
    restocked_at = fields.String(allow_none=True)
    closed_at = fields.String(allow_none=True)
    dock_to_stock_seconds = fields.Float(allow_none=True)
    events = fields.List(fields.Nested(ReturnEventAnswer))


def _lines(given: list[dict[str, Any]]) -> list[store.LineRequest]:
    return [store.LineRequest.of(line) for line in given]


def _refused(exc: store.ReturnError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, exc.details)


def _return(session: Any, return_id: int) -> ReturnRow:
    row = session.get(ReturnRow, return_id, with_for_update=True)
    if row is None:
        raise ApiError(404, "not_found", f"no return with id {return_id}")
    return row


def _answer(session: Any, row: ReturnRow, status: int = 200) -> tuple[Response, int]:
    return jsonify(store.to_json(session, row, events=True)), status


@bp.post("/returns")
@requires("editor")
@openapi.doc(body=OpenReturn, answer=ReturnAnswer, status=201, errors=(404, 409))
def open_return() -> tuple[Response, int]:
    """Open a return of an order's shipped lines"""
    body = validation.body(OpenReturn(), status=422)
    with current_hub().db.transaction() as session:
        order = session.get(OrderRow, body["order_id"], with_for_update=True)
        if order is None:
            raise ApiError(404, "not_found", f"no order with id {body['order_id']}")
        try:
            row = store.open_return(
                session, order, _lines(body["lines"]), actor=g.token_name, source="api",
                note=body.get("note"),
            )  # fmt: skip
        except store.ReturnError as exc:
            raise _refused(exc) from None
        audit.record(session, g.token_name, "return.open", f"return:{row.id}")
        return _answer(session, row, 201)


@bp.get("/returns")
@requires("viewer")
@openapi.doc(
    summary="Returns, newest first", query=ReturnsQuery, answer=openapi.page_of(ReturnAnswer)
)
def list_returns() -> Response:
    params = validation.query(ReturnsQuery())
    query = select(ReturnRow)
    for name in ("status", "client", "account", "order_id"):
        if params.get(name) is not None:
            query = query.where(getattr(ReturnRow, name) == params[name])
    with current_hub().db.transaction() as session:
        rows, last = pages.newest_first(
            session, query, ReturnRow.id, params["limit"], params["cursor"]
        )
        items = [store.to_json(session, row) for row in rows]
    return jsonify({"items": items, "next": validation.encode_cursor(last) if last else None})


@bp.get(f"/returns/<{ID}:return_id>")
@requires("viewer")
@openapi.doc(summary="One return, with its timeline", answer=ReturnAnswer)
def get_return(return_id: int) -> tuple[Response, int]:
    with current_hub().db.transaction() as session:
        row = session.get(ReturnRow, return_id)
        if row is None:
            raise ApiError(404, "not_found", f"no return with id {return_id}")
        return _answer(session, row)


def _step(return_id: int, action: str, schema: Schema | None, run: Any) -> tuple[Response, int]:
    body = validation.body(schema, status=422, empty=True) if schema is not None else {}
    hub = current_hub()
    with hub.db.transaction() as session:
        row = _return(session, return_id)
        try:
            run(hub, session, row, body)
        except store.ReturnError as exc:
            raise _refused(exc) from None
        audit.record(session, g.token_name, f"return.{action}", f"return:{return_id}")
        return _answer(session, row)


@bp.post(f"/returns/<{ID}:return_id>/authorise")
@requires("editor")
@openapi.doc(body=Authorise, body_required=False, answer=ReturnAnswer, errors=(409,))
def authorise(return_id: int) -> tuple[Response, int]:
    """Authorise a requested return (with its return label, optionally, then followed)"""
    return _step(
        return_id, "authorise", Authorise(),
        lambda hub, session, row, body: store.authorise(
            session, row, actor=g.token_name, hub=hub, carrier=body.get("carrier"),
            tracking_number=body.get("tracking_number"),
            carrier_account=body.get("carrier_account"),
        ),
    )  # fmt: skip


@bp.post(f"/returns/<{ID}:return_id>/reject")
@requires("editor")
@openapi.doc(body=Reject, answer=ReturnAnswer, errors=(409,))
def reject(return_id: int) -> tuple[Response, int]:
    """Reject a requested return, with the reason"""
    return _step(
        return_id, "reject", Reject(),
        lambda hub, session, row, body: store.reject(
            session, row, actor=g.token_name, reason=body["reason"]
        ),
    )  # fmt: skip


@bp.post(f"/returns/<{ID}:return_id>/receive")
@requires("editor")
@openapi.doc(body=Receive, answer=ReturnAnswer, errors=(409,))
def receive(return_id: int) -> tuple[Response, int]:
    """Record what came back (and, with a condition, inspect it and put its stock away)"""
    return _step(
        return_id, "receive", Receive(),
        lambda hub, session, row, body: store.receive(
            session, hub, row, _lines(body["lines"]), actor=g.token_name,
            received_at=body.get("received_at"), location=body.get("location"),
        ),
    )  # fmt: skip


@bp.post(f"/returns/<{ID}:return_id>/inspect")
@requires("editor")
@openapi.doc(body=Inspect, answer=ReturnAnswer, errors=(409,))
def inspect(return_id: int) -> tuple[Response, int]:
    """Give each received line its condition; its stock is put away"""
    return _step(
        return_id, "inspect", Inspect(),
        lambda hub, session, row, body: store.inspect(
            session, hub, row, _lines(body["lines"]), actor=g.token_name,
            location=body.get("location"),
        ),
    )  # fmt: skip


@bp.post(f"/returns/<{ID}:return_id>/close")
@requires("editor")
@openapi.doc(answer=ReturnAnswer, errors=(409,))
def close(return_id: int) -> tuple[Response, int]:
    """Close a received return"""
    return _step(
        return_id, "close", None,
        lambda hub, session, row, body: store.close(session, row, actor=g.token_name),
    )  # fmt: skip


@bp.post(f"/returns/<{ID}:return_id>/cancel")
@requires("editor")
@openapi.doc(body=Cancel, body_required=False, answer=ReturnAnswer, errors=(409,))
def cancel(return_id: int) -> tuple[Response, int]:
    """Cancel a return not yet received"""
    return _step(
        return_id, "cancel", Cancel(),
        lambda hub, session, row, body: store.cancel(
            session, row, actor=g.token_name, reason=body.get("reason")
        ),
    )  # fmt: skip
