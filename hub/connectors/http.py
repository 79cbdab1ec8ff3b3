"""The one HTTP client every connector uses: timeouts, retries, rate limits, typed errors.

A connector's ``client.py`` builds one :class:`HttpClient` per account and shares one
:class:`RateLimiter` (from :func:`limiter_for`) between every client of that account, so a
server's "slow down" reaches every thread talking to the same store.

What a caller gets back, or what is raised (see ``hub/errors.py``;
how answers are read is in ``answers``):

* a ``requests.Response`` with status < 400 (or a GraphQL ``data`` dict);
* ``AuthError`` for 401/403 (and GraphQL ``ACCESS_DENIED``): fix the account's secrets;
* ``PermanentError`` for any other 4xx, or GraphQL ``errors``: this request cannot succeed;
* ``RetryableError`` when the retries here ran out, or when retrying here would be unsafe
  (a non-idempotent request that may have reached the server): the outbox job decides.

Messages name the method and the URL without its query string or user-info, and never carry
header values, so they are safe to log and to show on a record's timeline.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from hub import observe
from hub.connectors import ratelimit
from hub.connectors.answers import (
    EXCERPT,
    Retry,
    classify_exception,
    classify_response,
    excerpt,
    graphql_code,
    graphql_message,
    is_mutation,
    number,
    safe_url,
    secret_values,
)
from hub.connectors.ratelimit import RateLimiter, Sleep
from hub.errors import AuthError, PermanentError, RetryableError

log = logging.getLogger("hub.http")

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


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
            raise ValueError(f"base_url must be an absolute http(s) URL, got {safe_url(base_url)}")
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
        #: the account named in this client's metrics (from its shared limiter's key)
        self.account = _account_of(limiter)

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
                raise ValueError(f"{safe_url(path)} is not on {safe_url(self.base_url)}")
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
            idempotent = not is_mutation(query)
        body: dict[str, Any] = {}

        def inspect(response: requests.Response, label: str) -> Retry | None:
            nonlocal body
            try:
                parsed = response.json()
            except ValueError:
                raise RetryableError(
                    f"{label}: HTTP {response.status_code} answer is not JSON: "
                    f"{excerpt(response.text, EXCERPT)!r}",
                    details={"status": response.status_code},
                ) from None
            if not isinstance(parsed, dict):
                raise PermanentError(f"{label}: GraphQL answer is not an object")
            body = parsed
            return self._check_graphql(parsed, label, cost)

        payload = {"query": query, "variables": dict(variables or {})}
        self._execute(
            "POST",
            path,
            json=payload,
            cost=cost,
            idem=idempotent,
            inspect=inspect,
            operation="graphql",
        )
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
        inspect: Callable[[requests.Response, str], Retry | None] | None = None,
        data: Any = None,
        auth: tuple[str, str] | None = None,
        operation: str | None = None,
    ) -> requests.Response:
        method = method.upper()
        operation = operation or method
        url = self.url_for(path)
        label = f"{method} {safe_url(url)}"
        idempotent = method in _IDEMPOTENT_METHODS if idem is None else idem
        sent_headers = {**self.headers, **(headers or {})}
        secrets = secret_values(sent_headers, params, self.session, data, auth)
        attempt = 0
        breaker = self.limiter.breaker if self.limiter is not None else None
        while True:
            attempt += 1
            if breaker is not None:
                breaker.before(label)
            self._acquire(cost, label)
            started = time.perf_counter()
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
                self._observe(operation, None, started)
                outcome = classify_exception(exc, label)
            else:
                self._observe(operation, response.status_code, started)
                try:
                    outcome = classify_response(response, label, secrets)
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
            # no answer, or a server error (throttling is not one), counts against the circuit
            failed = breaker is not None and outcome.status not in (429, 408) and not outcome.cost
            if failed and breaker.failure():
                observe.child(observe.BREAKER_OPENS, self.account).inc()
            details: dict[str, Any] = {
                "status": outcome.status,
                "attempts": attempt,
                "reason": outcome.reason,
            }
            if outcome.body is not None:
                details["body"] = outcome.body
            # what the server said, as a refusal's message quotes it (see answers.classify_response)
            told = f"{outcome.reason}: {outcome.said}" if outcome.said else outcome.reason
            if not idempotent and not outcome.safe:
                verdict = "not retried here, the request may have been processed"
                raise RetryableError(
                    f"{label}: {told}; {verdict}",
                    retry_after=outcome.retry_after,
                    details={**details, "verdict": verdict},
                )
            if attempt >= self.max_attempts:
                verdict = f"gave up after {attempt} attempts"
                raise RetryableError(
                    f"{label}: {told}; {verdict}",
                    retry_after=outcome.retry_after,
                    details={**details, "verdict": verdict},
                )
            delay = outcome.retry_after
            if delay is None:
                delay = self._backoff_delay(attempt)
            if self.max_wait is not None and delay > self.max_wait:
                if outcome.pause and self.limiter is not None:
                    self.limiter.pause_until(self.limiter.now() + delay)
                verdict = f"server asks to wait {delay:.0f}s"
                raise RetryableError(
                    f"{label}: {told}; {verdict}",
                    retry_after=delay,
                    details={**details, "verdict": verdict},
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
            waited = self.limiter.acquire(cost, max_wait=self.max_wait)
        except RetryableError as exc:
            observe.child(observe.RATE_LIMIT_WAITS, self.account).inc()
            raise RetryableError(f"{label}: {exc.message}", retry_after=exc.retry_after) from exc
        if waited > 0:
            observe.child(observe.RATE_LIMIT_WAITS, self.account).inc()

    def _observe(self, operation: str, status: int | None, started: float) -> None:
        elapsed = time.perf_counter() - started
        observe.child(
            observe.OUTBOUND, self.account, operation, observe.status_class(status)
        ).observe(elapsed)

    def _backoff_delay(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff * 2 ** (attempt - 1))
        return ceiling / 2 + self._random.uniform(0, ceiling / 2)

    def _check_graphql(self, body: dict[str, Any], label: str, cost: float) -> Retry | None:
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
        codes = {graphql_code(error) for error in errors}
        if codes == {"THROTTLED"}:
            requested = number(cost_info.get("requestedQueryCost"))
            requested = max(cost, requested) if requested is not None else cost
            wait = None
            if isinstance(status, dict):
                available = number(status.get("currentlyAvailable"))
                restore = number(status.get("restoreRate"))
                if available is not None and restore:
                    wait = max(0.0, (requested - available) / restore)
            return Retry("GraphQL THROTTLED", retry_after=wait, safe=True, cost=requested)
        messages = "; ".join(graphql_message(error) for error in errors)
        quoted = excerpt(messages, EXCERPT)
        if "ACCESS_DENIED" in codes:
            raise AuthError(f"{label}: GraphQL access denied: {quoted}", details={"errors": errors})
        if codes <= {"INTERNAL_SERVER_ERROR"}:
            return Retry(f"GraphQL INTERNAL_SERVER_ERROR: {quoted}")
        raise PermanentError(f"{label}: GraphQL errors: {quoted}", details={"errors": errors})


def _account_of(limiter: RateLimiter | None) -> str:
    """The account a limiter from :func:`limiter_for` serves (its key is ``kind:account``);
    ``unknown`` for a client without one."""
    if limiter is not None:
        with ratelimit._LIMITERS_LOCK:
            for key, found in ratelimit._LIMITERS.items():
                if found is limiter:
                    return key.partition(":")[2] or key
    return "unknown"
