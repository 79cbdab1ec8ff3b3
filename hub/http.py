"""The one HTTP client every connector uses: timeouts, retries, rate limits, typed errors.

A connector's ``client.py`` builds one :class:`HttpClient` per account and shares one
:class:`RateLimiter` (from :func:`limiter_for`) between every client of that account, so a
server's "slow down" reaches every thread talking to the same store.

What a caller gets back, or what is raised (see ``hub/errors.py``):

* a ``requests.Response`` with status < 400 (or a GraphQL ``data`` dict);
* ``AuthError`` for 401/403 (and GraphQL ``ACCESS_DENIED``): fix the account's secrets;
* ``PermanentError`` for any other 4xx, or GraphQL ``errors``: this request cannot succeed;
* ``RetryableError`` when the retries here ran out, or when retrying here would be unsafe
  (a non-idempotent request that may have reached the server): the outbox job decides.

Messages name the method and the URL without its query string or user-info, and never carry
header values, so they are safe to log and to show on a record's timeline.
"""

from __future__ import annotations

import email.utils
import json as json_module
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from hub.breaker import CircuitBreaker
from hub.errors import AuthError, ConnectorError, PermanentError, RetryableError

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]

_EPSILON = 1e-9
_EXCERPT = 300  # characters of a response body quoted in an error message
_DETAIL_BODY = 2000  # characters of a response body kept in an error's details
_SECRET_NAME = re.compile(r"auth|token|key|secret|pass|cookie|signature|session", re.I)
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class RateLimiter:
    """A thread-safe token bucket: ``burst`` tokens, refilled at ``rate`` tokens per second.

    Tokens are whatever the API counts: requests, or Shopify GraphQL cost points. ``clock``
    (monotonic seconds) and ``sleep`` are injectable so tests never really wait.
    """

    def __init__(
        self, rate: float, burst: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
    ):
        if rate <= 0 or burst <= 0:
            raise ValueError(f"rate and burst must be positive, got rate={rate} burst={burst}")
        self._rate = float(rate)
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        #: the account's circuit breaker, shared like the limiter (see hub/breaker.py)
        self.breaker = CircuitBreaker(clock=clock)

    @property
    def rate(self) -> float:
        """Tokens restored per second."""
        return self._rate

    @property
    def burst(self) -> float:
        """Size of the bucket."""
        return self._burst

    def now(self) -> float:
        """This limiter's clock (monotonic seconds): the time base of :meth:`pause_until`."""
        return self._clock()

    def available(self) -> float:
        """Tokens available right now (negative after a request dearer than the bucket)."""
        with self._lock:
            self._refill(self._clock())
            return self._tokens

    def acquire(self, cost: float = 1, *, max_wait: float | None = None) -> float:
        """Take ``cost`` tokens, blocking until they are there and no pause is in force.

        A cost above ``burst`` waits for a full bucket and leaves it in debt, so it is neither
        refused nor starved. Returns the seconds waited. With ``max_wait``, raises
        ``RetryableError(retry_after=...)`` instead of waiting longer than that in total.
        """
        if cost < 0:
            raise ValueError(f"cost must not be negative, got {cost}")
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._refill(now)
                wait = self._wait_needed(now, cost)
                if wait <= 0:
                    self._tokens -= cost
                    return waited
            if max_wait is not None and waited + wait > max_wait:
                raise RetryableError(
                    f"rate limit: would wait {waited + wait:.1f}s, more than {max_wait:.1f}s",
                    retry_after=wait,
                )
            self._sleep(wait)
            waited += wait

    def pause_until(self, monotonic_time: float) -> None:
        """Let nobody sharing this limiter start a request before ``monotonic_time``.

        For a server's Retry-After: the server said the bucket we share is empty, so the local
        estimate is also dropped to zero and refills from now.
        """
        with self._lock:
            now = self._clock()
            self._refill(now)
            if monotonic_time > now:
                self._paused_until = max(self._paused_until, monotonic_time)
                self._tokens = min(self._tokens, 0.0)

    def update_from_shopify_cost(self, throttle_status: Mapping[str, Any]) -> None:
        """Adopt Shopify GraphQL's ``extensions.cost.throttleStatus`` as the bucket's state.

        ``maximumAvailable`` becomes the burst, ``restoreRate`` the rate and
        ``currentlyAvailable`` the tokens; missing or nonsensical values are ignored.
        """
        size = _number(throttle_status.get("maximumAvailable"))
        current = _number(throttle_status.get("currentlyAvailable"))
        restore = _number(throttle_status.get("restoreRate"))
        with self._lock:
            self._refill(self._clock())
            if size is not None and size > 0:
                self._burst = size
            if restore is not None and restore > 0:
                self._rate = restore
            if current is not None:
                self._tokens = current
            self._tokens = min(self._tokens, self._burst)

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._updated = now

    def _wait_needed(self, now: float, cost: float) -> float:
        if self._paused_until > now:
            return self._paused_until - now
        need = min(cost, self._burst)
        if self._tokens + _EPSILON >= need:
            return 0.0
        return (need - self._tokens) / self._rate


_LIMITERS: dict[str, RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(key: str, rate: float, burst: float) -> RateLimiter:
    """The process's one limiter for ``key`` (e.g. ``"shopify:shop-a"``), created on first use.

    The first caller's ``rate``/``burst`` win; later calls get the same limiter unchanged,
    since its state may since have been tuned by the server's own figures.
    """
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None:
            limiter = _LIMITERS[key] = RateLimiter(rate, burst)
        return limiter


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date), or None.

    ``now`` is wall-clock epoch seconds (default ``time.time()``); a date in the past gives 0.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive parse means "-0000"
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


@dataclass
class _Retry:
    """Why one attempt failed in a way that another attempt may fix."""

    reason: str
    retry_after: float | None = None  # what the server said, if it said
    safe: bool = False  # the server certainly did not act on the request
    pause: bool = False  # everyone sharing the limiter should wait too
    status: int | None = None
    cost: float | None = None  # what the next attempt will cost, if more than asked


class HttpClient:
    """Talks to one API base URL for one account, with the hub's timeouts and retry policy.

    ``limiter`` is shared by every client of the account (see :func:`limiter_for`);
    ``timeout`` is requests' (connect, read) seconds; attempts back off exponentially from
    ``backoff`` seconds up to ``backoff_max``, with jitter, unless the server says how long
    to wait. The client never blocks a thread longer than ``max_wait`` seconds at once (a
    longer Retry-After or limiter wait raises ``RetryableError`` for the outbox to schedule).
    ``headers`` are sent with every request; their values never appear in errors or logs.
    """

    def __init__(
        self,
        base_url: str,
        *,
        limiter: RateLimiter | None,
        timeout: float | tuple[float, float] = (5, 30),
        max_attempts: int = 5,
        backoff: float = 1.0,
        backoff_max: float = 60.0,
        max_wait: float | None = 300.0,
        session: requests.Session | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Sleep = time.sleep,
    ):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an absolute http(s) URL, got {_safe_url(base_url)}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.max_wait = max_wait
        self.session = session if session is not None else requests.Session()
        self.headers = dict(headers or {})
        self._sleep = sleep
        self._random = random.Random()

    def url_for(self, path: str) -> str:
        """``path`` under the base URL (a leading ``/`` stays under it, too).

        An absolute URL (e.g. a pagination ``next`` link) is accepted only on the base URL's
        scheme and host, so the account's credentials are never sent elsewhere; ``..``
        segments are refused.
        """
        parts = urlsplit(path)
        if parts.scheme or parts.netloc:
            base = urlsplit(self.base_url)
            if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
                raise ValueError(f"{_safe_url(path)} is not on {_safe_url(self.base_url)}")
            return path
        if ".." in parts.path.split("/"):
            raise ValueError(f"path {parts.path!r} must not contain '..' segments")
        path = path.lstrip("/")
        return f"{self.base_url}/{path}" if path else self.base_url

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        cost: float = 1,
        idempotent: bool | None = None,
        data: Any = None,
        auth: tuple[str, str] | None = None,
    ) -> requests.Response:
        """Send one request with the retry policy; return the response if its status < 400.
        ``data`` is a form body; ``auth`` HTTP Basic credentials for this request only.

        ``cost`` is taken from the limiter before every attempt. ``idempotent`` says whether
        sending it twice is harmless; None means "as HTTP defines the method" (POST and PATCH
        are not). A non-idempotent request is retried only when the server certainly did not
        act on it (429, 503, 408, or a connection that never opened).
        """
        return self._execute(
            method,
            path,
            json=json,
            params=params,
            headers=headers,
            cost=cost,
            idem=idempotent,
            data=data,
            auth=auth,
        )

    def get(self, path: str, *, params=None, headers=None, cost: float = 1) -> requests.Response:
        """``request("GET", ...)``."""
        return self.request("GET", path, params=params, headers=headers, cost=cost)

    def post(
        self, path: str, *, json=None, params=None, headers=None, cost: float = 1, idempotent=None
    ) -> requests.Response:
        """``request("POST", ...)``: not idempotent unless the caller says so."""
        return self.request(
            "POST",
            path,
            json=json,
            params=params,
            headers=headers,
            cost=cost,
            idempotent=idempotent,
        )

    def put(
        self, path: str, *, json=None, params=None, headers=None, cost: float = 1, idempotent=None
    ) -> requests.Response:
        """``request("PUT", ...)``: idempotent unless the caller says otherwise."""
        return self.request(
            "PUT", path, json=json, params=params, headers=headers, cost=cost, idempotent=idempotent
        )

    def delete(self, path: str, *, params=None, headers=None, cost: float = 1) -> requests.Response:
        """``request("DELETE", ...)``."""
        return self.request("DELETE", path, params=params, headers=headers, cost=cost)

    def graphql(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        cost: float = 1,
        path: str = "",
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """POST a Shopify-style GraphQL operation and return its ``data``.

        ``extensions.cost.throttleStatus`` of every answer is fed to the limiter. A
        ``THROTTLED`` answer is retried after (requested cost - currently available) /
        restoreRate seconds; ``ACCESS_DENIED`` raises ``AuthError``; any other ``errors``
        raise ``PermanentError`` (mutation ``userErrors`` are data, left to the caller).
        ``idempotent`` defaults to True for queries and False for mutations.
        """
        if idempotent is None:
            idempotent = not _is_mutation(query)
        body: dict[str, Any] = {}

        def inspect(response: requests.Response, label: str) -> _Retry | None:
            nonlocal body
            try:
                parsed = response.json()
            except ValueError:
                raise RetryableError(
                    f"{label}: HTTP {response.status_code} answer is not JSON: "
                    f"{_excerpt(response.text, _EXCERPT)!r}",
                    details={"status": response.status_code},
                ) from None
            if not isinstance(parsed, dict):
                raise PermanentError(f"{label}: GraphQL answer is not an object")
            body = parsed
            return self._check_graphql(parsed, label, cost)

        payload = {"query": query, "variables": dict(variables or {})}
        self._execute("POST", path, json=payload, cost=cost, idem=idempotent, inspect=inspect)
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    # -- internals ---------------------------------------------------------------------------

    def _execute(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        cost: float = 1,
        idem: bool | None = None,
        inspect: Callable[[requests.Response, str], _Retry | None] | None = None,
        data: Any = None,
        auth: tuple[str, str] | None = None,
    ) -> requests.Response:
        method = method.upper()
        url = self.url_for(path)
        label = f"{method} {_safe_url(url)}"
        idempotent = method in _IDEMPOTENT_METHODS if idem is None else idem
        sent_headers = {**self.headers, **(headers or {})}
        secrets = _secret_values(sent_headers, params, self.session, data, auth)
        attempt = 0
        breaker = self.limiter.breaker if self.limiter is not None else None
        while True:
            attempt += 1
            if breaker is not None:
                breaker.before(label)
            self._acquire(cost, label)
            try:
                response = self.session.request(
                    method,
                    url,
                    json=json,
                    params=params,
                    headers=sent_headers,
                    timeout=self.timeout,
                    data=data,
                    auth=auth,
                )
            except requests.RequestException as exc:
                outcome = _classify_exception(exc, label)
            else:
                try:
                    outcome = _classify_response(response, label, secrets)
                    if outcome is None and inspect is not None:
                        outcome = inspect(response, label)
                except (AuthError, PermanentError):
                    if breaker is not None:
                        breaker.success()  # it answered: refused, but up
                    raise
                if outcome is None:
                    if breaker is not None:
                        breaker.success()
                    return response
            if breaker is not None and outcome.status not in (429, 408) and not outcome.cost:
                breaker.failure()  # no answer, or a server error (throttling is not one)
            details = {"status": outcome.status, "attempts": attempt, "reason": outcome.reason}
            if not idempotent and not outcome.safe:
                raise RetryableError(
                    f"{label}: {outcome.reason}; not retried here, the request may have been "
                    "processed",
                    retry_after=outcome.retry_after,
                    details=details,
                )
            if attempt >= self.max_attempts:
                raise RetryableError(
                    f"{label}: {outcome.reason}; gave up after {attempt} attempts",
                    retry_after=outcome.retry_after,
                    details=details,
                )
            delay = outcome.retry_after
            if delay is None:
                delay = self._backoff_delay(attempt)
            if self.max_wait is not None and delay > self.max_wait:
                if outcome.pause and self.limiter is not None:
                    self.limiter.pause_until(self.limiter.now() + delay)
                raise RetryableError(
                    f"{label}: {outcome.reason}; server asks to wait {delay:.0f}s",
                    retry_after=delay,
                    details=details,
                )
            if outcome.pause and self.limiter is not None:
                self.limiter.pause_until(self.limiter.now() + delay)
            if outcome.cost is not None:
                cost = max(cost, outcome.cost)
            log.info(
                "%s: %s; retry %d/%d in %.2fs",
                label,
                outcome.reason,
                attempt + 1,
                self.max_attempts,
                delay,
            )
            self._sleep(delay)

    def _acquire(self, cost: float, label: str) -> None:
        if self.limiter is None:
            return
        try:
            self.limiter.acquire(cost, max_wait=self.max_wait)
        except RetryableError as exc:
            raise RetryableError(f"{label}: {exc.message}", retry_after=exc.retry_after) from exc

    def _backoff_delay(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff * 2 ** (attempt - 1))
        return ceiling / 2 + self._random.uniform(0, ceiling / 2)

    def _check_graphql(self, body: dict[str, Any], label: str, cost: float) -> _Retry | None:
        extensions = body.get("extensions")
        cost_info = extensions.get("cost") if isinstance(extensions, dict) else None
        cost_info = cost_info if isinstance(cost_info, dict) else {}
        status = cost_info.get("throttleStatus")
        if isinstance(status, dict) and self.limiter is not None:
            self.limiter.update_from_shopify_cost(status)
        errors = body.get("errors")
        if not errors:
            return None
        errors = errors if isinstance(errors, list) else [errors]
        codes = {_graphql_code(error) for error in errors}
        if codes == {"THROTTLED"}:
            requested = _number(cost_info.get("requestedQueryCost"))
            requested = max(cost, requested) if requested is not None else cost
            wait = None
            if isinstance(status, dict):
                available = _number(status.get("currentlyAvailable"))
                restore = _number(status.get("restoreRate"))
                if available is not None and restore:
                    wait = max(0.0, (requested - available) / restore)
            return _Retry("GraphQL THROTTLED", retry_after=wait, safe=True, cost=requested)
        messages = "; ".join(_graphql_message(error) for error in errors)
        excerpt = _excerpt(messages, _EXCERPT)
        if "ACCESS_DENIED" in codes:
            raise AuthError(
                f"{label}: GraphQL access denied: {excerpt}", details={"errors": errors}
            )
        if codes <= {"INTERNAL_SERVER_ERROR"}:
            return _Retry(f"GraphQL INTERNAL_SERVER_ERROR: {excerpt}")
        raise PermanentError(f"{label}: GraphQL errors: {excerpt}", details={"errors": errors})


def error_json(exc: ConnectorError) -> bytes | None:
    """The body a refused request came back with, when it is one whole JSON object (carriers
    answer "not found" with a 404 and a body worth reading). Errors keep an excerpt of at most
    2,000 characters, whitespace collapsed: a cut one is not whole, and None is returned."""
    details = exc.details if isinstance(exc.details, dict) else {}
    body = details.get("body")
    if not isinstance(body, str):
        return None
    try:
        parsed = json_module.loads(body)
    except ValueError:
        return None
    return body.encode() if isinstance(parsed, dict) else None


def _classify_response(
    response: requests.Response, label: str, secrets: list[str]
) -> _Retry | None:
    status = response.status_code
    if status < 400:
        return None
    if status in (401, 403):
        raise AuthError(f"{label}: HTTP {status}, credentials refused", details={"status": status})
    if status in (429, 503):
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is None and status == 429:
            # BigCommerce: how long until its 30 s window resets
            reset_ms = _number(response.headers.get("X-Rate-Limit-Time-Reset-Ms"))
            retry_after = reset_ms / 1000 if reset_ms is not None and reset_ms >= 0 else None
        return _Retry(
            f"HTTP {status}",
            retry_after=retry_after,
            safe=True,
            pause=status == 429 or retry_after is not None,
            status=status,
        )
    if status == 408:
        return _Retry("HTTP 408", safe=True, status=status)
    if status >= 500:
        return _Retry(f"HTTP {status}", status=status)
    body = _scrub(response.text, secrets)
    raise PermanentError(
        f"{label}: HTTP {status}: {_excerpt(body, _EXCERPT)}",
        details={"status": status, "body": _excerpt(body, _DETAIL_BODY)},
    )


def _classify_exception(exc: requests.RequestException, label: str) -> _Retry:
    # Only the exception's class goes into messages: requests' own text quotes the full URL.
    name = type(exc).__name__
    if isinstance(exc, requests.ConnectTimeout):
        return _Retry(f"{name} (connect timeout)", safe=True)
    if isinstance(exc, requests.ConnectionError):
        if _failed_before_sending(exc):
            return _Retry(f"{name} (could not connect)", safe=True)
        return _Retry(f"{name} (connection failed)")
    if isinstance(exc, requests.Timeout):
        return _Retry(f"{name} (no answer in time)")
    if isinstance(
        exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        return _Retry(f"{name} (answer cut short)")
    raise PermanentError(f"{label}: {name}") from None  # its text may quote the query


def _failed_before_sending(exc: requests.ConnectionError) -> bool:
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _safe_url(url: str) -> str:
    """The URL without user-info, query or fragment: what may be shown and logged."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _secret_values(
    headers: Mapping[str, str],
    params: Mapping[str, Any] | None,
    session: requests.Session,
    data: Any = None,
    auth: tuple[str, str] | None = None,
) -> list[str]:
    values = [v for k, v in headers.items() if _SECRET_NAME.search(k)]
    values += [v for k, v in (params or {}).items() if _SECRET_NAME.search(str(k))]
    if isinstance(data, Mapping):
        values += [v for k, v in data.items() if _SECRET_NAME.search(str(k))]
    values += list(auth or ())
    values += [v for k, v in session.headers.items() if _SECRET_NAME.search(k)]
    if isinstance(session.auth, tuple):
        values += list(session.auth)
    strings = {str(v) for v in values if v is not None}
    words = {w for s in strings for w in s.split() if len(w) >= 8}  # "Bearer xyz" -> "xyz"
    return sorted((strings | words) - {""}, key=len, reverse=True)


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


def _excerpt(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _graphql_code(error: Any) -> str | None:
    if isinstance(error, dict) and isinstance(error.get("extensions"), dict):
        code = error["extensions"].get("code")
        return str(code) if code is not None else None
    return None


def _graphql_message(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message", error))
    return str(error)


_COMMENT = re.compile(r"#[^\n]*")


def _is_mutation(query: str) -> bool:
    return _COMMENT.sub("", query).lstrip().startswith("mutation")
