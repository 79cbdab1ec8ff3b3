"""The accounts file: one TOML table per channel, carrier or warehouse account.

Secrets are never written in the file: ``"${NAME}"`` is read from the environment
(``"${NAME:-fallback}"`` gives a fallback, for demos). Every account is validated against its
connector's settings schema at start-up, and a problem names the account and the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from hub.connectors import Account, connector_class
from hub.errors import ConfigError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def _expand(value: Any, where: str, env: Mapping[str, str]) -> Any:
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name, fallback = match.group(1), match.group(2)
            if name in env and env[name] != "":
                return env[name]
            if fallback is not None:
                return fallback
            raise ConfigError(f"{where}: environment variable {name} is not set")

        return _VAR.sub(sub, value)
    if isinstance(value, list):
        return [_expand(v, f"{where}[{i}]", env) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _expand(v, f"{where}.{k}", env) for k, v in value.items()}
    return value


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    if isinstance(messages, dict):
        out = []
        for key, sub in messages.items():
            out += _flatten(sub, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix}: {' '.join(messages)}"]
    return [f"{prefix}: {messages}"]


def parse_accounts(
    text: str, source: str, env: Mapping[str, str] | None = None
) -> dict[str, Account]:
    """Parse and validate accounts from TOML text. Raises ConfigError naming account and key."""
    env = os.environ if env is None else env
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    tables = doc.get("accounts", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{source}: [accounts] must be a table of tables")
    accounts: dict[str, Account] = {}
    for name, raw in tables.items():
        where = f"{source}: account {name!r}"
        if not _NAME.fullmatch(name):
            raise ConfigError(f"{where}: the name may hold only letters, digits, '-', '_', '.'")
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: must be a table")
        if "connector" not in raw:
            raise ConfigError(f"{where}: key 'connector': missing")
        try:
            cls = connector_class(str(_expand(raw["connector"], f"{where}: key 'connector'", env)))
        except ConfigError as exc:
            raise ConfigError(f"{where}: key 'connector': {exc.message}") from None
        data = {k: _expand(v, f"{where}: key {k!r}", env) for k, v in raw.items()}
        try:
            settings = cls.settings_schema().load(data)
        except ValidationError as exc:
            problems = "; ".join(f"key {line}" for line in _flatten(exc.normalized_messages()))
            raise ConfigError(f"{where}: {problems}") from None
        accounts[name] = Account(
            name=name, connector=cls.name, client=settings["client"], settings=settings
        )
    return accounts


def load_accounts(path: str | Path, env: Mapping[str, str] | None = None) -> dict[str, Account]:
    """Read the accounts file. A missing file means no accounts (the hub still starts)."""
    path = Path(path)
    if not path.exists():
        return {}
    return parse_accounts(path.read_text(), str(path), env)
