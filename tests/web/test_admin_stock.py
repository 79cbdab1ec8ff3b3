"""The console's stock pages (levels, a SKU's ledger, changes by hand) and accounts page
(health, circuit breaker, rate limit, resume), on both databases."""

from __future__ import annotations

import re

from sqlalchemy import select

from hub.jobs import account_health, outbox
from hub.stock import ledger
from hub.storage.models import AuditRow, ChannelItemRow, JobRow, StockLedgerRow
from hub.values import now
from tests.conftest import accounts_fixture, csrf_token, make_person, receive, sign_in

accounts_file = accounts_fixture(
    """
[accounts.globex-shop]
connector = "shopify"
client = "globex"
shop = "globex.myshopify.com"
webhook_secret = "globex-secret"
access_token = "shpat_globex"
"""
)


def _import(hub, client: str, text: str) -> None:
    rows, errors = ledger.parse_levels_csv(text)
    assert not errors
    ledger.import_in_batches(hub.db, client, rows, actor="test", ref="count.csv")


def _signed_in(hub, client, role: str, clients: list[str] | None = None) -> str:
    email = make_person(hub, f"{role}@example.com", role, clients)
    assert sign_in(client, email).status_code == 302
    return email


def test_levels_show_on_hand_allocated_available_and_what_each_channel_confirmed(hub, client):
    _import(hub, "acme", "sku,on_hand,location\nMUG-1,7,A1\nMUG-2,3,A1\n")
    receive(hub, "MUG-1", 2)
    with hub.db.transaction() as s:
        s.add(
            ChannelItemRow(
                account="shop-a",
                sku="MUG-1",
                client="acme",
                item_id="gid://1",
                confirmed=9,
                confirmed_at=now(),
            )
        )
    _signed_in(hub, client, "viewer")
    page = client.get("/admin/stock")
    assert page.status_code == 200
    assert "MUG-1" in page.text and "MUG-2" in page.text
    assert '<td class="num" data-label="On hand">9</td>' in page.text  # 7 imported + 2 received
    assert "<strong>shop-a</strong>" in page.text and "confirmed 9" in page.text
    assert "nothing confirmed yet" in page.text  # woo-a has not confirmed anything
    assert 'href="/admin/stock"' in page.text  # the navigation has found the page
    only = client.get("/admin/stock", query_string={"q": "-2"})
    assert "MUG-2" in only.text and "MUG-1" not in only.text


def _cells(page: str, sku: str) -> list[str]:
    """The text of each cell of the stock table's row for ``sku``."""
    row = re.search(rf"<tr>\s*<td>acme</td>\s*<td><a [^>]*>{sku}</a></td>(.*?)</tr>", page, re.S)
    assert row is not None, f"no row for {sku}"
    return [re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
            row.group(1), re.S)]  # fmt: skip


def test_damaged_and_quarantined_returns_are_held_apart_never_available(hub, client, viewer):
    _import(hub, "acme", "sku,on_hand,location\nMUG-1,7,A1\n")
    with hub.db.transaction() as s:  # what inspected returns set aside
        ledger.adjust(s, "acme", "MUG-1", "damaged", 2, reason="return", actor="test")
        ledger.adjust(s, "acme", "MUG-1", "quarantine", 1, reason="return", actor="test")
        ledger.adjust(s, "acme", "MUG-9", "damaged", 3, reason="return", actor="test")
    _signed_in(hub, client, "viewer")
    page = client.get("/admin/stock", query_string={"client": "acme"}).text
    assert ">Held (not for sale)<" in page and ">Damaged<" in page and ">Quarantine<" in page
    # on hand, allocated, available, damaged, quarantine: the held units are never available
    assert _cells(page, "MUG-1")[:5] == ["7", "0", "7", "2", "1"]
    assert _cells(page, "MUG-9")[:5] == ["0", "0", "0", "3", "0"]  # nothing to sell, 3 held
    sku_page = client.get("/admin/stock/acme/MUG-1").text
    assert "<strong>7</strong> available" in sku_page
    assert "<strong>2</strong> damaged, held (not for sale)" in sku_page
    assert "<strong>1</strong> in quarantine, held (not for sale)" in sku_page
    listed = client.get("/api/stock", query_string={"client": "acme"}, headers=viewer).get_json()
    assert [(i["sku"], i["on_hand"], i["available"], i["held"]) for i in listed["items"]] == [
        ("MUG-1", 7, 7, {"damaged": 2, "quarantine": 1}),
        ("MUG-9", 0, 0, {"damaged": 3, "quarantine": 0}),
    ]  # fmt: skip


def test_levels_are_paged(hub, client):
    _import(hub, "acme", "sku,on_hand\n" + "".join(f"SKU-{i:03},1\n" for i in range(55)))
    _signed_in(hub, client, "viewer")
    first = client.get("/admin/stock", query_string={"client": "acme"})
    assert "SKU-049" in first.text and "SKU-050" not in first.text
    assert "after_sku=SKU-049" in first.text
    second = client.get(
        "/admin/stock",
        query_string={"client": "acme", "after_client": "acme", "after_sku": "SKU-049"},
    )
    assert "SKU-050" in second.text and "SKU-054" in second.text and "SKU-049" not in second.text
    assert "Next page" not in second.text


def test_a_skus_page_shows_its_ledger(hub, client):
    _import(hub, "acme", "sku,on_hand,location\nMUG-1,7,A1\n")
    receive(hub, "MUG-1", 2)
    _signed_in(hub, client, "viewer")
    page = client.get("/admin/stock/acme/MUG-1")
    assert page.status_code == 200
    assert "count.csv:2" in page.text and ">import<" in page.text and ">+7<" in page.text
    assert ">receipt<" in page.text and ">+2<" in page.text
    assert page.text.index(">receipt<") < page.text.index(">import<")  # newest first


def test_an_editors_change_moves_the_level_and_is_audited_with_their_email(hub, client):
    _import(hub, "acme", "sku,on_hand,location\nMUG-1,7,A1\n")
    email = _signed_in(hub, client, "editor")
    page = client.get("/admin/stock/acme/MUG-1")
    assert 'name="amount"' in page.text and 'name="reason"' in page.text
    sent = client.post(
        "/admin/stock/acme/MUG-1",
        data={
            "csrf_token": csrf_token(page.text),
            "kind": "delta",
            "amount": "-2",
            "reason": "damage",
            "location": "A1",
        },
    )
    assert sent.status_code == 302 and sent.headers["Location"] == "/admin/stock/acme/MUG-1"
    shown = client.get("/admin/stock/acme/MUG-1")
    assert "MUG-1: on hand 5 (A1: 5), available 5." in shown.text
    counted = client.post(
        "/admin/stock/acme/MUG-1",
        data={
            "csrf_token": csrf_token(page.text),
            "kind": "set",
            "amount": "12",
            "reason": "count",
            "location": "A1",
        },
    )
    assert counted.status_code == 302
    with hub.db.transaction() as s:
        [level] = ledger.levels(s, "acme", ["MUG-1"])
        assert level["on_hand"] == 12
        entries = s.execute(
            select(StockLedgerRow.delta, StockLedgerRow.actor).order_by(StockLedgerRow.id)
        ).all()
        assert [tuple(e) for e in entries] == [(7, "test"), (-2, email), (7, email)]
        audits = s.execute(
            select(AuditRow).where(AuditRow.action == "stock.adjust").order_by(AuditRow.id)
        ).scalars()
        rows = list(audits)
        assert [(a.actor, a.target) for a in rows] == [(email, "stock:acme:MUG-1")] * 2
        assert rows[0].details["delta"] == -2 and rows[0].details["reason"] == "damage"
        assert rows[1].details["on_hand"] == 12


def test_a_viewer_gets_no_form_and_their_post_is_refused(hub, client):
    _import(hub, "acme", "sku,on_hand\nMUG-1,7\n")
    _signed_in(hub, client, "viewer")
    page = client.get("/admin/stock/acme/MUG-1")
    assert page.status_code == 200 and 'name="amount"' not in page.text
    refused = client.post(
        "/admin/stock/acme/MUG-1",
        data={
            "csrf_token": csrf_token(page.text),
            "kind": "delta",
            "amount": "5",
            "reason": "receipt",
        },
    )
    assert refused.status_code == 403
    with hub.db.transaction() as s:
        assert ledger.levels(s, "acme", ["MUG-1"])[0]["on_hand"] == 7


def test_a_bad_change_shows_the_form_again_with_what_is_wrong(hub, client):
    _import(hub, "acme", "sku,on_hand\nMUG-1,7\n")
    _signed_in(hub, client, "editor")
    token = csrf_token(client.get("/admin/stock/acme/MUG-1").text)
    no_reason = client.post(
        "/admin/stock/acme/MUG-1",
        data={"csrf_token": token, "kind": "delta", "amount": "3", "reason": ""},
    )
    assert no_reason.status_code == 400
    assert "Say why: choose a reason." in no_reason.text and 'name="amount"' in no_reason.text
    not_a_number = client.post(
        "/admin/stock/acme/MUG-1",
        data={"csrf_token": token, "kind": "delta", "amount": "three", "reason": "receipt"},
    )
    assert not_a_number.status_code == 400 and "Units:" in not_a_number.text
    too_many = client.post(
        "/admin/stock/acme/MUG-1",
        data={"csrf_token": token, "kind": "delta", "amount": "-8", "reason": "damage"},
    )
    assert too_many.status_code == 400 and "has 7 on hand; cannot take 8" in too_many.text
    with hub.db.transaction() as s:
        assert ledger.levels(s, "acme", ["MUG-1"])[0]["on_hand"] == 7
        assert not s.execute(select(AuditRow).where(AuditRow.action == "stock.adjust")).first()


def test_a_person_limited_to_a_client_sees_only_that_clients_stock(hub, client):
    _import(hub, "acme", "sku,on_hand\nMUG-1,7\n")
    _import(hub, "globex", "sku,on_hand\nWIDGET-9,4\n")
    _signed_in(hub, client, "editor", ["globex"])
    page = client.get("/admin/stock")
    assert "WIDGET-9" in page.text and "MUG-1" not in page.text
    assert '<option value="acme"' not in page.text
    assert client.get("/admin/stock", query_string={"client": "acme"}).status_code == 404
    assert client.get("/admin/stock/acme/MUG-1").status_code == 404
    token = csrf_token(page.text)
    sent = client.post(
        "/admin/stock/acme/MUG-1",
        data={"csrf_token": token, "kind": "delta", "amount": "5", "reason": "receipt"},
    )
    assert sent.status_code == 404
    accounts = client.get("/admin/accounts")
    assert "globex-shop" in accounts.text and "shop-a" not in accounts.text
    with hub.db.transaction() as s:
        assert ledger.levels(s, "acme", ["MUG-1"])[0]["on_hand"] == 7


def test_accounts_show_their_health_and_a_paused_one_is_resumed(hub, client):
    with hub.db.transaction() as s:
        account_health.flag(s, hub.accounts["woo-a"], "AuthError: GET products: 401")
        outbox.enqueue(s, "stock.sync", {"account": "shop-a", "mode": "delta"}, max_attempts=5)
    with hub.db.transaction() as s:
        job = s.execute(select(JobRow)).scalar_one()
        job.last_error = "RetryableError: shopify: paused after 5 failures in a row (circuit open)"
        job.run_at = now().replace(year=now().year + 1)
    email = _signed_in(hub, client, "viewer")
    page = client.get("/admin/accounts")
    assert page.status_code == 200
    for name in ("shop-a", "woo-a", "globex-shop", "shopify", "woocommerce"):
        assert f"<td>{name}</td>" in page.text
    refused = 'data-status="credentials_refused">Credentials refused</span>'
    assert refused in page.text and "AuthError: GET products: 401" in page.text
    assert "<td>open</td>" in page.text  # shop-a's job waits on its circuit breaker
    assert "Resume</button>" not in page.text  # a viewer cannot resume
    assert (
        client.post(
            "/admin/accounts/woo-a/resume", data={"csrf_token": csrf_token(page.text)}
        ).status_code
        == 403
    )
    client.post("/admin/logout", data={"csrf_token": csrf_token(page.text)})
    email = _signed_in(hub, client, "editor")
    page = client.get("/admin/accounts")
    assert page.text.count("Resume</button>") == 1
    resumed = client.post(
        "/admin/accounts/woo-a/resume", data={"csrf_token": csrf_token(page.text)}
    )
    assert resumed.status_code == 302 and resumed.headers["Location"] == "/admin/accounts"
    after = client.get("/admin/accounts")
    assert "woo-a resumed: 0 waiting job(s) run now." in after.text
    assert 'data-status="credentials_refused"' not in after.text
    with hub.db.transaction() as s:
        assert account_health.flagged(s, hub.accounts["woo-a"]) is None
        audit = s.execute(select(AuditRow).where(AuditRow.action == "account.resume")).scalar_one()
        assert (audit.actor, audit.target) == (email, "account:woo-a")
