"""JMESPath expressions for mapping specs: checked before a spec is saved (syntax, unknown
functions, argument counts) and compiled once into functions of the payload.

JMESPath can only read the payload: no code from a spec ever runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from numbers import Number
from typing import Any

import jmespath
from jmespath import exceptions as jp_errors
from jmespath import functions as jp_functions
from jmespath import visitor

_FUNCTIONS = jp_functions.Functions.FUNCTION_TABLE  # type: ignore[attr-defined]


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
