"""A circuit breaker per outside account: calls to an API that keeps failing are paused, and
resume on their own.

After ``threshold`` failures in a row (5xx, timeouts, connections refused or cut: not a 4xx,
and not a 429, which the rate limiter handles) the breaker opens: every call fails at once
with ``RetryableError(retry_after=...)`` (the outbox job waits that long) instead of adding
load to a struggling server and holding a worker thread through its retries. After the
cool-down one trial call goes through (half-open): success closes the breaker, failure opens
it again for twice as long, up to ``max_cooldown``.

Each process keeps its own breakers (one per account, beside its rate limiter): a worker
process learns about an outage from its own calls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from hub.errors import RetryableError

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    def __init__(
        self,
        *,
        threshold: int = 5,
        cooldown: float = 30.0,
        max_cooldown: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.threshold, self.cooldown, self.max_cooldown = threshold, cooldown, max_cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._open_for = cooldown
        self._trial = False  # a half-open trial call is out

    @property
    def state(self) -> str:
        with self._lock:
            return self._state(self._clock())

    def _state(self, now: float) -> str:
        if self._opened_at is None:
            return CLOSED
        return OPEN if now - self._opened_at < self._open_for else HALF_OPEN

    def before(self, label: str) -> None:
        """Raise ``RetryableError`` when calls are paused; otherwise let this one through."""
        with self._lock:
            now = self._clock()
            state = self._state(now)
            if state == CLOSED:
                return
            if state == HALF_OPEN and not self._trial:
                self._trial = True  # this call is the trial
                return
            assert self._opened_at is not None
            wait = max(1.0, self._opened_at + self._open_for - now)
            raise RetryableError(
                f"{label}: paused after {self._failures} failures in a row "
                f"(circuit open, next try in {wait:.0f}s)",
                retry_after=wait,
                details={"circuit": state},
            )

    def success(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._trial = 0, None, False
            self._open_for = self.cooldown

    def failure(self) -> bool:
        """Count a failure; True when it opened the circuit (from closed, or a failed trial
        opening it again), decided under the lock so two threads never both say so."""
        with self._lock:
            now = self._clock()
            self._failures += 1
            if self._opened_at is not None and self._trial:  # the trial failed: longer
                self._open_for = min(self.max_cooldown, self._open_for * 2)
                self._opened_at, self._trial = now, False
                return True
            if self._opened_at is None and self._failures >= self.threshold:
                self._opened_at = now
                return True
            return False
