"""Returns through the API: opened against what shipped, authorised with a label, received
and inspected (stock back on hand or set aside), closed; every refusal names its problem;
every step on the return's and the order's timeline; a refund queued once by policy."""

from __future__ import annotations

from sqlalchemy import select

from hub.stock import ledger
from hub.storage.models import AuditRow, JobRow, OrderEventRow, StockLevelRow
from tests.conftest import QUIET_ROYALMAIL, accounts_fixture, shipped_order

accounts_file = accounts_fixture(QUIET_ROYALMAIL)
SKU = "IPOD2008RED"


def _open(client, editor, order_id: int, quantity: int = 1, note: str | None = None, **line):
    line = {"sku": SKU, "quantity": quantity, "reason": "defective", **line}
    body = {"order_id": order_id, "lines": [line], **({"note": note} if note else {})}
    return client.post("/api/returns", json=body, headers=editor)


def _on_hand(hub, location: str) -> int:
    with hub.db.transaction() as session:
        row = session.execute(
            select(StockLevelRow).where(
                StockLevelRow.sku == SKU, StockLevelRow.location == location
            )
        ).scalar_one_or_none()
        return row.on_hand if row is not None else 0


def test_a_return_from_request_to_the_shelf(hub, client, worker, viewer, editor):
    order = shipped_order(hub, client, worker, viewer, editor)
    opened = _open(client, editor, order["id"], note="scratched screen")
    assert opened.status_code == 201, opened.get_json()
    body = opened.get_json()
    assert (body["status"], body["source"], body["note"]) == (
        "requested",
        "api",
        "scratched screen",
    )
    assert [(n["sku"], n["quantity"], n["reason"]) for n in body["lines"]] == [
        (SKU, 1, "defective")
    ]
    rid = body["id"]
    authorised = client.post(
        f"/api/returns/{rid}/authorise",
        json={"carrier": "royalmail", "tracking_number": "RT000000001GB"},
        headers=editor,
    ).get_json()
    assert authorised["status"] == "in_transit"
    assert authorised["label"] == {"carrier": "royalmail", "tracking_number": "RT000000001GB"}
    before = ledger.levels  # the sellable level is what channels are offered
    received = client.post(
        f"/api/returns/{rid}/receive",
        json={"lines": [{"sku": SKU, "quantity": 1, "condition": "resellable", "grade": "A"}],
              "received_at": "2026-12-07T09:00:00Z"},
        headers=editor,
    )  # fmt: skip
    assert received.status_code == 200, received.get_json()
    got = received.get_json()
    assert got["status"] == "inspected" and got["lines"][0]["condition"] == "resellable"
    assert got["lines"][0]["received"] == 1 and got["dock_to_stock_seconds"] > 0
    assert _on_hand(hub, "default") == 1
    with hub.db.transaction() as session:
        assert before(session, "acme", [SKU])[0]["available"] == 1
    closed = client.post(f"/api/returns/{rid}/close", headers=editor).get_json()
    assert closed["status"] == "closed" and closed["closed_at"]
    kinds = [
        e["kind"] for e in client.get(f"/api/returns/{rid}", headers=viewer).get_json()["events"]
    ]
    assert kinds == ["requested", "authorised", "in_transit", "received", "inspected", "closed"]
    with hub.db.transaction() as session:
        timeline = (
            session.execute(select(OrderEventRow.kind).where(OrderEventRow.order_id == order["id"]))
            .scalars()
            .all()
        )
        assert "return_requested" in timeline and "return_closed" in timeline
        actions = set(session.execute(select(AuditRow.action)).scalars())
        assert {"return.open", "return.authorise", "return.receive", "return.close"} <= actions
    again = client.post(f"/api/returns/{rid}/close", headers=editor)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "wrong_state"
    listed = client.get("/api/returns", query_string={"status": "closed"}, headers=viewer)
    assert [r["id"] for r in listed.get_json()["items"]] == [rid]


def test_what_cannot_come_back_is_refused_by_name(hub, client, worker, viewer, editor):
    order = shipped_order(hub, client, worker, viewer, editor)
    too_many = _open(client, editor, order["id"], quantity=2)
    assert too_many.status_code == 409 and "1 shipped and not returned yet" in too_many.text
    unknown = _open(client, editor, order["id"], sku="NOT-IN-ORDER")
    assert unknown.status_code == 422 and "NOT-IN-ORDER" in unknown.get_json()["error"]["message"]
    bad_reason = _open(client, editor, order["id"], reason="meh")
    assert bad_reason.status_code == 422
    assert bad_reason.get_json()["error"]["details"]["field"].startswith("lines")
    nothing = client.post(
        "/api/returns", json={"order_id": order["id"], "lines": []}, headers=editor
    )
    assert nothing.status_code == 422
    missing = _open(client, editor, 999_999)
    assert missing.status_code == 404
    assert _open(client, editor, order["id"]).status_code == 201
    second = _open(client, editor, order["id"])  # the one shipped is already coming back
    assert second.status_code == 409 and "0 shipped and not returned yet" in second.text
    assert _open(client, viewer, order["id"]).status_code == 403


def test_damaged_goods_are_held_apart_and_a_rejected_return_frees_its_lines(
    hub, client, worker, viewer, editor
):
    order = shipped_order(hub, client, worker, viewer, editor)
    first = _open(client, editor, order["id"]).get_json()["id"]
    rejected = client.post(
        f"/api/returns/{first}/reject", json={"reason": "outside the 30 days"}, headers=editor
    ).get_json()
    assert rejected["status"] == "rejected" and rejected["rejected_reason"] == "outside the 30 days"
    assert (
        client.post(
            f"/api/returns/{first}/reject", json={"reason": "x"}, headers=editor
        ).status_code
        == 409
    )
    second = _open(client, editor, order["id"]).get_json()["id"]
    assert client.post(f"/api/returns/{second}/authorise", headers=editor).status_code == 200
    received = client.post(
        f"/api/returns/{second}/receive", json={"lines": [{"sku": SKU}]}, headers=editor
    ).get_json()
    assert received["status"] == "received" and received["lines"][0]["condition"] is None
    assert client.post(f"/api/returns/{second}/cancel", headers=editor).status_code == 409
    bad = client.post(
        f"/api/returns/{second}/inspect", json={"lines": [{"sku": SKU, "condition": "meh"}]},
        headers=editor,
    )  # fmt: skip
    assert bad.status_code == 422
    inspected = client.post(
        f"/api/returns/{second}/inspect",
        json={"lines": [{"sku": SKU, "condition": "damaged", "grade": "C"}]},
        headers=editor,
    ).get_json()
    assert inspected["status"] == "inspected"
    assert _on_hand(hub, "damaged") == 1 and _on_hand(hub, "default") == 0
    with hub.db.transaction() as session:
        assert ledger.levels(session, "acme", [SKU])[0]["on_hand"] == 0  # not for sale
        assert ledger.available_to_sell(session, "acme", [SKU]) == {SKU: 0}


def test_a_cancelled_return_changes_no_stock(hub, client, worker, viewer, editor):
    order = shipped_order(hub, client, worker, viewer, editor)
    rid = _open(client, editor, order["id"]).get_json()["id"]
    cancelled = client.post(
        f"/api/returns/{rid}/cancel", json={"reason": "kept it"}, headers=editor
    )
    assert cancelled.get_json()["status"] == "cancelled"
    assert client.post(
        f"/api/returns/{rid}/receive", json={"lines": [{"sku": SKU, "condition": "resellable"}]},
        headers=editor,
    ).status_code == 409  # fmt: skip
    assert _on_hand(hub, "default") == 0
    assert client.get("/api/returns/999999", headers=viewer).status_code == 404


def test_a_refund_is_queued_once_when_the_policy_says_so(hub, client, worker, viewer, editor):
    order = shipped_order(hub, client, worker, viewer, editor)
    account = hub.accounts["shop-a"]
    hub.accounts["shop-a"] = type(account)(
        account.name, account.connector, account.client,
        {**account.settings, "returns": {"refund": "on_receipt"}},
    )  # fmt: skip
    rid = _open(client, editor, order["id"]).get_json()["id"]
    client.post(f"/api/returns/{rid}/authorise", headers=editor)
    got = client.post(
        f"/api/returns/{rid}/receive", json={"lines": [{"sku": SKU, "condition": "resellable"}]},
        headers=editor,
    ).get_json()  # fmt: skip
    assert got["refund"]["status"] == "queued"
    with hub.db.transaction() as session:
        jobs = session.execute(select(JobRow).where(JobRow.kind == "return.refund")).scalars().all()
        assert [(j.payload, j.dedupe_key) for j in jobs] == [
            ({"return_id": rid, "account": "shop-a"}, f"return.refund:{rid}")
        ]
    kinds = [e["kind"] for e in got["events"]]
    assert kinds.count("refund_queued") == 1  # on receipt, not again at inspection


def test_a_channel_return_takes_back_only_what_shipped_from_here(
    hub, client, worker, viewer, editor
):
    # A channel restocks units it cancelled before they shipped, or shipped itself: of a
    # channel's return the hub opens what it shipped, and says what it left out.
    from hub.canonical import ReturnLineRequest, ReturnRequest
    from hub.returns import store

    order = shipped_order(hub, client, worker, viewer, editor)  # one iPod shipped
    account = hub.accounts[order["account"]]
    ipod = ReturnLineRequest(quantity=3, sku=SKU, reason="defective")
    with hub.db.transaction() as s:
        row = store.from_channel(
            s, hub, account,
            ReturnRequest(order["external_id"], "refund:1", "closed", [ipod]),
            actor="channel",
        )  # fmt: skip
        assert row is not None
        assert [line.quantity for line in store.lines_of(s, row.id)] == [1]
        [left_out] = [e for e in store.events_of(s, row.id) if e.kind == "left_out"]
        assert "2 of 3" in left_out.message and SKU in left_out.message
        # nothing more shipped from here: a second refund of the same line opens nothing
        again = ReturnRequest(order["external_id"], "refund:2", "closed", [ipod])
        assert store.from_channel(s, hub, account, again, actor="channel") is None
