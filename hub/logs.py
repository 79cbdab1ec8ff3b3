"""One way to log, for every process: ``configure(settings)`` is called by every entry point
(``hub serve``, ``hub web`` and ``gunicorn wsgi:app`` through ``create_app``, ``hub worker``,
``hub scheduler``, every other command) and gives one line format on standard error:

    2026-12-07T06:00:00.123Z INFO hub.translation order translated order=12 status=ready

or, with ``HUB_LOG_FORMAT=json``, one JSON object a line: ``time`` (UTC, ISO 8601 with Z),
``level``, ``logger``, ``message``, every field given as ``extra={...}``, and ``exception``.
Every line is redacted (``hub.secrets.redact``): the accounts' secrets in any case, values
that look like credentials, and the token of tracking page addresses.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from typing import Any

from hub import secrets
from hub.errors import ConfigError
from hub.settings import Settings

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: libraries that say too much at INFO: WARNING and above unless the hub logs at DEBUG
QUIET = ("apscheduler", "alembic")
#: the attributes every LogRecord has; anything else on a record came as ``extra``
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_lock = threading.Lock()
_configured: tuple[str, str] | None = None


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a record carries (``log.info("...", extra={...})``)."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def timestamp(record: logging.LogRecord) -> str:
    seconds = int(record.created)
    milliseconds = int((record.created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{milliseconds:03d}Z"


#: what makes a text value need quoting in a text line
_QUOTE = re.compile(r'[ "=\n\t]')


def _text_value(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    if type(value) is int:
        return str(value)
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text == "" or _QUOTE.search(text):
        return json.dumps(text)
    return text


class TextFormatter(logging.Formatter):
    """``TIME LEVEL LOGGER message key=value ...``, then the traceback if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [timestamp(record), record.levelname, record.name, record.getMessage()]
        parts += [f"{k}={_text_value(v)}" for k, v in fields(record).items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return secrets.redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object a line; the traceback, if any, as ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in fields(record).items():
            out.setdefault(key, value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(_redacted(out), default=str, ensure_ascii=False)


def _redacted(data: Any) -> Any:
    if isinstance(data, str):
        return secrets.redact(data)
    if isinstance(data, dict):
        return {k: _redacted(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_redacted(v) for v in data]
    return data


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is at each line (a test runner or click may swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format.lower() == "json" else TextFormatter()


def configured() -> bool:
    """Whether ``configure`` has run in this process."""
    return _configured is not None


def configure(settings: Settings) -> None:
    """Send every logger through one handler on standard error, in ``settings.log_format``,
    at ``settings.log_level``. Safe to call again (the same settings change nothing)."""
    global _configured
    level, log_format = settings.log_level.upper(), settings.log_format.lower()
    if level not in LEVELS:
        raise ConfigError(f"log_level must be one of {', '.join(LEVELS)}, got {level!r}")
    secrets.install_logging()
    # No format shows the caller's file and line, the thread or the process, so records skip
    # looking them up (the Logging HOWTO's "Optimization"): a third of a record's cost, on
    # every webhook's lines.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    with _lock:
        root = logging.getLogger()
        ours = [h for h in root.handlers if isinstance(h, _Stderr)]
        if _configured == (level, log_format) and ours:
            return
        for handler in ours:
            root.removeHandler(handler)
        # a handler someone else put on the root (basicConfig, a library) would print a
        # second line in its own format; a test runner's capture handlers are kept
        for handler in list(root.handlers):
            if type(handler) is logging.StreamHandler:
                root.removeHandler(handler)
        handler = _Stderr()
        handler.setFormatter(formatter(log_format))
        root.addHandler(handler)
        root.setLevel(level)
        for name in QUIET:
            logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
        _configured = (level, log_format)
