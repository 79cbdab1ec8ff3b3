"""DPD Web Connect over HTTP: the only module of this connector that does I/O.

Two SOAP services under the account's ``api_base``: ``LoginService`` (``getAuth``: DELIS id and
password for an authToken) and ``ParcelLifeCycleService`` 2.0 (``getTrackingData``: one parcel
per call). Everything goes through :class:`hub.connectors.http.HttpClient` (timeouts, retries, typed
errors) with the account's limiter ``dpd:<account name>``.

The authToken lives 24 hours and DPD allows only a few logins a day ("it is not allowed to
refresh your token for each request"), so :class:`AuthTokenCache` keeps it per account until
half an hour before ``authTokenExpires`` (24 hours when DPD does not say; to its very end when
DPD hands back a token already that close to it); a token DPD refuses while it is cached is
dropped and one new login is tried, once.

SOAP faults come with HTTP 500, which HttpClient would retry as a server error with the body
unread: a response hook on the session reads the body first and hands a fault to this module
as :class:`_SoapFault`, so a refused login or token is an ``AuthError`` at once, a fault about
the parcel is tracking data, and only other server faults are retryable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import requests

from connectors.carriers.dpd import translate
from hub.connectors import Account
from hub.connectors.http import HttpClient
from hub.connectors.ratelimit import RateLimiter, Sleep, limiter_for
from hub.errors import AuthError, TranslationError
from hub.values import now as utc_now

DEFAULT_API_BASE = "https://public-ws.dpd.com/services"
TRACKING_PATH = "ParcelLifeCycleService/V2_0/"
#: requests per second and burst per account: the life-cycle service is for tracking on
#: demand, not bulk (DPD's guidelines)
RATE, BURST = 1.0, 3.0
#: an authToken is renewed this long before DPD says it expires
EARLY = timedelta(minutes=30)
#: how long a token is kept when DPD does not say (LoginService 2.0): DPD's documented 24 h
LIFETIME = timedelta(hours=24)
#: the least a token is kept: DPD hands back the same token until it has expired, so a login
#: within its last half hour must not be repeated on every call
MIN_KEEP = timedelta(minutes=5)

_SHARED = object()  # "use the account's shared limiter"


def login_path(version: str) -> str:
    """``LoginService/V2_0/`` for version ``2.0``."""
    return f"LoginService/V{version.replace('.', '_')}/"


class _SoapFault(Exception):
    """A SOAP fault answer, raised from the response hook past HttpClient's retries."""

    def __init__(self, fault: translate.Fault, body: bytes):
        super().__init__(fault.text)
        self.fault, self.body = fault, body


def _raise_soap_fault(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """Session response hook: an error answer that is a SOAP fault is raised as one."""
    if response.status_code < 400:
        return
    try:
        fault = translate.read_fault(response.content)
    except TranslationError:
        return  # not XML: HttpClient's status handling decides
    if fault is not None:
        raise _SoapFault(fault, response.content)


class AuthTokenCache:
    """The account's DPD authToken, fetched with ``getAuth`` only when missing or expiring.

    ``now`` is a wall clock (aware UTC datetimes), since DPD states the expiry as a time of
    day. Thread-safe; ``fetched`` counts logins (for tests and metrics).
    """

    def __init__(
        self,
        http: HttpClient,
        *,
        delis_id: str,
        password: str,
        language: str,
        version: str,
        now: Callable[[], datetime] = utc_now,
    ):
        self.http = http
        self._delis_id, self._password = delis_id, password
        self._language, self._version = language, version
        self._now = now
        self._lock = threading.Lock()
        self._token: str | None = None
        self._until: datetime | None = None
        self.fetched = 0

    def token(self) -> str:
        """A valid authToken, logging in only when the cached one is missing or expiring."""
        with self._lock:
            if self._token is None or self._until is None or self._now() >= self._until:
                self._token, self._until = self._login()
                self.fetched += 1
            return self._token

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token (or only ``token``, if another thread renewed it since)."""
        with self._lock:
            if token is None or token == self._token:
                self._token, self._until = None, None

    def _login(self) -> tuple[str, datetime]:
        body = translate.login_request(
            self._delis_id, self._password, self._language, self._version
        )
        headers = {"SOAPAction": f"{translate.login_namespace(self._version)}/getAuth"}
        try:
            response = self.http.request(
                "POST", login_path(self._version), data=body, headers=headers, idempotent=True
            )
        except _SoapFault as exc:
            raise translate.fault_error(exc.fault) from None
        token, expires = translate.read_login(response.content)
        started = self._now()
        expires = expires or started + LIFETIME
        until = expires - EARLY
        if until <= started:  # an old token near its end: keep it to its end, then log in
            until = max(expires, started + MIN_KEEP)
        return token, until


class DpdClient:
    """The calls the connector makes for one account. ``limiter``, ``session``, ``sleep`` and
    ``now`` are for tests; by default the account shares the process's limiter."""

    def __init__(
        self,
        account: Account,
        *,
        limiter: RateLimiter | object | None = _SHARED,
        session: requests.Session | None = None,
        sleep: Sleep = time.sleep,
        now: Callable[[], datetime] = utc_now,
    ):
        settings = account.settings
        session = session if session is not None else requests.Session()
        if _raise_soap_fault not in session.hooks["response"]:
            session.hooks["response"].append(_raise_soap_fault)
        if limiter is _SHARED:
            limiter = limiter_for(f"dpd:{account.name}", RATE, BURST)
        self.http = HttpClient(
            settings.get("api_base") or DEFAULT_API_BASE,
            limiter=limiter,  # type: ignore[arg-type]
            session=session,
            sleep=sleep,
            headers={"Content-Type": "text/xml; charset=utf-8", "Accept": "text/xml"},
        )
        self.delis_id = str(settings["delis_id"])
        self.language = str(settings["message_language"])
        self.tokens = AuthTokenCache(
            self.http,
            delis_id=self.delis_id,
            password=str(settings["password"]),
            language=self.language,
            version=str(settings["login_version"]),
            now=now,
        )

    def tracking(self, number: str) -> bytes:
        """The raw ``getTrackingData`` answer for one parcel (a fault about the parcel too).

        A token refused while cached (it expired early, or another login replaced it) is
        dropped and the call made once more with a new one; a token fetched for this very call
        and refused means the account itself is refused.
        """
        logins = self.tokens.fetched
        token = self.tokens.token()
        try:
            return self._tracking(number, token)
        except AuthError:
            if self.tokens.fetched != logins:
                raise
            self.tokens.invalidate(token)
            return self._tracking(number, self.tokens.token())

    def _tracking(self, number: str, token: str) -> bytes:
        body = translate.tracking_request(self.delis_id, token, self.language, number)
        headers = {"SOAPAction": translate.TRACKING_ACTION}
        try:
            response = self.http.request(
                "POST", TRACKING_PATH, data=body, headers=headers, idempotent=True
            )
        except _SoapFault as exc:
            if exc.fault.kind == "parcel":
                return exc.body
            raise translate.fault_error(exc.fault) from None
        fault = translate.read_fault(response.content)
        if fault is not None and fault.kind != "parcel":
            raise translate.fault_error(fault)  # a fault sent with HTTP 200
        return response.content
