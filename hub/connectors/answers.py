"""Reading what an API answered: which failures another attempt may fix, what becomes a typed
error (``hub.errors``), and how messages stay safe to log and to show: URLs without query or
user-info, secrets scrubbed, bodies cut to an excerpt."""

from __future__ import annotations

import email.utils
import json as json_module
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from hub.errors import AuthError, ConnectorError, PermanentError

EXCERPT = 300  # characters of a response body quoted in an error message
DETAIL_BODY = 2000  # characters of a response body kept in an error's details
_SECRET_NAME = re.compile(r"auth|token|key|secret|pass|cookie|signature|session", re.I)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date), or None.

    ``now`` is wall-clock epoch seconds (default ``time.time()``); a date in the past gives 0.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive parse means "-0000"
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):  # NaN, inf: no wait anyone can keep
        return None
    return max(0.0, seconds)


@dataclass
class Retry:
    """Why one attempt failed in a way that another attempt may fix."""

    reason: str
    retry_after: float | None = None  # what the server said, if it said
    safe: bool = False  # the server certainly did not act on the request
    pause: bool = False  # everyone sharing the limiter should wait too
    status: int | None = None
    cost: float | None = None  # what the next attempt will cost, if more than asked
    said: str | None = None  # an excerpt of the answer's body, scrubbed, for the message
    body: str | None = None  # a longer excerpt of it, for the error's details


def error_json(exc: ConnectorError) -> bytes | None:
    """The body a refused request came back with, when it is one whole JSON object (carriers
    answer "not found" with a 404 and a body worth reading). Errors keep an excerpt of at most
    2,000 characters, whitespace collapsed: a cut one is not whole, and None is returned."""
    details = exc.details if isinstance(exc.details, dict) else {}
    body = details.get("body")
    if not isinstance(body, str):
        return None
    try:
        parsed = json_module.loads(body)
    except ValueError:
        return None
    return body.encode() if isinstance(parsed, dict) else None


def classify_response(response: requests.Response, label: str, secrets: list[str]) -> Retry | None:
    """None for an answer below 400; a :class:`Retry` for one another attempt may fix (429,
    408, 5xx), carrying what the server said (scrubbed, cut to an excerpt) so the error that
    ends the retries shows it; otherwise the typed error is raised."""
    status = response.status_code
    if status < 400:
        return None
    if status in (401, 403):
        raise AuthError(f"{label}: HTTP {status}, credentials refused", details={"status": status})
    body = scrub(response.text, secrets)
    said = excerpt(body, EXCERPT) or None
    kept = excerpt(body, DETAIL_BODY) or None
    if status in (429, 503):
        retry_after = retry_wait(response.headers, status)
        return Retry(
            f"HTTP {status}",
            retry_after=retry_after,
            safe=True,
            pause=status == 429 or retry_after is not None,
            status=status,
            said=said,
            body=kept,
        )
    if status == 408:
        return Retry("HTTP 408", safe=True, status=status, said=said, body=kept)
    if status >= 500:
        return Retry(f"HTTP {status}", status=status, said=said, body=kept)
    raise PermanentError(
        f"{label}: HTTP {status}: {excerpt(body, EXCERPT)}",
        details={"status": status, "body": excerpt(body, DETAIL_BODY)},
    )


def retry_wait(headers: Mapping[str, str], status: int) -> float | None:
    """Seconds a 429 or 503 asks to wait: ``Retry-After``, else ``X-Retry-After`` (seconds,
    BigCommerce); a 429 waits the longer of that and ``X-Rate-Limit-Time-Reset-Ms``
    (BigCommerce's window reset), as BigCommerce asks ("honor the longer of the two wait
    times", ``docs/start/migration/4_errors.md`` in ``bigcommerce/docs``). None when the
    answer names no wait (then the client backs off)."""
    said = parse_retry_after(headers.get("Retry-After"))
    if said is None:
        said = parse_retry_after(headers.get("X-Retry-After"))
    waits = [said] if said is not None else []
    if status == 429:
        reset_ms = number(headers.get("X-Rate-Limit-Time-Reset-Ms"))
        if reset_ms is not None and math.isfinite(reset_ms) and reset_ms >= 0:
            waits.append(reset_ms / 1000)
    return max(waits) if waits else None


def classify_exception(exc: requests.RequestException, label: str) -> Retry:
    # Only the exception's class goes into messages: requests' own text quotes the full URL.
    name = type(exc).__name__
    if isinstance(exc, requests.ConnectTimeout):
        return Retry(f"{name} (connect timeout)", safe=True)
    if isinstance(exc, requests.ConnectionError):
        if _failed_before_sending(exc):
            return Retry(f"{name} (could not connect)", safe=True)
        return Retry(f"{name} (connection failed)")
    if isinstance(exc, requests.Timeout):
        return Retry(f"{name} (no answer in time)")
    if isinstance(
        exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        return Retry(f"{name} (answer cut short)")
    raise PermanentError(f"{label}: {name}") from None  # its text may quote the query


def _failed_before_sending(exc: requests.ConnectionError) -> bool:
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def safe_url(url: str) -> str:
    """The URL without user-info, query or fragment: what may be shown and logged."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def secret_values(
    headers: Mapping[str, str],
    params: Mapping[str, Any] | None,
    session: requests.Session,
    data: Any = None,
    auth: tuple[str, str] | None = None,
) -> list[str]:
    values = [v for k, v in headers.items() if _SECRET_NAME.search(k)]
    values += [v for k, v in (params or {}).items() if _SECRET_NAME.search(str(k))]
    if isinstance(data, Mapping):
        values += [v for k, v in data.items() if _SECRET_NAME.search(str(k))]
    values += list(auth or ())
    values += [v for k, v in session.headers.items() if _SECRET_NAME.search(k)]
    if isinstance(session.auth, tuple):
        values += list(session.auth)
    strings = {str(v) for v in values if v is not None}
    words = {w for s in strings for w in s.split() if len(w) >= 8}  # "Bearer xyz" -> "xyz"
    return sorted((strings | words) - {""}, key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


def excerpt(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def graphql_code(error: Any) -> str | None:
    if isinstance(error, dict) and isinstance(error.get("extensions"), dict):
        code = error["extensions"].get("code")
        return str(code) if code is not None else None
    return None


def graphql_message(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message", error))
    return str(error)


_COMMENT = re.compile(r"#[^\n]*")


def is_mutation(query: str) -> bool:
    return _COMMENT.sub("", query).lstrip().startswith("mutation")
