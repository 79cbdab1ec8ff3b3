"""``/admin``: the day at a glance."""

from __future__ import annotations

from flask import render_template

from hub.reports.overview import overview as day
from hub.web.admin import bp, current_hub, person


@bp.get("")
@bp.get("/")
def overview() -> str:
    with current_hub().db.transaction() as session:
        figures = day(session, person().clients)
    rows = sorted(set(figures.received) | set(figures.shipped))
    return render_template("admin/overview.html", figures=figures, rows=rows)
