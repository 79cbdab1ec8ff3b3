"""Storage: the database engine and sessions (``db``), the tables (``models``), the schema
migrations (``migrate`` and ``migrations/``), and the two small stores every layer writes to: the
audit log (``audit``) and per-account state (``account_state``); ``pages``, the newest-first
keyset pages every list reads; and ``fields``, the marshmallow fields request schemas use so
that what they accept fits the tables. It also owns
the before-commit hook registry (``db.before_commit``) through which a domain package acts as
a transaction ends.

It may import only the leaf modules (``hub.errors``, ``hub.values``); everything else builds on
it.
"""
