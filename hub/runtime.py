"""The running hub: settings, database and accounts, built once per process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from hub import secrets
from hub.connectors import Account, Connector, connector_class
from hub.connectors.accounts import load_accounts
from hub.errors import ConfigError
from hub.settings import (
    DEFAULT_CONFIG,
    ClientSettings,
    Settings,
    client_settings,
    load_clients,
    load_settings,
)
from hub.storage.db import Database

log = logging.getLogger("hub")


class Hub:
    """Everything a web process, worker or CLI command needs, with no Flask in it."""

    def __init__(self, settings: Settings):
        self.settings = settings
        path = Path(settings.config)
        if not path.exists() and settings.config != DEFAULT_CONFIG:
            raise ConfigError(f"accounts file {settings.config} does not exist")
        self.accounts: dict[str, Account] = load_accounts(path)
        self.clients: dict[str, ClientSettings] = load_clients(settings)
        for account in self.accounts.values():
            schema = connector_class(account.connector).settings_schema()
            secrets.register(secrets.account_values(schema, account.settings))
        secrets.install_logging()
        if not self.accounts:
            log.warning("no accounts configured (%s): every webhook will answer 404", path)
        self._connectors: dict[str, Connector] = {}
        self._services: dict[str, Any] = {}
        self._services_lock = threading.Lock()

    def client(self, name: str) -> ClientSettings:
        """A client's settings (its ``[clients.<name>]`` table, else the hub-wide ones)."""
        return client_settings(self.settings, self.clients, name)

    @classmethod
    def from_env(cls, overrides: dict[str, Any] | None = None) -> Hub:
        return cls(load_settings(overrides))

    @cached_property
    def db(self) -> Database:
        db = Database(self.settings.database_url)
        # Hooks that run at commit (a stock change queues its channel pushes) find the hub here.
        db.sessions.configure(info={"hub": self})
        return db

    def service(self, name: str, make: Callable[[Hub], Any]) -> Any:
        """The one ``name`` service of this hub, made by ``make(hub)`` on first use (a package
        above the runtime keeps its per-process state here: the inbox writer, the compiled
        mapping cache). A service with a ``close()`` is closed with the hub."""
        found = self._services.get(name)
        if found is None:
            with self._services_lock:
                found = self._services.get(name)
                if found is None:
                    found = self._services[name] = make(self)
        return found

    def connector(self, account: Account) -> Connector:
        """The connector instance serving an account (one per account, reused)."""
        found = self._connectors.get(account.name)
        if found is None:
            found = self._connectors[account.name] = connector_class(account.connector)(account)
        return found

    def close(self) -> None:
        for service in self._services.values():
            close = getattr(service, "close", None)
            if close is not None:
                close()
        if "db" in self.__dict__:
            self.db.dispose()
