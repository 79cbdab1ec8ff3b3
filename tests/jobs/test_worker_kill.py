"""A ``hub worker`` SIGKILLed mid-job on PostgreSQL: another worker runs the job within
seconds (its heartbeat fell silent), not after the 300 s lease.

The job is a real one, ``warehouse.poll`` of a ``rest_wms`` account whose API is a fake WMS on
a local port, run by the test: it holds the first ``GET /stock`` (the job is then mid-run, in
the outside lane) and answers every later request at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from hub.jobs import outbox
from hub.runtime import Hub
from hub.storage.models import JobRow, WorkerRow
from tests.conftest import ACCOUNTS

HUB = str(Path(sys.executable).with_name("hub"))
#: HUB_WORKER_TIMEOUT in the test, and the bound from the kill to the job done
TIMEOUT, BOUND = 5, 45


class HoldingWms(ThreadingHTTPServer):
    """Answers ``/stock`` and ``/shipments`` with empty lists; holds the first ``/stock``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.holding = threading.Event()  # the first /stock has arrived and waits
        self.closing = threading.Event()
        self.stock_calls = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api"

    def close(self) -> None:
        self.closing.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        wms: HoldingWms = self.server  # type: ignore[assignment]
        path = urlsplit(self.path).path
        if path == "/api/stock":
            with wms.lock:
                wms.stock_calls += 1
                first = wms.stock_calls == 1
            if first:
                wms.holding.set()
                wms.closing.wait(60)
        body = b'{"items": []}' if path in ("/api/stock", "/api/shipments") else b"{}"
        try:
            self.send_response(200 if body != b"{}" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the worker that asked was killed meanwhile


@pytest.fixture
def wms() -> Iterator[HoldingWms]:
    server = HoldingWms()
    yield server
    server.close()


@pytest.fixture
def accounts_file(tmp_path: Path, wms: HoldingWms) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(
        ACCOUNTS
        + f"""
[accounts.acme-wms]
connector = "rest_wms"
client = "acme"
api_base = "{wms.api_base}"
api_key = "acme-wms-key-kill"
rate_limit = 1000
"""
    )
    return path


class Worker:
    """One ``hub worker`` process, its output in a log file."""

    def __init__(self, hub: Hub, log: Path, **env: str):
        self.log = log
        self.handle = open(log, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [HUB, "worker", "--threads", "1"],
            env={
                **os.environ,
                "HUB_DATABASE_URL": hub.settings.database_url,
                "HUB_CONFIG": hub.settings.config,
                "HUB_LOG_LEVEL": "INFO",
                "HUB_WORKER_POLL": "0.1",
                **env,
            },
            cwd=log.parent,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.handle.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _wait(what: str, check: Any, timeout: float, *procs: Worker) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        for proc in procs:
            assert proc.proc.poll() is None, proc.output()[-3000:]
        time.sleep(0.05)
    pytest.fail(f"{what} not seen in {timeout}s:\n" + "\n".join(p.output()[-2000:] for p in procs))


def _workers(hub: Hub) -> list[str]:
    with hub.db.transaction() as s:
        return list(s.execute(select(WorkerRow.id)).scalars())


def _job(hub: Hub, job_id: int) -> JobRow:
    with hub.db.transaction() as s:
        return s.get(JobRow, job_id)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_killed_mid_job_its_job_is_done_within_the_bound(
    hub: Hub, wms: HoldingWms, tmp_path: Path
):
    env = {"HUB_WORKER_TIMEOUT": str(TIMEOUT)}  # HUB_JOB_LEASE stays 300 s
    first = Worker(hub, tmp_path / "worker-1.log", **env)
    second: Worker | None = None
    try:
        [dead] = _wait("the first worker's heartbeat", lambda: _workers(hub), 40, first)
        with hub.db.transaction() as s:
            job_id = outbox.enqueue(s, "warehouse.poll", {"account": "acme-wms"}, max_attempts=3)
        _wait("the job mid-run", wms.holding.is_set, 20, first)
        running = _job(hub, job_id)
        assert (running.status, running.worker_id, running.attempts) == ("running", dead, 1)
        first.kill()
        killed = time.monotonic()

        second = Worker(hub, tmp_path / "worker-2.log", **env)
        _wait("the job done", lambda: _job(hub, job_id).status == "done", BOUND, second)
        took = time.monotonic() - killed
        done = _job(hub, job_id)
        assert took < BOUND
        assert done.attempts == 1  # the killed attempt was not counted
        assert wms.stock_calls == 2
        [alive] = _workers(hub)  # the dead worker's row is gone
        assert alive != dead and done.worker_id == alive
        assert "took back 1 job(s) of silent workers" in second.output()
        print(f"\nworker kill: job {job_id} done {took:.1f}s after SIGKILL (timeout {TIMEOUT}s)")
    finally:
        for proc in (first, second):
            if proc is not None:
                proc.stop()
