"""Returns (RMAs): an order's goods coming back, from the customer's request to the shelf and
the refund.

It owns the return's states and timeline (``store``), the stock it puts back or sets aside
through the ledger (resellable goods to on-hand stock, damaged and quarantined goods to
locations that are never sold from) and the refund job that tells the channel, per the
account's ``returns`` policy (``refunds``).

It may import ``hub.shipping`` (what was shipped), ``hub.stock`` (the ledger), ``hub.orders``
(the order and its timeline), ``hub.jobs`` (the outbox), ``hub.runtime``, ``hub.storage``,
``hub.connectors`` and the leaf modules. ``hub.intake`` (returns from channel webhooks),
``hub.reports`` (return rates) and the web and CLI tiers import it; it imports none of them.
"""
