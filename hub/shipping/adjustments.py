"""A stock change made by hand (``POST /api/stock/adjustments``, the console's stock page): one
ledger entry with its reason, an audit row naming who made it, and a release for the orders
that waited for the stock. It lives here, not in ``hub.stock``, because it wakes orders."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hub.runtime import Hub
from hub.shipping import release, warehouse
from hub.stock import ledger
from hub.storage import audit


def adjust(
    hub: Hub,
    session: Session,
    client: str,
    sku: str,
    *,
    reason: str,
    actor: str,
    delta: int | None = None,
    on_hand: int | None = None,
    location: str | None = None,
    ref: str | None = None,
) -> dict[str, Any]:
    """Change on hand by ``delta``, or set it to ``on_hand`` (exactly one of them), at
    ``location`` (default: the client's warehouse location). Returns the SKU's levels with
    ``location`` and ``location_on_hand``. Raises :class:`hub.stock.ledger.StockError` when
    the change cannot be made (nothing is written then, once the caller rolls back)."""
    if (delta is None) == (on_hand is None):
        raise ledger.StockError("give exactly one of delta or on_hand")
    location = location or warehouse.default_location(hub, client)
    if delta is not None:
        held = ledger.adjust(
            session, client, sku, location, delta, reason=reason, actor=actor, ref=ref
        )
    else:
        assert on_hand is not None
        ledger.set_on_hand(
            session, client, sku, location, on_hand, reason=reason, actor=actor, ref=ref
        )
        held = on_hand
    audit.record(
        session,
        actor,
        "stock.adjust",
        f"stock:{client}:{sku}",
        {"delta": delta, "on_hand": on_hand, "reason": reason, "location": location},
    )
    [level] = ledger.levels(session, client, [sku])
    if level["available"] > 0:
        release.wake(hub, session, client, [sku])
    return {**level, "location": location, "location_on_hand": held}
