"""UPS's APIs over HTTP for one account: the only module of this connector that does I/O.

* OAuth client credentials: ``POST /security/v1/oauth/token`` with the Client ID and Secret as
  HTTP Basic (``OAuthClientCredentials.yaml``); the token is cached by
  :class:`hub.connectors.oauth.TokenCache`, and dropped and fetched again once when the API answers
  401.
* Track API v1: ``GET /api/track/v1/details/{inquiryNumber}``, one number a call, with the
  headers UPS requires: ``transId`` (unique per request, at most 32 characters) and
  ``transactionSrc`` (``Tracking.yaml``).
* Track Alert: ``POST /api/track/v1/subscription/standard/package``, at most 100 ``1Z``
  numbers a call, each followed for 14 days (``UPSTrackAlert.yaml``).

Timeouts, retries (429 and 5xx), rate limits and typed errors are
:class:`hub.connectors.http.HttpClient`'s; the client retries little, because its callers are outbox
jobs that retry with their own backoff. UPS may also refuse credentials inside a 4xx or 5xx body
(``250003 Invalid Access License number``): a response hook turns that into an ``AuthError`` before
it is retried.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

from connectors.carriers.ups import translate
from hub.connectors import Account
from hub.connectors.http import HttpClient
from hub.connectors.oauth import TokenCache
from hub.connectors.ratelimit import RateLimiter, Sleep, limiter_for
from hub.errors import AuthError, PermanentError

API_BASE = "https://onlinetools.ups.com"
TOKEN_PATH = "/security/v1/oauth/token"
DETAILS_PATH = "/api/track/v1/details/{number}"
SUBSCRIBE_PATH = "/api/track/v1/subscription/standard/package"
#: numbers one Track Alert subscription call may carry
SUBSCRIBE_BATCH = 100
#: UPS publishes no request rate; this stays well inside what it tolerates, and a 429 pauses
#: every client of the account (the limiter is shared)
RATE, BURST = 5.0, 10.0
#: attempts per request here; the outbox job retries after that
MAX_ATTEMPTS = 3
#: the longest the client waits at once (a longer Retry-After goes back to the outbox)
MAX_WAIT = 30.0

_SHARED = object()  # "use the account's shared limiter"


class UpsClient:
    """The calls the UPS connector makes for one account. ``session``, ``sleep``, ``clock``
    (monotonic seconds, for token expiry), ``limiter`` and ``new_id`` (the ``transId``) are
    for tests."""

    def __init__(
        self,
        account: Account,
        *,
        session: requests.Session | None = None,
        sleep: Sleep = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        limiter: RateLimiter | object | None = _SHARED,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ):
        settings = account.settings
        if limiter is _SHARED:
            limiter = limiter_for(f"ups:{account.name}", RATE, BURST)
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
            basic=True,
            clock=clock,
        )
        self._source = str(settings.get("transaction_src") or "fulfilment-hub")
        self._new_id = new_id

    def details(self, number: str) -> bytes:
        """The Track API's answer for one number: the body of a 200, or the JSON error body of
        a 400/404 (UPS's verdict on the number, e.g. ``TV1002 Invalid inquiry number``), for
        the translator to read. Other failures raise."""
        path = DETAILS_PATH.format(number=quote(number.strip(), safe=""))
        params = {"locale": "en_US", "returnSignature": "false", "returnPOD": "false"}
        try:
            response = self.tokens.authorized(
                lambda token: self.http.get(path, params=params, headers=self._headers(token))
            )
        except PermanentError as exc:
            body = _error_body(exc)
            if body is None:
                raise
            return body
        return response.content

    def subscribe(self, numbers: list[str], url: str, credential: str) -> dict[str, Any]:
        """Subscribe up to :data:`SUBSCRIBE_BATCH` ``1Z`` numbers to Track Alert pushes to
        ``url`` for 14 days; UPS sends ``credential`` back in each push's ``credential``
        header. Returns UPS's answer: ``validTrackingNumbers``, ``invalidTrackingNumbers``."""
        if not 0 < len(numbers) <= SUBSCRIBE_BATCH:
            raise ValueError(f"1 to {SUBSCRIBE_BATCH} numbers a subscription, not {len(numbers)}")
        body = {
            "locale": "en_US",
            "countryCode": "US",  # "reserved for future use", but required
            "trackingNumberList": [n.strip() for n in numbers],
            "destination": {"url": url, "credentialType": "Bearer", "credential": credential},
        }
        response = self.tokens.authorized(
            # subscribing the same numbers again only renews them: safe to resend
            lambda token: self.http.post(
                SUBSCRIBE_PATH, json=body, headers=self._headers(token), idempotent=True
            )
        )
        try:
            answer = response.json()
        except ValueError:
            raise PermanentError("UPS answered the subscription with no JSON") from None
        return answer if isinstance(answer, dict) else {}

    def _headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "transId": self._new_id()[:32],
            "transactionSrc": self._source,
        }


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
            f"UPS refused the credentials (HTTP {response.status_code}): {problem}",
            details={"status": response.status_code},
        )


def _error_body(exc: PermanentError) -> bytes | None:
    """The JSON body UPS sent with a 400/404 when it holds UPS's errors, else None."""
    details = exc.details if isinstance(exc.details, dict) else {}
    if details.get("status") not in (400, 404):
        return None
    text = details.get("body")
    try:
        data = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return text.encode() if translate.carrier_errors(data) else None  # type: ignore[union-attr]
