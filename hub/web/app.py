"""The Flask application factory. ``create_app()`` needs nothing but settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify
from sqlalchemy import text

from hub import logs
from hub.runtime import Hub
from hub.settings import load_settings
from hub.storage import migrate
from hub.web import (
    admin,
    api,
    api_jobs,
    api_mappings,
    api_reports,
    api_returns,
    api_stock,
    errors,
    limits,
    metrics,
    openapi,
    pages,
    track_page,
    webhooks,
)


def create_app(
    overrides: dict[str, Any] | None = None, *, hub: Hub | None = None, upgrade: bool = True
) -> Flask:
    """Build the web app from settings (environment, file, ``overrides``).

    With ``upgrade`` the database schema is brought up to date first (safe from many processes
    at once), so ``gunicorn wsgi:app`` needs no other step.
    """
    if hub is None:
        settings = load_settings(overrides)
        logs.configure(settings)  # first: building the hub may already say something
        hub = Hub(settings)
    else:
        logs.configure(hub.settings)
    if upgrade:
        migrate.upgrade(hub.db)
    here = Path(__file__).parent
    app = Flask("hub", root_path=str(here), instance_path=str(here / "instance"))
    app.config.update(
        MAX_CONTENT_LENGTH=hub.settings.max_body,
        SECRET_KEY=hub.settings.secret_key,
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["hub"] = hub
    errors.install(app)
    limits.install(app)  # body size under /api, nesting depth of JSON bodies
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(api_jobs.bp)
    app.register_blueprint(api_mappings.bp)
    app.register_blueprint(api_stock.bp)
    app.register_blueprint(api_reports.bp)
    app.register_blueprint(api_returns.bp)
    app.register_blueprint(openapi.bp)  # GET /api/openapi.json and /api/docs, no token
    app.register_blueprint(track_page.bp)
    pages.install(app)  # the front page, HTML error pages, security headers
    admin.install(app)  # the operations console under /admin

    @app.get("/metrics")
    def metrics_text() -> Response:
        with hub.db.transaction() as session:
            body = metrics.render(session)
        return Response(body, mimetype="text/plain; version=0.0.4")

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        checks: dict[str, Any] = {}
        try:
            with hub.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            current, head = migrate.current_revision(hub.db), migrate.head_revision()
            checks["migrations"] = "ok" if current == head else f"at {current}, head is {head}"
        except Exception as exc:  # readiness reports, it does not crash
            checks["database"] = f"unreachable: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return jsonify({"status": "ready" if ready else "not_ready", "checks": checks}), (
            200 if ready else 503
        )

    return app
