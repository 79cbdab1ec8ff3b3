"""Erasing a customer's personal data when the channel asks (eBay's marketplace account
deletion notice, which every eBay app must act on).

The customer is found by the channel's own name for them (``customer_refs``) in the stored
deliveries of the account, read through the connector (:meth:`Connector.customer_of`): each
matching delivery's raw body is replaced by the connector's erased copy
(:meth:`Connector.erase_customer`), and each order those deliveries made loses its customer,
the names, streets, phones and emails of its addresses, and its notes; the country stays
(reports count by it), as do lines, money and the timeline. The notice itself is stored
erased too. One audit entry and one log line say what was done, without naming the customer.

Reading every delivery of the account is the price of not keeping a customer index: a
deletion notice is rare, and the pass is one transaction with the notice's translation.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.canonical import CustomerErasure
from hub.connectors import Account, Connector
from hub.orders.store import add_event
from hub.storage import audit
from hub.storage.models import DeliveryRow, OrderRow
from hub.values import dumps, loads, now

log = logging.getLogger("hub.privacy")

ERASED_EVENT = "customer_erased"
_ADDRESSES = ("shipping_address", "billing_address")
_BATCH = 500


def erase_customer(
    session: Session,
    account: Account,
    connector: Connector,
    erasure: CustomerErasure,
    notice: DeliveryRow,
) -> dict[str, Any]:
    """Erase the customer from the account's stored deliveries and orders; the notice
    delivery ``notice`` is marked processed. Returns (and audits) what was erased."""
    refs = {r for r in erasure.customer_refs if r}
    orders: set[int] = set()
    deliveries = 0
    query = (
        select(DeliveryRow)
        .where(DeliveryRow.account == account.name, DeliveryRow.id != notice.id)
        .order_by(DeliveryRow.id)
        .execution_options(yield_per=_BATCH)
    )
    for row in session.execute(query).scalars():
        try:
            payload = loads(row.body)
        except ValueError:
            continue
        if connector.customer_of(row.topic, payload) not in refs:
            continue
        row.body = dumps(connector.erase_customer(row.topic, payload)).encode()
        deliveries += 1
        if row.order_id is not None:
            orders.add(row.order_id)
    for order in session.execute(select(OrderRow).where(OrderRow.id.in_(orders))).scalars():
        order.data = erased_order(order.data)
        order.email = None
        add_event(session, order, ERASED_EVENT, f"customer data erased: {erasure.reason}")
    try:
        notice.body = dumps(connector.erase_customer(notice.topic, loads(notice.body))).encode()
    except ValueError:
        notice.body = b"{}"
    report = {
        "reason": erasure.reason,
        "orders": sorted(orders),
        "deliveries": deliveries,
        "notice": notice.id,
    }
    audit.record(session, "hub", "customer.erase", f"account:{account.name}", report)
    notice.status, notice.error, notice.processed_at = "processed", None, now()
    log.info(
        "customer data erased",
        extra={"account": account.name, "orders": len(orders), "deliveries": deliveries},
    )
    return report


def erased_order(data: dict[str, Any]) -> dict[str, Any]:
    """The canonical order JSON without its customer's personal data."""
    out = dict(data)
    out["customer"] = {"email": None, "name": None, "phone": None}
    for name in _ADDRESSES:
        address = out.get(name)
        if isinstance(address, dict):
            out[name] = {key: None for key in address} | {
                "country_code": address.get("country_code")
            }
    out["notes"] = None
    return out
