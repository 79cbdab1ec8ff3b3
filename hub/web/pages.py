"""What a person with a browser meets: the front page (``GET /``), HTML error pages for
addresses a person opens (a bad tracking link, a mistyped address), and the security headers
every answer carries.

An error is a page when the request is not to a machine endpoint (``/api``, ``/webhooks``,
``/metrics``, ``/healthz``, ``/readyz``), is not asked for as JSON (``?format=json``), and
its ``Accept`` prefers ``text/html`` to ``application/json``; otherwise it stays the JSON error
of :mod:`hub.web.errors`.

Headers: every answer has ``X-Content-Type-Options: nosniff``; an HTML one also has a
Content-Security-Policy that allows only the hub's own stylesheet (no scripts, no frames, no
forms to elsewhere), ``X-Frame-Options: DENY`` and ``Referrer-Policy: same-origin`` unless the
view set a stricter one.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, render_template, request

bp = Blueprint("pages", __name__)

#: paths that machines call: their errors are always JSON
MACHINE_PATHS = ("/api/", "/webhooks/", "/metrics", "/healthz", "/readyz")

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

_TITLES = {404: "Page not found", 405: "Not allowed here", 500: "Something went wrong"}


def wants_html() -> bool:
    """Whether this request's error should be an HTML page (see the module's docstring)."""
    if request.path.startswith(MACHINE_PATHS):
        return False
    if request.args.get("format") == "json":
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > 0


def error_page(status: int, message: str) -> Response:
    """An error as a page for a person: what happened, in words, and where to go."""
    title = _TITLES.get(status, "This request could not be answered")
    paragraphs = [message]
    if request.path.startswith("/track/") and status == 404:
        title = "No tracking page at this address"
        paragraphs = [
            "This link does not lead to an order. Check that it was copied whole from the "
            "email or message it came in, or ask the shop for a new one."
        ]
    body = render_template("page.html", title=title, paragraphs=paragraphs, links=[])
    return Response(body, status=status, mimetype="text/html")


@bp.get("/")
def front() -> str:
    return render_template(
        "page.html",
        title="Fulfilment Hub",
        paragraphs=[
            "This address serves a fulfilment hub: sales channels send it orders, warehouses "
            "and carriers report to it, and customers follow their parcels from the tracking "
            "links in their emails.",
            "Operators use the API under /api with a token (see hub tokens create).",
        ],
        links=[("/healthz", "Health"), ("/readyz", "Readiness")],
    )


def install(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
