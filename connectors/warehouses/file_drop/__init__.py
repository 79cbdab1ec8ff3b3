"""Placeholder while the connector is written."""

from hub.connectors import Capability, Connector


class FileDropConnector(Connector):
    name = "file_drop"
    kind = "warehouse"
    title = "file_drop"
    capabilities = frozenset({Capability.RELEASE, Capability.WAREHOUSE_FEED})
