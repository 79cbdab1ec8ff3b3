"""Mapping: admin-edited configs that turn a channel's payload into the canonical model. The
expression language (``expressions``), the spec schema and its checks (``spec``), compiling and
applying a spec (``compiled``) and the versioned store of specs per account (``store``).

It may import ``hub.runtime``, ``hub.storage``, ``hub.connectors`` and the leaf modules.
"""
