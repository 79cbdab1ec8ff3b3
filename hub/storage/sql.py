"""SQL that means the same on PostgreSQL and SQLite, for reports computed in the database:
seconds between two times, percentiles (``percentile_cont``), and a UTC time's local date,
hour and clock in a time zone.

PostgreSQL has all of these built in. SQLite gets two functions on every connection
(:func:`install_sqlite`): ``hub_local(time, zone)``, the local wall time as text, and the
aggregate ``hub_percentile(value, fraction)``, interpolating as ``percentile_cont`` does.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.types import Boolean, Date, Integer


class seconds_between(FunctionElement):
    """``later - earlier`` in seconds (a float)."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: Any, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


class percentile(FunctionElement):
    """The ``fraction`` percentile (0..1) of ``value`` over a group, interpolated."""

    type = Float()
    inherit_cache = True


@compiles(percentile, "postgresql")
def _percentile_pg(element: Any, compiler: Any, **kw: Any) -> str:
    value, fraction = (compiler.process(c, **kw) for c in element.clauses)
    return f"percentile_cont({fraction}) WITHIN GROUP (ORDER BY {value})"


@compiles(percentile, "sqlite")
def _percentile_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    value, fraction = (compiler.process(c, **kw) for c in element.clauses)
    return f"hub_percentile({value}, {fraction})"


class _Local(FunctionElement):
    """A UTC time as the wall clock shows it in a zone: the base of the local parts."""

    inherit_cache = True


def _local_pg(element: Any, compiler: Any, **kw: Any) -> str:
    at, zone = (compiler.process(c, **kw) for c in element.clauses)
    return f"timezone({zone}, {at})"


def _local_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    at, zone = (compiler.process(c, **kw) for c in element.clauses)
    return f"hub_local({at}, {zone})"


class local_date(_Local):
    type = Date()
    inherit_cache = True


class local_hour(_Local):
    type = Integer()
    inherit_cache = True


@compiles(local_date, "postgresql")
def _date_pg(element: Any, compiler: Any, **kw: Any) -> str:
    return f"CAST({_local_pg(element, compiler, **kw)} AS DATE)"


@compiles(local_date, "sqlite")
def _date_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"date({_local_sqlite(element, compiler, **kw)})"


@compiles(local_hour, "postgresql")
def _hour_pg(element: Any, compiler: Any, **kw: Any) -> str:
    return f"CAST(EXTRACT(HOUR FROM {_local_pg(element, compiler, **kw)}) AS INTEGER)"


@compiles(local_hour, "sqlite")
def _hour_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"CAST(strftime('%H', {_local_sqlite(element, compiler, **kw)}) AS INTEGER)"


class shipped_on_time(FunctionElement):
    """True when ``shipped`` falls on or before the local day an order ``received`` was due
    to ship: that day when it came before ``cutoff`` (``HH:MM:SS``), else the next."""

    type = Boolean()
    inherit_cache = True


@compiles(shipped_on_time, "postgresql")
def _on_time_pg(element: Any, compiler: Any, **kw: Any) -> str:
    received, shipped, zone, cutoff = (compiler.process(c, **kw) for c in element.clauses)
    local_in = f"timezone({zone}, {received})"
    return (
        f"(CAST(timezone({zone}, {shipped}) AS DATE) <= CAST({local_in} AS DATE) + "
        f"CASE WHEN CAST({local_in} AS TIME) < CAST({cutoff} AS TIME) THEN 0 ELSE 1 END)"
    )


@compiles(shipped_on_time, "sqlite")
def _on_time_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    received, shipped, zone, cutoff = (compiler.process(c, **kw) for c in element.clauses)
    local_in = f"hub_local({received}, {zone})"
    return (
        f"(date(hub_local({shipped}, {zone})) <= date({local_in}, CASE WHEN "
        f"time({local_in}) < {cutoff} THEN '+0 days' ELSE '+1 days' END))"
    )


def on_time(received: Any, shipped: Any, zone: str, cutoff: time) -> ColumnElement[bool]:
    return shipped_on_time(received, shipped, literal(zone), literal(cutoff.strftime("%H:%M:%S")))


# -- SQLite's side -------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _hub_local(value: Any, zone: Any) -> str | None:
    """SQLite: a stored UTC time (``YYYY-MM-DD HH:MM:SS[.ffffff]``) as local wall time."""
    if value is None or zone is None:
        return None
    try:
        at = datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
        return at.astimezone(_zone(str(zone))).strftime("%Y-%m-%d %H:%M:%S")
    except (ValueError, KeyError):
        return None


class _Percentile:
    """SQLite: ``percentile_cont``, linear between the two nearest values."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: Any, fraction: Any) -> None:
        if value is not None:
            self.values.append(float(value))
            self.fraction = float(fraction)

    def finalize(self) -> float | None:
        if not self.values:
            return None
        ordered = sorted(self.values)
        at = self.fraction * (len(ordered) - 1)
        low, high = math.floor(at), math.ceil(at)
        return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def install_sqlite(dbapi_conn: Any) -> None:
    """Give a new SQLite connection the functions above."""
    dbapi_conn.create_function("hub_local", 2, _hub_local, deterministic=True)
    dbapi_conn.create_aggregate("hub_percentile", 2, _Percentile)
