"""The durable inbox: every webhook is stored raw, once, before anything else happens.

``accept`` runs inside the request and only stores; the ``translate`` job it enqueues in the
same transaction does the translating, in a worker.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub import orders, outbox
from hub.connectors import Account, Delivery
from hub.errors import TranslationError
from hub.models import DeliveryRow, OrderRow
from hub.runtime import Hub
from hub.values import loads, now
from hub.worker import job_handler

log = logging.getLogger("hub.inbox")

RECEIVED, PROCESSED, IGNORED, FAILED = "received", "processed", "ignored", "failed"
TRANSLATE = "translate"


@dataclass(frozen=True)
class Accepted:
    delivery_id: int
    duplicate: bool
    status: str


def accept(
    hub: Hub, account: Account, delivery: Delivery, body: bytes, content_type: str | None
) -> Accepted:
    """Store a verified delivery and, if its topic is handled, its translate job, together.

    The same delivery twice (same dedupe key) is stored once: the database's unique key
    decides, so this holds across any number of web processes.
    """
    handled = delivery.topic in hub.connector(account).topics
    status = RECEIVED if handled else IGNORED
    values = dict(
        account=account.name,
        connector=account.connector,
        topic=delivery.topic,
        dedupe_key=delivery.dedupe_key,
        event_id=delivery.event_id,
        headers=dict(delivery.headers or {}),
        content_type=content_type,
        body=body,
        status=status,
        error=None if handled else f"topic {delivery.topic!r} is not handled",
        received_at=now(),
    )
    with hub.db.transaction() as session:
        insert = postgresql.insert if hub.db.postgres else sqlite.insert
        stmt = (
            insert(DeliveryRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["account", "dedupe_key"])
            .returning(DeliveryRow.id)
        )
        new_id = session.execute(stmt).scalar_one_or_none()
        if new_id is None:
            existing = session.execute(
                select(DeliveryRow.id, DeliveryRow.status).where(
                    DeliveryRow.account == account.name,
                    DeliveryRow.dedupe_key == delivery.dedupe_key,
                )
            ).one()
            return Accepted(existing.id, True, existing.status)
        if handled:
            outbox.enqueue(
                session,
                TRANSLATE,
                {"delivery_id": new_id},
                max_attempts=hub.settings.job_max_attempts,
            )
    return Accepted(new_id, False, status)


def replay(hub: Hub, session: Session, delivery_id: int) -> bool:
    """Translate a stored delivery again (after a fix), through a new translate job."""
    row = session.get(DeliveryRow, delivery_id)
    if row is None:
        return False
    row.status, row.error, row.processed_at = RECEIVED, None, None
    outbox.enqueue(
        session,
        TRANSLATE,
        {"delivery_id": delivery_id, "replay": True},
        max_attempts=hub.settings.job_max_attempts,
    )
    return True


def _known_order(session: Session, account: str, payload: Any) -> OrderRow | None:
    external = payload.get("id") if isinstance(payload, dict) else None
    if external is None:
        return None
    return session.execute(
        select(OrderRow).where(OrderRow.account == account, OrderRow.external_id == str(external))
    ).scalar_one_or_none()


@job_handler(TRANSLATE)
def translate_delivery(hub: Hub, session: Session, payload: dict[str, Any]) -> None:
    """Translate one stored delivery into the canonical model and apply it.

    A delivery that cannot be translated is marked failed with the reason (and noted on the
    order's timeline when the order is known); the raw body stays for a replay. It never
    fails the job: retrying the same bytes would give the same answer.
    """
    row = session.get(DeliveryRow, payload["delivery_id"])
    if row is None or row.status != RECEIVED:
        return
    account = hub.accounts.get(row.account)
    if account is None:
        row.status, row.error = FAILED, f"account {row.account!r} is no longer configured"
        return
    data: Any = None
    try:
        try:
            data = loads(row.body)
        except ValueError as exc:
            raise TranslationError(f"body is not valid JSON: {exc}") from None
        translation = hub.connector(account).translate(row.topic, data)
    except TranslationError as exc:
        _failed(session, row, account, data, exc.message)
        return
    except Exception as exc:  # a translator bug must not stop the worker or lose the delivery
        log.exception("translator %s crashed on delivery %s", account.connector, row.id)
        last = traceback.extract_tb(exc.__traceback__)[-1]
        _failed(
            session,
            row,
            account,
            data,
            f"translator error {type(exc).__name__}: {exc} ({last.name}, line {last.lineno})",
        )
        return
    order = orders.apply(session, account, translation, row)
    row.order_id = order.id if order is not None else None
    row.status = PROCESSED if order is not None else IGNORED
    if order is None:
        row.error = "the order was never received here; nothing to remove"
    row.processed_at = now()


def _failed(session: Session, row: DeliveryRow, account: Account, data: Any, reason: str) -> None:
    row.status, row.error, row.processed_at = FAILED, reason, now()
    order = _known_order(session, account.name, data)
    if order is not None:
        row.order_id = order.id
        orders.add_event(
            session,
            order,
            "translation_failed",
            f"{row.topic} could not be translated: {reason}",
            delivery_id=row.id,
        )
