"""Process runners: the web tier under gunicorn, the worker loop, the scheduler.

``hub serve`` is one gunicorn worker process that also runs a job worker and the scheduler in
background threads; ``hub web``, ``hub worker`` and ``hub scheduler`` run each part alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from gunicorn.app.base import BaseApplication

from hub import logs, observe
from hub.jobs import scheduler
from hub.jobs.worker import Worker
from hub.runtime import Hub
from hub.storage import migrate
from hub.web.access_log import GunicornLogger
from hub.web.app import create_app

log = logging.getLogger("hub")


class _Gunicorn(BaseApplication):
    def __init__(
        self, hub_overrides: dict[str, Any] | None, options: dict[str, Any], background: bool
    ):
        self.hub_overrides = hub_overrides
        self.options = options
        self.background = background
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # older gunicorns lack some (control_socket_disable)
                self.cfg.set(key, value)
        self.cfg.set("when_ready", _listening)
        self.cfg.set("child_exit", _child_exit)
        if self.background:
            self.cfg.set("post_worker_init", _start_background)
            self.cfg.set("worker_exit", _stop_background)

    def load(self) -> Any:
        # The schema was upgraded before the server started; each worker builds its own app.
        return create_app(self.hub_overrides, upgrade=False)


def _child_exit(_arbiter: Any, server_worker: Any) -> None:
    observe.mark_process_dead(server_worker.pid)


def _listening(server: Any) -> None:
    """Said once the sockets are bound (a port in use fails before this, saying so)."""
    for listener in server.LISTENERS:
        host, port = listener.sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"hub: listening on http://{shown}:{port}", file=sys.stderr, flush=True)


_background: dict[str, Any] = {}
#: threads of ``hub serve`` for jobs that wait on outside systems
OUTSIDE_THREADS = 2


def lanes(threads: int, inside: int = 1) -> list[tuple[str, int]]:
    """Worker threads by lane: ``inside`` for the hub's own jobs, ``threads`` for jobs that
    wait on outside systems (see ``hub.jobs.worker.LANES``), and the claim batch of each."""
    return [("inside", 10)] * max(1, inside) + [("outside", 1)] * max(1, threads)


def _start_workers(
    hub: Hub, threads: int, daemon: bool, inside: int = 1
) -> list[tuple[Worker, threading.Thread]]:
    started = []
    for i, (lane, batch) in enumerate(lanes(threads, inside)):
        worker = Worker(hub, batch=batch, lane=lane)
        thread = threading.Thread(target=worker.run, name=f"hub-worker-{lane}-{i}", daemon=daemon)
        thread.start()
        started.append((worker, thread))
    return started


def _start_background(server_worker: Any) -> None:
    hub: Hub = server_worker.wsgi.extensions["hub"]
    workers = _start_workers(hub, OUTSIDE_THREADS, daemon=True)
    sched = scheduler.build(hub)
    sched.start()
    _background.update(workers=workers, scheduler=sched)


def _stop_background(_arbiter: Any, _server_worker: Any) -> None:
    if "workers" in _background:
        _background["scheduler"].shutdown(wait=False)
        for worker, _ in _background["workers"]:
            worker.stop()
        for _, thread in _background["workers"]:
            thread.join(timeout=10)


def run_gunicorn(
    hub: Hub,
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    background: bool,
    overrides: dict[str, Any] | None = None,
) -> None:
    migrate.upgrade(hub.db)
    hub.close()
    # every gunicorn worker records into the instance's directory; /metrics adds them up
    path, owned = observe.start(
        f"{'serve' if background else 'web'}-{port}", hub.settings.database_url
    )
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 60,
        "graceful_timeout": 15,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": hub.settings.log_level.lower(),
        # error and access log in the hub's one format, the request's path redacted
        "logger_class": GunicornLogger,
        "limit_request_line": 8190,
        # several hubs may run on one machine: no shared control socket in the home folder
        "control_socket_disable": True,
        # the instance's metrics directory goes with it (unless the operator gave it)
        "on_exit": lambda _arbiter: observe.stop(path, owned),
    }
    _Gunicorn(overrides, options, background).run()


def run_worker(
    hub: Hub,
    *,
    threads: int = 2,
    inside: int = 1,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
) -> None:
    """Run job workers until SIGINT/SIGTERM (``inside`` threads for the hub's own jobs,
    ``threads`` for jobs that wait on outside systems). On a signal each thread finishes the
    job in hand and gives back the ones it claimed but had not started. With
    ``metrics_port`` the process's metrics are served at ``/metrics`` there."""
    logs.configure(hub.settings)
    migrate.upgrade(hub.db)
    with _recording(hub, "worker", metrics_port, metrics_host):
        _run_workers(hub, threads, inside)


@contextlib.contextmanager
def _recording(hub: Hub, role: str, port: int | None, host: str) -> Iterator[None]:
    """This process records into its own directory, ``<role>-<pid>`` (removed when it
    stops; see ``hub.observe.start``); with ``port`` it serves what it recorded at
    ``http://host:port/metrics``."""
    path, owned = observe.start(f"{role}-{os.getpid()}", hub.settings.database_url)
    try:
        if port:
            observe.serve(port, host)
            log.info("%s metrics on http://%s:%s/metrics", role, host, port)
        yield
    finally:
        observe.stop(path, owned)


def _run_workers(hub: Hub, threads: int, inside: int) -> None:
    started = _start_workers(hub, threads, daemon=False, inside=inside)

    def stop(*_: Any) -> None:
        for w, _ in started:
            w.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _, t in started:
        while t.is_alive():
            t.join(timeout=0.5)


def run_scheduler(
    hub: Hub, *, metrics_port: int | None = None, metrics_host: str = "127.0.0.1"
) -> None:
    """Run the periodic triggers until SIGINT/SIGTERM; a slot being enqueued then is finished
    first. With ``metrics_port`` the process's metrics (its slot counts) are served at
    ``/metrics`` there."""
    logs.configure(hub.settings)
    migrate.upgrade(hub.db)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    with _recording(hub, "scheduler", metrics_port, metrics_host):
        sched = scheduler.build(hub)
        sched.start()
        while not stopping.wait(0.5):
            pass
        sched.shutdown(wait=True)
