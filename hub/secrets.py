"""Secrets never leave the hub: every configured secret value is known here, and removed from
every error the hub raises, every log line and every job error it stores.

Connectors flag their secret keys (``metadata={"secret": True}`` in their settings schema);
the running hub registers the values of every account. Scrubbing at these three exits
catches a secret whatever path brought it there: an API quoting the request back, a SOAP
fault, a header whose name does not look secret, a password inside an XML body.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

from marshmallow import fields

REDACTED = "[redacted]"
_MIN = 4  # shorter values would redact ordinary words
_values: tuple[str, ...] = ()
_pattern: re.Pattern[str] | None = None  # the values, any case, longest first
_lock = threading.Lock()


def register(values: Iterable[str]) -> None:
    """Add secret values (longest first, so a secret containing another goes whole)."""
    global _values, _pattern
    with _lock:
        merged = set(_values) | {v for v in values if isinstance(v, str) and len(v) >= _MIN}
        _values = tuple(sorted(merged, key=len, reverse=True))
        _pattern = re.compile("|".join(map(re.escape, _values)), re.IGNORECASE)


def scrub(text: str) -> str:
    """``text`` without any registered secret, in any case (an API may echo a key upper- or
    lower-cased, a hex token changes case between systems)."""
    pattern = _pattern
    if pattern is None:
        return text
    return pattern.sub(REDACTED, text)


# What looks like a credential even when the hub never registered it (a token an OAuth server
# handed out, a customer's link): a name that says secret, then its value. Logs only; errors
# and job errors keep their wording and lose the registered values (``scrub``).
_NAME = r"[\w.-]*(?:token|api[_-]?key|apikey|password|passwd|secret|authorization)[\w-]*"
_VALUE = r"[^\s\"',;&]+"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Bearer abc, anywhere; Authorization: <scheme> abc, as a header, JSON or a repr
    (re.compile(r"(\bBearer\s+)[\w.~+/=-]+", re.I), rf"\1{REDACTED}"),
    (
        re.compile(
            rf"(\bAuthorization[\"']?\s*[:=]\s*[\"']?(?:(?:Bearer|Basic|Token|Digest|Bot)\s+)?)"
            rf"{_VALUE}",
            re.I,
        ),
        rf"\1{REDACTED}",
    ),
    # X-Api-Key: abc, X-Shopify-Access-Token: abc (headers whose name says secret)
    (re.compile(rf"(\bX-{_NAME}\s*:\s*){_VALUE}", re.I), rf"\1{REDACTED}"),
    # "api_key": "abc" and 'password': 'abc' (JSON bodies, Python reprs)
    (
        re.compile(rf"([\"']{_NAME}[\"']\s*:\s*)([\"'])(?:\\.|(?!\2).)*\2", re.I),
        rf"\1\2{REDACTED}\2",
    ),
    # ?access_token=abc&... and token=abc in any text
    (re.compile(rf"(\b{_NAME}=){_VALUE}", re.I), rf"\1{REDACTED}"),
    # the end customer's tracking page, /track/<token>: the token is the key to the page
    (re.compile(r"(/track/)[^/?#\s\"']+"), rf"\1{REDACTED}"),
)


#: a word every one of ``_PATTERNS`` needs (lower case): a line without any (most lines) skips
#: them all, a few substring tests instead of six substitutions on every log line
GATE_WORDS = (
    "bearer", "authori", "token", "api_key", "api-key", "apikey", "passw", "secret", "/track/",
)  # fmt: skip


def gated(text: str) -> bool:
    """Whether ``text`` holds a word some credential pattern needs."""
    low = text.lower()
    return any(word in low for word in GATE_WORDS)


def redact(text: str) -> str:
    """``scrub``, then anything shaped like a credential (see ``_PATTERNS``): for log lines."""
    text = scrub(text)
    if not gated(text):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub_data(data: Any) -> Any:
    """``scrub`` through dicts, lists and strings (an error's details)."""
    if _pattern is None:
        return data
    if isinstance(data, str):
        return scrub(data)
    if isinstance(data, dict):
        return {k: scrub_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [scrub_data(v) for v in data]
    return data


def account_values(schema: Any, settings: Any) -> list[str]:
    """The values of an account's keys its connector flags secret."""
    found: list[str] = []
    for name, field in schema.fields.items():
        if not field.metadata.get("secret"):
            continue
        value = settings.get(name)
        if isinstance(field, fields.List) or isinstance(value, list):
            found += [str(v) for v in value or []]
        elif value is not None:
            found.append(str(value))
    return found


class _ScrubbedRecord(logging.LogRecord):
    def getMessage(self) -> str:
        return redact(super().getMessage())


_installed = False


def install_logging() -> None:
    """Every log record's message is redacted, whoever logs it (once per process)."""
    global _installed
    with _lock:
        if not _installed:
            logging.setLogRecordFactory(_ScrubbedRecord)
            _installed = True
