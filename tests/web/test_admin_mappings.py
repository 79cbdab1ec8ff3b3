"""The console's mapping pages: read, validate, save, diff and roll back, by role."""

from __future__ import annotations

import html

from sqlalchemy import select

from hub.storage.models import AuditRow, MappingVersionRow
from tests.conftest import csrf_token, make_person, sign_in

SPEC = """version: 1
fields:
  notes: "note_attributes[?name=='colour'].value | [0]"
"""
CHANGED = SPEC.replace("colour", "size")


def _editor(hub, client):
    make_person(hub, "ed@example.com", "editor")
    sign_in(client, "ed@example.com")
    return csrf_token(client.get("/admin/mappings/shop-a").text)


def _save(client, token, text, action="save", comment=""):
    return client.post(
        "/admin/mappings/shop-a",
        data={"spec": text, "action": action, "comment": comment, "csrf_token": token},
    )


def _versions(hub) -> list[tuple[int, str, str | None]]:
    with hub.db.transaction() as session:
        rows = session.execute(
            select(MappingVersionRow).order_by(MappingVersionRow.number)
        ).scalars()
        return [(r.number, r.author, r.comment) for r in rows]


def test_the_list_shows_channel_accounts_with_their_version(hub, client):
    make_person(hub, "view@example.com", "viewer")
    sign_in(client, "view@example.com")
    page = client.get("/admin/mappings")
    assert page.status_code == 200
    assert 'href="/admin/mappings/shop-a"' in page.text and "default" in page.text
    assert "acme-royalmail" not in page.text  # carriers have no order mapping


def test_an_editor_validates_then_saves_and_the_version_is_audited(hub, client):
    token = _editor(hub, client)
    checked = _save(client, token, SPEC, action="validate")
    assert checked.status_code == 200 and "The spec is valid" in checked.text
    assert _versions(hub) == []  # validating saves nothing
    saved = _save(client, token, SPEC, comment="colour into notes")
    assert saved.status_code == 302
    assert _versions(hub) == [(1, "ed@example.com", "colour into notes")]
    page = client.get("/admin/mappings/shop-a").text
    assert "Saved as version 1." in page and "version 1 by ed@example.com" in page
    with hub.db.transaction() as session:
        audit = session.execute(select(AuditRow).where(AuditRow.action == "mapping.save"))
        assert [a.actor for a in audit.scalars()] == ["ed@example.com"]


def test_a_syntax_error_names_its_line_and_an_invalid_spec_is_not_saved(hub, client):
    token = _editor(hub, client)
    broken = _save(client, token, "version: 1\nfields:\n  notes: [unclosed\n")
    assert broken.status_code == 422
    assert "YAML syntax error at line" in broken.text
    assert "[unclosed" in html.unescape(broken.text)  # the text typed is kept in the form
    invalid = _save(client, token, "version: 1\nfields:\n  no_such_field: id\n")
    assert invalid.status_code == 422 and "no_such_field" in invalid.text
    assert _versions(hub) == []


def test_diff_and_roll_back(hub, client):
    token = _editor(hub, client)
    assert _save(client, token, SPEC).status_code == 302
    assert _save(client, token, CHANGED).status_code == 302
    diff = client.get("/admin/mappings/shop-a?from=1").text
    assert "Changes from version 1 to 2" in diff
    text = html.unescape(diff)
    assert "-" in text and "colour" in text and "size" in text
    back = client.post(
        "/admin/mappings/shop-a/rollback", data={"version": "1", "csrf_token": token}
    )
    assert back.status_code == 302
    assert [v[0] for v in _versions(hub)] == [1, 2, 3]
    page = client.get("/admin/mappings/shop-a").text
    assert "version 3 is version 1 again" in page and "colour" in html.unescape(page)
    missing = client.post(
        "/admin/mappings/shop-a/rollback", data={"version": "9", "csrf_token": token}
    )
    assert missing.status_code == 404


def test_a_viewer_reads_but_cannot_change_and_others_clients_are_hidden(hub, client):
    make_person(hub, "view@example.com", "viewer")
    sign_in(client, "view@example.com")
    page = client.get("/admin/mappings/shop-a")
    assert page.status_code == 200 and "<textarea" not in page.text and "<pre>" in page.text
    token = csrf_token(client.get("/admin/").text)
    refused = _save(client, token, SPEC)
    assert refused.status_code == 403 and _versions(hub) == []
    other = client.application.test_client()
    make_person(hub, "globex@example.com", "editor", clients=["globex"])
    sign_in(other, "globex@example.com")
    assert other.get("/admin/mappings/shop-a").status_code == 404
    assert "shop-a" not in other.get("/admin/mappings").text


def test_preview_on_a_stored_delivery_and_retranslate(hub, client, worker):
    import json

    from tests.conftest import shopify_headers, shopify_order

    body = json.dumps(shopify_order()).encode()
    assert (
        client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body)).status_code == 202
    )
    worker.drain()
    token = _editor(hub, client)
    page = client.get("/admin/mappings/shop-a").text
    assert "Stored delivery to preview with" in page
    with hub.db.transaction() as session:
        from hub.storage.models import DeliveryRow

        delivery_id = session.execute(select(DeliveryRow.id)).scalar_one()
    draft = "version: 1\nfields:\n  notes: \"'from the draft'\"\n"
    shown = client.post(
        "/admin/mappings/shop-a",
        data={"spec": draft, "action": "preview", "delivery_id": str(delivery_id),
              "csrf_token": token},
    )  # fmt: skip
    assert shown.status_code == 200, shown.text
    text = html.unescape(shown.text)
    assert f"Preview on delivery #{delivery_id}" in text
    assert '"notes": "from the draft"' in text and "<code>notes</code> changed" in text
    assert _versions(hub) == []  # a preview saves nothing
    again = client.post("/admin/mappings/shop-a/retranslate", data={"csrf_token": token})
    assert again.status_code == 302
    assert "0 orders needing attention queued" in client.get("/admin/mappings/shop-a").text
    viewer = client.application.test_client()
    make_person(hub, "view@example.com", "viewer")
    sign_in(viewer, "view@example.com")
    vtoken = csrf_token(viewer.get("/admin/mappings/shop-a").text)
    current = viewer.post(
        "/admin/mappings/shop-a/preview",
        data={"delivery_id": str(delivery_id), "csrf_token": vtoken},
    )
    assert current.status_code == 200 and "The same result as the saved version" in current.text
    refused = viewer.post("/admin/mappings/shop-a/retranslate", data={"csrf_token": vtoken})
    assert refused.status_code == 403
