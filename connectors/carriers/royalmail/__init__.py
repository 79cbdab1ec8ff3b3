"""Placeholder while the connector is written."""

from hub.connectors import Capability, Connector


class RoyalMailConnector(Connector):
    name = "royalmail"
    kind = "carrier"
    title = "Royal Mail"
    capabilities = frozenset({Capability.TRACKING_POLL})
