"""Pure: canonical orders to the files the warehouse reads, and the files it drops back to stock
counts and shipment bodies. No file system here: bytes in, bytes or canonical records out.

Formats (a header row in every CSV; column names in any case, in any order):

- order, ``order-<id>.json``: the canonical order as ``GET /api/orders/<id>`` shows it;
  ``order-<id>.csv``: one row per line to pick (:data:`ORDER_COLUMNS`).
- cancellation, ``cancel-<id>.json`` or ``.csv``: :data:`CANCEL_COLUMNS`.
- stock count: CSV ``sku,on_hand[,location]`` (as ``hub stock import`` reads it), or JSON
  ``[{"sku": "MUG-1", "on_hand": 12, "location": "A1"}, ...]``; no location means the
  account's default location.
- shipments: CSV, one row per parcel line (:data:`SHIPMENT_COLUMNS`; ``sku`` or ``line_id``
  or both), rows with the same tracking number making one parcel (they must agree on its
  order, carrier, service and time); or JSON, one body as ``POST /api/shipments`` takes it,
  or a list of them.

A file that cannot be read raises :class:`FileProblem`, every problem naming its line (a CSV
line, or the line of a JSON syntax error) or its place in the JSON (``at [0]: parcels[1]``).
Unknown columns and keys are refused, so a misspelt optional one is never silently dropped.
Problems say where and what kind of value was found (``text``, ``a negative number``), never
the value itself: they go to error files and logs, and a file may hold anything. Numbers must
fit the hub's database (:data:`MAX_COUNT`, :data:`MAX_ID`), and JSON may nest only so deep.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.connectors import StockCount
from hub.errors import TranslationError
from hub.shipping.shipments import carriers
from hub.values import csv_text, iso, loads, utc

FORMATS = ("json", "csv")
ORDER_COLUMNS = (
    "order_id",
    "number",
    "account",
    "external_id",
    "placed_at",
    "ship_name",
    "ship_company",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_region",
    "ship_postal_code",
    "ship_country_code",
    "ship_phone",
    "email",
    "shipping_method",
    "carrier_service",
    "line_id",
    "sku",
    "name",
    "quantity",
)
_ADDRESS = ("name", "company", "line1", "line2", "city", "region", "postal_code", "country_code")
CANCEL_COLUMNS = ("order_id", "number", "account", "external_id", "reference", "cancelled_at")
SHIPMENT_COLUMNS = (
    "order_id",
    "carrier",
    "service",
    "carrier_account",
    "tracking_number",
    "sku",
    "line_id",
    "quantity",
    "shipped_at",
)
_SHIPMENT_REQUIRED = ("order_id", "carrier", "tracking_number", "quantity")
#: problems listed in one error; a file wrong on every line says so without a megabyte of text
MAX_PROBLEMS = 20
#: the largest count or quantity (the database's integer columns)
MAX_COUNT = 2**31 - 1
#: the largest order id
MAX_ID = 2**63 - 1
STOCK_COLUMNS = ("sku", "on_hand", "location")
#: the longest text of each field the hub stores (its database columns; 200 for the others)
LONGEST = {"location": 100, "tracking_number": 100, "service": 100, "carrier_account": 100}
_DIGITS = re.compile(r"[0-9]+")  # str.isdigit() takes "²", which int() refuses


class FileProblem(ValueError):
    """A file that cannot be read. Its message names the file and each problem's line."""

    def __init__(self, name: str, problems: list[str]):
        self.name, self.problems = name, problems
        shown = [f"{name} {p}" for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"{name}: and {len(problems) - MAX_PROBLEMS} more problem(s)")
        super().__init__("\n".join(shown))


class _Bad(ValueError):
    """One value is wrong; the caller adds where."""


def file_format(name: str) -> str | None:
    """``csv`` or ``json`` by the name's extension (any case); None for any other file."""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return suffix if suffix in FORMATS else None


# -- out: orders and cancellations ----------------------------------------------------------


def _csv(columns: tuple[str, ...], rows: Iterable[list[Any]]) -> bytes:
    # warehouse staff open these in spreadsheets: csv_text keeps a cell from being a formula
    return csv_text(columns, rows).encode()


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()


def to_pick(order: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's lines the warehouse picks (what the hub allocated stock for)."""
    return [
        line
        for line in order.get("lines") or []
        if line.get("requires_shipping") and int(line.get("quantity") or 0) > 0
    ]


def order_file(order: dict[str, Any], fmt: str) -> tuple[str, bytes]:
    """The file name and content that release a canonical order to the warehouse."""
    name = f"order-{order['id']}.{fmt}"
    if fmt == "json":
        return name, _json(order)
    ship = order.get("shipping_address") or {}
    shipping = order.get("shipping") or {}
    head = [
        order["id"],
        order.get("number"),
        order.get("account"),
        order.get("external_id"),
        order.get("placed_at"),
        *(ship.get(key) for key in _ADDRESS),
        ship.get("phone") or (order.get("customer") or {}).get("phone"),
        (order.get("customer") or {}).get("email"),
        shipping.get("method"),
        shipping.get("carrier_service"),
    ]
    rows = [
        [*head, line.get("external_id"), line.get("sku"), line.get("name"), line["quantity"]]
        for line in to_pick(order)
    ]
    return name, _csv(ORDER_COLUMNS, rows)


def cancel_file(
    order: dict[str, Any], reference: str | None, fmt: str, at: datetime
) -> tuple[str, bytes]:
    """The file name and content that cancel a released order (``reference``: its file)."""
    values = [
        order["id"],
        order.get("number"),
        order.get("account"),
        order.get("external_id"),
        reference,
        iso(at),
    ]
    name = f"cancel-{order['id']}.{fmt}"
    if fmt == "json":
        return name, _json(dict(zip(CANCEL_COLUMNS, values, strict=True)))
    return name, _csv(CANCEL_COLUMNS, [values])


def _identity(name: str, data: bytes) -> tuple[str, str] | None:
    """The (account, external id) a written order or cancellation file is for."""
    try:
        text = data.decode()
        if file_format(name) == "json":
            found = json.loads(text)
        else:
            found = next(csv.DictReader(io.StringIO(text)), None)
    except (ValueError, csv.Error):
        return None
    if not isinstance(found, dict) or not found.get("external_id"):
        return None
    return str(found.get("account")), str(found["external_id"])


def same_order(name: str, before: bytes, now: bytes) -> bool:
    """Whether a file written earlier under ``name`` was for the same order as ``now`` (the
    content may differ: the order was updated since, or a cancellation carries its time)."""
    if before == now:
        return True
    key = _identity(name, now)
    return key is not None and _identity(name, before) == key


# -- in: stock counts and shipments ---------------------------------------------------------


def _kind(value: Any) -> str:
    """What kind of value ``value`` is, for a problem to say without quoting it."""
    if isinstance(value, str):
        if not value.strip():
            return "empty"
        try:
            value = Decimal(value.strip())  # "-1" in a CSV cell is a negative number
        except InvalidOperation:
            return "text"
        if not value.is_finite():
            return "text"  # "NaN", "inf"
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, float):
        value = Decimal(value) if math.isfinite(value) else Decimal("NaN")
    if isinstance(value, Decimal):
        if not value.is_finite():
            return "not a number"
        if value.as_tuple().exponent < 0:
            return "a decimal number"  # 2.0 too: a count is written 2
        if value.as_tuple().exponent > 0:
            return "a number in exponent notation"
    if isinstance(value, int | Decimal):
        return "a negative number" if value < 0 else "zero" if value == 0 else "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "something else"


def _text(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")  # a spreadsheet's byte-order mark is not data
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FileProblem(name, [f"line {line} column {column}: not UTF-8 text"]) from None


def _load_json(name: str, data: bytes) -> Any:
    text = _text(name, data)
    try:
        return loads(text)  # exact numbers: 2.0 is not a whole quantity
    except json.JSONDecodeError as exc:
        raise FileProblem(
            name, [f"line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}"]
        ) from None
    except RecursionError:
        raise FileProblem(name, ["at top: nested too deeply (lists and objects)"]) from None
    except ValueError:  # Python refuses to read an integer of over 4300 digits
        raise FileProblem(name, ["at top: a number too long to read"]) from None


def _whole(value: Any, minimum: int, maximum: int = MAX_COUNT) -> int:
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        digits = value.strip().lstrip("0") or "0"
        # no int() of thousands of digits: it would be refused, and slowly
        value = int(digits) if len(digits) <= len(str(maximum)) else maximum + 1
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise _Bad(f"a whole number >= {minimum}, not {_kind(value)}")
    if value > maximum:
        raise _Bad(f"at most {maximum}")
    return value


def _text_value(value: Any, *, required: bool = True) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a numeric line id or tracking number in JSON
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _Bad("required")
        return None
    if not isinstance(value, str):
        raise _Bad(f"text, not {_kind(value)}")
    return value.strip()


def _optional(value: Any) -> str | None:
    return _text_value(value, required=False)


def _carrier(value: Any) -> str:
    carrier = (_text_value(value) or "").lower()
    if carrier not in carriers():
        raise _Bad(f"one of {', '.join(carriers())}")
    return carrier


def _time(value: Any) -> str | None:
    try:
        return iso(utc(value))
    except TranslationError:
        raise _Bad("an ISO 8601 time (2026-11-26T10:00:00Z)") from None


def _line_ref(item: dict[str, Any]) -> dict[str, str]:
    ref = {"line_id": _field(item, "line_id", _optional), "sku": _field(item, "sku", _optional)}
    if not any(ref.values()):
        raise _Bad("give sku or line_id")
    return {key: value for key, value in ref.items() if value}


def _field(item: dict[str, Any], key: str, fn: Any, *args: Any) -> Any:
    """``fn(item[key], *args)``, its problem naming ``key``; text no longer than the hub
    stores (:data:`LONGEST`)."""
    try:
        found = fn(item.get(key), *args)
    except _Bad as exc:
        raise _Bad(f"{key}: {exc}") from None
    if isinstance(found, str) and len(found) > LONGEST.get(key, 200):
        raise _Bad(f"{key}: at most {LONGEST.get(key, 200)} characters")
    return found


def _object(item: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _Bad("must be an object")
    unknown = [str(n) for n, key in enumerate(item, start=1) if key not in allowed]
    if unknown:
        what = "keys" if len(unknown) > 1 else "key"
        raise _Bad(f"unknown {what} (number {', '.join(unknown)}); known: {', '.join(allowed)}")
    return item


def _rows(
    name: str, data: bytes, columns: tuple[str, ...], required: tuple[str, ...], problems: list[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {column: cell}) for each non-empty CSV row; a row of the wrong width is added
    to ``problems`` instead, and a bad header or a line that is no CSV raises at once."""
    reader = csv.reader(io.StringIO(_text(name, data)))
    lines = _csv_lines(name, reader)
    header = [h.strip().lower() for h in next(lines, [])]
    said = []
    if missing := [c for c in required if c not in header]:
        said.append(f"missing {', '.join(missing)}")
    if unknown := [str(n) for n, h in enumerate(header, start=1) if h not in columns]:
        said.append(f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
    if len(set(header)) != len(header):
        said.append("a column twice")
    if said:
        raise FileProblem(name, [f"line 1: bad header ({'; '.join(said)})"])
    for cells in lines:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            problems.append(
                f"line {reader.line_num}: {len(cells)} fields, the header has {len(header)}"
            )
            continue
        yield reader.line_num, dict(zip(header, (c.strip() for c in cells), strict=True))


def _csv_lines(name: str, reader: Any) -> Iterator[list[str]]:
    """The reader's rows; a line it cannot read (a field over the csv module's limit, say)
    is a problem of the file, named by its line."""
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # its messages are the module's own, never the line's
            raise FileProblem(name, [f"line {reader.line_num}: not readable CSV ({exc})"]) from None
        yield cells


def _stock_csv(name: str, data: bytes) -> list[StockCount]:
    problems: list[str] = []
    counts: list[StockCount] = []
    seen: dict[tuple[str, str | None], int] = {}
    for line, row in _rows(name, data, STOCK_COLUMNS, STOCK_COLUMNS[:2], problems):
        try:
            count = StockCount(
                _field(row, "sku", _text_value),
                _field(row, "on_hand", _whole, 0),
                _field(row, "location", _optional),
            )
        except _Bad as exc:
            problems.append(f"line {line}: {exc}")
            continue
        key = (count.sku, count.location)
        if key in seen:
            problems.append(f"line {line}: the same sku and location as line {seen[key]}")
            continue
        seen[key] = line
        counts.append(count)
    if problems:
        raise FileProblem(name, problems)
    return counts


def parse_stock(name: str, data: bytes) -> list[StockCount]:
    """A stock count file: absolute on-hand levels (location None: the default one)."""
    if file_format(name) == "csv":
        return _stock_csv(name, data)
    found = _load_json(name, data)
    if not isinstance(found, list):
        raise FileProblem(name, ["at top: a list of {sku, on_hand, location} objects"])
    problems: list[str] = []
    counts: list[StockCount] = []
    seen: dict[tuple[str, str | None], int] = {}
    for i, item in enumerate(found):
        try:
            _object(item, STOCK_COLUMNS)
            count = StockCount(
                _field(item, "sku", _text_value),
                _field(item, "on_hand", _whole, 0),
                _field(item, "location", _optional),
            )
        except _Bad as exc:
            problems.append(f"at [{i}]: {exc}")
            continue
        key = (count.sku, count.location)
        if key in seen:
            problems.append(f"at [{i}]: the same sku and location as at [{seen[key]}]")
            continue
        seen[key] = i
        counts.append(count)
    if problems:
        raise FileProblem(name, problems)
    return counts


# -- shipments --------------------------------------------------------------------------------

#: what the rows of one parcel must agree on
_PARCEL_SAME = ("order_id", "shipped_at", "carrier", "service", "carrier_account")


def _parcel(carrier: str, service: Any, account: Any, tracking: str) -> dict[str, Any]:
    parcel: dict[str, Any] = {"carrier": carrier, "service": service}
    if account:
        parcel["carrier_account"] = account
    return {**parcel, "tracking_number": tracking, "lines": []}


def _body(order_id: int, shipped_at: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"order_id": order_id}
    if shipped_at:
        body["shipped_at"] = shipped_at
    return {**body, "parcels": []}


def _shipments_csv(name: str, data: bytes) -> list[dict[str, Any]]:
    problems: list[str] = []
    bodies: dict[tuple[int, str | None], dict[str, Any]] = {}
    parcels: dict[str, tuple[int, tuple[Any, ...], dict[str, Any]]] = {}
    for line, row in _rows(name, data, SHIPMENT_COLUMNS, _SHIPMENT_REQUIRED, problems):
        try:
            same = (
                _field(row, "order_id", _whole, 1, MAX_ID),
                _field(row, "shipped_at", _time),
                _field(row, "carrier", _carrier),
                _field(row, "service", _optional),
                _field(row, "carrier_account", _optional),
            )
            tracking = _field(row, "tracking_number", _text_value)
            ref = _line_ref(row)
            quantity = _field(row, "quantity", _whole, 1)
        except _Bad as exc:
            problems.append(f"line {line}: {exc}")
            continue
        if tracking in parcels:
            first, known, parcel = parcels[tracking]
            differ = [k for k, a, b in zip(_PARCEL_SAME, known, same, strict=True) if a != b]
            if differ:
                problems.append(
                    f"line {line}: the same tracking number as line {first}, with another "
                    f"{', '.join(differ)}"
                )
                continue
        else:
            order_id, shipped_at, carrier, service, account = same
            parcel = _parcel(carrier, service, account, tracking)
            parcels[tracking] = (line, same, parcel)
            body = bodies.setdefault((order_id, shipped_at), _body(order_id, shipped_at))
            body["parcels"].append(parcel)
        parcel["lines"].append({**ref, "quantity": quantity})
    if problems:
        raise FileProblem(name, problems)
    return list(bodies.values())


def _shipment_json(item: Any) -> dict[str, Any]:
    """One shipment body, checked and normalised."""
    _object(item, ("order_id", "shipped_at", "parcels"))
    body = _body(_field(item, "order_id", _whole, 1, MAX_ID), _field(item, "shipped_at", _time))
    if not isinstance(item.get("parcels"), list) or not item["parcels"]:
        raise _Bad("parcels: give at least one parcel")
    for p, raw in enumerate(item["parcels"]):
        try:
            _object(raw, ("carrier", "carrier_account", "service", "tracking_number", "lines"))
            parcel = _parcel(
                _field(raw, "carrier", _carrier),
                _field(raw, "service", _optional),
                _field(raw, "carrier_account", _optional),
                _field(raw, "tracking_number", _text_value),
            )
            if not isinstance(raw.get("lines"), list) or not raw["lines"]:
                raise _Bad("lines: give at least one line")
            for i, line in enumerate(raw["lines"]):
                try:
                    _object(line, ("sku", "line_id", "quantity"))
                    ref = _line_ref(line)
                    parcel["lines"].append({**ref, "quantity": _field(line, "quantity", _whole, 1)})
                except _Bad as exc:
                    raise _Bad(f"lines[{i}]: {exc}") from None
        except _Bad as exc:
            raise _Bad(f"parcels[{p}]: {exc}") from None
        body["parcels"].append(parcel)
    return body


def parse_shipments(name: str, data: bytes) -> list[dict[str, Any]]:
    """A shipment file: bodies as ``POST /api/shipments`` takes them, one per order (and
    shipping time), each tracking number on one parcel only."""
    if file_format(name) == "csv":
        return _shipments_csv(name, data)
    found = _load_json(name, data)
    items = found if isinstance(found, list) else [found]
    problems: list[str] = []
    bodies: list[dict[str, Any]] = []
    tracked: dict[str, str] = {}
    for i, item in enumerate(items):
        at = f"at [{i}]" if isinstance(found, list) else "at top"
        try:
            body = _shipment_json(item)
        except _Bad as exc:
            problems.append(f"{at}: {exc}")
            continue
        for p, parcel in enumerate(body["parcels"]):
            where, tracking = f"{at}: parcels[{p}]", parcel["tracking_number"]
            if tracking in tracked:
                problems.append(f"{where}: the same tracking number as {tracked[tracking]}")
            tracked.setdefault(tracking, where)
        bodies.append(body)
    if problems:
        raise FileProblem(name, problems)
    return bodies


#: a return receipt's conditions and grades (as ``POST /api/returns/<id>/receive`` takes them)
CONDITIONS = ("resellable", "damaged", "quarantine")
GRADES = ("A", "B", "C")


def return_file(expected: dict[str, Any]) -> tuple[str, bytes]:
    """The advance notice of a return: ``return-<id>.json``, the hub's notice as it is."""
    return f"return-{int(expected['return_id'])}.json", _json(expected)


def _choice(value: Any, choices: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if value not in choices:
        raise _Bad(f"one of {', '.join(choices)}")
    return value


def _receipt_json(item: Any) -> dict[str, Any]:
    _object(item, ("return_id", "received_at", "lines"))
    body: dict[str, Any] = {"return_id": _field(item, "return_id", _whole, 1, MAX_ID)}
    if item.get("received_at") is not None:
        body["received_at"] = _field(item, "received_at", _time)
    if not isinstance(item.get("lines"), list) or not item["lines"]:
        raise _Bad("lines: give at least one line")
    body["lines"] = []
    for i, line in enumerate(item["lines"]):
        try:
            _object(line, ("sku", "line_id", "quantity", "condition", "grade"))
            found = {**_line_ref(line), "quantity": _field(line, "quantity", _whole, 0)}
            for key, choices in (("condition", CONDITIONS), ("grade", GRADES)):
                value = _field(line, key, _choice, choices)
                if value is not None:
                    found[key] = value
            body["lines"].append(found)
        except _Bad as exc:
            raise _Bad(f"lines[{i}]: {exc}") from None
    return body


def parse_returns(name: str, data: bytes) -> list[dict[str, Any]]:
    """A returns file (JSON: one receipt or a list): what came back of each return, as
    ``POST /api/returns/<id>/receive`` takes it with the ``return_id``."""
    if file_format(name) != "json":
        raise FileProblem(name, ["at top: returns files are JSON"])
    found = _load_json(name, data)
    items = found if isinstance(found, list) else [found]
    problems: list[str] = []
    receipts = []
    for i, item in enumerate(items):
        try:
            receipts.append(_receipt_json(item))
        except _Bad as exc:
            problems.append(f"{f'at [{i}]' if isinstance(found, list) else 'at top'}: {exc}")
    if problems:
        raise FileProblem(name, problems)
    return receipts
