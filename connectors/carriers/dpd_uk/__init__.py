"""Placeholder while the connector is written."""

from hub.connectors import Capability, Connector


class DpdUkConnector(Connector):
    name = "dpd_uk"
    kind = "carrier"
    title = "DPD UK"
    capabilities = frozenset({Capability.TRACKING_POLL})
