"""Returns and the outside warehouse: the advance notice of a return on its way
(``return.expect``, queued when a return is authorised for a client whose warehouse
connector takes ``returns``), and the receipts the warehouse reports back in its feed
(:func:`apply_receipts`, which ``hub.shipping.warehouse`` calls by name for a batch that
holds any). A receipt for a return received already changes nothing (a feed read twice)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from hub.connectors import Account
from hub.errors import PermanentError, TranslationError
from hub.jobs.worker import job_handler
from hub.returns import store
from hub.runtime import Hub
from hub.shipping.warehouse import default_location
from hub.storage.models import OrderRow, ReturnRow
from hub.values import utc

log = logging.getLogger("hub.returns")

EXPECT = store.EXPECT


def expected(session: Session, row: ReturnRow) -> dict[str, Any]:
    order = session.get(OrderRow, row.order_id)
    return {
        "return_id": row.id,
        "order_id": row.order_id,
        "number": order.number if order is not None else None,
        "external_id": order.external_id if order is not None else None,
        "client": row.client,
        "lines": [
            {"sku": line.sku, "quantity": line.quantity, "reason": line.reason}
            for line in store.lines_of(session, row.id)
        ],
        "label": {"carrier": row.label_carrier, "tracking_number": row.label_tracking}
        if row.label_tracking
        else None,
        "note": row.note,
    }


@job_handler(EXPECT, own_transactions=True)
def expect(hub: Hub, payload: dict[str, Any]) -> None:
    account = hub.accounts.get(payload["account"])
    if account is None:
        raise PermanentError(f"warehouse account {payload['account']!r} is not configured")
    with hub.db.transaction() as session:
        row = session.get(ReturnRow, payload["return_id"])
        if row is None or row.status in store.VOID:
            return
        notice = expected(session, row)
    reference = hub.connector(account).expect_return(notice)
    with hub.db.transaction() as session:
        row = session.get(ReturnRow, payload["return_id"])
        if row is not None:
            store.record(
                session, row, "expected",
                f"{account.name} told to expect it" + (f" ({reference})" if reference else ""),
                "hub",
            )  # fmt: skip


def apply_receipts(
    hub: Hub, session: Session, account: Account, receipts: Iterable[dict[str, Any]]
) -> None:
    """A warehouse batch's returns received, in the caller's transaction (all or nothing)."""
    for index, body in enumerate(receipts):
        return_id = body.get("return_id")
        if not isinstance(return_id, int) or isinstance(return_id, bool):
            raise store.ReturnError(
                422, "bad_receipt", f"returns[{index}].return_id: a whole number"
            )
        row = session.get(ReturnRow, return_id, with_for_update=True)
        if row is None or row.client != account.client:
            raise store.ReturnError(
                404, "not_found", f"returns[{index}]: {account.client!r} has no return {return_id}"
            )
        if row.status not in (store.REQUESTED, store.AUTHORISED, store.IN_TRANSIT):
            log.info(
                "return %s is %s already: receipt from %s skipped", row.id, row.status, account.name
            )
            continue
        lines = body.get("lines")
        if not isinstance(lines, list) or not lines:
            raise store.ReturnError(422, "bad_receipt", f"returns[{index}].lines: a list of lines")
        try:
            at = utc(body["received_at"]) if body.get("received_at") else None
        except TranslationError as exc:
            raise store.ReturnError(
                422, "bad_receipt", f"returns[{index}].received_at: {exc}"
            ) from None
        store.receive(
            session,
            hub,
            row,
            [store.LineRequest.of(line) for line in lines if isinstance(line, dict)],
            actor=account.name,
            received_at=at,
            # where the warehouse counts the client's stock: its next count then agrees
            location=default_location(hub, account.client),
        )
