"""The circuit breaker per account: an API that keeps failing is paused, then tried again on
its own; throttling and refusals do not count as failures."""

from __future__ import annotations

import pytest
import responses

from hub.connectors.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from hub.connectors.http import HttpClient
from hub.connectors.ratelimit import RateLimiter
from hub.errors import PermanentError, RetryableError

URL = "https://api.example/v1/items"


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_it_opens_after_failures_in_a_row_and_recovers_through_one_trial():
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, cooldown=10, max_cooldown=40, clock=clock)
    for _ in range(2):
        breaker.before("GET x")
        breaker.failure()
    breaker.success()  # an answer in between: the count starts again
    for _ in range(3):
        breaker.before("GET x")
        breaker.failure()
    assert breaker.state == OPEN
    with pytest.raises(RetryableError) as paused:
        breaker.before("GET x")
    assert paused.value.retry_after == 10 and "circuit open" in paused.value.message
    clock.now += 10
    assert breaker.state == HALF_OPEN
    breaker.before("GET x")  # the trial goes through
    with pytest.raises(RetryableError):
        breaker.before("GET x")  # only one at a time
    breaker.failure()  # the trial failed: paused twice as long
    clock.now += 19
    assert breaker.state == OPEN
    clock.now += 1
    breaker.before("GET x")
    breaker.success()
    assert breaker.state == CLOSED
    breaker.before("GET x")


@responses.activate
def test_the_http_client_stops_calling_a_failing_api_and_resumes_on_its_own():
    clock = Clock()
    limiter = RateLimiter(100, 100, clock=clock, sleep=lambda s: None)
    http = HttpClient(
        "https://api.example/v1", limiter=limiter, max_attempts=5, sleep=lambda s: None
    )
    responses.get(URL, status=502)
    with pytest.raises(RetryableError) as first:
        http.get("/items")
    assert "gave up after 5 attempts" in first.value.message
    assert len(responses.calls) == 5 and limiter.breaker.state == OPEN
    with pytest.raises(RetryableError) as paused:
        http.get("/items")
    assert len(responses.calls) == 5  # nothing sent while open
    assert paused.value.retry_after == 30
    clock.now += 30
    responses.replace(responses.GET, URL, json={"ok": True})
    assert http.get("/items").json() == {"ok": True}
    assert limiter.breaker.state == CLOSED


@responses.activate
def test_throttling_and_refusals_are_not_failures():
    limiter = RateLimiter(100, 100, sleep=lambda s: None)
    http = HttpClient("https://api.example/v1", limiter=limiter, max_attempts=1)
    responses.get(URL, status=429, headers={"Retry-After": "0"})
    for _ in range(6):
        with pytest.raises(RetryableError):
            http.get("/items")
    responses.replace(responses.GET, URL, status=404, json={"error": "no such item"})
    for _ in range(6):
        with pytest.raises(PermanentError):
            http.get("/items")
    assert limiter.breaker.state == CLOSED
