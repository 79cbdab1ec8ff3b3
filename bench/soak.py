"""Soak test: steady webhook intake through real processes to a fake warehouse, then a count.

Run from the project root::

    .venv/bin/python bench/soak.py [--seconds 120] [--rate 20] [--workers 2]
                                   [--sqlite | --postgres | --both | --database-url URL]

Method
------
1. A local fake WMS runs in this script's process (a threaded HTTP server on 127.0.0.1). It
   answers the ``rest_wms`` connector's API as a careful WMS would: ``POST /orders`` makes an
   order (201 ``{"id": "WMS-n"}``), the same ``Idempotency-Key`` again gets the same answer,
   another key for an external reference it holds gets 409, ``GET /orders?external_reference=``
   finds an order, ``/stock`` and ``/shipments`` are empty lists. It records every order POST
   with its idempotency key, its answer and the time it arrived. Under ``/shopify`` the same
   server is the shop's API, answering only the order list (empty) that the scheduler's
   reconciliation reads under ``--server serve``. Anything else it is asked (or a request
   without the right credentials) is recorded as unexpected and answered 404 / 401.
2. A temporary folder gets an accounts file with two accounts of client ``soak``: a Shopify
   shop (a literal webhook secret; ``stock_sync = false`` and ``api_base`` on the fake server,
   so nothing leaves the machine) and a ``rest_wms`` warehouse whose ``api_base`` is the fake
   WMS (``rate_limit = 1000``, so the connector's own limit is not what is measured). The
   database is a SQLite file in that folder, or a fresh PostgreSQL database created beside the
   one named and dropped afterwards.
3. ``hub db upgrade``; ``hub stock import`` gives the order's SKUs more stock than the run can
   use; then the real processes start: the web tier (``hub web``: gunicorn, ``--web-workers``
   x ``--threads`` gthread; or ``--server serve``: ``hub serve``, whose one process also runs a
   worker and the scheduler) and ``--workers`` ``hub worker`` processes. Intake starts once
   the web tier answers ``/healthz`` and every worker has logged each of its threads started.
4. Intake is an open loop at ``--rate`` deliveries per second for ``--warmup`` seconds (whose
   deliveries are checked like the others but not timed) and then ``--seconds``: request ``n``
   is due at ``start + n / rate`` and goes out on the first of ``--connections`` keep-alive
   connections that is free, so a slow answer delays nothing else (unless every connection is
   busy: then requests go out late, and the lateness is printed). Every request is the Shopify
   2024-04 docs order (the body of ``bench/ingest.py``) with its own order id, its own
   ``X-Shopify-Webhook-Id`` and a valid HMAC. The one line still owed (``IPOD2008RED`` x 1)
   needs shipping, the order is paid, so each order is translated (``translate`` job),
   allocated (``order.release``) and sent to the WMS (``warehouse.release``): every accepted
   delivery must end as exactly one order and exactly one ``POST /orders`` with
   ``Idempotency-Key: hub-order-<order id>``.
5. While it runs, ``GET /metrics`` is sampled every ``--sample`` seconds: the queue depth is
   the outbox's ``queued`` + ``running`` jobs. When intake stops, the script waits (at most
   ``--drain-timeout`` seconds) until no ``translate``, ``order.release`` or
   ``warehouse.release`` job is queued or running, then stops the processes and counts, from
   the database and the fake WMS's record.

Reading the figures
-------------------
* ``throughput``: accepted (2xx, not a duplicate) deliveries per second of the timed intake
  (its schedule, or until its last answer if that came later), and its ratio to ``--rate``.
  Below 1.00 means the hub (or the load generator: see ``late``) could not keep the pace.
* ``intake latency``: p50/p99 from sending a request to its 202, as a sender sees it. ``late``
  counts requests sent more than 50 ms after their due time (all connections were busy):
  their wait is not in the latency, so a high count means the latency flatters the hub.
* ``end to end``: p50/p99 from the 202 to the order's POST arriving at the fake WMS: the time
  the workers need to translate, allocate and push. An idle worker thread looks for jobs every
  ``HUB_WORKER_POLL`` (0.5 s), and an order crosses two lanes, so at a low rate this is
  mostly waiting for the next look, not work.
* ``max queue depth``: the most jobs queued or running in any sample, also as seconds of intake
  it stands for (three jobs per order). A depth that keeps growing with ``--seconds`` means the
  workers fall behind; a small steady one means they keep up.
* ``drain``: how long after intake stopped the last job finished, also as a ratio of the intake
  time.
* ``orders`` / ``pushes``: accepted deliveries that became an order / reached the WMS, as
  ratios to the accepted count (both must be 1.00).
* ``lost`` (must be 0): accepted deliveries with no order, or whose order the WMS never took
  (no 201 for its key). ``duplicates`` (must be 0): a second order for one channel order, a
  POST again after the WMS had taken the order (its idempotency key saved the day, but it
  was a second push), a POST for an order the WMS holds under another key (409), a 202 that
  said ``duplicate`` for a new webhook id, and pushes for orders this run did not send. A POST
  again after a failed answer (5xx, timeout) is a retry, counted on the ``jobs`` line, not a
  duplicate.
* ``jobs``: the outbox at the end by kind and status, with job retries (claims beyond the
  first) and dead jobs; ``cpu``: CPU milliseconds per accepted delivery of the web processes
  and of the workers (Linux ``/proc``; a PostgreSQL server's CPU is not in it). With
  ``--server serve`` the web process's figure includes its own worker and scheduler.
* With both backends, a last table puts them side by side with the PostgreSQL / SQLite ratio of
  each figure.

The exit status is 1 when anything was lost or duplicated, any intake request failed (non-2xx
or a connection error), or the fake WMS was asked something unexpected; 2 when a run could not
be set up (e.g. PostgreSQL does not answer), 130 when interrupted. The load generator, the
fake WMS and the hub share the machine: compare ratios and trends, not absolute rates.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import itertools
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ingest import body_template, free_port, tree_cpu, wait_healthy

from hub.connectors.signing import hmac_sha256_base64

ROOT = Path(__file__).resolve().parent.parent
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
CLIENT = "soak"
ACCOUNT = "soak-shopify"
WAREHOUSE = "soak-wms"
SHOP = "soak.myshopify.com"
SECRET = "soak-shopify-webhook-secret"
WMS_KEY = "soak-wms-key"
SHOPIFY_TOKEN = "shpat_soak"
#: the SKUs of the sample order; only IPOD2008RED is still owed (1 an order), all get stock
SKUS = ("IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK")
#: the jobs every accepted delivery makes, in order
PIPELINE = ("translate", "order.release", "warehouse.release")
STARTUP_TIMEOUT = 60.0
LATE = 0.050  # a request sent later than this after its due time counts as late
KEY = re.compile(r"hub-order-(\d+)")
SHOPIFY_ORDERS = re.compile(r"GET /shopify/admin/api/[^/]+/orders\.json")
METRIC = re.compile(r'^hub_jobs\{kind="([^"]*)",status="([^"]*)"\} (\d+)$')


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of ``values`` (seconds), in milliseconds; nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank] * 1000


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


# --------------------------------------------------------------------------------------------
# The fake WMS: the rest_wms connector's default API, every request recorded.


@dataclass(frozen=True)
class Push:
    """One ``POST /orders`` as the fake WMS saw and answered it."""

    key: str  # its Idempotency-Key
    reference: str | None  # the hub order id it carried
    at: float  # time.perf_counter() when it arrived
    status: int  # 201: taken (made now, or the same key's earlier answer again)


class FakeWms:
    """A threaded HTTP server in this process that stands in for the warehouse's REST API."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.pushes: list[Push] = []
        self.answers: dict[str, bytes] = {}  # idempotency key -> the answer it got
        self.orders: dict[str, str] = {}  # external reference -> WMS id
        self.other: collections.Counter[str] = collections.Counter()  # lookups, polls
        self.unexpected: list[str] = []
        wms = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                wms.handle(self, "GET")

            def do_POST(self) -> None:
                wms.handle(self, "POST")

            def do_PUT(self) -> None:
                wms.handle(self, "PUT")

            def do_DELETE(self) -> None:
                wms.handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():  # shutdown() waits for a loop that must be running
            self.server.shutdown()
        self.server.server_close()

    def handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        arrived = time.perf_counter()
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        url = urlsplit(req.path)
        where = f"{method} {url.path}"
        if self.delay:
            time.sleep(self.delay)
        if url.path.startswith("/shopify/"):
            return self._shopify(req, where)
        if req.headers.get("Authorization") != f"Bearer {WMS_KEY}":
            return self._answer(req, 401, {"error": "unauthorised"}, where)
        if where == "POST /wms/orders":
            return self._create(req, body, arrived)
        if where == "GET /wms/orders":
            reference = (parse_qs(url.query).get("external_reference") or [""])[0]
            with self.lock:
                self.other[where] += 1
                found = self.orders.get(reference)
            items = [{"id": found, "external_reference": reference}] if found else []
            return self._answer(req, 200, {"items": items})
        if where in ("GET /wms/stock", "GET /wms/shipments"):
            with self.lock:
                self.other[where] += 1
            return self._answer(req, 200, {"items": []})
        return self._answer(req, 404, {"error": "not found"}, where)

    def _shopify(self, req: BaseHTTPRequestHandler, where: str) -> None:
        """The shop's order list, for the scheduler's reconciliation (``hub serve``): empty,
        so it takes nothing in; nothing else of Shopify's API is expected."""
        if req.headers.get("X-Shopify-Access-Token") != SHOPIFY_TOKEN:
            return self._answer(req, 401, {"errors": "unauthorised"}, where)
        if SHOPIFY_ORDERS.fullmatch(where):
            with self.lock:
                self.other["GET shopify orders.json"] += 1
            return self._answer(req, 200, {"orders": []})
        return self._answer(req, 404, {"errors": "Not Found"}, where)

    def _create(self, req: BaseHTTPRequestHandler, body: bytes, arrived: float) -> None:
        key = req.headers.get("Idempotency-Key") or ""
        try:
            reference = str(json.loads(body)["external_reference"])
        except (ValueError, KeyError, TypeError):
            reference = None
        with self.lock:
            if key in self.answers:  # a retry: the same answer again, nothing new made
                answer, status = self.answers[key], 201
            elif reference is None:
                answer, status = b'{"error": "no external_reference"}', 422
            elif reference in self.orders:
                answer, status = b'{"error": "external_reference exists"}', 409
            else:
                wms_id = f"WMS-{len(self.orders) + 1}"
                self.orders[reference] = wms_id
                answer = json.dumps({"id": wms_id, "external_reference": reference}).encode()
                self.answers[key] = answer
                status = 201
            self.pushes.append(Push(key, reference, arrived, status))
        self._send(req, status, answer)

    def _answer(
        self, req: BaseHTTPRequestHandler, status: int, data: Any, unexpected: str | None = None
    ) -> None:
        if unexpected is not None:
            with self.lock:
                self.unexpected.append(f"{unexpected} -> {status}")
        self._send(req, status, json.dumps(data).encode())

    @staticmethod
    def _send(req: BaseHTTPRequestHandler, status: int, payload: bytes) -> None:
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(payload)))
        req.end_headers()
        req.wfile.write(payload)


# --------------------------------------------------------------------------------------------
# Intake: an open loop of signed Shopify webhooks at a steady rate.


@dataclass
class Sent:
    """One intake request as the sender saw it (times from time.perf_counter())."""

    order_id: int  # the Shopify order id in the body
    due: float
    sent: float
    answered: float | None = None
    status: int | None = None
    delivery_id: int | None = None
    duplicate: bool = False
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and not self.duplicate


class Intake:
    """``connections`` sender threads share one schedule: request n is due at start + n/rate,
    for ``warmup + seconds``; requests due in the first ``warmup`` seconds are not timed."""

    def __init__(
        self, port: int, rate: float, seconds: float, warmup: float, connections: int
    ) -> None:
        self.port, self.rate, self.connections = port, rate, connections
        self.seconds, self.warmup = seconds, warmup
        self.run = uuid.uuid4().hex[:8]
        self.base_id = random.randrange(10**15, 4 * 10**15)  # unique order ids per run
        self.head, self.tail = body_template()
        self.sign = hmac_sha256_base64
        self.records: list[Sent] = []
        self.lock = threading.Lock()
        self.seq = itertools.count()
        self.stopping = threading.Event()
        self.start = 0.0

    def go(self) -> None:
        self.start = time.perf_counter() + 0.05
        self.threads = [
            threading.Thread(target=self._sender, name=f"soak-sender-{i}", daemon=True)
            for i in range(self.connections)
        ]
        for t in self.threads:
            t.start()

    def join(self) -> None:
        for t in self.threads:
            t.join()

    @property
    def measured_from(self) -> float:
        return self.start + self.warmup

    def snapshot(self) -> list[Sent]:
        with self.lock:
            return list(self.records)

    def _sender(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        end = self.start + self.warmup + self.seconds
        while not self.stopping.is_set():
            with self.lock:
                n = next(self.seq)
            due = self.start + n / self.rate
            if due >= end:
                break
            wait = due - time.perf_counter()
            if wait > 0 and self.stopping.wait(wait):
                break
            order_id = self.base_id + n
            body = self.head + str(order_id).encode() + self.tail
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Shop-Domain": SHOP,
                "X-Shopify-API-Version": "2024-04",
                "X-Shopify-Webhook-Id": f"soak-{self.run}-{n}",
                "X-Shopify-Event-Id": f"soak-{self.run}-e{n}",
                "X-Shopify-Hmac-Sha256": self.sign(SECRET, body),
            }
            record = Sent(order_id, due, time.perf_counter())
            try:
                conn.request("POST", f"/webhooks/{ACCOUNT}", body, headers)
                response = conn.getresponse()
                data = response.read()
                record.answered = time.perf_counter()
                record.status = response.status
                with contextlib.suppress(ValueError, AttributeError):
                    answer = json.loads(data)
                    record.delivery_id = answer.get("delivery_id")
                    record.duplicate = bool(answer.get("duplicate"))
            except (OSError, http.client.HTTPException) as exc:
                record.error = f"{type(exc).__name__}: {exc}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            with self.lock:
                self.records.append(record)
        conn.close()


class Sampler:
    """Reads ``GET /metrics`` every ``interval`` seconds: jobs queued + running, by kind."""

    def __init__(self, port: int, interval: float) -> None:
        self.port, self.interval = port, interval
        self.samples: list[tuple[float, int, dict[str, int]]] = []  # (time, depth, by kind)
        self.failures = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="soak-sampler", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)

    def last(self) -> tuple[int, dict[str, int]]:
        return (self.samples[-1][1], self.samples[-1][2]) if self.samples else (0, {})

    def _loop(self) -> None:
        while not self.stopping.is_set():
            at = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                try:
                    conn.request("GET", "/metrics")
                    text = conn.getresponse().read().decode()
                finally:
                    conn.close()
            except (OSError, http.client.HTTPException):
                self.failures += 1
            else:
                pending: collections.Counter[str] = collections.Counter()
                for line in text.splitlines():
                    match = METRIC.match(line)
                    if match and match[2] in ("queued", "running"):
                        pending[match[1]] += int(match[3])
                self.samples.append((at, sum(pending.values()), dict(pending)))
            self.stopping.wait(max(0.0, self.interval - (time.perf_counter() - at)))


# --------------------------------------------------------------------------------------------
# Processes and the database.


class Processes:
    """Subprocesses started here (each in its own session), stopped TERM then KILL."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.logs: dict[str, Path] = {}

    def start(self, name: str, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        with log.open("ab") as sink:
            proc = subprocess.Popen(
                hub_command(*args),
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=sink,
                start_new_session=True,
            )
        self.procs.append((name, proc))
        self.logs[name] = log
        return proc

    def check(self) -> list[str]:
        """Names of processes that exited on their own, with their status."""
        return [f"{n} (exit {p.returncode})" for n, p in self.procs if p.poll() is not None]

    def stop(self) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for _, proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self.procs.clear()


def hub_command(*args: str) -> list[str]:
    """The ``hub`` CLI of this interpreter (works without the console script on PATH)."""
    return [sys.executable, "-c", "from hub.cli import main; main()", *args]


def run_hub(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        hub_command(*args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"hub {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


class SoakDatabase:
    """A SQLite file in the run's folder, or a fresh PostgreSQL database beside the one named
    (created here, dropped afterwards); any other URL is used as it is."""

    def __init__(self, url: str | None, tmp: Path) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        from hub.storage.db import normalise_url

        self.created: str | None = None
        self.admin_url: str | None = None
        self.engine: Any = None
        if url is None:
            self.url = f"sqlite:///{tmp / 'hub.db'}"
            self.backend, self.label = "sqlite", f"sqlite ({tmp / 'hub.db'})"
            return
        parsed = make_url(normalise_url(url))
        self.backend = parsed.get_backend_name()
        if self.backend != "postgresql":
            self.url, self.label = url, f"{self.backend} ({url}, as given)"
            return
        name = f"bench_soak_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            raise RuntimeError(
                f"PostgreSQL at {parsed.render_as_string(hide_password=True)}: could not create "
                f"a database ({type(exc).__name__}: {str(exc).splitlines()[0]})"
            ) from None
        finally:
            admin.dispose()
        self.created = name
        self.admin_url = parsed.render_as_string(hide_password=False)
        self.url = parsed.set(database=name).render_as_string(hide_password=False)
        self.label = f"postgresql (fresh database {name}, dropped afterwards)"

    def query(self, sql: str, **params: Any) -> list[Any]:
        from sqlalchemy import create_engine, text

        from hub.storage.db import normalise_url

        if self.engine is None:
            self.engine = create_engine(normalise_url(self.url))
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def pending(self) -> int:
        """Jobs of the order pipeline still queued or running."""
        kinds = ", ".join(f"'{k}'" for k in PIPELINE)
        [(n,)] = self.query(
            f"SELECT count(*) FROM jobs WHERE status IN ('queued', 'running') AND kind IN ({kinds})"
        )
        return n

    def drop(self) -> None:
        """Close this script's connections; drop the database if it was created here."""
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None
        if self.created is None or self.admin_url is None:
            return
        from sqlalchemy import create_engine, text

        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name"
                    ),
                    {"name": self.created},
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.created}"'))
        finally:
            admin.dispose()


# --------------------------------------------------------------------------------------------
# One soak run.


@dataclass
class Result:
    backend: str
    label: str = ""
    sent: int = 0
    accepted: int = 0
    non_2xx: collections.Counter[int] = field(default_factory=collections.Counter)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    warmup: int = 0
    timed_accepted: int = 0
    late: int = 0
    max_late_ms: float = 0.0
    intake_seconds: float = 0.0
    throughput: float = 0.0
    p50: float = float("nan")
    p99: float = float("nan")
    e2e_p50: float = float("nan")
    e2e_p99: float = float("nan")
    max_depth: int = 0
    max_depth_at: float = 0.0
    max_depth_kinds: dict[str, int] = field(default_factory=dict)
    samples: int = 0
    drain_seconds: float = float("nan")
    drained: bool = False
    orders: int = 0
    pushed: int = 0
    lost: int = 0
    lost_samples: list[str] = field(default_factory=list)
    duplicates: int = 0
    duplicate_detail: dict[str, int] = field(default_factory=dict)
    unacknowledged: int = 0
    unexpected: list[str] = field(default_factory=list)
    jobs: dict[tuple[str, str], int] = field(default_factory=dict)
    retries: int = 0
    wms_retries: int = 0
    dead: int = 0
    wms_posts: int = 0
    wms_taken: int = 0
    fake_other: dict[str, int] = field(default_factory=dict)
    sample_failures: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)
    web_cpu_ms: float = float("nan")
    worker_cpu_ms: float = float("nan")
    wall: float = 0.0
    failed_processes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicates
            or self.errors
            or self.non_2xx
            or self.unexpected
            or self.failed_processes
        )


def accounts_toml(wms_base: str) -> str:
    return (
        f"[accounts.{ACCOUNT}]\n"
        'connector = "shopify"\n'
        f'client = "{CLIENT}"\n'
        f'shop = "{SHOP}"\n'
        f'webhook_secret = "{SECRET}"\n'
        f'access_token = "{SHOPIFY_TOKEN}"\n'
        f'api_base = "{wms_base}/shopify"\n'
        "stock_sync = false\n"
        "\n"
        f"[accounts.{WAREHOUSE}]\n"
        'connector = "rest_wms"\n'
        f'client = "{CLIENT}"\n'
        f'api_base = "{wms_base}/wms"\n'
        f'api_key = "{WMS_KEY}"\n'
        "rate_limit = 1000\n"
    )


def soak(args: argparse.Namespace, url: str | None, backend: str) -> Result:
    """Set up, run intake, drain, count; everything started here is stopped on the way out."""
    wall_start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f"hub-soak-{backend}-"))
    wms = FakeWms(args.wms_delay / 1000)
    procs = Processes()
    db: SoakDatabase | None = None
    try:
        db = SoakDatabase(url, tmp)
        result = Result(backend=db.backend, label=db.label)
        wms.start()
        config = tmp / "hub.toml"
        config.write_text(accounts_toml(wms.base))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "GUNICORN"))}
        env.update(
            HUB_DATABASE_URL=db.url,
            HUB_CONFIG=str(config),
            HUB_LOG_LEVEL="INFO",  # workers say when they have started, and any retry
            PYTHONUNBUFFERED="1",
        )
        run_hub(env, "db", "upgrade")
        on_hand = math.ceil(args.rate * (args.warmup + args.seconds) * 2) + 100
        levels = tmp / "stock.csv"
        levels.write_text("sku,on_hand\n" + "".join(f"{s},{on_hand}\n" for s in SKUS))
        run_hub(env, "stock", "import", str(levels), "--client", CLIENT)

        port = free_port()
        web_log = tmp / "web.log"
        if args.server == "serve":
            web = procs.start(
                "hub serve",
                ["serve", "--port", str(port), "--threads", str(args.threads)],
                env,
                web_log,
            )
            shape = f"hub serve (1 process x {args.threads} threads, its own worker, scheduler)"
        else:
            web = procs.start(
                "hub web",
                ["web", "--port", str(port), "--workers", str(args.web_workers),
                 "--threads", str(args.threads)],
                env,
                web_log,
            )  # fmt: skip
            shape = f"hub web ({args.web_workers} processes x {args.threads} threads)"
        wait_healthy(web, port, web_log, "the hub's web tier")
        workers = [
            procs.start(
                f"hub worker {i}",
                ["worker", "--threads", str(args.worker_threads)],
                env,
                tmp / f"worker-{i}.log",
            )
            for i in range(args.workers)
        ]
        wait_started(procs, 1 + args.worker_threads)
        if workers:
            shape += (
                f" + {len(workers)} hub worker process(es) x (1 inside + "
                f"{args.worker_threads} outside) threads"
            )
        print(
            f"\n== soak on {db.label}\n{shape}; fake WMS at {wms.base}/wms"
            + (f" answering after {args.wms_delay:g} ms" if args.wms_delay else "")
            + f"\nintake: {args.rate:g}/s for {args.warmup:g} s (warm-up, checked, not timed) "
            f"+ {args.seconds:g} s, open loop on "
            f"{args.connections} keep-alive connections; {os.cpu_count()} CPUs",
            flush=True,
        )
        cpu_pids = {"web": web.pid, "workers": [w.pid for w in workers]}
        cpu_before = _cpu(cpu_pids)

        sampler = Sampler(port, args.sample)
        intake = Intake(port, args.rate, args.seconds, args.warmup, args.connections)
        sampler.start()
        intake.go()
        try:
            _progress(intake, sampler, wms, procs, args)
        finally:
            intake.stopping.set()  # at the schedule's end anyway, unless a process died
            intake.join()
        intake_end = time.perf_counter()

        deadline = intake_end + args.drain_timeout
        drained_at = None
        while time.perf_counter() < deadline and not procs.check():
            if db.pending() == 0:
                drained_at = time.perf_counter()
                break
            time.sleep(0.2)
        result.drained = drained_at is not None
        result.drain_seconds = (drained_at - intake_end) if drained_at else float("nan")
        cpu_after = _cpu(cpu_pids)
        sampler.stop()
        result.failed_processes = procs.check()
        procs.stop()  # nothing may move while we count
        wms.stop()

        _count(result, intake, sampler, wms, db)
        result.web_cpu_ms = _cpu_ms(cpu_before["web"], cpu_after["web"], result.accepted)
        result.worker_cpu_ms = _cpu_ms(cpu_before["workers"], cpu_after["workers"], result.accepted)
        result.wall = time.perf_counter() - wall_start
        for name, log in procs.logs.items():
            if any(failed.startswith(f"{name} ") for failed in result.failed_processes):
                print(f"{name} stopped during the run; its log ends:\n{_tail(log)}")
        return result
    finally:
        procs.stop()
        with contextlib.suppress(Exception):
            wms.stop()
        if db is not None:
            db.drop()
        shutil.rmtree(tmp, ignore_errors=True)


def wait_started(procs: Processes, threads: int) -> None:
    """Wait until every process that runs jobs has logged each of its worker threads started
    (``threads`` per ``hub worker``; ``hub serve`` runs one inside and two outside threads), so
    intake does not race their start-up."""
    from hub.cli.processes import OUTSIDE_THREADS

    wanted = {
        name: (1 + OUTSIDE_THREADS if name == "hub serve" else threads)
        for name in procs.logs
        if name.startswith("hub worker") or name == "hub serve"
    }
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        started = {
            name: len(
                re.findall(r"worker \S+ started", procs.logs[name].read_text(errors="replace"))
            )
            for name in wanted
        }
        if all(started[name] >= n for name, n in wanted.items()):
            return
        if procs.check():
            raise RuntimeError(f"{', '.join(procs.check())} exited while starting")
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers not started within {STARTUP_TIMEOUT:.0f} s: {started}")
        time.sleep(0.1)


def _cpu(pids: dict[str, Any]) -> dict[str, float | None]:
    web = tree_cpu(pids["web"])
    parts = [tree_cpu(pid) for pid in pids["workers"]]
    workers = None if None in parts else sum(p for p in parts if p is not None)
    return {"web": web, "workers": workers}


def _cpu_ms(before: float | None, after: float | None, deliveries: int) -> float:
    """CPU milliseconds per delivery between two readings (nan when unknown)."""
    if before is None or after is None or not deliveries:
        return float("nan")
    return (after - before) / deliveries * 1000


def _tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


def _progress(
    intake: Intake, sampler: Sampler, wms: FakeWms, procs: Processes, args: argparse.Namespace
) -> None:
    """Wait for intake to end, a line on stderr every ``--progress`` seconds."""
    next_line = intake.start + args.progress
    while any(t.is_alive() for t in intake.threads):
        time.sleep(0.2)
        if procs.check():
            print(f"  stopping early: {', '.join(procs.check())} exited", file=sys.stderr)
            return
        now = time.perf_counter()
        if args.progress and now >= next_line:
            next_line += args.progress
            records = intake.snapshot()
            depth, _ = sampler.last()
            print(
                f"  t={now - intake.start:5.0f}s sent {len(records)}, accepted "
                f"{sum(r.accepted for r in records)}, queue {depth}, pushed {len(wms.pushes)}",
                file=sys.stderr,
                flush=True,
            )


def _count(
    result: Result, intake: Intake, sampler: Sampler, wms: FakeWms, db: SoakDatabase
) -> None:
    """Every accepted delivery: one order, one push. Fills in ``result``."""
    records = intake.records
    accepted = [r for r in records if r.accepted]
    result.sent = len(records)
    result.accepted = len(accepted)
    result.errors = sum(r.error is not None for r in records)
    result.error_samples = [r.error for r in records if r.error][:5]
    result.non_2xx = collections.Counter(
        r.status for r in records if r.status is not None and not 200 <= r.status < 300
    )
    # timed: the requests due after the warm-up
    timed = [r for r in records if r.due >= intake.measured_from]
    result.warmup = len(records) - len(timed)
    answered = [r.answered - r.sent for r in timed if r.answered is not None]
    result.p50, result.p99 = percentile(answered, 50), percentile(answered, 99)
    lateness = [r.sent - r.due for r in timed]
    result.late = sum(x > LATE for x in lateness)
    result.max_late_ms = max(lateness, default=0.0) * 1000
    # the timed window: its schedule, or longer when the last answers came later
    last = max((r.answered or r.sent for r in timed), default=0.0)
    result.intake_seconds = max(last, intake.measured_from + intake.seconds) - intake.measured_from
    result.timed_accepted = sum(r.accepted for r in timed)
    result.throughput = ratio(result.timed_accepted, result.intake_seconds)

    result.samples = len(sampler.samples)
    if sampler.samples:
        at, depth, kinds = max(sampler.samples, key=lambda s: s[1])
        result.max_depth, result.max_depth_at, result.max_depth_kinds = depth, at, kinds
        result.max_depth_at -= intake.start

    # the hub's side, from the database (a fresh database holds only this run)
    ours = {str(r.order_id): r for r in records}
    orders: dict[str, list[tuple[int, str]]] = collections.defaultdict(list)
    for order_id, external_id, status in db.query(
        "SELECT id, external_id, status FROM orders WHERE account = :account", account=ACCOUNT
    ):
        if external_id in ours:
            orders[external_id].append((order_id, status))
    delivery_status = {
        delivery_id: (status, error)
        for delivery_id, status, error in db.query(
            "SELECT id, status, error FROM deliveries WHERE account = :account", account=ACCOUNT
        )
    }
    result.deliveries = dict(collections.Counter(s for s, _ in delivery_status.values()))
    jobs = db.query(
        "SELECT kind, status, count(*), "
        "coalesce(sum(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END), 0) "
        "FROM jobs GROUP BY kind, status"
    )
    result.jobs = {(kind, status): n for kind, status, n, _ in jobs}
    result.retries = sum(retries for *_, retries in jobs)
    result.dead = sum(n for (_, status), n in result.jobs.items() if status == "dead")

    # the WMS's side
    by_key: dict[str, list[Push]] = collections.defaultdict(list)
    for push in wms.pushes:
        by_key[push.key].append(push)
    hub_ids = {order_id: ext for ext, rows in orders.items() for order_id, _ in rows}

    # lost: accepted, yet no order, or an order that never reached the WMS
    e2e: list[float] = []
    for r in accepted:
        ext = str(r.order_id)
        rows = orders.get(ext)
        if not rows:
            result.lost += 1
            status, error = delivery_status.get(r.delivery_id, ("missing", None))
            _sample(result, f"order {ext}: no order (delivery {r.delivery_id} {status} {error})")
            continue
        result.orders += 1
        first_push = min(
            (
                p.at
                for order_id, _ in rows
                for p in by_key.get(f"hub-order-{order_id}", [])
                if p.status == 201
            ),
            default=None,
        )
        if first_push is None:
            result.lost += 1
            tried = [p.status for p in by_key.get(f"hub-order-{rows[0][0]}", [])]
            _sample(
                result,
                f"order {ext}: hub order {rows[0][0]} ({rows[0][1]}) never taken by the WMS"
                + (f" (answers {tried})" if tried else " (never sent)"),
            )
            continue
        result.pushed += 1
        if r.answered is not None:
            e2e.append(first_push - r.answered)
    result.e2e_p50, result.e2e_p99 = percentile(e2e, 50), percentile(e2e, 99)

    # duplicates: anything beyond one order and one push per channel order. A POST again
    # after the WMS failed to answer is a retry (counted, not a duplicate); a POST again
    # after the WMS took the order is a duplicate, even though its idempotency key saved it.
    detail = {
        "second order for a channel order": sum(len(v) - 1 for v in orders.values()),
        "POST again after the WMS took the order": 0,
        "POST for an order the WMS holds under another key": 0,
        "new webhook answered as duplicate": sum(r.duplicate for r in records),
        "push for an order this run did not send": 0,
    }
    for key, pushes in by_key.items():
        match = KEY.fullmatch(key)
        if not match or int(match[1]) not in hub_ids:
            detail["push for an order this run did not send"] += len(pushes)
            continue
        taken = next((i for i, p in enumerate(pushes) if p.status == 201), None)
        if taken is None:
            result.wms_retries += len(pushes) - 1
        else:
            result.wms_retries += taken
            detail["POST again after the WMS took the order"] += len(pushes) - taken - 1
        detail["POST for an order the WMS holds under another key"] += sum(
            p.status == 409 for p in pushes
        )
    result.duplicate_detail = {k: v for k, v in detail.items() if v}
    result.duplicates = sum(detail.values())
    # sent, the answer lost (a connection error), but stored and carried out: not a failure
    result.unacknowledged = sum(1 for r in records if not r.accepted and str(r.order_id) in orders)
    result.unexpected = list(wms.unexpected)
    result.wms_posts = len(wms.pushes)
    result.wms_taken = sum(p.status == 201 for p in wms.pushes)
    result.fake_other = dict(wms.other)
    result.sample_failures = sampler.failures


def _sample(result: Result, text: str) -> None:
    if len(result.lost_samples) < 10:
        result.lost_samples.append(text)


# --------------------------------------------------------------------------------------------
# The report.


def report(result: Result, args: argparse.Namespace) -> None:
    r = result
    jobs_per_second = 3 * r.throughput
    print(f"\n-- results: {r.label}")
    print(
        f"intake         sent {r.sent} ({r.warmup} in the warm-up), accepted {r.accepted}, non-2xx "
        f"{sum(r.non_2xx.values())}{' ' + str(dict(r.non_2xx)) if r.non_2xx else ''}, "
        f"connection errors {r.errors}; late (> {LATE * 1000:.0f} ms after due) {r.late}, "
        f"max lateness {r.max_late_ms:.0f} ms"
    )
    for sample in r.error_samples:
        print(f"               error: {sample}")
    print(
        f"throughput     {r.throughput:.2f} accepted/s over the timed {r.intake_seconds:.1f} s; "
        f"target {args.rate:g}/s; ratio {ratio(r.throughput, args.rate):.3f}"
    )
    print(f"intake latency p50 {r.p50:.1f} ms, p99 {r.p99:.1f} ms (send -> 202)")
    print(
        f"end to end     p50 {r.e2e_p50:.1f} ms, p99 {r.e2e_p99:.1f} ms "
        "(202 -> POST /orders at the WMS)"
    )
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(r.max_depth_kinds.items()) if n) or "-"
    print(
        f"max queue depth {r.max_depth} jobs queued or running at t={r.max_depth_at:.0f}s "
        f"({kinds}); = {ratio(r.max_depth, jobs_per_second):.2f} s of intake at 3 jobs an "
        f"order; {r.samples} samples of /metrics"
        + (f" ({r.sample_failures} failed)" if r.sample_failures else "")
    )
    if r.drained:
        print(
            f"drain          {r.drain_seconds:.1f} s after intake stopped; ratio to the intake "
            f"time {ratio(r.drain_seconds, r.intake_seconds):.3f}"
        )
    else:
        print(f"drain          NOT drained within {args.drain_timeout:g} s")
    print(
        f"orders         {r.orders} of {r.accepted} accepted (ratio "
        f"{ratio(r.orders, r.accepted):.3f}); pushed to the WMS {r.pushed} (ratio "
        f"{ratio(r.pushed, r.accepted):.3f})"
        + (f"; also {r.unacknowledged} sent without a 2xx seen, carried out" if r.unacknowledged
           else "")
    )  # fmt: skip
    by_kind: dict[str, list[str]] = collections.defaultdict(list)
    for (kind, status), n in sorted(r.jobs.items()):
        by_kind[kind].append(f"{status} {n}")
    print("jobs           " + "; ".join(f"{k}: {', '.join(by_kind[k])}" for k in PIPELINE))
    others = [f"{k}: {', '.join(v)}" for k, v in by_kind.items() if k not in PIPELINE]
    if others:
        print("               other jobs (timers): " + "; ".join(others))
    print(
        f"               job retries {r.retries}, dead {r.dead}; POSTs to the WMS repeated after "
        f"a failed answer {r.wms_retries}; deliveries {r.deliveries}"
    )
    print(
        f"fake servers   {r.wms_posts} POST /orders ({r.wms_taken} answered 201); other "
        f"requests {r.fake_other or 'none'}"
    )
    print(
        f"cpu            web {r.web_cpu_ms:.2f} ms, workers {r.worker_cpu_ms:.2f} ms per "
        "accepted delivery"
    )
    print(f"lost           {r.lost}")
    for sample in r.lost_samples:
        print(f"               {sample}")
    print(f"duplicates     {r.duplicates}" + (f" {r.duplicate_detail}" if r.duplicates else ""))
    if r.unexpected:
        shown = collections.Counter(r.unexpected).most_common(5)
        print(f"unexpected     {len(r.unexpected)} requests at the fake servers: {shown}")
    if r.failed_processes:
        print(f"processes      stopped during the run: {', '.join(r.failed_processes)}")
    print(f"wall time      {r.wall:.1f} s (setup, intake, drain and count)")
    print("result         " + ("OK" if r.ok else "FAILED"))


def compare(results: list[Result], args: argparse.Namespace) -> None:
    print(f"\n== summary ({args.seconds:g} s at {args.rate:g}/s)")
    head = (
        f"{'backend':<11}{'accepted/s':>11}{'/target':>8}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'e2e p99':>9}{'max queue':>10}{'drain s':>8}{'lost':>6}{'dups':>6}{'wall s':>8}"
    )
    print(head)
    for r in results:
        print(
            f"{r.backend:<11}{r.throughput:>11.2f}{ratio(r.throughput, args.rate):>8.3f}"
            f"{r.p50:>8.1f}{r.p99:>8.1f}{r.e2e_p99:>9.1f}{r.max_depth:>10}"
            f"{r.drain_seconds:>8.1f}{r.lost:>6}{r.duplicates:>6}{r.wall:>8.1f}"
        )
    by = {r.backend: r for r in results}
    if "sqlite" in by and "postgresql" in by:
        s, p = by["sqlite"], by["postgresql"]
        print(
            f"postgresql / sqlite: throughput {ratio(p.throughput, s.throughput):.3f}, "
            f"p50 {ratio(p.p50, s.p50):.2f}, p99 {ratio(p.p99, s.p99):.2f}, "
            f"end-to-end p99 {ratio(p.e2e_p99, s.e2e_p99):.2f}, "
            f"max queue {ratio(p.max_depth, s.max_depth):.2f}"
        )


# --------------------------------------------------------------------------------------------
# Command line.


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--seconds", type=float, default=120.0, help="intake time, seconds (default %(default)g)"
    )
    p.add_argument(
        "--rate", type=float, default=20.0, help="deliveries per second (default %(default)g)"
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        help="seconds of intake before the timed part (default %(default)g)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--database-url",
        help="one run on this database; a PostgreSQL URL gets a fresh database beside it",
    )
    where.add_argument("--sqlite", action="store_true", help="one run on a temp SQLite file")
    where.add_argument("--postgres", action="store_true", help=f"one run on {PG_URL} (fresh db)")
    where.add_argument("--both", action="store_true", help="SQLite, then PostgreSQL (default)")
    p.add_argument(
        "--workers", type=int, default=2, help="hub worker processes (default %(default)s)"
    )
    p.add_argument(
        "--worker-threads",
        type=int,
        default=2,
        help="outside-lane threads per hub worker (default %(default)s)",
    )
    p.add_argument(
        "--server",
        choices=["web", "serve"],
        default="web",
        help="web (default): hub web (gunicorn) plus the workers; serve: hub serve (its own "
        "worker and scheduler) plus the workers",
    )
    p.add_argument(
        "--web-workers", type=int, default=2, help="hub web processes (default %(default)s)"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=32,
        help="request threads per web process (default %(default)s)",
    )
    p.add_argument(
        "--connections", type=int, default=16, help="sender connections (default %(default)s)"
    )
    p.add_argument(
        "--sample",
        type=float,
        default=1.0,
        help="seconds between /metrics samples (default %(default)g)",
    )
    p.add_argument(
        "--drain-timeout",
        type=float,
        default=120.0,
        help="longest wait for the queue to drain, seconds (default %(default)g)",
    )
    p.add_argument(
        "--wms-delay",
        type=float,
        default=0.0,
        help="milliseconds the fake WMS takes to answer (default %(default)g)",
    )
    p.add_argument(
        "--progress",
        type=float,
        default=10.0,
        help="seconds between progress lines on stderr, 0: none (default %(default)g)",
    )
    args = p.parse_args(argv)
    if args.seconds <= 0 or args.rate <= 0 or args.sample <= 0 or args.warmup < 0:
        p.error("--seconds, --rate and --sample must be > 0, --warmup >= 0")
    if args.connections < 1 or args.worker_threads < 1:
        p.error("--connections and --worker-threads must be >= 1")
    if args.workers < 0 or (args.workers == 0 and args.server == "web"):
        p.error("--workers must be >= 1 with --server web (nothing would translate)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.database_url:
        runs = [(args.database_url, "given")]
    elif args.sqlite:
        runs = [(None, "sqlite")]
    elif args.postgres:
        runs = [(PG_URL, "postgresql")]
    else:
        runs = [(None, "sqlite"), (PG_URL, "postgresql")]

    def on_term(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    results: list[Result] = []
    not_run: list[str] = []
    try:
        for url, name in runs:
            try:
                result = soak(args, url, name)
            except RuntimeError as exc:
                print(f"\n{name}: not run: {exc}", file=sys.stderr)
                not_run.append(name)
                continue
            report(result, args)
            results.append(result)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if len(results) > 1:
        compare(results, args)
    if not_run:
        print(f"not run: {', '.join(not_run)}")
    if any(not r.ok for r in results):
        return 1
    return 2 if not_run else 0


if __name__ == "__main__":
    sys.exit(main())
