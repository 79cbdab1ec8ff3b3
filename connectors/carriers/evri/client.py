"""Evri's tracking API over HTTP: the only module of this connector that does I/O.

Two GETs per parcel: the barcode search for its unique id, then the parcel by that id. The
``apiKey`` header carries the account's key on every request (HttpClient keeps its value out
of errors and logs). Everything goes through :class:`hub.connectors.http.HttpClient` (timeouts,
retries, typed errors: 401/403 are ``AuthError``, 429 and 5xx are retried) with the account's
limiter ``evri:<account name>``.
"""

from __future__ import annotations

import time
from urllib.parse import quote

import requests

from connectors.carriers.evri import translate
from hub.connectors import Account
from hub.connectors.http import HttpClient
from hub.connectors.ratelimit import RateLimiter, Sleep, limiter_for
from hub.errors import PermanentError

DEFAULT_API_BASE = "https://api.hermesworld.co.uk/enterprise-tracking-api/v1"
#: requests per second and burst per account (Evri publishes no figure)
RATE, BURST = 2.0, 5.0

_SHARED = object()  # "use the account's shared limiter"


class EvriClient:
    """The tracking calls of one account. ``limiter``, ``session`` and ``sleep`` are for
    tests; by default the account shares the process's limiter."""

    def __init__(
        self,
        account: Account,
        *,
        limiter: RateLimiter | object | None = _SHARED,
        session: requests.Session | None = None,
        sleep: Sleep = time.sleep,
    ):
        settings = account.settings
        if limiter is _SHARED:
            limiter = limiter_for(f"evri:{account.name}", RATE, BURST)
        self.http = HttpClient(
            settings.get("api_base") or DEFAULT_API_BASE,
            limiter=limiter,  # type: ignore[arg-type]
            session=session,
            sleep=sleep,
            headers={"apiKey": str(settings["api_key"]), "Accept": "application/json"},
        )

    def search(self, number: str) -> list[str]:
        """The unique ids Evri holds for a barcode (empty: Evri does not know it)."""
        try:
            response = self.http.get(f"parcels/search/{quote(number.strip(), safe='')}")
        except PermanentError as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            if details.get("status") == 404:
                return []
            raise
        return translate.read_search(response.content)

    def parcels(self, unique_ids: list[str]) -> bytes:
        """The raw ``parcels`` answer for unique ids from :meth:`search`."""
        response = self.http.get("parcels/", params={"uniqueIds": ",".join(unique_ids)})
        return response.content
