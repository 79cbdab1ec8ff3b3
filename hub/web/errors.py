"""JSON errors for every HTTP answer: ``{"error": {"code", "message", "details"}}`` (a page
instead for a person's browser, see :mod:`hub.web.pages`)."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
from flask import Flask, Response, current_app, has_request_context, jsonify, request
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException

from hub.errors import RetryableError
from hub.web import pages


class ApiError(Exception):
    """An error answer with a status, a stable code and a message that names the problem."""

    def __init__(self, status: int, code: str, message: str, details: Any = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    """The JSON error; for a person's browser on a page address, an HTML page (see
    :mod:`hub.web.pages`)."""
    if has_request_context() and pages.wants_html():
        return pages.error_page(status, message)
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    return response


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def _too_large() -> str:
    """What a 413 says: the limit that applied to this request, and where it comes from."""
    limit = request.max_content_length if request else None
    app_limit = current_app.config["MAX_CONTENT_LENGTH"]
    if limit is None or limit == app_limit:
        return f"the body is larger than the limit of {app_limit} bytes (HUB_MAX_BODY)"
    return f"the body is larger than the limit of {limit} bytes for {request.path}"


def install(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = exc.description or exc.name
        if status == 413:
            message = _too_large()
        response = error_response(status, _CODES.get(status, "http_error"), message)
        if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(RetryableError)
    @app.errorhandler(OperationalError)
    @app.errorhandler(sqlite3.OperationalError)
    @app.errorhandler(psycopg.OperationalError)
    def _unavailable(exc: Exception) -> Response:
        # The database is busy or away: nothing was stored, and the sender should try again.
        app.logger.warning("answering 503: %s", exc)
        response = error_response(
            503, "unavailable", "the hub cannot store this right now; try again shortly"
        )
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(DataError)
    def _unstorable(exc: DataError) -> Response:
        # A value the database refuses (too long, out of range) that no schema caught: the
        # request is wrong, and nothing was stored. Schemas at the edge should name the field.
        app.logger.warning("answering 422 for a value the database refused: %s", exc.orig)
        diag = getattr(exc.orig, "diag", None)
        column = getattr(diag, "column_name", None)
        problem = getattr(diag, "message_primary", None) or "a value cannot be stored"
        return error_response(
            422, "unstorable_value", problem, {"field": column} if column else None
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", "an unexpected error happened; it is logged")
