"""``/api/mappings/<account>``: read, write (a new version), validate, preview, history, diff,
roll back, and re-translate orders after a fix. Viewers read and preview; editors write."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from marshmallow import Schema, fields

from hub.connectors import Account
from hub.errors import MappingError
from hub.intake import translation
from hub.mapping import compiled, store
from hub.mapping import preview as mapping_preview
from hub.storage import audit
from hub.storage.fields import MAX_INT, Id, Text, Whole
from hub.web import openapi, validation
from hub.web.api import account_or_404, authenticate, current_hub, requires
from hub.web.errors import ApiError
from hub.web.validation import VERSION

bp = Blueprint("mappings", __name__, url_prefix="/api")
validation.install_converters(bp)
bp.before_request(authenticate)

#: a comment on a version, as long as anyone needs
_COMMENT = 10_000


class WriteQuery(Schema):
    comment = validation.QueryText(_COMMENT)


class DiffQuery(Schema):
    from_ = validation.QueryInt(min=1, max=MAX_INT, data_key="from", required=True)
    to = validation.QueryInt(min=1, max=MAX_INT)


class Rollback(Schema):
    version = Whole(
        min=1, required=True, error_messages={"required": 'give the version: {{"version": N}}'}
    )
    comment = Text(_COMMENT, allow_none=True)


class Preview(Schema):
    payload = fields.Raw(allow_none=True)
    delivery_id = Id()
    spec = fields.Raw()
    topic = Text(200, allow_none=True)


class Retranslate(Schema):
    order_id = Id(allow_none=True)


_YAML = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
#: a spec body, for the OpenAPI document: an object in JSON, or the same as a YAML document
_SPEC = {"type": "object", "description": "a mapping spec (see Mappings in the README)"}


def _invalid(messages: list[str]) -> ApiError:
    return ApiError(422, "invalid_mapping", f"the mapping is invalid: {messages[0]}", messages)


def _body_spec() -> Any:
    """The request body as a spec, read by its content type (JSON or YAML)."""
    media = (request.content_type or "").split(";", 1)[0].strip().lower()
    raw = request.get_data()
    try:
        if media in _YAML:
            return compiled.parse_spec(raw, "yaml")
        if media == "application/json" or media.endswith("+json"):
            return compiled.parse_spec(raw, "json")
    except MappingError as exc:
        raise ApiError(400, "bad_spec", exc.message) from None
    raise ApiError(
        415,
        "unsupported_media_type",
        f"send the spec as application/json or application/yaml, not {media or 'none'!r}",
    )


@bp.get("/mappings/<name>")
@requires("viewer")
@openapi.doc(summary="An account's current mapping", answer=openapi.MappingCurrent)
def read(name: str) -> Response:
    account = account_or_404(name)
    with current_hub().db.transaction() as session:
        version = store.current(session, account)
    return jsonify({**version.to_json(), "source": "account" if version.number else "default"})


@bp.put("/mappings/<name>")
@requires("editor")
@openapi.doc(
    summary="Save a new version of the mapping",
    query=WriteQuery,
    body=_SPEC,
    body_media=(openapi.JSON, *_YAML),
    answer=openapi.Mapping,
    status=201,
    errors=(415,),
)
def write(name: str) -> tuple[Response, int]:
    account = account_or_404(name)
    spec = _body_spec()
    try:
        with current_hub().db.transaction() as session:
            version = store.save(
                session,
                account,
                spec,
                author=g.token_name,
                comment=validation.query(WriteQuery()).get("comment"),
            )
    except MappingError as exc:
        raise _invalid(list(exc.details or [exc.message])) from None
    return jsonify(version.to_json()), 201


@bp.post("/mappings/<name>/validate")
@requires("viewer")
@openapi.doc(
    summary="Check a draft spec",
    body=_SPEC,
    body_media=(openapi.JSON, *_YAML),
    answer=openapi.MappingCheck,
    errors=(415,),
)
def validate(name: str) -> Response:
    account = account_or_404(name)
    spec = _body_spec()
    with current_hub().db.transaction() as session:
        messages = store.check(session, account, spec)
    return jsonify({"valid": not messages, "messages": messages})


@bp.get("/mappings/<name>/versions")
@requires("viewer")
@openapi.doc(summary="Every saved version (without specs)", answer=openapi.page_of(openapi.Mapping))
def versions(name: str) -> Response:
    account = account_or_404(name)
    with current_hub().db.transaction() as session:
        items = [v.to_json(with_spec=False) for v in store.history(session, account)]
    return jsonify({"items": items, "next": None})


def _get_version(session: Any, account: Account, number: int) -> store.Version:
    version = store.get(session, account, number)
    if version is None:
        raise ApiError(
            404, "not_found", f"account {account.name!r} has no mapping version {number}"
        )
    return version


@bp.get(f"/mappings/<name>/versions/<{VERSION}:number>")
@requires("viewer")
@openapi.doc(summary="One saved version", answer=openapi.Mapping)
def version(name: str, number: int) -> Response:
    account = account_or_404(name)
    with current_hub().db.transaction() as session:
        return jsonify(_get_version(session, account, number).to_json())


@bp.get("/mappings/<name>/diff")
@requires("viewer")
@openapi.doc(query=DiffQuery, answer=openapi.MappingDiff)
def diff(name: str) -> Response:
    """``?from=A&to=B`` (``to`` defaults to the current version)."""
    account = account_or_404(name)
    params = validation.query(DiffQuery())
    first, second = params["from_"], params.get("to")
    with current_hub().db.transaction() as session:
        a = _get_version(session, account, first)
        b = (
            _get_version(session, account, second)
            if second is not None
            else store.current(session, account)
        )
    return jsonify({"from": a.number, "to": b.number, **store.diff(a.spec, b.spec)})


@bp.post("/mappings/<name>/rollback")
@requires("editor")
@openapi.doc(
    summary="Make an earlier version current again",
    body=Rollback,
    answer=openapi.Mapping,
    status=201,
)
def rollback(name: str) -> tuple[Response, int]:
    account = account_or_404(name)
    body = validation.body(Rollback())
    number = body["version"]
    try:
        with current_hub().db.transaction() as session:
            new = store.rollback(
                session, account, number, author=g.token_name, comment=body.get("comment")
            )
    except LookupError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except MappingError as exc:
        raise _invalid(list(exc.details or [exc.message])) from None
    return jsonify(new.to_json()), 201


@bp.post("/mappings/<name>/preview")
@requires("viewer")
@openapi.doc(body=Preview, answer=openapi.MappingPreview)
def preview(name: str) -> Response:
    """Translate ``payload`` (or stored ``delivery_id``) with a draft ``spec`` (or the current
    one); show the result, the draft's validation messages, and what differs from the current
    version's result. Nothing is saved."""
    account = account_or_404(name)
    body = validation.body(Preview())
    hub = current_hub()
    with hub.db.transaction() as session:
        topic = body.get("topic")
        if "delivery_id" in body:
            try:
                payload, stored_topic = mapping_preview.stored_payload(
                    session, account, body["delivery_id"]
                )
            except LookupError as exc:
                raise ApiError(404, "not_found", str(exc)) from None
            except ValueError as exc:
                raise ApiError(422, "bad_payload", str(exc)) from None
            topic = topic or stored_topic
        elif "payload" in body:
            payload = body["payload"]  # read with exact numbers, never floats
        else:
            raise ApiError(400, "bad_request", 'give "payload" or "delivery_id"')
        result = mapping_preview.preview(
            hub,
            session,
            account,
            payload,
            spec=body.get("spec"),
            topic=topic,
            stored="delivery_id" in body,
        )
    return jsonify(result)


@bp.post("/mappings/<name>/retranslate")
@requires("editor")
@openapi.doc(body=Retranslate, body_required=False, answer=openapi.Retranslated, status=202)
def retranslate(name: str) -> tuple[Response, int]:
    """Translate again, from their stored deliveries, the account's orders in
    ``needs_attention`` (or the one ``order_id``), with the current mapping."""
    account = account_or_404(name)
    body = validation.body(Retranslate(), empty=True)
    hub = current_hub()
    with hub.db.transaction() as session:
        queued = translation.retranslate(hub, session, account.name, body.get("order_id"))
        audit.record(
            session, g.token_name, "orders.retranslate", f"mapping:{name}", {"queued": queued}
        )
    return jsonify({"queued": queued}), 202
