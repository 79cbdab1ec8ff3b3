"""The USPS APIs v3 over HTTP: the only module of this connector that does I/O.

* Token: ``POST /oauth2/v3/token``, OAuth 2.0 client credentials with ``client_id`` and
  ``client_secret`` as form fields and ``scope=tracking`` (the only scope the hub needs);
  cached by :class:`hub.connectors.oauth.TokenCache` until a minute before ``expires_in`` (USPS: 8
  hours).
* Tracking: ``GET /tracking/v3/tracking/{trackingNumber}?expand=DETAIL`` with
  ``Authorization: Bearer <token>``, one number per call. ``DETAIL`` is what returns the
  scan events with their codes and GMT times; the default ``SUMMARY`` is prose only.

USPS answers a number it does not know with a 4xx and its error envelope: the 400 and 404
bodies are handed back as answers for ``translate.read_tracking`` to read, not raised. A 401
with a cached token (expired early, or revoked) drops the token and tries once more with a
new one; a second 401 is the account's problem (``AuthError``: an app whose API product
lacks Tracking is refused this way too).

A new USPS app may send 60 requests an hour (the account's ``rate_limit``), in bursts of a
few. The limiter is shared by every client of the account in the process; a caller that
would have to wait longer than :data:`MAX_WAIT` gets a ``RetryableError`` with the wait, for
the outbox to schedule, instead of holding a worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from connectors.carriers.usps.settings import DEFAULT_API_BASE
from hub.connectors import Account
from hub.connectors.http import HttpClient
from hub.connectors.oauth import TokenCache
from hub.connectors.ratelimit import RateLimiter, Sleep, limiter_for
from hub.errors import PermanentError, http_status

TOKEN_PATH = "/oauth2/v3/token"
TRACKING_PATH = "/tracking/v3/tracking/{number}"
#: attempts per request here; the outbox job retries after that
MAX_ATTEMPTS = 3
#: the longest one call waits for the limiter or a Retry-After before giving the wait back
MAX_WAIT = 30.0
#: requests USPS lets through at once before its hourly rate applies
BURST = 5.0

_SHARED = object()  # "use the account's shared limiter"


@dataclass(frozen=True)
class Answer:
    """One tracking answer as it came: its HTTP status and raw body."""

    status: int
    body: bytes


class UspsClient:
    """The tracking API for one USPS account."""

    def __init__(
        self,
        account: Account,
        *,
        session: requests.Session | None = None,
        sleep: Sleep = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        limiter: RateLimiter | Any = _SHARED,
    ):
        settings = account.settings
        base = settings.get("api_base") or DEFAULT_API_BASE
        if limiter is _SHARED:
            per_second = float(settings["rate_limit"]) / 3600
            limiter = limiter_for(f"usps:{account.name}", per_second, BURST)
        assert limiter is None or isinstance(limiter, RateLimiter)
        common = {
            "session": session,
            "sleep": sleep,
            "max_attempts": MAX_ATTEMPTS,
            "backoff_max": 10.0,
            "max_wait": MAX_WAIT,
            "headers": {"Accept": "application/json"},
        }
        self.http = HttpClient(base, limiter=limiter, **common)
        # The token endpoint is not the tracking quota: it does not draw on the limiter.
        self.tokens = TokenCache(
            HttpClient(base, limiter=None, **common),
            TOKEN_PATH,
            settings["client_id"],
            settings["client_secret"],
            basic=False,
            extra={"scope": "tracking"},
            clock=clock,
        )

    def tracking(self, number: str) -> Answer:
        """USPS's answer for one tracking number (200, or a 400/404 naming the number)."""
        return self.tokens.authorized(lambda token: self._get(number, token))

    def _get(self, number: str, token: str) -> Answer:
        # Tracking numbers have no spaces, though people write them in groups of four; the
        # number goes into the path, so anything else in it is escaped, "/" included.
        path = TRACKING_PATH.format(number=quote("".join(number.split()), safe=""))
        try:
            response = self.http.get(
                path, params={"expand": "DETAIL"}, headers={"Authorization": f"Bearer {token}"}
            )
        except PermanentError as exc:
            status = http_status(exc)
            if status in (400, 404):
                body = exc.details.get("body") if isinstance(exc.details, dict) else None
                return Answer(status, str(body or "").encode())
            raise
        return Answer(response.status_code, response.content)
