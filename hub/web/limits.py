"""Request limits: how large an ``/api`` body may be, and how deeply any JSON (or YAML) body
the hub reads may nest.

* ``/api`` bodies: at most :data:`MAX_API_BODY` bytes (or ``HUB_MAX_BODY``, if smaller); more
  is a 413 ``body_too_large``. Webhooks keep ``HUB_MAX_BODY`` (default 5 MiB), checked by the
  webhook view itself.
* Nesting: a JSON body whose arrays and objects sit more than :data:`MAX_DEPTH` levels inside
  each other (a YAML body on ``/api`` too) is refused with 422 ``body_too_deep``. Python's
  parsers and everything that walks a parsed payload recurse, so a few thousand ``[`` would
  otherwise end in a ``RecursionError`` (a 500 in the request, or a delivery that fails with a
  riddle in the worker). Nothing the hub is sent legitimately nests more than a dozen levels.

Webhooks are refused at the door, before the signature is checked and before anything is
stored: a too-deep delivery could never be translated, so storing it would only turn it into a
failed delivery to explain later, and an answer of 422 tells the sender at once, as 413 does
for a too-large body. ``/api`` bodies are checked when the view reads them, so a request
without a valid token still gets its 401 first and nothing is read for it.

The checks live in :class:`HubRequest` (the app's request class), whose ``get_data`` (and so
``get_json``) checks the body it returns, and in a ``before_request`` hook that reads a
webhook sent without ``Content-Length`` (chunked) up front, so that it is checked the same way.
"""

from __future__ import annotations

import io
import re
from itertools import accumulate
from typing import Any

import yaml
from flask import Flask, Request, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_content_length

from hub.web.errors import ApiError

#: bytes an ``/api`` request body may have (mapping specs and previews are the largest)
MAX_API_BODY = 1024 * 1024
#: how many arrays/objects (YAML sequences/mappings) may sit inside each other
MAX_DEPTH = 64

_WEBHOOK_ENDPOINT = "webhooks.receive"
_YAML = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_MARKS = bytes(b for b in range(256) if b not in b'"[]{}')
_PAIRS = bytes.maketrans(b"[{]}", b"(())")


def json_depth(body: bytes) -> int:
    """How many arrays/objects of ``body`` sit inside each other at the deepest point
    (``[]`` is 1, ``{"a": [1]}`` is 2), without parsing it, so any depth is safe to measure.
    Brackets inside strings are text. Not-JSON gives a meaningless but finite number; the
    parser reports the syntax later.

    Bytes operations and one pass over the brackets only: this runs on every webhook.
    """
    # Escapes occur only in strings; without them every quote opens or closes a string.
    marks = (_ESCAPE.sub(b"", body) if b"\\" in body else body).translate(None, _NOT_MARKS)
    if b'"' in marks.replace(b'""', b""):
        # some string holds a bracket: keep only what lies between the strings
        brackets = b"".join(marks.split(b'"')[0::2])
    else:
        # Each run of quotes between two brackets has an even length, so each run starts by
        # opening a string and ends by closing one: no bracket is inside a string.
        brackets = marks.translate(None, b'"')
    return _nesting(brackets.translate(_PAIRS))


def _nesting(brackets: bytes) -> int:
    """The depth of a run of ``(`` and ``)``. Each round removes every innermost ``()`` pair,
    so a balanced run is gone after as many rounds as it is deep: a few fast rounds for any
    real body. Past :data:`MAX_DEPTH` rounds (a body to refuse), or on an unbalanced run (not
    JSON), what is left is measured by its running count, in one pass."""
    depth = 0
    while brackets and depth <= MAX_DEPTH:
        shorter = brackets.replace(b"()", b"")
        if len(shorter) == len(brackets):
            break
        brackets, depth = shorter, depth + 1
    if not brackets:
        return depth
    step = {ord("("): 1, ord(")"): -1}
    return depth + max(accumulate(map(step.__getitem__, brackets)), default=0)


def yaml_depth(body: bytes) -> int:
    """The same for YAML, from the parser's event stream: PyYAML's parser keeps an explicit
    stack (only building the nested objects recurses). It is the pure-Python parser the
    mapping loader uses, so a syntax error stops both at the same place; the scan stops there,
    or just past :data:`MAX_DEPTH`, and the real parse reports the error."""
    depth = deepest = 0
    try:
        for event in yaml.parse(body, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
                deepest = max(deepest, depth)
                if deepest > MAX_DEPTH:
                    break
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass
    return deepest


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _is_json(media: str) -> bool:
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def check_depth(body: bytes, content_type: str | None, *, yaml_too: bool) -> None:
    """Raise 422 ``body_too_deep`` when a JSON (or, with ``yaml_too``, YAML) body nests more
    than :data:`MAX_DEPTH` levels. Other media types are not looked at."""
    media = _media(content_type)
    if _is_json(media):
        depth, kind = json_depth(body), "JSON"
    elif yaml_too and media in _YAML:
        depth, kind = yaml_depth(body), "YAML"
    else:
        return
    if depth > MAX_DEPTH:
        shown = f"{depth} levels" if kind == "JSON" else f"more than {MAX_DEPTH} levels"
        raise ApiError(
            422,
            "body_too_deep",
            f"the {kind} body nests {shown} deep (arrays and objects inside each other); "
            f"the limit is {MAX_DEPTH}",
            {"limit": MAX_DEPTH, **({"depth": depth} if kind == "JSON" else {})},
        )


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


class HubRequest(Request):
    """Flask's request with the hub's limits: a smaller body limit under ``/api``, and a
    depth check on every body a view reads under ``/api`` or at the webhook endpoint."""

    _body_checked = False

    @property
    def max_content_length(self) -> int | None:
        limit = super().max_content_length
        if _is_api(self.path):
            return MAX_API_BODY if limit is None else min(limit, MAX_API_BODY)
        return limit

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def get_data(  # type: ignore[override]
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> Any:
        data = super().get_data(cache=cache, as_text=False, parse_form_data=parse_form_data)
        if not self._body_checked:
            self._body_checked = True
            self._check(data)
        return data.decode(errors="replace") if as_text else data

    def _check(self, data: bytes) -> None:
        limit = self.max_content_length
        if (
            self.content_length is None
            and limit is not None
            and len(data) >= limit
            and self.environ["wsgi.input"].read(1)
        ):
            # werkzeug stops reading a chunked body at the limit and returns what it read,
            # which would be answered as a syntax error; more is there: it is too large
            raise RequestEntityTooLarge()
        api = _is_api(self.path)
        if api or self.endpoint == _WEBHOOK_ENDPOINT:
            check_depth(data, self.content_type, yaml_too=api)


def _buffer_chunked_webhook() -> None:
    """A webhook sent without ``Content-Length`` (chunked) is read here, up to
    ``HUB_MAX_BODY``, checked, and handed on to the view with its length, as if it had been
    sent with one (the view reads such a body from the WSGI stream itself)."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    environ = req.environ
    if req.endpoint != _WEBHOOK_ENDPOINT or get_content_length(environ) is not None:
        return
    limit = current_app.extensions["hub"].settings.max_body
    stream = environ["wsgi.input"]
    chunks, size = [], 0
    while chunk := stream.read(min(65536, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ApiError(
                413, "body_too_large", f"the body is over the limit of {limit} bytes (HUB_MAX_BODY)"
            )
    body = b"".join(chunks)
    check_depth(body, req.content_type, yaml_too=False)
    req._body_checked = True
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)  # else werkzeug still sees no length
    environ.pop("wsgi.input_terminated", None)
    req.__dict__.pop("content_length", None)  # werkzeug caches it


def install(app: Flask) -> None:
    """Give ``app`` the hub's request limits."""
    app.request_class = HubRequest
    app.before_request(_buffer_chunked_webhook)
