"""What a draft spec would make of a payload, beside what the current version makes of it:
for the API's preview and the console's. Nothing is saved."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.canonical import OrderStatus, OrderUpdate, order_to_json
from hub.connectors import Account
from hub.errors import HubError
from hub.mapping import compiled, store
from hub.runtime import Hub
from hub.storage.models import DeliveryRow
from hub.values import loads


def stored_payload(session: Session, account: Account, delivery_id: int) -> tuple[Any, str]:
    """The body (parsed with exact numbers) and topic of one of the account's deliveries.
    LookupError when there is no such delivery of the account; ValueError when its body is
    not JSON."""
    delivery = session.get(DeliveryRow, delivery_id)
    if delivery is None or delivery.account != account.name:
        raise LookupError(f"no delivery {delivery_id!r} for account {account.name!r}")
    try:
        return loads(delivery.body), delivery.topic
    except ValueError as exc:
        raise ValueError(f"the stored body is not JSON: {exc}") from None


def translate(
    hub: Hub, account: Account, spec: Any, payload: Any, topic: str, catalogue: Any
) -> dict[str, Any]:
    """Translate one payload under ``spec``: the canonical result or why there is none."""
    connector = hub.connector(account)
    try:
        translation = connector.translate(topic, payload)
        if not isinstance(translation, OrderUpdate):
            return {"result": None, "ignored": "the payload removes an order", "problems": []}
        mapped = compiled.apply_mapping(
            compiled.compile_spec(spec),
            translation,
            payload,
            line_path=connector.line_path,
            catalogue=catalogue,
        )
    except HubError as exc:
        return {"result": None, "error": exc.message, "problems": []}
    if isinstance(mapped, compiled.Ignored):
        return {"result": None, "ignored": mapped.reason, "problems": []}
    order = mapped.order
    order.client, order.account = account.client, account.name
    if mapped.problems and order.status is not OrderStatus.CANCELLED:
        order.status = OrderStatus.NEEDS_ATTENTION
    return {"result": order_to_json(order), "problems": mapped.problems}


def preview(
    hub: Hub,
    session: Session,
    account: Account,
    payload: Any,
    *,
    spec: Any = None,
    topic: str | None = None,
    stored: bool = False,
) -> dict[str, Any]:
    """``payload`` translated with the draft ``spec`` (the current version when None): the
    result, the draft's validation messages, and what differs from the current version's
    result. ``stored``: the payload is a stored delivery's body, completed first as the
    worker completes it (a thin webhook's order read from the channel now,
    ``Connector.fetch``); a channel that cannot be asked gives the reason as the error."""
    current = store.current(session, account)
    spec = current.spec if spec is None else spec
    messages = store.check(session, account, spec)
    topic = topic or next(iter(sorted(hub.connector(account).topics)))
    unread: dict[str, Any] | None = None
    if stored:
        try:
            payload = hub.connector(account).fetch(topic, payload)
        except HubError as exc:
            why = f"the order could not be read from {account.name}: {exc.message}"
            unread = {"result": None, "error": why, "problems": []}
    if unread is not None:
        draft = now_result = unread
    else:
        # the same catalogue check as a real translation, so the preview tells the truth
        known = store.catalogue_for(session, account.client)
        draft = (
            translate(hub, account, spec, payload, topic, known)
            if not messages
            else {"result": None, "problems": []}
        )
        now_result = translate(hub, account, current.spec, payload, topic, known)
    changes = (
        store.diff(now_result.get("result") or {}, draft.get("result") or {})["changes"]
        if draft.get("result") is not None
        else []
    )
    return {
        **draft,
        "messages": messages,
        "valid": not messages,
        "current_version": current.number,
        "changes": changes,
    }


def recent_deliveries(session: Session, account: Account, limit: int = 20) -> list[DeliveryRow]:
    """The account's latest stored deliveries, newest first: what a preview can run on."""
    return list(
        session.execute(
            select(DeliveryRow)
            .where(DeliveryRow.account == account.name)
            .order_by(DeliveryRow.id.desc())
            .limit(limit)
        ).scalars()
    )
