"""DHL Shipment Tracking - Unified over HTTP: the only module of this connector that does I/O.

One operation (DHL's OpenAPI "DHL Shipment Tracking API" 1.3.1): ``GET /track/shipments`` with
``trackingNumber`` (one number: the parameter is a single string) and the optional
``service``, ``requesterCountryCode`` and ``language``, authenticated by the ``DHL-API-Key``
header. There is no OAuth.

Timeouts, retries (429, 5xx), rate limits and the typed errors are
:class:`hub.connectors.http.HttpClient`'s; the client retries less and waits less than its defaults,
because every caller is an outbox job with its own backoff. A 4xx that carries a JSON problem (404
"No result found" for a number DHL does not know) is handed back as that body, so
``translate.read_tracking`` decides: a 404 is a ``found=False`` result, anything else raises.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from hub.connectors import Account
from hub.connectors.answers import error_json
from hub.connectors.http import HttpClient
from hub.connectors.ratelimit import RateLimiter, Sleep, limiter_for
from hub.errors import PermanentError

#: DHL's public API address (``api_base`` replaces it)
API_BASE = "https://api-eu.dhl.com"
#: attempts per request here; the outbox job retries after that
MAX_ATTEMPTS = 3
#: the longest the client waits at once (a longer Retry-After goes back to the outbox)
MAX_WAIT = 30.0

_SHARED = object()  # "use the account's shared limiter"


class DhlClient:
    """Shipment Tracking - Unified for one account. ``session``, ``sleep`` and ``limiter`` are
    for tests; by default the account shares the process's limiter ``dhl:<account name>``."""

    def __init__(
        self,
        account: Account,
        *,
        session: requests.Session | None = None,
        sleep: Sleep = time.sleep,
        limiter: RateLimiter | object | None = _SHARED,
    ):
        self.settings = settings = account.settings
        if limiter is _SHARED:
            rate = float(settings.get("rate_limit") or 0.2)
            limiter = limiter_for(f"dhl:{account.name}", rate, max(1.0, rate))
        assert limiter is None or isinstance(limiter, RateLimiter)
        self.http = HttpClient(
            settings.get("api_base") or API_BASE,
            limiter=limiter,
            session=session,
            sleep=sleep,
            max_attempts=MAX_ATTEMPTS,
            backoff_max=10.0,
            max_wait=MAX_WAIT,
            headers={"Accept": "application/json", "DHL-API-Key": str(settings["api_key"])},
        )

    def shipments(self, number: str) -> bytes:
        """The raw answer for one tracking number (or the problem body of a 4xx)."""
        params: dict[str, Any] = {"trackingNumber": number.strip()}
        optional = (
            ("service", "service"),
            ("requesterCountryCode", "requester_country_code"),
            ("language", "language"),
        )
        for param, key in optional:
            if self.settings.get(key):
                params[param] = self.settings[key]
        try:
            return self.http.get("/track/shipments", params=params).content
        except PermanentError as exc:
            body = error_json(exc)
            if body is None:
                raise
            return body
