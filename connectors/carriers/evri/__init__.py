"""Placeholder while the connector is written."""

from hub.connectors import Capability, Connector


class EvriConnector(Connector):
    name = "evri"
    kind = "carrier"
    title = "Evri"
    capabilities = frozenset({Capability.TRACKING_POLL})
