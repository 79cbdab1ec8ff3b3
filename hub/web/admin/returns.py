"""``/admin/returns``: returns (RMAs), filtered by status, client and account and paged by
cursor, and one return with its lines, label, refund, dates and timeline; editors open a
return from an order's page and move it on (authorise, reject, receive, inspect, close,
cancel) through :mod:`hub.returns.store`, each in one transaction and audited with the
person's email. A step the return cannot take (the wrong state, more than can come back, a
value that makes no sense) answers 409 or 422 with the return's page again, the problem named
at the step's form and what was typed there kept.

A return label is followed by one of the client's carrier accounts: the authorise form offers
them (the one chosen when the client has only one), as ``carrier_account`` does in the API.
Statuses, label tracking statuses and timeline kinds read in words
(:mod:`hub.web.admin.words`).

The filters mean what they mean on ``GET /api/returns`` (the same schema). A person limited
to some clients sees (and acts on) only their clients' returns; another's is not found.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from hub.canonical import RETURN_REASONS
from hub.connectors import Account
from hub.returns import store
from hub.shipping.shipments import carriers
from hub.storage import audit, pages
from hub.storage.models import OrderRow, ReturnRow
from hub.web import validation
from hub.web.admin import bp, current_hub, person, refusal, requires
from hub.web.admin.words import return_status
from hub.web.api_returns import ReturnsQuery
from hub.web.errors import ApiError
from hub.web.validation import ID

validation.install_converters(bp)

#: the filters the list's form offers, in its order
FILTERS = ("status", "client", "account")
#: the longest free text a form takes (a note, a reason)
_TEXT = 10_000
#: the longest carrier name, tracking number and account name kept (as the API's schema)
_CARRIER, _TRACKING, _ACCOUNT = 50, 100, 100


def _choices() -> dict[str, list[str]]:
    accounts = [a for a in current_hub().accounts.values() if person().sees(a.client)]
    return {
        "status": list(store.STATUSES),
        "client": sorted({a.client for a in accounts}),
        "account": sorted(a.name for a in accounts),
    }


def _visible(query: Any) -> Any:
    if person().clients is not None:
        query = query.where(ReturnRow.client.in_(list(person().clients)))
    return query


@bp.get("/returns", endpoint="returns")
def returns_page() -> str | tuple[str, int]:
    form = {name: request.args.get(name, "") for name in FILTERS}
    given = {k: v for k, v in form.items() if v}
    shown: dict[str, Any] = {
        "form": form,
        "choices": _choices(),
        "rows": [],
        "older": None,
        "first": bool(request.args.get("cursor")),
        "first_args": given,
    }
    try:
        params = validation.query(ReturnsQuery())
    except ApiError as exc:
        return render_template("admin/returns.html", error=exc.message, **shown), 400
    query = _visible(select(ReturnRow))
    for name in (*FILTERS, "order_id"):
        if params.get(name) is not None:
            query = query.where(getattr(ReturnRow, name) == params[name])
    with current_hub().db.transaction() as session:
        rows, last = pages.newest_first(
            session, query, ReturnRow.id, params["limit"], params["cursor"]
        )
        shown["rows"] = [store.to_json(session, row) for row in rows]
    if last:
        shown["older"] = dict(given, cursor=validation.encode_cursor(last))
    return render_template("admin/returns.html", error=None, **shown)


def _not_found(return_id: int) -> tuple[str, int]:
    return refusal(404, "No such return", f"There is no return {return_id}.")


def duration(seconds: float | None) -> str:
    """Seconds as people read a dock-to-stock time: ``2 h 05 min``, ``12 min``, ``40 s``."""
    if seconds is None:
        return ""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def carrier_accounts(client: str) -> list[Account]:
    """The client's carrier accounts, by name: those that may follow its return labels."""
    known = carriers()
    return sorted(
        (a for a in current_hub().accounts.values() if a.client == client and a.connector in known),
        key=lambda a: a.name,
    )


@bp.get(f"/returns/<{ID}:return_id>", endpoint="return_detail")
def return_page(return_id: int) -> str | tuple[str, int]:
    return _page(return_id)


def _page(
    return_id: int, problem: dict[str, Any] | None = None, status: int = 200
) -> str | tuple[str, int]:
    """The return's page; after a refused step, with ``problem`` (``step``, ``message``,
    ``field``) shown at that step's form and the form's values as they were sent."""
    with current_hub().db.transaction() as session:
        row = session.get(ReturnRow, return_id)
        if row is None or not person().sees(row.client):
            return _not_found(return_id)
        shown = store.to_json(session, row, events=True)
        status_now = row.status
    can_act = person().can("editor")
    accounts = carrier_accounts(shown["client"]) if can_act else []
    given = request.form if problem else {}
    page = render_template(
        "admin/return.html",
        rma=shown,
        dock_to_stock=duration(shown["dock_to_stock_seconds"]),
        can_act=can_act,
        problem=problem,
        given=given,
        carrier_accounts=accounts,
        chosen_account=(
            given.get("carrier_account", "")
            if problem
            else (accounts[0].name if len(accounts) == 1 else "")
        ),
        steps={
            "authorise": status_now == store.REQUESTED,
            "reject": status_now == store.REQUESTED,
            "receive": status_now in (store.REQUESTED, store.AUTHORISED, store.IN_TRANSIT),
            "inspect": status_now == store.RECEIVED,
            "close": status_now in (store.RECEIVED, store.INSPECTED),
            "cancel": status_now in (store.REQUESTED, store.AUTHORISED, store.IN_TRANSIT),
        }
        if can_act
        else {},
        conditions=store.CONDITIONS,
        grades=store.GRADES,
    )
    return (page, status) if status != 200 else page


# -- the steps -----------------------------------------------------------------------------------
class _Bad(Exception):
    """A form value that makes no sense: the page again (422) naming it, at ``field``."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _text(name: str, most: int, required: str | None = None) -> str | None:
    value = (request.form.get(name) or "").strip()
    if not value:
        if required:
            raise _Bad(required)
        return None
    if len(value) > most:
        raise _Bad(f"{name.replace('_', ' ').capitalize()}: at most {most} characters.")
    return value


def _whole(name: str, label: str, default: int | None = None, least: int = 0) -> int | None:
    value = (request.form.get(name) or "").strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        raise _Bad(f"{label}: a whole number from {least}, not {value!r}.")
    number = int(value)
    if number < least or number > 100_000:
        raise _Bad(f"{label}: a whole number from {least} to 100000, not {number}.")
    return number


def _choice(name: str, label: str, choices: tuple[str, ...]) -> str | None:
    value = request.form.get(name) or None
    if value is not None and value not in choices:
        raise _Bad(f"{label}: one of {', '.join(choices)}, not {value!r}.")
    return value


def _refused(exc: store.ReturnError) -> tuple[str, int]:
    titles = {404: "Not found", 409: "Not possible now", 422: "Not accepted"}
    return refusal(exc.status, titles.get(exc.status, "Refused"), exc.message)


def _field(exc: store.ReturnError) -> str | None:
    details = exc.details if isinstance(exc.details, dict) else {}
    return details.get("field")


def _step(
    return_id: int, action: str, run: Callable[[Any, Any, ReturnRow], Any], done: str
) -> Response | tuple[str, int]:
    """Run one step on the return (locked) in one transaction with its audit entry; back to
    the return's page with ``done`` said, or the page again with the refusal at the step."""
    hub = current_hub()
    try:
        with hub.db.transaction() as session:
            row = session.get(ReturnRow, return_id, with_for_update=True)
            if row is None or not person().sees(row.client):
                return _not_found(return_id)
            run(hub, session, row)
            audit.record(session, person().email, f"return.{action}", f"return:{return_id}")
            status = row.status
    except store.ReturnError as exc:
        if exc.status == 404:
            return _refused(exc)
        problem = {"step": action, "message": exc.message, "field": _field(exc)}
        return _page(return_id, problem, exc.status)
    except _Bad as exc:
        return _page(return_id, {"step": action, "message": str(exc), "field": exc.field}, 422)
    flash(f"Return {return_id} {done}: now {return_status(status).lower()}.")
    return redirect(url_for("admin.return_detail", return_id=return_id))


def _lines(session: Any, row: ReturnRow, inspecting: bool) -> list[store.LineRequest]:
    """Per line of the return, what the form says of it (``qty-<position>``,
    ``condition-<position>``, ``grade-<position>``), naming the order line as the store
    expects (by the channel's line id, else by SKU)."""
    order = session.get(OrderRow, row.order_id)
    order_lines = (order.data.get("lines") or []) if order is not None else []
    given = []
    for line in store.lines_of(session, row.id):
        p = line.position
        label = f"Line {p + 1} ({line.sku or 'no SKU'})"
        condition = _choice(f"condition-{p}", f"{label} condition", store.CONDITIONS)
        grade = _choice(f"grade-{p}", f"{label} grade", store.GRADES)
        ref = order_lines[p].get("external_id") if p < len(order_lines) else None
        named = {"line_id": str(ref)} if ref is not None else {"sku": line.sku}
        if inspecting:
            if line.received and not line.condition:
                if condition is None:
                    raise _Bad(f"{label}: choose its condition.")
                given.append(store.LineRequest(condition=condition, grade=grade, **named))
            continue
        quantity = _whole(f"qty-{p}", f"{label} quantity received", default=0)
        if quantity or condition:
            given.append(
                store.LineRequest(quantity=quantity, condition=condition, grade=grade, **named)
            )
    if not given:
        raise _Bad(
            "Choose the condition of each line received."
            if inspecting
            else "Say how many of at least one line came back."
        )
    return given


@bp.post(f"/returns/<{ID}:return_id>/authorise")
@requires("editor")
def authorise_return(return_id: int) -> Response | tuple[str, int]:
    def run(hub: Any, session: Any, row: ReturnRow) -> None:
        carrier = _text("carrier", _CARRIER)
        tracking = _text("tracking_number", _TRACKING)
        account = _text("carrier_account", _ACCOUNT)
        if carrier and not tracking:
            raise _Bad(
                "A return label's carrier goes with its tracking number: give both.",
                "tracking_number",
            )
        store.authorise(
            session, row, actor=person().email, hub=hub, carrier=carrier,
            tracking_number=tracking, carrier_account=account,
        )  # fmt: skip

    return _step(return_id, "authorise", run, "is authorised")


@bp.post(f"/returns/<{ID}:return_id>/reject")
@requires("editor")
def reject_return(return_id: int) -> Response | tuple[str, int]:
    def run(hub: Any, session: Any, row: ReturnRow) -> None:
        reason = _text("reason", _TEXT, required="A rejected return keeps the reason: write one.")
        store.reject(session, row, actor=person().email, reason=reason or "")

    return _step(return_id, "reject", run, "is rejected")


@bp.post(f"/returns/<{ID}:return_id>/receive")
@requires("editor")
def receive_return(return_id: int) -> Response | tuple[str, int]:
    def run(hub: Any, session: Any, row: ReturnRow) -> None:
        lines = _lines(session, row, inspecting=False)
        store.receive(session, hub, row, lines, actor=person().email)

    return _step(return_id, "receive", run, "is received")


@bp.post(f"/returns/<{ID}:return_id>/inspect")
@requires("editor")
def inspect_return(return_id: int) -> Response | tuple[str, int]:
    def run(hub: Any, session: Any, row: ReturnRow) -> None:
        lines = _lines(session, row, inspecting=True)
        store.inspect(session, hub, row, lines, actor=person().email)

    return _step(return_id, "inspect", run, "is inspected")


@bp.post(f"/returns/<{ID}:return_id>/close")
@requires("editor")
def close_return(return_id: int) -> Response | tuple[str, int]:
    return _step(
        return_id,
        "close",
        lambda hub, session, row: store.close(session, row, actor=person().email),
        "is closed",
    )


@bp.post(f"/returns/<{ID}:return_id>/cancel")
@requires("editor")
def cancel_return(return_id: int) -> Response | tuple[str, int]:
    def run(hub: Any, session: Any, row: ReturnRow) -> None:
        store.cancel(session, row, actor=person().email, reason=_text("reason", _TEXT))

    return _step(return_id, "cancel", run, "is cancelled")


# -- from the order's page -----------------------------------------------------------------------
def for_order(session: Any, order: OrderRow) -> dict[str, Any]:
    """What the order's page shows of returns: the order's returns (newest first) and, per
    shipped line, how many can still come back (for the "Open a return" form)."""
    rows = session.execute(
        select(ReturnRow).where(ReturnRow.order_id == order.id).order_by(ReturnRow.id.desc())
    ).scalars()
    left = store.returnable(session, order)
    lines = order.data.get("lines") or []
    return {
        "returns": [store.to_json(session, row) for row in rows],
        "returnable": [
            {"position": p, "sku": lines[p].get("sku"), "name": lines[p].get("name"), "left": n}
            for p, n in sorted(left.items())
            if p < len(lines) and n > 0
        ],
        "reasons": RETURN_REASONS,
    }


@bp.post(f"/orders/<{ID}:order_id>/returns")
@requires("editor")
def open_return(order_id: int) -> Response | tuple[str, int]:
    """Per order line ``qty-<position>`` and ``reason-<position>``; a ``note``."""
    hub = current_hub()
    try:
        with hub.db.transaction() as session:
            order = session.get(OrderRow, order_id, with_for_update=True)
            if order is None or not person().sees(order.client):
                return refusal(404, "No such order", f"There is no order with id {order_id}.")
            lines = []
            for p, line in enumerate(order.data.get("lines") or []):
                label = f"Line {p + 1} ({line.get('sku') or 'no SKU'})"
                quantity = _whole(f"qty-{p}", f"{label} quantity", default=0)
                if not quantity:
                    continue
                reason = _choice(f"reason-{p}", f"{label} reason", RETURN_REASONS) or "unknown"
                ref = line.get("external_id")
                lines.append(
                    store.LineRequest(quantity=quantity, reason=reason, line_id=str(ref))
                    if ref is not None
                    else store.LineRequest(quantity=quantity, reason=reason, sku=line.get("sku"))
                )
            if not lines:
                raise _Bad("Say how many of at least one line come back.")
            row = store.open_return(
                session, order, lines, actor=person().email, source="console",
                note=_text("note", _TEXT),
            )  # fmt: skip
            audit.record(session, person().email, "return.open", f"return:{row.id}")
            return_id = row.id
    except store.ReturnError as exc:
        return _refused(exc)
    except _Bad as exc:
        return refusal(422, "Not accepted", str(exc))
    flash(f"Return {return_id} is opened: now requested.")
    return redirect(url_for("admin.return_detail", return_id=return_id))
