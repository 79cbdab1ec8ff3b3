"""``/admin/users``: the people who sign in, for admins: who they are, a form to add one and
a button to disable one. Both changes go through :mod:`hub.web.people` and are audited."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, SelectMultipleField
from wtforms.validators import DataRequired, EqualTo, Length
from wtforms.widgets import CheckboxInput, ListWidget

from hub.storage import audit
from hub.web import people
from hub.web.admin import bp, current_hub, person, refusal, requires


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CreateForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Role", choices=list(people.ROLES), default="viewer")
    clients = CheckboxesField("Clients (none ticked: every client)", choices=[])
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(min=people.MIN_PASSWORD, max=1000, message="needs %(min)d characters or more"),
        ],
    )
    confirm = PasswordField(
        "Password again",
        validators=[DataRequired(), EqualTo("password", message="the two passwords differ")],
    )


class DisableForm(FlaskForm):
    email = HiddenField(validators=[DataRequired()])


def _clients() -> list[str]:
    """The clients of the configured accounts: the only ones a person may be limited to."""
    return sorted({a.client for a in current_hub().accounts.values() if a.client})


def _form() -> CreateForm:
    form = CreateForm()
    form.clients.choices = _clients()
    return form


def _page(form: CreateForm, status: int = 200) -> tuple[str, int]:
    with current_hub().db.transaction() as session:
        rows = people.everyone(session)
        return render_template(
            "admin/users.html",
            rows=rows,
            form=form,
            disable=DisableForm(),
            min_password=people.MIN_PASSWORD,
        ), status


@bp.get("/users")
@requires("admin")
def users() -> tuple[str, int]:
    return _page(_form())


@bp.post("/users")
@requires("admin")
def create_user() -> Response | tuple[str, int]:
    form = _form()
    if not form.validate():
        return _page(form, 400)
    clients = list(form.clients.data or []) or None
    try:
        with current_hub().db.transaction() as session:
            row = people.create(
                session, form.email.data, form.role.data, form.password.data, clients
            )
            audit.record(
                session,
                person().email,
                "user.create",
                f"user:{row.email}",
                {"role": row.role, "clients": row.clients},
            )
            email = row.email
    except ValueError as refused:
        form.email.errors = [str(refused)]
        return _page(form, 400)
    flash(f"{email} can now sign in at {url_for('admin.login', _external=True)}.")
    return redirect(url_for("admin.users"))


@bp.post("/users/disable")
@requires("admin")
def disable_user() -> Response | tuple[str, int]:
    form = DisableForm()
    if not form.validate():
        return refusal(400, "Nobody to disable", "The form named no person.")
    email = people.normal_email(form.email.data)
    if email == person().email:
        return refusal(
            400,
            "You cannot disable yourself",
            "Another admin can disable you, so the console always keeps an admin who can.",
        )
    with current_hub().db.transaction() as session:
        done = people.disable(session, email)
        if done:
            audit.record(session, person().email, "user.disable", f"user:{email}")
    if not done:
        return refusal(404, "No such person", f"No active person has the email {email}.")
    flash(f"{email} is disabled: their sessions end and they cannot sign in.")
    return redirect(url_for("admin.users"))
