"""FedEx's Track API over HTTP for one account: the only module of this connector doing I/O.

* OAuth client credentials: ``POST /oauth/token`` with ``grant_type``, ``client_id`` and
  ``client_secret`` as form fields; the token is cached by :class:`hub.connectors.oauth.TokenCache`,
  and dropped and fetched again once when the API answers 401.
* Track API v1: ``POST /track/v1/trackingnumbers`` with up to 30 numbers and
  ``includeDetailedScans: true``, headers ``X-locale`` and ``x-customer-transaction-id``.

The POST only reads, so it is sent as idempotent: a 5xx or a lost connection is retried here
as a GET would be. Timeouts, retries, rate limits and typed errors are
:class:`hub.connectors.http.HttpClient`'s; the client retries little, because its callers are outbox
jobs that retry with their own backoff. A refusal of the credentials inside another error answer
(FedEx's ``NOT.AUTHORIZED.ERROR`` body) is turned into an ``AuthError`` by a response hook.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from connectors.carriers.fedex import translate
from hub.connectors import Account
from hub.connectors.http import HttpClient
from hub.connectors.oauth import TokenCache
from hub.connectors.ratelimit import RateLimiter, Sleep, limiter_for
from hub.errors import AuthError

API_BASE = "https://apis.fedex.com"
TOKEN_PATH = "/oauth/token"
TRACK_PATH = "/track/v1/trackingnumbers"
#: FedEx allows 1,400 Track calls in 10 seconds per project before it throttles; the hub
#: stays far below, and a 429 pauses every client of the account (the limiter is shared)
RATE, BURST = 10.0, 20.0
#: attempts per request here; the outbox job retries after that
MAX_ATTEMPTS = 3
#: the longest the client waits at once (a longer Retry-After goes back to the outbox)
MAX_WAIT = 30.0

_SHARED = object()  # "use the account's shared limiter"


class FedExClient:
    """The calls the FedEx connector makes for one account. ``session``, ``sleep``,
    ``clock`` (monotonic seconds, for token expiry), ``limiter`` and ``new_id`` (the
    ``x-customer-transaction-id``) are for tests."""

    def __init__(
        self,
        account: Account,
        *,
        session: requests.Session | None = None,
        sleep: Sleep = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        limiter: RateLimiter | object | None = _SHARED,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ):
        settings = account.settings
        if limiter is _SHARED:
            limiter = limiter_for(f"fedex:{account.name}", RATE, BURST)
        self.account = account
        self.http = HttpClient(
            str(settings.get("api_base") or API_BASE),
            limiter=limiter,  # type: ignore[arg-type]
            session=session,
            sleep=sleep,
            max_attempts=MAX_ATTEMPTS,
            max_wait=MAX_WAIT,
        )
        self.http.session.hooks["response"].append(_refused_in_body)
        self.tokens = TokenCache(
            self.http,
            TOKEN_PATH,
            str(settings["client_id"]),
            str(settings["client_secret"]),
            basic=False,
            clock=clock,
        )
        self._new_id = new_id

    def track(self, numbers: list[str]) -> bytes:
        """The Track API's answer (its body) for up to 30 numbers."""
        body = translate.request_body(numbers)
        transaction = self._new_id()
        response = self.tokens.authorized(
            lambda token: self.http.post(
                TRACK_PATH,
                json=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "X-locale": "en_US",
                    "x-customer-transaction-id": transaction,
                },
                idempotent=True,  # reading tracking changes nothing: safe to send again
            )
        )
        return response.content


def _refused_in_body(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """A response hook: an error answer whose body says the credentials were refused is an
    AuthError now, not a 5xx to retry or a 4xx to give up on."""
    if response.status_code < 400 or response.status_code in (401, 403):
        return  # a 200 is the translator's to read; 401/403 are AuthErrors already
    try:
        data = response.json()
    except ValueError:
        return
    if translate.auth_failure(data):
        problem = "; ".join(f"{e['code']} {e['message']}" for e in translate.carrier_errors(data))
        raise AuthError(
            f"FedEx refused the credentials (HTTP {response.status_code}): {problem}",
            details={"status": response.status_code},
        )
