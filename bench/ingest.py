"""Webhook ingest benchmark: the hub's ``POST /webhooks/<account>`` against a bare Flask app.

Run from the project root::

    .venv/bin/python bench/ingest.py [--seconds N] [--connections C] [--database-url URL]

Method
------
1. A temporary directory gets an accounts file with one Shopify account (``bench-shopify``,
   shop ``bench.myshopify.com``, a literal webhook secret) and, by default, a SQLite database.
   With ``--database-url postgresql://...`` a fresh database is created next to the one named
   and dropped afterwards (if it cannot be created, the named database is used as it is and
   only this run's rows of the account are counted).
2. ``hub db upgrade`` brings the schema up to date, then the hub web tier starts as real
   gunicorn (``wsgi:app``, gthread worker, ``--workers`` processes x ``--threads`` threads, no
   access log, log level WARNING).
3. The baseline is a bare Flask app (``create_baseline_app`` below) whose one route
   ``POST /webhooks/<account>`` reads the body and answers 202 ``{}``; it runs under gunicorn
   with the same worker settings, on another port.
4. The load is a closed loop: ``--client-processes`` processes, each with threads that own one
   keep-alive ``http.client`` connection (``--connections`` in all), post as fast as they get
   answers. Every request is the Shopify 2024-04 docs order (unwrapped, compact JSON, ~17 KB)
   with its own order id, its own ``X-Shopify-Webhook-Id`` and a valid
   ``X-Shopify-Hmac-Sha256``. The body is serialised once as a template; per request only the
   id is put in and the body signed (tens of microseconds, the same for both targets).
5. Each target gets a warm-up (``--warmup`` seconds, not counted); then ``--seconds`` per
   target are measured in ``--rounds`` rounds whose order alternates (baseline, hub, hub,
   baseline, ...), so drift in the machine's other load weighs on both. Printed per target:
   requests/s, p50 and p99 latency, non-2xx answers and connection errors, and CPU
   milliseconds per request of the server's process tree (gunicorn arbiter and workers, from
   ``/proc``; a PostgreSQL server's own CPU is not in it) and of the load generator; then the
   ratio of the two rates.
6. Nothing lost: every 2xx the hub gave (warm-up included) must be a row of the account in
   ``deliveries``. The exit status is 1 when any answer was not 2xx, any request failed, or a
   delivery was lost; the ratio is reported against its target but does not change the status.

All servers listen on 127.0.0.1 only; every subprocess is stopped and the temporary directory
removed on the way out, also after an error or Ctrl-C. Note that the load generator runs on
the same machine as the servers and takes CPU from them: compare ratios, not absolute rates.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
PAYLOAD = ROOT / "connectors/channels/shopify/tests/payloads/order_get_rest_2024-04_response.json"
ACCOUNT = "bench-shopify"
SHOP = "bench.myshopify.com"
SECRET = "bench-shopify-webhook-secret"
TARGET_RATIO = 0.7
#: stands in for the order id in the serialised template; must not occur anywhere else
ID_MARK = "918273645546372819"
STARTUP_TIMEOUT = 60.0


# --------------------------------------------------------------------------------------------
# The baseline: what a web process costs with no hub in it.


def create_baseline_app():  # -> flask.Flask; imported lazily so the script starts light
    """A bare Flask app: read the body, answer 202 ``{}`` (gunicorn ``ingest:...()``)."""
    from flask import Flask, jsonify, request

    app = Flask("baseline")

    @app.post("/webhooks/<account_name>")
    def receive(account_name: str):
        request.get_data(cache=False)
        return jsonify({}), 202

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    return app


def create_floor_app():  # -> flask.Flask
    """The floor: Flask, the HMAC check and one insert and commit of the raw body per request
    (``BENCH_FLOOR_DATABASE``, SQLite in WAL mode as the hub sets it up, or PostgreSQL), with
    the same unique key as the hub's inbox. What the hub does beyond this is its own cost."""
    from flask import Flask, jsonify, request
    from sqlalchemy import create_engine

    from hub.storage.db import normalise_url

    engine = create_engine(normalise_url(os.environ["BENCH_FLOOR_DATABASE"]))
    postgres = engine.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    insert = (
        f"INSERT INTO floor_deliveries (account, dedupe_key, body) VALUES ({mark}, {mark}, "
        f"{mark}) ON CONFLICT (account, dedupe_key) DO NOTHING RETURNING id"
    )
    local = threading.local()

    def connection():
        if getattr(local, "raw", None) is None:
            local.raw = engine.raw_connection()
            if not postgres:
                cursor = local.raw.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA busy_timeout=30000")
        return local.raw

    raw = connection()
    raw.cursor().execute(
        "CREATE TABLE IF NOT EXISTS floor_deliveries (id "
        + ("BIGSERIAL" if postgres else "INTEGER")
        + " PRIMARY KEY, account VARCHAR(100) NOT NULL, dedupe_key VARCHAR(300) NOT NULL, "
        "body " + ("BYTEA" if postgres else "BLOB") + " NOT NULL, UNIQUE (account, dedupe_key))"
    )
    raw.commit()
    app = Flask("floor")

    @app.post("/webhooks/<account_name>")
    def receive(account_name: str):
        body = request.get_data(cache=False)
        given = request.headers.get("X-Shopify-Hmac-Sha256", "")
        if not hmac.compare_digest(given, sign(body)):
            return jsonify({"error": "bad_signature"}), 401
        raw = connection()
        cursor = raw.cursor()
        if not postgres:
            cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(insert, (account_name, request.headers["X-Shopify-Webhook-Id"], body))
        row = cursor.fetchone()
        raw.commit()
        return jsonify({"delivery_id": row[0] if row else None}), 202

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    return app


# --------------------------------------------------------------------------------------------
# Requests: one template, a unique order id, webhook id and signature per request.


def body_template() -> tuple[bytes, bytes]:
    """The order as a webhook carries it, compact, split around its id."""
    order = json.loads(PAYLOAD.read_bytes())["order"]
    order["id"] = int(ID_MARK)
    text = json.dumps(order, separators=(",", ":"))
    if text.count(ID_MARK) != 1:
        raise RuntimeError("the id placeholder is not unique in the serialised order")
    head, tail = text.split(ID_MARK)
    return head.encode(), tail.encode()


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class Stats:
    """What one client thread, process or whole run saw."""

    latencies: list[float] = field(default_factory=list)  # seconds, answered requests only
    statuses: collections.Counter = field(default_factory=collections.Counter)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    duplicates: int = 0
    elapsed: float = 0.0  # from "go" to the last answer, the longest of the parts
    server_cpu: float | None = None  # CPU seconds the server used during the run (Linux)
    client_cpu: float = 0.0  # CPU seconds the load generator processes used during the run
    #: percentiles (ms) a load generator reported instead of latencies (wrk): the worst round
    reported: dict[int, float] = field(default_factory=dict)

    def merge(self, other: Stats) -> None:
        self.latencies.extend(other.latencies)
        self.statuses.update(other.statuses)
        self.errors += other.errors
        self.error_samples.extend(other.error_samples[: max(0, 5 - len(self.error_samples))])
        self.duplicates += other.duplicates
        self.elapsed = max(self.elapsed, other.elapsed)
        self.client_cpu += other.client_cpu
        for q, ms in other.reported.items():
            self.reported[q] = max(ms, self.reported.get(q, ms))

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def ok(self) -> int:
        return sum(n for code, n in self.statuses.items() if 200 <= code < 300)

    @property
    def non_2xx(self) -> int:
        return self.answered - self.ok

    @property
    def rps(self) -> float:
        return self.answered / self.elapsed if self.elapsed else 0.0

    @property
    def cpu_ms(self) -> float:
        """Server CPU milliseconds per answered request."""
        if self.server_cpu is None or not self.answered:
            return float("nan")
        return self.server_cpu / self.answered * 1000

    @property
    def client_cpu_ms(self) -> float:
        """Load generator CPU milliseconds per answered request."""
        return self.client_cpu / self.answered * 1000 if self.answered else float("nan")

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile of the latencies, in milliseconds (or as reported)."""
        if not self.latencies:
            return self.reported.get(int(q), float("nan"))
        ordered = sorted(self.latencies)
        rank = min(len(ordered) - 1, max(0, int(q / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000


def _client_thread(
    port: int, lane: str, number: int, go: threading.Event, seconds: float, out: Stats
) -> None:
    head, tail = body_template()
    path = f"/webhooks/{ACCOUNT}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    go.wait()
    started = time.perf_counter()
    deadline = started + seconds
    seq = 0
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        seq += 1
        body = head + str(number * 10_000_000 + seq).encode() + tail
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-API-Version": "2024-04",
            "X-Shopify-Webhook-Id": f"{lane}-{seq}",
            "X-Shopify-Event-Id": f"{lane}-e{seq}",
            "X-Shopify-Hmac-Sha256": sign(body),
        }
        sent = time.perf_counter()
        try:
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            out.errors += 1
            if len(out.error_samples) < 5:
                out.error_samples.append(f"{type(exc).__name__}: {exc}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        done = time.perf_counter()
        out.latencies.append(done - sent)
        out.statuses[response.status] += 1
        if b'"duplicate":true' in data:
            out.duplicates += 1
        out.elapsed = done - started
    conn.close()


def _client_process(
    port: int,
    run: str,
    proc: int,
    threads: int,
    seconds: float,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """One load process: ``threads`` connections, started together on ``go``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    local_go = threading.Event()
    parts = [Stats() for _ in range(threads)]
    pool = [
        threading.Thread(
            target=_client_thread,
            args=(port, f"{run}-p{proc}t{t}", proc * 1000 + t + 1, local_go, seconds, parts[t]),
            daemon=True,
        )
        for t in range(threads)
    ]
    for t in pool:
        t.start()
    ready.put(proc)
    go.wait()
    cpu = time.process_time()
    local_go.set()
    for t in pool:
        t.join()
    total = Stats(client_cpu=time.process_time() - cpu)
    for part in parts:
        total.merge(part)
    results.put(total)


def run_load(port: int, run: str, seconds: float, connections: int, processes: int) -> Stats:
    """``connections`` keep-alive connections from ``processes`` processes for ``seconds``."""
    ctx = multiprocessing.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    processes = max(1, min(processes, connections))
    shares = [connections // processes + (i < connections % processes) for i in range(processes)]
    procs = [
        ctx.Process(
            target=_client_process,
            args=(port, run, i, shares[i], seconds, ready, go, results),
            daemon=True,
        )
        for i in range(processes)
    ]
    try:
        for p in procs:
            p.start()
        for _ in procs:
            ready.get(timeout=STARTUP_TIMEOUT)
        go.set()
        total = Stats()
        for _ in procs:
            total.merge(results.get(timeout=seconds + 60))
        for p in procs:
            p.join(timeout=10)
        return total
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)


# --------------------------------------------------------------------------------------------
# Servers and the database.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by ``pid`` and its children; None off Linux."""
    try:
        tick = os.sysconf("SC_CLK_TCK")
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    rest = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    stats[int(entry.name)] = (int(rest[1]), int(rest[11]) + int(rest[12]))
    except (OSError, ValueError, IndexError):
        return None
    if pid not in stats:
        return None
    children = collections.defaultdict(list)
    for child, (ppid, _) in stats.items():
        children[ppid].append(child)
    tree, todo = [], [pid]
    while todo:
        member = todo.pop()
        tree.append(member)
        todo.extend(children[member])
    return sum(stats[member][1] for member in tree) / tick


def wait_healthy(proc: subprocess.Popen, port: int, log: Path, name: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{_tail(log)}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            finally:
                conn.close()
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not answer /healthz within {STARTUP_TIMEOUT:.0f} s")


def _tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


class Servers:
    """Subprocesses started here, stopped (TERM, then KILL) on the way out."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def gunicorn(
        self,
        name: str,
        app: str,
        port: int,
        args: argparse.Namespace,
        env: dict,
        log: Path,
        *,
        cwd: Path = ROOT,
        config: Path | None = None,
    ) -> subprocess.Popen:
        """``gunicorn app`` run from ``cwd`` as a user would: that folder's
        ``gunicorn.conf.py`` (or ``config``) and gunicorn's defaults, apart from the
        worker settings, which every server shares."""
        cmd = [
            sys.executable, "-m", "gunicorn",
            "--workers", str(args.workers),
            "--worker-class", args.worker_class,
            "--threads", str(args.threads),
            "--bind", f"127.0.0.1:{port}",
            "--graceful-timeout", "5",
            "--pythonpath", str(BENCH),
            *(["--config", str(config)] if config else []),
            app,
        ]  # fmt: skip
        with log.open("ab") as sink:
            proc = subprocess.Popen(
                cmd, cwd=cwd, env=env, stdout=sink, stderr=sink, start_new_session=True
            )
        self.procs.append((name, proc))
        wait_healthy(proc, port, log, name)
        return proc

    def stop(self) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for _, proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self.procs.clear()


class BenchDatabase:
    """The hub's database: a SQLite file in the temp dir, or a fresh PostgreSQL database."""

    def __init__(self, url: str | None, tmp: Path) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        from hub.storage.db import normalise_url

        self.created: str | None = None
        self.admin_url: str | None = None
        if url is None:
            self.url = f"sqlite:///{tmp / 'hub.db'}"
            self.label = f"sqlite ({tmp / 'hub.db'})"
            return
        parsed = make_url(normalise_url(url))
        if parsed.get_backend_name() != "postgresql":
            self.url, self.label = url, f"{parsed.get_backend_name()} (as given)"
            return
        name = f"bench_ingest_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            self.created = name
            self.admin_url = parsed.render_as_string(hide_password=False)
            self.url = parsed.set(database=name).render_as_string(hide_password=False)
            self.label = f"postgresql (fresh database {name}, dropped afterwards)"
        except Exception as exc:
            self.url = url
            self.label = (
                f"postgresql ({parsed.database} as given; could not create a database: "
                f"{type(exc).__name__})"
            )
        finally:
            admin.dispose()

    def count(self, table_sql: str) -> int:
        from sqlalchemy import create_engine, text

        from hub.storage.db import normalise_url

        engine = create_engine(normalise_url(self.url))
        try:
            with engine.connect() as conn:
                return conn.execute(text(table_sql), {"account": ACCOUNT}).scalar_one()
        finally:
            engine.dispose()

    def drop(self) -> None:
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
# The run.


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=16.0, help="measured seconds per target")
    p.add_argument(
        "--rounds", type=int, default=4, help="measured rounds per target, order alternating"
    )
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per target")
    p.add_argument("--connections", type=int, default=16, help="concurrent connections")
    p.add_argument(
        "--load",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="the load generator: wrk (default when installed) or this script's own",
    )
    p.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (-t)")
    p.add_argument(
        "--client-processes", type=int, default=2, help="processes of the python load generator"
    )
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers for every server")
    p.add_argument(
        "--worker-class",
        default="sync",
        help="gunicorn worker class for every server (default: gunicorn's own, sync)",
    )
    p.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    p.add_argument(
        "--compare",
        metavar="REV",
        help="also run the hub as of git revision REV (a temporary worktree), side by side",
    )
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the hub servers (e.g. HUB_LOG_LEVEL=WARNING); may be repeated",
    )
    p.add_argument(
        "--database-url",
        help="the hub's database (default: a SQLite file in a temp dir); a PostgreSQL URL "
        "gets a fresh database beside it for each hub, dropped afterwards",
    )
    args = p.parse_args(argv)
    if args.seconds <= 0 or args.warmup < 0 or args.connections < 1 or args.rounds < 1:
        p.error("--seconds must be > 0, --warmup >= 0, --connections >= 1, --rounds >= 1")
    if any("=" not in pair for pair in args.env):
        p.error("--env takes NAME=VALUE")
    if args.load == "auto":
        args.load = "wrk" if shutil.which("wrk") else "python"
    elif args.load == "wrk" and not shutil.which("wrk"):
        p.error("wrk is not installed (apt-get install wrk), use --load python")
    return args


# --------------------------------------------------------------------------------------------
# wrk: a fixed signed body, a fresh webhook id per request (Shopify signs the body only).

WRK_SCRIPT = """
local f = assert(io.open(%(body)s, "rb")); local body = f:read("*a"); f:close()
local lanes = 0
function setup(thread) lanes = lanes + 1; thread:set("lane", lanes) end
counter = 0
function request()
  counter = counter + 1
  local id = %(run)s .. "-" .. lane .. "-" .. counter
  return wrk.format("POST", %(path)s, {
    ["Content-Type"] = "application/json",
    ["X-Shopify-Topic"] = "orders/create",
    ["X-Shopify-Shop-Domain"] = %(shop)s,
    ["X-Shopify-API-Version"] = "2024-04",
    ["X-Shopify-Webhook-Id"] = id,
    ["X-Shopify-Event-Id"] = "e" .. id,
    ["X-Shopify-Hmac-Sha256"] = %(signature)s,
  }, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK %%d %%d %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(port: int, run: str, seconds: float, args: argparse.Namespace, tmp: Path) -> Stats:
    """``wrk -t T -c C -d S`` against ``port``: the same signed ~17 KB order every request,
    each with its own webhook id (``run``-thread-counter)."""
    head, tail = body_template()
    body = tmp / "body.json"
    if not body.exists():
        body.write_bytes(head + ID_MARK.encode() + tail)
    script = tmp / f"{run}.lua"
    script.write_text(
        WRK_SCRIPT
        % {  # JSON strings of ASCII text are Lua string literals too
            "body": json.dumps(str(body)),
            "run": json.dumps(run),
            "path": json.dumps(f"/webhooks/{ACCOUNT}"),
            "shop": json.dumps(SHOP),
            "signature": json.dumps(sign(body.read_bytes())),
        }
    )
    cmd = [
        "wrk",
        "-t", str(args.wrk_threads),
        "-c", str(args.connections),
        "-d", f"{max(1, round(seconds))}s",
        "--timeout", "30s",
        "-s", str(script),
        f"http://127.0.0.1:{port}",
    ]  # fmt: skip
    out = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRK ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}{out.stderr}")
    requests, duration, connect, read, write, status, timeout, p50, p99 = map(int, line.split()[1:])
    stats = Stats(elapsed=duration / 1e6)
    stats.statuses[200] = requests - status  # wrk counts an answer >= 400 as a status error
    if status:
        stats.statuses[400] = status
    stats.errors = connect + read + write + timeout
    stats.reported = {50: p50 / 1000, 99: p99 / 1000}
    return stats


def _row(name: str, s: Stats) -> str:
    return (
        f"{name:<16}{s.answered:>9}{s.rps:>9.1f}{s.percentile(50):>8.1f}"
        f"{s.percentile(99):>8.1f}{s.non_2xx:>8}{s.errors:>7}"
        f"{s.cpu_ms:>9.2f}"
    )


@dataclass
class Target:
    """A server under load: the baseline, the hub, or the hub as of another revision."""

    name: str
    port: int
    pid: int = 0
    db: BenchDatabase | None = None
    table: str = "deliveries"  # where its accepted deliveries are counted
    before: int = 0  # its deliveries before the run
    ok_total: int = 0  # 2xx answers, warm-up included
    stats: Stats = field(default_factory=lambda: Stats(server_cpu=0.0))


def _hub_tree(rev: str, tmp: Path) -> Path:
    """A worktree of ``rev`` (removed again by ``_drop_tree``)."""
    tree = tmp / "tree"
    done = subprocess.run(
        ["git", "worktree", "add", "--detach", str(tree), rev],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git worktree add {rev} failed: {done.stderr.strip()}")
    return tree


def _drop_tree(tmp: Path) -> None:
    if (tmp / "tree").exists():
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(tmp / "tree")],
            cwd=ROOT,
            capture_output=True,
        )


def _upgrade(env: dict, cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from hub.cli import main; main()", "db", "upgrade"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"hub db upgrade failed:\n{done.stdout}{done.stderr}")


def _stored(target: Target) -> int:
    assert target.db is not None
    return target.db.count(f"SELECT count(*) FROM {target.table} WHERE account = :account")


def _load(target: Target, run: str, seconds: float, args: argparse.Namespace, tmp: Path) -> Stats:
    if args.load == "wrk":
        return run_wrk(target.port, run, seconds, args, tmp)
    return run_load(target.port, run, seconds, args.connections, args.client_processes)


def bench(args: argparse.Namespace, tmp: Path, servers: Servers) -> int:
    head, tail = body_template()
    body_size = len(head) + len(tail) + len(ID_MARK)
    accounts = tmp / "hub.toml"
    accounts.write_text(
        f'[accounts.{ACCOUNT}]\nconnector = "shopify"\nclient = "bench"\n'
        f'shop = "{SHOP}"\nwebhook_secret = "{SECRET}"\naccess_token = "shpat_bench"\n'
    )
    bare = tmp / "bare.conf.py"  # the baseline gets gunicorn's own defaults, no hub logging
    bare.write_text("")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "GUNICORN"))}
    clean.update(HUB_CONFIG=str(accounts), PYTHONUNBUFFERED="1")
    hubs: list[tuple[str, Path]] = [("hub", ROOT)]
    if args.compare:
        hubs.append((f"hub@{args.compare}"[:16], _hub_tree(args.compare, tmp)))
    targets = [Target("baseline", free_port())]
    try:
        base_env = dict(clean, HUB_DATABASE_URL="sqlite:///unused")
        targets[0].pid = servers.gunicorn(
            "baseline",
            "ingest:create_baseline_app()",
            targets[0].port,
            args,
            base_env,
            tmp / "baseline.log",
            config=bare,
        ).pid
        place = tmp / "floor"
        place.mkdir()
        floor = Target("floor", free_port(), db=BenchDatabase(args.database_url, place))
        floor.table = "floor_deliveries"
        targets.append(floor)
        assert floor.db is not None
        floor.pid = servers.gunicorn(
            "floor",
            "ingest:create_floor_app()",
            floor.port,
            args,
            dict(base_env, BENCH_FLOOR_DATABASE=floor.db.url),
            place / "floor.log",
            config=bare,
        ).pid
        for i, (name, tree) in enumerate(hubs):
            place = tmp / f"hub{i}"
            place.mkdir()
            db = BenchDatabase(args.database_url, place)
            target = Target(name, free_port(), db=db)
            targets.append(target)
            env = dict(clean, HUB_DATABASE_URL=db.url, PYTHONPATH=str(tree))
            env.update(pair.split("=", 1) for pair in args.env)
            _upgrade(env, tree)
            target.before = _stored(target)
            target.pid = servers.gunicorn(
                name, "wsgi:app", target.port, args, env, place / "hub.log", cwd=tree
            ).pid

        run = uuid.uuid4().hex[:8]
        workers = f"{args.workers} {args.worker_class} workers"
        if args.worker_class == "gthread":
            workers += f" x {args.threads} threads"
        load = (
            f"wrk -t{args.wrk_threads} -c{args.connections}"
            if args.load == "wrk"
            else f"{args.connections} keep-alive connections from {args.client_processes} "
            "python processes"
        )
        print(
            f"ingest bench: {os.cpu_count()} CPUs; gunicorn wsgi:app, {workers}, otherwise "
            f"default settings; load: {load}; {args.warmup:g} s warm-up + {args.seconds:g} s "
            f"per target in {args.rounds} rounds, the order turning each round"
        )
        print(f"body: {body_size} bytes (Shopify order, signed; a new webhook id per request)")
        print(f"database: {floor.db.label} (a fresh one for the floor and for each hub)")
        warm_bad = 0  # non-2xx answers and errors during the warm-ups count against the run too
        if args.warmup:
            for target in targets:
                warm = _load(target, f"{run}-{target.name}-w", args.warmup, args, tmp)
                warm_bad += warm.non_2xx + warm.errors
                target.ok_total += warm.ok
        # Measured in rounds whose order turns (a b c, b c a, ...), so a drift in what else
        # the machine does weighs on every target alike.
        elapsed = {t.name: 0.0 for t in targets}
        for r in range(args.rounds):
            shift = r % len(targets)
            for target in targets[shift:] + targets[:shift]:
                cpu_before = tree_cpu(target.pid)
                part = _load(
                    target, f"{run}-{target.name}-{r}", args.seconds / args.rounds, args, tmp
                )
                cpu_after = tree_cpu(target.pid)
                if cpu_before is None or cpu_after is None:
                    target.stats.server_cpu = None
                elif target.stats.server_cpu is not None:
                    target.stats.server_cpu += cpu_after - cpu_before
                elapsed[target.name] += part.elapsed
                target.stats.merge(part)
                target.ok_total += part.ok
        for target in targets:
            target.stats.elapsed = elapsed[target.name]

        base = targets[0].stats
        print()
        print(f"{'target':<16}{'requests':>9}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}"
              f"{'non-2xx':>8}{'errors':>7}{'cpu ms':>9}")  # fmt: skip
        for target in targets:
            print(_row(target.name, target.stats))
        print()
        print("(p50/p99 in ms" + (", the worst round's" if args.load == "wrk" else "") + "; cpu")
        print(" is the server's process tree per answered request, a PostgreSQL server's not in")
        print(" it; the load generator shares the machine and its CPU)")
        lost = 0
        ratios = {}
        for target in targets[1:]:
            stored = _stored(target) - target.before
            missing = max(0, target.ok_total - stored)
            lost += missing
            ratios[target.name] = target.stats.rps / base.rps if base.rps else 0.0
            print(
                f"ratio {target.name}/baseline: {ratios[target.name]:.2f}   "
                f"(cpu per request {target.stats.cpu_ms / base.cpu_ms:.2f}x the baseline's); "
                f"{stored} new deliveries for {target.ok_total} 2xx answers, lost: {missing}"
            )
        if ratios.get("floor"):
            print(
                f"hub/floor: {ratios['hub'] / ratios['floor']:.2f} "
                "(1.00: the hub costs no more than the one insert)"
            )
        for target in targets:
            others = {c: n for c, n in target.stats.statuses.items() if not 200 <= c < 300}
            if others:
                print(f"{target.name} non-2xx answers: {others}")
            for sample in target.stats.error_samples:
                print(f"{target.name} error: {sample}")
        print(f"target: ratio >= {TARGET_RATIO} for the hub, zero non-2xx, nothing lost")
        failures = []
        if ratios["hub"] < TARGET_RATIO:
            failures.append(f"ratio {ratios['hub']:.2f} < {TARGET_RATIO} (reported, not fatal)")
        if warm_bad:
            print(f"non-2xx answers or errors during the warm-ups: {warm_bad}")
        bad = sum(t.stats.non_2xx + t.stats.errors for t in targets) + warm_bad
        if bad:
            failures.append(f"{bad} non-2xx answers or errors")
        if lost:
            failures.append(f"{lost} deliveries lost")
        print("result: " + ("; ".join(failures) if failures else "all targets met"))
        return 1 if bad or lost else 0
    finally:
        servers.stop()
        for target in targets:
            if target.db is not None:
                target.db.drop()
        _drop_tree(tmp)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    tmp = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    servers = Servers()

    def on_term(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        return bench(args, tmp, servers)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2
    finally:
        servers.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
