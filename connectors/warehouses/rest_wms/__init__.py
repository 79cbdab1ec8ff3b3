"""Placeholder while the connector is written."""

from hub.connectors import Capability, Connector


class RestWmsConnector(Connector):
    name = "rest_wms"
    kind = "warehouse"
    title = "rest_wms"
    capabilities = frozenset({Capability.RELEASE, Capability.WAREHOUSE_FEED})
