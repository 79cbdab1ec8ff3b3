"""The ``return.refund`` job: refund a return on its sales channel through the channel's
connector (``push_refund``), once. The call is made outside any transaction; its answer is
recorded after. A retry sends the same idempotency key, so the channel refunds once even when
an answer was lost; a return refunded already is not sent again."""

from __future__ import annotations

import logging
from typing import Any

from hub.connectors import Capability, RefundPush, calls_out, connector_class
from hub.errors import PermanentError
from hub.jobs.worker import job_handler
from hub.returns import store
from hub.runtime import Hub
from hub.storage.models import OrderRow, ReturnRow
from hub.values import now

log = logging.getLogger("hub.returns")


def build(session: Any, row: ReturnRow, restock: bool) -> RefundPush:
    order = session.get(OrderRow, row.order_id)
    order_lines = order.data.get("lines") or []
    lines = [
        {
            "external_id": order_lines[line.position].get("external_id"),
            "sku": line.sku,
            "quantity": line.received or line.quantity,
        }
        for line in store.lines_of(session, row.id)
        if (line.received or line.quantity) > 0
    ]
    return RefundPush(
        order=order.data | {"external_id": order.external_id},
        return_id=row.id,
        key=f"{store.OWN_KEY}{row.id}",
        lines=lines,
        restock=restock,
        note=row.note,
    )


@job_handler(store.REFUND, own_transactions=True)
def refund(hub: Hub, payload: dict[str, Any]) -> None:
    with hub.db.transaction() as session:
        row = session.get(ReturnRow, payload["return_id"])
        if row is None or row.refund_status == "done":
            return  # refunded already: exactly once
        account = hub.accounts.get(row.account)
        if account is None:
            raise PermanentError(f"account {row.account!r} is no longer configured")
        if Capability.RETURNS not in connector_class(account.connector).capabilities:
            raise PermanentError(f"{account.connector} accounts cannot refund through the hub")
        if not calls_out(account, Capability.RETURNS):
            raise PermanentError(
                f"api_calls = false in {account.name}'s settings: the hub never calls it"
            )
        push = build(session, row, store.policy(account)["restock_on_channel"])
    channel_id = hub.connector(account).push_refund(push)
    with hub.db.transaction() as session:
        row = session.get(ReturnRow, payload["return_id"], with_for_update=True)
        if row is None:
            return
        row.refund_status, row.refund_ref, row.updated_at = "done", channel_id, now()
        store.record(session, row, "refunded", f"refunded on {account.name} ({channel_id})", "hub")
    log.info("return refunded", extra={"return": push.return_id, "account": account.name})
