"""``/admin/reports``: the fulfilment KPIs of :mod:`hub.reports.kpis`, each with its filters
(client, channel, a range of days), a chart drawn on the server (:mod:`hub.web.charts`), the
table it pictures and a CSV download: the same figures as ``/api/reports``. A person limited
to some clients sees only their figures."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from hub.reports import kpis
from hub.web import charts, validation
from hub.web.admin import bp, current_hub, person, refusal
from hub.web.api_reports import ReportQuery, csv_download, filters_of
from hub.web.errors import ApiError

#: the filters the form offers
FIELDS = ("from", "to", "client", "channel")


def _choices() -> dict[str, list[str]]:
    accounts = [a for a in current_hub().accounts.values() if person().sees(a.client)]
    return {
        "client": sorted({a.client for a in accounts}),
        "channel": sorted({a.connector for a in accounts}),
    }


@bp.get("/reports", endpoint="reports")
def reports_page() -> str:
    return render_template("admin/reports.html", reports=list(kpis.REPORTS.values()))


def _result(name: str) -> tuple[dict[str, Any] | None, str | None]:
    """The report for the page's filters, or the reason the filters were refused."""
    try:
        params = validation.query(ReportQuery())
        filters = filters_of(params, person().clients)
    except ApiError as exc:
        return None, exc.message
    if filters.client and not person().sees(filters.client):
        return None, f"client: you do not see client {filters.client!r}"
    hub = current_hub()
    with hub.db.transaction() as session:
        return kpis.run(hub, session, name, filters), None


def _chart(result: dict[str, Any]) -> Any:
    chart = result["chart"]
    if not chart:
        return None
    columns = {c["name"]: c for c in result["columns"]}
    units = {columns[s]["unit"] for s in chart["series"]}
    return charts.bars(
        result["title"],
        [str(row.get(chart["label"], "")) for row in result["rows"]],
        [(columns[s]["title"], [row.get(s) for row in result["rows"]]) for s in chart["series"]],
        units.pop() if len(units) == 1 else "count",
    )


@bp.get("/reports/<name>", endpoint="report")
def report_page(name: str) -> Any:
    if name not in kpis.REPORTS:
        return refusal(404, "No such report", f"There is no report named {name!r}.")

    form = {key: request.args.get(key, "") for key in FIELDS}
    result, error = _result(name)
    page = render_template(
        "admin/report.html",
        report=kpis.REPORTS[name],
        result=result,
        error=error,
        form=form,
        choices=_choices(),
        chart=_chart(result) if result else None,
        show=charts.show,
        csv_args={k: v for k, v in form.items() if v},
    )
    return (page, 400) if error else page


@bp.get("/reports/<name>/csv", endpoint="report_csv")
def report_csv(name: str) -> Any:
    if name not in kpis.REPORTS:
        return refusal(404, "No such report", f"There is no report named {name!r}.")
    result, error = _result(name)
    if result is None:
        return refusal(400, "Unknown filter", error or "")
    return csv_download(name, result)
