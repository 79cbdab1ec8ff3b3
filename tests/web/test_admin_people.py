"""``/admin/users``: admins list people, add one and disable one; everyone else is refused."""

from __future__ import annotations

from sqlalchemy import select

from hub.storage.models import AuditRow, UserRow
from tests.conftest import PERSON_PASSWORD, csrf_token, make_person, sign_in

NEW_PASSWORD = "another long password"


def _admin(hub, client, email="boss@example.com"):
    make_person(hub, email, "admin")
    assert sign_in(client, email).status_code == 302
    return client


def _create(client, **fields):
    page = client.get("/admin/users")
    data = {"email": "new@example.com", "role": "viewer", "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD, "csrf_token": csrf_token(page.text), **fields}  # fmt: skip
    return client.post("/admin/users", data=data)


def _disable(client, email):
    page = client.get("/admin/users")
    return client.post(
        "/admin/users/disable", data={"email": email, "csrf_token": csrf_token(page.text)}
    )


def test_only_admins_see_the_people_page(hub, client):
    make_person(hub, "ed@example.com", "editor")
    sign_in(client, "ed@example.com")
    refused = client.get("/admin/users")
    assert refused.status_code == 403 and "needs the admin role" in refused.text
    assert 'href="/admin/users"' not in client.get("/admin/").text  # not in the navigation
    page = client.get("/admin/")
    refused = client.post(
        "/admin/users/disable",
        data={"email": "ed@example.com", "csrf_token": csrf_token(page.text)},
    )
    assert refused.status_code == 403
    assert client.application.test_client().get("/admin/users").status_code == 302


def test_the_page_lists_people_with_role_clients_state_and_last_sign_in(hub, client):
    make_person(hub, "limited@example.com", "viewer", clients=["globex"])
    make_person(hub, "gone@example.com", "editor")
    with hub.db.transaction() as session:
        from hub.web import people

        people.disable(session, "gone@example.com")
    _admin(hub, client)
    page = client.get("/admin/users")
    assert page.status_code == 200
    text = page.text
    assert 'href="/admin/users" aria-current="page"' in client.get("/admin/users").text
    assert (
        text.index("boss@example.com")
        < text.index("gone@example.com")
        < text.index("limited@example.com")
    )
    assert '<td data-label="Clients">globex</td>' in text and "every client" in text
    assert "disabled</span>" in text and "never" in text
    # a button for limited@ only: not for the admin themself, not for gone@
    assert text.count('action="/admin/users/disable"') == 1
    assert 'name="clients" type="checkbox" value="acme"' in text  # the configured client
    assert 'value="globex"' not in text  # no account has it


def test_an_admin_adds_a_person_who_can_then_sign_in(hub, client, app):
    _admin(hub, client)
    made = _create(client, email="New@Example.com", role="editor", clients=["acme"])
    assert made.status_code == 302 and made.headers["Location"] == "/admin/users"
    listed = client.get("/admin/users").text
    assert "new@example.com can now sign in" in listed and "new@example.com" in listed
    with hub.db.transaction() as session:
        row = session.execute(
            select(UserRow).where(UserRow.email == "new@example.com")
        ).scalar_one()
        assert row.role == "editor" and row.clients == ["acme"]
        assert row.password_hash.startswith("scrypt:") and NEW_PASSWORD not in row.password_hash
        audit = session.execute(
            select(AuditRow).where(AuditRow.action == "user.create")
        ).scalar_one()
        assert audit.actor == "boss@example.com" and audit.target == "user:new@example.com"
        assert audit.details == {"role": "editor", "clients": ["acme"]}
    fresh = app.test_client()
    assert sign_in(fresh, "new@example.com", NEW_PASSWORD).status_code == 302
    assert "new@example.com" in fresh.get("/admin/").text


def test_a_person_for_every_client_has_no_limit(hub, client):
    _admin(hub, client)
    assert _create(client).status_code == 302
    with hub.db.transaction() as session:
        row = session.execute(
            select(UserRow).where(UserRow.email == "new@example.com")
        ).scalar_one()
        assert row.clients is None and row.role == "viewer"


def test_a_bad_form_is_shown_again_with_what_is_wrong(hub, client):
    _admin(hub, client)
    cases = [
        ({"password": "short", "confirm": "short"}, "needs 10 characters or more"),
        ({"confirm": "something else entirely"}, "the two passwords differ"),
        ({"clients": ["nobody"]}, "not a valid choice"),
        ({"role": "owner"}, "Not a valid choice"),
        ({"email": "not-an-email"}, "is not an email address"),
        ({"email": "boss@example.com"}, "exists already"),
    ]
    for fields, message in cases:
        answer = _create(client, **fields)
        assert answer.status_code == 400, fields
        assert message.lower() in answer.text.lower(), (fields, message)
    no_token = client.post("/admin/users", data={"email": "x@example.com", "role": "viewer",
                           "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})  # fmt: skip
    assert no_token.status_code == 400 and "could not be accepted" in no_token.text
    with hub.db.transaction() as session:
        assert session.execute(select(UserRow.email)).scalars().all() == ["boss@example.com"]
        assert "user.create" not in session.execute(select(AuditRow.action)).scalars().all()


def test_an_admin_disables_a_person_whose_session_ends(hub, client, app):
    make_person(hub, "ops@example.com", "editor")
    theirs = app.test_client()
    sign_in(theirs, "ops@example.com")
    assert theirs.get("/admin/").status_code == 200
    _admin(hub, client)
    done = _disable(client, "OPS@example.com")
    assert done.status_code == 302 and done.headers["Location"] == "/admin/users"
    assert "ops@example.com is disabled" in client.get("/admin/users").text
    assert theirs.get("/admin/").status_code == 302  # signed out at the next page
    assert sign_in(app.test_client(), "ops@example.com", PERSON_PASSWORD).status_code == 401
    with hub.db.transaction() as session:
        audit = session.execute(
            select(AuditRow).where(AuditRow.action == "user.disable")
        ).scalar_one()
        assert (audit.actor, audit.target) == ("boss@example.com", "user:ops@example.com")
    again = _disable(client, "ops@example.com")
    assert again.status_code == 404 and "No active person" in again.text
    assert _disable(client, "nobody@example.com").status_code == 404


def test_an_admin_cannot_disable_themself(hub, client):
    _admin(hub, client)
    refused = _disable(client, "Boss@Example.com")
    assert refused.status_code == 400 and "cannot disable yourself" in refused.text
    assert client.get("/admin/users").status_code == 200  # still signed in, still enabled
    with hub.db.transaction() as session:
        row = session.execute(select(UserRow)).scalar_one()
        assert row.disabled_at is None
        assert "user.disable" not in session.execute(select(AuditRow.action)).scalars().all()
