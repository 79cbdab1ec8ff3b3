"""The console's API tokens page, for admins: a token made is shown once and works on the
API at once; a revoked one is refused; both are audited with the admin's email."""

from __future__ import annotations

import re

from sqlalchemy import select

from hub.storage.models import AuditRow, TokenRow
from tests.conftest import csrf_token, make_person, sign_in


def _admin(hub, client) -> str:
    email = make_person(hub, "boss@example.com", "admin")
    assert sign_in(client, email).status_code == 302
    return email


def _make(client, name: str, role: str = "viewer"):
    page = client.get("/admin/tokens")
    return client.post(
        "/admin/tokens", data={"name": name, "role": role, "csrf_token": csrf_token(page.text)}
    )


def test_an_admin_makes_a_token_that_is_shown_once_and_works(hub, client):
    _admin(hub, client)
    made = _make(client, "erp-sync", "editor")
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="made-token" readonly value="(hub_[^"]+)"', made.text).group(1)
    assert "shown this once" in made.text
    assert (
        client.get("/api/orders", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    again = client.get("/admin/tokens")
    assert token not in again.text and "erp-sync" in again.text and "live" in again.text
    with hub.db.transaction() as session:
        row = session.execute(select(TokenRow).where(TokenRow.name == "erp-sync")).scalar_one()
        assert row.role == "editor" and token not in row.token_hash
        entry = session.execute(
            select(AuditRow).where(AuditRow.action == "token.create")
        ).scalar_one()
        assert entry.actor == "boss@example.com" and entry.target == "token:erp-sync"


def test_a_token_name_taken_or_malformed_is_refused_with_the_reason(hub, client):
    _admin(hub, client)
    assert _make(client, "erp-sync").status_code == 201
    taken = _make(client, "erp-sync")
    assert taken.status_code == 400 and "exists already" in taken.text
    assert 'id="made-token"' not in taken.text
    bad = _make(client, "my token; drop")
    assert bad.status_code == 400 and "letters, digits" in bad.text
    wrong_role = _make(client, "fine-name", "admin")
    assert wrong_role.status_code == 400 and "Not a valid choice" in wrong_role.text
    with hub.db.transaction() as session:
        assert session.execute(select(TokenRow.name)).scalars().all() == ["erp-sync"]


def test_a_revoked_token_is_refused_by_the_api(hub, client):
    _admin(hub, client)
    made = _make(client, "old-script")
    token = re.search(r'value="(hub_[^"]+)"', made.text).group(1)
    page = client.get("/admin/tokens")
    assert 'aria-label="Revoke old-script"' in page.text
    answer = client.post(
        "/admin/tokens/revoke", data={"name": "old-script", "csrf_token": csrf_token(page.text)}
    )
    assert answer.status_code == 302
    shown = client.get("/admin/tokens").text
    assert "old-script is revoked" in shown and "revoked" in shown
    assert 'aria-label="Revoke old-script"' not in shown
    assert (
        client.get("/api/orders", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    twice = client.post(
        "/admin/tokens/revoke", data={"name": "old-script", "csrf_token": csrf_token(shown)}
    )
    assert twice.status_code == 404
    with hub.db.transaction() as session:
        actions = session.execute(select(AuditRow.action, AuditRow.actor)).all()
        assert ("token.revoke", "boss@example.com") in actions


def test_tokens_are_for_admins_only(hub, client):
    email = make_person(hub, "ed@example.com", "editor")
    assert sign_in(client, email).status_code == 302
    assert client.get("/admin/tokens").status_code == 403
    overview = client.get("/admin")
    assert 'href="/admin/tokens"' not in overview.text
    refused = client.post(
        "/admin/tokens",
        data={"name": "sneaky", "role": "editor", "csrf_token": csrf_token(overview.text)},
    )
    assert refused.status_code == 403
    with hub.db.transaction() as session:
        assert session.execute(select(TokenRow)).first() is None
