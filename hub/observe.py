"""The hub's process metrics (prometheus-client): what each process does, timed and counted.

A leaf module: the web tier, the intake, the worker, the scheduler and the HTTP client record
here, and ``hub.web.metrics`` exposes it at ``GET /metrics`` with the figures read from the
database.

Several processes (gunicorn's workers) serve one ``/metrics``, so each records into files in a
directory they share (prometheus-client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``),
which ``/metrics`` adds up. :func:`use_directory` sets that up; ``hub web``, ``hub serve``,
``hub worker`` and ``hub scheduler`` call it before any process records anything. Without a
directory (tests, a single process) the metrics live in this process's :data:`REGISTRY`.
``hub worker`` and ``hub scheduler`` have no web server: with ``--metrics-port`` each serves
its own (:func:`serve`), so a lone scheduler's slot counts are scraped there (``hub serve``
counts its own at ``/metrics``); when periodic jobs last finished is read from the jobs table
whichever process made them.

Label values are bounded: connector names, configured account names, job kinds and a few
outcomes, never ids or SKUs. Recording is a dictionary look-up and a few additions; callers do
it outside their locks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, values

#: this process's own metrics (when no multiprocess directory is in use)
REGISTRY = CollectorRegistry(auto_describe=True)

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_JOB = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_WAIT = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
_CALL = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

WEBHOOK_INTAKE = Histogram(
    "hub_webhook_intake_seconds",
    "Time to store a verified webhook delivery (and its translate job) until committed.",
    ["connector", "outcome"],
    buckets=_FAST,
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "hub_deliveries",
    "Webhook deliveries taken in, by outcome: stored, duplicate, ignored (topic not "
    "handled), error (not stored, the sender retries).",
    ["connector", "outcome"],
    registry=REGISTRY,
)
TRANSLATION = Histogram(
    "hub_translation_seconds",
    "Time to translate and apply one stored delivery, by outcome: processed, ignored, "
    "failed (kept for a replay), error (an outage: the job retries).",
    ["connector", "outcome"],
    buckets=_FAST,
    registry=REGISTRY,
)
JOB_RUN = Histogram(
    "hub_job_run_seconds",
    "Time to run one outbox job, by outcome: done, retry (back in the queue), dead, lost "
    "(its lease was taken over).",
    ["kind", "outcome"],
    buckets=_JOB,
    registry=REGISTRY,
)
JOBS = Counter(
    "hub_jobs",
    "Outbox job runs by outcome: done, retry, dead, lost.",
    ["kind", "outcome"],
    registry=REGISTRY,
)
JOB_QUEUE_WAIT = Histogram(
    "hub_job_queue_wait_seconds",
    "Time from a job being due (run_at) to a worker claiming it.",
    ["kind"],
    buckets=_WAIT,
    registry=REGISTRY,
)
OUTBOUND = Histogram(
    "hub_outbound_request_seconds",
    "Latency of each HTTP request to an outside API (every attempt), by account, operation "
    "(HTTP method, or graphql) and status class (2xx, 3xx, 4xx, 5xx, error: no answer).",
    ["account", "operation", "status_class"],
    buckets=_CALL,
    registry=REGISTRY,
)
RATE_LIMIT_WAITS = Counter(
    "hub_rate_limit_waits",
    "Outbound requests held by their account's rate limiter (waited, or handed back to the "
    "outbox because the wait was too long).",
    ["account"],
    registry=REGISTRY,
)
WEBHOOKS_REFUSED = Counter(
    "hub_webhooks_refused",
    "Webhook requests refused before anything was stored, by the error code answered: "
    "bad_signature (a wrong or rotated secret), body_too_large, unsupported_media_type, "
    'unknown_account, no_webhooks, bad_json... (connector "unknown" for no such account).',
    ["connector", "reason"],
    registry=REGISTRY,
)
BREAKER_OPENS = Counter(
    "hub_circuit_breaker_opens",
    "Times an account's circuit breaker opened (calls paused after failures in a row).",
    ["account"],
    registry=REGISTRY,
)
SCHEDULER_SLOTS = Counter(
    "hub_scheduler_slots",
    "Time slots of periodic jobs a scheduler came to, by job kind, mode (stock passes: delta, "
    "full) and outcome: enqueued (this scheduler enqueued the slot's job), taken (another "
    "scheduler already had), error (the database could not be written).",
    ["kind", "mode", "outcome"],
    registry=REGISTRY,
)

_children: dict[tuple[Any, ...], Any] = {}
_children_lock = threading.Lock()


def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, kept: the hot paths skip prometheus-client's look-up."""
    key = (metric, *labels)
    found = _children.get(key)
    if found is None:
        with _children_lock:
            found = _children.get(key)
            if found is None:
                found = _children[key] = metric.labels(*labels)
    return found


def status_class(status: int | None) -> str:
    """``2xx`` ... ``5xx`` for an HTTP status, ``error`` when there was no answer."""
    if status is None or not 100 <= status <= 599:
        return "error"
    return f"{status // 100}xx"


# -- multiprocess mode ------------------------------------------------------------------------

#: the environment variable prometheus-client reads (and gunicorn's workers inherit)
ENV = "PROMETHEUS_MULTIPROC_DIR"
#: the hub's own override of the base directory
HUB_ENV = "HUB_METRICS_DIR"


def directory() -> str | None:
    """The multiprocess directory this process records into, or None (in-process only)."""
    path = os.environ.get(ENV) or os.environ.get(ENV.lower())
    if not path or values.ValueClass is values.MutexValue:
        return None
    return path


#: the instances named by their process id (``worker-1234``), not by a port (``web-8000``)
BY_PID = ("worker", "scheduler")


def instance_directory(name: str, database_url: str, environ: Any = None) -> tuple[Path, bool]:
    """Where the instance ``name`` (``web-8000``, ``worker-1234``, ``scheduler-1234``)
    records, and whether the hub chose it (and so empties it at start):
    ``PROMETHEUS_MULTIPROC_DIR`` as is when set (the operator's, left as it is); else
    ``name`` under ``HUB_METRICS_DIR``, or under ``hub-metrics/`` beside the SQLite database
    (for PostgreSQL, ``hub-metrics-<uid>/`` in the system's temporary folder)."""
    env = os.environ if environ is None else environ
    given = env.get(ENV) or env.get(ENV.lower())
    if given:
        return Path(given), False
    base = env.get(HUB_ENV)
    if base:
        return Path(base) / name, True
    if database_url.startswith("sqlite:///") and len(database_url) > len("sqlite:///"):
        folder = Path(database_url[len("sqlite:///") :].split("?", 1)[0]).resolve().parent
        return folder / "hub-metrics" / name, True
    return Path(tempfile.gettempdir()) / f"hub-metrics-{os.getuid()}" / name, True


def use_directory(path: Path | str, *, clean: bool = True) -> Path:
    """Record into ``path`` from now on; with ``clean`` it is emptied first (what an earlier
    run left is not this run's). Call it before this process records anything, and before it
    starts the processes that share the directory (they inherit ``PROMETHEUS_MULTIPROC_DIR``)."""
    path = Path(path)
    if clean and path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(path)
    if values.ValueClass is values.MutexValue:
        values.ValueClass = values.MultiProcessValue()
    return path


def start(name: str, database_url: str) -> tuple[Path, bool]:
    """Set up this instance's directory (see :func:`instance_directory`): the path, and
    whether the hub owns it."""
    path, owned = instance_directory(name, database_url)
    if owned:
        _reap(path.parent)
    return use_directory(path, clean=owned), owned


def _reap(base: Path) -> None:
    """Remove ``worker-<pid>`` and ``scheduler-<pid>`` directories beside ours whose process
    is gone (killed ones; a worker or scheduler that stops removes its own)."""
    if not base.is_dir():
        return
    for found in base.iterdir():
        role, _, pid = found.name.partition("-")
        if role not in BY_PID or not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(found, ignore_errors=True)
        except OSError:  # alive, someone else's
            continue


def collect_into(registry: CollectorRegistry) -> None:
    """Register what this process serves at ``/metrics`` into ``registry``: the sum over the
    multiprocess directory, or this process's own metrics."""
    path = directory()
    if path is None:
        registry.register(_Own())  # type: ignore[arg-type]
    else:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=path)


class _Own:
    """This process's :data:`REGISTRY` as one collector of another registry."""

    def collect(self) -> Any:
        return REGISTRY.collect()


def serve(port: int, host: str = "127.0.0.1") -> None:
    """Serve these metrics (every process of the directory, or this one's) at
    ``http://host:port/metrics`` from a background thread: for ``hub worker`` and ``hub
    scheduler``, which have no web server of their own."""
    from prometheus_client import start_http_server

    registry = CollectorRegistry()
    collect_into(registry)
    start_http_server(port, addr=host, registry=registry)


def stop(path: Path, owned: bool) -> None:
    """The instance is done: remove its directory if the hub made it."""
    if owned:
        shutil.rmtree(path, ignore_errors=True)


def mark_process_dead(pid: int) -> None:
    """A process sharing the directory has exited (gunicorn's ``child_exit``): its live
    gauges are dropped; its counters and histograms keep counting in the sum."""
    if directory() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
