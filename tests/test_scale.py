"""Scale-out on PostgreSQL, and what survives a SIGKILL (issue 6: nothing lost, nothing doubled).

Real processes of the real CLI share one PostgreSQL database: ``hub web`` (gunicorn),
``hub worker`` and ``hub scheduler``, started as ``tests/test_live.py`` starts them. The outside
world is a fake WMS on a local port, run by the test, that records every request it gets and
behaves like an idempotent API: the first POST with an ``Idempotency-Key`` makes an order, the
same key again gets the first answer. The ``rest_wms`` connector sends
``Idempotency-Key: hub-order-<id>`` with each order it releases there.

Each test prints its figures (run with ``-s`` to see them).
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import create_engine, func, select, text

from hub.runtime import Hub
from hub.stock import ledger
from hub.storage.db import normalise_url
from hub.storage.models import AllocationRow, Base, DeliveryRow, JobRow, OrderEventRow, OrderRow
from hub.web.app import create_app
from tests.conftest import (
    ACCOUNTS,
    SHOPIFY_SECRET,
    free_port,
    shopify_headers,
    shopify_order,
    woo_headers,
    woo_order,
)
from tests.processes import Proc, Processes, wait_for
from tests.wms import answer_json, rest_wms_account

SHOP_B_SECRET = "shop-b-secret"
WMS_KEY = "acme-wms-key-scale"
#: the one line of the sample Shopify order still owed (the others are fulfilled)
SHOPIFY_SKU = "IPOD2008RED"
#: the sample WooCommerce order's lines (2 and 1 of them)
WOO_SKUS = ("Bar1", "Bar3")

# -- the fake WMS ----------------------------------------------------------------------------


class FakeWms:
    """An idempotent WMS API on 127.0.0.1: records every request it receives.

    ``posts`` holds every raw ``POST /orders`` as ``(Idempotency-Key, external_reference)``;
    ``orders`` the orders it made, by key (the effect). ``slow(n, seconds)`` holds the answer
    to the next ``n`` keys it has not seen for ``seconds`` (the order is made on arrival, as a
    real API commits before it answers); ``held`` lists the keys held so far.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts: list[tuple[str | None, str | None]] = []
        self.orders: dict[str, dict[str, Any]] = {}
        self.held: list[str] = []
        self.in_flight = 0
        self._slow: list[float] = []
        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _WmsHandler)
        self.server.daemon_threads = True
        self.server.fake = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api"

    def slow(self, n: int, seconds: float) -> None:
        with self.lock:
            self._slow += [seconds] * n

    def create(self, key: str | None, reference: str | None) -> tuple[dict[str, Any], float]:
        """Record a POST; the answer (the first one for a key seen before) and its delay."""
        with self.lock:
            self.posts.append((key, reference))
            if key is not None and key in self.orders:
                return self.orders[key], 0.0
            answer = {"id": f"WMS-{len(self.orders) + 1}", "external_reference": reference}
            self.orders[key or f"no-key-{len(self.posts)}"] = answer
            delay = self._slow.pop(0) if self._slow else 0.0
            if delay and key:
                self.held.append(key)
            return answer, delay

    def find(self, reference: str) -> list[dict[str, Any]]:
        with self.lock:
            return [o for o in self.orders.values() if o["external_reference"] == reference]

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


class _WmsHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real API

    def log_message(self, *args: Any) -> None:
        pass

    @property
    def fake(self) -> FakeWms:
        return self.server.fake  # type: ignore[attr-defined]

    def _answer(self, status: int, data: Any) -> None:
        answer_json(self, status, data)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if urlsplit(self.path).path != "/api/orders":
            self._answer(404, {"error": "not found"})
            return
        reference = json.loads(body).get("external_reference")
        answer, delay = self.fake.create(self.headers.get("Idempotency-Key"), reference)
        if delay:
            with self.fake.lock:
                self.fake.in_flight += 1
            self.fake.stopping.wait(delay)
            with self.fake.lock:
                self.fake.in_flight -= 1
        self._answer(201, answer)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/api/orders":
            [reference] = parse_qs(url.query).get("external_reference", [""])
            self._answer(200, {"items": self.fake.find(reference)})
        elif url.path in ("/api/stock", "/api/shipments"):
            self._answer(200, {"items": []})
        else:
            self._answer(404, {"error": "not found"})


@pytest.fixture
def wms() -> Iterator[FakeWms]:
    fake = FakeWms()
    yield fake
    fake.close()


# -- the database, the accounts, the processes -----------------------------------------------


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    """The run's PostgreSQL database, emptied (as conftest's ``database_url`` does)."""
    engine = create_engine(normalise_url(postgres_url))
    with engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return postgres_url


@pytest.fixture
def accounts_file(tmp_path: Path, wms: FakeWms) -> Path:
    """Client ``acme`` (Shopify and WooCommerce) ships from the fake WMS; client ``beta``
    (Shopify) from the built-in ledger."""
    path = tmp_path / "hub.toml"
    path.write_text(
        ACCOUNTS
        + f"""
[accounts.shop-b]
connector = "shopify"
client = "beta"
shop = "shop-b.myshopify.com"
webhook_secret = "{SHOP_B_SECRET}"
access_token = "shpat_test_b"
"""
        + rest_wms_account(wms.api_base, WMS_KEY, "rate_limit = 1000", 'default_location = "A1"')
    )
    return path


@pytest.fixture
def env(pg_url: str, accounts_file: Path) -> dict[str, str]:
    return dict(
        os.environ,
        HUB_DATABASE_URL=pg_url,
        HUB_CONFIG=str(accounts_file),
        HUB_LOG_LEVEL="WARNING",
        HUB_WORKER_POLL="0.1",
        # no timed passes unless a test asks for them
        HUB_STOCK_SYNC_INTERVAL="0",
        HUB_STOCK_RECONCILE_INTERVAL="0",
        HUB_WAREHOUSE_POLL_INTERVAL="0",
        HUB_TRACKING_POLL_INTERVAL="0",
        HUB_RECONCILE_INTERVAL="0",
    )


@pytest.fixture
def hub(pg_url: str, accounts_file: Path) -> Iterator[Hub]:
    """The test's own view of the shared database (the schema is current already)."""
    instance = Hub.from_env({"database_url": pg_url, "config": str(accounts_file)})
    yield instance
    instance.close()


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (a gunicorn arbiter's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # the command name may hold spaces: the fields after its closing parenthesis
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


@pytest.fixture
def start(env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Proc]]:
    procs = Processes(env, tmp_path)
    yield procs.start
    procs.stop()


# -- deliveries --------------------------------------------------------------------------------


class Webhook:
    """One delivery as its sender keeps it: the same bytes and headers on every retry."""

    def __init__(self, account: str, body: bytes, headers: dict[str, str], key: str):
        self.account, self.body, self.headers, self.key = account, body, headers, key

    def post(self, base: str, *, chunks: int = 0, timeout: float = 10) -> requests.Response:
        data: Any = self.body
        if chunks:  # no Content-Length: sent piece by piece, so a kill lands mid-body
            size = len(self.body) // chunks + 1
            data = _trickle([self.body[i : i + size] for i in range(0, len(self.body), size)])
        return requests.post(
            f"{base}/webhooks/{self.account}", data=data, headers=self.headers, timeout=timeout
        )


def _trickle(parts: list[bytes]) -> Iterator[bytes]:
    for part in parts:
        yield part
        time.sleep(0.01)


def shopify_webhook(account: str, external_id: int, padding: int = 0) -> Webhook:
    order = {**shopify_order(), "id": external_id, "name": f"#{external_id}"}
    if padding:
        order["note"] = f"{external_id:x}" * (padding // len(f"{external_id:x}"))
    body = json.dumps(order).encode()
    secret, shop = (
        (SHOPIFY_SECRET, "shop-a.myshopify.com")
        if account == "shop-a"
        else (SHOP_B_SECRET, "shop-b.myshopify.com")
    )
    webhook_id = f"wh-{account}-{external_id}"
    headers = shopify_headers(body, webhook_id=webhook_id, secret=secret)
    headers["X-Shopify-Shop-Domain"] = shop
    return Webhook(account, body, headers, f"webhook:{webhook_id}")


def woo_webhook(external_id: int) -> Webhook:
    order = {**woo_order(), "id": external_id, "number": str(external_id)}
    # the sample's first line has no SKU, which rightly puts an order in front of a person
    order["line_items"] = [{**order["line_items"][0], "sku": WOO_SKUS[0]}, *order["line_items"][1:]]
    body = json.dumps(order).encode()
    key = f"order:{external_id}:{order['date_modified_gmt']}"
    return Webhook("woo-a", body, woo_headers(body), key)


def receive(hub: Hub, client: str, sku: str, quantity: int) -> None:
    with hub.db.transaction() as s:
        ledger.adjust(s, client, sku, "A1", quantity, reason="receipt", actor="test")


def job_counts(hub: Hub) -> Counter[str]:
    with hub.db.transaction() as s:
        return Counter(
            dict(s.execute(select(JobRow.status, func.count()).group_by(JobRow.status)).all())
        )


def wait_until_done(hub: Hub, expected: int, timeout: float, procs: list[Proc]) -> float:
    """Wait for ``expected`` jobs, every one done; returns when that was seen (monotonic)."""
    deadline = time.monotonic() + timeout
    counts: Counter[str] = Counter()
    while time.monotonic() < deadline:
        counts = job_counts(hub)
        if counts["done"] == sum(counts.values()) == expected:
            return time.monotonic()
        for proc in procs:
            proc.check()
        time.sleep(0.2)
    logs = "\n".join(p.output()[-1500:] for p in procs)
    pytest.fail(f"jobs not all done after {timeout}s: {dict(counts)} (want {expected})\n{logs}")


def events_per_order(hub: Hub, kind: str) -> Counter[int]:
    with hub.db.transaction() as s:
        return Counter(
            s.execute(select(OrderEventRow.order_id).where(OrderEventRow.kind == kind)).scalars()
        )


def check_orders_once(hub: Hub, webhooks: list[Webhook]) -> list[OrderRow]:
    """Every delivery stored once and translated into exactly one order, released once."""
    with hub.db.transaction() as s:
        deliveries = s.execute(
            select(
                DeliveryRow.account,
                DeliveryRow.dedupe_key,
                DeliveryRow.status,
                DeliveryRow.order_id,
            )
        ).all()
        orders = list(s.execute(select(OrderRow)).scalars())
        allocated: Counter[int] = Counter()
        for order_id, quantity in s.execute(select(AllocationRow.order_id, AllocationRow.quantity)):
            allocated[order_id] += quantity
    sent = Counter((w.account, w.key) for w in webhooks)
    stored = Counter((d.account, d.dedupe_key) for d in deliveries)
    assert stored.keys() == sent.keys() and set(stored.values()) == {1}
    assert {d.status for d in deliveries} == {"processed"}
    assert len({d.order_id for d in deliveries}) == len(deliveries) == len(orders)
    assert Counter((o.account, o.external_id) for o in orders).most_common(1)[0][1] == 1
    assert {o.status for o in orders} == {"released"}
    # the effects inside the hub, once each: stock allocated once, one release
    assert allocated == Counter(
        {o.id: sum(ln["quantity"] for ln in o.data["lines"] if ln["sku"]) for o in orders}
    )
    assert events_per_order(hub, "released") == Counter({o.id: 1 for o in orders})
    return orders


def check_wms_once(wms: FakeWms, orders: list[OrderRow]) -> None:
    """The WMS made one order per hub order, under the one key the hub always sends for it,
    and the hub kept the reference of that order."""
    acme = {o.id: o for o in orders if o.client == "acme"}
    keys_by_reference: dict[str | None, set[str | None]] = {}
    for key, reference in wms.posts:
        keys_by_reference.setdefault(reference, set()).add(key)
    assert keys_by_reference.keys() == {str(i) for i in acme}
    assert all(keys == {f"hub-order-{ref}"} for ref, keys in keys_by_reference.items())
    assert wms.orders.keys() == {f"hub-order-{i}" for i in acme}
    for order_id, order in acme.items():
        made = wms.orders[f"hub-order-{order_id}"]
        assert order.data["warehouse"] == {"account": "acme-wms", "reference": made["id"]}


def worker_pids(hub: Hub) -> Counter[str]:
    """Done jobs by the process that ran them (``locked_by`` is host:pid:thread:token)."""
    with hub.db.transaction() as s:
        tokens = s.execute(select(JobRow.locked_by).where(JobRow.status == "done")).scalars()
        return Counter(t.split(":")[1] for t in tokens if t)


# -- 1. scale-out --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.postgres
def test_workers_in_three_processes_run_5000_mixed_jobs_each_effect_once(
    start, hub: Hub, wms: FakeWms
):
    """1,700 webhooks through ``hub web`` make 5,000 jobs, run by three ``hub worker``
    processes: 1,700 translations, 1,700 releases (stock allocated), and 1,600 releases to
    the WMS (one POST each). Each delivery is one order, each order one WMS order."""
    acme_shopify, acme_woo, beta = 1_000, 600, 100
    webhooks = (
        [shopify_webhook("shop-a", 10_000_000 + i) for i in range(acme_shopify)]
        + [woo_webhook(20_000_000 + i) for i in range(acme_woo)]
        + [shopify_webhook("shop-b", 30_000_000 + i) for i in range(beta)]
    )
    random.Random(6).shuffle(webhooks)  # the kinds arrive mixed
    expected_jobs = 3 * (acme_shopify + acme_woo) + 2 * beta
    assert expected_jobs == 5000
    receive(hub, "acme", SHOPIFY_SKU, acme_shopify)
    receive(hub, "acme", WOO_SKUS[0], 2 * acme_woo)
    receive(hub, "acme", WOO_SKUS[1], acme_woo)
    receive(hub, "beta", SHOPIFY_SKU, beta)

    port = free_port()
    web = start("web", "--workers", "2", "--port", str(port), wait_http=port)
    # one thread for the hub's own jobs and one for the WMS each: the CI box has two cores
    workers = [start("worker", "--threads", "1") for _ in range(3)]
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        codes = Counter(pool.map(lambda w: w.post(base).status_code, webhooks))
    sent = time.monotonic()
    assert codes == {202: len(webhooks)}, web.output()[-3000:]
    finished = wait_until_done(hub, expected_jobs, 120, [web, *workers])

    orders = check_orders_once(hub, webhooks)
    check_wms_once(wms, orders)
    raw_duplicates = len(wms.posts) - len({key for key, _ in wms.posts})
    assert raw_duplicates == 0  # no crash, no lease lost: not even a repeated POST
    with hub.db.transaction() as s:
        kinds = Counter(s.execute(select(JobRow.kind)).scalars())
        retried = s.execute(select(func.count()).where(JobRow.attempts > 1)).scalar_one()
    assert kinds == {
        "translate": len(webhooks),
        "order.release": len(webhooks),
        "warehouse.release": acme_shopify + acme_woo,
    }
    by_process = worker_pids(hub)
    assert by_process.keys() == {str(w.pid) for w in workers}  # all three took their share
    print(
        f"\nscale: {len(webhooks)} webhooks -> {expected_jobs} jobs {dict(kinds)} by 3 hub "
        f"worker processes {sorted(by_process.values())}; intake {sent - started:.1f}s, all "
        f"done {finished - started:.1f}s ({expected_jobs / (finished - started):.0f} jobs/s); "
        f"orders {len(orders)}, WMS POSTs {len(wms.posts)} for {len(wms.orders)} keys, "
        f"duplicates by key 0, raw duplicate POSTs {raw_duplicates}, jobs retried {retried}"
    )


@pytest.mark.slow
@pytest.mark.postgres
def test_three_schedulers_enqueue_one_job_per_time_slot(start, hub: Hub):
    """Three ``hub scheduler`` processes, a warehouse poll every second and a tracking poll
    every two: each slot gets one job however many schedulers try, and no slot is missed."""
    extra = {
        "HUB_LOG_LEVEL": "DEBUG",  # APScheduler's own lines (started, executed) show at DEBUG
        "HUB_WAREHOUSE_POLL_INTERVAL": "1",
        "HUB_TRACKING_POLL_INTERVAL": "2",
    }
    schedulers = [start("scheduler", extra=extra) for _ in range(3)]
    wait_for(
        "every scheduler started",
        lambda: all("Scheduler started" in p.output() for p in schedulers),
        40,
        *schedulers,
    )
    time.sleep(6)
    for p in schedulers:
        p.stop()

    with hub.db.transaction() as s:
        jobs = s.execute(select(JobRow.kind, JobRow.payload, JobRow.dedupe_key)).all()
    slots: dict[str, list[int]] = {}
    for kind, payload, key in jobs:
        timer = f"{kind}:{payload['mode']}" if payload.get("mode") else kind
        slots.setdefault(timer, []).append(payload["slot"])
        assert key.startswith(f"schedule:{timer}:")
    per_slot = {timer: Counter(found) for timer, found in slots.items()}
    assert all(set(c.values()) == {1} for c in per_slot.values()), per_slot
    assert {"outbox.prune", "warehouse.poll_all", "tracking.poll_due"} <= set(slots)
    for kind, step in (("warehouse.poll_all", 1), ("tracking.poll_due", 2)):
        found = sorted(slots[kind])
        assert found == list(range(found[0], found[-1] + step, step)), (kind, found)
    assert len(slots["warehouse.poll_all"]) >= 6
    assert len(slots["outbox.prune"]) <= 2  # the hour may turn during the test
    won = [p.output().count("hub.scheduler scheduled") for p in schedulers]
    assert sum(won) == len(jobs)
    # every scheduler fired every trigger; one try per slot made a job
    tried = [p.output().count("executed successfully") for p in schedulers]
    assert min(tried) >= len(slots["warehouse.poll_all"])
    assert not any("Traceback" in p.output() for p in schedulers)
    print(
        f"\nschedulers: 3 processes, {len(jobs)} jobs "
        f"{ {k: len(v) for k, v in slots.items()} }, one per slot; trigger runs per "
        f"scheduler {tried}, slots won {won}"
    )


# -- 2. crash safety -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.postgres
def test_a_worker_killed_mid_job_its_jobs_run_again_each_effect_once(start, hub: Hub, wms: FakeWms):
    """A worker is SIGKILLed while both its outside threads wait on the WMS; with a 2 s lease,
    the other workers take those jobs over and POST again under the same key, which the WMS
    answers as the first time. Then three answers are held past the lease while the workers
    live: their heartbeats renew the leases, so no live worker's job is taken over (each of
    those orders is POSTed once). Every job ends done; the WMS made one order per hub order."""
    n = 60
    receive(hub, "acme", SHOPIFY_SKU, n)
    webhooks = [shopify_webhook("shop-a", 40_000_000 + i) for i in range(n)]

    client = create_app(hub=hub, upgrade=False).test_client()
    for w in webhooks:
        assert client.post("/webhooks/shop-a", data=w.body, headers=w.headers).status_code == 202

    lease = {"HUB_JOB_LEASE": "2"}
    wms.slow(2, 60)  # the first two orders' answers never come back in time
    first = start("worker", "--threads", "2", extra=lease)
    wait_for("both of its POSTs held", lambda: wms.in_flight >= 2, 30, first)
    killed_keys = list(wms.held)
    first.kill()
    killed_at = time.monotonic()
    at_kill = job_counts(hub)
    assert at_kill["running"] >= 2 and at_kill["queued"] > 0
    wms.slow(3, 3.5)  # later: three answers held past the 2 s lease, with the workers alive
    others = [start("worker", "--threads", "2", extra=lease) for _ in range(2)]
    finished = wait_until_done(hub, 3 * n, 60, others)

    orders = check_orders_once(hub, webhooks)
    check_wms_once(wms, orders)
    posts = Counter(key for key, _ in wms.posts)
    with hub.db.transaction() as s:
        released = {
            f"hub-order-{payload['order_id']}": tries
            for payload, tries in s.execute(
                select(JobRow.payload, JobRow.attempts).where(JobRow.kind == "warehouse.release")
            ).all()
        }
    for key in killed_keys:  # sent by the killed worker, then again by the one that took over
        assert posts[key] >= 2 and released[key] >= 2, (key, posts[key], released[key])
    late = wms.held[len(killed_keys) :]
    assert len(late) == 3 and [posts[k] for k in late] == [1, 1, 1]  # held, not taken over
    lost = sum(p.output().count("lease lost") for p in others)
    assert lost == 0 and job_counts(hub) == {"done": 3 * n}
    print(
        f"\nworker crash: {3 * n} jobs, one worker SIGKILLed with {len(killed_keys)} POSTs "
        f"unanswered (jobs then {dict(at_kill)}), all done {finished - killed_at:.1f}s after "
        f"the kill; WMS POSTs {len(wms.posts)} for {len(wms.orders)} orders (duplicates by "
        f"key 0, raw repeats {len(wms.posts) - len(posts)}: killed "
        f"{[posts[k] for k in killed_keys]}, held past the lease {[posts[k] for k in late]}); "
        f"leases lost by live workers {lost}"
    )


@pytest.mark.slow
@pytest.mark.postgres
def test_the_web_tier_killed_mid_request_leaves_no_half_stored_delivery(start, hub: Hub):
    """Webhooks (50-80 KB, half of them sent in slow pieces) go to ``hub web`` from 24
    senders; the arbiter and both gunicorn workers are SIGKILLed mid-stream. A new ``hub web``
    is started and every delivery that got no 2xx is sent again, as a sender retries. The
    inbox then holds each delivery exactly once, byte for byte, each with its one translate
    job: nothing half stored, nothing lost, nothing doubled."""
    n = 480
    webhooks = [
        shopify_webhook("shop-a", 50_000_000 + i, padding=30_000 + (i * 997) % 30_000)
        for i in range(n)
    ]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = start("web", "--workers", "2", "--threads", "8", "--port", str(port), wait_http=port)
    lock = threading.Lock()
    answered: dict[int, int] = {}  # index -> status of the first send
    failures: Counter[str] = Counter()

    def send(i: int) -> None:
        try:
            status = webhooks[i].post(base, chunks=4 if i % 2 else 0).status_code
        except requests.RequestException as exc:
            with lock:  # cut mid-request, or refused once the tier was down
                failures["refused" if "refused" in str(exc) else "cut mid-request"] += 1
            return
        with lock:
            answered[i] = status

    pool = ThreadPoolExecutor(24)
    futures = [pool.submit(send, i) for i in range(n)]
    deadline = time.monotonic() + 30
    while sum(1 for s in list(answered.values()) if s == 202) < n // 4:
        assert time.monotonic() < deadline, web.output()[-3000:]
        time.sleep(0.005)
    gunicorn_workers = _children(web.pid)
    assert len(gunicorn_workers) == 2
    web.kill()  # the arbiter first, so no worker is started again, then its workers
    for pid in gunicorn_workers:
        os.kill(pid, signal.SIGKILL)
    for future in futures:
        future.result()
    pool.shutdown()
    first_ok = [i for i, s in answered.items() if 200 <= s < 300]
    assert failures["cut mid-request"] > 0, failures  # the kill landed mid-request

    start("web", "--workers", "2", "--threads", "8", "--port", str(port), wait_http=port)
    resent, duplicates = 0, 0
    for i in sorted(set(range(n)) - set(first_ok)):
        answer = webhooks[i].post(base)
        resent += 1
        assert answer.status_code == 202, answer.text
        duplicates += answer.json()["duplicate"]

    with hub.db.transaction() as s:
        stored = s.execute(select(DeliveryRow.id, DeliveryRow.dedupe_key, DeliveryRow.body)).all()
        jobs = s.execute(select(JobRow.kind, JobRow.payload)).all()
    by_key = Counter(row.dedupe_key for row in stored)
    assert set(by_key.values()) == {1} and by_key.keys() == {w.key for w in webhooks}
    bodies = {w.key: w.body for w in webhooks}
    partial = [row.id for row in stored if bytes(row.body) != bodies[row.dedupe_key]]
    assert partial == []
    translate = Counter(payload["delivery_id"] for kind, payload in jobs if kind == "translate")
    assert {kind for kind, _ in jobs} == {"translate"}
    assert translate == Counter({row.id: 1 for row in stored})
    print(
        f"\nweb crash: {n} webhooks ({sum(len(w.body) for w in webhooks) // n // 1024} KB on "
        f"average), {len(first_ok)} answered 2xx before the kill, cut off: "
        f"{dict(failures)} + {len(answered) - len(first_ok)} non-2xx; resent {resent}, of "
        f"which {duplicates} were stored already (answer lost in the kill); inbox "
        f"{len(stored)} deliveries, each once and byte-identical, partial rows 0, translate "
        f"jobs {sum(translate.values())}"
    )


# -- a bug found on the way ------------------------------------------------------------------
