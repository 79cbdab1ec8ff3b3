"""eBay's error envelope read into the hub's error tree (``hub/errors.py``). Pure.

Every eBay REST API answers a refused request with ``{"errors": [{"errorId", "domain",
"category", "message", "longMessage", "parameters": [{"name", "value"}]}]}`` (per-item
results of bulk calls carry the same objects, and ``warnings`` in that shape). ``category``
is ``REQUEST`` (the request is wrong), ``BUSINESS`` (a rule refuses it) or ``APPLICATION``
(a fault on eBay's side). A message may name its ``parameters`` in braces (``A system error has
occurred. {additionalInfo}``); they are filled in when the message is told. Each method's error
ids are listed in eBay's OpenAPI contracts (``x-response-codes``), e.g. the Fulfillment API's
30500 (system error, ``APPLICATION``), 32100 (invalid order id), 32300 (invalid tracking number
or carrier) and the Inventory API's 25001 (system error), 25002 (user error). —
https://developer.ebay.com/api-docs/static/handling-error-messages.html

The hub's HTTP client has already turned the status into a typed error (429 and 5xx retried,
401/403 ``AuthError``, other 4xx ``PermanentError``); here the envelope refines it:

* ``APPLICATION`` errors, and the ids below that mean "try later", are ``RetryableError``;
* ``1001``-``1004`` (access token invalid, missing or expired) and ``1100`` (insufficient
  permissions) are ``AuthError``;
* everything else stays ``PermanentError``, its message naming each ``errorId`` with its
  ``longMessage`` (or ``message``).

What the client said of its attempts (``details.attempts``, ``details.verdict``: retried and
gave up, not sent again, or told to wait) is kept, so a failed job still shows it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from hub.errors import AuthError, ConnectorError, PermanentError, RetryableError

#: common errors of every API: 2001 too many requests, 2003 internal error; 25001 the
#: Inventory API's "system error"
RETRYABLE_IDS = frozenset({2001, 2003, 25001})
#: invalid, missing or expired access token; insufficient permissions (scopes)
AUTH_IDS = frozenset({1001, 1002, 1003, 1004, 1100})


def errors_of(body: Any) -> list[dict[str, Any]]:
    """The ``errors`` of an answer (parsed JSON, or its text), objects only."""
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return []
    if not isinstance(body, Mapping):
        return []
    errors = body.get("errors")
    return [e for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []


def error_id(error: Mapping[str, Any]) -> int | None:
    try:
        return int(error.get("errorId"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def describe(errors: Iterable[Mapping[str, Any]]) -> str:
    """``errorId 32100: Invalid order ID: 12-34567-89012; errorId ...``: each error's
    ``longMessage`` (else ``message``) with its parameters filled in."""
    parts = []
    for error in errors:
        said = str(error.get("longMessage") or error.get("message") or "no message")
        for parameter in error.get("parameters") or []:
            if isinstance(parameter, Mapping) and parameter.get("name"):
                said = said.replace(f"{{{parameter['name']}}}", str(parameter.get("value") or ""))
        parts.append(f"errorId {error.get('errorId', '?')}: {' '.join(said.split())}")
    return "; ".join(parts)


def retryable(errors: Iterable[Mapping[str, Any]]) -> bool:
    """Whether every error is one that another attempt later may fix."""
    errors = list(errors)
    return bool(errors) and all(
        error_id(e) in RETRYABLE_IDS or str(e.get("category", "")).upper() == "APPLICATION"
        for e in errors
    )


def refine(exc: ConnectorError, label: str) -> ConnectorError:
    """The typed error the envelope in ``exc``'s answer body calls for (``exc`` itself when
    the body carries none). ``label`` names the call (``POST .../shipping_fulfillment``).

    The HTTP client's details stay (``attempts``, ``reason``, ``verdict``: whether it retried,
    gave up or did not dare send again); the raw ``body`` gives way to its parsed ``errors``,
    and the message ends with the verdict, as the client's own does."""
    details = exc.details if isinstance(exc.details, dict) else {}
    errors = errors_of(details.get("body"))
    if not errors:
        return exc
    status = details.get("status")
    kept = {key: value for key, value in details.items() if key != "body"}
    kept.update(status=status, errors=errors)
    message = f"{label}: HTTP {status}: {describe(errors)}"
    if details.get("verdict"):
        message = f"{message}; {details['verdict']}"
    if any(error_id(e) in AUTH_IDS for e in errors) or isinstance(exc, AuthError):
        return AuthError(message, details=kept)
    if retryable(errors) or isinstance(exc, RetryableError):
        retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
        return RetryableError(message, retry_after=retry_after, details=kept)
    return PermanentError(message, details=kept)
