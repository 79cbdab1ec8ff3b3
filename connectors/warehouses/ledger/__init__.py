"""The built-in stock ledger as a warehouse account.

A client with no warehouse account is served by the ledger with one location, ``default``;
an account with ``connector = "ledger"`` names the client's default location instead. Release
is the allocation itself, and picking and packing happen in the hub (pick lists, ``POST
/api/shipments``), so the ledger needs no I/O.
"""

from __future__ import annotations

from connectors.warehouses.ledger.settings import LedgerSettings
from hub.connectors import Capability, Connector


class LedgerConnector(Connector):
    name = "ledger"
    kind = "warehouse"
    title = "Built-in stock ledger"
    capabilities = frozenset({Capability.RELEASE})
    settings_schema = LedgerSettings
