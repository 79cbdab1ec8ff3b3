"""Translation, the worker's side of the inbox: a stored delivery becomes a canonical order
through its connector and its account's mapping. ``replay`` translates a delivery again.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from hub import observe
from hub.canonical import NOT_TO_FULFIL, CustomerErasure, OrderStatus, OrderUpdate, ReturnRequest
from hub.connectors import Account, ParcelTracking
from hub.errors import AuthError, MappingError, PermanentError, RetryableError, TranslationError
from hub.intake.inbox import FAILED, IGNORED, PROCESSED, RECEIVED, TRANSLATE
from hub.jobs import account_health, outbox
from hub.jobs.worker import job_handler
from hub.mapping import compiled, store
from hub.orders import privacy
from hub.orders import store as orders
from hub.returns import store as returns
from hub.runtime import Hub
from hub.shipping import release, tracking
from hub.storage.models import DeliveryRow, OrderRow, ParcelRow
from hub.values import loads, now

log = logging.getLogger("hub.translation")

#: failures that are not the delivery's: the job is retried rather than the delivery failed
_OUTAGES = (OperationalError, InterfaceError, RetryableError)


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


def retranslate(
    hub: Hub, session: Session, account: str, order_id: int | None = None
) -> list[dict[str, int]]:
    """Translate again, from its latest stored delivery, each of the account's orders in
    ``needs_attention`` (or the one ``order_id``), with the mapping as it is now; returns
    ``{"order_id", "delivery_id"}`` of each queued."""
    query = select(OrderRow.id).where(OrderRow.account == account)
    if order_id is not None:
        query = query.where(OrderRow.id == order_id)
    else:
        query = query.where(OrderRow.status == OrderStatus.NEEDS_ATTENTION.value)
    queued = []
    for found in session.execute(query).scalars().all():
        latest = session.execute(
            select(DeliveryRow.id)
            .where(DeliveryRow.order_id == found)
            .order_by(DeliveryRow.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if latest is not None and replay(hub, session, latest):
            queued.append({"order_id": found, "delivery_id": latest})
    return queued


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
    started = time.perf_counter()
    try:
        _translate(hub, session, row)
    except BaseException:
        outcome = "error"  # an outage: the job retries
        raise
    else:
        outcome = row.status
    finally:
        elapsed = time.perf_counter() - started
        observe.child(observe.TRANSLATION, row.connector, outcome).observe(elapsed)


def _translate(hub: Hub, session: Session, row: DeliveryRow) -> None:
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
        connector = hub.connector(account)
        # A thin webhook (ids only) is completed from the channel's API first; an outage or
        # refused credentials there raise past this block and the job runs again.
        data = connector.fetch(row.topic, data)
        if connector.kind == "carrier":
            _apply_tracking(
                hub, session, row, account, connector.translate_tracking(row.topic, data)
            )
            return
        translation = connector.translate(row.topic, data)
        if isinstance(translation, CustomerErasure):
            privacy.erase_customer(session, account, connector, translation, row)
            return
        if isinstance(translation, ReturnRequest):
            _apply_returns(hub, session, row, account, [translation])
            return
        version: int | None = None
        told: list[ReturnRequest] = []
        if isinstance(translation, OrderUpdate):
            told = list(translation.returns)  # the mapping gives an update without them
            current = store.current(session, account)
            mapped = compiled.apply_mapping(
                store.compiled_for(hub, current),
                translation,
                data,
                line_path=connector.line_path,
                catalogue=store.catalogue_for(session, account.client),  # type: ignore[arg-type]
            )
            if isinstance(mapped, compiled.Ignored):
                row.status, row.processed_at = IGNORED, now()
                row.error = f"ignored by {orders.mapping_label(current.number)}: {mapped.reason}"
                return
            translation, version = mapped, current.number
    except (TranslationError, MappingError, PermanentError) as exc:
        _failed(session, row, account, data, exc.message)
        return
    except RetryableError:
        raise  # the channel could not be asked now (``fetch``): the job retries
    except AuthError as exc:
        # The channel refused the account's keys (``fetch``): tried again later, the delivery
        # kept (a second transaction here to flag the account would wait on this one's lock)
        raise RetryableError(f"AuthError: {exc}", retry_after=account_health.WAIT) from exc
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
    if isinstance(translation, OrderUpdate):
        too_long = orders.column_problems(translation.order, line_path=connector.line_path)
        if too_long:
            _failed(session, row, account, data, "; ".join(too_long), hold=True)
            return
    try:
        with session.begin_nested():  # a failure here rolls back this order's changes only
            order = orders.apply(session, account, translation, row, mapping_version=version)
            if order is not None:
                release.after_change(hub, session, order)
    except _OUTAGES:
        raise  # the database or a service is away: the job retries
    except Exception as exc:  # any other failure is the delivery's, visible and replayable
        log.exception("applying delivery %s failed", row.id)
        said = str(exc).strip()
        first = said.splitlines()[0][:300] if said else ""
        reason = f"could not apply the order: {type(exc).__name__}: {first}"
        _failed(session, row, account, data, reason, hold=True)
        return
    row.order_id = order.id if order is not None else None
    row.status = PROCESSED if order is not None else IGNORED
    if order is None:
        row.error = "the order was never received here; nothing to remove"
    row.processed_at = now()
    if order is not None and told:
        _apply_returns(hub, session, row, account, told)
    log.info(
        "order translated",
        extra={
            "delivery": row.id,
            "order": row.order_id,
            "external_id": getattr(order, "external_id", None),
            "status": getattr(order, "status", None),
        },
    )


def _apply_returns(
    hub: Hub, session: Session, row: DeliveryRow, account: Account, told: list[ReturnRequest]
) -> None:
    """Returns a channel tells of (:func:`hub.returns.store.from_channel`). One the hub
    cannot take (a ``ReturnError``: more than shipped, an unknown line) fails the delivery
    with the reason, kept for a replay; a return of an order the hub never received, or one
    it never opened and that names no goods, leaves the delivery ignored."""
    ignored, applied = [], False
    for request in told:
        try:
            with session.begin_nested():
                found = returns.from_channel(
                    session, hub, account, request, actor=f"channel:{account.name}"
                )
        except returns.ReturnError as exc:
            said = f"return {request.external_id}: {exc.message}"
            _failed(session, row, account, {"id": request.order_external_id}, said)
            return
        if found is None:
            known = session.execute(
                select(OrderRow.id).where(
                    OrderRow.account == account.name,
                    OrderRow.external_id == request.order_external_id,
                )
            ).scalar_one_or_none()
            ignored.append(
                f"return {request.external_id}: "
                + (
                    "the order was never received here"
                    if known is None
                    else "not opened here, and none of the goods it names shipped from here"
                )
            )
        else:
            row.order_id, applied = found.order_id, True
    if row.status != PROCESSED:  # returns alone; with an order, the order was applied
        row.status = PROCESSED if applied else IGNORED
    row.error = "; ".join(ignored) or None
    row.processed_at = now()


def _apply_tracking(
    hub: Hub, session: Session, row: DeliveryRow, account: Account, found: list[ParcelTracking]
) -> None:
    """A carrier's push: tracking for the parcels the hub follows; others are noted."""
    unknown = []
    matched = 0
    for item in found:
        parcels = (
            session.execute(
                select(ParcelRow)
                .where(
                    ParcelRow.carrier == account.connector,
                    ParcelRow.tracking_number == item.tracking_number,
                )
                .with_for_update()
            )
            .scalars()
            .all()
        )
        if not parcels:
            unknown.append(item.tracking_number)
        for parcel in parcels:
            tracking.apply(hub, session, parcel, item, account.name)
            row.order_id = parcel.order_id
            matched += 1
    row.status = PROCESSED if matched else IGNORED
    row.error = f"no parcel here with tracking number(s) {', '.join(unknown)}" if unknown else None
    row.processed_at = now()


def _failed(
    session: Session,
    row: DeliveryRow,
    account: Account,
    data: Any,
    reason: str,
    *,
    hold: bool = False,
) -> None:
    """The delivery failed with ``reason``, noted on the known order's timeline; with
    ``hold`` the order (if it is still to be fulfilled) moves to needs_attention too."""
    row.status, row.error, row.processed_at = FAILED, reason, now()
    log.info(
        "translation failed", extra={"delivery": row.id, "account": account.name, "reason": reason}
    )
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
        if hold and OrderStatus(order.status) not in NOT_TO_FULFIL:
            orders.move(session, order, OrderStatus.NEEDS_ATTENTION, "needs_attention", reason)
