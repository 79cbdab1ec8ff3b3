"""Rate limits shared by every client of one account: a token bucket that also follows what
the server says (``Retry-After``, Shopify's GraphQL throttle status), so a "slow down" reaches
every thread talking to the same store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from hub.connectors.answers import number
from hub.connectors.breaker import CircuitBreaker
from hub.errors import RetryableError

Clock = Callable[[], float]
Sleep = Callable[[float], None]

_EPSILON = 1e-9


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
        #: the account's circuit breaker, shared like the limiter (see ``breaker``)
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
        size = number(throttle_status.get("maximumAvailable"))
        current = number(throttle_status.get("currentlyAvailable"))
        restore = number(throttle_status.get("restoreRate"))
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
