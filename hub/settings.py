"""Settings flow one way: defaults, then the settings file, then the environment, then the
caller's overrides (tests). The settings file is the ``[settings]`` table of the accounts file.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.errors import ConfigError

DEFAULT_CONFIG = "config/hub.toml"
DEFAULT_MAX_BODY = 5 * 1024 * 1024
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///hub.db"
    config: str = DEFAULT_CONFIG
    secret_key: str | None = None
    log_level: str = "INFO"
    #: ``text`` (one line: time, level, logger, message, key=value fields) or ``json`` (one
    #: JSON object a line, for a log collector)
    log_format: str = "text"
    max_body: int = DEFAULT_MAX_BODY
    #: seconds a claimed job stays leased before another worker may take it again
    job_lease: float = 300.0
    #: attempts before a job is dead
    job_max_attempts: int = 8
    #: first retry delay in seconds; doubles per attempt (with jitter) up to ``job_backoff_max``
    job_backoff: float = 2.0
    job_backoff_max: float = 3600.0
    #: seconds an idle worker waits before looking for jobs again
    worker_poll: float = 0.5
    #: seconds a worker process may go without a heartbeat before its jobs go back to the
    #: queue (it beats every quarter of this, or of ``job_lease`` if shorter)
    worker_timeout: float = 20.0
    #: seconds stock changes gather before they are pushed together (a sell-out goes at once)
    stock_sync_delay: float = 5.0
    #: seconds between passes that compare every SKU's available-to-sell with the channel's
    stock_sync_interval: float = 300.0
    #: seconds between reconciliations that read every channel's levels back and fix drift
    stock_reconcile_interval: float = 21600.0
    #: seconds between polls of each outside warehouse for stock counts and shipments
    warehouse_poll_interval: float = 60.0
    #: seconds between looks for parcels due a tracking check (each parcel has its own pace)
    tracking_poll_interval: float = 300.0
    #: days after shipping that a parcel not delivered is no longer followed
    tracking_max_days: int = 30
    #: days without a scan after which an undelivered parcel is an exception for a person
    stuck_parcel_days: float = 5.0
    #: seconds between reconciliations that ask each channel for orders updated lately (0: off)
    reconcile_interval: float = 900.0
    #: seconds each reconciliation window reaches back over the previous one
    reconcile_overlap: float = 3600.0
    #: the hub's public address, for links to end customers (tracking pages); default: the
    #: address the request came to
    public_url: str | None = None
    #: the same-day cutoff (local ``HH:MM``): orders the hub receives before it should ship
    #: that day, later ones the next (the on-time shipment report); per client in ``[clients]``
    ship_cutoff: str = "14:00"
    #: the IANA time zone the cutoff and the reports' days and hours are in; per client too
    timezone: str = "UTC"


_ENV = {
    "database_url": "HUB_DATABASE_URL",
    "config": "HUB_CONFIG",
    "secret_key": "HUB_SECRET_KEY",
    "log_level": "HUB_LOG_LEVEL",
    "log_format": "HUB_LOG_FORMAT",
    "max_body": "HUB_MAX_BODY",
    "job_lease": "HUB_JOB_LEASE",
    "job_max_attempts": "HUB_JOB_MAX_ATTEMPTS",
    "job_backoff": "HUB_JOB_BACKOFF",
    "job_backoff_max": "HUB_JOB_BACKOFF_MAX",
    "worker_poll": "HUB_WORKER_POLL",
    "worker_timeout": "HUB_WORKER_TIMEOUT",
    "stock_sync_delay": "HUB_STOCK_SYNC_DELAY",
    "stock_sync_interval": "HUB_STOCK_SYNC_INTERVAL",
    "stock_reconcile_interval": "HUB_STOCK_RECONCILE_INTERVAL",
    "warehouse_poll_interval": "HUB_WAREHOUSE_POLL_INTERVAL",
    "tracking_poll_interval": "HUB_TRACKING_POLL_INTERVAL",
    "tracking_max_days": "HUB_TRACKING_MAX_DAYS",
    "stuck_parcel_days": "HUB_STUCK_PARCEL_DAYS",
    "public_url": "HUB_PUBLIC_URL",
    "reconcile_interval": "HUB_RECONCILE_INTERVAL",
    "reconcile_overlap": "HUB_RECONCILE_OVERLAP",
    "ship_cutoff": "HUB_SHIP_CUTOFF",
    "timezone": "HUB_TIMEZONE",
}


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind in ("int", "float"):
        if isinstance(value, bool):
            raise ConfigError(f"{source}: {name} must be a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: {name} must be a number, got {value!r}") from None
        if kind == "float":
            return number
        if not number.is_integer():
            raise ConfigError(f"{source}: {name} must be a whole number, got {value!r}")
        return int(number)
    return str(value)


def load_settings(
    overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Build the settings: defaults < ``[settings]`` in the accounts file < env < overrides."""
    env = os.environ if environ is None else environ
    overrides = overrides or {}
    config = overrides.get("config") or env.get("HUB_CONFIG") or DEFAULT_CONFIG
    values: dict[str, Any] = {"config": str(config)}
    path = Path(config)
    if path.is_file():
        try:
            table = tomllib.loads(path.read_text()).get("settings", {})
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: settings must be a table ([settings])")
        for key, value in table.items():
            if key not in _ENV or key == "config":
                raise ConfigError(f"{path}: [settings] has an unknown key {key!r}")
            values[key] = _coerce(key, value, f"{path} [settings]")
    for key, var in _ENV.items():
        if key != "config" and env.get(var):
            values[key] = _coerce(key, env[var], var)
    for key, value in overrides.items():
        if key not in _ENV:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = value
    settings = replace(Settings(), **values)
    if settings.max_body <= 0:
        raise ConfigError(f"max_body must be positive, got {settings.max_body}")
    if settings.log_format.lower() not in LOG_FORMATS:
        raise ConfigError(f"log_format must be text or json, got {settings.log_format!r}")
    if settings.worker_timeout <= 0:
        raise ConfigError(f"worker_timeout must be positive, got {settings.worker_timeout}")
    _cutoff(settings.ship_cutoff, "ship_cutoff")
    _zone(settings.timezone, "timezone")
    return settings


@dataclass(frozen=True)
class ClientSettings:
    """What the hub knows of one client (a merchant whose orders it fulfils) beyond its
    accounts: when its orders must ship and the time zone its days are counted in."""

    name: str
    ship_cutoff: time
    timezone: ZoneInfo


def _cutoff(value: Any, where: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ConfigError(f"{where} must be a local time as HH:MM, got {value!r}") from None


def _zone(value: Any, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{where} must be an IANA time zone such as Europe/London, got {value!r}"
        ) from None


def load_clients(settings: Settings) -> dict[str, ClientSettings]:
    """The ``[clients.<name>]`` tables of the accounts file (``ship_cutoff``, ``timezone``),
    each key falling back to the hub-wide setting. A client without a table uses those too:
    see :func:`client_settings`."""
    path = Path(settings.config)
    if not path.is_file():
        return {}
    try:
        tables = tomllib.loads(path.read_text()).get("clients", {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: [clients] must be a table of tables")
    found = {}
    for name, table in tables.items():
        where = f"{path}: client {name!r}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: must be a table")
        unknown = set(table) - {"ship_cutoff", "timezone"}
        if unknown:
            raise ConfigError(
                f"{where}: unknown key {sorted(unknown)[0]!r} (ship_cutoff, timezone)"
            )
        found[name] = ClientSettings(
            name,
            _cutoff(table.get("ship_cutoff", settings.ship_cutoff), f"{where}: ship_cutoff"),
            _zone(table.get("timezone", settings.timezone), f"{where}: timezone"),
        )
    return found


def client_settings(
    settings: Settings, clients: dict[str, ClientSettings], name: str
) -> ClientSettings:
    """One client's settings: its own table, else the hub-wide ones."""
    return clients.get(name) or ClientSettings(
        name, _cutoff(settings.ship_cutoff, "ship_cutoff"), _zone(settings.timezone, "timezone")
    )
