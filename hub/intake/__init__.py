"""Intake: what arrives from outside. The durable inbox that stores every verified webhook
delivery before answering (``inbox``), its translation into canonical orders and events by the
worker (``translation``), and reconciliation, which reads a channel's recent orders to find the
ones whose webhooks never came (``reconcile``).

It may import the other domain packages (orders, mapping, stock, shipping, returns), ``hub.jobs``,
``hub.runtime``, ``hub.storage``, ``hub.connectors`` and the leaf modules; nothing else in the
domain imports intake.
"""
