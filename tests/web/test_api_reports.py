"""``/api/reports``: the index, each report as JSON and as CSV, its filters checked."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from hub.reports import kpis
from hub.storage.models import OrderRow


def _orders(hub) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with hub.db.transaction() as session:
        for n, (client, hours) in enumerate((("acme", 2), ("acme", 4), ("=cmd|calc", 6))):
            session.add(
                OrderRow(
                    client=client, channel="shopify", account="shop-a", external_id=f"e{n}",
                    status="shipped", currency="GBP", placed_at=today, data={"lines": []},
                    created_at=today, updated_at=today, shipped_at=today + timedelta(hours=hours),
                )
            )  # fmt: skip


def test_the_index_lists_every_report(client, viewer):
    answer = client.get("/api/reports", headers=viewer)
    assert answer.status_code == 200
    items = answer.get_json()["items"]
    assert [i["name"] for i in items] == list(kpis.REPORTS)
    assert all(set(i) == {"name", "title", "description"} for i in items)
    assert {"order_cycle_time", "on_time_shipment", "fill_rate", "stock_sync_lag"} <= {
        i["name"] for i in items
    }
    assert client.get("/api/reports").status_code == 401


def test_a_report_as_json_and_as_csv(hub, client, viewer):
    _orders(hub)
    answer = client.get("/api/reports/orders_by_channel", headers=viewer)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["name"] == "orders_by_channel" and body["filters"]["client"] is None
    assert {(r["client"], r["received"]) for r in body["rows"]} == {("acme", 2), ("=cmd|calc", 1)}
    only = client.get(
        "/api/reports/order_cycle_time", query_string={"client": "acme"}, headers=viewer
    ).get_json()
    assert only["rows"][0]["orders"] == 2 and only["filters"]["client"] == "acme"
    assert abs(only["rows"][0]["received_to_shipped_p50"] - 3 * 3600) < 3 * 36  # within 1 %
    as_csv = client.get(
        "/api/reports/orders_by_channel", query_string={"format": "csv"}, headers=viewer
    )
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    assert "attachment" in as_csv.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0] == [c["name"] for c in body["columns"]]
    assert ["shopify", "'=cmd|calc", "1", "1", "0"] in rows  # never a formula in a spreadsheet


def test_bad_report_parameters_are_named(client, viewer):
    missing = client.get("/api/reports/no_such_report", headers=viewer)
    assert (
        missing.status_code == 404 and "order_cycle_time" in missing.get_json()["error"]["message"]
    )
    for query, name in (
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"format": "xlsx"}, "format"),
        ({"client": "x" * 101}, "client"),
    ):
        answer = client.get("/api/reports/fill_rate", query_string=query, headers=viewer)
        assert answer.status_code == 400, query
        assert answer.get_json()["error"]["details"]["parameter"] == name
    backwards = client.get(
        "/api/reports/fill_rate", query_string={"from": "2026-02-01", "to": "2026-01-01"},
        headers=viewer,
    )  # fmt: skip
    assert backwards.status_code == 400 and "before it starts" in backwards.text
