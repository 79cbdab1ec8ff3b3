"""DPD UK's tracking service over HTTP: the only module of this connector that does I/O.

One POST of a ``trackingrequest`` to ``<api_base>/parcels`` carries up to
:data:`BATCH` parcel numbers, with the account's user and password inside the XML (the
service takes no session or token, so there is nothing to cache). Everything goes through
:class:`hub.connectors.http.HttpClient` (timeouts, retries, typed errors: 401/403 are ``AuthError``,
429 and 5xx are retried) with the account's limiter ``dpd_uk:<account name>``. Tracking is a
read, so a request is retried even after it may have reached DPD.
"""

from __future__ import annotations

import time

import requests

from connectors.carriers.dpd_uk import translate
from hub.connectors import Account
from hub.connectors.http import HttpClient
from hub.connectors.ratelimit import RateLimiter, Sleep, limiter_for

DEFAULT_API_BASE = "https://apps.geopostuk.com/trackingcore/dpd"
PATH = "parcels"
#: parcel numbers per request: integrations report that DPD refuses more than ten
BATCH = 10
#: requests per second and burst per account (DPD UK publishes no figure)
RATE, BURST = 2.0, 5.0

_SHARED = object()  # "use the account's shared limiter"


class DpdUkClient:
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
            limiter = limiter_for(f"dpd_uk:{account.name}", RATE, BURST)
        self.http = HttpClient(
            settings.get("api_base") or DEFAULT_API_BASE,
            limiter=limiter,  # type: ignore[arg-type]
            session=session,
            sleep=sleep,
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "Accept": "application/xml, text/xml",
            },
        )
        self._username = str(settings["username"])
        self._password = str(settings["password"])

    def tracking(self, numbers: list[str]) -> bytes:
        """The raw ``trackingresponse`` for at most :data:`BATCH` parcel numbers."""
        if len(numbers) > BATCH:
            raise ValueError(f"at most {BATCH} numbers per DPD UK request, got {len(numbers)}")
        body = translate.tracking_request(self._username, self._password, numbers)
        response = self.http.request("POST", PATH, data=body, idempotent=True)
        return response.content
