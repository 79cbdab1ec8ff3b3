"""Orders: the hub's record of each canonical order, its lines and its timeline (``store``):
creating, updating and removing orders from translations, status moves with their rules, and the
events that make up an order's history; reading them (``query``): the filters of a list, one
order's timeline and the deliveries that made it, for the API and the console alike.

The canonical model itself (``hub.canonical``) is a leaf module, not part of this package,
because the connector contract below the domain speaks it. Orders may import ``hub.storage``,
``hub.connectors`` and the leaf modules only: it is the floor of the domain.
"""
