"""Exact values: money as Decimal, times in UTC, country codes. Pure helpers for translators.

The JSON readers sit here beside ``money``: the same translators call them, on the leaf floor.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from hub.errors import TranslationError

# ISO 4217 minor units where they are not 2.
_MINOR_UNITS = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0
    ),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
}


def loads(body: bytes | str) -> Any:
    """Parse JSON keeping every number exact: non-integers become Decimal, never float."""
    return json.loads(body, parse_float=Decimal)


def dumps(value: Any) -> str:
    """JSON text for what :func:`loads` read: a Decimal is written back as the number it was
    (``24.99``, not ``"24.99"``), so a payload survives the round trip in its own shape."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} has no JSON form")
        return str(value)
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value)


def money(value: Any, currency: str | None, *, path: str = "") -> Decimal:
    """An exact amount with at least the currency's minor-unit places.

    Strings, ints and Decimals are accepted; a float is refused because it has already lost
    exactness (parse payloads with :func:`loads`). Extra places are kept, never rounded away.
    """
    if isinstance(value, float):
        raise TranslationError(
            "amount arrived as a binary float; parse with hub.values.loads", path=path
        )
    if value is None or value == "":
        value = "0"
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise TranslationError(f"not an amount: {value!r}", path=path) from None
    if not amount.is_finite():
        raise TranslationError(f"not an amount: {value!r}", path=path)
    places = _MINOR_UNITS.get((currency or "").upper(), 2)
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent < places:
        amount = amount.quantize(Decimal(1).scaleb(-places))
    return amount


def minor(amount: Decimal, currency: str | None) -> Decimal:
    """``amount`` rounded half-up to the currency's minor unit (the cent), for comparisons."""
    places = _MINOR_UNITS.get((currency or "").upper(), 2)
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


_XML_DECLARATIONS = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def xml_root(body: bytes, *, sender: str) -> ET.Element:
    """The root element of an XML answer from ``sender`` (named in the error).

    A DOCTYPE or ENTITY declaration is refused before parsing: it is the door to entity
    expansion and external entities, and no carrier sends one.
    """
    if _XML_DECLARATIONS.search(body):
        raise TranslationError("XML with a DOCTYPE or ENTITY declaration is refused")
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise TranslationError(f"{sender}'s answer is not well-formed XML: {exc}") from None


def utc(value: Any, *, naive_is_utc: bool = True, path: str = "") -> datetime | None:
    """Parse an ISO 8601 time into an aware UTC datetime (None stays None)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise TranslationError(f"not an ISO 8601 time: {value!r}", path=path) from None
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise TranslationError(f"time has no UTC offset: {value!r}", path=path)
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


_BEYOND_MICROSECONDS = re.compile(r"(\.\d{6})\d+")


def local_time(
    value: str,
    zone: tzinfo,
    *,
    formats: tuple[str, ...] = (),
    source: str | None = None,
    path: str = "",
) -> datetime:
    """A carrier's time in UTC. ISO 8601 keeps its offset (``Z`` too; digits past microseconds
    are dropped); a time without an offset, ISO or one of ``formats`` (``strptime``), is read
    in ``zone``, the carrier's home. ``source`` names the carrier in the error."""
    text = str(value).strip()
    iso = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        parsed = datetime.fromisoformat(_BEYOND_MICROSECONDS.sub(r"\1", iso))
    except ValueError:
        for fmt in formats:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            problem = f"not a time {source} writes" if source else "not an ISO 8601 time"
            raise TranslationError(f"{problem}: {value!r}", path=path) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def second_window(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """A time window in UTC, widened to whole seconds (APIs that keep no fractions of a second
    would drop a record changed in a second cut off). A naive time is UTC."""
    start, end = utc(since), utc(until)
    if start is None or end is None:
        raise ValueError("the window needs a start and an end")
    if start > end:
        raise ValueError(f"the window starts after it ends: {start} > {end}")
    start = start.replace(microsecond=0)
    if end.microsecond:
        end = end.replace(microsecond=0) + timedelta(seconds=1)
    return start, end


def iso(value: datetime | None) -> str | None:
    """Format a time as ISO 8601 UTC with a ``Z``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def now() -> datetime:
    return datetime.now(UTC)


def country(value: Any, *, path: str = "") -> str | None:
    """An ISO 3166-1 alpha-2 code, upper-cased; anything else is a TranslationError."""
    if value in (None, ""):
        return None
    code = str(value).strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise TranslationError(f"not an ISO 3166-1 alpha-2 country code: {value!r}", path=path)
    return code


def text(value: Any) -> str | None:
    """Outside text, trimmed; empty becomes None."""
    if value is None:
        return None
    out = str(value).strip()
    return out or None


def ext_id(value: Any) -> str | None:
    """An outside id as a string, exactly (64-bit ints survive)."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            return str(value)
        value = int(value)
    return str(value)


def scalar_text(value: Any) -> str | None:
    """Like :func:`text`, but an object or array where a scalar belongs reads as no text
    (an answer that nests a block where it usually writes a string)."""
    if isinstance(value, Mapping | list):
        return None
    return text(value)


def quantity(value: Any, *, path: str) -> int:
    """A non-negative whole quantity (an integral Decimal such as ``2.0`` is accepted)."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TranslationError(f"not a quantity: {value!r}", path=path)
    return value


def json_object(value: Any, *, path: str, optional: bool = True) -> dict[str, Any]:
    """A JSON object field. ``optional``: absent or null is an empty dict; else it is refused
    like any other non-object."""
    if value is None and optional:
        return {}
    if not isinstance(value, dict):
        raise TranslationError(f"expected an object, got {type(value).__name__}", path=path)
    return value


def json_objects(value: Any, *, path: str, optional: bool = True) -> list[dict[str, Any]]:
    """A JSON array of objects; an entry that is not an object is refused at ``path[i]``.
    ``optional``: absent or null is an empty list; else it is refused like any non-array."""
    if value is None and optional:
        return []
    if not isinstance(value, list):
        raise TranslationError(f"expected an array, got {type(value).__name__}", path=path)
    for i, item in enumerate(value):
        json_object(item, path=f"{path}[{i}]", optional=False)
    return value


def json_array(value: Any, *, path: str) -> list[Any]:
    """A JSON array whose entries the caller reads itself; absent or null is empty, anything
    else is refused ("expected a JSON array")."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise TranslationError(f"expected a JSON array, got {type(value).__name__}", path=path)


def array_or_empty(value: Any) -> list[Any]:
    """A JSON array, or an empty one for anything else: for answers where a missing or odd
    field means there is nothing of that kind."""
    return value if isinstance(value, list) else []


def nested(data: Any, *keys: str) -> Any:
    """The value at ``keys`` down through nested objects (``nested(d, "a", "b")`` is
    ``d["a"]["b"]``), or None where a key is missing or a step is not an object."""
    for key in keys:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data


def code_key(value: Any) -> str:
    """An outside code or number as it is compared (a tracking number a carrier writes
    ``1z 999 aa1``): every whitespace removed, upper case; None (or anything empty) is ``""``."""
    return re.sub(r"\s+", "", str(value or "")).upper()


#: a cell starting with one of these is a formula to a spreadsheet (OWASP: CSV injection)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """``value`` as one cell of a CSV the hub writes, safe to open in a spreadsheet: text
    starting with one of :data:`FORMULA_START` gets a ``'`` before it (OWASP's advice: the
    spreadsheet shows it as text, never runs it). Numbers the hub holds as numbers (int,
    Decimal, float; not bool) are written as they are, a negative quantity included: they
    are data, not text from outside. None is an empty cell."""
    if value is None:
        return ""
    if isinstance(value, int | Decimal | float) and not isinstance(value, bool):
        return value
    value = str(value)
    return f"'{value}" if value.startswith(FORMULA_START) else value


def csv_text(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """A whole CSV (a header row, then ``rows``), every cell through :func:`csv_cell`: the
    one way the hub writes CSV."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(v) for v in header])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return out.getvalue()
