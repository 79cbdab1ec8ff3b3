"""The operations console under ``/admin``: server-rendered pages for people who sign in with
an email and password (:mod:`hub.web.people`), separate from API tokens.

Every page needs a signed-in, enabled person (else the sign-in page, then back); a change
needs the role its view names (:func:`requires`); every POST carries a CSRF token (Flask-WTF,
checked before the view runs). Each module of this package is one page (or a few close ones)
and adds its views to :data:`bp` when imported; importing this package imports them all. The session
cookie is HttpOnly, SameSite=Lax, and Secure when the request came over https; it is signed
with ``HUB_SECRET_KEY`` or, without one, a key the hub keeps in its database so every web
process shares it. Pages read without JavaScript.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect

from hub.runtime import Hub
from hub.web import people

log = logging.getLogger("hub.admin")

bp = Blueprint("admin", __name__, url_prefix="/admin")
csrf = CSRFProtect()

#: views a person reaches without signing in
OPEN = {"admin.login"}


def current_hub() -> Hub:
    return current_app.extensions["hub"]


def person() -> people.Person:
    """The signed-in person of this request."""
    return g.person


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions for the console only (every other path gets none: no
    cookie read or written on webhooks and the API), Secure whenever the request is https,
    and signed with ``HUB_SECRET_KEY`` or else the key kept in the database, read at the
    first console request (so building the app opens no connection)."""

    def open_session(self, app: Flask, request: Any) -> Any:
        if not request.path.startswith(bp.url_prefix or "/admin"):
            return None  # Flask makes it a null session and never saves it
        return super().open_session(app, request)

    def get_signing_serializer(self, app: Flask) -> Any:
        if not app.secret_key:
            app.secret_key = _database_key(app)
        return super().get_signing_serializer(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def _database_key(app: Flask) -> str:
    hub: Hub = app.extensions["hub"]
    try:
        return people.session_key(hub.db)
    except Exception:  # no schema yet: sessions last as long as this process
        import secrets

        log.warning("no HUB_SECRET_KEY and no key in the database: sessions last this process")
        return secrets.token_hex(32)


@bp.before_request
def _signed_in() -> Response | None:
    if request.method == "POST":
        csrf.protect()
    user_id = session.get("person")
    found = None
    if isinstance(user_id, int):
        with current_hub().db.transaction() as db_session:
            found = people.active(db_session, user_id)
    if found is None:
        session.pop("person", None)
        if request.endpoint in OPEN:
            return None
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    g.person = found
    return None


def requires(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A view only a person with ``role`` (or more) may use; others get a 403 page."""

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not person().can(role):
                return refusal(
                    403,
                    "Not allowed",
                    f"You are signed in as {person().email} ({person().role}); "
                    f"this needs the {role} role.",
                )
            return view(*args, **kwargs)

        return checked

    return wrap


def refusal(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("admin/message.html", title=title, message=message), status


@bp.app_context_processor
def _people() -> dict[str, Any]:
    views = current_app.extensions.get("admin_views")
    if views is None:  # the console's pages, for the navigation: once per process
        views = frozenset(
            rule.endpoint
            for rule in current_app.url_map.iter_rules()
            if rule.endpoint.startswith("admin.")
        )
        current_app.extensions["admin_views"] = views
    return {"signed_in": g.get("person"), "admin_views": views}


@bp.app_template_filter("when")
def _when(value: Any, seconds: bool = False) -> str:
    """A time (a datetime or an ISO 8601 text, UTC) as people read it: ``2026-12-07 12:37``."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def install(app: Flask) -> None:
    """Give ``app`` the console: session signing, CSRF, the blueprint and its pages."""

    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="hub_session",
        WTF_CSRF_CHECK_DEFAULT=False,  # checked for /admin only: /api and webhooks use no forms
        WTF_CSRF_TIME_LIMIT=None,  # a token lasts as long as the session
    )
    app.session_interface = _SessionInterface()
    csrf.init_app(app)
    app.register_blueprint(bp)

    @app.errorhandler(CSRFError)
    def _csrf_refused(error: CSRFError) -> tuple[str, int]:
        return refusal(
            400,
            "The form could not be accepted",
            "It was not sent from this console's own page, or the page is too old "
            f"({error.description}). Go back, reload the page and send it again.",
        )


def _pages() -> None:
    """Import every page module of this package (each adds its views to :data:`bp`), once,
    before any app registers the blueprint."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_pages()
