"""``GET /metrics``: Prometheus' text format, the figures read from the database and the ones
the processes record (``hub.observe``), summed over gunicorn's workers in multiprocess mode."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update
from sqlalchemy.exc import StatementError

from hub import observe
from hub.connectors import ratelimit
from hub.connectors.http import HttpClient
from hub.errors import PermanentError, RetryableError
from hub.jobs import outbox, scheduler
from hub.jobs.worker import HANDLERS, job_handler
from hub.shipping import tracking
from hub.storage.models import ParcelEventRow, ParcelRow
from hub.values import now
from tests.conftest import (
    QUIET_ROYALMAIL,
    ROOT,
    accounts_fixture,
    free_port,
    send_shopify,
    shipped_order,
    shopify_headers,
    shopify_order,
)
from tests.processes import HUB, Processes, hub_env, serving, wait_for

#: every family the hub exposes (by the name the parser gives: counters without ``_total``)
RECORDED = {
    "hub_webhook_intake_seconds",
    "hub_deliveries",
    "hub_translation_seconds",
    "hub_job_run_seconds",
    "hub_jobs",
    "hub_job_queue_wait_seconds",
    "hub_outbound_request_seconds",
    "hub_rate_limit_waits",
    "hub_circuit_breaker_opens",
    "hub_scheduler_slots",
}
FROM_DATABASE = {
    "hub_orders",
    "hub_deliveries",
    "hub_jobs",
    "hub_parcels",
    "hub_tracking_flagged_events",
    "hub_fulfilments_pushed",
    "hub_stock_pending",
    "hub_account_credentials_refused",
    "hub_oldest_queued_job_age_seconds",
    "hub_stock_sync_lag_seconds",
    "hub_periodic_last_finished_timestamp_seconds",
    "hub_periodic_last_failed_timestamp_seconds",
}

#: a Royal Mail account that never calls out, for the parcels of shipped orders
accounts_file = accounts_fixture(QUIET_ROYALMAIL)


def exposed_names() -> set[str]:
    """Every sample name ``/metrics`` can show (``_bucket``, ``_count``, ``_sum`` and
    ``_total`` included): what dashboards and alerts may name."""
    names = set(FROM_DATABASE)
    for metric in observe.REGISTRY.collect():
        names.add(metric.name)
        if metric.type == "counter":
            names.add(metric.name + "_total")
        if metric.type == "histogram":
            names |= {metric.name + s for s in ("_bucket", "_count", "_sum")}
    return names | {"hub_tracking_flagged_events_total", "hub_fulfilments_pushed_total"}


def scrape(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the text, by name and labels (``le`` included)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def get_metrics(client) -> dict:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.mimetype == "text/plain"
    assert "version=0.0.4" in answer.headers["Content-Type"]
    return scrape(answer.get_data(as_text=True))


def test_the_text_parses_and_names_every_family(client):
    send_shopify(client, shopify_order())  # something recorded in this process
    text = client.get("/metrics").get_data(as_text=True)
    families = list(text_string_to_metric_families(text))
    names = {f.name for f in families}
    assert names >= FROM_DATABASE
    assert {"hub_webhook_intake_seconds", "hub_deliveries"} <= names
    kinds = {(f.name, f.type) for f in families}
    # the gauge read from the database and the counter of intake outcomes share a stem
    assert ("hub_deliveries", "gauge") in kinds and ("hub_deliveries", "counter") in kinds
    assert ("hub_jobs", "gauge") in kinds
    assert all(f.name.startswith("hub_") for f in families)
    for family in families:
        for sample in family.samples:
            assert "id" not in sample.labels and "sku" not in sample.labels


@pytest.fixture
def test_jobs():
    @job_handler("metrics-test.ok")
    def ok(hub, session, payload):
        return None

    @job_handler("metrics-test.broken")
    def broken(hub, session, payload):
        raise PermanentError("cannot ever work")

    @job_handler("metrics-test.flaky")
    def flaky(hub, session, payload):
        raise RuntimeError("not this time")

    yield
    for kind in ("metrics-test.ok", "metrics-test.broken", "metrics-test.flaky"):
        HANDLERS.pop(kind, None)


def test_a_webhook_its_translation_and_jobs_are_timed_and_counted(hub, client, worker, test_jobs):
    before = get_metrics(client)
    order = shopify_order()
    body = json.dumps(order).encode()
    headers = shopify_headers(body)
    assert client.post("/webhooks/shop-a", data=body, headers=headers).status_code == 202
    assert client.post("/webhooks/shop-a", data=body, headers=headers).status_code == 202  # again
    ignored = shopify_headers(body, topic="customers/create")
    assert client.post("/webhooks/shop-a", data=body, headers=ignored).status_code == 202
    with hub.db.transaction() as session:
        outbox.enqueue(session, "metrics-test.ok", {}, max_attempts=3)
        outbox.enqueue(session, "metrics-test.broken", {}, max_attempts=3)
        outbox.enqueue(session, "metrics-test.flaky", {}, max_attempts=3)
    worker.run_once()
    after = get_metrics(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    shopify = {"connector": "shopify"}
    for outcome in ("stored", "duplicate", "ignored"):
        assert delta("hub_deliveries_total", **shopify, outcome=outcome) == 1
        assert delta("hub_webhook_intake_seconds_count", **shopify, outcome=outcome) == 1
    assert delta("hub_webhook_intake_seconds_bucket", **shopify, outcome="stored", le="+Inf") == 1
    assert delta("hub_webhook_intake_seconds_sum", **shopify, outcome="stored") > 0
    assert delta("hub_translation_seconds_count", **shopify, outcome="processed") == 1
    assert delta("hub_translation_seconds_count", **shopify, outcome="failed") == 0
    assert delta("hub_jobs_total", kind="translate", outcome="done") == 1
    assert delta("hub_jobs_total", kind="metrics-test.ok", outcome="done") == 1
    assert delta("hub_jobs_total", kind="metrics-test.broken", outcome="dead") == 1
    assert delta("hub_jobs_total", kind="metrics-test.flaky", outcome="retry") == 1
    assert delta("hub_job_run_seconds_count", kind="metrics-test.broken", outcome="dead") == 1
    assert delta("hub_job_run_seconds_count", kind="metrics-test.ok", outcome="done") == 1
    for kind in ("translate", "metrics-test.ok", "metrics-test.broken", "metrics-test.flaky"):
        assert delta("hub_job_queue_wait_seconds_count", kind=kind) == 1
    # the database's figures sit beside them
    assert value(after, "hub_deliveries", status="processed") == 1
    assert value(after, "hub_deliveries", status="ignored") == 1
    assert value(after, "hub_jobs", kind="metrics-test.broken", status="dead") == 1


def test_a_translation_that_fails_is_counted_as_failed(hub, client, worker):
    before = get_metrics(client)
    body = b'{"id": 1, "line_items": "not a list"}'
    assert client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body)).status_code
    worker.drain()
    after = get_metrics(client)
    labels = {"connector": "shopify", "outcome": "failed"}
    assert (
        value(after, "hub_translation_seconds_count", **labels)
        - value(before, "hub_translation_seconds_count", **labels)
        == 1
    )
    assert value(after, "hub_deliveries", status="failed") == 1


def test_queue_wait_is_from_due_to_claimed(hub, client, worker, test_jobs):
    before = get_metrics(client)
    with hub.db.transaction() as session:
        due = now() - timedelta(seconds=90)
        outbox.enqueue(session, "metrics-test.ok", {}, max_attempts=3, run_at=due)
    assert value(get_metrics(client), "hub_oldest_queued_job_age_seconds") >= 90
    worker.run_once()
    after = get_metrics(client)
    waited = value(after, "hub_job_queue_wait_seconds_sum", kind="metrics-test.ok") - value(
        before, "hub_job_queue_wait_seconds_sum", kind="metrics-test.ok"
    )
    assert 90 <= waited < 150
    under_a_minute = {"kind": "metrics-test.ok", "le": "60.0"}
    assert value(after, "hub_job_queue_wait_seconds_bucket", **under_a_minute) == value(
        before, "hub_job_queue_wait_seconds_bucket", **under_a_minute
    )
    assert value(after, "hub_oldest_queued_job_age_seconds") == 0


def test_stock_sync_lag_is_the_age_of_the_oldest_change_not_confirmed(hub, client):
    from connectors.channels.woocommerce import WooCommerceConnector
    from connectors.channels.woocommerce.client import WooCommerceClient
    from hub.stock import changes, ledger, sync
    from hub.storage.models import ChannelItemRow, StockLedgerRow
    from tests.stock.test_stock_sync import STORE, FakeStore

    account = hub.accounts["woo-a"]
    woo = WooCommerceClient(account, sleep=lambda seconds: None, limiter=None)
    hub._connectors["woo-a"] = WooCommerceConnector(account, client=woo)

    def lags() -> dict[str, float]:
        return {
            dict(labels)["account"]: v
            for (name, labels), v in get_metrics(client).items()
            if name == "hub_stock_sync_lag_seconds"
        }

    def count(sku: str, n: int) -> None:
        with hub.db.transaction() as s:
            ledger.set_on_hand(s, "acme", sku, "A1", n, reason="count", actor="test")

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeStore(rsps, STORE, 2, level=0)
        count("SKU-0000", 4)
        assert sync.sync_account(hub, account, "delta").failed is None
    assert set(lags()) == {a.name for a in changes.push_accounts(hub)}
    assert lags()["woo-a"] == 0  # nothing waits
    # SKU-0001 counted 2 hours ago, last confirmed before that: 2 hours behind
    count("SKU-0001", 3)
    with hub.db.transaction() as s:
        s.execute(
            update(StockLedgerRow)
            .where(StockLedgerRow.sku == "SKU-0001")
            .values(at=now() - timedelta(hours=2))
        )
        s.execute(
            update(ChannelItemRow)
            .where(ChannelItemRow.sku == "SKU-0001")
            .values(confirmed_at=now() - timedelta(hours=3))
        )
    assert 7200 <= lags()["woo-a"] < 7300


@responses.activate
def test_outbound_calls_rate_limit_waits_and_breaker_opens(client):
    base = "https://shop-a.myshopify.com/admin/api"
    # a clock that moves only when the limiter waits: the second call always finds the
    # bucket of 1 empty, however slowly the machine runs the test
    t = [0.0]
    limiter = ratelimit.RateLimiter(
        rate=1000, burst=1, clock=lambda: t[0], sleep=lambda s: t.__setitem__(0, t[0] + s)
    )
    ratelimit._LIMITERS["shopify:shop-a"] = limiter
    http = HttpClient(base, limiter=limiter, max_attempts=1, sleep=lambda _s: None)
    assert http.account == "shop-a"
    before = get_metrics(client)
    responses.get(f"{base}/orders.json", json={"orders": []})
    responses.post(base, json={"data": {"shop": {"name": "A"}}})
    responses.get(f"{base}/missing.json", status=404)
    responses.get(f"{base}/down.json", status=503)
    responses.get(f"{base}/gone.json", body=requests.ConnectionError("refused"))
    http.get("orders.json")
    http.get("orders.json")  # the bucket of 1 is empty: this one waits a millisecond
    assert http.graphql("{ shop { name } }") == {"shop": {"name": "A"}}
    with pytest.raises(PermanentError):
        http.get("missing.json")
    for _ in range(limiter.breaker.threshold):
        with pytest.raises(RetryableError):
            http.get("down.json")
    with pytest.raises(RetryableError, match="circuit open"):
        http.get("gone.json")  # not even sent
    limiter.breaker.success()
    with pytest.raises(RetryableError):
        http.get("gone.json")
    after = get_metrics(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    count = "hub_outbound_request_seconds_count"
    shop = {"account": "shop-a"}
    assert delta(count, **shop, operation="GET", status_class="2xx") == 2
    assert delta(count, **shop, operation="graphql", status_class="2xx") == 1
    assert delta(count, **shop, operation="GET", status_class="4xx") == 1
    assert delta(count, **shop, operation="GET", status_class="5xx") == limiter.breaker.threshold
    assert delta(count, **shop, operation="GET", status_class="error") == 1
    assert delta("hub_rate_limit_waits_total", **shop) >= 1
    assert delta("hub_circuit_breaker_opens_total", **shop) == 1


def test_a_client_without_a_shared_limiter_is_named_unknown():
    assert HttpClient("https://x.example", limiter=None).account == "unknown"
    assert HttpClient("https://x.example", limiter=ratelimit.RateLimiter(1, 1)).account == (
        "unknown"
    )


def test_the_instance_directory(tmp_path: Path):
    sqlite = f"sqlite:///{tmp_path / 'hub.db'}"
    assert observe.instance_directory("web-8000", sqlite, {}) == (
        tmp_path / "hub-metrics" / "web-8000",
        True,
    )
    path, owned = observe.instance_directory("web-8000", "postgresql://db/hub", {})
    assert owned and path.name == "web-8000" and path.parent.name.startswith("hub-metrics-")
    env = {"HUB_METRICS_DIR": str(tmp_path / "m")}
    expected = (tmp_path / "m" / "worker-7", True)
    assert observe.instance_directory("worker-7", sqlite, env) == expected
    env = {"PROMETHEUS_MULTIPROC_DIR": "/var/run/hub", **env}
    assert observe.instance_directory("worker-7", sqlite, env) == (Path("/var/run/hub"), False)


@pytest.mark.slow
def test_gunicorn_workers_are_summed_at_metrics(hub, tmp_path: Path):
    """A real ``hub web`` with two workers: webhooks land on both, and every scrape, whichever
    worker answers it, counts all of them."""
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    stale = metrics_dir / f"web-{port}"
    stale.mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"left by an earlier run")
    env = hub_env(hub.settings, HUB_LOG_LEVEL="WARNING", HUB_METRICS_DIR=str(metrics_dir))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [HUB, "web", "--port", str(port), "--workers", "2", "--threads", "4"]
    base = f"http://127.0.0.1:{port}"
    with serving(command, env, tmp_path / "web.log", port, cwd=ROOT):
        assert not (stale / "counter_1.db").exists()  # emptied at start

        def send(_: Any) -> int:
            body = json.dumps(shopify_order()).encode()
            headers = {**shopify_headers(body, webhook_id=str(uuid.uuid4())), "Connection": "close"}
            return requests.post(f"{base}/webhooks/shop-a", data=body, headers=headers).status_code

        sent = 0
        with ThreadPoolExecutor(8) as pool:
            for _round in range(10):
                assert set(pool.map(send, range(16))) == {202}
                sent += 16
                if len(list(stale.glob("counter_*.db"))) >= 2:
                    break
        files = sorted(p.name for p in stale.glob("counter_*.db"))
        assert len(files) >= 2, f"every delivery landed on one worker: {files}"
        labels = {"connector": "shopify", "outcome": "stored"}
        for _ in range(6):  # each scrape may be answered by either worker
            answer = requests.get(f"{base}/metrics", headers={"Connection": "close"})
            samples = scrape(answer.text)
            assert value(samples, "hub_deliveries_total", **labels) == sent
            assert value(samples, "hub_webhook_intake_seconds_count", **labels) == sent
            assert value(samples, "hub_deliveries", status="received") == sent
    assert not stale.exists()  # removed when the instance stopped


# -- the dashboard and the alerts name only what the hub exposes -----------------------------

DEPLOY = ROOT / "deploy"
#: PromQL words that are not metric names
PROMQL = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "inf", "nan", "le",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers left once strings, label
    matchers, ranges, grouping clauses, function calls and keywords are taken out."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\b[a-zA-Z_]\w*\s*\(", "(", expr)  # functions and aggregations
    expr = re.sub(r"\$\w+", " ", expr)  # Grafana's $__rate_interval, $__range
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
    return {w for w in words if w.lower() not in PROMQL}


def test_the_expression_reader_finds_the_metric_names():
    expr = 'histogram_quantile(0.99, sum by (le, x) (rate(hub_a_bucket{o="e"}[5m]))) / hub_b > 1'
    assert metric_names(expr) == {"hub_a_bucket", "hub_b"}
    assert metric_names("count(max by (a) (hub_c) > 0) or vector(0)") == {"hub_c"}


def test_every_alert_names_only_metrics_the_hub_exposes():
    import yaml

    data = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    rules = [rule for group in data["groups"] for rule in group["rules"]]
    assert {g["name"] for g in data["groups"]} and rules
    names = {rule["alert"] for rule in rules}
    assert {
        "HubDeadJobs",
        "HubOldestQueuedJobTooOld",
        "HubStockSyncLagHigh",
        "HubWebhookIntakeFailing",
        "HubWebhookTranslationFailing",
    } <= names
    exposed = exposed_names()
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
        read = metric_names(rule["expr"])
        assert read, rule["alert"]
        assert read <= exposed, f"{rule['alert']}: {sorted(read - exposed)}"
        assert rule["labels"]["severity"] and rule["annotations"]["summary"]


def test_every_dashboard_panel_names_only_metrics_the_hub_exposes():
    dashboard = json.loads((DEPLOY / "grafana" / "fulfilment-hub.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and dashboard["uid"] and dashboard["title"]
    exposed = exposed_names()
    read: set[str] = set()
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names and names <= exposed, f"{panel['title']}: {sorted(names - exposed)}"
            read |= names
    # what the dashboard is for
    for wanted in (
        "hub_deliveries_total",
        "hub_webhook_intake_seconds_bucket",
        "hub_jobs_total",
        "hub_jobs",
        "hub_oldest_queued_job_age_seconds",
        "hub_outbound_request_seconds_bucket",
        "hub_stock_sync_lag_seconds",
        "hub_circuit_breaker_opens_total",
    ):
        assert wanted in read, wanted


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool is not installed")
def test_promtool_accepts_the_alerts():
    subprocess.run(
        ["promtool", "check", "rules", str(DEPLOY / "prometheus" / "alerts.yml")], check=True
    )


def own_directories(hub, folder: Path, metrics_dir: Path) -> Processes:
    """``hub`` processes in ``folder`` that each record under ``metrics_dir`` in a directory
    of their own (no ``PROMETHEUS_MULTIPROC_DIR`` shared)."""
    env = hub_env(hub.settings, HUB_LOG_LEVEL="WARNING", HUB_METRICS_DIR=str(metrics_dir))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return Processes(env, folder, cwd=ROOT)


def served(port: int) -> dict:
    """The samples a process serves at ``--metrics-port port``; none while it is not up, or
    when a scrape fails (prometheus-client reads a value file the process is still creating
    as an error; the next scrape reads it)."""
    try:
        answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
    except requests.RequestException:
        return {}
    return scrape(answer.text) if answer.status_code == 200 else {}


@pytest.mark.slow
def test_a_worker_process_serves_its_own_metrics(hub, client, tmp_path: Path):
    """``hub worker --metrics-port``: the jobs it ran, from its own directory, removed when
    it stops; a directory left by a killed worker is removed by the next one to start."""
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    killed = metrics_dir / "worker-999999999"  # no such process
    killed.mkdir(parents=True)
    send_shopify(client, shopify_order())
    procs = own_directories(hub, tmp_path, metrics_dir)
    try:
        worker = procs.start("worker", "--metrics-port", str(port))

        def translated() -> dict | None:
            samples = served(port)
            done = value(samples, "hub_jobs_total", kind="translate", outcome="done")
            return samples if done == 1 else None

        samples = wait_for("the translate job counted", translated, 90, worker)
        shopify = {"connector": "shopify", "outcome": "processed"}
        assert value(samples, "hub_translation_seconds_count", **shopify) == 1
        assert (metrics_dir / f"worker-{worker.pid}").is_dir()
        assert not killed.exists()
    finally:
        procs.stop()
    assert not (metrics_dir / f"worker-{worker.pid}").exists()


@pytest.mark.slow
def test_a_scheduler_process_serves_its_own_slot_counts(hub, tmp_path: Path):
    """``hub scheduler --metrics-port``: the slots it enqueued, from its own directory,
    removed when it stops; a directory left by a killed scheduler is removed when it starts,
    a web instance's (named by its port) is not."""
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    killed = metrics_dir / "scheduler-999999999"  # no such process
    web = metrics_dir / "web-999999999"
    killed.mkdir(parents=True)
    web.mkdir()
    procs = own_directories(hub, tmp_path, metrics_dir)
    try:
        sched = procs.start("scheduler", "--metrics-port", str(port))

        def enqueued() -> dict | None:
            samples = served(port)
            slot = {"kind": "stock.sync_all", "mode": "delta", "outcome": "enqueued"}
            return samples if value(samples, "hub_scheduler_slots_total", **slot) == 1 else None

        samples = wait_for("the delta stock pass enqueued", enqueued, 90, sched)
        taken = {"kind": "stock.sync_all", "mode": "delta", "outcome": "taken"}
        assert value(samples, "hub_scheduler_slots_total", **taken) == 0
        assert (metrics_dir / f"scheduler-{sched.pid}").is_dir()
        assert not killed.exists()
        assert web.is_dir()
    finally:
        procs.stop()
    assert sched.proc.returncode == 0
    assert not (metrics_dir / f"scheduler-{sched.pid}").exists()


def test_refused_webhooks_are_counted_by_reason(client):
    before = get_metrics(client)
    body = json.dumps(shopify_order()).encode()
    headers = dict(shopify_headers(body), **{"X-Shopify-Hmac-Sha256": "bm90IGl0"})
    assert client.post("/webhooks/shop-a", data=body, headers=headers).status_code == 401
    assert client.post("/webhooks/no-such-shop", data=body).status_code == 404
    after = get_metrics(client)
    name = "hub_webhooks_refused_total"
    assert (
        value(after, name, connector="shopify", reason="bad_signature")
        - value(before, name, connector="shopify", reason="bad_signature")
        == 1
    )
    assert (
        value(after, name, connector="unknown", reason="unknown_account")
        - value(before, name, connector="unknown", reason="unknown_account")
        == 1
    )


# -- parcels by direction, and the scheduler ---------------------------------------------------


def _flag(hub, number: str, status: str) -> None:
    """The carrier said ``status`` (a flagged one) of the parcel ``number``."""
    with hub.db.transaction() as s:
        parcel = s.execute(
            select(ParcelRow).where(ParcelRow.tracking_number == number)
        ).scalar_one()
        s.add(ParcelEventRow(parcel_id=parcel.id, at=now(), status=status, code="X", source="poll"))


def test_parcels_and_flagged_events_tell_returns_from_outbound(hub, client, worker, viewer, editor):
    order = shipped_order(hub, client, worker, viewer, editor)
    line = {"sku": "IPOD2008RED", "quantity": 1, "reason": "defective"}
    opened = client.post(
        "/api/returns", json={"order_id": order["id"], "lines": [line]}, headers=editor
    )
    assert opened.status_code == 201, opened.get_json()
    label = {"carrier": "royalmail", "tracking_number": "RT000000001GB"}
    answer = client.post(
        f"/api/returns/{opened.get_json()['id']}/authorise", json=label, headers=editor
    )
    assert answer.status_code == 200, answer.get_json()
    with hub.db.transaction() as s:
        directions = dict(s.execute(select(ParcelRow.tracking_number, ParcelRow.direction)).all())
    assert directions == {"TT123456785GB": tracking.OUTBOUND, "RT000000001GB": tracking.RETURN}
    [shipped] = order["shipments"][0]["parcels"]
    before = get_metrics(client)
    assert value(before, "hub_fulfilments_pushed_total") == 0

    _flag(hub, "TT123456785GB", "exception")
    _flag(hub, "RT000000001GB", "exception")
    _flag(hub, "RT000000001GB", "delivery_attempted")
    with hub.db.transaction() as s:
        s.execute(
            update(ParcelRow)
            .where(ParcelRow.tracking_number == "TT123456785GB")
            .values(channel_ref="gid://shopify/Fulfillment/1", channel_pushed_at=now())
        )
    after = get_metrics(client)
    rm = {"carrier": "royalmail"}
    assert value(after, "hub_parcels", **rm, direction="outbound", status=shipped["status"]) == 1
    assert value(after, "hub_parcels", **rm, direction="return", status="label_created") == 1
    parcels = [labels for (name, labels), _ in after.items() if name == "hub_parcels"]
    assert {dict(labels)["direction"] for labels in parcels} == {"outbound", "return"}
    flagged = "hub_tracking_flagged_events_total"
    assert value(after, flagged, **rm, direction="outbound", status="exception") == 1
    assert value(after, flagged, **rm, direction="return", status="exception") == 1
    assert value(after, flagged, **rm, direction="return", status="delivery_attempted") == 1
    assert value(after, flagged, **rm, direction="outbound", status="delivery_attempted") == 0
    assert value(after, "hub_fulfilments_pushed_total") == 1


def _timer(hub, kind: str, mode: str | None = None) -> scheduler.Periodic:
    return next(
        p for p in scheduler.periodic(hub) if p.kind == kind and p.payload.get("mode") == mode
    )


def test_the_newest_finished_and_dead_periodic_jobs_are_read_from_the_jobs(hub, client, worker):
    finished = "hub_periodic_last_finished_timestamp_seconds"
    failed = "hub_periodic_last_failed_timestamp_seconds"
    timers = {(p.kind, p.payload.get("mode") or "") for p in scheduler.periodic(hub)}
    assert ("stock.sync_all", "delta") in timers and ("stock.sync_all", "full") in timers
    samples = get_metrics(client)
    shown = {
        (dict(labels)["kind"], dict(labels)["mode"])
        for (name, labels), _ in samples.items()
        if name in (finished, failed)
    }
    assert shown == timers  # every timer, 0 before its first run
    assert all(v == 0 for (name, _), v in samples.items() if name in (finished, failed))

    began = now().timestamp()
    assert scheduler.enqueue_slot(hub, _timer(hub, "stock.sync_all", "delta")) is not None
    assert worker.run_once() == 1  # the pass (it queues one sync per account, not run here)
    ended = now().timestamp()
    samples = get_metrics(client)
    delta = value(samples, finished, kind="stock.sync_all", mode="delta")
    assert began <= delta <= ended
    assert value(samples, finished, kind="stock.sync_all", mode="full") == 0
    assert value(samples, failed, kind="stock.sync_all", mode="delta") == 0

    # a warehouse pass that died: when, beside its kind's last finished run (none)
    assert scheduler.enqueue_slot(hub, _timer(hub, "warehouse.poll_all")) is not None
    [job] = outbox.claim(hub.db, "test", lease=60, kinds=["warehouse.poll_all"])
    assert outbox.fail(hub.db, job, "gave up", hub.settings, permanent=True) == outbox.DEAD
    samples = get_metrics(client)
    died = value(samples, failed, kind="warehouse.poll_all", mode="")
    assert ended <= died <= now().timestamp()
    assert value(samples, finished, kind="warehouse.poll_all", mode="") == 0
    assert value(samples, finished, kind="stock.sync_all", mode="delta") == delta


def test_each_scheduler_slot_is_counted_once_enqueued_and_then_taken(hub, client, monkeypatch):
    at = datetime(2026, 12, 7, 10, 0, 30, tzinfo=UTC)
    monkeypatch.setattr(scheduler, "now", lambda: at)  # both calls in one slot, however slow
    timer = _timer(hub, "stock.sync_all", "delta")
    name = "hub_scheduler_slots_total"
    labels = {"kind": "stock.sync_all", "mode": "delta"}
    before = get_metrics(client)
    first = scheduler.enqueue_slot(hub, timer)  # this scheduler
    second = scheduler.enqueue_slot(hub, timer)  # another one, the same slot
    assert first is not None and second is None
    after = get_metrics(client)

    def delta(outcome: str, **labels: str) -> float:
        return value(after, name, **labels, outcome=outcome) - value(
            before, name, **labels, outcome=outcome
        )

    assert delta("enqueued", **labels) == 1
    assert delta("taken", **labels) == 1
    assert delta("enqueued", kind="stock.sync_all", mode="full") == 0
    # a job that cannot be written is counted as an error, and raised (SQLite's driver
    # wraps the encoder's TypeError, psycopg's does not)
    broken = scheduler.Periodic("metrics-test.ok", timedelta(hours=1), {"unsaved": object()})
    with pytest.raises((StatementError, TypeError), match="not JSON serializable"):
        scheduler.enqueue_slot(hub, broken)
    counted = get_metrics(client)
    errors = {"kind": "metrics-test.ok", "mode": "", "outcome": "error"}
    assert value(counted, name, **errors) - value(after, name, **errors) == 1
