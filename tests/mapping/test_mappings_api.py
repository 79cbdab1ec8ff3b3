"""Mapping specs over the API and CLI on a real database: versions, validation, diff, roll
back, preview, re-translate, roles and the audit log."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.storage.models import SkuRow
from hub.values import now
from tests.conftest import shopify_headers, shopify_order

HUB = str(Path(sys.executable).with_name("hub"))

SPEC_YAML = b"""
version: 1
fields:
  notes: "note_attributes[?name=='colour'].value | [0]"
lookups:
  sku:
    - {from: IPOD2008GREEN, to: IPOD-GREEN}
    - {from: IPOD2008RED, to: IPOD-RED}
    - {from: IPOD2008BLACK, to: IPOD-BLACK}
"""


def _catalogue(hub, *skus: str) -> None:
    with hub.db.transaction() as s:
        s.add_all(SkuRow(client="acme", sku=sku, created_at=now()) for sku in skus)


def _put(client, headers, body: bytes, ctype="application/yaml", comment="first"):
    return client.put(
        f"/api/mappings/shop-a?comment={comment}",
        data=body,
        headers={**headers, "Content-Type": ctype},
    )


def test_an_account_without_a_mapping_shows_the_connector_default(client, viewer):
    r = client.get("/api/mappings/shop-a", headers=viewer).get_json()
    assert r["version"] is None and r["source"] == "default"
    assert r["spec"]["version"] == 1


def test_save_versions_read_diff_and_roll_back(client, viewer, editor):
    assert _put(client, viewer, SPEC_YAML).status_code == 403
    first = _put(client, editor, SPEC_YAML)
    assert first.status_code == 201 and first.get_json()["version"] == 1
    second_spec = {"version": 1, "rules": {"hold_tags": ["fraud-review"]}}
    second = _put(client, editor, json.dumps(second_spec).encode(), "application/json", "second")
    assert second.get_json()["version"] == 2
    current = client.get("/api/mappings/shop-a", headers=viewer).get_json()
    assert current["version"] == 2 and current["spec"] == second_spec
    listed = client.get("/api/mappings/shop-a/versions", headers=viewer).get_json()["items"]
    assert [(v["version"], v["comment"]) for v in listed] == [(2, "second"), (1, "first")]
    assert listed[0]["author"].startswith("editor-")
    one = client.get("/api/mappings/shop-a/versions/1", headers=viewer).get_json()
    assert one["spec"]["lookups"]["sku"][0] == {"from": "IPOD2008GREEN", "to": "IPOD-GREEN"}
    diff = client.get("/api/mappings/shop-a/diff?from=1&to=2", headers=viewer).get_json()
    paths = {c["path"]: c["change"] for c in diff["changes"]}
    assert paths == {"fields": "removed", "lookups": "removed", "rules": "added"}
    assert "fraud-review" in diff["text"]
    assert (
        client.post(
            "/api/mappings/shop-a/rollback", json={"version": 1}, headers=viewer
        ).status_code
        == 403
    )
    back = client.post("/api/mappings/shop-a/rollback", json={"version": 1}, headers=editor)
    assert back.status_code == 201 and back.get_json()["version"] == 3
    assert back.get_json()["spec"] == one["spec"]
    audit = client.get("/api/audit", headers=viewer).get_json()["items"]
    assert [a["action"] for a in audit][:3] == ["mapping.rollback", "mapping.save", "mapping.save"]


def test_an_invalid_spec_is_refused_with_pointers_and_never_saved(hub, client, viewer, editor):
    _catalogue(hub, "IPOD-GREEN")
    bad = b"""
version: 1
fields:
  notes: "note_attributes[?name=='x'"
lookups:
  sku:
    - {from: IPOD2008GREEN, to: IPOD-GREEN}
    - {from: IPOD2008RED, to: MUG-BLU}
"""
    r = _put(client, editor, bad)
    assert r.status_code == 422
    details = r.get_json()["error"]["details"]
    assert any(d.startswith("fields.notes: JMESPath syntax error at column") for d in details)
    assert "lookups.sku[1].to: unknown warehouse SKU 'MUG-BLU'" in details
    assert client.get("/api/mappings/shop-a/versions", headers=viewer).get_json()["items"] == []
    checked = client.post(
        "/api/mappings/shop-a/validate",
        data=bad,
        headers={**viewer, "Content-Type": "application/yaml"},
    ).get_json()
    assert checked["valid"] is False and checked["messages"] == details


def test_bad_bodies_get_specific_errors(client, editor):
    r = _put(client, editor, b"version: [1", "application/yaml")
    assert r.status_code == 400 and "line" in r.get_json()["error"]["message"]
    assert _put(client, editor, b"version: 1", "text/plain").status_code == 415
    assert client.get("/api/mappings/nobody", headers=editor).status_code == 404


def test_preview_changes_nothing_and_shows_the_difference(hub, client, viewer):
    order = shopify_order()
    draft = {"version": 1, "lookups": {"sku": [{"from": "IPOD2008RED", "to": "IPOD-RED"}]}}
    r = client.post(
        "/api/mappings/shop-a/preview",
        headers=viewer,
        json={"payload": order, "spec": draft, "topic": "orders/updated"},
    )
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["valid"] is True and out["current_version"] is None
    assert [ln["sku"] for ln in out["result"]["lines"]] == [
        "IPOD2008GREEN",
        "IPOD-RED",
        "IPOD2008BLACK",
    ]
    assert any(c["path"].startswith("lines") for c in out["changes"])
    assert client.get("/api/mappings/shop-a/versions", headers=viewer).get_json()["items"] == []
    # a stored delivery previews the same way
    body = json.dumps(order).encode()
    delivery = client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body)).get_json()[
        "delivery_id"
    ]
    r = client.post(
        "/api/mappings/shop-a/preview",
        headers=viewer,
        json={"delivery_id": delivery, "spec": draft},
    )
    assert r.get_json()["result"]["lines"][1]["sku"] == "IPOD-RED"


def test_unknown_skus_need_attention_and_a_mapping_fix_retranslates(
    hub, client, worker, viewer, editor
):
    _catalogue(hub, "IPOD-GREEN", "IPOD-RED", "IPOD-BLACK")
    order = shopify_order()
    order["note_attributes"] = [{"name": "colour", "value": "mixed"}]
    body = json.dumps(order).encode()
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    worker.drain()
    [stored] = client.get("/api/orders", headers=viewer).get_json()["items"]
    assert stored["status"] == "needs_attention"
    events = client.get(f"/api/orders/{stored['id']}/events", headers=viewer).get_json()["items"]
    # the one line still owed is named; the refunded ones (quantity 0) are not
    assert events[-1]["message"] == "unknown SKU 'IPOD2008RED'"
    assert _put(client, editor, SPEC_YAML).status_code == 201
    assert (
        client.post("/api/mappings/shop-a/retranslate", json={}, headers=viewer).status_code == 403
    )
    r = client.post("/api/mappings/shop-a/retranslate", json={}, headers=editor)
    assert r.status_code == 202 and [q["order_id"] for q in r.get_json()["queued"]] == [
        stored["id"]
    ]
    worker.drain()
    fixed = client.get(f"/api/orders/{stored['id']}", headers=viewer).get_json()
    assert fixed["status"] != "needs_attention"
    assert [ln["sku"] for ln in fixed["lines"]] == ["IPOD-GREEN", "IPOD-RED", "IPOD-BLACK"]
    assert fixed["notes"] == "mixed"
    events = client.get(f"/api/orders/{stored['id']}/events", headers=viewer).get_json()["items"]
    updated = [e for e in events if e["kind"] == "updated"][-1]
    assert updated["data"]["mapping_version"] == 1
    assert events[-1]["kind"] == "waiting_for_stock"  # fixed, ready, and short of stock


def test_an_ignore_rule_ignores_test_orders(hub, client, worker, viewer, editor):
    spec = {"version": 1, "rules": {"ignore_if": "test"}}
    _put(client, editor, json.dumps(spec).encode(), "application/json")
    order = shopify_order()
    order["test"] = True
    body = json.dumps(order).encode()
    client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    worker.drain()
    assert client.get("/api/orders", headers=viewer).get_json()["items"] == []
    [d] = client.get("/api/deliveries?status=ignored", headers=viewer).get_json()["items"]
    assert "mapping version 1" in d["error"]


@pytest.fixture
def cli_env(hub):
    import os

    return dict(
        os.environ,
        HUB_DATABASE_URL=hub.settings.database_url,
        HUB_CONFIG=hub.settings.config,
        HUB_LOG_LEVEL="WARNING",
    )


def _hub_cli(env, *args):
    return subprocess.run([HUB, *args], env=env, capture_output=True, text=True, timeout=60)


def test_cli_import_export_validate_diff(hub, cli_env, tmp_path):
    good = tmp_path / "shop-a.yaml"
    good.write_bytes(SPEC_YAML)
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 2\ncolour: red\n")
    r = _hub_cli(cli_env, "mappings", "validate", str(bad))
    assert r.returncode != 0
    assert "version" in r.stdout and "colour" in r.stdout
    assert _hub_cli(cli_env, "mappings", "validate", str(good)).returncode == 0
    r = _hub_cli(cli_env, "mappings", "import", "shop-a", str(good), "-m", "from git")
    assert r.returncode == 0 and "version 1" in r.stdout
    r = _hub_cli(cli_env, "mappings", "import", "shop-a", str(bad))
    assert r.returncode != 0 and "nothing was saved" in r.stderr
    exported = _hub_cli(cli_env, "mappings", "export", "shop-a", "--format", "json")
    assert json.loads(exported.stdout)["lookups"]["sku"][1]["to"] == "IPOD-RED"
    changed = tmp_path / "changed.yaml"
    changed.write_bytes(SPEC_YAML.replace(b"IPOD-RED", b"IPOD-ROUGE"))
    r = _hub_cli(cli_env, "mappings", "diff", "shop-a", "1", str(changed))
    assert "-" in r.stdout and "IPOD-ROUGE" in r.stdout
    csv_file = tmp_path / "skus.csv"
    csv_file.write_text("sku,name\nIPOD-GREEN,Green\nIPOD-RED,Red\n")
    r = _hub_cli(cli_env, "catalogue", "import", str(csv_file), "--client", "acme")
    assert r.returncode == 0, r.stderr
    with hub.db.transaction() as s:
        assert set(s.execute(select(SkuRow.sku)).scalars()) == {"IPOD-GREEN", "IPOD-RED"}
    r = _hub_cli(cli_env, "mappings", "validate", str(good), "--account", "shop-a")
    assert r.returncode != 0 and "unknown warehouse SKU 'IPOD-BLACK'" in r.stdout


def test_a_cancelled_order_is_never_held_up_by_unknown_skus(hub, client, worker, viewer):
    from tests.conftest import payload_bytes

    _catalogue(hub, "SOMETHING-ELSE")
    body = payload_bytes("shopify", "orders_create_webhook_test_notification.json")  # cancelled
    client.post(
        "/webhooks/shop-a",
        data=body,
        headers={**shopify_headers(body), "X-Shopify-Shop-Domain": "shop-a.myshopify.com"},
    )
    worker.drain()
    [order] = client.get("/api/orders", headers=viewer).get_json()["items"]
    assert order["status"] == "cancelled"
