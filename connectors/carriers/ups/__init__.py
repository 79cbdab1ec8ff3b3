"""Placeholder while the connector is written."""

from hub.connectors import Capability, Connector


class UpsConnector(Connector):
    name = "ups"
    kind = "carrier"
    title = "UPS"
    capabilities = frozenset({Capability.TRACKING_POLL})
