"""The return rate reports (by SKU, by channel account, by reason) on SQLite and PostgreSQL:
shipments and returns with chosen days, states and reasons go in, and the figures are checked
against sums done by hand. Rejected and cancelled returns take nothing back, so they count
nowhere; a return opened in the range counts even when its goods shipped before it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.reports import kpis
from hub.storage.models import OrderRow, ParcelRow, ReturnLineRow, ReturnRow
from tests.conftest import shipped_order
from tests.reports.test_kpis import DAY, _by, _order, _parcel, _run, accounts_file, at

__all__ = ["accounts_file"]  # the accounts of the KPI tests: shop-a (acme), globex-shop


def _return(
    session,
    order: OrderRow,
    lines: list[tuple[int, int, str]],
    *,
    status: str = "requested",
    opened=None,
    received: dict[int, int] | None = None,
) -> ReturnRow:
    """A return of ``order``'s lines ``(position, quantity, reason)``; ``received`` units per
    position for one that came in."""
    row = ReturnRow(
        order_id=order.id,
        client=order.client,
        account=order.account,
        channel=order.channel,
        status=status,
        source="api",
        created_at=opened or at(13),
        updated_at=opened or at(13),
    )
    session.add(row)
    session.flush()
    session.add_all(
        ReturnLineRow(
            return_id=row.id,
            position=position,
            sku=f"SKU-{position}",
            quantity=quantity,
            reason=reason,
            received=(received or {}).get(position, 0),
        )
        for position, quantity, reason in lines
    )
    return row


def _shop(hub) -> None:
    """acme (shop-a) ships 10 of SKU-0 and 4 of SKU-1 on the day, globex 5 of its own SKU-0;
    returns (opened on the day unless said):

    ===  ======  =========================================  ===========================
    R1   acme    2 SKU-0 size_too_small, 1 SKU-1 defective   requested: 3 asked for
    R2   acme    3 SKU-0 size_too_small                      inspected, 2 came in: 2
    R3   globex  1 SKU-0 wrong_item                          authorised: 1
    R4   acme    1 SKU-0 unwanted (shipped the day before)   requested: 1
    R5   acme    1 SKU-1 defective                           rejected: nothing
    R6   acme    2 SKU-0 size_too_small                      cancelled: nothing
    R7   acme    1 SKU-0 unwanted                            the next day: out of range
    ===  ======  =========================================  ===========================
    """
    with hub.db.transaction() as session:
        first = _order(session, received=at(8), shipped=at(12), lines=[4, 4])
        _parcel(session, first, lines=[(0, 4), (1, 4)])
        second = _order(session, received=at(8), shipped=at(12), lines=[6])
        _parcel(session, second, lines=[(0, 4)])
        _parcel(session, second, lines=[(0, 2)])  # two parcels, one order
        globex = _order(
            session, channel="woocommerce", client="globex", received=at(8), shipped=at(12)
        )
        _parcel(session, globex, lines=[(0, 5)])
        before = _order(session, received=at(-20), shipped=at(-16), lines=[3])
        _parcel(session, before, lines=[(0, 3)])
        _return(session, first, [(0, 2, "size_too_small"), (1, 1, "defective")])
        _return(session, second, [(0, 3, "size_too_small")], status="inspected", received={0: 2})
        _return(session, globex, [(0, 1, "wrong_item")], status="authorised")
        _return(session, before, [(0, 1, "unwanted")])
        _return(session, first, [(1, 1, "defective")], status="rejected")
        _return(session, second, [(0, 2, "size_too_small")], status="cancelled")
        _return(session, before, [(0, 1, "unwanted")], opened=at(13) + timedelta(days=1))


def test_return_rate_by_sku_counts_units_against_units_shipped(hub):
    _shop(hub)
    result = _run(hub, "return_rate_by_sku")
    assert [(r["client"], r["sku"], r["shipped"], r["returned"], r["return_rate"])
            for r in result["rows"]] == [
        ("acme", "SKU-0", 10, 5, 0.5),  # R1 2 + R2 2 (what came in) + R4 1
        ("acme", "SKU-1", 4, 1, 0.25),  # R1; R5 was rejected
        ("globex", "SKU-0", 5, 1, 0.2),  # the same SKU name, another client's goods
    ]  # fmt: skip
    assert result["chart"] == {"label": "label", "series": ["return_rate"]}
    assert result["rows"][0]["label"] == "SKU-0 (acme)"
    assert "opened in the range" in result["note"]


def test_return_rate_by_account(hub):
    _shop(hub)
    rows = _by(_run(hub, "return_rate_by_account")["rows"], "account")
    assert rows == {
        "shop-a": {
            "account": "shop-a", "channel": "shopify", "client": "acme",
            "shipped": 14, "returns": 3, "returned": 6, "return_rate": 0.4286,  # 6 / 14
        },
        "globex-shop": {
            "account": "globex-shop", "channel": "woocommerce", "client": "globex",
            "shipped": 5, "returns": 1, "returned": 1, "return_rate": 0.2,
        },
    }  # fmt: skip


def test_return_reasons_give_each_reasons_share(hub):
    _shop(hub)
    result = _run(hub, "return_reasons")
    assert [(r["reason"], r["returns"], r["returned"], r["share"], r["return_rate"])
            for r in result["rows"]] == [
        ("size_too_small", 2, 4, 0.5714, 0.2105),  # 4 of the 7 returned, of the 19 shipped
        ("defective", 1, 1, 0.1429, 0.0526),  # ties by name
        ("unwanted", 1, 1, 0.1429, 0.0526),
        ("wrong_item", 1, 1, 0.1429, 0.0526),
    ]  # fmt: skip
    assert "Units shipped in the range: 19." in result["note"]


def test_the_filters_and_the_readers_clients_narrow_both_sides(hub):
    _shop(hub)
    acme = _run(hub, "return_reasons", client="acme")["rows"]
    assert {r["reason"]: (r["returned"], r["share"], r["return_rate"]) for r in acme} == {
        "size_too_small": (4, 0.6667, 0.2857),  # 4 of 6 returned, of 14 shipped
        "defective": (1, 0.1667, 0.0714),
        "unwanted": (1, 0.1667, 0.0714),
    }
    woo = _run(hub, "return_rate_by_account", channel="woocommerce")["rows"]
    assert [r["account"] for r in woo] == ["globex-shop"]
    limited = _run(hub, "return_rate_by_sku", clients=["globex"])["rows"]
    assert [(r["client"], r["returned"]) for r in limited] == [("globex", 1)]
    week = _run(hub, "return_rate_by_sku", start=DAY - timedelta(days=1), end=DAY)["rows"]
    # the day before shipped 3 more of acme's SKU-0; R7 (the day after) is still out
    assert (week[0]["sku"], week[0]["shipped"], week[0]["returned"]) == ("SKU-0", 13, 5)


def test_nothing_shipped_or_returned_gives_no_rows_and_no_rate(hub):
    assert _run(hub, "return_rate_by_sku")["rows"] == []
    reasons = _run(hub, "return_reasons")
    assert reasons["rows"] == [] and "Units shipped in the range: 0." in reasons["note"]
    with hub.db.transaction() as session:
        before = _order(session, received=at(-20), shipped=at(-16), lines=[3])
        _parcel(session, before, lines=[(0, 3)])
        _return(session, before, [(0, 1, "unwanted")])
    [row] = _run(hub, "return_rate_by_account")["rows"]
    assert (row["shipped"], row["returned"], row["return_rate"]) == (0, 1, None)


def test_a_real_return_through_the_api_is_counted(hub, client, worker, viewer, editor):
    """The Shopify docs order shipped through ``POST /api/shipments``, then a return opened,
    authorised with a label (followed as a parcel coming back, which ships nothing) and
    received; and one rejected. The parcel's own lines are what the report reads."""
    order = shipped_order(hub, client, worker, viewer, editor)
    line = {"sku": "IPOD2008RED", "quantity": 1, "reason": "defective"}
    refused = client.post(
        "/api/returns", json={"order_id": order["id"], "lines": [line]}, headers=editor
    ).get_json()
    rejected = client.post(
        f"/api/returns/{refused['id']}/reject", json={"reason": "outside the window"},
        headers=editor,
    )  # fmt: skip
    assert rejected.status_code == 200, rejected.get_json()
    opened = client.post(
        "/api/returns", json={"order_id": order["id"], "lines": [line]}, headers=editor
    ).get_json()
    rid = opened["id"]
    label = {"carrier": "royalmail", "tracking_number": "RT000000001GB"}
    assert (
        client.post(f"/api/returns/{rid}/authorise", json=label, headers=editor).status_code == 200
    )
    received = client.post(
        f"/api/returns/{rid}/receive",
        json={"lines": [{"sku": "IPOD2008RED", "quantity": 1, "condition": "damaged"}]},
        headers=editor,
    )
    assert received.status_code == 200, received.get_json()
    with hub.db.transaction() as session:  # the label is followed as a parcel coming back
        directions = session.execute(select(ParcelRow.direction).order_by(ParcelRow.id))
        assert directions.scalars().all() == ["outbound", "return"]
    answer = client.get("/api/reports/return_rate_by_sku", headers=viewer)
    assert answer.status_code == 200
    assert [(r["sku"], r["shipped"], r["returned"], r["return_rate"])
            for r in answer.get_json()["rows"]] == [("IPOD2008RED", 1, 1, 1.0)]  # fmt: skip
    csv = client.get("/api/reports/return_reasons", query_string={"format": "csv"}, headers=viewer)
    assert csv.mimetype == "text/csv"
    assert csv.get_data(as_text=True).splitlines() == [
        "reason,returns,returned,share,return_rate",
        "defective,1,1,1.0,1.0",
    ]
    index = client.get("/api/reports", headers=viewer).get_json()["items"]
    names = [i["name"] for i in index]
    assert {"return_rate_by_sku", "return_rate_by_account", "return_reasons"} <= set(names)
    assert list(kpis.REPORTS)[-3:] == ["return_rate_by_sku", "return_rate_by_account",
                                       "return_reasons"]  # fmt: skip
