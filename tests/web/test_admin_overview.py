"""The console's overview, per account: stock sync (the last pass and the lag), carrier
tracking polls, and paused accounts; a person limited to some clients sees only theirs. Real
state on both databases: passes against a WooCommerce store faked with ``responses``, a
Royal Mail poll through the worker, jobs held back the way the worker records it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import responses
from sqlalchemy import select, update

from connectors.carriers.royalmail import RoyalMailConnector
from connectors.carriers.royalmail.client import RoyalMailClient
from connectors.channels.woocommerce import WooCommerceConnector
from connectors.channels.woocommerce.client import WooCommerceClient
from hub.errors import RetryableError
from hub.jobs import account_health, outbox
from hub.shipping import tracking
from hub.stock import ledger, sync
from hub.storage.models import ChannelItemRow, JobRow, ParcelRow, StockLedgerRow
from hub.values import now
from tests.conftest import (
    CALLED_ROYALMAIL,
    accounts_fixture,
    make_person,
    shipped_order,
    sign_in,
)
from tests.stock.test_stock_sync import STORE, FakeStore

RM = "https://api.royalmail.net/mailpieces/v2"
RM_PAYLOADS = Path(__file__).parents[2] / "connectors/carriers/royalmail/tests/payloads"
DELIVERED = "TT123456785GB"  # the parcel shipped_order sends; delivered in this history

accounts_file = accounts_fixture(
    CALLED_ROYALMAIL
    + """
[accounts.globex-shop]
connector = "shopify"
client = "globex"
shop = "globex.myshopify.com"
webhook_secret = "globex-secret"
access_token = "shpat_globex"
"""
)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def woo(hub):
    """woo-a's connector on a fake clock (its waits are recorded, never slept)."""
    account = hub.accounts["woo-a"]
    client = WooCommerceClient(account, sleep=lambda seconds: None, limiter=None)
    hub._connectors["woo-a"] = WooCommerceConnector(account, client=client)


@pytest.fixture
def royalmail(hub):
    """acme-royalmail's connector without a rate limiter (a wait it is told of is not kept)."""
    account = hub.accounts["acme-royalmail"]
    client = RoyalMailClient(account, sleep=lambda seconds: None, limiter=None)
    hub._connectors["acme-royalmail"] = RoyalMailConnector(account, client=client)


def _page(client, email: str, role: str = "viewer", clients: list[str] | None = None) -> str:
    """The overview as ``email`` sees it (signed in on a client of its own)."""
    own = client.application.test_client()
    make_person(client.application.extensions["hub"], email, role, clients)
    assert sign_in(own, email).status_code == 302
    page = own.get("/admin/")
    assert page.status_code == 200
    return page.text


def _again(client, email: str) -> str:
    own = client.application.test_client()
    assert sign_in(own, email).status_code == 302
    return own.get("/admin/").text


def _row(page: str, section: str, account: str) -> str:
    """The text of ``account``'s row in the table under the heading with id ``section``."""
    part = page.split(f'<h2 id="{section}">', 1)[1].split("<h2", 1)[0]
    for row in re.findall(r"<tr>(.*?)</tr>", part, re.S):
        if re.search(rf">{re.escape(account)}(</a>)? <span", row):
            return " ".join(re.sub(r"<[^>]+>", " ", row).split())
    raise AssertionError(f"no row for {account} under {section}")


def _stock(hub, levels: dict[str, int]) -> None:
    with hub.db.transaction() as s:
        for sku, n in levels.items():
            ledger.set_on_hand(s, "acme", sku, "A1", n, reason="count", actor="test")


def test_stock_sync_shows_each_channels_last_pass_and_its_lag(hub, client, rsps, woo):
    store = FakeStore(rsps, STORE, 2, level=0)
    _stock(hub, {"SKU-0000": 4})
    done = sync.sync_account(hub, hub.accounts["woo-a"], "delta")
    assert store.pushed() == [("SKU-0000", 4)] and done.failed is None
    page = _page(client, "all@example.com")
    woo_row = _row(page, "stock-sync", "woo-a")
    assert "UTC" in woo_row and "delta" in woo_row
    assert "pushed 1 (1 confirmed)" in woo_row
    assert "0 changed" in woo_row and woo_row.endswith("none")  # nothing waits: no lag
    assert "no pass yet" in _row(page, "stock-sync", "shop-a")

    # a change the channel has not confirmed: SKU-0001 counted 2 hours ago (backdated, and
    # its last confirmation before that), so the lag is the age of that change
    _stock(hub, {"SKU-0001": 3})
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
        assert s.execute(
            select(ChannelItemRow.dirty).where(
                ChannelItemRow.account == "woo-a", ChannelItemRow.sku == "SKU-0001"
            )
        ).scalar_one()
    waiting = _row(_again(client, "all@example.com"), "stock-sync", "woo-a")
    assert "1 changed" in waiting and "2 h (oldest change not confirmed" in waiting

    # the next pass fails (the store keeps answering 429): it says so, and the lag stays
    store.throttle = 100
    with pytest.raises(RetryableError):
        sync.sync_account(hub, hub.accounts["woo-a"], "dirty")
    failed = _row(_again(client, "all@example.com"), "stock-sync", "woo-a")
    assert "failed RetryableError" in failed and "dirty" in failed
    assert "1 changed" in failed and "2 h (oldest change not confirmed" in failed


def test_carrier_polls_show_the_last_poll_what_awaits_one_and_failing(
    hub, client, worker, viewer, editor, rsps, royalmail
):
    shipped_order(hub, client, worker, viewer, editor)
    with hub.db.transaction() as s:  # as if its first look were due now
        s.execute(update(ParcelRow).values(next_check_at=now()))
    first = _row(_page(client, "all@example.com"), "tracking", "acme-royalmail")
    assert "never" in first and "no poll recorded" in first
    assert "1 of 1 followed" in first and first.endswith("ok")

    # Royal Mail refuses the keys: the worker flags the account and the poll waits
    rsps.get(
        f"{RM}/{DELIVERED}/events",
        status=401,
        body=(RM_PAYLOADS / "tracking_v2_error_401_built.json").read_bytes(),
        content_type="application/json",
    )
    with hub.db.transaction() as s:
        outbox.enqueue(s, tracking.POLL, {"account": "acme-royalmail"}, max_attempts=5)
    [job] = outbox.claim(hub.db, "test", lease=60, kinds=[tracking.POLL])
    assert worker.run_job(job) == outbox.QUEUED
    page = _again(client, "all@example.com")
    refused = _row(page, "tracking", "acme-royalmail")
    assert "time not recorded held back waiting: account acme-royalmail needs its" in refused
    assert "1 of 1 followed" in refused
    assert "failing (account credentials refused)" in refused
    paused = _row(page, "paused", "acme-royalmail")
    assert "refused credentials" in paused and "AuthError" in paused and "UTC" in paused
    assert 'href="/admin/accounts">acme-royalmail</a>' in page

    # new keys (resumed by hand here), but Royal Mail asks to wait an hour: the poll failed
    # at a recorded time and will run again
    rsps.replace(
        responses.GET,
        f"{RM}/{DELIVERED}/events",
        status=429,
        headers={"Retry-After": "3600"},
        body=(RM_PAYLOADS / "tracking_v2_error_429_built.json").read_bytes(),
        content_type="application/json",
    )
    with hub.db.transaction() as s:
        assert account_health.resume(s, "acme-royalmail") == 1
    [job] = outbox.claim(hub.db, "test", lease=60, kinds=[tracking.POLL])
    assert worker.run_job(job) == outbox.QUEUED
    page = _again(client, "all@example.com")
    retrying = _row(page, "tracking", "acme-royalmail")
    assert re.search(r"UTC \(\d+ s ago\) failed, will retry RetryableError", retrying), retrying
    assert "1 of 1 followed" in retrying and retrying.endswith("failing (account throttled)")
    assert "No account you can see is paused." in page

    # the next try is answered: the parcel is delivered and no longer followed
    rsps.replace(
        responses.GET,
        f"{RM}/{DELIVERED}/events",
        body=(RM_PAYLOADS / "tracking_v2_events_delivered_history_built.json").read_bytes(),
        content_type="application/json",
    )
    with hub.db.transaction() as s:
        s.execute(update(JobRow).where(JobRow.kind == tracking.POLL).values(run_at=now()))
    [job] = outbox.claim(hub.db, "test", lease=60, kinds=[tracking.POLL])
    assert worker.run_job(job) == outbox.DONE
    polled = _row(_again(client, "all@example.com"), "tracking", "acme-royalmail")
    assert re.search(r"UTC \(\d+ s ago\) ok 0 of 0 followed ok$", polled), polled


def test_an_account_paused_by_its_circuit_breaker_says_since_when_and_why(hub, client):
    error = (
        "RetryableError: shop-a: paused after 5 failures in a row (circuit open, next try in 600s)"
    )
    with hub.db.transaction() as s:
        outbox.enqueue(s, sync.SYNC, {"account": "shop-a", "mode": "delta"}, max_attempts=5)
    [job] = outbox.claim(hub.db, "test", lease=60, kinds=[sync.SYNC])
    assert outbox.fail(hub.db, job, error, hub.settings, retry_after=600) == outbox.QUEUED
    page = _page(client, "all@example.com")
    row = _row(page, "paused", "shop-a")
    assert "circuit breaker (1 job(s) held until" in row and "resumes by itself" in row
    assert re.search(r"resumes by itself\) \d{4}-\d\d-\d\d \d\d:\d\d UTC", row), row  # since
    assert "not recorded" not in row  # since the held job's first attempt on the open circuit
    assert "paused after 5 failures in a row (circuit open" in row


def test_a_person_limited_to_a_client_sees_only_that_clients_accounts(hub, client):
    with hub.db.transaction() as s:
        account_health.flag(s, hub.accounts["woo-a"], "AuthError: GET products: 401")
        account_health.flag(s, hub.accounts["globex-shop"], "AuthError: GET shop: 403")
    everyone = _page(client, "all@example.com")
    for name in ("shop-a", "woo-a", "globex-shop"):
        assert _row(everyone, "stock-sync", name)
    assert _row(everyone, "tracking", "acme-royalmail")
    assert "GET products: 401" in _row(everyone, "paused", "woo-a")
    assert "GET shop: 403" in _row(everyone, "paused", "globex-shop")

    limited = _page(client, "globex@example.com", clients=["globex"])
    assert "no pass yet" in _row(limited, "stock-sync", "globex-shop")
    assert "GET shop: 403" in _row(limited, "paused", "globex-shop")
    for name in ("shop-a", "woo-a", "acme-royalmail", "GET products: 401"):
        assert name not in limited
    assert "No carrier account you can see polls tracking." in limited
