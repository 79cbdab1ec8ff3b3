"""``POST /webhooks/<account>``: verify, store raw, answer 202. Nothing is translated here.

A connector may answer differently where its sender insists (eBay: 204 for a stored
notification, 412 for a bad signature: ``webhook_accepted_status`` /
``webhook_refused_status``), and ``GET /webhooks/<account>`` answers the sender's check of the
address (eBay's ``?challenge_code=``) with what :meth:`Connector.challenge` says, or 404."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Blueprint, Request, Response, current_app, request

from hub import observe
from hub.connectors import Account, Capability, connector_class
from hub.intake.inbox import accept
from hub.runtime import Hub
from hub.web.api import account_or_404
from hub.web.errors import ApiError

bp = Blueprint("webhooks", __name__)


class EnvironHeaders(Mapping[str, str]):
    """The request's headers, looked up case-insensitively, read once from the WSGI environ
    (cheaper than werkzeug's lazy view on this, the hottest route)."""

    def __init__(self, environ: dict[str, Any]):
        self._headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            self._headers["content-type"] = environ["CONTENT_TYPE"]

    def __getitem__(self, name: str) -> str:
        return self._headers[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._headers

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)


def _json(data: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


#: a too-large body up to this size is read and dropped before the 413, so the sender sees the
#: answer instead of a connection reset; past it the connection is simply closed
DRAIN_LIMIT = 64 * 1024 * 1024


def _discard_body(environ: dict[str, Any], length: int) -> None:
    if length > DRAIN_LIMIT:
        return
    stream = environ["wsgi.input"]
    while length > 0 and (chunk := stream.read(min(65536, length))):
        length -= len(chunk)


def _read_body(req: Request, limit: int) -> bytes:
    """The raw body, refusing more than ``limit`` bytes even when no length was announced
    (chunked transfer), where a silent cut would only show up as a bad signature."""
    if req.content_length is not None:
        return req.get_data(cache=False)
    stream = req.environ["wsgi.input"]
    chunks, size = [], 0
    while chunk := stream.read(min(65536, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ApiError(
                413, "body_too_large", f"the body is over the limit of {limit} bytes (HUB_MAX_BODY)"
            )
    return b"".join(chunks)


#: what a connector declares when it is sent webhooks
WEBHOOK_CAPABILITIES = frozenset(
    {Capability.ORDERS_WEBHOOK, Capability.TRACKING_WEBHOOK, Capability.NOTIFICATIONS}
)


def takes_webhooks(account: Account) -> bool:
    """Whether the account's connector is sent webhooks (declares so and can verify them)."""
    return bool(WEBHOOK_CAPABILITIES & connector_class(account.connector).capabilities)


@bp.post("/webhooks/<account_name>")
def receive(account_name: str) -> Response:
    try:
        return _receive(account_name)
    except ApiError as refused:  # counted, so a rotated secret shows before orders go missing
        account = current_app.extensions["hub"].accounts.get(account_name)
        connector = account.connector if account is not None else "unknown"
        observe.WEBHOOKS_REFUSED.labels(connector, refused.code).inc()
        raise


def _receive(account_name: str) -> Response:
    hub: Hub = current_app.extensions["hub"]
    req = request._get_current_object()  # type: ignore[attr-defined]  # once, not per use
    account = account_or_404(account_name)
    if not takes_webhooks(account):
        raise ApiError(
            404,
            "no_webhooks",
            f"account {account_name!r} ({account.connector}) takes no webhooks; "
            "there is no webhook endpoint for it",
        )
    limit = hub.settings.max_body
    length = req.content_length
    if length is not None and length > limit:
        _discard_body(req.environ, length)
        raise ApiError(
            413,
            "body_too_large",
            f"the body is {length} bytes; the limit is {limit} (HUB_MAX_BODY)",
        )
    body = _read_body(req, limit)
    connector = hub.connector(account)
    headers = EnvironHeaders(req.environ)
    if connector.is_ping(headers, body):
        return _json({"status": "pong"}, 200)
    if not connector.verify(headers, body):
        raise ApiError(
            connector.webhook_refused_status,
            "bad_signature",
            f"the signature does not match any webhook secret of account "
            f"{account_name!r}, or the delivery is for another shop",
        )
    content_type = req.content_type
    if not _is_json(content_type):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"expected Content-Type application/json, got {content_type or 'none'!r}",
        )
    delivery = connector.read_delivery(headers, body)
    accepted = accept(hub, account, delivery, body, content_type)
    if connector.webhook_accepted_status == 204:
        return Response(status=204)
    return _json(
        {
            "delivery_id": accepted.delivery_id,
            "duplicate": accepted.duplicate,
            "status": accepted.status,
            "topic": delivery.topic,
        },
        connector.webhook_accepted_status,
    )


@bp.get("/webhooks/<account_name>")
def challenge(account_name: str) -> Response:
    """The sender's check of the webhook address (eBay: ``?challenge_code=``), answered by
    the connector; unsigned by design, it reveals nothing but a hash the sender can check."""
    hub: Hub = current_app.extensions["hub"]
    account = account_or_404(account_name)
    answer = None
    if takes_webhooks(account):
        answer = hub.connector(account).challenge(request.args)
    if answer is None:
        raise ApiError(
            404,
            "no_challenge",
            f"account {account_name!r} ({account.connector}) answers no GET check here",
        )
    return _json(answer, 200)
