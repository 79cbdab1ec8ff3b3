"""Figures about the hub's work: the console's overview and (later) the KPI reports."""
