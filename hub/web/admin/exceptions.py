"""``/admin/exceptions``: one queue of what needs a person (:mod:`hub.reports.exceptions`),
with Replay (a failed delivery), Retry and Discard (a dead job) and Retry all (for what the
filters select, after a confirmation page). Changes need the editor role and are audited
with the person's email."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for

from hub.intake import translation
from hub.jobs import listing, outbox
from hub.reports import exceptions
from hub.storage import audit
from hub.web import validation
from hub.web.admin import bp, current_hub, person, refusal, requires
from hub.web.validation import ID

validation.install_converters(bp)

#: the longest account or client name a filter takes (as stored)
_NAME = 100


def _filters(source: Any) -> exceptions.Filters | None:
    """The queue's filters from a query string or form; None when one is not sensible."""
    kind = source.get("kind") or None
    account = (source.get("account") or "").strip() or None
    client = (source.get("client") or "").strip() or None
    if kind is not None and kind not in exceptions.KINDS:
        return None
    if any(value is not None and len(value) > _NAME for value in (account, client)):
        return None
    clients = person().clients
    return exceptions.Filters(
        kind, account, client, tuple(clients) if clients is not None else None
    )


def _query(filters: exceptions.Filters) -> dict[str, str]:
    """The filters as query parameters, to come back to the same selection."""
    given = {"kind": filters.kind, "account": filters.account, "client": filters.client}
    return {name: value for name, value in given.items() if value}


def _back() -> Response:
    """To the delivery's or job's own page when the form was sent from it (``back=detail``),
    else to the queue with the filters the form came from."""
    if request.form.get("back") == "detail" and request.view_args:
        ((name, value),) = request.view_args.items()
        return redirect(
            url_for({"delivery_id": "admin.delivery"}.get(name, "admin.job"), **{name: value})
        )
    filters = _filters(request.form)
    return redirect(url_for("admin.exceptions", **(_query(filters) if filters else {})))


def _account_clients() -> dict[str, str]:
    return {name: account.client for name, account in current_hub().accounts.items()}


def _bad_filter() -> tuple[str, int]:
    return refusal(
        400,
        "Unknown filter",
        f"Kind is one of {', '.join(exceptions.KINDS)}; account and client names have at "
        f"most {_NAME} characters.",
    )


@bp.get("/exceptions", endpoint="exceptions")
def exceptions_page() -> str | tuple[str, int]:
    filters = _filters(request.args)
    if filters is None:
        return _bad_filter()
    hub = current_hub()
    with hub.db.transaction() as session:
        found = exceptions.queue(
            session,
            filters,
            stuck_days=hub.settings.stuck_parcel_days,
            account_clients=_account_clients(),
        )
    accounts = sorted(hub.accounts)
    clients = sorted({a.client for a in hub.accounts.values()})
    if person().clients is not None:
        clients = [c for c in clients if c in person().clients]
        accounts = [n for n in accounts if hub.accounts[n].client in person().clients]
    return render_template(
        "admin/exceptions.html",
        queue=found,
        filters=filters,
        query=_query(filters),
        kinds=exceptions.KINDS,
        accounts=accounts,
        clients=clients,
        stuck_days=hub.settings.stuck_parcel_days,
    )


@bp.post(f"/deliveries/<{ID}:delivery_id>/replay")
@requires("editor")
def replay_delivery(delivery_id: int) -> Response | tuple[str, int]:
    hub = current_hub()
    if person().clients is not None:
        return _not_yours()
    with hub.db.transaction() as session:
        if not translation.replay(hub, session, delivery_id):
            return refusal(404, "Not found", f"There is no delivery {delivery_id}.")
        audit.record(session, person().email, "delivery.replay", f"delivery:{delivery_id}")
    flash(f"Delivery {delivery_id} is queued to be taken in again.")
    return _back()


def _not_yours() -> tuple[str, int]:
    return refusal(
        403,
        "Not allowed",
        "Deliveries and jobs belong to no client yet: only people who see every client "
        "may act on them.",
    )


@bp.post(f"/jobs/<{ID}:job_id>/retry")
@requires("editor")
def retry_job(job_id: int) -> Response | tuple[str, int]:
    if person().clients is not None:
        return _not_yours()
    with current_hub().db.transaction() as session:
        if not outbox.retry(session, job_id):
            return refusal(
                409, "Not retried", f"Job {job_id} does not exist or is not dead or waiting."
            )
        audit.record(session, person().email, "job.retry", f"job:{job_id}")
    flash(f"Job {job_id} is queued to run again.")
    return _back()


@bp.post(f"/jobs/<{ID}:job_id>/discard")
@requires("editor")
def discard_job(job_id: int) -> Response | tuple[str, int]:
    if person().clients is not None:
        return _not_yours()
    reason = (request.form.get("reason") or "").strip()
    if not reason or len(reason) > 10_000:
        return refusal(400, "Say why", "A discarded job keeps the reason: write one.")
    with current_hub().db.transaction() as session:
        if not listing.discard(session, job_id, reason, person().email):
            return refusal(409, "Not discarded", f"Job {job_id} does not exist or is not dead.")
    flash(f"Job {job_id} is discarded: it will not run.")
    return _back()


@bp.post("/exceptions/retry")
@requires("editor")
def retry_all() -> Response | str | tuple[str, int]:
    """Without ``confirm=yes``: a page that says how many would go and asks; with it: every
    failed delivery replayed and every dead job retried that the filters select."""
    filters = _filters(request.form)
    if filters is None:
        return _bad_filter()
    hub = current_hub()
    with hub.db.transaction() as session:
        deliveries, jobs = exceptions.retryable(session, filters, _account_clients())
        if request.form.get("confirm") != "yes":
            return render_template(
                "admin/exceptions_confirm.html",
                deliveries=len(deliveries),
                jobs=len(jobs),
                filters=filters,
                query=_query(filters),
            )
        for delivery_id in deliveries:
            translation.replay(hub, session, delivery_id)
        for job_id in jobs:
            outbox.retry(session, job_id)
        audit.record(
            session,
            person().email,
            "exceptions.retry_all",
            "exceptions",
            {
                "filters": _query(filters),
                "deliveries": deliveries[:1000],
                "jobs": jobs[:1000],
                "count": len(deliveries) + len(jobs),
            },
        )
    flash(f"Queued again: {len(deliveries)} deliveries and {len(jobs)} jobs.")
    return redirect(url_for("admin.exceptions", **_query(filters)))
