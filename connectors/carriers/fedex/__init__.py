"""Placeholder while the connector is written."""

from hub.connectors import Capability, Connector


class FedExConnector(Connector):
    name = "fedex"
    kind = "carrier"
    title = "FedEx"
    capabilities = frozenset({Capability.TRACKING_POLL})
