"""Placeholder while the connector is written."""

from hub.connectors import Capability, Connector


class DpdConnector(Connector):
    name = "dpd"
    kind = "carrier"
    title = "DPD (Web Connect)"
    capabilities = frozenset({Capability.TRACKING_POLL})
