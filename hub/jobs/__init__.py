"""Jobs: the outbox in the database (``outbox``), the worker that claims and runs jobs with
retries, leases and per-account circuit breakers (``worker``), the scheduler that enqueues
periodic work once per time slot (``scheduler``), the heartbeats that give a dead worker's
jobs back (``lifeline``), account health (``account_health``) and the reading of jobs for
people (``listing``).

It may import ``hub.runtime``, ``hub.storage``, ``hub.connectors`` and the leaf modules. Domain
packages register their job handlers with the worker; the worker loads them by module name
(``worker.BUILTIN_HANDLER_MODULES``), never by importing the domain.
"""
