"""The hub's one error tree. Each class says what the caller should do.

    HubError
     ├── ConfigError          the accounts file or settings are wrong: fix them and restart
     ├── MappingError         a mapping spec is invalid: fix the spec
     └── ConnectorError       something about one outside system
          ├── RetryableError  try again later (``retry_after`` seconds, if the sender said)
          ├── AuthError       credentials were refused: fix the account's secrets
          └── PermanentError  this record can never succeed as it is: show it, do not retry

A problem with one record is data on its timeline, never a crash of the batch.
"""

from __future__ import annotations

from hub.secrets import scrub, scrub_data


class HubError(Exception):
    """Base of every error the hub raises on purpose."""

    code = "hub_error"

    def __init__(self, message: str, *, details: object = None):
        # an outside answer quoted here may quote our own credentials back: never keep them
        message, details = scrub(message), scrub_data(details)
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigError(HubError):
    code = "config_error"


class MappingError(HubError):
    code = "mapping_error"


class ConnectorError(HubError):
    code = "connector_error"


class RetryableError(ConnectorError):
    code = "retryable"

    def __init__(self, message: str, *, retry_after: float | None = None, details: object = None):
        super().__init__(message, details=details)
        self.retry_after = retry_after


class AuthError(ConnectorError):
    code = "auth_error"


class PermanentError(ConnectorError):
    code = "permanent"


def http_status(exc: BaseException) -> int | None:
    """The HTTP status an outside system answered with, when the error carries one."""
    details = getattr(exc, "details", None)
    status = details.get("status") if isinstance(details, dict) else None
    return status if isinstance(status, int) else None


class TranslationError(PermanentError):
    """A payload that cannot become a canonical record. ``path`` names where."""

    code = "translation_error"

    def __init__(self, message: str, *, path: str | None = None):
        super().__init__(f"{path}: {message}" if path else message, details={"path": path})
        self.path = path
