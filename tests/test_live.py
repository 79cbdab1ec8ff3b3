"""The real thing over HTTP: gunicorn web processes, a separate worker, ``hub serve``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from hub.storage.db import Database
from hub.storage.models import DeliveryRow, JobRow
from tests.conftest import free_port, payload_bytes, shopify_headers, shopify_order, woo_headers
from tests.processes import HUB, Processes

pytestmark = pytest.mark.slow


@pytest.fixture
def env(database_url: str, accounts_file: Path) -> dict[str, str]:
    return dict(
        os.environ,
        HUB_DATABASE_URL=database_url,
        HUB_CONFIG=str(accounts_file),
        HUB_LOG_LEVEL="WARNING",
        HUB_WORKER_POLL="0.1",
        # no timed passes against the test accounts, whose stores do not exist
        HUB_STOCK_SYNC_INTERVAL="0",
        HUB_STOCK_RECONCILE_INTERVAL="0",
        HUB_RECONCILE_INTERVAL="0",
        HUB_MAX_BODY=str(64 * 1024),
    )


@pytest.fixture
def start(env: dict[str, str], tmp_path: Path) -> Iterator:
    procs = Processes(env, tmp_path)
    yield procs.start
    procs.stop()


def _token(env: dict[str, str], role: str = "viewer") -> dict[str, str]:
    out = subprocess.run(
        [HUB, "tokens", "create", f"t-{time.monotonic_ns()}", "--role", role],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return {"Authorization": "Bearer " + out.stdout.strip().splitlines()[-1]}


def _wait_for_orders(base: str, headers: dict[str, str], n: int, **params) -> list[dict]:
    deadline = time.monotonic() + 30
    items: list[dict] = []
    while time.monotonic() < deadline:
        items = requests.get(
            f"{base}/api/orders", params=params, headers=headers, timeout=5
        ).json()["items"]
        if len(items) >= n:
            return items
        time.sleep(0.1)
    return items


def test_two_web_processes_store_a_repeated_delivery_once(start, env, database_url):
    port = free_port()
    start("web", "--workers", "2", "--port", str(port), wait_http=port)
    body = json.dumps(shopify_order()).encode()
    headers = shopify_headers(body, webhook_id="same-delivery")
    url = f"http://127.0.0.1:{port}/webhooks/shop-a"
    # fresh connections, so both gunicorn workers take requests at the same time
    with ThreadPoolExecutor(16) as pool:
        codes = list(
            pool.map(
                lambda _: requests.post(url, data=body, headers=headers, timeout=10).status_code,
                range(48),
            )
        )
    assert set(codes) == {202}
    db = Database(database_url)
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(DeliveryRow)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(JobRow)).scalar_one() == 1
    db.dispose()


def test_web_and_a_separate_worker_carry_an_order_through(start, env):
    port = free_port()
    start("web", "--workers", "2", "--port", str(port), wait_http=port)
    start("worker")
    base = f"http://127.0.0.1:{port}"
    body = payload_bytes("woocommerce", "order_get_v3_response.json")
    r = requests.post(f"{base}/webhooks/woo-a", data=body, headers=woo_headers(body), timeout=10)
    assert r.status_code == 202
    [order] = _wait_for_orders(base, _token(env), 1, channel="woocommerce")
    assert order["external_id"] == "727" and order["totals"]["total"] == "29.35"


def test_hub_serve_runs_web_worker_and_scheduler_in_one_process(start, env, database_url):
    port = free_port()
    proc = start("serve", "--port", str(port), wait_http=port)
    base = f"http://127.0.0.1:{port}"
    body = json.dumps(shopify_order()).encode()
    r = requests.post(
        f"{base}/webhooks/shop-a", data=body, headers=shopify_headers(body), timeout=10
    )
    assert r.status_code == 202, proc.output()[-3000:]
    [order] = _wait_for_orders(base, _token(env), 1)
    assert order["external_id"] == str(shopify_order()["id"])
    db = Database(database_url)
    with db.transaction() as s:  # the scheduler enqueued its first slot
        kinds = set(s.execute(select(JobRow.kind)).scalars())
    db.dispose()
    assert "outbox.prune" in kinds
    assert f"hub: listening on http://127.0.0.1:{port}" in proc.output()


def test_hub_serve_on_a_port_in_use_fails_without_saying_it_listens(env, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [HUB, "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode != 0
    assert "listening" not in done.stderr, done.stderr
    assert "in use" in done.stderr or "Address already in use" in done.stderr, done.stderr


def test_oversized_bodies_get_413_over_real_http(start):
    port = free_port()
    start("web", "--workers", "1", "--port", str(port), wait_http=port)
    url = f"http://127.0.0.1:{port}/webhooks/shop-a"
    big = b"{" + b" " * (256 * 1024) + b"}"
    r = requests.post(url, data=big, headers=shopify_headers(big), timeout=10)
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

    def chunked():  # no Content-Length: the limit is enforced while reading
        for _ in range(8):
            yield b" " * (16 * 1024)

    headers = shopify_headers(b"")
    r = requests.post(url, data=chunked(), headers=headers, timeout=10)
    assert r.status_code == 413


def test_a_mapping_fix_retranslates_a_needs_attention_order_over_http(start, env, tmp_path):
    port = free_port()
    start("serve", "--port", str(port), wait_http=port)
    base = f"http://127.0.0.1:{port}"
    skus = tmp_path / "skus.csv"
    skus.write_text("sku\nIPOD-GREEN\nIPOD-RED\nIPOD-BLACK\n")
    subprocess.run(
        [HUB, "catalogue", "import", str(skus), "--client", "acme"],
        env=env,
        check=True,
        capture_output=True,
    )
    viewer, editor = _token(env), _token(env, "editor")
    body = json.dumps(shopify_order()).encode()
    assert (
        requests.post(
            f"{base}/webhooks/shop-a", data=body, headers=shopify_headers(body), timeout=10
        ).status_code
        == 202
    )
    [order] = _wait_for_orders(base, viewer, 1, status="needs_attention")
    spec = {
        "version": 1,
        "lookups": {
            "sku": [{"from": f"IPOD2008{c}", "to": f"IPOD-{c}"} for c in ("GREEN", "RED", "BLACK")]
        },
    }
    r = requests.put(
        f"{base}/api/mappings/shop-a?comment=map+iPods", json=spec, headers=editor, timeout=10
    )
    assert r.status_code == 201, r.text
    r = requests.post(
        f"{base}/api/mappings/shop-a/retranslate", json={}, headers=editor, timeout=10
    )
    assert r.status_code == 202 and len(r.json()["queued"]) == 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        fixed = requests.get(f"{base}/api/orders/{order['id']}", headers=viewer, timeout=5).json()
        if fixed["status"] != "needs_attention":
            break
        time.sleep(0.1)
    assert fixed["status"] == "ready"
    assert [ln["sku"] for ln in fixed["lines"]] == ["IPOD-GREEN", "IPOD-RED", "IPOD-BLACK"]
    events = requests.get(
        f"{base}/api/orders/{order['id']}/events", headers=viewer, timeout=5
    ).json()["items"]
    updated = [e for e in events if e["kind"] == "updated"][-1]
    assert updated["data"]["mapping_version"] == 1


def test_hub_demo_runs_offline_end_to_end():
    out = subprocess.run([HUB, "demo"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "'duplicate': True" in out.stdout  # the retried Shopify delivery
    assert '"external_id": "450789469"' in out.stdout and '"external_id": "727"' in out.stdout
    assert "failed delivery" in out.stdout and "not valid JSON" in out.stdout
