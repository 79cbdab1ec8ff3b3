"""hub.http: the token bucket, the retry policy, typed errors and Shopify GraphQL throttling.

All outbound HTTP goes through ``responses``; a fake clock stands in for time, so nothing here
really sleeps.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError

from hub.connectors.answers import parse_retry_after
from hub.connectors.http import HttpClient
from hub.connectors.ratelimit import RateLimiter, limiter_for
from hub.errors import AuthError, PermanentError, RetryableError

BASE = "https://shop-a.myshopify.com/admin/api/2024-04"
GRAPHQL = f"{BASE}/graphql.json"
TOKEN = "shpat_0123456789abcdef-SECRET"

# Verbatim copy of /work/shared/samples/channels/shopify/graphql_throttled_response.json
# (community.shopify.com/t/throttled/254776), kept here so the suite needs nothing outside
# the repository.
THROTTLED_SAMPLE = """
{
  "errors": [
    {
      "message": "Throttled",
      "extensions": {
        "code": "THROTTLED",
        "documentation": "https://shopify.dev/api/usage/rate-limits"
      }
    }
  ],
  "extensions": {
    "cost": {
      "requestedQueryCost": 752,
      "actualQueryCost": null,
      "throttleStatus": {
        "maximumAvailable": 1000.0,
        "currentlyAvailable": 666,
        "restoreRate": 50.0
      }
    }
  }
}
"""


class FakeClock:
    """Monotonic time that only moves when someone sleeps; records every sleep."""

    def __init__(self, start: float = 1000.0):
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter(clock: FakeClock) -> RateLimiter:
    return RateLimiter(rate=10, burst=10, clock=clock, sleep=clock.sleep)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def make_client(clock: FakeClock, limiter: RateLimiter | None = None, **kwargs) -> HttpClient:
    kwargs.setdefault("headers", {"X-Shopify-Access-Token": TOKEN})
    return HttpClient(BASE, limiter=limiter, sleep=clock.sleep, **kwargs)


# -- RateLimiter ------------------------------------------------------------------------------


def test_bucket_gives_the_burst_at_once_then_the_rate(clock: FakeClock):
    bucket = RateLimiter(rate=2, burst=5, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        assert bucket.acquire() == 0
    assert clock.sleeps == []
    assert bucket.acquire() == pytest.approx(0.5)
    assert bucket.acquire() == pytest.approx(0.5)
    assert clock.now == pytest.approx(1001.0)


def test_bucket_refills_no_further_than_the_burst(clock: FakeClock):
    bucket = RateLimiter(rate=2, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        bucket.acquire()
    clock.now += 100
    assert bucket.available() == pytest.approx(3)
    for _ in range(3):
        assert bucket.acquire() == 0
    assert bucket.acquire() == pytest.approx(0.5)


def test_cost_above_the_burst_waits_for_a_full_bucket_and_leaves_debt(clock: FakeClock):
    bucket = RateLimiter(rate=10, burst=10, clock=clock, sleep=clock.sleep)
    bucket.acquire(4)
    assert bucket.acquire(25) == pytest.approx(0.4)  # refill to 10, then take 25
    assert bucket.available() == pytest.approx(-15)
    assert bucket.acquire(1) == pytest.approx(1.6)


def test_acquire_refuses_to_wait_past_max_wait(clock: FakeClock):
    bucket = RateLimiter(rate=1, burst=1, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    with pytest.raises(RetryableError) as caught:
        bucket.acquire(1, max_wait=0.5)
    assert caught.value.retry_after == pytest.approx(1)
    assert clock.sleeps == []
    assert bucket.available() == pytest.approx(0)  # nothing taken by the refusal


def test_bucket_is_thread_safe(clock: FakeClock):
    bucket = RateLimiter(rate=0.001, burst=400, clock=clock, sleep=clock.sleep)

    def take():
        for _ in range(50):
            bucket.acquire()

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.sleeps == []
    assert bucket.available() == pytest.approx(0)


def test_pause_until_blocks_every_user(clock: FakeClock):
    bucket = RateLimiter(rate=100, burst=100, clock=clock, sleep=clock.sleep)
    until = clock() + 10
    bucket.pause_until(until)
    returned_at: list[float] = []

    def user():
        bucket.acquire()
        returned_at.append(clock())

    threads = [threading.Thread(target=user) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(returned_at) == 3
    assert min(returned_at) >= until
    clock.now += 1  # refill
    bucket.pause_until(clock() - 5)  # a deadline in the past pauses nobody
    assert bucket.acquire() == 0


def test_shopify_throttle_status_sets_the_bucket(clock: FakeClock):
    bucket = RateLimiter(rate=1, burst=1, clock=clock, sleep=clock.sleep)
    status = json.loads(THROTTLED_SAMPLE)["extensions"]["cost"]["throttleStatus"]
    bucket.update_from_shopify_cost(status)
    assert (bucket.rate, bucket.burst) == (50.0, 1000.0)
    assert bucket.available() == pytest.approx(666)
    assert bucket.acquire(752) == pytest.approx((752 - 666) / 50)
    bucket.update_from_shopify_cost({"restoreRate": 0, "currentlyAvailable": True})
    assert bucket.rate == 50.0  # nonsense ignored


def test_limiter_for_keeps_one_limiter_per_key():
    results: list[RateLimiter] = []
    threads = [
        threading.Thread(target=lambda: results.append(limiter_for("test-http:a", 2, 40)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(limiter) for limiter in results}) == 1
    assert limiter_for("test-http:a", 99, 99) is results[0]
    assert results[0].rate == 2
    assert limiter_for("test-http:b", 2, 40) is not results[0]


# -- URLs -------------------------------------------------------------------------------------


def test_paths_join_under_the_base_url(clock: FakeClock):
    client = HttpClient(BASE + "/", limiter=None, sleep=clock.sleep)
    assert client.url_for("orders.json") == f"{BASE}/orders.json"
    assert client.url_for("/orders.json") == f"{BASE}/orders.json"
    assert client.url_for("") == BASE
    next_page = "https://shop-a.myshopify.com/admin/api/2024-04/orders.json?page_info=x"
    assert client.url_for(next_page) == next_page
    for elsewhere in ("https://evil.example/admin/api/2024-04/orders.json", "//evil.example/x"):
        with pytest.raises(ValueError):
            client.url_for(elsewhere)
    with pytest.raises(ValueError):
        client.url_for("orders/../../../oauth")


# -- retries ----------------------------------------------------------------------------------


def test_429_honours_retry_after_seconds(rsps, clock: FakeClock, limiter, caplog):
    rsps.get(f"{BASE}/orders.json", status=429, headers={"Retry-After": "7"})
    rsps.get(f"{BASE}/orders.json", json={"orders": []})
    caplog.set_level(logging.INFO, logger="hub.http")
    response = make_client(clock, limiter).get("orders.json")
    assert response.json() == {"orders": []}
    assert len(rsps.calls) == 2
    assert clock.sleeps[0] >= 7
    assert sum(clock.sleeps) == pytest.approx(7)
    retries = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(retries) == 1
    assert "GET https://shop-a.myshopify.com/admin/api/2024-04/orders.json" in retries[0].message


def test_429_retry_after_pauses_the_shared_limiter(rsps, clock: FakeClock, limiter):
    rsps.get(f"{BASE}/orders.json", status=429, headers={"Retry-After": "7"})
    rsps.get(f"{BASE}/orders.json", json={})
    client_sleeps: list[float] = []
    # the client's own sleep does not move time, so only the limiter's pause can make it wait
    HttpClient(BASE, limiter=limiter, sleep=client_sleeps.append).get("orders.json")
    assert client_sleeps == [7]
    assert sum(clock.sleeps) == pytest.approx(7)


def test_429_pauses_every_client_sharing_the_limiter(rsps, clock: FakeClock, limiter):
    rsps.get(f"{BASE}/orders.json", status=429, headers={"Retry-After": "600"})
    rsps.get(f"{BASE}/products.json", json={})
    first = make_client(clock, limiter, max_wait=30)
    with pytest.raises(RetryableError) as caught:
        first.get("orders.json")  # too long to block a thread: handed back to the caller
    assert caught.value.retry_after == pytest.approx(600)
    assert clock.sleeps == []
    make_client(clock, limiter, max_wait=None).get("products.json")
    assert sum(clock.sleeps) >= 600


def test_retry_after_as_http_date(rsps, clock: FakeClock):
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("2.5") == 2.5
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    rsps.get(f"{BASE}/orders.json", status=429, headers={"Retry-After": when})
    rsps.get(f"{BASE}/orders.json", json={})
    make_client(clock).get("orders.json")
    assert 115 <= clock.sleeps[0] <= 121


def test_503_then_success(rsps, clock: FakeClock):
    rsps.get(f"{BASE}/orders.json", status=503)
    rsps.get(f"{BASE}/orders.json", status=503, headers={"Retry-After": "3"})
    rsps.get(f"{BASE}/orders.json", json={"ok": True})
    response = make_client(clock, backoff=1.0).get("orders.json")
    assert response.json() == {"ok": True}
    assert len(rsps.calls) == 3
    assert 0.5 <= clock.sleeps[0] <= 1.0  # backoff with jitter
    assert clock.sleeps[1] == 3  # the server's word


def test_bigcommerce_reset_header_sets_the_wait(rsps, clock: FakeClock):
    rsps.get(f"{BASE}/orders.json", status=429, headers={"X-Rate-Limit-Time-Reset-Ms": "1500"})
    rsps.get(f"{BASE}/orders.json", json={})
    make_client(clock).get("orders.json")
    assert clock.sleeps == [1.5]


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        # bigcommerce/docs docs/start/migration/4_errors.md: "honor the longer of the two"
        ({"X-Retry-After": "15", "X-Rate-Limit-Time-Reset-Ms": "4000"}, 15.0),
        ({"X-Retry-After": "2", "X-Rate-Limit-Time-Reset-Ms": "9500"}, 9.5),
        ({"X-Retry-After": "7"}, 7.0),
        ({"Retry-After": "3", "X-Retry-After": "15"}, 3.0),  # the standard header first
        ({"Retry-After": "3", "X-Rate-Limit-Time-Reset-Ms": "6000"}, 6.0),
        ({"X-Retry-After": "inf"}, None),  # no wait anyone can keep: backed off instead
    ],
)
def test_429_waits_the_longer_of_retry_after_and_the_window_reset(rsps, clock, headers, wait):
    rsps.get(f"{BASE}/orders.json", status=429, headers=headers)
    rsps.get(f"{BASE}/orders.json", json={})
    make_client(clock, backoff=1.0).get("orders.json")
    if wait is None:
        assert len(clock.sleeps) == 1 and clock.sleeps[0] <= 1.0
    else:
        assert clock.sleeps == [wait]


def test_a_503_reset_header_is_not_a_429s_wait(rsps, clock: FakeClock):
    rsps.get(f"{BASE}/orders.json", status=503, headers={"X-Rate-Limit-Time-Reset-Ms": "9000"})
    rsps.get(f"{BASE}/orders.json", json={})
    make_client(clock, backoff=1.0).get("orders.json")
    assert len(clock.sleeps) == 1 and clock.sleeps[0] <= 1.0


def test_a_503_that_gives_up_quotes_its_body_without_secrets(rsps, clock: FakeClock):
    body = {"errors": {"title": "Service unavailable", "token": TOKEN}}
    rsps.get(f"{BASE}/orders.json", status=503, json=body)
    with pytest.raises(RetryableError) as caught:
        make_client(clock, max_attempts=2).get("orders.json")
    message = caught.value.message
    assert message.startswith(f"GET {BASE}/orders.json: HTTP 503: ")
    assert "Service unavailable" in message and "gave up after 2 attempts" in message
    assert "Service unavailable" in caught.value.details["body"]
    assert TOKEN not in f"{caught.value} {caught.value.details!r}"


def test_a_429_post_not_retried_quotes_its_body(rsps, clock: FakeClock):
    rsps.post(
        f"{BASE}/fulfillments.json",
        status=429,
        headers={"Retry-After": "900"},
        body=f"Too many requests for {TOKEN}",
    )
    with pytest.raises(RetryableError) as caught:
        make_client(clock).post("fulfillments.json", json={})
    assert "HTTP 429: Too many requests for [redacted]" in caught.value.message
    assert caught.value.details["verdict"] == "server asks to wait 900s"
    assert TOKEN not in f"{caught.value} {caught.value.details!r}"


def test_500_every_time_raises_retryable_after_max_attempts(rsps, clock: FakeClock, caplog):
    rsps.get(f"{BASE}/orders.json", status=500, body="boom")
    caplog.set_level(logging.INFO, logger="hub.http")
    client = make_client(clock, max_attempts=4, backoff=1.0, backoff_max=3.0)
    with pytest.raises(RetryableError) as caught:
        client.get("orders.json", params={"status": "any"})
    assert len(rsps.calls) == 4
    assert len(clock.sleeps) == 3
    for sleep, ceiling in zip(clock.sleeps, [1.0, 2.0, 3.0], strict=True):
        assert ceiling / 2 <= sleep <= ceiling
    assert str(caught.value).startswith(f"GET {BASE}/orders.json: HTTP 500")
    assert "status=any" not in str(caught.value)
    assert caught.value.details["attempts"] == 4
    assert caught.value.retry_after is None
    assert len([r for r in caplog.records if r.levelno == logging.INFO]) == 3


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_raise_auth_error(rsps, clock: FakeClock, status: int):
    rsps.get(f"{BASE}/shop.json", status=status, json={"errors": "Invalid API key"})
    with pytest.raises(AuthError) as caught:
        make_client(clock).get("shop.json")
    assert f"GET {BASE}/shop.json" in str(caught.value)
    assert str(status) in str(caught.value)
    assert len(rsps.calls) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("status", [404, 422])
def test_other_4xx_raise_permanent_error(rsps, clock: FakeClock, status: int):
    rsps.put(f"{BASE}/orders/1.json", status=status, json={"errors": {"order": ["is bad"]}})
    with pytest.raises(PermanentError) as caught:
        make_client(clock).put("orders/1.json", json={"order": {}})
    assert caught.value.details["status"] == status
    assert "is bad" in caught.value.details["body"]
    assert f"PUT {BASE}/orders/1.json: HTTP {status}" in str(caught.value)
    assert "is bad" in str(caught.value)
    assert len(rsps.calls) == 1


def test_connection_error_is_retried_when_idempotent(rsps, clock: FakeClock):
    rsps.get(f"{BASE}/orders.json", body=requests.ConnectionError("reset by peer"))
    rsps.get(f"{BASE}/orders.json", body=requests.ReadTimeout("slow"))
    rsps.get(f"{BASE}/orders.json", json={})
    assert make_client(clock).get("orders.json").status_code == 200
    assert len(rsps.calls) == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize(
    "error", [requests.ConnectionError("Connection aborted"), requests.ReadTimeout("slow")]
)
def test_non_idempotent_is_not_retried_once_it_may_have_been_sent(rsps, clock, error):
    rsps.post(f"{BASE}/fulfillments.json", body=error)
    with pytest.raises(RetryableError) as caught:
        make_client(clock).post("fulfillments.json", json={"fulfillment": {}})
    assert len(rsps.calls) == 1
    assert clock.sleeps == []
    assert "POST https://shop-a.myshopify.com" in str(caught.value)
    assert "may have been processed" in str(caught.value)


def test_explicit_idempotent_false_wins_over_the_method(rsps, clock: FakeClock):
    rsps.put(f"{BASE}/orders/1.json", body=requests.ConnectionError("Connection aborted"))
    with pytest.raises(RetryableError):
        make_client(clock).request("PUT", "orders/1.json", json={}, idempotent=False)
    assert len(rsps.calls) == 1


def test_non_idempotent_is_retried_when_it_never_left(rsps, clock: FakeClock):
    refused = requests.ConnectionError(
        MaxRetryError(None, "/", NewConnectionError(None, "Connection refused"))
    )
    rsps.post(f"{BASE}/fulfillments.json", body=refused)
    rsps.post(f"{BASE}/fulfillments.json", body=requests.ConnectTimeout("no route"))
    rsps.post(f"{BASE}/fulfillments.json", status=429)
    rsps.post(f"{BASE}/fulfillments.json", status=201, json={"id": 1})
    assert make_client(clock).post("fulfillments.json", json={}).status_code == 201
    assert len(rsps.calls) == 4


def test_non_idempotent_5xx_is_handed_back_not_retried(rsps, clock: FakeClock):
    rsps.post(f"{BASE}/fulfillments.json", status=502)
    with pytest.raises(RetryableError) as caught:
        make_client(clock).post("fulfillments.json", json={})
    assert len(rsps.calls) == 1
    assert caught.value.details["status"] == 502


def test_limiter_is_acquired_before_every_attempt(rsps, clock: FakeClock):
    bucket = RateLimiter(rate=1, burst=3, clock=clock, sleep=clock.sleep)
    rsps.get(f"{BASE}/orders.json", status=500)
    rsps.get(f"{BASE}/orders.json", status=500)
    rsps.get(f"{BASE}/orders.json", json={})
    make_client(clock, bucket, backoff=0.0).get("orders.json", cost=1)
    assert bucket.available() == pytest.approx(0)


# -- GraphQL ----------------------------------------------------------------------------------


def test_graphql_throttled_waits_from_throttle_status_then_succeeds(rsps, clock, limiter):
    rsps.post(GRAPHQL, body=THROTTLED_SAMPLE, content_type="application/json")
    rsps.post(GRAPHQL, json={"data": {"orders": {"nodes": []}}})
    data = make_client(clock, limiter).graphql(
        "query { orders(first: 250) { nodes { id } } }", path="graphql.json"
    )
    assert data == {"orders": {"nodes": []}}
    assert len(rsps.calls) == 2
    assert clock.sleeps == [pytest.approx((752 - 666) / 50)]
    assert json.loads(rsps.calls[1].request.body)["query"].startswith("query")
    # the retry was charged the server's requested cost, not the caller's default of 1
    assert limiter.available() == pytest.approx(666 + 86 - 752, abs=1e-6)


def test_graphql_throttled_every_time_raises_retryable(rsps, clock: FakeClock):
    rsps.post(GRAPHQL, body=THROTTLED_SAMPLE, content_type="application/json")
    with pytest.raises(RetryableError) as caught:
        make_client(clock, max_attempts=3).graphql("{ shop { name } }", path="graphql.json")
    assert len(rsps.calls) == 3
    assert caught.value.retry_after == pytest.approx(1.72)
    assert "THROTTLED" in str(caught.value)


def test_graphql_throttled_mutation_is_retried(rsps, clock: FakeClock):
    rsps.post(GRAPHQL, body=THROTTLED_SAMPLE, content_type="application/json")
    rsps.post(GRAPHQL, json={"data": {"inventorySetQuantities": {"userErrors": []}}})
    data = make_client(clock).graphql(
        "mutation Set($input: X!) { inventorySetQuantities }", path="graphql.json"
    )
    assert data == {"inventorySetQuantities": {"userErrors": []}}


def test_graphql_mutation_is_not_retried_after_a_server_error(rsps, clock: FakeClock):
    rsps.post(GRAPHQL, status=500)
    with pytest.raises(RetryableError):
        make_client(clock).graphql(
            "# set stock\nmutation { inventorySetQuantities }", path="graphql.json"
        )
    assert len(rsps.calls) == 1


def test_graphql_errors_raise_permanent_error(rsps, clock: FakeClock):
    errors = [{"message": "Field 'nope' doesn't exist on type 'Shop'", "locations": []}]
    rsps.post(GRAPHQL, json={"errors": errors})
    with pytest.raises(PermanentError) as caught:
        make_client(clock).graphql("{ shop { nope } }", path="graphql.json")
    assert "doesn't exist" in str(caught.value)
    assert f"POST {GRAPHQL}" in str(caught.value)
    assert caught.value.details == {"errors": errors}
    assert len(rsps.calls) == 1


def test_graphql_access_denied_raises_auth_error(rsps, clock: FakeClock):
    denied = {"message": "Access denied", "extensions": {"code": "ACCESS_DENIED"}}
    rsps.post(GRAPHQL, json={"errors": [denied]})
    with pytest.raises(AuthError):
        make_client(clock).graphql("{ orders(first: 1) { nodes { id } } }", path="graphql.json")


def test_graphql_throttle_status_feeds_the_limiter(rsps, clock: FakeClock, limiter):
    status = {"maximumAvailable": 2000.0, "currentlyAvailable": 400, "restoreRate": 100.0}
    rsps.post(GRAPHQL, json={"data": {}, "extensions": {"cost": {"throttleStatus": status}}})
    make_client(clock, limiter).graphql("{ shop { name } }", path="graphql.json")
    assert (limiter.rate, limiter.burst) == (100.0, 2000.0)
    assert limiter.available() == pytest.approx(400)
    assert limiter.acquire(600) == pytest.approx(2.0)


# -- secrets ----------------------------------------------------------------------------------


def test_errors_and_logs_never_carry_credentials(rsps, clock: FakeClock, caplog):
    caplog.set_level(logging.DEBUG, logger="hub.http")
    url = f"{BASE}/orders.json"
    rsps.get(url, status=401)
    rsps.get(url, status=404, body=f"no such order for Bearer {TOKEN}")
    rsps.get(url, status=500)
    rsps.get(url, status=500)
    rsps.post(url, body=requests.ConnectionError(f"failed {url}?access_token={TOKEN}"))
    rsps.get(url, status=400)
    client = make_client(
        clock, max_attempts=2, headers={"Authorization": f"Bearer {TOKEN}", "X-Api-Key": TOKEN}
    )
    raised: list[Exception] = []
    for call in (
        lambda: client.get("orders.json", params={"access_token": TOKEN}),
        lambda: client.get("orders.json", params={"access_token": TOKEN}),
        lambda: client.get("orders.json", params={"access_token": TOKEN}),
        lambda: client.post("orders.json", params={"access_token": TOKEN}),
        lambda: client.get(f"orders.json?access_token={TOKEN}"),
    ):
        with pytest.raises((AuthError, PermanentError, RetryableError)) as caught:
            call()
        raised.append(caught.value)
    kinds = [AuthError, PermanentError, RetryableError, RetryableError, PermanentError]
    assert [type(e) for e in raised] == kinds
    assert "[redacted]" in raised[1].details["body"]
    for error in raised:
        text = f"{error} {error!r} {error.details!r} {error.__cause__!r}"
        assert TOKEN not in text
        assert "access_token" not in text
        assert url in str(error)
    assert caplog.records  # the 500 retry was logged...
    assert TOKEN not in caplog.text  # ...without the token
