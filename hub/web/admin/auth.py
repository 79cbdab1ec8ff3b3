"""Sign-in and sign-out."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from hub.storage import audit
from hub.web import people
from hub.web.admin import bp, current_hub, person


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])


class SignOutForm(FlaskForm):
    pass


def _safe_next(target: str | None) -> str:
    """Only an address in the console (no other host, no scheme-relative trick)."""
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.overview")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    form = SignInForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("admin/login.html", form=form), 400
        hub = current_hub()
        try:
            found = people.sign_in(
                hub.db, form.email.data, form.password.data, request.remote_addr or "-"
            )
        except people.SignInRefused as refused:
            form.password.errors = [str(refused)]
            status = 429 if "too many" in str(refused) else 401
            return render_template("admin/login.html", form=form), status
        with hub.db.transaction() as db_session:
            audit.record(db_session, found.email, "user.sign_in", f"user:{found.email}")
        session.clear()
        session["person"] = found.id
        session.permanent = False
        return redirect(_safe_next(request.args.get("next")))
    return render_template("admin/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    email = person().email
    with current_hub().db.transaction() as db_session:
        audit.record(db_session, email, "user.sign_out", f"user:{email}")
    session.clear()
    flash("Signed out.")
    return redirect(url_for("admin.login"))


def sign_out_form() -> SignOutForm:
    return SignOutForm()
