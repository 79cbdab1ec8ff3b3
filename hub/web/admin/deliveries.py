"""``/admin/deliveries`` and ``/admin/jobs``: the inbox and the outbox, filtered by state and
paged by cursor, and one delivery (its headers, its body pretty-printed, the translate jobs
it went through) or one job (its payload, its input, every failed attempt) with Replay,
Retry and Discard for editors (the actions of :mod:`hub.web.admin.exceptions`).

The filters mean what they mean on ``GET /api/deliveries`` and ``GET /api/jobs`` (the same
schemas). A person limited to some clients sees the deliveries and jobs of those clients'
accounts only, and acts on none (they are not tied to a client yet).
"""

from __future__ import annotations

import json
from typing import Any

from flask import render_template, request, url_for
from sqlalchemy import select

from hub.intake import listing as deliveries
from hub.jobs import listing as jobs
from hub.jobs import outbox
from hub.storage import pages
from hub.storage.models import DeliveryRow, JobRow
from hub.web import validation
from hub.web.admin import bp, current_hub, person, refusal
from hub.web.api import DeliveriesQuery
from hub.web.api_jobs import JobsQuery
from hub.web.errors import ApiError
from hub.web.validation import ID


def _accounts() -> list[str] | None:
    """The accounts whose deliveries and jobs this person may read (None: all of them)."""
    if person().clients is None:
        return None
    return sorted(a.name for a in current_hub().accounts.values() if person().sees(a.client))


def _listing(
    schema: validation.PageSchema,
    names: tuple[str, ...],
    select_rows: Any,
    id_column: Any,
) -> tuple[dict[str, Any], str | None]:
    """One page of a list: the template's values (rows, form, pager) and the error a bad
    filter gives (with no rows)."""
    form = {name: request.args.get(name, "") for name in names}
    given = {k: v for k, v in form.items() if v}
    visible = _accounts()
    shown: dict[str, Any] = {
        "form": form,
        "rows": [],
        "older": None,
        "first": bool(request.args.get("cursor")),
        "first_args": given,
        "accounts": visible if visible is not None else sorted(current_hub().accounts),
    }
    try:
        params = validation.query(schema)
    except ApiError as exc:
        return shown, exc.message
    with current_hub().db.transaction() as session:
        rows, last = pages.newest_first(
            session, select_rows(params), id_column, params["limit"], params["cursor"]
        )
        shown["rows"] = rows
    if last:
        shown["older"] = dict(given, cursor=validation.encode_cursor(last))
    return shown, None


def _page(template: str, shown: dict[str, Any], error: str | None, **more: Any) -> Any:
    page = render_template(template, error=error, **shown, **more)
    return (page, 400) if error else page


# -- deliveries -------------------------------------------------------------------------------
@bp.get("/deliveries", endpoint="deliveries")
def deliveries_page() -> Any:
    shown, error = _listing(
        DeliveriesQuery(),
        ("status", "account", "topic"),
        lambda params: deliveries.select_deliveries(params, _accounts()),
        DeliveryRow.id,
    )
    return _page("admin/deliveries.html", shown, error, statuses=deliveries.STATUSES)


@bp.get(f"/deliveries/<{ID}:delivery_id>", endpoint="delivery")
def delivery_page(delivery_id: int) -> Any:
    visible = _accounts()
    with current_hub().db.transaction() as session:
        row = session.get(DeliveryRow, delivery_id)
        if row is None or (visible is not None and row.account not in visible):
            return refusal(404, "No such delivery", f"There is no delivery {delivery_id}.")
        return render_template(
            "admin/delivery.html",
            delivery=row,
            body=deliveries.readable_body(row),
            headers=json.dumps(row.headers, indent=2, ensure_ascii=False, sort_keys=True),
            translations=deliveries.translations(session, delivery_id),
            can_act=person().can("editor") and person().clients is None,
        )


# -- jobs -------------------------------------------------------------------------------------
def _jobs(params: dict[str, Any]) -> Any:
    query = jobs.matching(select(JobRow), params)
    visible = _accounts()
    if visible is not None:
        query = query.where(JobRow.payload["account"].as_string().in_(visible))
    return query


@bp.get("/jobs", endpoint="jobs")
def jobs_page() -> Any:
    shown, error = _listing(JobsQuery(), ("status", "kind", "account", "error"), _jobs, JobRow.id)
    return _page("admin/jobs.html", shown, error, statuses=outbox.STATUSES)


@bp.get(f"/jobs/<{ID}:job_id>", endpoint="job")
def job_page(job_id: int) -> Any:
    visible = _accounts()
    with current_hub().db.transaction() as session:
        row = session.get(JobRow, job_id)
        if row is None or (visible is not None and row.payload.get("account") not in visible):
            return refusal(404, "No such job", f"There is no job {job_id}.")
        source = row.payload.get("delivery_id")
        return render_template(
            "admin/job.html",
            job=row,
            payload=json.dumps(row.payload, indent=2, ensure_ascii=False, sort_keys=True),
            failures=jobs.attempts(session, job_id),
            delivery_url=(
                url_for("admin.delivery", delivery_id=source)
                if isinstance(source, int) and session.get(DeliveryRow, source) is not None
                else None
            ),
            can_act=person().can("editor") and person().clients is None,
            dead=row.status == outbox.DEAD,
            retryable=row.status in (outbox.DEAD, outbox.QUEUED),
        )
