"""Secrets never leave the hub: every configured secret value is known here, and removed from
every error the hub raises, every log line and every job error it stores.

Connectors flag their secret keys (``metadata={"secret": True}`` in their settings schema);
the running hub registers the values of every account. Scrubbing at these three exits
catches a secret whatever path brought it there: an API quoting the request back, a SOAP
fault, a header whose name does not look secret, a password inside an XML body.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from marshmallow import fields

REDACTED = "[redacted]"
_MIN = 4  # shorter values would redact ordinary words
_values: tuple[str, ...] = ()
_lock = threading.Lock()


def register(values: Iterable[str]) -> None:
    """Add secret values (longest first, so a secret containing another goes whole)."""
    global _values
    with _lock:
        merged = set(_values) | {v for v in values if isinstance(v, str) and len(v) >= _MIN}
        _values = tuple(sorted(merged, key=len, reverse=True))


def scrub(text: str) -> str:
    for value in _values:
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def scrub_data(data: Any) -> Any:
    """``scrub`` through dicts, lists and strings (an error's details)."""
    if not _values:
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
        return scrub(super().getMessage())


_installed = False


def install_logging() -> None:
    """Every log record's message is scrubbed, whoever logs it (once per process)."""
    global _installed
    with _lock:
        if not _installed:
            logging.setLogRecordFactory(_ScrubbedRecord)
            _installed = True
