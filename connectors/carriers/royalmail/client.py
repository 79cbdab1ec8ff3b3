"""Royal Mail Tracking API v2 over HTTP: the only module of this connector that does I/O.

Two operations (Royal Mail's Swagger for "Royal Mail Tracking (for Server-side app) v2 REST
API"): ``GET /mailpieces/v2/{mailPieceId}/events`` (one number, full history) and
``GET /mailpieces/v2/summary?mailPieceId=a,b,...`` (at most 30 numbers, a comma-separated list,
latest event only). Every call carries ``X-IBM-Client-Id``, ``X-IBM-Client-Secret`` and
``X-Accept-RMG-Terms: yes`` (without it Royal Mail answers 400 ``E0004``). There is no OAuth.

Timeouts, retries (429, 5xx), rate limits and the typed errors are
:class:`hub.connectors.http.HttpClient`'s; the client retries less and waits less than its defaults,
because every caller is an outbox job with its own backoff. A 4xx that carries a Royal Mail JSON
body (``events`` answers 404 with ``E1142`` for an unknown number) is handed back as that body, so
``translate.read_tracking`` decides: a per-item error is a ``found=False`` result, anything else
raises.
"""

from __future__ import annotations

import time
from urllib.parse import quote

import requests

from connectors.carriers.royalmail.translate import normalise
from hub.connectors import Account
from hub.connectors.answers import error_json
from hub.connectors.http import HttpClient
from hub.connectors.ratelimit import RateLimiter, Sleep, limiter_for
from hub.errors import PermanentError

#: Royal Mail's public API address (``api_base`` replaces it)
API_BASE = "https://api.royalmail.net"
#: the most numbers one summary call may carry (Royal Mail's Swagger: "a maximum of 30")
SUMMARY_LIMIT = 30
#: attempts per request here; the outbox job retries after that
MAX_ATTEMPTS = 3
#: the longest the client waits at once (a longer Retry-After goes back to the outbox)
MAX_WAIT = 30.0

_SHARED = object()  # "use the account's shared limiter"


class RoyalMailClient:
    """The Tracking API v2 for one account. ``session``, ``sleep`` and ``limiter`` are for
    tests; by default the account shares the process's limiter ``royalmail:<account name>``."""

    def __init__(
        self,
        account: Account,
        *,
        session: requests.Session | None = None,
        sleep: Sleep = time.sleep,
        limiter: RateLimiter | object | None = _SHARED,
    ):
        settings = account.settings
        if limiter is _SHARED:
            rate = float(settings.get("rate_limit") or 1.0)
            limiter = limiter_for(f"royalmail:{account.name}", rate, max(1.0, rate))
        assert limiter is None or isinstance(limiter, RateLimiter)
        self.http = HttpClient(
            settings.get("api_base") or API_BASE,
            limiter=limiter,
            session=session,
            sleep=sleep,
            max_attempts=MAX_ATTEMPTS,
            backoff_max=10.0,
            max_wait=MAX_WAIT,
            headers={
                "Accept": "application/json",
                "X-IBM-Client-Id": str(settings["client_id"]),
                "X-IBM-Client-Secret": str(settings["client_secret"]),
                # Accepting Royal Mail's terms is part of every request, not a choice per call.
                "X-Accept-RMG-Terms": "yes",
            },
        )

    def events(self, number: str) -> bytes:
        """The raw ``events`` answer for one number (or the error body of a 4xx)."""
        return self._get(f"/mailpieces/v2/{quote(normalise(number), safe='')}/events")

    def summary(self, numbers: list[str]) -> bytes:
        """The raw ``summary`` answer for at most :data:`SUMMARY_LIMIT` numbers."""
        if not 1 <= len(numbers) <= SUMMARY_LIMIT:
            raise ValueError(f"summary takes 1 to {SUMMARY_LIMIT} numbers, got {len(numbers)}")
        # Written out by hand so the commas stay commas, as Royal Mail documents the list.
        ids = ",".join(quote(normalise(n), safe="") for n in numbers)
        return self._get(f"/mailpieces/v2/summary?mailPieceId={ids}")

    def _get(self, path: str) -> bytes:
        try:
            return self.http.get(path).content
        except PermanentError as exc:
            body = error_json(exc)
            if body is None:
                raise
            return body
