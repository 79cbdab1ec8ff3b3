"""``/admin/stock``: levels per client and SKU with what each sales channel was last sent;
``/admin/stock/<client>/<sku>``: that SKU's ledger, and (editors) a change by hand through the
same function as ``POST /api/stock/adjustments``."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from hub.shipping import adjustments
from hub.stock import ledger, listing
from hub.storage.fields import MAX_INT, column_length
from hub.storage.models import StockLedgerRow, StockLevelRow
from hub.web.admin import bp, current_hub, person, refusal, requires

PAGE = listing.PAGE


class AdjustmentForm(FlaskForm):
    """A change of one SKU's on hand: by a number of units, or to a counted level."""

    kind = RadioField(
        "Change",
        choices=[
            SelectChoice("delta", "Add or take (units, negative to take)"),
            SelectChoice("set", "Set on hand to"),
        ],
        default="delta",
        validators=[InputRequired()],
    )
    amount = IntegerField(
        "Units",
        validators=[InputRequired("Give a whole number."), NumberRange(-MAX_INT, MAX_INT)],
    )
    reason = SelectField(
        "Reason",
        choices=[SelectChoice("", "Choose a reason")] + [SelectChoice(r) for r in ledger.REASONS],
        validators=[DataRequired("Say why: choose a reason.")],
    )
    location = StringField(
        "Location (blank: the client's usual one)",
        validators=[Optional(), Length(max=column_length(StockLedgerRow.location))],
    )
    ref = StringField(
        "Reference (optional)",
        validators=[Optional(), Length(max=column_length(StockLedgerRow.ref))],
    )


def _client_names() -> list[str]:
    """The clients this person may look at, from the configured accounts."""
    names = {a.client for a in current_hub().accounts.values()}
    return sorted(c for c in names if person().sees(c))


@bp.get("/stock")
def stock() -> str | tuple[str, int]:
    """``?client=&q=`` (text in the SKU), ``?after_client=&after_sku=`` for the next page."""
    client = request.args.get("client", "").strip() or None
    search = request.args.get("q", "").strip()[: column_length(StockLevelRow.sku)] or None
    after = None
    if request.args.get("after_sku") is not None:
        after = (request.args.get("after_client", ""), request.args.get("after_sku", ""))
    if client is not None and not person().sees(client):
        return refusal(404, "No such client", f"You see no client named {client!r}.")
    hub = current_hub()
    with hub.db.transaction() as session:
        pairs = listing.skus(
            session, person().clients, client=client, search=search, after=after, limit=PAGE + 1
        )
        rows = listing.board(hub, session, pairs[:PAGE])
    more = len(pairs) > PAGE
    return render_template(
        "admin/stock.html",
        rows=rows,
        clients=_client_names(),
        client=client,
        search=search or "",
        next_page=pairs[PAGE - 1] if more else None,
    )


def _sku_page(client: str, sku: str, form: AdjustmentForm, status: int = 200) -> tuple[str, int]:
    if not person().sees(client):
        return refusal(404, "No such SKU", f"You see no SKU {sku!r} of a client {client!r}.")
    before = request.args.get("before", "")
    hub = current_hub()
    with hub.db.transaction() as session:
        [level] = listing.board(hub, session, [(client, sku)])
        entries, more = listing.history(
            session, client, sku, before=int(before) if before.isdigit() else None
        )
    return render_template(
        "admin/stock_sku.html",
        level=level,
        entries=entries,
        next_before=more,
        form=form if person().can("editor") else None,
    ), status


@bp.get("/stock/<client>/<path:sku>")
def stock_sku(client: str, sku: str) -> tuple[str, int]:
    return _sku_page(client, sku, AdjustmentForm())


@bp.post("/stock/<client>/<path:sku>")
@requires("editor")
def stock_adjust(client: str, sku: str) -> Response | tuple[str, int]:
    form = AdjustmentForm()
    if not person().sees(client):
        return _sku_page(client, sku, form)
    if not form.validate():
        return _sku_page(client, sku, form, 400)
    delta = form.amount.data if form.kind.data == "delta" else None
    hub = current_hub()
    try:
        with hub.db.transaction() as session:
            level = adjustments.adjust(
                hub,
                session,
                client,
                sku,
                reason=form.reason.data,
                actor=person().email,
                location=form.location.data or None,
                ref=form.ref.data or None,
                delta=delta,
                on_hand=form.amount.data if delta is None else None,
            )
    except ledger.StockError as exc:
        form.amount.errors = [str(exc)]
        return _sku_page(client, sku, form, 400)
    flash(
        f"{sku}: on hand {level['on_hand']} ({level['location']}: {level['location_on_hand']}), "
        f"available {level['available']}."
    )
    return redirect(url_for("admin.stock_sku", client=client, sku=sku))
