"""Figures for people: the console's overview of the day (``overview``), each account's stock
sync, tracking polls and pauses (``activity``), the exceptions queue (``exceptions``) and the
fulfilment KPIs (``kpis``). Read-only: it changes nothing, the actions live with what they
act on.

It may import the rest of the domain, ``hub.jobs``, ``hub.runtime``, ``hub.storage`` and the
leaf modules; nothing below the web tier imports it.
"""
