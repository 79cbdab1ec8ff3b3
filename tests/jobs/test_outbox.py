"""The outbox and worker on a real database: leases, retries with backoff, dead jobs, slots."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from hub import cli
from hub.errors import PermanentError, RetryableError
from hub.jobs import outbox, scheduler
from hub.jobs.worker import OWN_TRANSACTIONS, Worker, job_handler
from hub.settings import Settings
from hub.storage.models import AuditRow, JobRow, TokenRow
from hub.values import now

calls: list[dict] = []


@job_handler("test.ok")
def _ok(hub, session, payload):
    calls.append(payload)


@job_handler("test.boom")
def _boom(hub, session, payload):
    # a write that must be rolled back with the failed attempt
    session.add(
        TokenRow(
            name=f"leak-{time.monotonic_ns()}",
            role="viewer",
            token_hash=str(time.monotonic_ns()).ljust(64, "0"),
        )
    )
    session.flush()
    raise RuntimeError("carrier said no")


@job_handler("test.later")
def _later(hub, session, payload):
    raise RetryableError("rate limited", retry_after=120)


@job_handler("test.never")
def _never(hub, session, payload):
    raise PermanentError("order was deleted on the channel")


def _enqueue(hub, kind, payload=None, **kw) -> int:
    with hub.db.transaction() as s:
        return outbox.enqueue(s, kind, payload or {}, max_attempts=kw.pop("max_attempts", 3), **kw)


def _job(hub, job_id) -> JobRow:
    with hub.db.transaction() as s:
        return s.get(JobRow, job_id)


@pytest.fixture(autouse=True)
def _reset():
    calls.clear()


def test_a_job_runs_once_and_is_done(hub, worker):
    job_id = _enqueue(hub, "test.ok", {"n": 1})
    assert worker.drain() == 1
    assert worker.drain() == 0
    assert calls == [{"n": 1}]
    row = _job(hub, job_id)
    assert row.status == "done" and row.attempts == 1 and row.finished_at is not None


def test_failures_back_off_then_die_keeping_the_error(hub, worker):
    job_id = _enqueue(hub, "test.boom", max_attempts=2)
    assert worker.run_once() == 1
    row = _job(hub, job_id)
    assert row.status == "queued" and row.attempts == 1
    assert "carrier said no" in row.last_error
    assert row.run_at > now() - timedelta(seconds=1)
    with hub.db.transaction() as s:  # the failed attempt's write was rolled back
        assert s.execute(select(TokenRow)).first() is None
    time.sleep(0.1)  # the test settings' backoff is at most 0.05 s
    worker.drain()
    row = _job(hub, job_id)
    assert row.status == "dead" and row.attempts == 2
    assert "RuntimeError: carrier said no" in row.last_error


def test_retry_after_is_honoured(hub, worker):
    job_id = _enqueue(hub, "test.later")
    worker.run_once()
    row = _job(hub, job_id)
    assert row.status == "queued"
    assert row.run_at >= now() + timedelta(seconds=100)
    assert worker.run_once() == 0  # not due yet


def test_permanent_errors_and_unknown_kinds_die_at_once(hub, worker):
    a = _enqueue(hub, "test.never", max_attempts=5)
    b = _enqueue(hub, "test.no-such-kind", max_attempts=5)
    worker.drain()
    assert _job(hub, a).status == "dead" and _job(hub, a).attempts == 1
    assert "no handler" in _job(hub, b).last_error


def test_dead_jobs_can_be_retried_and_discarded_over_the_api(hub, client, worker, viewer, editor):
    dead = _enqueue(hub, "test.never")
    worker.drain()
    listed = client.get("/api/jobs", query_string={"status": "dead"}, headers=viewer).get_json()
    assert [j["id"] for j in listed["items"]] == [dead]
    assert client.post(f"/api/jobs/{dead}/retry", headers=viewer).status_code == 403
    assert client.post(f"/api/jobs/{dead}/retry", headers=editor).status_code == 200
    assert _job(hub, dead).status == "queued"
    worker.drain()
    no_reason = client.post(f"/api/jobs/{dead}/discard", headers=editor)
    assert no_reason.status_code == 400
    assert no_reason.get_json()["error"]["details"]["field"] == "reason"
    why = {"reason": "the order was refunded"}
    assert client.post(f"/api/jobs/{dead}/discard", json=why, headers=editor).status_code == 200
    kept = _job(hub, dead)  # kept, with the reason, never run
    assert kept.status == "discarded" and kept.last_error == "discarded: the order was refunded"
    r = client.post(f"/api/jobs/{dead}/discard", json=why, headers=editor)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_discardable"
    audit = client.get("/api/audit", headers=viewer).get_json()["items"]
    assert [(a["action"], a["target"]) for a in audit] == [
        ("job.discard", f"job:{dead}"),
        ("job.retry", f"job:{dead}"),
    ]
    assert audit[0]["actor"].startswith("editor-")
    assert audit[0]["details"]["reason"] == "the order was refunded"


def test_dead_letters_show_their_input_and_retry_by_filter(hub, client, worker, viewer, editor):
    dead = [_enqueue(hub, "test.never", {"n": i}) for i in range(3)]
    other = _enqueue(hub, "test.no-such-kind")
    worker.drain()
    shown = client.get(f"/api/jobs/{dead[0]}", headers=viewer).get_json()
    assert shown["status"] == "dead" and shown["last_error"].startswith("PermanentError")
    assert shown["payload"] == {"n": 0} and shown["input"] is None
    matched = client.get(
        "/api/jobs", query_string={"status": "dead", "kind": "test.never"}, headers=viewer
    ).get_json()
    assert sorted(j["id"] for j in matched["items"]) == dead
    bad = client.get("/api/jobs", query_string={"status": "gone"}, headers=viewer)
    assert bad.status_code == 400
    r = client.post("/api/jobs/retry", json={"kind": "test.never"}, headers=editor)
    assert r.status_code == 200 and r.get_json() == {"retried": 3, "ids": dead}
    assert [_job(hub, j).status for j in dead] == ["queued"] * 3
    assert _job(hub, other).status == "dead"
    [entry] = [
        a
        for a in client.get("/api/audit", headers=viewer).get_json()["items"]
        if a["action"] == "job.retry_matching"
    ]
    assert entry["details"]["count"] == 3


def test_an_expired_lease_lets_another_worker_take_the_job(hub):
    job_id = _enqueue(hub, "test.ok")
    [first] = outbox.claim(hub.db, "a", lease=1.0)
    assert outbox.claim(hub.db, "b", lease=30) == []  # still leased
    time.sleep(1.1)
    [second] = outbox.claim(hub.db, "b", lease=30)
    assert second.id == job_id and second.attempts == 2
    with hub.db.transaction() as s:  # the first worker lost its lease: its completion is refused
        assert outbox.complete(s, first) is False
    with hub.db.transaction() as s:
        assert outbox.complete(s, second) is True
    assert _job(hub, job_id).status == "done"


def test_concurrent_workers_claim_each_job_exactly_once(hub):
    ids = {_enqueue(hub, "test.ok", {"i": i}) for i in range(60)}
    claimed: list[int] = []
    lock = threading.Lock()

    def take(name):
        while True:
            jobs = outbox.claim(hub.db, name, lease=60, limit=3)
            if not jobs:
                return
            with lock:
                claimed.extend(j.id for j in jobs)
            for j in jobs:
                with hub.db.transaction() as s:
                    assert outbox.complete(s, j)

    threads = [threading.Thread(target=take, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(claimed) == sorted(ids)


def test_one_job_per_scheduler_slot(hub):
    periodic = scheduler.Periodic("test.ok", timedelta(hours=1), {"slot": True})
    first = scheduler.enqueue_slot(hub, periodic)
    second = scheduler.enqueue_slot(hub, periodic)  # another scheduler, same slot
    assert first is not None and second is None


def test_prune_removes_old_done_jobs_only(hub, worker):
    done = _enqueue(hub, "test.ok")
    dead = _enqueue(hub, "test.never")
    worker.drain()
    with hub.db.transaction() as s:
        s.execute(update(JobRow).values(finished_at=now() - timedelta(days=30)))
    _enqueue(hub, scheduler.PRUNE_JOBS, {"keep_days": 7})
    worker.drain()
    assert _job(hub, done) is None
    assert _job(hub, dead).status == "dead"


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    settings = Settings(job_backoff=2.0, job_backoff_max=60.0)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (5, 32), (9, 60)]:
        delays = [outbox.backoff(attempt, settings) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered
    assert outbox.backoff(1, settings, retry_after=30) == 30


def test_a_worker_thread_stops_cleanly(hub):
    w = Worker(hub, name="bg")
    t = threading.Thread(target=w.run)
    t.start()
    _enqueue(hub, "test.ok", {"bg": 1})
    deadline = time.monotonic() + 10
    while not calls and time.monotonic() < deadline:
        time.sleep(0.02)
    w.stop()
    t.join(5)
    assert not t.is_alive()
    assert calls == [{"bg": 1}]


def test_lanes_keep_jobs_that_wait_on_outside_systems_apart(hub):
    inside, outside = Worker(hub, lane="inside"), Worker(hub, lane="outside")
    slow = "stock.sync"  # an account no longer configured: done at once
    with hub.db.transaction() as s:
        outbox.enqueue(s, slow, {"account": "gone"}, max_attempts=3)
        outbox.enqueue(s, "test.ok", {}, max_attempts=3)
    [mine] = outbox.claim(hub.db, "inside", lease=60, limit=10, exclude=sorted(OWN_TRANSACTIONS))
    assert mine.kind == "test.ok"
    with hub.db.transaction() as s:
        s.execute(update(JobRow).values(status=outbox.QUEUED, lease_until=None))
    assert inside.lane == "inside" and outside.lane == "outside"
    assert outside.run_once() == 1  # only the slow one
    with hub.db.transaction() as s:
        kinds = dict(s.execute(select(JobRow.kind, JobRow.status)).all())
    assert kinds[slow] != outbox.QUEUED and kinds["test.ok"] == outbox.QUEUED
    assert inside.run_once() == 1
    with pytest.raises(ValueError):
        Worker(hub, lane="sideways")


def test_hub_jobs_lists_shows_retries_and_discards_dead_letters(hub, worker, monkeypatch):
    dead = [_enqueue(hub, "test.never", {"n": i}) for i in range(2)]
    worker.drain()
    monkeypatch.setenv("HUB_DATABASE_URL", hub.settings.database_url)
    monkeypatch.setenv("HUB_CONFIG", hub.settings.config)
    run = CliRunner().invoke
    listed = run(cli.cli, ["jobs", "list", "--kind", "test.never"])
    assert listed.exit_code == 0, listed.output
    assert [line.split("\t")[0] for line in listed.output.splitlines()] == [
        str(dead[1]),
        str(dead[0]),
    ]
    assert "PermanentError: order was deleted on the channel" in listed.output
    shown = run(cli.cli, ["jobs", "show", str(dead[0])])
    assert json.loads(shown.output)["payload"] == {"n": 0}
    assert run(cli.cli, ["jobs", "retry"]).exit_code != 0  # ids or --all-dead
    retried = run(cli.cli, ["jobs", "retry", "--all-dead", "--error", "was deleted"])
    assert retried.exit_code == 0 and "2 job(s) queued again" in retried.output
    worker.drain()
    kept = run(cli.cli, ["jobs", "discard", str(dead[0]), "--reason", "refunded"])
    assert kept.exit_code == 0 and _job(hub, dead[0]).status == "discarded"
    again = run(cli.cli, ["jobs", "discard", str(dead[0]), "--reason", "refunded"])
    assert again.exit_code != 0 and "is not dead" in again.output
    with hub.db.transaction() as s:
        actions = s.execute(select(AuditRow.action).order_by(AuditRow.id)).scalars().all()
    assert actions == ["job.retry_matching", "job.discard"]


def test_slots_are_as_wide_as_their_interval_fractions_included(hub, monkeypatch):
    clock = [datetime(2026, 11, 26, 9, 0, 0, 100_000, tzinfo=UTC)]
    monkeypatch.setattr(scheduler, "now", lambda: clock[0])
    half = scheduler.Periodic("test.ok", timedelta(seconds=0.5), {})
    assert scheduler.enqueue_slot(hub, half) is not None
    assert scheduler.enqueue_slot(hub, half) is None  # same half second
    clock[0] += timedelta(seconds=0.5)
    assert scheduler.enqueue_slot(hub, half) is not None
    odd = scheduler.Periodic("test.ok", timedelta(seconds=1.5), {"mode": "x"})
    clock[0] = datetime.fromtimestamp(1_800_000_000, UTC)  # a 1.5 s slot begins here
    made = 0
    for _ in range(6):  # 3 s of triggers every half second: two 1.5 s slots
        made += scheduler.enqueue_slot(hub, odd) is not None
        clock[0] += timedelta(seconds=0.5)
    assert made == 2


def test_a_stopping_worker_gives_back_the_jobs_it_had_not_started(hub):
    started: list[int] = []
    ids = [_enqueue(hub, "test.ok", {"i": i}) for i in range(5)]
    worker = Worker(hub, batch=5)

    def stop_after_first(job):  # the signal arrives while the first job runs
        started.append(job.id)
        worker.stop()
        return outbox.DONE

    worker.run_job = stop_after_first  # type: ignore[method-assign]
    assert worker.run_once() == 5
    assert started == [ids[0]]
    for job_id in ids[1:]:  # due again now, for another worker, their attempt not counted
        job = _job(hub, job_id)
        assert (job.status, job.attempts, job.lease_until) == ("queued", 0, None)
