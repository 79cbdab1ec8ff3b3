"""``/admin``: the day at a glance, and what each account's background work is doing (stock
passes, tracking polls, pauses) for the accounts the person sees."""

from __future__ import annotations

from flask import render_template

from hub.reports.activity import activity
from hub.reports.overview import overview as day
from hub.web.admin import bp, current_hub, person


@bp.get("")
@bp.get("/")
def overview() -> str:
    hub = current_hub()
    seen = {n: a for n, a in hub.accounts.items() if person().sees(a.client)}
    with hub.db.transaction() as session:
        figures = day(session, person().clients)
        accounts = activity(hub, session, seen)
    rows = sorted(set(figures.received) | set(figures.shipped))
    return render_template("admin/overview.html", figures=figures, rows=rows, accounts=accounts)
