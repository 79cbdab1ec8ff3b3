"""The fulfilment KPIs (after WERC's definitions), each computed in the database over indexed
columns and filtered by client, channel and a range of days: the console's ``/admin/reports``
and ``/api/reports`` show the same tables. Percentiles come from values counted per bucket of a
log scale 1 % wide (a grouped count, no sort: fast on a year of orders), so they are within
1 % of the exact figure.

Times are in seconds (a duration's base unit) and shares are ratios (0..1); the console
formats them for people. Where a mean would hide the slow tail, a report gives the 50th,
90th and 99th percentiles. The range is of UTC days, both ends included, and each report
says which time falls in it (shipped, delivered, received, opened).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, select, true
from sqlalchemy.orm import Session

from hub.returns.store import CLOSED, INSPECTED, RECEIVED, VOID
from hub.runtime import Hub
from hub.shipping.tracking import FLAGGED, OUTBOUND
from hub.storage import sql
from hub.storage.models import (
    DeliveryRow,
    JobRow,
    OrderRow,
    ParcelEventRow,
    ParcelRow,
    ReturnLineRow,
    ReturnRow,
    ShipmentRow,
    StockSyncPassRow,
)

#: the percentiles a duration report gives, as (column suffix, fraction)
PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
#: days a report covers when no range is given (ending today)
DEFAULT_DAYS = 30
#: the longest range a report takes
MAX_DAYS = 3660
SHIPPED = ("shipped", "delivered")


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    client: str | None = None
    channel: str | None = None
    #: the reader's clients (None: every client)
    clients: tuple[str, ...] | None = None

    @classmethod
    def of(
        cls,
        start: date | None = None,
        end: date | None = None,
        client: str | None = None,
        channel: str | None = None,
        clients: Iterable[str] | None = None,
        today: date | None = None,
    ) -> Filters:
        """Defaults: the last :data:`DEFAULT_DAYS` days to today. Raises ValueError for a range
        that ends before it starts or is longer than :data:`MAX_DAYS`."""
        today = today or datetime.now(UTC).date()
        end = end or today
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        if end < start:
            raise ValueError(f"the range ends ({end}) before it starts ({start})")
        if (end - start).days >= MAX_DAYS:
            raise ValueError(f"a range is at most {MAX_DAYS} days")
        limit = tuple(sorted(clients)) if clients is not None else None
        return cls(start, end, client, channel, limit)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(), tzinfo=UTC)

    @property
    def until(self) -> datetime:
        """The first moment after the range."""
        return datetime.combine(self.end + timedelta(days=1), time(), tzinfo=UTC)

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "client": self.client,
            "channel": self.channel,
        }


@dataclass(frozen=True)
class Column:
    name: str
    title: str
    #: text, count, seconds or ratio
    unit: str = "count"


@dataclass
class Table:
    columns: list[Column]
    rows: list[dict[str, Any]]
    #: the column that names each bar, and the columns drawn as bars
    chart_label: str | None = None
    chart_series: list[str] = field(default_factory=list)
    #: what the range selects, in words
    note: str = ""


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    description: str
    run: Callable[[Hub, Session, Filters], Table]

    def index_json(self) -> dict[str, str]:
        return {"name": self.name, "title": self.title, "description": self.description}


REPORTS: dict[str, Report] = {}


def report(name: str, title: str, description: str):
    def register(run: Callable[[Hub, Session, Filters], Table]):
        REPORTS[name] = Report(name, title, description, run)
        return run

    return register


def run(hub: Hub, session: Session, name: str, filters: Filters) -> dict[str, Any]:
    """One report as JSON: what it is, its filters, its columns and rows."""
    found = REPORTS[name]
    table = found.run(hub, session, filters)
    return {
        **found.index_json(),
        "filters": filters.to_json(),
        "note": table.note,
        "columns": [{"name": c.name, "title": c.title, "unit": c.unit} for c in table.columns],
        "rows": table.rows,
        "chart": {"label": table.chart_label, "series": table.chart_series}
        if table.chart_label
        else None,
    }


# -- shared pieces -------------------------------------------------------------------------------
def _orders(query: Any, filters: Filters) -> Any:
    """Only the orders the filters (and the reader's clients) select."""
    if filters.client:
        query = query.where(OrderRow.client == filters.client)
    if filters.channel:
        query = query.where(OrderRow.channel == filters.channel)
    if filters.clients is not None:
        query = query.where(OrderRow.client.in_(filters.clients))
    return query


def _in_range(column: Any, filters: Filters) -> Any:
    return and_(column >= filters.since, column < filters.until)


def _from_histogram(prefix: str, counts: Counter[int]) -> dict[str, float | None]:
    """``prefix_p50`` etc. from values counted per :class:`~hub.storage.sql.log_bucket`, as
    ``percentile_cont`` takes them: between the two values nearest the rank ``q * (n - 1)``,
    each read as its place within its bucket. So within 1 % of the exact figure."""
    ordered = sorted(counts.items())
    n = sum(counts.values())

    def value(k: int) -> float:
        """The ``k``-th smallest value (from 0), spread evenly through its bucket."""
        seen = 0
        for bucket, count in ordered:
            if k < seen + count:
                low, high = sql.bucket_range(bucket)
                return low + (high - low) * (k - seen + 0.5) / count
            seen += count
        raise IndexError(k)

    out: dict[str, float | None] = {}
    for name, q in PERCENTILES:
        if not n:
            out[f"{prefix}_{name}"] = None
            continue
        rank = q * (n - 1)
        below, above = math.floor(rank), math.ceil(rank)
        low = value(below)
        out[f"{prefix}_{name}"] = _number(low + (value(above) - low) * (rank - below))
    return out


def _percentiles(
    session: Session, make: Callable[..., Any], group: list[Any], measures: dict[str, Any]
) -> tuple[dict[tuple[Any, ...], dict[str, Any]], dict[str, Any]]:
    """Per group (a tuple of the ``group`` columns' values) and for all groups together: how
    many rows (``count``, from the first measure's query) and each measure's percentiles
    (``prefix_p50``...). ``make(*columns)`` is the select with the report's conditions; each
    measure (an expression in seconds) costs one grouped count, no sort."""
    per_group: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(dict)
    total: dict[str, Any] = {}
    for index, (prefix, seconds) in enumerate(measures.items()):
        bucket = sql.log_bucket(seconds)
        query = make(*group, bucket, func.count()).group_by(*group, bucket)
        found: dict[tuple[Any, ...], Counter[int]] = defaultdict(Counter)
        rows: Counter[tuple[Any, ...]] = Counter()
        everything: Counter[int] = Counter()
        for *key, at, count in session.execute(query):
            rows[tuple(key)] += count
            if at is not None:
                found[tuple(key)][int(at)] += count
                everything[int(at)] += count
        for key in rows:
            if index == 0:
                per_group[key]["count"] = rows[key]
            per_group[key].update(_from_histogram(prefix, found.get(key, Counter())))
        if index == 0:
            total["count"] = sum(rows.values())
        total.update(_from_histogram(prefix, everything))
    return dict(per_group), total


def _spread_columns(prefix: str, title: str) -> list[Column]:
    return [Column(f"{prefix}_{n}", f"{title} {n}", "seconds") for n, _ in PERCENTILES]


def _named(name: str, key: tuple[Any, ...], figures: dict[str, Any], count: str) -> dict[str, Any]:
    """A row: the group's name, then its count (as ``count``) and its percentiles."""
    return {name: key[0], count: figures.get("count", 0), **{
        k: v for k, v in figures.items() if k != "count"
    }}  # fmt: skip


def _number(value: Any, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def _clock(at: time) -> str:
    return at.strftime("%H:%M:%S")


def _short(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rows(result: Any) -> list[dict[str, Any]]:
    """Rows as dicts: texts and counts as they are, other numbers (durations, sums from
    PostgreSQL's numeric) as floats rounded to tenths."""
    return [
        {
            key: value if value is None or isinstance(value, str | int) else _number(value)
            for key, value in row.items()
        }
        for row in result.mappings()
    ]


# -- the reports ---------------------------------------------------------------------------------
@report(
    "order_cycle_time",
    "Order cycle time",
    "From the order being placed, and from the hub receiving it, to its shipping complete; "
    "by channel, for orders shipped complete in the range.",
)
def order_cycle_time(hub: Hub, session: Session, filters: Filters) -> Table:
    def make(*columns: Any) -> Any:
        return _orders(select(*columns).where(_in_range(OrderRow.shipped_at, filters)), filters)

    groups, total = _percentiles(
        session,
        make,
        [OrderRow.channel],
        {
            "received_to_shipped": sql.seconds_between(OrderRow.shipped_at, OrderRow.created_at),
            "placed_to_shipped": sql.seconds_between(OrderRow.shipped_at, OrderRow.placed_at),
        },
    )
    rows = [_named("channel", key, figures, "orders") for key, figures in sorted(groups.items())]
    if len(rows) > 1:
        rows.append(_named("channel", ("all channels",), total, "orders"))
    return Table(
        [
            Column("channel", "Channel", "text"),
            Column("orders", "Orders shipped"),
            *_spread_columns("placed_to_shipped", "Placed to shipped"),
            *_spread_columns("received_to_shipped", "Received to shipped"),
        ],
        rows,
        "channel",
        [f"received_to_shipped_{n}" for n, _ in PERCENTILES],
        "Orders that shipped complete in the range.",
    )


@report(
    "on_time_shipment",
    "On-time shipment",
    "Orders shipped on the day they were due: the day the hub received them when before the "
    "client's same-day cutoff, else the next day (local time, calendar days); by client, for "
    "orders shipped complete in the range.",
)
def on_time_shipment(hub: Hub, session: Session, filters: Filters) -> Table:
    default = hub.client("")  # the hub-wide cutoff and time zone
    zone = case(
        *((OrderRow.client == n, literal(c.timezone.key)) for n, c in hub.clients.items()),
        else_=literal(default.timezone.key),
    ) if hub.clients else literal(default.timezone.key)  # fmt: skip
    cutoff = case(
        *((OrderRow.client == n, literal(_clock(c.ship_cutoff))) for n, c in hub.clients.items()),
        else_=literal(_clock(default.ship_cutoff)),
    ) if hub.clients else literal(_clock(default.ship_cutoff))  # fmt: skip
    on_time = sql.shipped_on_time(OrderRow.created_at, OrderRow.shipped_at, zone, cutoff)
    query = _orders(
        select(OrderRow.client, func.count(), func.sum(case((on_time, 1), else_=0)))
        .where(_in_range(OrderRow.shipped_at, filters))
        .group_by(OrderRow.client)
        .order_by(OrderRow.client),
        filters,
    )
    rows = []
    for name, shipped, in_time in session.execute(query):
        settings = hub.client(name)
        shipped, in_time = int(shipped), int(in_time or 0)
        rows.append(
            {
                "client": name,
                "cutoff": settings.ship_cutoff.strftime("%H:%M"),
                "timezone": settings.timezone.key,
                "shipped": shipped,
                "on_time": in_time,
                "late": shipped - in_time,
                "on_time_rate": _ratio(in_time, shipped),
            }
        )
    return Table(
        [
            Column("client", "Client", "text"),
            Column("cutoff", "Cutoff", "text"),
            Column("timezone", "Time zone", "text"),
            Column("shipped", "Shipped"),
            Column("on_time", "On time"),
            Column("late", "Late"),
            Column("on_time_rate", "On-time rate", "ratio"),
        ],
        rows,
        "client",
        ["on_time_rate"],
        "Orders that shipped complete in the range.",
    )


def _delivered(query: Any, filters: Filters) -> Any:
    """Parcels delivered in the range; joined to their orders only when the filters ask
    about orders (a parcel keeps its order's placed time). Outbound parcels only: a return's
    label delivered back to the warehouse is no delivery to a customer."""
    query = query.where(
        _in_range(ParcelRow.delivered_at, filters), ParcelRow.direction == "outbound"
    )
    if filters.client or filters.channel or filters.clients is not None:
        query = _orders(query.join(OrderRow, OrderRow.id == ParcelRow.order_id), filters)
    return query


@report(
    "click_to_deliver",
    "Click to deliver",
    "From the order being placed to its parcel being delivered, by carrier and service, for "
    "parcels delivered in the range.",
)
def click_to_deliver(hub: Hub, session: Session, filters: Filters) -> Table:
    service = func.coalesce(ParcelRow.service, "")
    groups, _ = _percentiles(
        session,
        lambda *columns: _delivered(select(*columns), filters),
        [ParcelRow.carrier, service],
        {
            "click_to_deliver": sql.seconds_between(
                ParcelRow.delivered_at, ParcelRow.order_placed_at
            )
        },
    )
    rows = []
    for (carrier, kind), figures in sorted(groups.items()):
        rows.append(
            {
                "carrier": carrier,
                "service": kind,
                "parcels": figures.pop("count"),
                **figures,
                "label": f"{carrier} {kind}".strip(),
            }
        )
    return Table(
        [
            Column("carrier", "Carrier", "text"),
            Column("service", "Service", "text"),
            Column("parcels", "Parcels delivered"),
            *_spread_columns("click_to_deliver", "Placed to delivered"),
        ],
        rows,
        "label",
        [f"click_to_deliver_{n}" for n, _ in PERCENTILES],
        "Parcels delivered in the range.",
    )


@report(
    "carrier_on_time",
    "Carrier on-time delivery",
    "Parcels delivered on or before the day the carrier estimated, by carrier and service, "
    "for parcels delivered in the range that had an estimate.",
)
def carrier_on_time(hub: Hub, session: Session, filters: Filters) -> Table:
    utc = literal("UTC")
    in_time = sql.local_date(ParcelRow.delivered_at, utc) <= sql.local_date(
        ParcelRow.estimated_delivery, utc
    )
    service = func.coalesce(ParcelRow.service, "")
    group = (ParcelRow.carrier.label("carrier"), service.label("service"))
    estimated = ParcelRow.estimated_delivery.is_not(None)
    query = _delivered(
        select(
            *group,
            func.count().label("delivered"),
            func.sum(case((estimated, 1), else_=0)).label("estimated"),
            func.sum(case((and_(estimated, in_time), 1), else_=0)).label("on_time"),
        ),
        filters,
    )
    rows = []
    for row in _rows(session.execute(query.group_by(*group).order_by(*group))):
        row["estimated"], row["on_time"] = int(row["estimated"] or 0), int(row["on_time"] or 0)
        row["late"] = row["estimated"] - row["on_time"]
        row["on_time_rate"] = _ratio(row["on_time"], row["estimated"])
        row["label"] = f"{row['carrier']} {row['service']}".strip()
        rows.append(row)
    return Table(
        [
            Column("carrier", "Carrier", "text"),
            Column("service", "Service", "text"),
            Column("delivered", "Delivered"),
            Column("estimated", "With an estimate"),
            Column("on_time", "On time"),
            Column("late", "Late"),
            Column("on_time_rate", "On-time rate", "ratio"),
        ],
        rows,
        "label",
        ["on_time_rate"],
        "Parcels delivered in the range.",
    )


@report(
    "fill_rate",
    "Fill rate",
    "Order lines shipped complete out of the lines ordered, by channel, for orders received "
    "in the range that have shipped (complete or in part).",
)
def fill_rate(hub: Hub, session: Session, filters: Filters) -> Table:
    query = _orders(
        select(
            OrderRow.channel,
            func.count(),
            func.sum(OrderRow.line_count),
            func.sum(OrderRow.lines_shipped),
        )
        .where(
            _in_range(OrderRow.created_at, filters),
            OrderRow.status.in_((*SHIPPED, "partially_shipped")),
        )
        .group_by(OrderRow.channel),
        filters,
    )
    by_channel = {
        channel: {"orders": orders, "lines": int(lines or 0), "complete": int(done or 0)}
        for channel, orders, lines, done in session.execute(query)
    }
    rows = [
        {
            "channel": channel,
            "orders": figures["orders"],
            "lines": figures["lines"],
            "lines_complete": figures["complete"],
            "fill_rate": _ratio(figures["complete"], figures["lines"]),
        }
        for channel, figures in sorted(by_channel.items())
    ]
    return Table(
        [
            Column("channel", "Channel", "text"),
            Column("orders", "Orders"),
            Column("lines", "Lines ordered"),
            Column("lines_complete", "Lines shipped complete"),
            Column("fill_rate", "Fill rate", "ratio"),
        ],
        rows,
        "channel",
        ["fill_rate"],
        "Orders received in the range that have shipped.",
    )


@report(
    "stock_sync_lag",
    "Stock sync lag",
    "From a stock change to the sales channel confirming the new level, by account: the "
    "oldest change each stock pass carried, for passes in the range.",
)
def stock_sync_lag(hub: Hub, session: Session, filters: Filters) -> Table:
    passes = StockSyncPassRow
    lag = sql.seconds_between(passes.at, passes.oldest_change_at)

    def make(*columns: Any) -> Any:
        query = select(*columns).where(
            _in_range(passes.at, filters), passes.oldest_change_at.is_not(None)
        )
        if filters.client:
            query = query.where(passes.client == filters.client)
        if filters.clients is not None:
            query = query.where(passes.client.in_(filters.clients))
        if filters.channel:
            names = [a.name for a in hub.accounts.values() if a.connector == filters.channel]
            query = query.where(passes.account.in_(names))
        return query

    groups, _ = _percentiles(session, make, [passes.account], {"lag": lag})
    sums = {
        account: (int(confirmed or 0), _number(longest))
        for account, confirmed, longest in session.execute(
            make(passes.account, func.sum(passes.confirmed), func.max(lag)).group_by(passes.account)
        )
    }
    rows = [
        {
            "account": account,
            "passes": figures.pop("count"),
            "confirmed": sums[account][0],
            **figures,
            "lag_max": sums[account][1],
        }
        for (account,), figures in sorted(groups.items())
    ]
    return Table(
        [
            Column("account", "Account", "text"),
            Column("passes", "Passes"),
            Column("confirmed", "Levels confirmed"),
            *_spread_columns("lag", "Lag"),
            Column("lag_max", "Lag max", "seconds"),
        ],
        rows,
        "account",
        [f"lag_{n}" for n, _ in PERCENTILES],
        "Stock passes that ended in the range and carried a dated change.",
    )


@report(
    "orders_by_channel",
    "Orders by channel",
    "Orders the hub received in the range, by channel and client, with how many of them "
    "have shipped and how many were cancelled.",
)
def orders_by_channel(hub: Hub, session: Session, filters: Filters) -> Table:
    group = (OrderRow.channel.label("channel"), OrderRow.client.label("client"))
    query = _orders(
        select(
            *group,
            func.count().label("received"),
            func.sum(case((OrderRow.status.in_(SHIPPED), 1), else_=0)).label("shipped"),
            func.sum(case((OrderRow.status == "cancelled", 1), else_=0)).label("cancelled"),
        ).where(_in_range(OrderRow.created_at, filters)),
        filters,
    )
    rows = _rows(session.execute(query.group_by(*group).order_by(*group)))
    for row in rows:
        row["shipped"], row["cancelled"] = int(row["shipped"] or 0), int(row["cancelled"] or 0)
        row["label"] = f"{row['channel']} / {row['client']}"
    return Table(
        [
            Column("channel", "Channel", "text"),
            Column("client", "Client", "text"),
            Column("received", "Received"),
            Column("shipped", "Shipped"),
            Column("cancelled", "Cancelled"),
        ],
        rows,
        "label",
        ["received", "shipped"],
        "Orders received in the range.",
    )


@report(
    "orders_by_hour",
    "Orders by hour of day",
    "Orders the hub received in the range by the local hour they came in, by channel: when "
    "the pick waves are needed (the client's time zone when one client is chosen, else the "
    "hub's).",
)
def orders_by_hour(hub: Hub, session: Session, filters: Filters) -> Table:
    zone = hub.client(filters.client).timezone.key if filters.client else hub.settings.timezone
    hour = sql.local_hour(OrderRow.created_at, literal(zone))
    query = _orders(
        select(hour.label("hour"), OrderRow.channel, func.count()).where(
            _in_range(OrderRow.created_at, filters)
        ),
        filters,
    )
    counts: dict[int, dict[str, int]] = {h: {} for h in range(24)}
    channels: set[str] = set()
    for at, channel, count in session.execute(query.group_by(hour, OrderRow.channel)):
        counts[int(at)][channel] = int(count)
        channels.add(channel)
    ordered = sorted(channels)
    rows = [
        {
            "hour": f"{h:02d}:00",
            **{c: counts[h].get(c, 0) for c in ordered},
            "total": sum(counts[h].values()),
        }
        for h in range(24)
    ]
    return Table(
        [
            Column("hour", f"Hour ({zone})", "text"),
            *[Column(c, c) for c in ordered],
            Column("total", "All"),
        ],
        rows,
        "hour",
        ordered if 1 < len(ordered) <= 4 else ["total"],
        f"Orders received in the range, by the hour in {zone}.",
    )


#: numbers, ids and quoted values in an error, so the same cause groups as one
_VARIABLE = re.compile(r"'[^']*'|\"[^\"]*\"|\b\d[\d.,:-]*\b")


def cause(error: str | None) -> str:
    """An error's first line with its particulars (numbers, quoted values) blanked: the
    cause that many failures share."""
    lines = (error or "").strip().splitlines()
    first = lines[0] if lines else "no error recorded"
    return _VARIABLE.sub("…", first)[:160]


@report(
    "exceptions_by_cause",
    "Exceptions by cause",
    "Deliveries that failed, jobs that died and parcels a carrier flagged in the range, and "
    "the orders that need attention now, grouped by cause.",
)
def exceptions_by_cause(hub: Hub, session: Session, filters: Filters) -> Table:
    found: dict[tuple[str, str], int] = {}

    def add(kind: str, why: str, count: int) -> None:
        found[(kind, why)] = found.get((kind, why), 0) + int(count)

    accounts = [
        a.name
        for a in hub.accounts.values()
        if (not filters.client or a.client == filters.client)
        and (not filters.channel or a.connector == filters.channel)
        and (filters.clients is None or a.client in filters.clients)
    ]
    narrowed = bool(filters.client or filters.channel or filters.clients is not None)
    deliveries = select(DeliveryRow.error, func.count()).where(
        DeliveryRow.status == "failed", _in_range(DeliveryRow.received_at, filters)
    )
    if narrowed:
        deliveries = deliveries.where(DeliveryRow.account.in_(accounts))
    for error, count in session.execute(deliveries.group_by(DeliveryRow.error)):
        add("failed delivery", cause(error), count)
    if not narrowed:  # jobs name no client
        jobs = select(JobRow.kind, func.count()).where(
            JobRow.status == "dead", _in_range(JobRow.finished_at, filters)
        )
        for kind, count in session.execute(jobs.group_by(JobRow.kind)):
            add("dead job", kind, count)
    flagged = _orders(
        select(ParcelEventRow.status, ParcelRow.carrier, func.count())
        .join(ParcelRow, ParcelRow.id == ParcelEventRow.parcel_id)
        .join(OrderRow, OrderRow.id == ParcelRow.order_id)
        .where(ParcelEventRow.status.in_(sorted(FLAGGED)), _in_range(ParcelEventRow.at, filters)),
        filters,
    )
    for status, carrier, count in session.execute(
        flagged.group_by(ParcelEventRow.status, ParcelRow.carrier)
    ):
        add("parcel flagged", f"{carrier}: {status.replace('_', ' ')}", count)
    attention = _orders(
        select(func.count()).select_from(OrderRow).where(OrderRow.status == "needs_attention"),
        filters,
    )
    waiting = session.execute(attention).scalar_one()
    if waiting:
        add("order needs attention", "waiting for a person now", waiting)
    rows = [
        {"kind": kind, "cause": why, "count": count, "label": _short(f"{kind}: {why}", 60)}
        for (kind, why), count in sorted(found.items(), key=lambda item: (-item[1], item[0]))
    ]
    return Table(
        [
            Column("kind", "Kind", "text"),
            Column("cause", "Cause", "text"),
            Column("count", "Count"),
        ],
        rows,
        "label",
        ["count"],
        "Failures in the range; orders that need attention as they are now.",
    )


# -- returns -------------------------------------------------------------------------------------
#: a return in these states has been received: what it brought back is what was counted in
_CAME_IN = (RECEIVED, INSPECTED, CLOSED)
_NO_SKU = "(no SKU)"


def _returns(query: Any, filters: Filters) -> Any:
    """Only the returns the filters (and the reader's clients) select: a return carries its
    order's client, channel and account."""
    if filters.client:
        query = query.where(ReturnRow.client == filters.client)
    if filters.channel:
        query = query.where(ReturnRow.channel == filters.channel)
    if filters.clients is not None:
        query = query.where(ReturnRow.client.in_(filters.clients))
    return query


def _shipped_units(session: Session, filters: Filters, group: Callable[[Any], list[Any]]) -> dict:
    """Units that left in shipments shipped in the range, summed from the parcels' lines
    (a JSON array, one row per line in the database) per ``group(line)`` (the columns to
    group by, given the line's row). A return's label, followed as a parcel coming back,
    belongs to no shipment and ships nothing."""
    line = sql.json_elements(ParcelRow.lines).table_valued("value").alias("line")
    columns = group(line)
    query = _orders(
        select(*columns, func.sum(sql.json_int(line.c.value, "quantity")))
        .select_from(ShipmentRow)
        .join(ParcelRow, ParcelRow.shipment_id == ShipmentRow.id)
        .join(OrderRow, OrderRow.id == ShipmentRow.order_id)
        .join(line, true())
        .where(_in_range(ShipmentRow.shipped_at, filters), ParcelRow.direction == OUTBOUND)
        .group_by(*columns),
        filters,
    )
    return {tuple(key): int(units or 0) for *key, units in session.execute(query)}


def _returned_units(session: Session, filters: Filters, group: list[Any]) -> dict:
    """Per ``group``: how many returns and how many units, of the returns opened in the
    range that were not rejected or cancelled. A line's units are those received once its
    return came in, else those asked for (still on their way)."""
    units = case(
        (ReturnRow.status.in_(_CAME_IN), ReturnLineRow.received), else_=ReturnLineRow.quantity
    )
    query = _returns(
        select(*group, func.count(ReturnRow.id.distinct()), func.sum(units))
        .select_from(ReturnRow)
        .join(ReturnLineRow, ReturnLineRow.return_id == ReturnRow.id)
        .where(_in_range(ReturnRow.created_at, filters), ReturnRow.status.not_in(VOID))
        .group_by(*group),
        filters,
    )
    return {
        tuple(key): (int(returns), int(units or 0))
        for *key, returns, units in session.execute(query)
    }


def _by_returned(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    """Most units returned first, then the highest rate, then by name."""
    return sorted(rows, key=lambda r: (-r["returned"], -(r.get("return_rate") or 0), *(
        str(r[k]) for k in keys
    )))  # fmt: skip


_RETURNS_NOTE = (
    "Returns opened in the range (not rejected or cancelled) against units shipped in the "
    "range: a return of goods shipped before it counts in the range it was opened."
)


@report(
    "return_rate_by_sku",
    "Return rate by SKU",
    "Units returned out of units shipped, by client and SKU: units on returns opened in the "
    "range (not rejected or cancelled; received units once a return came in, else those "
    "asked for) against units shipped in the range.",
)
def return_rate_by_sku(hub: Hub, session: Session, filters: Filters) -> Table:
    """The range applies to each side on its own: returns by the time they were opened,
    units shipped by their shipment's time. So the rate is the range's flow (what came back
    against what went out), as a merchant reads a return rate, and needs no join from a
    return to its order's shipments; a slow month's returns of a busy month's goods can
    lift it above what a cohort would show, and a return with nothing shipped in the range
    has no rate. Rejected and cancelled returns take nothing back and count nowhere."""
    shipped = _shipped_units(
        session,
        filters,
        lambda line: [OrderRow.client, func.coalesce(sql.json_text(line.c.value, "sku"), "")],
    )
    returned = _returned_units(
        session, filters, [ReturnRow.client, func.coalesce(ReturnLineRow.sku, "")]
    )
    rows = []
    for client, sku in shipped.keys() | returned.keys():
        out = shipped.get((client, sku), 0)
        back = returned.get((client, sku), (0, 0))[1]
        rows.append(
            {
                "client": client,
                "sku": sku or _NO_SKU,
                "shipped": out,
                "returned": back,
                "return_rate": _ratio(back, out),
                "label": f"{sku or _NO_SKU} ({client})",
            }
        )
    return Table(
        [
            Column("client", "Client", "text"),
            Column("sku", "SKU", "text"),
            Column("shipped", "Units shipped"),
            Column("returned", "Units returned"),
            Column("return_rate", "Return rate", "ratio"),
        ],
        _by_returned(rows, "client", "sku"),
        "label",
        ["return_rate"],
        _RETURNS_NOTE,
    )


@report(
    "return_rate_by_account",
    "Return rate by channel account",
    "Units returned out of units shipped, by sales channel account: units on returns opened "
    "in the range (not rejected or cancelled) against units shipped in the range, with how "
    "many returns were opened.",
)
def return_rate_by_account(hub: Hub, session: Session, filters: Filters) -> Table:
    shipped = _shipped_units(
        session, filters, lambda line: [OrderRow.account, OrderRow.channel, OrderRow.client]
    )
    returned = _returned_units(
        session, filters, [ReturnRow.account, ReturnRow.channel, ReturnRow.client]
    )
    rows = []
    for account, channel, client in shipped.keys() | returned.keys():
        out = shipped.get((account, channel, client), 0)
        returns, back = returned.get((account, channel, client), (0, 0))
        rows.append(
            {
                "account": account,
                "channel": channel,
                "client": client,
                "shipped": out,
                "returns": returns,
                "returned": back,
                "return_rate": _ratio(back, out),
            }
        )
    return Table(
        [
            Column("account", "Account", "text"),
            Column("channel", "Channel", "text"),
            Column("client", "Client", "text"),
            Column("shipped", "Units shipped"),
            Column("returns", "Returns opened"),
            Column("returned", "Units returned"),
            Column("return_rate", "Return rate", "ratio"),
        ],
        _by_returned(rows, "account"),
        "account",
        ["return_rate"],
        _RETURNS_NOTE,
    )


@report(
    "return_reasons",
    "Return reasons",
    "Why goods come back: for returns opened in the range (not rejected or cancelled), the "
    "units returned per reason, their share of all units returned and their rate against "
    "the units shipped in the range.",
)
def return_reasons(hub: Hub, session: Session, filters: Filters) -> Table:
    returned = _returned_units(session, filters, [ReturnLineRow.reason])
    shipped = sum(_shipped_units(session, filters, lambda line: []).values())
    everything = sum(units for _, units in returned.values())
    rows = [
        {
            "reason": reason,
            "returns": returns,
            "returned": units,
            "share": _ratio(units, everything),
            "return_rate": _ratio(units, shipped),
            "label": reason.replace("_", " "),
        }
        for (reason,), (returns, units) in returned.items()
    ]
    return Table(
        [
            Column("reason", "Reason", "text"),
            Column("returns", "Returns"),
            Column("returned", "Units returned"),
            Column("share", "Share of units returned", "ratio"),
            Column("return_rate", "Of units shipped", "ratio"),
        ],
        _by_returned(rows, "reason"),
        "label",
        ["share"],
        f"{_RETURNS_NOTE} Units shipped in the range: {shipped:,}.",
    )
