"""Faults from outside, through a real connector and the outbox: timeouts, connections reset,
429 without Retry-After, malformed and truncated answers, and a channel that answers slowly.
Each time nothing is lost: the change is pushed once the channel behaves."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import responses

from connectors.channels.woocommerce import WooCommerceConnector
from connectors.channels.woocommerce.client import WooCommerceClient
from hub.errors import RetryableError
from hub.stock import ledger, sync
from hub.storage.models import ChannelItemRow
from tests.stock.test_stock_sync import STORE, FakeStore

BATCH = f"{STORE}/products/batch"


@pytest.fixture
def waits(hub) -> list[float]:
    waited: list[float] = []
    account = hub.accounts["woo-a"]
    client = WooCommerceClient(account, sleep=waited.append, limiter=None)
    hub._connectors["woo-a"] = WooCommerceConnector(account, client=client)
    return waited


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _change(hub, on_hand: int) -> None:
    with hub.db.transaction() as s:
        ledger.set_on_hand(s, "acme", "SKU-0000", "A1", on_hand, reason="count", actor="t")


def _mapped(hub, rsps) -> FakeStore:
    store = FakeStore(rsps, STORE, 1)
    _change(hub, 1)
    sync.sync_account(hub, hub.accounts["woo-a"])
    return store


def _confirmed(hub) -> int | None:
    with hub.db.transaction() as s:
        return s.get(ChannelItemRow, ("woo-a", "SKU-0000")).confirmed


@pytest.mark.parametrize(
    "fault",
    [
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectionError(ConnectionResetError(104, "Connection reset by peer")),
        requests.exceptions.ChunkedEncodingError("connection broken: IncompleteRead"),
    ],
    ids=["timeout", "reset", "cut-short"],
)
def test_a_dropped_call_is_sent_again_and_the_change_lands(hub, rsps, waits, fault):
    store = _mapped(hub, rsps)
    _change(hub, 5)
    rsps.add(responses.POST, BATCH, body=fault)  # the first send fails, the next one is served
    rsps.add_callback(responses.POST, BATCH, callback=store._batch)
    sync.sync_account(hub, hub.accounts["woo-a"], "dirty")
    assert store.levels["SKU-0000"] == 5 and _confirmed(hub) == 5
    assert len(waits) == 1  # one backoff between the two sends


def test_429_without_retry_after_backs_off_and_succeeds(hub, rsps, waits):
    store = _mapped(hub, rsps)
    _change(hub, 7)
    rsps.add(responses.POST, BATCH, status=429, json={"code": "too_many_requests"})
    rsps.add_callback(responses.POST, BATCH, callback=store._batch)
    sync.sync_account(hub, hub.accounts["woo-a"], "dirty")
    assert store.levels["SKU-0000"] == 7 and 0 < waits[0] <= 1.0  # the client's own backoff


@pytest.mark.parametrize(
    "body", [b"<html>502 Bad Gateway</html>", b'{"update": [{"id": 100, "stock_qu'], ids=str
)
def test_a_malformed_or_truncated_answer_keeps_the_change_due(hub, rsps, waits, body, worker):
    store = _mapped(hub, rsps)
    _change(hub, 3)
    rsps.add(responses.POST, BATCH, body=body, status=200)
    with pytest.raises(RetryableError, match="not JSON"):
        sync.sync_account(hub, hub.accounts["woo-a"], "dirty")
    assert _confirmed(hub) == 1  # nothing confirmed that the channel did not confirm
    rsps.add_callback(responses.POST, BATCH, callback=store._batch)  # the channel recovers
    sync.sync_account(hub, hub.accounts["woo-a"], "dirty")  # the next pass sends it
    assert store.levels["SKU-0000"] == 3 and _confirmed(hub) == 3


class _Slow(BaseHTTPRequestHandler):
    delay = 1.0
    levels: dict[int, int] = {}

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        updates = json.loads(self.rfile.read(length))["update"]
        time.sleep(type(self).delay)
        for u in updates:
            type(self).levels[u["id"]] = u["stock_quantity"]
        answer = [
            {"id": u["id"], "manage_stock": True, "stock_quantity": u["stock_quantity"]}
            for u in updates
        ]
        body = json.dumps({"update": answer}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # the client gave up waiting: writing the late answer fails, as it should


def test_a_slow_channel_times_out_and_is_asked_again(hub, rsps, waits):
    _mapped(hub, rsps)
    _Slow.delay, _Slow.levels = 1.0, {}
    server = _Server(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rsps.add_passthru(f"http://127.0.0.1:{server.server_port}")
        client = hub._connectors["woo-a"].client
        client.http.base_url = f"http://127.0.0.1:{server.server_port}/wp-json/wc/v3"
        client.http.timeout = (1.0, 0.3)  # the channel takes 1 s: longer than we wait
        client.http.max_attempts = 2
        _change(hub, 9)
        with pytest.raises(RetryableError, match="no answer in time"):
            sync.sync_account(hub, hub.accounts["woo-a"], "dirty")
        _Slow.delay = 0.0  # the channel recovers
        sync.sync_account(hub, hub.accounts["woo-a"], "dirty")
        assert _Slow.levels[100] == 9 and _confirmed(hub) == 9
    finally:
        server.shutdown()
        server.server_close()
