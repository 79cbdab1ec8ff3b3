"""Worker heartbeats on a real database (both backends): a silent worker's jobs go back to the
queue, a beating worker's leases are renewed, a stopped worker leaves no row."""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.errors import ConfigError
from hub.jobs import lifeline, outbox
from hub.jobs.worker import Worker, job_handler
from hub.settings import Settings, load_settings
from hub.storage.models import JobRow, WorkerRow
from hub.values import now

TIMEOUT = 20.0
LEASE = 300.0
held = threading.Event()
release = threading.Event()


@job_handler("test.hold", own_transactions=True)
def _hold(hub, payload):
    held.set()
    release.wait(10)


@pytest.fixture(autouse=True)
def _reset():
    held.clear()
    release.clear()
    yield
    release.set()


def _enqueue(hub, n: int, kind: str = "test.ok") -> list[int]:
    with hub.db.transaction() as s:
        return [outbox.enqueue(s, kind, {"n": i}, max_attempts=3) for i in range(n)]


def _beat(hub, worker_id: str, at=None) -> list[int]:
    return lifeline.beat(hub.db, worker_id, lease=LEASE, timeout=TIMEOUT, at=at)


def _jobs(hub) -> dict[int, JobRow]:
    with hub.db.transaction() as s:
        return {j.id: j for j in s.execute(select(JobRow)).scalars()}


def _workers(hub) -> set[str]:
    with hub.db.transaction() as s:
        return set(s.execute(select(WorkerRow.id)).scalars())


def test_a_silent_workers_jobs_go_back_at_once_with_their_attempt_not_counted(hub):
    start = now() - timedelta(seconds=TIMEOUT + 1)
    _beat(hub, "dead", at=start)
    _beat(hub, "alive", at=start)
    ids = _enqueue(hub, 3)
    claimed = outbox.claim(hub.db, "dead:1", lease=LEASE, limit=2, worker_id="dead")
    assert [j.attempts for j in claimed] == [1, 1]

    assert _beat(hub, "alive", at=start + timedelta(seconds=TIMEOUT - 1)) == []
    assert sorted(_beat(hub, "alive")) == ids[:2]

    jobs = _jobs(hub)
    for job_id in ids[:2]:
        job = jobs[job_id]
        assert (job.status, job.attempts, job.locked_by, job.worker_id) == (
            outbox.QUEUED,
            0,
            None,
            None,
        )
        assert job.run_at <= now() and job.lease_until is None
        assert "worker dead stopped beating" in job.last_error
    assert jobs[ids[2]].status == outbox.QUEUED and jobs[ids[2]].last_error is None
    assert _workers(hub) == {"alive"}
    # due at once, for anyone; the dead worker's late completion finds the job not its own
    again = outbox.claim(hub.db, "alive:1", lease=LEASE, limit=3, worker_id="alive")
    assert len(again) == 3 and {j.attempts for j in again} == {1}
    with hub.db.transaction() as s:
        assert outbox.complete(s, claimed[0]) is False


def test_a_beat_renews_the_leases_of_its_own_running_jobs_only(hub):
    start = now()
    _beat(hub, "a", at=start)
    _beat(hub, "b", at=start)
    mine, theirs, loose = _enqueue(hub, 3)
    outbox.claim(hub.db, "a:1", lease=5, worker_id="a")
    outbox.claim(hub.db, "b:1", lease=5, worker_id="b")
    outbox.claim(hub.db, "x:1", lease=5)  # a worker that does not beat
    before = _jobs(hub)
    at = start + timedelta(seconds=10)
    _beat(hub, "a", at=at)
    after = _jobs(hub)
    assert after[mine].lease_until == at + timedelta(seconds=LEASE)
    assert after[theirs].lease_until == before[theirs].lease_until
    assert after[loose].lease_until == before[loose].lease_until


def test_jobs_of_a_worker_that_does_not_beat_wait_for_their_lease(hub):
    [job_id] = _enqueue(hub, 1)
    outbox.claim(hub.db, "old-release:1", lease=0.05)
    assert _beat(hub, "alive", at=now() + timedelta(hours=1)) == []
    assert _jobs(hub)[job_id].status == outbox.RUNNING
    time.sleep(0.1)
    [again] = outbox.claim(hub.db, "alive:1", lease=LEASE, worker_id="alive")
    assert again.id == job_id and again.attempts == 2  # an expired lease counts the attempt


def test_a_worker_taken_for_dead_adds_its_row_again(hub):
    start = now()
    _beat(hub, "slow", at=start)
    _beat(hub, "other", at=start + timedelta(seconds=TIMEOUT + 1))
    assert _workers(hub) == {"other"}
    _beat(hub, "slow", at=start + timedelta(seconds=TIMEOUT + 2))
    assert _workers(hub) == {"other", "slow"}


def test_a_running_worker_beats_renews_its_job_and_removes_its_row_when_it_stops(hub):
    w = Worker(hub, name="bg")
    thread = threading.Thread(target=w.run)
    thread.start()
    try:
        [job_id] = _enqueue(hub, 1, "test.hold")
        assert held.wait(10)
        [row] = _workers(hub)
        assert w.worker_id == row and row.startswith(f"{socket.gethostname()}:{os.getpid()}:")
        job = _jobs(hub)[job_id]
        assert job.worker_id == row and job.status == outbox.RUNNING
    finally:
        release.set()
        w.stop()
        thread.join(10)
    assert not thread.is_alive()
    assert _jobs(hub)[job_id].status == outbox.DONE
    assert _workers(hub) == set()


def test_the_worker_timeout_setting():
    assert Settings().worker_timeout == 20.0
    assert load_settings(environ={"HUB_WORKER_TIMEOUT": "5"}).worker_timeout == 5.0
    assert lifeline.interval(Settings(worker_timeout=8)) == 2.0
    assert lifeline.interval(Settings(worker_timeout=20, job_lease=2)) == 0.5
    with pytest.raises(ConfigError, match="worker_timeout"):
        load_settings(environ={"HUB_WORKER_TIMEOUT": "0"})
