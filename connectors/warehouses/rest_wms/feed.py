"""Where the shipments feed resumes: the account's poll state, read and moved on. Pure.

Two kinds of saved position (``since_value``):

* ``field`` (default): the greatest ``since_field`` value read so far (a time, or any value
  the WMS orders by), sent as ``since_param``, with the ids of the shipments read at exactly
  that value (``{"since": ..., "seen": [...]}``), so an inclusive ``since`` does not hand the
  same shipments over again. It moves only once every page is read: a WMS that pages in
  another order than ``since_field`` could otherwise skip what the unread pages hold.
* ``cursor``: the last cursor the WMS gave (``{"since": ...}``), for a change feed whose
  cursors always point past what was read. It moves after each page.

Reading a shipment twice is harmless either way: the hub records the same parcel once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.warehouses.rest_wms.translate import Shipment, dig, is_link
from hub.errors import TranslationError
from hub.values import utc

Settings = Mapping[str, Any]


def position(value: Any) -> int | str | None:
    """A ``since_field`` value as it can be saved in JSON and sent back in a query."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def order_key(value: int | str) -> tuple[int, Any]:
    """How positions compare: numbers as numbers, times as instants, the rest as text."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = None
    if number is not None and number.is_finite():
        return (0, number)
    try:
        when: datetime | None = utc(value)
    except TranslationError:
        when = None
    return (1, when) if when is not None else (2, value)


class ShipmentFeed:
    """One poll's walk through the shipments: where to start, what to skip, what to save."""

    def __init__(self, state: Mapping[str, Any] | None, settings: Settings):
        self.mode = settings["since_value"]
        self.param = settings["since_param"]
        self.field = settings.get("since_field") or settings["shipped_at_field"]
        self.saved = dict(state or {})
        since = position(self.saved.get("since", settings.get("since_start")))
        self._since = since
        self._seen = {str(s) for s in self.saved.get("seen") or []}
        # the greatest position read so far, and the shipments read at it
        self._best: int | str | None = since
        self._best_ids = set(self._seen)

    def start(self) -> tuple[str | None, dict[str, Any]]:
        """The first request: an address to follow (a saved link), or query parameters."""
        if self._since is None:
            return None, {}
        if self.mode == "cursor" and isinstance(self._since, str) and is_link(self._since):
            return self._since, {}
        return None, {self.param: self._since}

    def read(self, item: Any, shipment: Shipment) -> bool:
        """Note a shipment read; False when it was handed over by an earlier poll already."""
        if self.mode != "field":
            return True
        at = position(dig(item, self.field))
        if at is None:
            return True
        if (
            self._since is not None
            and shipment.id is not None
            and shipment.id in self._seen
            and order_key(at) == order_key(self._since)
        ):
            return False
        if self._best is None or order_key(at) > order_key(self._best):
            self._best, self._best_ids = at, set()
        if order_key(at) == order_key(self._best) and shipment.id is not None:
            self._best_ids.add(shipment.id)
        return True

    def after_page(self, cursor: str | None) -> dict[str, Any] | None:
        """The state to save once a page is applied (change feeds only), or None."""
        if self.mode != "cursor" or not cursor or cursor == self.saved.get("since"):
            return None
        self.saved = {"since": cursor}
        return dict(self.saved)

    def finish(self) -> dict[str, Any] | None:
        """The state to save once every page is applied, or None when it did not move."""
        if self.mode != "field" or self._best is None:
            return None
        state = {"since": self._best, "seen": sorted(self._best_ids)}
        if state == {"since": self._since, "seen": sorted(self._seen)}:
            return None
        self.saved = state
        return dict(state)
