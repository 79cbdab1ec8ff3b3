"""Built-in connectors. Each is registered through the ``hub.connectors`` entry-point group."""
