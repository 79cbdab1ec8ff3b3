"""The console's reports: the index, a report with its chart (SVG drawn on the server), its
table in people's units and its CSV, filtered and limited to the clients a person sees."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from hub.reports import kpis
from hub.storage.models import OrderRow
from hub.web import charts
from tests.conftest import make_person, sign_in


def _shipped(hub, client: str, hours: float, n: int) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with hub.db.transaction() as session:
        session.add(
            OrderRow(
                client=client, channel="shopify", account="shop-a", external_id=f"{client}-{n}",
                status="shipped", currency="GBP", placed_at=today, data={"lines": []},
                created_at=today, updated_at=today, shipped_at=today + timedelta(hours=hours),
            )
        )  # fmt: skip


def _signed_in(hub, client, clients=None) -> None:
    email = make_person(hub, "ann@example.com", "viewer", clients)
    assert sign_in(client, email).status_code == 302


def test_the_reports_index_links_every_report(hub, client):
    _signed_in(hub, client)
    page = client.get("/admin/reports")
    assert page.status_code == 200
    for report in kpis.REPORTS.values():
        assert f'href="/admin/reports/{report.name}"' in page.text
        assert report.title in page.text
    assert 'href="/admin/reports"' in client.get("/admin").text  # in the navigation


def test_a_report_shows_its_chart_table_and_csv(hub, client):
    for n, hours in enumerate((2, 4, 6)):
        _shipped(hub, "acme", hours, n)
    _signed_in(hub, client)
    page = client.get("/admin/reports/order_cycle_time")
    assert page.status_code == 200
    svg = re.search(r"<svg[^>]*>.*?</svg>", page.text, re.S).group(0)
    assert 'role="img"' in svg and "style=" not in svg and "<script" not in svg
    bars = re.findall(r"<rect [^>]*><title>shopify, Received to shipped (p\d\d): ([\d.]+) h", svg)
    assert [name for name, _ in bars] == ["p50", "p90", "p99"]
    for (_, shown), hours in zip(bars, (4.0, 5.6, 5.96), strict=True):
        assert abs(float(shown) - hours) <= 0.1  # percentiles within 1 %, shown to 0.1 h
    assert '<td data-label="Orders shipped" class="num">3</td>' in page.text
    assert "Download CSV" in page.text
    download = client.get("/admin/reports/order_cycle_time/csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0][:2] == ["channel", "orders"] and rows[1][:2] == ["shopify", "3"]
    assert abs(float(rows[1][rows[0].index("received_to_shipped_p50")]) - 14400) < 144


def test_a_bad_filter_is_named_and_a_person_sees_only_their_clients(hub, client):
    _shipped(hub, "acme", 2, 1)
    _shipped(hub, "globex", 8, 2)
    _signed_in(hub, client, ["globex"])
    bad = client.get("/admin/reports/fill_rate", query_string={"from": "not-a-day"})
    assert bad.status_code == 400 and "from: Not a valid date." in bad.text
    backwards = client.get(
        "/admin/reports/fill_rate", query_string={"from": "2026-02-02", "to": "2026-02-01"}
    )
    assert backwards.status_code == 400 and "before it starts" in backwards.text
    page = client.get("/admin/reports/order_cycle_time")
    assert "8.0 h" in page.text and "2.0 h" not in page.text  # globex's only
    refused = client.get("/admin/reports/order_cycle_time", query_string={"client": "acme"})
    assert refused.status_code == 400 and "you do not see client" in refused.text
    assert client.get("/admin/reports/nothing_like_it").status_code == 404


def test_values_read_in_peoples_units():
    assert charts.show(None, "seconds") == "\u2013"
    assert charts.show(45.0, "seconds") == "45.0 s"
    assert charts.show(3 * 3600, "seconds") == "3.0 h"
    assert charts.show(3 * 86400, "seconds") == "3.0 d"
    assert charts.show(0.6, "ratio") == "60.0 %"
    assert charts.show(12345, "count") == "12,345"
    empty = charts.bars("Nothing", [], [("a", [])], "count")
    assert "Nothing in this range" in empty
    hostile = charts.bars("<b>", ["<script>"], [("x&y", [1])], "count")
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile and "x&amp;y" in hostile
