"""``/admin/tokens``: the API tokens, for admins: each with its role and state, a form to make
one (shown once, on the answer to the form, never stored or put in a cookie) and a button to
revoke one. Both changes go through :mod:`hub.web.tokens` and are audited."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from hub.storage import audit
from hub.web import tokens
from hub.web.admin import bp, current_hub, person, refusal, requires


class CreateForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired(),
            Length(max=100),
            Regexp(
                r"^[\w.@-]+$",
                message="letters, digits and . _ - @ only (say what uses it, e.g. erp-sync)",
            ),
        ],
    )
    role = SelectField("Role", choices=list(tokens.ROLES), default="viewer")


class RevokeForm(FlaskForm):
    name = HiddenField(validators=[DataRequired()])


def _page(
    form: CreateForm, status: int = 200, made: tuple[str, str, str] | None = None
) -> Response:
    """The page; ``made``: a token just made (name, role, the token), shown this once."""
    with current_hub().db.transaction() as session:
        page = render_template(
            "admin/tokens.html",
            rows=tokens.everyone(session),
            form=form,
            revoke=RevokeForm(),
            made=made,
        )
    answer = Response(page, status)
    answer.headers["Cache-Control"] = "no-store"  # a new token may be on it
    return answer


@bp.get("/tokens", endpoint="tokens")
@requires("admin")
def tokens_page() -> Response:
    return _page(CreateForm())


@bp.post("/tokens")
@requires("admin")
def create_token() -> Response:
    form = CreateForm()
    if not form.validate():
        return _page(form, 400)
    try:
        with current_hub().db.transaction() as session:
            token = tokens.create(session, form.name.data, form.role.data)
            audit.record(
                session,
                person().email,
                "token.create",
                f"token:{form.name.data}",
                {"role": form.role.data},
            )
    except ValueError as refused:
        form.name.errors = [str(refused)]
        return _page(form, 400)
    made = (form.name.data, form.role.data, token)
    return _page(CreateForm(formdata=None), 201, made)


@bp.post("/tokens/revoke")
@requires("admin")
def revoke_token() -> Response | tuple[str, int]:
    form = RevokeForm()
    if not form.validate():
        return refusal(400, "No token to revoke", "The form named no token.")
    name = form.name.data
    with current_hub().db.transaction() as session:
        done = tokens.revoke(session, name)
        if done:
            audit.record(session, person().email, "token.revoke", f"token:{name}")
    if not done:
        return refusal(404, "No such token", f"No live token is named {name}.")
    flash(f"The token {name} is revoked: the API refuses it from now on.")
    return redirect(url_for("admin.tokens"))
