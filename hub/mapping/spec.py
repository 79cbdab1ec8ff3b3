"""The mapping spec language: parsing YAML or JSON, and validation that points at the exact
place (the expressions themselves are checked and run by :mod:`hub.mapping.expressions`).

A spec is versioned data (``version: 1``), never code: its expressions are JMESPath, which
can only read the payload. :mod:`hub.mapping.compiled` compiles a valid spec and applies it; this
module says whether a spec is valid, and if not, everything that is wrong with it, as
``"<path>: <problem>"`` messages (``lookups.sku[3].to: unknown warehouse SKU 'MUG-BLU'``) in
the order the spec is written. Lines and columns in messages count from 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields

from hub.canonical import OrderStatus
from hub.errors import MappingError, TranslationError
from hub.mapping.expressions import expression_problems
from hub.values import country, loads

SPEC_FORMAT = 1

_ADDRESS_PARTS = "name company line1 line2 city region postal_code country_code phone".split()
#: canonical fields a spec's ``fields`` may set, in the order they are documented
FIELD_TARGETS = (
    "number",
    "notes",
    "tags",
    "customer.email",
    "customer.name",
    "customer.phone",
    *(f"shipping_address.{part}" for part in _ADDRESS_PARTS),
    *(f"billing_address.{part}" for part in _ADDRESS_PARTS),
    "shipping.method",
    "shipping.carrier_service",
)
_ALLOWED_TARGETS = (
    "allowed: number, notes, tags, customer.<email|name|phone>, "
    f"shipping_address.<{'|'.join(_ADDRESS_PARTS)}>, billing_address.<same>, "
    "shipping.<method|carrier_service>"
)
#: statuses a status lookup may give; ``needs_attention`` is the hub's own verdict on an
#: order's problems, never a channel's word, so a lookup cannot choose it
LOOKUP_STATUSES = tuple(s.value for s in OrderStatus if s is not OrderStatus.NEEDS_ATTENTION)

Path = tuple[str | int, ...]


# -- parsing ------------------------------------------------------------------------------


class _SpecLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but a key written twice in one mapping is an error, not a
    silent "last one wins" (an admin who pastes a second ``fields:`` would lose the first)."""


def _construct_mapping(loader: _SpecLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, list | dict):
            continue  # unhashable; the constructor below reports it
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_SpecLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_spec(text: str | bytes, fmt: str) -> dict:
    """Parse a spec's text as ``fmt`` (``"yaml"`` or ``"json"``) into a dict, unvalidated.

    Bad syntax is a :class:`~hub.errors.MappingError` whose message names the line and column
    (``YAML syntax error at line 3, column 9: ...``); so is a document that is not a mapping.
    JSON numbers with a fraction become Decimal, never float.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _parse_error(f"spec is not UTF-8 text (byte {exc.start})") from None
    if fmt == "yaml":
        try:
            spec = yaml.load(text, Loader=_SpecLoader)  # a SafeLoader subclass
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "invalid YAML"
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise _parse_error(f"YAML syntax error{where}: {problem}") from None
        except yaml.YAMLError as exc:
            raise _parse_error(f"YAML syntax error: {exc}") from None
    elif fmt == "json":
        try:
            spec = loads(text)
        except json.JSONDecodeError as exc:
            raise _parse_error(
                f"JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
    else:
        raise MappingError(f"unknown spec format {fmt!r} (use 'yaml' or 'json')")
    if not isinstance(spec, dict):
        found = "nothing" if spec is None else f"a {type(spec).__name__}"
        raise _parse_error(f"a mapping spec must be a mapping (object), got {found}")
    return spec


def _parse_error(message: str) -> MappingError:
    return MappingError(message, details=[message])


# -- validation ---------------------------------------------------------------------------


def validate_spec(spec: Any, *, known_skus: set[str] | None = None) -> list[str]:
    """Every problem with ``spec`` as ``"<path>: <problem>"`` messages; ``[]`` when valid.

    All problems are collected, in the order the spec is written (keys in document order, list
    entries by index; a missing required key comes after its siblings). With ``known_skus``
    (the client's warehouse SKUs), SKU lookup targets must be among them.
    """
    found: list[tuple[Path, str]] = []
    try:
        _SpecSchema().load(spec)
    except ValidationError as exc:
        found.extend(_flatten(exc.messages, ()))
    if isinstance(spec, dict):
        found.extend(_cross_checks(spec, known_skus))
    ranked = sorted(found, key=lambda item: _position(spec, item[0]))
    return [f"{_format(path)}: {message}" for path, message in ranked]


_TEXT_ERRORS = {"required": "required", "null": "must not be null", "invalid": "must be a string"}


def _non_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("must not be empty")


def _text(*checks: Any, **kwargs: Any) -> fields.String:
    """A required-looking string field: not blank, then ``checks`` in order."""
    return fields.String(error_messages=_TEXT_ERRORS, validate=[_non_blank, *checks], **kwargs)


def _status(value: str) -> None:
    if value not in LOOKUP_STATUSES:
        raise ValidationError(
            f"{value!r} is not a canonical status (one of {', '.join(LOOKUP_STATUSES)})"
        )


def _expression(value: Any) -> None:
    problems = expression_problems(value)
    if problems:
        raise ValidationError(problems)


def _country(value: str) -> None:
    try:
        country(value)
    except TranslationError:
        raise ValidationError(f"not an ISO 3166-1 alpha-2 code {value!r}") from None


def _carrier(value: str) -> None:
    if "/" in value:
        raise ValidationError("must not contain '/' (carrier_service is '<carrier>/<service>')")


def _list(inner: fields.Field) -> fields.List:
    return fields.List(inner, allow_none=True, error_messages={"invalid": "must be a list"})


def _section(schema: type[Schema]) -> fields.Nested:
    return fields.Nested(schema, allow_none=True)


def whole_quantity(value: Any) -> int | None:
    """``value`` as a whole number >= 1 (an integral Decimal or float counts), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal | float):
        try:
            if value != int(value):
                return None
        except (ValueError, OverflowError):  # NaN, infinity
            return None
        value = int(value)
    return value if isinstance(value, int) and value >= 1 else None


class _Version(fields.Field):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or value != SPEC_FORMAT or not isinstance(value, int):
            raise ValidationError(f"must be {SPEC_FORMAT}")
        return value


class _Quantity(fields.Field):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        quantity = whole_quantity(value)
        if quantity is None:
            raise ValidationError("must be a whole number >= 1")
        return quantity


class _Base(Schema):
    error_messages = {"unknown": "unknown key", "type": "must be a mapping"}


class _Component(_Base):
    sku = _text(required=True)
    quantity = _Quantity(required=True, error_messages={"required": "required"})


class _SkuTarget(fields.Field):
    """A warehouse SKU, or a kit: a list of ``{sku, quantity}``."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            _non_blank(value)
            return value
        if not isinstance(value, list):
            raise ValidationError("must be a warehouse SKU or a list of {sku, quantity}")
        if not value:
            raise ValidationError("a kit must list at least one component")
        errors: dict[int, Any] = {}
        for i, item in enumerate(value):
            try:
                _Component().load(item)
            except ValidationError as exc:
                errors[i] = exc.messages
        if errors:
            raise ValidationError(errors)
        return value


class _SkuEntry(_Base):
    from_ = _text(required=True, data_key="from")
    to = _SkuTarget(required=True, error_messages={"required": "required", "null": "required"})


class _ShippingEntry(_Base):
    from_ = _text(required=True, data_key="from")
    carrier = _text(_carrier, required=True)
    service = _text(required=True)


class _StatusEntry(_Base):
    from_ = _text(required=True, data_key="from")
    to = _text(_status, required=True)


class _RenameEntry(_Base):
    from_ = _text(required=True, data_key="from")
    to = _text(required=True)


class _Lookups(_Base):
    sku = _list(fields.Nested(_SkuEntry))
    shipping = _list(fields.Nested(_ShippingEntry))
    status = _list(fields.Nested(_StatusEntry))
    tracking_carrier = _list(fields.Nested(_RenameEntry))


class _Rules(_Base):
    hold_tags = _list(_text())
    hold_if = fields.Raw(validate=_expression, allow_none=True)
    ignore_if = fields.Raw(validate=_expression, allow_none=True)
    default_country = _text(_country, allow_none=True)


class _Fields(fields.Field):
    """``target: expression`` pairs; the targets are a fixed list."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError("must be a mapping of canonical field to JMESPath expression")
        errors: dict[str, list[str]] = {}
        for target, expression in value.items():
            if target not in FIELD_TARGETS:
                errors[str(target)] = [f"unknown field {target!r} ({_ALLOWED_TARGETS})"]
            elif problems := expression_problems(expression):
                errors[target] = problems
        if errors:
            raise ValidationError(errors)
        return value


class _SpecSchema(_Base):
    version = _Version(
        required=True, error_messages={"required": "required", "null": f"must be {SPEC_FORMAT}"}
    )
    fields_ = _Fields(data_key="fields", allow_none=True)
    lookups = _section(_Lookups)
    rules = _section(_Rules)


#: what each lookup's ``from`` names, and whether it matches ignoring case (as applied)
_LOOKUP_KEYS = {
    "sku": ("channel SKU", False),
    "shipping": ("shipping method", True),
    "status": ("channel status", True),
    "tracking_carrier": ("carrier", False),
}


def _cross_checks(spec: dict[str, Any], known_skus: set[str] | None) -> Iterator[tuple[Path, str]]:
    """What one entry cannot know alone: duplicates, and SKUs the warehouse does not know."""
    lookups = spec.get("lookups")
    if not isinstance(lookups, dict):
        return
    for kind, (what, fold) in _LOOKUP_KEYS.items():
        entries = lookups.get(kind)
        if not isinstance(entries, list):
            continue
        seen: set[str] = set()
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            source = entry.get("from")
            if isinstance(source, str) and source.strip():
                key = source.strip().casefold() if fold else source.strip()
                if key in seen:
                    yield ("lookups", kind, i, "from"), f"duplicate {what} {source!r}"
                seen.add(key)
            if kind == "sku":
                yield from _kit_checks(entry.get("to"), ("lookups", "sku", i, "to"), known_skus)


def _kit_checks(target: Any, path: Path, known: set[str] | None) -> Iterator[tuple[Path, str]]:
    if isinstance(target, str):
        if known is not None and target.strip() and target.strip() not in known:
            yield path, f"unknown warehouse SKU {target.strip()!r}"
        return
    if not isinstance(target, list):
        return
    seen: set[str] = set()
    for j, component in enumerate(target):
        sku = component.get("sku") if isinstance(component, dict) else None
        if not isinstance(sku, str) or not sku.strip():
            continue
        sku = sku.strip()
        if sku in seen:
            yield (*path, j, "sku"), f"duplicate component SKU {sku!r}"
        elif known is not None and sku not in known:
            yield (*path, j, "sku"), f"unknown warehouse SKU {sku!r}"
        seen.add(sku)


def _flatten(messages: Any, path: Path) -> Iterator[tuple[Path, str]]:
    """marshmallow's nested error dict as (path, message) pairs; ``_schema`` is the node."""
    if isinstance(messages, dict):
        for key, inner in messages.items():
            yield from _flatten(inner, path if key == "_schema" else (*path, key))
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(message, path)
    else:
        yield path, str(messages)


def _position(spec: Any, path: Path) -> tuple[int, ...]:
    """Where ``path`` is in the spec as written: key indexes in document order, list indexes.
    A key the spec lacks (``required``) sorts after the keys it has."""
    node, rank = spec, []
    for token in path:
        if isinstance(node, dict):
            keys = list(node)
            rank.append(keys.index(token) if token in node else len(keys))
            node = node.get(token)
        elif isinstance(node, list) and isinstance(token, int) and token < len(node):
            rank.append(token)
            node = node[token]
        else:
            rank.append(0)
            node = None
    return tuple(rank)


def _format(path: Path) -> str:
    out = ""
    for token in path:
        out += f"[{token}]" if isinstance(token, int) else (f".{token}" if out else str(token))
    return out or "$"
