"""Reconciliation against missed webhooks: every channel that can be asked for its orders
(``orders_poll``) is asked, on a timer, for the orders updated in a window that overlaps the
previous one; any order the hub lacks, or holds older than the channel, is taken in through
the inbox as a delivery, exactly as if its webhook had arrived (the same translation,
mapping, stale-update rule and timeline). Each listed order's id and update time are read
by ``Connector.order_version`` from what the channel listed, so an order found current costs
no more than its share of the list (a channel may list orders short of what translation needs:
the worker's ``fetch`` completes those taken in). Counts of what was seen, missing and stale
are kept as the account's last reconciliation.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from hub.connectors import Account, Capability, Delivery, calls_out
from hub.errors import HubError
from hub.intake import inbox
from hub.jobs import outbox
from hub.jobs.worker import job_handler
from hub.runtime import Hub
from hub.storage import account_state
from hub.storage.models import OrderRow
from hub.values import dumps, iso, now, utc

log = logging.getLogger("hub.reconcile")

RECONCILE = "orders.reconcile"
RECONCILE_ALL = "orders.reconcile_all"
STATE = "reconcile"
WEBHOOKS = "webhooks"


def poll_accounts(hub: Hub) -> list[Account]:
    return [a for a in hub.accounts.values() if calls_out(a, Capability.ORDERS_POLL)]


def _window(hub: Hub, state: dict[str, Any], since: datetime | None) -> tuple[datetime, datetime]:
    until = now()
    if since is not None:
        return since, until
    last = utc(state.get("until")) if state.get("until") else None
    overlap = timedelta(seconds=hub.settings.reconcile_overlap)
    start = last - overlap if last is not None else until - timedelta(hours=24)
    return start, until


def reconcile_account(hub: Hub, account: Account, since: datetime | None = None) -> dict[str, Any]:
    """One pass for one account; returns (and keeps) the counts."""
    connector = hub.connector(account)
    topic = connector.reconcile_topic
    with hub.db.transaction() as session:
        state = account_state.load(session, account.name, STATE)
    start, until = _window(hub, state, since)
    counts = {"seen": 0, "missing": 0, "stale": 0, "taken_in": 0, "current": 0}
    for payload in connector.orders_updated(start, until):
        counts["seen"] += 1
        external_id, updated_at = connector.order_version(payload)
        external_id = external_id or str(payload.get("id"))
        with hub.db.transaction() as session:
            held = session.execute(
                select(OrderRow.channel_updated_at).where(
                    OrderRow.account == account.name, OrderRow.external_id == external_id
                )
            ).first()
        if held is not None and updated_at is not None and held[0] is not None:
            if held[0] >= updated_at:
                counts["current"] += 1
                continue
            counts["stale"] += 1
        elif held is None:
            counts["missing"] += 1
        else:
            counts["stale"] += 1
        body = dumps(payload).encode()
        stamp = iso(updated_at) if updated_at else "unknown"
        accepted = inbox.accept(
            hub,
            account,
            Delivery(
                topic=topic,
                dedupe_key=f"reconcile:{external_id}:{stamp}",
                headers={"X-Hub-Source": "reconcile"},
            ),
            body,
            "application/json",
        )
        counts["taken_in"] += 0 if accepted.duplicate else 1
    report = {**counts, "since": iso(start), "until": iso(until), "at": iso(now())}
    with hub.db.transaction() as session:
        account_state.save(session, account.name, STATE, report)
    check_webhooks(hub, account)
    if counts["missing"] or counts["stale"]:
        log.warning("%s: reconciliation took in %s", account.name, counts)
    return report


def webhook_url(hub: Hub, account: Account) -> str | None:
    """The account's webhook address as the channel must call it: the one the account names
    (``Connector.webhook_endpoint``), else ``HUB_PUBLIC_URL/webhooks/<account>``; None when
    there is neither."""
    own = hub.connector(account).webhook_endpoint()
    if own:
        return own
    base = hub.settings.public_url
    return f"{str(base).rstrip('/')}/webhooks/{account.name}" if base else None


def check_webhooks(hub: Hub, account: Account) -> dict[str, Any] | None:
    """For a channel that can list its hooks (``webhook_subscriptions``): whether every topic's
    hook to the hub is there and active, kept as the account's ``webhooks`` state for its
    health (a channel that deactivates a failing hook, as BigCommerce does after 48 hours,
    shows here; ``hub accounts hooks sync NAME`` turns it back on). None: nothing to check,
    or the channel could not be asked (the next pass asks again)."""
    url = webhook_url(hub, account)
    if url is None:
        return None
    connector = hub.connector(account)
    try:
        found = connector.webhook_subscriptions(url)
    except NotImplementedError:
        return None
    except HubError as exc:
        log.warning("%s: could not read the channel's webhooks: %s", account.name, exc)
        return None
    state = {**found, "url": url, "at": iso(now())}
    with hub.db.transaction() as session:
        account_state.save(session, account.name, WEBHOOKS, state)
    if not found.get("ok"):
        log.warning(
            "%s: webhooks inactive %s, missing %s; run hub accounts hooks sync %s",
            account.name,
            found.get("inactive"),
            found.get("missing"),
            account.name,
        )
    return state


@job_handler(RECONCILE, own_transactions=True)
def run(hub: Hub, payload: dict[str, Any]) -> None:
    account = hub.accounts.get(payload["account"])
    if account is not None:
        reconcile_account(hub, account)


@job_handler(RECONCILE_ALL)
def run_all(hub: Hub, session: Any, payload: dict[str, Any]) -> None:
    slot = payload.get("slot") or int(now().timestamp())
    for account in poll_accounts(hub):
        outbox.enqueue(
            session,
            RECONCILE,
            {"account": account.name},
            max_attempts=hub.settings.job_max_attempts,
            dedupe_key=f"{RECONCILE}:{account.name}:{slot}",
        )
