"""The mapping spec language: parsing YAML or JSON, validation that points at the exact place,
and the engine that runs the spec's JMESPath expressions.

A spec is versioned data (``version: 1``), never code: its expressions are JMESPath, which
can only read the payload. :mod:`hub.mapping` compiles a valid spec and applies it; this module
says whether a spec is valid, and if not, everything that is wrong with it, as
``"<path>: <problem>"`` messages (``lookups.sku[3].to: unknown warehouse SKU 'MUG-BLU'``) in
the order the spec is written. Lines and columns in messages count from 1.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from numbers import Number
from typing import Any

import jmespath
import yaml
from jmespath import exceptions as jp_errors
from jmespath import functions as jp_functions
from jmespath import visitor
from marshmallow import Schema, ValidationError, fields

from hub.canonical import OrderStatus
from hub.errors import MappingError, TranslationError
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

_FUNCTIONS = jp_functions.Functions.FUNCTION_TABLE  # type: ignore[attr-defined]

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


def expression_problems(expression: Any) -> list[str]:
    """What is wrong with one JMESPath expression (syntax, unknown functions, arity)."""
    if not isinstance(expression, str):
        return ["must be a JMESPath expression (a string)"]
    if not expression.strip():
        return ["must not be empty"]
    try:
        parsed = jmespath.compile(expression)
    except jp_errors.ParseError as exc:  # LexerError and IncompleteExpressionError too
        reason = getattr(exc, "message", None) or exc.msg
        if isinstance(exc, jp_errors.IncompleteExpressionError):
            reason = "incomplete expression"
        elif not isinstance(exc, jp_errors.LexerError) and str(exc.token_value) not in reason:
            reason = f"{reason} {exc.token_value!r}"
        return [f"JMESPath syntax error at column {exc.lex_position + 1}: {reason}"]
    except jp_errors.JMESPathError as exc:
        return [f"JMESPath syntax error: {exc}"]
    return list(_function_problems(parsed.parsed))


def _function_problems(node: Any) -> Iterator[str]:
    """Unknown functions and wrong argument counts, which JMESPath only finds per search."""
    if not isinstance(node, dict):
        return
    if node.get("type") == "function_expression":
        name = node.get("value")
        spec = _FUNCTIONS.get(name)
        given = len(node.get("children", []))
        if spec is None:
            yield f"unknown JMESPath function {name}()"
        else:
            signature = spec["signature"]
            wanted = len(signature)
            variadic = bool(signature) and signature[-1].get("variadic")
            if (variadic and given < wanted) or (not variadic and given != wanted):
                least = "at least " if variadic else ""
                noun = "argument" if wanted == 1 else "arguments"
                yield f"JMESPath function {name}() takes {least}{wanted} {noun}, got {given}"
    for child in node.get("children", []):
        yield from _function_problems(child)


# -- the expression engine ----------------------------------------------------------------

Search = Callable[[Any], Any]
_COMPARE = visitor.TreeInterpreter.COMPARATOR_FUNC


def compile_expression(source: str) -> Search:
    """A JMESPath expression (already valid) as a function of the payload, compiled once.

    The common node types become Python closures with JMESPath's exact semantics (plain paths,
    filters, projections, comparisons, boolean operators, function calls); any other node is
    evaluated by one JMESPath interpreter kept for the expression. Either way the expression
    can only read the payload: nothing is ever ``eval``-ed.
    """
    interpreter = visitor.TreeInterpreter()
    return _compile(jmespath.compile(source).parsed, interpreter, jp_functions.Functions())


def truthy(value: Any) -> bool:
    """JMESPath's truth: false, null, "", [] and {} are false; everything else (0 too) true."""
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


def _compile(node: dict[str, Any], interpreter: Any, functions: Any) -> Search:
    kind, value = node["type"], node.get("value")
    if kind in ("current", "identity"):
        return lambda data: data
    if kind == "literal":
        return lambda data: value
    if kind == "field":
        return _path((value,))
    if kind == "index":

        def index(data: Any) -> Any:
            if not isinstance(data, list):
                return None
            try:
                return data[value]
            except IndexError:
                return None

        return index
    if kind not in _COMPOSITE:
        return functools.partial(interpreter.visit, node)
    children = node["children"]
    if kind == "subexpression" and all(child["type"] == "field" for child in children):
        return _path(tuple(child["value"] for child in children))
    parts = [_compile(child, interpreter, functions) for child in children]
    if kind in ("subexpression", "index_expression", "pipe"):

        def sequence(data: Any) -> Any:
            for part in parts:
                data = part(data)
            return data

        return sequence
    if kind == "comparator":
        compare, (left, right) = _COMPARE[value], parts
        if value in ("eq", "ne"):
            literal = children[1].get("value") if children[1]["type"] == "literal" else None
            if isinstance(literal, str):  # JMESPath's bool/number care cannot apply to text
                if value == "eq":
                    return lambda data: left(data) == literal
                return lambda data: left(data) != literal
            return lambda data: compare(left(data), right(data))

        def order(data: Any) -> Any:
            a, b = left(data), right(data)
            return compare(a, b) if _comparable(a) and _comparable(b) else None

        return order
    if kind in ("projection", "filter_projection", "flatten"):
        return _projection(kind, parts)
    if kind == "function_expression":
        call = functions.call_function
        return lambda data: call(value, [part(data) for part in parts])
    if kind == "not_expression":
        (inner,) = parts

        def negate(data: Any) -> bool:
            result = inner(data)
            if isinstance(result, Number) and not isinstance(result, bool) and result == 0:
                return False  # JMESPath: !0 is false, 0 being true
            return not result

        return negate
    first, second = parts
    if kind == "or_expression":
        return lambda data: r if truthy(r := first(data)) else second(data)
    return lambda data: second(data) if truthy(r := first(data)) else r  # and_expression


#: node types compiled to closures (with children); any other is left to the interpreter
_COMPOSITE = frozenset(
    "subexpression index_expression pipe comparator projection filter_projection flatten "
    "function_expression not_expression or_expression and_expression".split()
)


def _path(keys: tuple[str, ...]) -> Search:
    """``a.b.c``: JMESPath asks any object for ``.get``; anything else, or null, gives null."""

    if len(keys) == 1:
        (key,) = keys

        def field(data: Any) -> Any:
            if type(data) is dict:
                return data.get(key)
            try:
                return data.get(key)
            except AttributeError:
                return None

        return field

    def path(data: Any) -> Any:
        for key in keys:
            if type(data) is dict:
                data = data.get(key)
            else:
                try:
                    data = data.get(key)
                except AttributeError:
                    return None
        return data

    return path


def _projection(kind: str, parts: list[Search]) -> Search:
    base = parts[0]
    if kind == "flatten":

        def flatten(data: Any) -> Any:
            items = base(data)
            if not isinstance(items, list):
                return None
            merged: list[Any] = []
            for item in items:
                if isinstance(item, list):
                    merged.extend(item)
                else:
                    merged.append(item)
            return merged

        return flatten
    each = parts[1]
    keep = parts[2] if kind == "filter_projection" else None

    def project(data: Any) -> Any:
        items = base(data)
        if not isinstance(items, list):
            return None
        out = []
        for item in items:
            if keep is None or truthy(keep(item)):
                result = each(item)
                if result is not None:
                    out.append(result)
        return out

    return project


def _comparable(value: Any) -> bool:
    """JMESPath orders numbers (not booleans) and strings only."""
    return isinstance(value, str) or (isinstance(value, Number) and not isinstance(value, bool))


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
