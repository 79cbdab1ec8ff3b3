"""Worker kill benchmark: seconds from a ``hub worker`` SIGKILLed mid-job to its jobs done
elsewhere, with worker heartbeats and with the lease alone (the baseline).

Run from the project root::

    .venv/bin/python bench/worker_kill.py [--rounds 2] [--load 200] [--lease 60] [--timeout 20]
                                          [--database-url URL | --sqlite]

Method
------
1. A fake WMS (``tests/wms.py``'s ``HoldingWms``, which ``tests/jobs/test_worker_kill.py``
   uses too) runs in this script's process (a threaded HTTP server on 127.0.0.1) answering the
   ``rest_wms`` connector's ``GET /stock`` and ``GET /shipments`` with empty lists; it can hold
   the next ``n`` ``/stock`` requests unanswered until the round ends. The accounts file has
   one ``rest_wms`` account pointing at it. The database is a fresh PostgreSQL database beside
   ``--database-url`` (default ``postgresql://postgres@127.0.0.1:5432/test``), dropped
   afterwards, or with ``--sqlite`` a SQLite file in a temporary folder; one per mode.
2. Each round: a ``hub worker --threads 2`` starts (worker A) and its heartbeat row appears;
   2 + ``--load`` ``warehouse.poll`` jobs are enqueued; the fake WMS holds the first two, so
   both of A's outside threads are mid-job. A is SIGKILLed; at once a second ``hub worker
   --threads 2`` (B) starts, and the script times, from the kill, when the two held jobs and
   when every job of the round are done. B is then stopped with SIGTERM.
3. Two modes, the same rounds:

   * ``heartbeat``: the settings' defaults (``HUB_JOB_LEASE`` 300 s), ``HUB_WORKER_TIMEOUT``
     ``--timeout`` (default 20 s, the default): B's heartbeat takes A's jobs back once A has
     been silent that long.
   * ``lease only`` (baseline): ``HUB_JOB_LEASE`` ``--lease`` (default 60 s: the real 300 s
     would take five minutes a round; ``--lease 300`` measures it) and a worker timeout
     longer than the run, so only the lease brings A's jobs back, as before heartbeats. A's
     beat still renewed its leases (every quarter of the lease) until the kill, so the wait
     is between 3/4 of the lease and the whole of it.

Printed per mode: the kill-to-done seconds of the held jobs per round, their median and
longest, and the seconds until the whole round was done (B also works through the load); then
``ratio heartbeat / lease only`` of the medians, and the target line:

    target: heartbeat kill-to-done <= 30 s (HUB_WORKER_TIMEOUT 20 s)

A ``hub worker`` starts in about a second and a half (Python imports), which is in every
figure alike. Exit status: 0 when every round finished and the heartbeat figures met the
target, 1 otherwise, 2 when the bench could not run (PostgreSQL not answering), 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import BenchDatabase
from soak import ROOT, hub_command
from sqlalchemy import select

from hub.jobs import outbox
from hub.runtime import Hub
from hub.settings import load_settings
from hub.storage import migrate
from hub.storage.models import JobRow, WorkerRow
from tests.processes import NotReady, Processes, wait_for
from tests.wms import HoldingWms, rest_wms_account

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
#: outside threads of each worker: both are mid-job when A is killed
THREADS = 2
TARGET = 30.0
#: a worker timeout no round reaches: the baseline's heartbeats never take anything back
NEVER = 1e9


def accounts_toml(api_base: str) -> str:
    return rest_wms_account(
        api_base, "bench-wms-key", "rate_limit = 1000", name="bench-wms", client="bench"
    )


def run_round(
    hub: Hub,
    wms: HoldingWms,
    procs: Processes,
    n: int,
    load: int,
    timeout: float,
) -> tuple[float, float]:
    """One kill: (seconds from the kill to the held jobs done, to every job of the round)."""

    def alive(pid: int) -> bool:
        with hub.db.transaction() as s:
            return s.execute(select(WorkerRow.id).where(WorkerRow.pid == pid)).first() is not None

    def done(ids: list[int]) -> bool:
        with hub.db.transaction() as s:
            left = select(JobRow.id).where(JobRow.id.in_(ids), JobRow.status != outbox.DONE)
            return s.execute(left.limit(1)).first() is None

    args = ["worker", "--threads", str(THREADS)]
    first = procs.start(*args, log=f"worker-a{n}.log")
    wait_for("worker A's heartbeat", lambda: alive(first.pid), 60, first)
    wms.hold(THREADS)
    with hub.db.transaction() as s:
        ids = [
            outbox.enqueue(s, "warehouse.poll", {"account": "bench-wms"}, max_attempts=3)
            for _ in range(THREADS + load)
        ]
    wait_for("both of A's jobs mid-run", lambda: wms.held == THREADS, 60, first)
    with hub.db.transaction() as s:
        held = list(
            s.execute(
                select(JobRow.id).where(JobRow.id.in_(ids), JobRow.status == outbox.RUNNING)
            ).scalars()
        )
    first.kill()
    killed = time.monotonic()
    second = procs.start(*args, log=f"worker-b{n}.log")
    wait_for("the held jobs done", lambda: done(held), timeout, second)
    held_done = time.monotonic()
    wait_for("every job done", lambda: done(ids), timeout, second)
    all_done = time.monotonic()
    wms.release()
    procs.stop()
    return held_done - killed, all_done - killed


def run_mode(
    label: str, extra: dict[str, str], args: argparse.Namespace, wms: HoldingWms, tmp: Path
) -> list[tuple[float, float]]:
    folder = tmp / label.replace(" ", "-")
    folder.mkdir()
    (folder / "hub.toml").write_text(accounts_toml(wms.api_base))
    database = BenchDatabase(None if args.sqlite else args.database_url, folder)
    if not args.sqlite and database.created is None:
        print(f"bench: cannot run: {database.label}", file=sys.stderr)
        raise SystemExit(2)
    env = {
        **os.environ,
        "HUB_DATABASE_URL": database.url,
        "HUB_CONFIG": str(folder / "hub.toml"),
        "HUB_LOG_LEVEL": "WARNING",
        **extra,
    }
    procs = Processes(env, folder, command=hub_command, cwd=ROOT, new_session=True)
    hub = Hub(load_settings({"database_url": database.url, "config": str(folder / "hub.toml")}))
    try:
        migrate.upgrade(hub.db)
        rounds = []
        for n in range(args.rounds):
            held, every = run_round(hub, wms, procs, n, args.load, args.round_timeout)
            print(
                f"  {label}: round {n + 1}: held jobs done {held:.1f} s after the kill, "
                f"all {args.load + THREADS} jobs {every:.1f} s",
                flush=True,
            )
            rounds.append((held, every))
        return rounds
    finally:
        procs.stop()
        hub.close()
        database.drop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=2, help="kills per mode (default 2)")
    p.add_argument("--load", type=int, default=200, help="quick jobs queued behind (200)")
    p.add_argument("--lease", type=float, default=60.0, help="baseline HUB_JOB_LEASE (60 s)")
    p.add_argument("--timeout", type=float, default=20.0, help="HUB_WORKER_TIMEOUT (20 s)")
    p.add_argument("--round-timeout", type=float, default=600.0, help="give up a round after")
    p.add_argument("--database-url", default=PG_URL, help=f"PostgreSQL (default {PG_URL})")
    p.add_argument("--sqlite", action="store_true", help="a SQLite file instead")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    backend = "SQLite" if args.sqlite else "PostgreSQL"
    modes = {
        "heartbeat": {"HUB_WORKER_TIMEOUT": str(args.timeout)},
        "lease only": {"HUB_JOB_LEASE": str(args.lease), "HUB_WORKER_TIMEOUT": str(NEVER)},
    }
    print(
        f"worker kill on {backend}: {args.rounds} round(s) a mode, {THREADS} jobs mid-run at "
        f"the kill, {args.load} queued behind; heartbeat: HUB_WORKER_TIMEOUT {args.timeout:g} s"
        f" (lease 300 s); lease only: HUB_JOB_LEASE {args.lease:g} s",
        flush=True,
    )
    wms = HoldingWms()
    results: dict[str, list[tuple[float, float]]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="hub-bench-kill-") as tmp:
            for label, extra in modes.items():
                results[label] = run_mode(label, extra, args, wms, Path(tmp))
    except (RuntimeError, NotReady) as exc:
        print(f"bench: a round failed: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        wms.close()
    print(f"{'mode':12} {'kill-to-done s (held jobs)':>28} {'median':>7} {'max':>6} {'all s':>7}")
    for label, rounds in results.items():
        held = [h for h, _ in rounds]
        every = max(e for _, e in rounds)
        shown = " ".join(f"{h:.1f}" for h in held)
        print(
            f"{label:12} {shown:>28} {statistics.median(held):7.1f} {max(held):6.1f} {every:7.1f}"
        )
    beat = statistics.median(h for h, _ in results["heartbeat"])
    base = statistics.median(h for h, _ in results["lease only"])
    print(f"ratio heartbeat / lease only: {beat / base:.2f} (medians, lease {args.lease:g} s)")
    print(f"target: heartbeat kill-to-done <= {TARGET:g} s (HUB_WORKER_TIMEOUT {args.timeout:g} s)")
    return 0 if max(h for h, _ in results["heartbeat"]) <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
