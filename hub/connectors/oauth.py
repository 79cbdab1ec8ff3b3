"""OAuth 2.0 client-credentials tokens, fetched once and reused until shortly before they
expire (UPS, FedEx and other carriers' APIs). One :class:`TokenCache` per account, shared by
its threads; a token the API refuses is dropped with :meth:`TokenCache.invalidate`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from hub.connectors.http import HttpClient
from hub.errors import AuthError, PermanentError, http_status

T = TypeVar("T")

#: seconds before its stated expiry that a token is renewed (clocks and queues differ)
EARLY = 60.0


class TokenCache:
    """A client-credentials token for one account.

    ``http`` talks to the token endpoint's host; ``path`` is the endpoint. Credentials go as
    HTTP Basic (``basic=True``, UPS's way) or as form fields (FedEx's). ``extra`` form fields
    are sent as well (a ``scope``, say). Errors: 400/401/403 from the token endpoint raise
    ``AuthError`` (fix the account's credentials); an answer without ``access_token`` raises
    ``PermanentError``.
    """

    def __init__(
        self,
        http: HttpClient,
        path: str,
        client_id: str,
        client_secret: str,
        *,
        basic: bool = True,
        extra: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.http, self.path = http, path
        self._id, self._secret, self._basic = client_id, client_secret, basic
        self._extra = dict(extra or {})
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._until = 0.0
        self.fetched = 0  # how many tokens were fetched (for tests and metrics)

    def token(self) -> str:
        """A valid access token, fetched only when the cached one is missing or expiring."""
        with self._lock:
            if self._token is None or self._clock() >= self._until:
                self._token, self._until = self._fetch()
                self.fetched += 1
            return self._token

    def authorized(self, send: Callable[[str], T]) -> T:
        """``send(token)``; when the API refuses a token that came from the cache (revoked, or
        expired early) with a 401, drop it and send once more with a fresh one. A token
        fetched for this very call and refused means the credentials are wrong: raised."""
        fetched = self.fetched
        token = self.token()
        try:
            return send(token)
        except AuthError as exc:
            if self.fetched != fetched or http_status(exc) != 401:
                raise
            self.invalidate(token)
            return send(self.token())

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token (or only ``token``, if another thread renewed it since)."""
        with self._lock:
            if token is None or token == self._token:
                self._token, self._until = None, 0.0

    def _fetch(self) -> tuple[str, float]:
        form: dict[str, Any] = {"grant_type": "client_credentials", **self._extra}
        auth = None
        if self._basic:
            auth = (self._id, self._secret)
        else:
            form.update(client_id=self._id, client_secret=self._secret)
        try:
            response = self.http.request("POST", self.path, data=form, auth=auth, idempotent=True)
        except PermanentError as exc:
            status = (exc.details or {}).get("status") if isinstance(exc.details, dict) else None
            if status == 400:  # OAuth servers answer bad client credentials with 400
                raise AuthError(f"token refused: {exc.message}", details=exc.details) from None
            raise
        try:
            body = response.json()
        except ValueError:
            raise PermanentError(f"POST {self.path}: the token answer is not JSON") from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise PermanentError(f"POST {self.path}: the token answer has no access_token")
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        return token, self._clock() + max(0.0, lifetime - EARLY)
