"""SQL that means the same on PostgreSQL and SQLite, for reports computed in the database:
seconds between two times, a value's bucket on a log scale (for percentiles from a grouped
count), a UTC time's local date, hour and clock in a time zone, and the elements of a JSON
array column as rows (a parcel's lines).

PostgreSQL has all of these built in. SQLite gets two functions on every connection
(:func:`install_sqlite`): ``hub_local(time, zone)``, the local wall time as text, and
``hub_bucket(value)``, the log bucket.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Boolean, Date, Integer, String


class seconds_between(FunctionElement):
    """``later - earlier`` in seconds (a float)."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: Any, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    # date_part gives double precision (EXTRACT gives numeric, far slower to compute with)
    return f"date_part('epoch', {later} - {earlier})"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


#: the width of a :class:`log_bucket`: each is 1 % wider than the one below
BUCKET_BASE = 1.01


class log_bucket(FunctionElement):
    """The bucket of a non-negative value on a log scale (:data:`BUCKET_BASE`): bucket ``b``
    holds ``[BUCKET_BASE**b, BUCKET_BASE**(b+1))``, bucket 0 also everything below 1. Counting
    values per bucket is a plain grouped count (parallel and sort-free on PostgreSQL), from
    which percentiles follow within 1 %."""

    type = Integer()
    inherit_cache = True


@compiles(log_bucket, "postgresql")
def _bucket_pg(element: Any, compiler: Any, **kw: Any) -> str:
    (value,) = (compiler.process(c, **kw) for c in element.clauses)
    one = "CAST(1 AS DOUBLE PRECISION)"
    return f"CAST(floor(ln(greatest({value}, {one})) / {math.log(BUCKET_BASE)!r}) AS INTEGER)"


@compiles(log_bucket, "sqlite")
def _bucket_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    (value,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"hub_bucket({value})"


def bucket_range(bucket: int) -> tuple[float, float]:
    """The values a :class:`log_bucket` holds, as [low, high)."""
    return (0.0 if bucket <= 0 else BUCKET_BASE**bucket), BUCKET_BASE ** (bucket + 1)


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
    """``shipped_on_time(received, shipped, zone, cutoff)``: true when ``shipped`` falls on
    or before the local day (in ``zone``) an order ``received`` was due to ship: that day
    when it came before ``cutoff`` (``HH:MM:SS``), else the next. Zone and cutoff may be
    expressions (a ``CASE`` per client)."""

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


class json_elements(FunctionElement):
    """The elements of a JSON array column as rows, for a ``FROM``: use
    ``json_elements(column).table_valued("value")`` and read each element's keys with
    :class:`json_text` and :class:`json_int`. ``json_array_elements`` on PostgreSQL (a
    function in ``FROM`` may name the tables before it), ``json_each`` on SQLite."""

    inherit_cache = True


@compiles(json_elements, "postgresql")
def _elements_pg(element: Any, compiler: Any, **kw: Any) -> str:
    (value,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"json_array_elements({value})"


@compiles(json_elements, "sqlite")
def _elements_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    (value,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"json_each({value})"


#: a key :class:`json_text` may read (it is written into the SQL, so never a caller's text)
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class json_text(FunctionElement):
    """``json_text(element, "sku")``: one key of a JSON object as text (NULL when absent)."""

    type = String()
    inherit_cache = True

    def __init__(self, element: Any, key: str):
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a JSON key to read: {key!r}")
        super().__init__(element, literal_column(f"'{key}'"))


class json_int(json_text):
    """``json_int(element, "quantity")``: one key of a JSON object as an integer."""

    type = Integer()
    inherit_cache = True


@compiles(json_text, "postgresql")
def _text_pg(element: Any, compiler: Any, **kw: Any) -> str:
    value, key = (compiler.process(c, **kw) for c in element.clauses)
    return f"({value} ->> {key})"


@compiles(json_text, "sqlite")
def _text_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    value, key = (compiler.process(c, **kw) for c in element.clauses)
    return f"json_extract({value}, '$.{key[1:]})"  # key is 'name', quoted: '$.name'


@compiles(json_int, "postgresql")
def _int_pg(element: Any, compiler: Any, **kw: Any) -> str:
    return f"CAST({_text_pg(element, compiler, **kw)} AS INTEGER)"


@compiles(json_int, "sqlite")
def _int_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"CAST({_text_sqlite(element, compiler, **kw)} AS INTEGER)"


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


def _hub_bucket(value: Any) -> int | None:
    """SQLite: :class:`log_bucket`."""
    if value is None:
        return None
    return math.floor(math.log(max(float(value), 1.0)) / math.log(BUCKET_BASE))


def install_sqlite(dbapi_conn: Any) -> None:
    """Give a new SQLite connection the functions above."""
    dbapi_conn.create_function("hub_local", 2, _hub_local, deterministic=True)
    dbapi_conn.create_function("hub_bucket", 1, _hub_bucket, deterministic=True)
