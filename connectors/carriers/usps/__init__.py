"""Placeholder while the connector is written."""

from hub.connectors import Capability, Connector


class UspsConnector(Connector):
    name = "usps"
    kind = "carrier"
    title = "USPS"
    capabilities = frozenset({Capability.TRACKING_POLL})
