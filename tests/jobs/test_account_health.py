"""Credentials refused: the account is flagged and its jobs wait, no attempt burnt and
nothing lost, until the keys change or someone resumes it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from sqlalchemy import select

from hub.errors import AuthError
from hub.jobs import account_health, outbox
from hub.jobs.worker import Worker, job_handler
from hub.runtime import Hub
from hub.stock import sync
from hub.storage import migrate
from hub.storage.models import JobRow

PRODUCTS = "https://woo-a.example/wp-json/wc/v3/products"


@pytest.fixture
def refusing() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(PRODUCTS, status=401, json={"code": "woocommerce_rest_cannot_view"})
        yield mock


def _sync_jobs(hub) -> list[JobRow]:
    with hub.db.transaction() as s:
        return list(
            s.execute(select(JobRow).where(JobRow.kind == sync.SYNC).order_by(JobRow.id))
            .scalars()
            .all()
        )


def _queue(hub, key: str) -> None:
    with hub.db.transaction() as s:
        sync.queue(hub, s, hub.accounts["woo-a"], "delta", key=key)


def test_refused_credentials_flag_the_account_and_its_jobs_wait(
    hub, worker, client, viewer, editor, refusing
):
    _queue(hub, "1")
    worker.drain()
    [job] = _sync_jobs(hub)
    assert job.status == "queued" and job.attempts == 0  # waiting, not burnt, not dead
    assert job.last_error.startswith("waiting: account woo-a needs its credentials fixed")
    assert len(refusing.calls) == 1
    accounts = {a["account"]: a for a in client.get("/api/accounts", headers=viewer).json["items"]}
    assert accounts["woo-a"]["status"] == "credentials_refused"
    assert accounts["woo-a"]["refused"]["reason"].startswith("AuthError: GET ")
    assert accounts["shop-a"]["status"] == "ok"
    assert 'hub_account_credentials_refused{account="woo-a"} 1' in client.get("/metrics").text
    # another job of the account waits too, without calling the store
    _queue(hub, "2")
    worker.drain()
    assert len(refusing.calls) == 1
    assert [j.attempts for j in _sync_jobs(hub)] == [0, 0]
    # fixed at the store; resumed by hand: the waiting jobs run now
    refusing.replace(responses.GET, PRODUCTS, json=[], headers={"X-WP-TotalPages": "1"})
    assert client.post("/api/accounts/woo-a/resume", headers=viewer).status_code == 403
    answer = client.post("/api/accounts/woo-a/resume", headers=editor)
    assert answer.status_code == 200 and answer.json["jobs_resumed"] == 2
    worker.drain()
    assert [j.status for j in _sync_jobs(hub)] == ["done", "done"]
    audit = client.get("/api/audit", query_string={"action": "account.resume"}, headers=viewer)
    assert audit.json["items"][0]["target"] == "account:woo-a"


def test_new_keys_clear_the_flag_by_themselves(hub, worker, accounts_file, refusing):
    _queue(hub, "1")
    worker.drain()
    with hub.db.transaction() as s:
        assert account_health.flagged(s, hub.accounts["woo-a"]) is not None
    accounts_file.write_text(accounts_file.read_text().replace("cs_test", "cs_fixed"))
    fixed = Hub.from_env({"database_url": hub.settings.database_url, "config": str(accounts_file)})
    try:
        migrate.upgrade(fixed.db)
        with fixed.db.transaction() as s:
            assert account_health.flagged(s, fixed.accounts["woo-a"]) is None
            [job] = s.execute(select(JobRow)).scalars().all()
            assert job.run_at <= outbox.now()  # due again at once
        refusing.replace(responses.GET, PRODUCTS, json=[], headers={"X-WP-TotalPages": "1"})
        Worker(fixed).drain()
        assert [j.status for j in _sync_jobs(fixed)] == ["done"]
    finally:
        fixed.close()


@job_handler("test.refused")
def _refused(hub, session, payload):
    raise AuthError("HTTP 401, credentials refused", details={"status": 401})


def test_refused_credentials_of_no_known_account_make_the_job_dead(hub, worker):
    with hub.db.transaction() as s:
        unknown = outbox.enqueue(s, "test.refused", {}, max_attempts=5)
        known = outbox.enqueue(s, "test.refused", {"account": "shop-a"}, max_attempts=5)
    worker.drain()
    with hub.db.transaction() as s:
        assert s.get(JobRow, unknown).status == "dead"  # nobody to flag: show it
        assert s.get(JobRow, known).status == "queued"  # shop-a waits
        assert account_health.flagged(s, hub.accounts["shop-a"]) is not None
