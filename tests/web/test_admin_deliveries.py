"""The console's deliveries and jobs: lists filtered by state and paged by cursor, and one
delivery or job with its payload, its translate jobs or failed attempts, and the actions an
editor takes from there."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from hub.jobs import outbox
from hub.storage.models import DeliveryRow, JobAttemptRow, JobRow
from hub.values import now
from tests.conftest import csrf_token, make_person, sign_in
from tests.web.test_admin_exceptions import _malformed, _order


def _signed_in(hub, client, role: str, clients: list[str] | None = None) -> str:
    email = make_person(hub, f"{role}@example.com", role, clients)
    assert sign_in(client, email).status_code == 302
    return email


def _flaky(hub, worker, fails: int, max_attempts: int) -> int:
    """A job whose handler raises ``fails`` times (each run due at once again): its id."""
    calls = []

    def handler(hub, session, payload):
        calls.append(payload)
        if len(calls) <= fails:
            raise RuntimeError(f"the warehouse hung up (call {len(calls)})")

    worker.handlers["test.flaky"] = handler
    with hub.db.transaction() as session:
        outbox.enqueue(session, "test.flaky", {"account": "shop-a"}, max_attempts=max_attempts)
        job_id = session.execute(select(JobRow.id).where(JobRow.kind == "test.flaky")).scalar_one()
    for _ in range(max_attempts):
        with hub.db.transaction() as session:
            session.execute(update(JobRow).where(JobRow.id == job_id).values(run_at=now()))
        worker.drain()
    return job_id


def _ids(page: str, kind: str) -> list[int]:
    return [int(n) for n in re.findall(rf'href="/admin/{kind}/(\d+)"', page)]


def test_the_deliveries_list_filters_by_status_and_pages_by_cursor(hub, client, worker):
    failed = _malformed(client, worker)
    for n in range(3):
        _order(client, worker, 820982911946154508 + n)
    _signed_in(hub, client, "viewer")
    everything = client.get("/admin/deliveries", query_string={"limit": 2})
    assert everything.status_code == 200
    first = _ids(everything.text, "deliveries")
    assert len(first) == 2 and first == sorted(first, reverse=True)
    older = re.search(r'href="([^"]+)" rel="next">Older', everything.text).group(1)
    second = client.get(older.replace("&amp;", "&"))
    assert second.status_code == 200
    rest = _ids(second.text, "deliveries")
    assert rest and max(rest) < min(first) and "Newest" in second.text
    only_failed = client.get("/admin/deliveries", query_string={"status": "failed"})
    assert _ids(only_failed.text, "deliveries") == [failed]
    assert "not valid JSON" in only_failed.text
    processed = client.get("/admin/deliveries", query_string={"status": "processed"})
    assert failed not in _ids(processed.text, "deliveries")
    assert len(_ids(processed.text, "deliveries")) == 3
    orders = re.findall(r'href="/admin/orders/(\d+)"', processed.text)
    assert len(orders) == 3
    bad = client.get("/admin/deliveries", query_string={"status": "lost"})
    assert bad.status_code == 400 and "status" in bad.text and "must be one of" in bad.text
    assert client.get("/admin/deliveries", query_string={"limit": "²"}).status_code == 400


def test_a_delivery_page_shows_its_body_headers_and_translate_jobs(hub, client, worker):
    order_id = _order(client, worker)
    with hub.db.transaction() as session:
        delivery = session.execute(
            select(DeliveryRow).where(DeliveryRow.order_id == order_id)
        ).scalar_one()
    _signed_in(hub, client, "viewer")
    page = client.get(f"/admin/deliveries/{delivery.id}")
    assert page.status_code == 200
    assert f"/admin/orders/{order_id}" in page.text and "orders/create" in page.text
    assert "&#34;line_items&#34;: [" in page.text  # pretty-printed, escaped
    assert "X-Shopify-Topic" in page.text or "x-shopify-topic" in page.text.lower()
    jobs = _ids(page.text, "jobs")
    assert len(jobs) == 1
    assert "Replay" not in page.text  # a viewer reads only
    order_page = client.get(f"/admin/orders/{order_id}")
    assert f'href="/admin/deliveries/{delivery.id}"' in order_page.text
    assert client.get("/admin/deliveries/999999").status_code == 404
    assert client.get(f"/admin/deliveries/{2**63}").status_code == 404


def test_an_editor_replays_a_delivery_from_its_page_and_comes_back_to_it(hub, client, worker):
    order_id = _order(client, worker)
    with hub.db.transaction() as session:
        delivery_id = session.execute(
            select(DeliveryRow.id).where(DeliveryRow.order_id == order_id)
        ).scalar_one()
    _signed_in(hub, client, "editor")
    page = client.get(f"/admin/deliveries/{delivery_id}")
    answer = client.post(
        f"/admin/deliveries/{delivery_id}/replay",
        data={"csrf_token": csrf_token(page.text), "back": "detail"},
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/admin/deliveries/{delivery_id}")
    worker.drain()
    again = client.get(f"/admin/deliveries/{delivery_id}")
    assert "is queued to be taken in again" in again.text
    assert len(_ids(again.text, "jobs")) == 2  # the first translation and the replay
    with hub.db.transaction() as session:
        assert session.get(DeliveryRow, delivery_id).status == "processed"


def test_the_jobs_list_filters_and_a_job_page_shows_every_failed_attempt(hub, client, worker):
    dead = _flaky(hub, worker, fails=3, max_attempts=3)
    recovered = _second_flaky(hub, worker)
    _signed_in(hub, client, "viewer")
    listing = client.get("/admin/jobs", query_string={"status": "dead"})
    assert listing.status_code == 200
    assert _ids(listing.text, "jobs") == [dead]
    assert "the warehouse hung up (call 3)" in listing.text
    by_error = client.get("/admin/jobs", query_string={"error": "call 3"})
    assert _ids(by_error.text, "jobs") == [dead]  # the last error: a job done keeps none
    assert _ids(client.get("/admin/jobs", query_string={"error": "call 1"}).text, "jobs") == []
    by_kind = client.get("/admin/jobs", query_string={"kind": "test.flaky-once"})
    assert _ids(by_kind.text, "jobs") == [recovered]
    page = client.get(f"/admin/jobs/{dead}")
    assert page.status_code == 200
    for n in (1, 2, 3):
        assert f"RuntimeError: the warehouse hung up (call {n})" in page.text
    assert page.text.count('data-outcome="queued">Retried</td>') == 2
    assert page.text.count('data-outcome="dead">Dead</td>') == 1
    assert 'data-status="dead">Dead</span></h1>' in page.text
    assert "test-worker" in page.text and "3 of 3" in page.text
    assert "&#34;account&#34;: &#34;shop-a&#34;" in page.text
    assert "Retry" not in page.text and "Discard" not in page.text  # a viewer
    done = client.get(f"/admin/jobs/{recovered}")
    assert "call 1" in done.text and 'data-status="done">Done</span></h1>' in done.text
    assert 'data-outcome="dead"' not in done.text
    assert client.get("/admin/jobs", query_string={"status": "sleeping"}).status_code == 400
    assert client.get(f"/admin/jobs/{2**63}").status_code == 404


def _second_flaky(hub, worker) -> int:
    """Another flaky job that fails once and then succeeds: its id."""
    calls = []

    def handler(hub, session, payload):
        calls.append(payload)
        if len(calls) == 1:
            raise RuntimeError("the warehouse hung up (call 1)")

    worker.handlers["test.flaky-once"] = handler
    with hub.db.transaction() as session:
        outbox.enqueue(session, "test.flaky-once", {"account": "woo-a"}, max_attempts=3)
        job_id = session.execute(
            select(JobRow.id).where(JobRow.kind == "test.flaky-once")
        ).scalar_one()
    for _ in range(2):
        with hub.db.transaction() as session:
            session.execute(update(JobRow).where(JobRow.id == job_id).values(run_at=now()))
        worker.drain()
    return job_id


def test_an_editor_retries_and_discards_dead_jobs_from_their_pages(hub, client, worker):
    first = _flaky(hub, worker, fails=1, max_attempts=1)
    _signed_in(hub, client, "editor")
    page = client.get(f"/admin/jobs/{first}")
    assert "Retry" in page.text and "Discard" in page.text
    answer = client.post(
        f"/admin/jobs/{first}/retry", data={"csrf_token": csrf_token(page.text), "back": "detail"}
    )
    assert answer.headers["Location"].endswith(f"/admin/jobs/{first}")
    worker.drain()
    assert 'data-status="done">Done</span></h1>' in client.get(f"/admin/jobs/{first}").text
    with hub.db.transaction() as session:
        assert session.get(JobRow, first).status == "done"
        outbox.enqueue(session, "no.such.kind", {"account": "shop-a"}, max_attempts=5)
        second = session.execute(
            select(JobRow.id).where(JobRow.kind == "no.such.kind")
        ).scalar_one()
    worker.drain()
    page = client.get(f"/admin/jobs/{second}")
    assert "no handler for job kind" in page.text
    answer = client.post(
        f"/admin/jobs/{second}/discard",
        data={"csrf_token": csrf_token(page.text), "back": "detail", "reason": "a test job"},
    )
    assert answer.headers["Location"].endswith(f"/admin/jobs/{second}")
    shown = client.get(f"/admin/jobs/{second}").text
    assert "discarded: a test job" in shown and "Retry" not in shown


def test_a_person_limited_to_a_client_reads_only_that_clients_deliveries_and_jobs(
    hub, client, worker
):
    delivery = _malformed(client, worker)
    job = _flaky(hub, worker, fails=1, max_attempts=1)
    _signed_in(hub, client, "editor", ["globex"])
    assert _ids(client.get("/admin/deliveries").text, "deliveries") == []
    assert client.get(f"/admin/deliveries/{delivery}").status_code == 404
    assert _ids(client.get("/admin/jobs").text, "jobs") == []
    assert client.get(f"/admin/jobs/{job}").status_code == 404
    client.post("/admin/logout", data={"csrf_token": csrf_token(client.get("/admin").text)})
    email = make_person(hub, "acme-staff@example.com", "editor", ["acme"])
    assert sign_in(client, email).status_code == 302
    assert _ids(client.get("/admin/deliveries").text, "deliveries") == [delivery]
    assert _ids(client.get("/admin/jobs").text, "jobs") == [job]
    page = client.get(f"/admin/jobs/{job}")
    assert page.status_code == 200 and "Retry" not in page.text  # not tied to a client yet


def test_failed_attempts_are_in_the_api_and_pruned_with_their_job(hub, client, worker, viewer):
    job_id = _flaky(hub, worker, fails=2, max_attempts=2)
    answer = client.get(f"/api/jobs/{job_id}", headers=viewer)
    failures = answer.get_json()["failures"]
    assert [(f["attempt"], f["outcome"]) for f in failures] == [(1, "queued"), (2, "dead")]
    assert failures[1]["error"] == "RuntimeError: the warehouse hung up (call 2)"
    assert failures[0]["worker"].startswith("test-worker")
    with hub.db.transaction() as session:
        outbox.discard(session, job_id, "done with it")
        session.execute(
            update(JobRow).where(JobRow.id == job_id).values(finished_at=now().replace(year=2000))
        )
    with hub.db.transaction() as session:
        assert outbox.prune(session, older_than=timedelta(days=1)) == 1
    with hub.db.transaction() as session:
        assert session.execute(select(JobAttemptRow)).first() is None
