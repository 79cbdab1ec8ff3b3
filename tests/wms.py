"""A WMS for the ``rest_wms`` connector to talk to over real HTTP, on a local port, for the
tests that run real ``hub`` processes and for ``bench/``; and the accounts-file section of a
``rest_wms`` account. Nothing here needs pytest.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


def rest_wms_account(
    api_base: str, api_key: str, *more: str, name: str = "acme-wms", client: str = "acme"
) -> str:
    """The accounts-file section of a ``rest_wms`` account; ``more`` are further TOML lines
    (``'rate_limit = 1000'``)."""
    lines = [
        f"[accounts.{name}]",
        'connector = "rest_wms"',
        f'client = "{client}"',
        f'api_base = "{api_base}"',
        f'api_key = "{api_key}"',
        *more,
    ]
    return "\n" + "\n".join(lines) + "\n"


def answer_json(handler: BaseHTTPRequestHandler, status: int, data: Any) -> None:
    """Answer with ``data`` as JSON; a client gone meanwhile (a killed worker) is no error."""
    body = json.dumps(data).encode()
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the worker that asked was killed meanwhile


class HoldingWms(ThreadingHTTPServer):
    """Answers ``GET /stock`` and ``GET /shipments`` with empty lists; :meth:`hold` keeps the
    next ``n`` ``/stock`` requests unanswered until :meth:`release` (or :meth:`close`), so
    the jobs that asked are mid-run. ``stock_calls`` counts every ``/stock``, ``held`` those
    held since the last :meth:`hold`."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HoldingHandler)
        self.lock = threading.Lock()
        self.to_hold = 0
        self.held = 0
        self.stock_calls = 0
        self.released = threading.Event()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api"

    def hold(self, n: int) -> None:
        with self.lock:
            self.to_hold, self.held = n, 0
            self.released = threading.Event()

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.release()
        self.shutdown()
        self.server_close()


class _HoldingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real API

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        wms: HoldingWms = self.server  # type: ignore[assignment]
        path = urlsplit(self.path).path
        if path == "/api/stock":
            with wms.lock:
                wms.stock_calls += 1
                hold = wms.to_hold > 0
                if hold:
                    wms.to_hold -= 1
                    wms.held += 1
                released = wms.released
            if hold:
                released.wait(600)
        if path in ("/api/stock", "/api/shipments"):
            answer_json(self, 200, {"items": []})
        else:
            answer_json(self, 404, {"error": "not found"})
