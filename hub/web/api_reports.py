"""``/api/reports``: the fulfilment KPIs of :mod:`hub.reports.kpis` as JSON, or CSV with
``?format=csv``, filtered by ``client``, ``channel``, ``from`` and ``to`` (UTC days, both
included; the last 30 days when not given). Viewers may read them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from marshmallow import Schema, fields, validate

from hub.reports import kpis
from hub.storage.fields import column_length
from hub.storage.models import OrderRow
from hub.values import csv_text
from hub.web import openapi, validation
from hub.web.api import authenticate, current_hub, requires
from hub.web.errors import ApiError

bp = Blueprint("reports", __name__, url_prefix="/api")
bp.before_request(authenticate)


class ReportQuery(Schema):
    """What every report takes."""

    client = validation.QueryText(column_length(OrderRow.client))
    channel = validation.QueryText(column_length(OrderRow.channel))
    start = fields.Date(data_key="from", metadata={"description": "first UTC day, YYYY-MM-DD"})
    end = fields.Date(data_key="to", metadata={"description": "last UTC day, included"})
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "csv"], error="must be json or csv"),
    )


class ReportEntry(openapi.Answer):
    name = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)


class ReportIndex(openapi.Answer):
    items = fields.List(fields.Nested(ReportEntry), required=True)


class ReportColumn(openapi.Answer):
    name = fields.String(required=True)
    title = fields.String(required=True)
    unit = fields.String(
        required=True,
        metadata={"description": "text, count, seconds or ratio (0..1)"},
    )


class ReportFilters(openapi.Answer):
    start = fields.String(data_key="from", required=True)
    end = fields.String(data_key="to", required=True)
    client = fields.String(allow_none=True)
    channel = fields.String(allow_none=True)


class ReportChart(openapi.Answer):
    label = fields.String(required=True)
    series = fields.List(fields.String(), required=True)


class ReportAnswer(ReportEntry):
    """One report: its filters, columns (with units) and rows (one object per row, keyed by
    column name). With ``?format=csv``: the same rows as CSV, a header line first."""

    filters = fields.Nested(ReportFilters, required=True)
    note = fields.String(required=True)
    columns = fields.List(fields.Nested(ReportColumn), required=True)
    rows = fields.List(fields.Dict(), required=True)
    chart = fields.Nested(ReportChart, allow_none=True, required=True)


def filters_of(params: dict[str, Any], clients: Any = None) -> kpis.Filters:
    """The report filters from a loaded :class:`ReportQuery`; a bad range is a 400."""
    try:
        return kpis.Filters.of(
            params.get("start"),
            params.get("end"),
            params.get("client"),
            params.get("channel"),
            clients,
        )
    except ValueError as exc:
        raise ApiError(400, "bad_parameter", f"to: {exc}", {"parameter": "to"}) from None


def as_csv(result: dict[str, Any]) -> str:
    """A report's rows as CSV, its columns' names as the header (safe in a spreadsheet)."""
    names = [c["name"] for c in result["columns"]]
    return csv_text(names, ([row.get(name) for name in names] for row in result["rows"]))


@bp.get("/reports")
@requires("viewer")
@openapi.doc(summary="The reports there are", answer=ReportIndex)
def list_reports() -> Response:
    return jsonify({"items": [r.index_json() for r in kpis.REPORTS.values()]})


@bp.get("/reports/<name>")
@requires("viewer")
@openapi.doc(summary="One report, as JSON or CSV", query=ReportQuery, answer=ReportAnswer)
def get_report(name: str) -> Response:
    if name not in kpis.REPORTS:
        known = ", ".join(kpis.REPORTS)
        raise ApiError(404, "not_found", f"no report named {name!r} (there are: {known})")
    params = validation.query(ReportQuery())
    hub = current_hub()
    with hub.db.transaction() as session:
        result = kpis.run(hub, session, name, filters_of(params))
    if params["format"] == "csv":
        return csv_download(name, result)
    return jsonify(result)


def csv_download(name: str, result: dict[str, Any]) -> Response:
    """A report as a CSV file to save, named for the report and its days."""
    answer = Response(as_csv(result), mimetype="text/csv")
    days = f"{result['filters']['from']}_{result['filters']['to']}"
    answer.headers["Content-Disposition"] = f'attachment; filename="{name}_{days}.csv"'
    return answer
