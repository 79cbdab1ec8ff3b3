"""Sales-channel connectors."""
