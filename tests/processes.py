"""Real hub processes for the tests that need them and for ``bench/``: start one (``hub
worker``, ``hub web``, plain gunicorn, any command) with its output in a log file, wait until
it answers ``/healthz`` or until a condition holds, stop it (TERM, then KILL).

A wait that runs out, or a process that exits while it is waited on, raises
:class:`NotReady` with the ends of the processes' logs. It is an ``AssertionError``, so a test
fails with it as with a plain ``assert``; a benchmark catches it. Nothing here needs pytest.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import requests

#: the ``hub`` console script of this interpreter
HUB = str(Path(sys.executable).with_name("hub"))
#: how much of a log a failure shows
TAIL = 3000


def hub_env(settings: Any, **more: str) -> dict[str, str]:
    """This process's environment, with the database and accounts file of ``settings`` (a
    hub's settings) and ``more`` (``HUB_LOG_LEVEL="INFO"``)."""
    return {
        **os.environ,
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_CONFIG": settings.config,
        **more,
    }


class NotReady(AssertionError):
    """What was waited for did not come in time, or a process exited first."""


class Proc:
    """One process, its standard output and error in ``log``.

    ``new_session`` starts it in a session of its own, so :meth:`stop` can kill what it
    started too (gunicorn's workers) if TERM is not enough."""

    def __init__(
        self,
        command: Sequence[str],
        env: dict[str, str],
        log: Path,
        cwd: Path | str | None = None,
        *,
        new_session: bool = False,
    ) -> None:
        self.command, self.log, self.new_session = list(command), log, new_session
        self.handle = open(log, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            self.command,
            env=env,
            cwd=cwd if cwd is not None else log.parent,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def name(self) -> str:
        return self.log.stem

    def check(self) -> None:
        """Raise :class:`NotReady` if the process has exited."""
        code = self.proc.poll()
        if code is not None:
            raise NotReady(f"{self.name} exited ({code}):\n{self.output()[-TAIL:]}")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, as a machine losing power."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 15) -> None:
        """TERM, then KILL after ``timeout`` seconds; the log is closed."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                if self.new_session:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.proc.pid, signal.SIGKILL)
                else:
                    self.proc.kill()
                self.proc.wait()
        if not self.handle.closed:
            self.handle.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for(what: str, check: Callable[[], Any], timeout: float, *procs: Proc) -> Any:
    """Call ``check`` until it gives something true and return that; each of ``procs`` must
    stay up meanwhile. Raises :class:`NotReady` naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        for proc in procs:
            proc.check()
        time.sleep(0.05)
    logs = "\n".join(f"-- {p.name}:\n{p.output()[-2000:]}" for p in procs)
    raise NotReady(f"{what}: not seen in {timeout:g}s\n{logs}")


def answers(base: str) -> bool:
    """Whether a hub web server at ``base`` answers ``/healthz``."""
    try:
        return requests.get(f"{base}/healthz", timeout=1).ok
    except requests.RequestException:  # not up yet, or still importing the app
        return False


def wait_healthy(proc: Proc, port: int, timeout: float = 40) -> Proc:
    """Wait until ``proc`` answers ``/healthz`` on ``port`` of 127.0.0.1."""
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{proc.command} answering at {base}", lambda: answers(base), timeout, proc)
    return proc


@contextlib.contextmanager
def serving(
    command: Sequence[str], env: dict[str, str], log: Path, port: int, cwd: Path | None = None
) -> Iterator[Proc]:
    """A web server (``hub web``, gunicorn) for the block: started, answering ``/healthz``
    on ``port``, and stopped after, its log complete."""
    proc = Proc(command, env, log, cwd)
    try:
        wait_healthy(proc, port)
        yield proc
    finally:
        proc.stop()


class Processes:
    """The ``hub`` processes of one test (or one benchmark round), in one folder, with one
    environment; :meth:`stop` stops them all. ``command`` makes the command line of
    ``hub ARGS``: the console script by default."""

    def __init__(
        self,
        env: dict[str, str],
        folder: Path,
        *,
        command: Callable[..., list[str]] = lambda *args: [HUB, *args],
        cwd: Path | None = None,
        new_session: bool = False,
    ) -> None:
        self.env, self.folder, self.command = env, folder, command
        self.cwd, self.new_session = cwd, new_session
        self.procs: list[Proc] = []

    def start(
        self,
        *args: str,
        wait_http: int | None = None,
        extra: dict[str, str] | None = None,
        log: str | None = None,
    ) -> Proc:
        """``hub ARGS``, its log ``<first arg>-<n>.log`` (or ``log``) in the folder; with
        ``wait_http`` once it answers on that port; ``extra`` adds to the environment."""
        name = log or f"{args[0]}-{len(self.procs)}.log"
        proc = Proc(
            self.command(*args),
            {**self.env, **(extra or {})},
            self.folder / name,
            self.cwd if self.cwd is not None else self.folder,
            new_session=self.new_session,
        )
        self.procs.append(proc)
        if wait_http:
            wait_healthy(proc, wait_http)
        return proc

    def stop(self) -> None:
        """Stop every process started here (TERM to all first, so they stop together)."""
        for proc in self.procs:
            if proc.proc.poll() is None:
                proc.proc.terminate()
        for proc in self.procs:
            proc.stop(20)
        self.procs.clear()
