"""Placeholder while the connector is written."""

from hub.connectors import Capability, Connector


class DhlConnector(Connector):
    name = "dhl"
    kind = "carrier"
    title = "DHL"
    capabilities = frozenset({Capability.TRACKING_POLL})
