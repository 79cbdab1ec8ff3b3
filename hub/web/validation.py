"""Request validation at the edge: every JSON body and every query string of the API is
loaded through a marshmallow schema, so bad input is a 4xx that names the field, and what a
view receives fits the database.

* :func:`body` reads a JSON body (exact numbers: fractions are Decimal) that must be an
  object: not JSON, not UTF-8 or not an object is 400 ``bad_json`` naming ``body``; a field
  the schema refuses is ``status`` (400 unless the route says otherwise) with ``code``, and
  ``details`` ``{"field": <the first bad field>, "fields": {<path>: [messages]}}``. Unknown
  fields are refused.
* :func:`query` loads ``request.args``: a bad parameter is 400 ``bad_parameter`` with
  ``details`` ``{"parameter", "value", "fields"}``. Unknown parameters are ignored.
* :class:`QueryInt` takes ASCII digits only (``str.isdigit`` also passes ``²`` and ``٣``), and
  :class:`Cursor` the opaque page cursor ``page`` hands out.
* :data:`ID` is the URL converter for ids in paths: ASCII digits up to the largest BIGINT;
  anything else matches no route (404). :func:`install_converters` registers it on the app
  from a blueprint.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from flask import Blueprint, request
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields
from werkzeug.routing import BaseConverter
from werkzeug.routing import ValidationError as RouteMismatch

from hub.storage.fields import MAX_ID, MAX_INT, clean_text, first_problem, flatten
from hub.values import loads
from hub.web.errors import ApiError

_DIGITS = re.compile(r"[0-9]{1,30}")


class IdConverter(BaseConverter):
    """``<id:name>`` in a route: ASCII digits, 1 to ``max`` (default :data:`MAX_ID`)."""

    regex = r"[0-9]+"
    weight = 50
    part_isolating = True

    def __init__(self, map: Any, max: int = MAX_ID) -> None:
        super().__init__(map)
        self.max = max

    def to_python(self, value: str) -> int:
        if len(value) > 30 or not 1 <= int(value) <= self.max:
            raise RouteMismatch()
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))


#: ``<id:order_id>``; ``<version:number>`` for INTEGER columns (mapping version numbers)
ID, VERSION = "id", "version"


class VersionConverter(IdConverter):
    def __init__(self, map: Any) -> None:
        super().__init__(map, MAX_INT)


def install_converters(bp: Blueprint) -> None:
    """Make :data:`ID` and :data:`VERSION` known before ``bp``'s routes are added (call it
    before the first route of the blueprint)."""

    def register(state: Any) -> None:
        state.app.url_map.converters.setdefault(ID, IdConverter)
        state.app.url_map.converters.setdefault(VERSION, VersionConverter)

    bp.record(register)


# -- query parameters ------------------------------------------------------------------------
class QueryInt(fields.Field):
    """A whole number written in ASCII digits, within ``min``..``max``."""

    def __init__(self, *, min: int = 1, max: int = MAX_ID, **kwargs: Any):
        super().__init__(**kwargs)
        self.min, self.max = min, max

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not _DIGITS.fullmatch(value):
            raise ValidationError(f"a whole number from {self.min} to {self.max}, in digits 0-9")
        number = int(value)
        if not self.min <= number <= self.max:
            raise ValidationError(f"a whole number from {self.min} to {self.max}")
        return number


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


class Cursor(fields.Field):
    """The opaque ``cursor`` of a list: the id to continue below."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        try:
            text = base64.urlsafe_b64decode(str(value).encode() + b"==").decode("ascii")
        except (binascii.Error, ValueError):
            text = ""
        if not _DIGITS.fullmatch(text) or not 1 <= int(text) <= MAX_ID:
            raise ValidationError("not a cursor this API gave out")
        return int(text)


class QueryText(fields.String):
    """A query parameter's text: at most ``max_length`` characters, storable as text."""

    def __init__(self, max_length: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_length = max_length

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = clean_text(text)
        if problem:
            raise ValidationError(problem)
        if self.max_length is not None and len(text) > self.max_length:
            raise ValidationError(f"at most {self.max_length} characters")
        return text


class PageSchema(Schema):
    """``limit`` and ``cursor``, which every list takes."""

    class Meta:
        unknown = EXCLUDE

    limit = QueryInt(min=1, max=200, load_default=50)
    cursor = Cursor(load_default=None)


def query(schema: Schema, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """``request.args`` loaded through ``schema``; the names in ``lists`` are repeatable (each
    value checked)."""
    args: dict[str, Any] = {
        name: request.args.getlist(name) if name in lists else request.args.get(name)
        for name in request.args
    }
    args = {name: value for name, value in args.items() if value not in ("", [])}
    try:
        return schema.load(args, unknown=EXCLUDE)
    except ValidationError as exc:
        problems = flatten(exc.messages)
        name = next(iter(problems))
        top = name.split("[", 1)[0].split(".", 1)[0]
        raise ApiError(
            400,
            "bad_parameter",
            f"{name}: {problems[name][0]}",
            {"parameter": top, "value": args.get(top), "fields": problems},
        ) from None


# -- JSON bodies -----------------------------------------------------------------------------
def body(
    schema: Schema, *, status: int = 400, code: str = "bad_request", empty: bool = False
) -> dict[str, Any]:
    """The request's JSON object loaded through ``schema`` (see the module's docstring).
    ``empty``: no body at all is the same as ``{}``."""
    try:
        return schema.load(json_object(empty=empty), unknown=RAISE)
    except ValidationError as exc:
        raise invalid(exc, status, code) from None


def json_object(*, empty: bool = False) -> dict[str, Any]:
    """The request's body as a JSON object, numbers exact (400 naming ``body`` otherwise)."""
    raw = request.get_data(cache=True)
    if empty and not raw.strip():
        data: Any = {}
    else:
        try:
            data = loads(raw)
        except ValueError as exc:  # not UTF-8 (UnicodeDecodeError) or not JSON
            raise ApiError(
                400, "bad_json", f"body: not a JSON document: {exc}", {"field": "body"}
            ) from None
    if not isinstance(data, dict):
        raise ApiError(
            400,
            "bad_request",
            f"body: send a JSON object, not {_JSON_TYPES.get(type(data), 'a number')}",
            {"field": "body"},
        )
    return data


_JSON_TYPES = {list: "an array", str: "a string", bool: "true or false", type(None): "null"}


def invalid(exc: ValidationError, status: int, code: str) -> ApiError:
    """A schema's refusal as an API error naming the first bad field (and listing all)."""
    name, message, problems = first_problem(exc)
    return ApiError(status, code, f"{name}: {message}", {"field": name, "fields": problems})
