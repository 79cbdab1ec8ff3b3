"""A ``hub worker`` SIGKILLed mid-job on PostgreSQL: another worker runs the job within
seconds (its heartbeat fell silent), not after the 300 s lease.

The job is a real one, ``warehouse.poll`` of a ``rest_wms`` account whose API is a fake WMS on
a local port, run by the test: it holds the first ``GET /stock`` (the job is then mid-run, in
the outside lane) and answers every later request at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.jobs import outbox
from hub.runtime import Hub
from hub.storage.models import JobRow, WorkerRow
from tests.conftest import ACCOUNTS
from tests.processes import Processes, hub_env, wait_for
from tests.wms import HoldingWms, rest_wms_account

#: HUB_WORKER_TIMEOUT in the test, and the bound from the kill to the job done
TIMEOUT, BOUND = 5, 45


@pytest.fixture
def wms() -> Iterator[HoldingWms]:
    server = HoldingWms()
    server.hold(1)  # the first /stock waits until the test ends
    yield server
    server.close()


@pytest.fixture
def accounts_file(tmp_path: Path, wms: HoldingWms) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(
        ACCOUNTS + rest_wms_account(wms.api_base, "acme-wms-key-kill", "rate_limit = 1000")
    )
    return path


@pytest.fixture
def workers(hub: Hub, tmp_path: Path) -> Iterator[Processes]:
    """``hub worker`` processes on the test's database, their logs ``worker-<n>.log``."""
    env = hub_env(hub.settings, HUB_LOG_LEVEL="INFO", HUB_WORKER_POLL="0.1")
    procs = Processes(env, tmp_path)
    yield procs
    procs.stop()


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
    hub: Hub, wms: HoldingWms, workers: Processes
):
    env = {"HUB_WORKER_TIMEOUT": str(TIMEOUT)}  # HUB_JOB_LEASE stays 300 s
    first = workers.start("worker", "--threads", "1", extra=env)
    [dead] = wait_for("the first worker's heartbeat", lambda: _workers(hub), 40, first)
    with hub.db.transaction() as s:
        job_id = outbox.enqueue(s, "warehouse.poll", {"account": "acme-wms"}, max_attempts=3)
    wait_for("the job mid-run", lambda: wms.held == 1, 20, first)
    running = _job(hub, job_id)
    assert (running.status, running.worker_id, running.attempts) == ("running", dead, 1)
    first.kill()
    killed = time.monotonic()

    second = workers.start("worker", "--threads", "1", extra=env)
    wait_for("the job done", lambda: _job(hub, job_id).status == "done", BOUND, second)
    took = time.monotonic() - killed
    done = _job(hub, job_id)
    assert took < BOUND
    assert done.attempts == 1  # the killed attempt was not counted
    assert wms.stock_calls == 2
    [alive] = _workers(hub)  # the dead worker's row is gone
    assert alive != dead and done.worker_id == alive
    assert "took back 1 job(s) of silent workers" in second.output()
    print(f"\nworker kill: job {job_id} done {took:.1f}s after SIGKILL (timeout {TIMEOUT}s)")
