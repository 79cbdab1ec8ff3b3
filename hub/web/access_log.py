"""Gunicorn's logs in the hub's one format: ``GunicornLogger`` sends gunicorn's error log and
its access log through the root handler ``hub.logs.configure`` set up, so a request is one
line like every other, with the request as fields:

    2026-12-07T06:00:00.123Z INFO gunicorn.access GET /track/[redacted] 200 remote=... ms=3

``hub serve`` and ``hub web`` use it; ``gunicorn wsgi:app`` finds it through the
``gunicorn.conf.py`` at the repository root (``logger_class``). The path is redacted like
every line (``hub.secrets.redact``): a tracking page's token never reaches the log.
"""

from __future__ import annotations

from typing import Any

from gunicorn import glogging

from hub import logs
from hub.settings import load_settings


class GunicornLogger(glogging.Logger):
    """Gunicorn's ``logger_class``: its loggers propagate to the hub's handler."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if not logs.configured():  # plain gunicorn: its master has built no hub yet
            logs.configure(load_settings())
        for logger in (self.error_log, self.access_log):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True
        self.error_log.setLevel(self.loglevel)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not getattr(self.cfg, "accesslog", None):
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        target = environ.get("RAW_URI") or environ.get("PATH_INFO", "")
        milliseconds = request_time.seconds * 1000 + request_time.microseconds // 1000
        self.access_log.info(
            "%s %s %s",
            environ.get("REQUEST_METHOD"),
            target,
            status,
            extra={
                "remote": environ.get("REMOTE_ADDR", "-"),
                "bytes": getattr(resp, "sent", None),
                "ms": milliseconds,
                "agent": environ.get("HTTP_USER_AGENT", "-"),
            },
        )


__all__ = ["GunicornLogger"]
