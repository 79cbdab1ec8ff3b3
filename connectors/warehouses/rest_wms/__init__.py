"""A generic REST WMS: orders pushed to it, stock levels and shipments polled from it, with its
endpoints and field names set in the account (``settings.py``), so one connector serves many
WMS products.

The hub's order id travels as each WMS order's external reference: a retried release finds the
order the first attempt made (``Idempotency-Key``, and a 409 answered by a lookup), and the
WMS's shipments name the hub order they ship.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from connectors.warehouses.rest_wms import translate
from connectors.warehouses.rest_wms.client import WmsClient
from connectors.warehouses.rest_wms.feed import ShipmentFeed
from connectors.warehouses.rest_wms.settings import RestWmsSettings
from hub.connectors import Account, Capability, Connector, StockCount, WarehouseBatch
from hub.errors import RetryableError
from hub.values import iso, now

log = logging.getLogger(__name__)


class RestWmsConnector(Connector):
    name = "rest_wms"
    kind = "warehouse"
    title = "Generic REST WMS"
    capabilities = frozenset({Capability.RELEASE, Capability.WAREHOUSE_FEED, Capability.RETURNS})
    settings_schema = RestWmsSettings

    def __init__(self, account: Account, *, client: WmsClient | None = None):
        super().__init__(account)
        self._client = client

    @property
    def client(self) -> WmsClient:
        """The account's REST client, built on first use (tests may pass their own)."""
        if self._client is None:
            self._client = WmsClient(self.account)
        return self._client

    @property
    def settings(self) -> Mapping[str, Any]:
        """The account's validated keys (``settings.py``)."""
        return self.account.settings

    # -- orders ------------------------------------------------------------------------------

    def release_order(self, order: dict[str, Any]) -> str | None:
        """POST the order with its hub id as external reference; a 409 is the order an earlier
        attempt made, and its reference is looked up. None when the WMS names no reference."""
        order_id = order["id"]
        body = translate.order_body(order, self.settings)
        created = self.client.create_order(body, translate.idempotency_key(order_id))
        if created.duplicate is None:
            reference = translate.created_reference(created.answer, created.location, self.settings)
            if reference is None:
                log.warning(
                    "%s: order %s was taken but the answer names no reference at %r",
                    self.account.name,
                    order_id,
                    self.settings["reference_field"],
                )
            return reference
        # An earlier attempt got through (its answer was lost): find what it made.
        reference = self._find(order_id)
        if reference is None:
            raise RetryableError(
                f"{self.account.name}: the WMS answered 409 for order {order_id} but "
                f"{self.settings['lookup_endpoint']!r} does not find it ({created.duplicate})"
            )
        return reference

    def expect_return(self, expected: dict[str, Any]) -> str | None:
        """POST the return's advance notice, when the account names ``returns_endpoint``;
        the WMS's id for it (None when it names none, or returns are not configured)."""
        if not self.settings.get("returns_endpoint"):
            return None
        key = f"hub-return-{int(expected['return_id'])}"
        created = self.client.post_return(expected, key)
        if created.duplicate is not None:
            return None  # sent before: the WMS has it
        found = translate.dig(created.answer, self.settings["reference_field"])
        return str(found) if found not in (None, "") else None

    def cancel_order(self, order: dict[str, Any], reference: str | None) -> None:
        """Cancel at the WMS by its reference (looked up when the release got none); an order
        the WMS does not know is nothing to stop. A refusal (409) raises PermanentError."""
        order_id = order["id"]
        reference = reference or self._find(order_id)
        if reference is None:
            return  # it never reached the WMS
        if not self.client.cancel_order(reference, translate.idempotency_key(order_id, "cancel")):
            log.info("%s: order %s (%s) is not at the WMS", self.account.name, order_id, reference)

    def _find(self, order_id: int) -> str | None:
        answer = self.client.find_order(order_id)
        if answer is None:
            return None
        return translate.found_reference(answer, order_id, self.settings)

    # -- the feed ----------------------------------------------------------------------------

    def poll(self, state: dict[str, Any]) -> Iterator[WarehouseBatch]:
        """Shipments since ``state``, one batch each (and the moved position as a batch of its
        own), then every stock level as one batch of counts."""
        # Shipments first: a stock level read afterwards already reflects them, so the count
        # sets what the shipment left, instead of a shipment taking its units twice.
        since = state.get("returns_since")
        for batch in self._shipments(state):
            if batch.state is not None and since is not None:  # keep the returns' position
                batch = replace(batch, state={**batch.state, "returns_since": since})
            if batch.state is not None:
                state = batch.state
            yield batch
        yield from self._returns(state)
        yield from self._stock()

    def _returns(self, state: dict[str, Any]) -> Iterator[WarehouseBatch]:
        """The returns the WMS received since the latest ``received_at`` read, one batch
        each (a refused one leaves the others standing), the position moved with each."""
        s = self.settings
        if not s.get("returns_received_endpoint"):
            return
        since = state.get("returns_since")
        params = {s["returns_since_param"]: since} if since else {}
        items_path = s["returns_items_path"]
        items_path = s["items_path"] if items_path is None else items_path
        for page in self.client.pages(s["returns_received_endpoint"], items_path, params):
            for item in page.items:
                at = item.get("received_at") if isinstance(item, dict) else None
                if isinstance(at, str) and (since is None or at > since):
                    since = at
                yield WarehouseBatch(
                    ref=f"return {item.get('return_id') if isinstance(item, dict) else '?'}"[:200],
                    counts=[],
                    shipments=[],
                    returns=[item] if isinstance(item, dict) else [],
                    state={**state, "returns_since": since} if since else None,
                    error=None if isinstance(item, dict) else "a return must be an object",
                )

    def _shipments(self, state: dict[str, Any]) -> Iterator[WarehouseBatch]:
        s = self.settings
        feed = ShipmentFeed(state, s)
        start, params = feed.start()
        items_path = s["shipments_items_path"]
        items_path = s["items_path"] if items_path is None else items_path
        for page in self.client.pages(s["shipments_endpoint"], items_path, params, start):
            for item in page.items:
                shipment = translate.shipment(item, s)
                if not feed.read(item, shipment):
                    continue
                self._warn(shipment.problems)
                # One shipment per batch: one the hub refuses leaves the others standing.
                yield WarehouseBatch(
                    ref=f"shipment {shipment.id or '(no id)'}"[:200],  # the audit's target
                    counts=[],
                    shipments=[shipment.body],
                )
            moved = feed.after_page(page.cursor)
            if moved is not None:
                yield WarehouseBatch(ref="shipments cursor", counts=[], shipments=[], state=moved)
        moved = feed.finish()
        if moved is not None:
            yield WarehouseBatch(ref="shipments since", counts=[], shipments=[], state=moved)

    def _stock(self) -> Iterator[WarehouseBatch]:
        s = self.settings
        counts: list[StockCount] = []
        for page in self.client.pages(s["stock_endpoint"], s["items_path"]):
            read, problems = translate.stock_counts(page.items, s)
            self._warn(problems)
            counts += read
        if counts:
            # All pages in one batch: rows of one SKU on two pages add up, and the levels
            # change together.
            yield WarehouseBatch(
                ref=f"stock {iso(now())}", counts=translate.merge_counts(counts), shipments=[]
            )

    def _warn(self, problems: list[str]) -> None:
        for problem in problems:
            log.warning("%s: %s", self.account.name, problem)
