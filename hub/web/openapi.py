"""The OpenAPI 3.1 description of ``/api`` (``GET /api/openapi.json``) and a page that shows
it (``GET /api/docs``). Both are public: the document says what the API takes, never what the
hub holds.

The document is built from the app itself, so it cannot drift from it:

* every rule under ``/api`` in ``app.url_map`` is a path, its methods the operations, its
  converters the path parameters (an ``<id:...>`` is a whole number from 1 to the largest
  BIGINT, as :class:`hub.web.validation.IdConverter` matches);
* what a view takes and answers is declared next to it with :func:`doc`: the very marshmallow
  schemas it loads through :func:`hub.web.validation.query` and :func:`~hub.web.validation.body`
  become its query parameters and request body, and the answer schemas below (one per
  resource) its responses;
* the role a view needs comes from :func:`hub.web.api.requires` (it marks the view), so an
  ``editor`` route documents its 403;
* every operation answers the JSON error of :mod:`hub.web.errors` for 401 (no token), 503
  (the database away), and as it applies 400 (a bad parameter or body), 403, 404, 409, 413 and
  422 (too deep, or a value the database refuses);
* a route without :func:`doc` is still listed, with a ``default`` answer, so nothing under
  ``/api`` goes missing from the document.

The page (``templates/api_docs.html``) is Swagger UI, vendored in ``static/swagger-ui/`` with
its licence; its start-up code is ``static/api-docs.js``, so the page runs under a
Content-Security-Policy with no inline script (it only adds ``script-src 'self'`` and
``connect-src 'self'`` to the hub's usual one, and images from ``data:`` for Swagger UI's
icons).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app, jsonify, render_template
from marshmallow import INCLUDE, Schema, fields, validate

from hub.canonical import OrderStatus
from hub.storage import fields as stored
from hub.web import tokens, validation

bp = Blueprint("openapi", __name__, url_prefix="/api")

#: the hub's usual policy (hub.web.pages), and for the docs page only: its own scripts, the
#: document fetched from here, Swagger UI's icons (data: URIs in its stylesheet)
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

JSON = "application/json"


@dataclass(frozen=True)
class Doc:
    """What :func:`doc` says of a view."""

    summary: str | None
    query: type[Schema] | None
    body: type[Schema] | dict[str, Any] | None
    body_required: bool
    body_media: tuple[str, ...]
    answer: type[Schema] | dict[str, Any] | None
    status: tuple[int, ...]
    errors: tuple[int, ...]


def doc(
    *,
    summary: str | None = None,
    query: type[Schema] | None = None,
    body: type[Schema] | dict[str, Any] | None = None,
    body_required: bool = True,
    body_media: tuple[str, ...] = (JSON,),
    answer: type[Schema] | dict[str, Any] | None = None,
    status: int | tuple[int, ...] = 200,
    errors: tuple[int, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Describe a view for the document: the ``query`` schema it loads, its ``body`` schema
    (a JSON schema dict for a body that is not a marshmallow schema's), its ``answer`` on
    ``status`` (or on each of several), and the error statuses it answers beyond those every
    route has (see the module's docstring). The view's docstring's first paragraph is its
    summary unless one is given."""

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.openapi = Doc(  # type: ignore[attr-defined]
            summary,
            query,
            body,
            body_required,
            body_media,
            answer,
            (status,) if isinstance(status, int) else tuple(status),
            tuple(errors),
        )
        return view

    return mark


# -- answers: one schema per resource -------------------------------------------------------
class Answer(Schema):
    """An answer's fields; answers may grow fields, so others are allowed."""

    class Meta:
        unknown = INCLUDE


def _money(**kwargs: Any) -> fields.String:
    return fields.String(metadata={"description": 'a decimal, as a string: "24.99"'}, **kwargs)


def _when(**kwargs: Any) -> fields.String:
    # ISO 8601 in UTC as the hub writes it (hub.values.iso); not format: date-time, which
    # would also promise what a validator reads into it
    return fields.String(allow_none=True, metadata={"description": "ISO 8601, UTC"}, **kwargs)


def _text(**kwargs: Any) -> fields.String:
    return fields.String(allow_none=True, **kwargs)


class ErrorDetail(Answer):
    code = fields.String(required=True, metadata={"description": "stable, for programs"})
    message = fields.String(required=True, metadata={"description": "for people"})
    details = fields.Raw(
        metadata={
            "description": "what was wrong: a bad body's `field` and `fields`, a bad query "
            "parameter's `parameter`, `value` and `fields`"
        }
    )


class Error(Answer):
    error = fields.Nested(ErrorDetail, required=True)


class Customer(Answer):
    email, name, phone = _text(), _text(), _text()


class Address(Answer):
    name, company, line1, line2, city = _text(), _text(), _text(), _text(), _text()
    region, postal_code, country_code, phone = _text(), _text(), _text(), _text()


class OrderLine(Answer):
    external_id, sku, name = _text(), _text(), _text()
    quantity = fields.Integer()
    unit_price, discount, tax = _money(), _money(), _money()
    requires_shipping = fields.Boolean()


class Shipping(Answer):
    method, carrier_service = _text(), _text()
    price = _money()


class Totals(Answer):
    subtotal, discount, shipping, tax, total = _money(), _money(), _money(), _money(), _money()
    tax_included = fields.Boolean()


class Order(Answer):
    """A canonical order, as a list shows it."""

    id = fields.Integer(required=True)
    client = fields.String(required=True)
    channel = fields.String(required=True)
    account = fields.String(required=True)
    external_id = fields.String(required=True, metadata={"description": "the channel's id"})
    number = _text()
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in OrderStatus]))
    placed_at, updated_at = _when(), _when()
    currency = _text()
    customer = fields.Nested(Customer, allow_none=True)
    shipping_address = fields.Nested(Address, allow_none=True)
    billing_address = fields.Nested(Address, allow_none=True)
    lines = fields.List(fields.Nested(OrderLine))
    shipping = fields.Nested(Shipping, allow_none=True)
    totals = fields.Nested(Totals, allow_none=True)
    notes = _text()
    tags = fields.List(fields.String())
    tracking_page = _text(metadata={"description": "the end customer's page, once shipped"})


class ParcelRecord(Answer):
    id = fields.Integer(required=True)
    carrier = fields.String(required=True)
    carrier_account, service = _text(), _text()
    tracking_number = fields.String(required=True)
    status, carrier_status = _text(), _text()
    estimated_delivery = _when()
    events = fields.List(fields.Dict())


class ShipmentRecord(Answer):
    """A recorded shipment and its parcels."""

    id = fields.Integer(required=True)
    order_id = fields.Integer(required=True)
    shipped_at = _when()
    source = _text()
    parcels = fields.List(fields.Nested(ParcelRecord), required=True)


class OrderDetail(Order):
    """One order: a list item's fields and its shipments."""

    shipments = fields.List(fields.Nested(ShipmentRecord), required=True)


class OrderEvent(Answer):
    id = fields.Integer(required=True)
    at = _when()
    kind = fields.String(required=True)
    message = _text()
    delivery_id = fields.Integer(allow_none=True)
    data = fields.Raw(allow_none=True)


class Delivery(Answer):
    """A stored webhook delivery (the inbox)."""

    id = fields.Integer(required=True)
    account = fields.String(required=True)
    connector = _text()
    topic, dedupe_key, event_id = _text(), _text(), _text()
    status = fields.String(required=True)
    error = _text()
    order_id = fields.Integer(allow_none=True)
    received_at, processed_at = _when(), _when()
    size = fields.Integer(metadata={"description": "bytes"})


class DeliveryDetail(Delivery):
    """One delivery with its raw body and the headers that matter."""

    headers = fields.Dict(allow_none=True)
    content_type = _text()
    body = fields.String(required=True)


class Job(Answer):
    """A job in the outbox."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    payload = fields.Raw(allow_none=True)
    status = fields.String(required=True)
    attempts = fields.Integer()
    max_attempts = fields.Integer()
    run_at, created_at, finished_at = _when(), _when(), _when()
    last_error = _text()


class JobFailure(Answer):
    attempt = fields.Integer()
    at = _when()
    outcome, worker, error = _text(), _text(), _text()


class JobDetail(Job):
    """One job with its raw input (the delivery it was made from) and its failed attempts."""

    input = fields.Dict(allow_none=True)
    failures = fields.List(fields.Nested(JobFailure), required=True)


class Account(Answer):
    """A configured account (no secrets) and its health."""

    account = fields.String(required=True)
    connector = fields.String(required=True)
    kind = fields.String(validate=validate.OneOf(["channel", "carrier", "warehouse"]))
    client = fields.String()
    status = fields.String(
        required=True,
        validate=validate.OneOf(
            ["ok", "credentials_refused", "webhooks_inactive", "paused", "throttled"]
        ),
    )
    refused = fields.Dict(
        allow_none=True, metadata={"description": "`reason` and `at` when credentials were refused"}
    )
    circuit = fields.String(validate=validate.OneOf(["open", "closed"]))
    rate_limit = fields.String(validate=validate.OneOf(["throttled", "ok"]))
    jobs_held = fields.Integer()
    held_until = _when()
    webhooks = fields.Dict(
        allow_none=True,
        metadata={
            "description": "the channel's hooks to the hub as last listed: `ok`, `inactive` "
            "and `missing` topics, `url`, `at` (null: the channel cannot list them)"
        },
    )


class StockLevel(Answer):
    client = fields.String(required=True)
    sku = fields.String(required=True)
    on_hand = fields.Integer(required=True)
    allocated = fields.Integer(required=True)
    available = fields.Integer(required=True)


class HeldStock(Answer):
    """Units held apart, never for sale (returns set aside), by location."""

    damaged = fields.Integer(required=True)
    quarantine = fields.Integer(required=True)


class StockHeld(StockLevel):
    held = fields.Nested(HeldStock, required=True)


class StockAdjusted(StockLevel):
    location = _text()
    location_on_hand = fields.Integer(allow_none=True)


class LedgerEntry(Answer):
    id = fields.Integer(required=True)
    at = _when()
    client, sku = fields.String(), fields.String()
    location = _text()
    delta = fields.Integer()
    on_hand = fields.Integer(allow_none=True)
    reason = fields.String()
    ref, actor = _text(), _text()


class ChannelStock(Answer):
    confirmed = fields.Integer(allow_none=True)
    confirmed_at = _when()
    pending = fields.Boolean()
    last_error = _text()


class Available(Answer):
    sku = fields.String(required=True)
    available_to_sell = fields.Integer(required=True)
    channel = fields.Nested(ChannelStock)


class SyncStatus(Answer):
    account = fields.String(required=True)
    client, connector = fields.String(), fields.String()
    items = fields.Integer()
    changed = fields.Integer()
    refused = fields.Integer()
    last_sync = fields.Raw(allow_none=True)


class Mapping(Answer):
    """A version of an account's mapping spec."""

    account = fields.String(required=True)
    version = fields.Integer(
        required=True, allow_none=True, metadata={"description": "null: the default spec"}
    )
    author, comment = _text(), _text()
    created_at = _when()
    spec = fields.Dict()


class MappingCurrent(Mapping):
    source = fields.String(validate=validate.OneOf(["account", "default"]))


class AuditEntry(Answer):
    id = fields.Integer(required=True)
    at = _when()
    actor = fields.String(required=True)
    action = fields.String(required=True)
    target = _text()
    details = fields.Raw(allow_none=True)


class Replayed(Answer):
    delivery_id = fields.Integer(required=True)
    status = fields.String(required=True)


class JobState(Answer):
    id = fields.Integer(required=True)
    status = fields.String(required=True)


class Retried(Answer):
    retried = fields.Integer(required=True)
    ids = fields.List(fields.Integer(), required=True)


class Resumed(Answer):
    account = fields.String(required=True)
    status = fields.String(required=True)
    jobs_resumed = fields.Integer()


class AvailableList(Answer):
    account = fields.String(required=True)
    client = fields.String()
    items = fields.List(fields.Nested(Available), required=True)
    next = fields.String(required=True, allow_none=True)


class Skipped(Answer):
    account = fields.String(required=True)
    reason = fields.String()


class SyncQueued(Answer):
    queued = fields.List(fields.String(), required=True)
    mode = fields.String(validate=validate.OneOf(["delta", "full"]))
    skipped = fields.List(fields.Nested(Skipped))


class ShipmentRecorded(ShipmentRecord):
    order_status = fields.String(required=True)
    duplicate = fields.Boolean(required=True)


class PickList(Answer):
    client = fields.String(required=True)
    orders = fields.List(fields.Raw())
    lines = fields.List(fields.Dict())
    unlocated = fields.List(fields.Dict())


class MappingCheck(Answer):
    valid = fields.Boolean(required=True)
    messages = fields.List(fields.String(), required=True)


class MappingDiff(Answer):
    from_ = fields.Integer(required=True, data_key="from")
    to = fields.Integer(required=True)
    changes = fields.List(fields.Raw())


class MappingPreview(Answer):
    """What a draft (or the current spec) makes of a payload; nothing is saved."""

    result = fields.Raw(allow_none=True, metadata={"description": "the order, or null"})
    error = _text(metadata={"description": "why the payload could not be translated"})
    problems = fields.List(fields.Raw())
    messages = fields.List(fields.String(), metadata={"description": "the draft's problems"})
    valid = fields.Boolean()
    current_version = fields.Integer(allow_none=True)
    changes = fields.List(fields.Raw(), metadata={"description": "against the current result"})


class Requeued(Answer):
    order_id = fields.Integer(required=True)
    delivery_id = fields.Integer()


class Retranslated(Answer):
    queued = fields.List(fields.Nested(Requeued), required=True)


#: list envelopes, one per item schema: {"items": [...], "next": cursor or null}
_PAGES: dict[type[Schema], type[Schema]] = {}


def page_of(item: type[Schema]) -> type[Schema]:
    """The list answer ``{"items": [item...], "next": cursor-or-null}``."""
    if item not in _PAGES:
        _PAGES[item] = type(
            f"{item.__name__}List",
            (Answer,),
            {
                "items": fields.List(fields.Nested(item), required=True),
                "next": fields.String(
                    required=True,
                    allow_none=True,
                    metadata={"description": "give it as `cursor` for the next page; null: last"},
                ),
                "__doc__": f"A page of {item.__name__}, newest first where it pages.",
            },
        )
    return _PAGES[item]


# -- the document ---------------------------------------------------------------------------
_ERRORS = {
    400: "A bad query parameter (`bad_parameter`, naming it) or body (`bad_request`, "
    "`bad_json`, naming the field)",
    401: "No token, an unknown or revoked one (`unauthorized`)",
    403: "The token's role may not do this (`forbidden`)",
    404: "No such thing (`not_found`, `unknown_account`); an id that cannot exist matches no route",
    409: "Not in a state for this (`not_retryable`, `not_discardable`, `not_synced`, `conflict`)",
    413: "The body is over 1 MiB (`body_too_large`)",
    415: "The body's media type is not one this route reads",
    422: "The body nests over 64 levels (`body_too_deep`), or a value is refused",
    503: "The database is busy or away; nothing was done (`unavailable`, `Retry-After`)",
}

_SUCCESS = {
    200: "OK",
    201: "Created",
    202: "Accepted: queued, done by a worker shortly",
}

_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _param_schema(converter: Any) -> dict[str, Any]:
    if isinstance(converter, validation.IdConverter):
        return {"type": "integer", "minimum": 1, "maximum": converter.max}
    return {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}


def _field_properties(
    self: Any, field: fields.Field, ret: dict[str, Any], **kwargs: Any
) -> dict[str, Any]:
    """What apispec cannot see in the hub's own fields: their types and limits."""
    out: dict[str, Any] = {}
    if isinstance(field, validation.QueryInt):
        out = {"type": "integer", "minimum": field.min, "maximum": field.max}
    elif isinstance(field, validation.Cursor):
        out = {"type": "string", "description": "the `next` of the previous page"}
    elif isinstance(field, stored.UtcTime):
        out = {"type": "string", "description": "ISO 8601; no offset is UTC"}
    elif isinstance(field, validation.QueryText | stored.Text) and field.max_length:
        out = {"maxLength": field.max_length}
    if isinstance(field, stored.Text) and not field.blank:
        out["minLength"] = 1
    if out.get("type") and field.allow_none:
        out["type"] = [out["type"], "null"]
    return out


def build(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s ``/api``."""
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="Fulfilment Hub API",
        version="1",
        openapi_version="3.1.0",
        plugins=[plugin],
        info={
            "description": (
                "Orders, deliveries, jobs, accounts, stock and mappings of the fulfilment hub. "
                "Every operation needs `Authorization: Bearer <token>` (`hub tokens create "
                "NAME --role viewer|editor`): a viewer reads, an editor also acts. Errors are "
                '`{"error": {"code", "message", "details"}}`. Bodies are at most 1 MiB and '
                "64 levels deep; unknown body fields are refused, unknown query parameters "
                "ignored. This document and its page (`/api/docs`) need no token."
            )
        },
        security=[{"bearerAuth": []}],
    )
    plugin.converter.add_attribute_function(_field_properties)  # type: ignore[union-attr]
    spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (`hub tokens create NAME --role ROLE`); roles: "
            + "; ".join(
                f"`{role}`: {what}"
                for role, what in zip(
                    tokens.ROLES, ("reads everything", "reads and acts (POST, PUT)"), strict=True
                )
            ),
        },
    )
    spec.components.schema("Error", schema=Error)
    for status, description in _ERRORS.items():
        spec.components.response(
            f"E{status}", {"description": description, "content": {JSON: {"schema": "Error"}}}
        )
    bodies: set[str] = set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/") or rule.endpoint.startswith(bp.name + "."):
            continue
        path = _CONVERTER.sub(r"{\2}", rule.rule)
        parameters = [
            {"in": "path", "name": name, "required": True, "schema": _param_schema(converter)}
            for name, converter in rule._converters.items()
        ]
        view = app.view_functions[rule.endpoint]
        operations = {
            method.lower(): _operation(view, rule, bool(parameters), bodies)
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        }
        spec.path(path=path, operations=operations, parameters=parameters)  # merged per path
    out = spec.to_dict()
    for name in bodies:  # request bodies refuse unknown fields (validation.body)
        out["components"]["schemas"][name]["additionalProperties"] = False
    return out


def _operation(view: Any, rule: Any, has_path: bool, bodies: set[str]) -> dict[str, Any]:
    described: Doc | None = getattr(view, "openapi", None)
    role = getattr(view, "role", None)
    words = (view.__doc__ or "").strip().split("\n\n", 1)[0].replace("\n", " ")
    operation: dict[str, Any] = {
        "operationId": rule.endpoint.replace(".", "_"),
        "tags": [rule.rule.split("/")[2]],
    }
    if role:
        operation["description"] = f"Needs a token with role `{role}` or above."
    statuses = {401, 503}
    if role == "editor":
        statuses.add(403)
    if has_path:
        statuses.add(404)
    if described is None:
        operation["summary"] = words or rule.endpoint
        operation["responses"] = {
            "200": {"description": "OK"},
            "default": "E400",
            **{str(s): f"E{s}" for s in sorted(statuses)},
        }
        return operation
    operation["summary"] = described.summary or words or rule.endpoint
    if described.query is not None:
        operation["parameters"] = [{"in": "query", "schema": described.query}]
        statuses.add(400)
    if described.body is not None:
        schema: Any = described.body
        if isinstance(schema, type):
            bodies.add(_name(schema))
        operation["requestBody"] = {
            "required": described.body_required,
            "content": {
                media: {"schema": schema if media == JSON else {"type": "string"}}
                for media in described.body_media
            },
        }
        statuses |= {400, 413, 422}
    statuses |= set(described.errors)
    ok: dict[str, Any] = {"description": _SUCCESS.get(described.status[0], "Done")}
    if described.answer is not None:
        ok["content"] = {JSON: {"schema": described.answer}}
    operation["responses"] = {
        **{str(s): {**ok, "description": _SUCCESS.get(s, "Done")} for s in described.status},
        **{str(s): f"E{s}" for s in sorted(statuses)},
    }
    return operation


def _name(schema: type[Schema]) -> str:
    """The component name apispec's default resolver gives a schema class."""
    name = schema.__name__
    return name[: -len("Schema")] if name.endswith("Schema") and name != "Schema" else name


def document() -> dict[str, Any]:
    """This app's document, built once."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if "hub.openapi" not in app.extensions:
        app.extensions["hub.openapi"] = build(app)
    return app.extensions["hub.openapi"]


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI 3.1 document of ``/api`` (public)."""
    return jsonify(document())


@bp.get("/docs")
def docs_page() -> Response:
    """The document shown with Swagger UI (public; the page's scripts are the hub's own)."""
    response = Response(render_template("api_docs.html"), mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response
