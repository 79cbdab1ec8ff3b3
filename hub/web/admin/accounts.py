"""``/admin/accounts``: every channel, carrier and warehouse account with its health, and
(editors) resuming an account whose refused credentials paused its jobs, through the same
function as ``POST /api/accounts/<name>/resume``."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm

from hub.jobs import account_health
from hub.storage import audit
from hub.web.admin import bp, current_hub, person, refusal, requires


class ResumeForm(FlaskForm):
    pass


@bp.get("/accounts")
def accounts() -> str:
    hub = current_hub()
    seen = {n: a for n, a in hub.accounts.items() if person().sees(a.client)}
    with hub.db.transaction() as session:
        items = account_health.report(session, seen)
    return render_template("admin/accounts.html", items=items, form=ResumeForm())


@bp.post("/accounts/<name>/resume")
@requires("editor")
def account_resume(name: str) -> Response | tuple[str, int]:
    account = current_hub().accounts.get(name)
    if account is None or not person().sees(account.client):
        return refusal(404, "No such account", f"No account named {name!r} is configured.")
    with current_hub().db.transaction() as session:
        woken = account_health.resume(session, name)
        audit.record(session, person().email, "account.resume", f"account:{name}", {"jobs": woken})
    flash(f"{name} resumed: {woken} waiting job(s) run now.")
    return redirect(url_for("admin.accounts"))
