"""The fulfilment KPIs, computed in the database (SQLite and PostgreSQL answer the same):
orders, shipments, parcels and stock passes with chosen times go in, and each report's
figures are checked against what they must be, percentiles included."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import select

from hub.connectors import ParcelTracking, TrackingEvent
from hub.reports import kpis
from hub.shipping import tracking
from hub.storage.models import (
    DeliveryRow,
    JobRow,
    OrderLineRow,
    OrderRow,
    ParcelEventRow,
    ParcelRow,
    ShipmentRow,
    StockSyncPassRow,
)
from tests.conftest import (
    QUIET_ROYALMAIL,
    accounts_fixture,
    send_shopify,
    shipped_order,
    shopify_order,
)

accounts_file = accounts_fixture(
    QUIET_ROYALMAIL
    + """
[clients.acme]
ship_cutoff = "14:00"
timezone = "Europe/London"

[accounts.globex-shop]
connector = "woocommerce"
client = "globex"
url = "https://globex.example"
webhook_secret = "globex-secret"
consumer_key = "ck_g"
consumer_secret = "cs_g"
"""
)

DAY = date(2026, 6, 15)  # summer: London is UTC+1
_ids = count(1)


def at(hour: float, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)


def _order(
    session,
    *,
    channel: str = "shopify",
    client: str = "acme",
    received: datetime,
    placed: datetime | None = None,
    shipped: datetime | None = None,
    status: str | None = None,
    lines: list[int] = (1,),
    lines_shipped: int | None = None,
) -> OrderRow:
    n = next(_ids)
    account = {"shopify": "shop-a", "woocommerce": "globex-shop"}[channel]
    row = OrderRow(
        client=client,
        channel=channel,
        account=account,
        external_id=f"ext-{n}",
        number=f"#{n}",
        status=status or ("shipped" if shipped else "released"),
        currency="GBP",
        placed_at=placed or received - timedelta(minutes=10),
        data={"lines": [{"sku": f"SKU-{i}", "quantity": q} for i, q in enumerate(lines)]},
        created_at=received,
        updated_at=received,
        shipped_at=shipped,
        line_count=len(lines),
        lines_shipped=len(lines) if shipped and lines_shipped is None else (lines_shipped or 0),
    )
    session.add(row)
    session.flush()
    session.add_all(
        OrderLineRow(order_id=row.id, position=i, sku=f"SKU-{i}") for i in range(len(lines))
    )
    return row


def _parcel(
    session,
    order: OrderRow,
    *,
    carrier: str = "royalmail",
    service: str | None = "TPN24",
    delivered: datetime | None = None,
    estimated: datetime | None = None,
    lines: list[tuple[int, int]] = ((0, 1),),
) -> ParcelRow:
    shipment = ShipmentRow(
        order_id=order.id, shipped_at=order.shipped_at or at(12), source="test", created_at=at(12)
    )
    session.add(shipment)
    session.flush()
    parcel = ParcelRow(
        shipment_id=shipment.id,
        order_id=order.id,
        order_placed_at=order.placed_at,
        carrier=carrier,
        service=service,
        tracking_number=f"TN{next(_ids)}",
        status="delivered" if delivered else "in_transit",
        estimated_delivery=estimated,
        lines=[{"position": p, "sku": f"SKU-{p}", "quantity": q} for p, q in lines],
        delivered_at=delivered,
    )
    session.add(parcel)
    session.flush()
    return parcel


def _run(hub, name: str, **given) -> dict:
    filters = kpis.Filters.of(given.pop("start", DAY), given.pop("end", DAY), **given)
    with hub.db.transaction() as session:
        return kpis.run(hub, session, name, filters)


def _by(rows: list[dict], key: str) -> dict[str, dict]:
    return {row[key]: row for row in rows}


def test_order_cycle_time_gives_percentiles_per_channel_and_for_all(hub):
    with hub.db.transaction() as session:
        for hours in (1, 2, 3, 4, 10):  # received at 08:00, shipped so many hours later
            _order(session, received=at(8), shipped=at(8 + hours), placed=at(7))
        _order(session, channel="woocommerce", client="globex", received=at(9), shipped=at(15))
        _order(session, received=at(8), shipped=at(30))  # shipped the next day: out of range
        _order(session, received=at(8))  # not shipped
    result = _run(hub, "order_cycle_time")
    rows = _by(result["rows"], "channel")
    shopify = rows["shopify"]
    assert shopify["orders"] == 5
    assert shopify["received_to_shipped_p50"] == pytest.approx(3 * 3600, rel=0.01)
    # as percentile_cont would (4 h and 10 h apart: 7.6 h at p90, 9.76 h at p99), within 1 %
    assert shopify["received_to_shipped_p90"] == pytest.approx(7.6 * 3600, rel=0.01)
    assert shopify["received_to_shipped_p99"] == pytest.approx(9.76 * 3600, rel=0.01)
    assert shopify["placed_to_shipped_p50"] == pytest.approx(4 * 3600, rel=0.01)
    assert rows["woocommerce"]["orders"] == 1
    assert rows["all channels"]["orders"] == 6
    assert [c["unit"] for c in result["columns"]][:3] == ["text", "count", "seconds"]
    only = _run(hub, "order_cycle_time", client="globex")
    assert [r["channel"] for r in only["rows"]] == ["woocommerce"]
    limited = _run(hub, "order_cycle_time", clients=["globex"])
    assert [r["channel"] for r in limited["rows"]] == ["woocommerce"]
    wider = _run(hub, "order_cycle_time", end=DAY + timedelta(days=1))
    assert _by(wider["rows"], "channel")["shopify"]["orders"] == 6


def test_on_time_shipment_counts_the_cutoff_in_the_clients_own_time(hub):
    with hub.db.transaction() as session:
        # acme is in London (UTC+1 in June), cutoff 14:00 local = 13:00 UTC
        _order(session, received=at(12.5), shipped=at(20))  # before cutoff, shipped that day
        _order(session, received=at(12.5), shipped=at(23.5))  # 00:30 local next day: late
        _order(session, received=at(13.5), shipped=at(23.5))  # after cutoff: due next day
        _order(session, received=at(13.5 - 24), shipped=at(9))  # after cutoff yesterday: ok
        _order(session, received=at(10 - 24), shipped=at(9))  # due yesterday: late
        # globex has no [clients] table: the hub's UTC and 14:00
        _order(session, channel="woocommerce", client="globex", received=at(13.5), shipped=at(23.5))
    rows = _by(_run(hub, "on_time_shipment")["rows"], "client")
    assert rows["acme"] == {
        "client": "acme",
        "cutoff": "14:00",
        "timezone": "Europe/London",
        "shipped": 5,
        "on_time": 3,
        "late": 2,
        "on_time_rate": 0.6,
    }
    assert rows["globex"]["timezone"] == "UTC" and rows["globex"]["on_time_rate"] == 1.0


def test_click_to_deliver_and_carrier_on_time_by_carrier_and_service(hub):
    with hub.db.transaction() as session:
        for days, estimate in ((1, 2), (2, 2), (3, 2), (4, None)):
            order = _order(session, received=at(-100), placed=at(-100), shipped=at(-90))
            _parcel(
                session,
                order,
                delivered=at(-100 + 24 * days),
                estimated=at(-100 + 24 * estimate - 5) if estimate else None,
            )
        order = _order(session, received=at(-50), placed=at(-50), shipped=at(-40))
        _parcel(session, order, carrier="dpd", service=None, delivered=at(-50 + 36))
        _parcel(session, _order(session, received=at(-5), shipped=at(-1)))  # not delivered
    week = {"start": DAY - timedelta(days=6), "end": DAY}
    rows = _by(_run(hub, "click_to_deliver", **week)["rows"], "label")
    assert rows["royalmail TPN24"]["parcels"] == 4
    assert rows["royalmail TPN24"]["click_to_deliver_p50"] == pytest.approx(2.5 * 86400, rel=0.01)
    assert rows["dpd"]["click_to_deliver_p50"] == pytest.approx(36 * 3600, rel=0.01)
    on_time = _by(_run(hub, "carrier_on_time", **week)["rows"], "label")
    royal = on_time["royalmail TPN24"]
    assert (royal["delivered"], royal["estimated"], royal["on_time"], royal["late"]) == (4, 3, 2, 1)
    assert royal["on_time_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert on_time["dpd"]["on_time_rate"] is None  # no estimate: no rate, not 0 %


def test_fill_rate_counts_lines_shipped_complete(hub):
    with hub.db.transaction() as session:
        _order(session, received=at(8), shipped=at(12), lines=[1, 2])  # 2 of 2
        partial = _order(
            session, received=at(9), status="partially_shipped", lines=[2, 1, 1], lines_shipped=1
        )
        _parcel(session, partial, lines=[(0, 1), (1, 1)])  # line 0 short, line 1 complete
        _parcel(session, partial, lines=[(0, 0)])
        _order(session, received=at(9))  # not shipped: not counted
    row = _run(hub, "fill_rate")["rows"][0]
    assert (row["orders"], row["lines"], row["lines_complete"]) == (2, 5, 3)
    assert row["fill_rate"] == 0.6


def test_stock_sync_lag_per_account(hub):
    with hub.db.transaction() as session:
        for minutes in (1, 2, 3, 30):
            session.add(
                StockSyncPassRow(
                    account="shop-a",
                    client="acme",
                    at=at(10),
                    mode="delta",
                    pushed=3,
                    confirmed=3,
                    refused=0,
                    oldest_change_at=at(10) - timedelta(minutes=minutes),
                )
            )
        session.add(
            StockSyncPassRow(
                account="globex-shop", client="globex", at=at(10), mode="full",
                pushed=1, confirmed=1, refused=0, oldest_change_at=None,
            )
        )  # fmt: skip
    result = _run(hub, "stock_sync_lag")
    rows = _by(result["rows"], "account")
    assert list(rows) == ["shop-a"]  # a pass with no dated change has no lag to show
    assert rows["shop-a"]["passes"] == 4 and rows["shop-a"]["confirmed"] == 12
    assert rows["shop-a"]["lag_p50"] == pytest.approx(150, rel=0.01)
    assert rows["shop-a"]["lag_max"] == pytest.approx(1800, abs=0.5)
    assert _run(hub, "stock_sync_lag", channel="woocommerce")["rows"] == []


def test_orders_by_channel_and_by_local_hour(hub):
    with hub.db.transaction() as session:
        _order(session, received=at(8.5))
        _order(session, received=at(8.9), shipped=at(12))
        _order(session, received=at(23.5), status="cancelled")
        _order(session, channel="woocommerce", client="globex", received=at(8.2))
    channels = _by(_run(hub, "orders_by_channel")["rows"], "label")
    assert channels["shopify / acme"] == {
        "channel": "shopify", "client": "acme", "received": 3, "shipped": 1, "cancelled": 1,
        "label": "shopify / acme",
    }  # fmt: skip
    utc = _by(_run(hub, "orders_by_hour")["rows"], "hour")
    assert utc["08:00"] == {"hour": "08:00", "shopify": 2, "woocommerce": 1, "total": 3}
    assert utc["23:00"]["total"] == 1 and len(utc) == 24
    london = _run(hub, "orders_by_hour", client="acme")
    assert london["columns"][0]["title"] == "Hour (Europe/London)"
    hours = _by(london["rows"], "hour")
    assert hours["09:00"]["shopify"] == 2 and hours["00:00"]["shopify"] == 1


def test_exceptions_by_cause_groups_the_same_cause(hub):
    with hub.db.transaction() as session:
        for n in (150, 151, 152):
            session.add(
                DeliveryRow(
                    account="shop-a", connector="shopify", topic="orders/create",
                    dedupe_key=f"d{n}", headers={}, body=b"{}", status="failed",
                    error=f"number is {n} characters long; at most 100 are kept",
                    received_at=at(9),
                )
            )  # fmt: skip
        session.add(
            JobRow(
                kind="stock.push", payload={}, status="dead", attempts=8, max_attempts=8,
                finished_at=at(10), run_at=at(10),
            )
        )  # fmt: skip
        order = _order(session, received=at(8), shipped=at(9))
        parcel = _parcel(session, order)
        session.add(
            ParcelEventRow(
                parcel_id=parcel.id, at=at(11), status="exception", code="X", source="poll",
                received_at=at(11),
            )
        )  # fmt: skip
        _order(session, received=at(8), status="needs_attention")
    rows = _run(hub, "exceptions_by_cause")["rows"]
    assert rows[0] == {
        "kind": "failed delivery",
        "cause": "number is … characters long; at most … are kept",
        "count": 3,
        "label": "failed delivery: number is … characters long; at most … are…",
    }
    found = {(r["kind"], r["cause"]): r["count"] for r in rows}
    assert found[("dead job", "stock.push")] == 1
    assert found[("parcel flagged", "royalmail: exception")] == 1
    assert found[("order needs attention", "waiting for a person now")] == 1
    globex = _run(hub, "exceptions_by_cause", client="globex")["rows"]
    assert globex == []  # acme's failures and jobs (which name no client) are not globex's


def test_a_range_must_be_sensible():
    with pytest.raises(ValueError, match="before it starts"):
        kpis.Filters.of(DAY, DAY - timedelta(days=1))
    with pytest.raises(ValueError, match="at most"):
        kpis.Filters.of(DAY - timedelta(days=kpis.MAX_DAYS), DAY)
    default = kpis.Filters.of(today=DAY)
    assert (default.start, default.end) == (DAY - timedelta(days=29), DAY)


def test_a_real_order_shipped_and_delivered_fills_the_report_columns(
    hub, client, worker, viewer, editor
):
    order = shipped_order(hub, client, worker, viewer, editor)
    with hub.db.transaction() as session:
        row = session.get(OrderRow, order["id"])
        assert row.shipped_at is not None and row.status == "shipped"
        assert row.line_count == len(row.data["lines"]) and row.lines_shipped == row.line_count
        parcel = session.execute(select(ParcelRow)).scalar_one()
        assert parcel.delivered_at is None and parcel.order_placed_at == row.placed_at
    delivered_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with hub.db.transaction() as session:
        parcel = session.execute(select(ParcelRow)).scalar_one()
        tracking.apply(
            hub,
            session,
            parcel,
            ParcelTracking(
                tracking_number=parcel.tracking_number,
                found=True,
                status="delivered",
                events=(TrackingEvent(at=delivered_at, status="delivered", code="EVKSP"),),
            ),
            source="poll",
        )
    with hub.db.transaction() as session:
        assert session.execute(select(ParcelRow.delivered_at)).scalar_one() == delivered_at
    today = datetime.now(UTC).date()
    result = _run(hub, "click_to_deliver", start=today - timedelta(days=1), end=today)
    assert [r["parcels"] for r in result["rows"]] == [1]
    cycle = _run(hub, "order_cycle_time", start=today, end=today)
    assert cycle["rows"][0]["orders"] == 1
    assert json.dumps(cycle)  # JSON all the way
    send_shopify(client, shopify_order())  # the same order again changes none of it
    worker.drain()
    with hub.db.transaction() as session:
        assert session.get(OrderRow, order["id"]).shipped_at == row.shipped_at
