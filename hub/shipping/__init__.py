"""Shipping: from a paid order to a delivered parcel. Releasing orders to the warehouse
(``release``), what warehouses send back (``warehouse``), shipments and parcels (``shipments``),
the fulfilment pushed to the sales channel (``fulfilment``), carrier tracking, polled and
pushed (``tracking``), and stock changes made by hand, which may release orders
(``adjustments``).

It may import ``hub.orders``, ``hub.stock``, ``hub.mapping``, ``hub.jobs``, ``hub.runtime``,
``hub.storage``, ``hub.connectors`` and the leaf modules. Release and warehouse live here rather
than in orders or stock because they join both.
"""
