"""Fixtures: a real database (a SQLite file, and PostgreSQL when it answers), the real app.

Every test that takes ``hub`` runs twice, once per backend. PostgreSQL is found through
``HUB_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``); when it does
not answer, its tests are skipped with the reason, unless ``HUB_TEST_REQUIRE_POSTGRES=1``
(as in CI), which makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from hub.connectors import ratelimit
from hub.connectors.signing import hmac_sha256_base64
from hub.jobs.worker import Worker
from hub.runtime import Hub
from hub.storage import migrate
from hub.storage.db import Database, normalise_url
from hub.storage.models import Base
from hub.web import people, tokens
from hub.web.app import create_app

#: the tests hash passwords with scrypt at a small work factor (the same code and checks; a
#: stored hash names its parameters): the hub's own factor costs ~0.1 s and 32 MiB a hash
STRONG_SCRYPT, people.SCRYPT = people.SCRYPT, "scrypt:1024:8:1"

ROOT = Path(__file__).resolve().parent.parent
PAYLOADS = ROOT / "connectors" / "channels"
PG_URL = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SHOPIFY_SECRET = "shop-a-secret"
WOO_SECRET = "woo-a-secret"

ACCOUNTS = f"""
[accounts.shop-a]
connector = "shopify"
client = "acme"
shop = "shop-a.myshopify.com"
webhook_secrets = ["{SHOPIFY_SECRET}", "shop-a-old-secret"]
access_token = "shpat_test"

[accounts.woo-a]
connector = "woocommerce"
client = "acme"
url = "https://woo-a.example"
webhook_secret = "{WOO_SECRET}"
consumer_key = "ck_test"
consumer_secret = "cs_test"
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def payload_bytes(connector: str, name: str) -> bytes:
    return (PAYLOADS / connector / "tests" / "payloads" / name).read_bytes()


def shopify_order() -> dict[str, Any]:
    """The Shopify 2024-04 docs order, unwrapped as a webhook carries it."""
    return json.loads(payload_bytes("shopify", "order_get_rest_2024-04_response.json"))["order"]


def set_quantity(order: dict[str, Any], index: int, quantity: int) -> dict[str, Any]:
    """Give a Shopify order's line ``index`` a quantity still owed, its totals following as
    Shopify's would (each line's discount and tax shared by what is still owed)."""
    line = order["line_items"][index]
    line["quantity"] = max(int(line["quantity"]), quantity)
    line["current_quantity"] = quantity
    cent = Decimal("0.01")
    subtotal = discounts = tax = Decimal(0)
    for item in order["line_items"]:
        owed, ordered = item.get("current_quantity", item["quantity"]), item["quantity"]
        part = Decimal(owed) / Decimal(ordered) if ordered else Decimal(1)
        share = sum(Decimal(a["amount"]) for a in item.get("discount_allocations") or [])
        discount = (share * part).quantize(cent, ROUND_HALF_UP)
        subtotal += Decimal(item["price"]) * owed - discount
        discounts += discount
        tax += (sum(Decimal(t["price"]) for t in item["tax_lines"]) * part).quantize(
            cent, ROUND_HALF_UP
        )
    shipping = sum(Decimal(s["price"]) for s in order.get("shipping_lines") or [])
    order.update(
        current_subtotal_price=str(subtotal),
        current_total_discounts=str(discounts),
        current_total_tax=str(tax),
        current_total_price=str(subtotal + shipping + tax),
    )
    return order


def woo_order() -> dict[str, Any]:
    return json.loads(payload_bytes("woocommerce", "order_get_v3_response.json"))


def shopify_headers(
    body: bytes,
    topic: str = "orders/create",
    webhook_id: str | None = None,
    secret: str = SHOPIFY_SECRET,
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": "shop-a.myshopify.com",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Hmac-Sha256": hmac_sha256_base64(secret, body),
    }


def woo_headers(
    body: bytes, topic: str = "order.created", secret: str = WOO_SECRET
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": topic.split(".")[0],
        "X-WC-Webhook-Event": topic.split(".")[1],
        "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
        "X-WC-Webhook-Signature": hmac_sha256_base64(secret, body),
    }


def send_shopify(client, order: dict[str, Any], topic: str = "orders/create") -> None:
    """Post a Shopify order webhook to ``shop-a`` and check it was stored."""
    body = json.dumps(order).encode()
    answer = client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body, topic))
    assert answer.status_code == 202, answer.get_json()


def only_order(client, viewer: dict[str, str]) -> dict[str, Any]:
    """The one order the hub holds, as the API shows it."""
    [order] = client.get("/api/orders", headers=viewer).get_json()["items"]
    return order


def order_events(client, viewer: dict[str, str], order_id: int) -> list[dict[str, Any]]:
    return client.get(f"/api/orders/{order_id}/events", headers=viewer).get_json()["items"]


def receive(hub: Hub, sku: str, quantity: int, client: str = "acme") -> None:
    """Goods in: ``quantity`` more of ``sku`` at location A1."""
    from hub.stock import ledger

    with hub.db.transaction() as s:
        ledger.adjust(s, client, sku, "A1", quantity, reason="receipt", actor="test")


def shipped_order(hub: Hub, client, worker: Worker, viewer, editor) -> dict[str, Any]:
    """The Shopify docs order, released and shipped in one Royal Mail parcel (the accounts
    need a Royal Mail account of client acme, such as :data:`QUIET_ROYALMAIL`); the order as
    the API shows it then."""
    receive(hub, "IPOD2008RED", 1)
    send_shopify(client, shopify_order())
    worker.drain()
    order = only_order(client, viewer)
    parcel = {
        "carrier": "royalmail",
        "service": "TPN24",
        "tracking_number": "TT123456785GB",
        "lines": [{"sku": "IPOD2008RED", "quantity": 1}],
    }
    body = {"order_id": order["id"], "parcels": [parcel]}
    assert client.post("/api/shipments", json=body, headers=editor).status_code == 201
    return client.get(f"/api/orders/{order['id']}", headers=viewer).get_json()


def _pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped afterwards."""
    admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        if os.environ.get("HUB_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here but does not answer at {PG_URL}: {exc}")
        pytest.skip(
            f"PostgreSQL does not answer at {PG_URL}; its tests are skipped ({type(exc).__name__})"
        )
    name = f"hub_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(autouse=True)
def _fresh_limiters():
    """Each test starts with no rate limiter or circuit breaker left by another: they are
    per process and per account, and many tests use the same account names."""
    ratelimit._LIMITERS.clear()
    yield
    ratelimit._LIMITERS.clear()


#: the browser the browser tests drive: Debian's chromium (Playwright's own download is not
#: used), or HUB_TEST_CHROMIUM
CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright launches :data:`CHROMIUM`; without it the browser tests skip."""
    if not CHROMIUM:
        pytest.skip("no chromium to drive (apt-get install chromium): browser tests are skipped")
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database shared by the run (tables are emptied per test)."""
    for url in _pg_database():
        db = Database(url)
        migrate.upgrade(db)
        db.dispose()
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with the current schema: a new SQLite file, or the emptied PostgreSQL one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    url = request.getfixturevalue("postgres_url")
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


#: a Royal Mail account of client acme that the hub never calls: parcels need a carrier
#: account to be followed
QUIET_ROYALMAIL = """
[accounts.acme-royalmail]
connector = "royalmail"
client = "acme"
client_id = "rm-client"
client_secret = "rm-secret-0123456789"
api_calls = false
"""


#: a Royal Mail account of client acme that the hub calls (through ``responses``), fast enough
#: for many polls
CALLED_ROYALMAIL = """
[accounts.acme-royalmail]
connector = "royalmail"
client = "acme"
client_id = "rm-client"
client_secret = "rm-secret-0123456789"
rate_limit = 100
"""


def accounts_fixture(extra: str) -> Any:
    """An ``accounts_file`` fixture for a test module: :data:`ACCOUNTS` plus ``extra``."""

    @pytest.fixture
    def accounts_file(tmp_path: Path) -> Path:
        path = tmp_path / "hub.toml"
        path.write_text(ACCOUNTS + extra)
        return path

    return accounts_file


accounts_file = accounts_fixture("")


@pytest.fixture
def hub(database_url: str, accounts_file: Path) -> Iterator[Hub]:
    instance = Hub.from_env(
        {
            "database_url": database_url,
            "config": str(accounts_file),
            "job_backoff": 0.01,
            "job_backoff_max": 0.05,
        }
    )
    migrate.upgrade(instance.db)
    yield instance
    instance.close()


@pytest.fixture
def app(hub: Hub):
    return create_app(hub=hub)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def worker(hub: Hub) -> Worker:
    return Worker(hub, name="test-worker")


def make_token(hub: Hub, role: str, name: str | None = None) -> str:
    with hub.db.transaction() as session:
        return tokens.create(session, name or f"{role}-{uuid.uuid4().hex[:6]}", role)


@pytest.fixture
def viewer(hub: Hub) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(hub, 'viewer')}"}


@pytest.fixture
def editor(hub: Hub) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(hub, 'editor')}"}


#: the password every console person made by ``make_person`` has
PERSON_PASSWORD = "correct horse battery"


def make_person(
    hub: Hub, email: str, role: str, clients: list[str] | None = None, password: str = ""
) -> str:
    """A person who can sign in to ``/admin``; returns the email."""
    from hub.web import people

    with hub.db.transaction() as session:
        people.create(session, email, role, password or PERSON_PASSWORD, clients)
    return email


def csrf_token(page: str) -> str:
    """The CSRF token of the first form on a console page."""
    import re

    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: Any, email: str, password: str = PERSON_PASSWORD) -> Any:
    """Sign ``client`` (a Flask test client) in through the real form; returns the answer."""
    page = client.get("/admin/login")
    return client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(page.text)},
    )
