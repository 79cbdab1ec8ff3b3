"""The console's door: people, sign-in, sessions, roles, CSRF, and the overview."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select

from hub import cli
from hub.storage.models import AuditRow, UserRow
from tests.conftest import (
    PERSON_PASSWORD,
    csrf_token,
    make_person,
    shopify_headers,
    shopify_order,
    sign_in,
)


def _cli(hub, monkeypatch, *args, stdin=None):
    monkeypatch.setenv("HUB_DATABASE_URL", hub.settings.database_url)
    monkeypatch.setenv("HUB_CONFIG", hub.settings.config)
    return CliRunner().invoke(cli.cli, list(args), input=stdin)


def test_users_are_made_listed_and_disabled_from_the_command_line(hub, monkeypatch):
    made = _cli(
        hub, monkeypatch, "users", "create", "Ann@Example.com", "--role", "viewer",
        "--client", "acme", "--password-stdin", stdin="a long enough pw\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "ann@example.com (viewer, clients acme)" in made.output
    with hub.db.transaction() as session:
        row = session.execute(select(UserRow)).scalar_one()
        assert row.email == "ann@example.com" and row.clients == ["acme"]
        assert (
            row.password_hash.startswith("scrypt:") and "a long enough pw" not in row.password_hash
        )
        actions = session.execute(select(AuditRow.action)).scalars().all()
        assert actions == ["user.create"]
    again = _cli(
        hub, monkeypatch, "users", "create", "ann@example.com", "--role", "viewer",
        "--password-stdin", stdin="a long enough pw\n",
    )  # fmt: skip
    assert again.exit_code != 0 and "exists already" in again.output
    short = _cli(
        hub, monkeypatch, "users", "create", "b@example.com", "--role", "admin",
        "--password-stdin", stdin="short\n",
    )  # fmt: skip
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    unknown = _cli(
        hub, monkeypatch, "users", "create", "c@example.com", "--role", "viewer",
        "--client", "nobody", "--password-stdin", stdin="a long enough pw\n",
    )  # fmt: skip
    assert unknown.exit_code != 0 and "no account has client nobody" in unknown.output
    listed = _cli(hub, monkeypatch, "users", "list")
    assert "ann@example.com\tviewer\tacme\tactive\tlast sign-in never" in listed.output
    assert _cli(hub, monkeypatch, "users", "disable", "ANN@example.com").exit_code == 0
    assert "disabled" in _cli(hub, monkeypatch, "users", "list").output
    assert _cli(hub, monkeypatch, "users", "disable", "ann@example.com").exit_code != 0


def test_every_console_page_sends_a_person_to_sign_in_first(client):
    r = client.get("/admin")
    assert r.status_code == 302
    assert r.headers["Location"] == "/admin/login?next=/admin"
    page = client.get("/admin/login")
    assert (
        page.status_code == 200 and 'name="email"' in page.text and 'name="password"' in page.text
    )
    assert "Content-Security-Policy" in page.headers
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_sign_in_with_the_right_password_opens_the_overview_and_is_audited(hub, client):
    make_person(hub, "ops@example.com", "editor")
    r = sign_in(client, "OPS@example.com ")
    assert r.status_code == 302 and r.headers["Location"] == "/admin/"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    overview = client.get("/admin/")
    assert overview.status_code == 200
    assert "ops@example.com" in overview.text and "Overview" in overview.text
    with hub.db.transaction() as session:
        row = session.execute(select(UserRow)).scalar_one()
        assert row.last_login_at is not None
        audit = session.execute(select(AuditRow)).scalars().all()
        assert [(a.actor, a.action) for a in audit] == [("ops@example.com", "user.sign_in")]


def test_the_session_cookie_is_secure_over_https(hub, app):
    make_person(hub, "ops@example.com", "viewer")
    client = app.test_client()
    page = client.get("/admin/login", base_url="https://hub.example")
    r = client.post(
        "/admin/login",
        base_url="https://hub.example",
        headers={"Referer": "https://hub.example/admin/login"},  # checked over https
        data={"email": "ops@example.com", "password": PERSON_PASSWORD,
              "csrf_token": csrf_token(page.text)},
    )  # fmt: skip
    assert r.status_code == 302 and "Secure" in r.headers["Set-Cookie"]


def test_a_wrong_password_an_unknown_email_and_a_form_without_csrf_are_refused(hub, client):
    make_person(hub, "ops@example.com", "editor")
    wrong = sign_in(client, "ops@example.com", "not the password")
    assert wrong.status_code == 401 and "not right" in wrong.text
    unknown = sign_in(client, "who@example.com")
    assert unknown.status_code == 401 and "not right" in unknown.text
    forged = client.post(
        "/admin/login", data={"email": "ops@example.com", "password": PERSON_PASSWORD}
    )
    assert forged.status_code == 400 and "could not be accepted" in forged.text
    assert client.get("/admin/").status_code == 302  # still signed out


def test_sign_in_is_rate_limited_per_email(hub, client):
    make_person(hub, "ops@example.com", "editor")
    for _ in range(5):
        assert sign_in(client, "ops@example.com", "guess guess guess").status_code == 401
    limited = sign_in(client, "ops@example.com")  # even the right password waits now
    assert limited.status_code == 429 and "too many refused sign-ins" in limited.text
    assert sign_in(client, "other@example.com").status_code == 401  # other emails still try


def test_next_only_leads_inside_the_console(hub, client):
    make_person(hub, "ops@example.com", "viewer")
    for target, landing in (("/admin/", "/admin/"), ("https://evil.example/", "/admin/"),
                            ("//evil.example/admin", "/admin/")):  # fmt: skip
        client = client.application.test_client()
        page = client.get("/admin/login")
        r = client.post(
            f"/admin/login?next={target}",
            data={"email": "ops@example.com", "password": PERSON_PASSWORD,
                  "csrf_token": csrf_token(page.text)},
        )  # fmt: skip
        assert r.headers["Location"] == landing


def test_sign_out_needs_the_form_and_ends_the_session(hub, client):
    make_person(hub, "ops@example.com", "viewer")
    sign_in(client, "ops@example.com")
    assert client.post("/admin/logout").status_code == 400  # no CSRF token: refused
    assert client.get("/admin/").status_code == 200
    page = client.get("/admin/")
    out = client.post("/admin/logout", data={"csrf_token": csrf_token(page.text)})
    assert out.status_code == 302 and out.headers["Location"] == "/admin/login"
    assert client.get("/admin/").status_code == 302


def test_a_disabled_person_is_signed_out_at_the_next_page(hub, client, monkeypatch):
    make_person(hub, "ops@example.com", "editor")
    sign_in(client, "ops@example.com")
    assert client.get("/admin/").status_code == 200
    assert _cli(hub, monkeypatch, "users", "disable", "ops@example.com").exit_code == 0
    assert client.get("/admin/").status_code == 302
    assert sign_in(client, "ops@example.com").status_code == 401


def test_the_overview_counts_todays_orders_for_the_clients_a_person_sees(hub, client, worker):
    body = json.dumps(shopify_order()).encode()
    assert (
        client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body)).status_code == 202
    )
    worker.drain()
    make_person(hub, "all@example.com", "viewer")
    make_person(hub, "other@example.com", "viewer", clients=["globex"])
    sign_in(client, "all@example.com")
    page = client.get("/admin/").text
    assert "<td>shopify</td><td>acme</td>" in page.replace("\n", "").replace("  ", "")
    assert "dead jobs" in page
    other = hub_client = client.application.test_client()
    sign_in(hub_client, "other@example.com")
    limited = other.get("/admin/").text
    assert "acme" not in limited and "No orders in or shipped today yet." in limited
    assert "dead jobs" not in limited  # queue figures are for people who see every client


def test_the_hub_hashes_passwords_with_scrypt_at_werkzeugs_full_cost(hub, monkeypatch):
    from hub.web import people
    from tests.conftest import STRONG_SCRYPT

    assert STRONG_SCRYPT == "scrypt:32768:8:1"
    monkeypatch.setattr(people, "SCRYPT", STRONG_SCRYPT)
    make_person(hub, "strong@example.com", "viewer")
    with hub.db.transaction() as session:
        row = session.execute(select(UserRow)).scalar_one()
        assert row.password_hash.startswith("scrypt:32768:8:1$")
    assert people.sign_in(hub.db, "strong@example.com", PERSON_PASSWORD, "-").email
