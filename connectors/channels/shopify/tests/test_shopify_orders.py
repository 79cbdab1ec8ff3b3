"""Shopify orders read back for reconciliation (``orders_updated``) through the REST Admin API.

The pages are built in the tests from the two recorded order samples in ``payloads/`` (see
``payloads/SOURCES.md``), wrapped in ``{"orders": [...]}`` as ``GET orders.json`` answers, with
the ``Link`` header of the cursor pagination guide
(https://shopify.dev/docs/api/admin-rest/usage/pagination). ``responses`` answers every call;
waits run on a fake clock.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from connectors.channels.shopify import ShopifyConnector, orders
from connectors.channels.shopify.client import ShopifyClient
from connectors.channels.shopify.settings import ShopifySettings
from hub.canonical import OrderUpdate, order_to_json
from hub.connectors import Account, Capability
from hub.connectors.ratelimit import RateLimiter
from hub.errors import AuthError, PermanentError, RetryableError
from hub.values import loads

HERE = Path(__file__).parent
REST = "order_get_rest_2024-04_response.json"
WEBHOOK = "orders_create_webhook_test_notification.json"
SHOP = "https://shop-a.myshopify.com"
URL = f"{SHOP}/admin/api/2026-10/orders.json"
GRAPHQL = f"{SHOP}/admin/api/2026-10/graphql.json"
SINCE = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
UNTIL = datetime(2026, 5, 1, 10, 30, tzinfo=UTC)
FIRST_PAGE = {
    "status": "any",
    "updated_at_min": "2026-05-01T09:00:00Z",
    "updated_at_max": "2026-05-01T10:30:00Z",
    "limit": "250",
    "order": "updated_at asc",
}
CURSOR_2 = "eyJsYXN0X2lkIjo0NTA3ODk0NjksImRpcmVjdGlvbiI6Im5leHQifQ"
CURSOR_3 = "eyJsYXN0X2lkIjo4MjA5ODI5MTE5NDYxNTQ1MDgsImRpcmVjdGlvbiI6Im5leHQifQ"


def raw(name: str) -> bytes:
    return (HERE / "payloads" / name).read_bytes()


def expected(name: str) -> dict[str, Any]:
    return json.loads((HERE / "expected" / name).read_text(encoding="utf-8"))


def rest_order() -> dict[str, Any]:
    """The REST sample unwrapped: the body an ``orders/*`` webhook carries."""
    return json.loads(raw(REST))["order"]


def webhook_order() -> dict[str, Any]:
    return json.loads(raw(WEBHOOK))


def page(*items: dict[str, Any]) -> bytes:
    # Plain json round-trips the samples' numbers as written (e.g. a tax rate 0.06), so the
    # client's exact parse gives what parsing the sample itself gives.
    return json.dumps({"orders": list(items)}).encode()


def link(cursor: str, rel: str = "next", host: str = SHOP) -> str:
    return f'<{host}/admin/api/2026-10/orders.json?limit=250&page_info={cursor}>; rel="{rel}"'


class FakeClock:
    """Monotonic time that moves only when something sleeps."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def account(**keys: Any) -> Account:
    settings = ShopifySettings().load(
        {
            "connector": "shopify",
            "shop": "shop-a.myshopify.com",
            "access_token": "shpat_test",
            "webhook_secret": "shop-a-secret",
            **keys,
        }
    )
    return Account(name="shop-a", connector="shopify", client="acme", settings=settings)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rest_limiter(clock: FakeClock) -> RateLimiter:
    return RateLimiter(2, 40, clock=clock.now, sleep=clock.sleep)


def connector(clock: FakeClock, rest_limiter: RateLimiter, **keys: Any) -> ShopifyConnector:
    acct = account(**keys)
    client = ShopifyClient(
        acct,
        limiter=RateLimiter(100, 1000, clock=clock.now, sleep=clock.sleep),
        rest_limiter=rest_limiter,
        sleep=clock.sleep,
    )
    return ShopifyConnector(acct, client=client)


@pytest.fixture
def shop(clock: FakeClock, rest_limiter: RateLimiter) -> ShopifyConnector:
    return connector(clock, rest_limiter)


@pytest.fixture
def api():
    with responses.RequestsMock(registry=OrderedRegistry) as mock:
        yield mock


def strict(params: dict[str, str]) -> Any:
    """Matches a query with exactly these parameters, none more."""
    return matchers.query_param_matcher(params, strict_match=True)


# -- declarations -----------------------------------------------------------------------------


def test_shopify_declares_order_polling_under_the_updated_topic():
    assert Capability.ORDERS_POLL in ShopifyConnector.capabilities
    assert Capability.ORDERS_WEBHOOK in ShopifyConnector.capabilities
    assert ShopifyConnector.reconcile_topic == "orders/updated"
    assert ShopifyConnector.reconcile_topic in ShopifyConnector.topics


# -- reading the window -----------------------------------------------------------------------


def test_every_page_is_read_through_the_link_cursor_with_the_exact_parameters(api, shop):
    third = webhook_order() | {"id": 820982911946154509, "name": "#10000"}
    api.get(
        URL,
        body=page(rest_order(), webhook_order()),
        headers={"Link": link(CURSOR_2), "X-Shopify-Shop-Api-Call-Limit": "1/40"},
        match=[strict(FIRST_PAGE)],
    )
    api.get(
        URL,
        body=page(third),
        headers={"Link": f"{link('cHJldg', 'previous')}, {link(CURSOR_3)}"},
        match=[strict({"limit": "250", "page_info": CURSOR_2})],
    )
    api.get(
        URL,
        body=page(),
        headers={"Link": link("cHJldjI", "previous")},
        match=[strict({"limit": "250", "page_info": CURSOR_3})],
    )

    found = list(shop.orders_updated(SINCE, UNTIL))

    assert [o["id"] for o in found] == [450789469, 820982911946154508, 820982911946154509]
    assert len(api.calls) == 3
    for call in api.calls:
        assert call.request.headers["X-Shopify-Access-Token"] == "shpat_test"
        assert call.request.url.startswith(URL + "?")  # REST, not graphql.json


def test_each_order_read_back_is_the_webhook_body_and_translates(api, shop):
    api.get(URL, body=page(rest_order(), webhook_order()), match=[strict(FIRST_PAGE)])

    first, second = shop.orders_updated(SINCE, UNTIL)

    # exactly the unwrapped resource, parsed as a delivery is (numbers exact)
    assert first == loads(raw(REST))["order"]
    assert second == loads(raw(WEBHOOK))
    translated = shop.translate(shop.reconcile_topic, first)
    assert isinstance(translated, OrderUpdate)
    assert order_to_json(translated.order) == expected(REST)
    assert translated.problems == []
    other = shop.translate("orders/updated", second)
    assert isinstance(other, OrderUpdate)
    assert other.order.external_id == "820982911946154508"


def test_an_api_base_gets_the_next_page_too_whatever_host_the_link_names(api, clock, rest_limiter):
    base = "http://stand-in.test:8080/admin/api/2026-10/orders.json"
    api.get(base, body=page(rest_order()), headers={"Link": link(CURSOR_2)})
    api.get(
        base,
        body=page(webhook_order()),
        match=[strict({"limit": "250", "page_info": CURSOR_2})],
    )
    shop = connector(clock, rest_limiter, api_base="http://stand-in.test:8080")

    assert len(list(shop.orders_updated(SINCE, UNTIL))) == 2


def test_the_window_is_sent_in_utc_whole_seconds_widened_outwards(api, shop):
    plus_two = timezone(timedelta(hours=2))
    since = datetime(2026, 5, 1, 11, 0, 0, 250_000, tzinfo=plus_two)  # 09:00:00.25 UTC
    until = datetime(2026, 5, 1, 12, 29, 59, 1, tzinfo=plus_two)  # 10:29:59.000001 UTC
    api.get(
        URL,
        body=page(),
        match=[
            strict(
                FIRST_PAGE
                | {
                    "updated_at_min": "2026-05-01T09:00:00Z",
                    "updated_at_max": "2026-05-01T10:30:00Z",
                }
            )
        ],
    )

    assert list(shop.orders_updated(since, until)) == []


def test_a_naive_window_is_taken_as_utc(api, shop):
    api.get(URL, body=page(), match=[strict(FIRST_PAGE)])
    naive = list(shop.orders_updated(SINCE.replace(tzinfo=None), UNTIL.replace(tzinfo=None)))
    assert naive == []


def test_an_empty_window_is_one_request_and_nothing(api, shop):
    api.get(URL, json={"orders": []}, match=[strict(FIRST_PAGE)])

    assert list(shop.orders_updated(SINCE, UNTIL)) == []
    assert len(api.calls) == 1


def test_a_window_of_one_instant_is_asked_as_such(api, shop):
    api.get(
        URL,
        json={"orders": []},
        match=[
            strict(
                FIRST_PAGE
                | {
                    "updated_at_min": "2026-05-01T09:00:00Z",
                    "updated_at_max": "2026-05-01T09:00:00Z",
                }
            )
        ],
    )
    assert list(shop.orders_updated(SINCE, SINCE)) == []


def test_a_window_that_ends_before_it_starts_is_refused_before_any_call(api, shop):
    with pytest.raises(ValueError, match="starts after it ends"):
        shop.orders_updated(UNTIL, SINCE)
    assert len(api.calls) == 0


# -- the REST bucket --------------------------------------------------------------------------


def test_a_429_waits_for_retry_after_then_reads_on(api, shop, clock, rest_limiter):
    api.get(URL, status=429, headers={"Retry-After": "2.0"}, json={"errors": "Exceeded"})
    api.get(URL, body=page(rest_order()), match=[strict(FIRST_PAGE)])

    found = list(shop.orders_updated(SINCE, UNTIL))

    assert [o["id"] for o in found] == [450789469]
    assert len(api.calls) == 2
    assert clock.sleeps == [2.0]  # no other wait: the bucket itself was not empty


def test_a_429_that_never_ends_is_retryable_for_the_caller(api, clock, rest_limiter):
    for _ in range(5):
        api.get(URL, status=429, headers={"Retry-After": "1"})
    shop = connector(clock, rest_limiter)

    with pytest.raises(RetryableError) as caught:
        list(shop.orders_updated(SINCE, UNTIL))
    assert caught.value.retry_after == 1.0
    assert len(api.calls) == 5


def test_the_call_limit_header_becomes_the_rest_buckets_state(api, shop, rest_limiter):
    api.get(
        URL,
        body=page(),
        headers={"X-Shopify-Shop-Api-Call-Limit": "39/80"},
    )

    list(shop.orders_updated(SINCE, UNTIL))

    assert rest_limiter.burst == 80
    assert rest_limiter.available() == pytest.approx(41)
    assert rest_limiter.rate == 2  # the header says nothing of the leak rate


def test_rest_and_graphql_keep_their_own_buckets():
    client = ShopifyClient(account())
    assert client.rest.limiter is not client.http.limiter
    assert client.rest.base_url == f"{SHOP}/admin/api/2026-10"
    assert client.http.base_url == GRAPHQL


# -- answers that cannot be read --------------------------------------------------------------


def test_refused_credentials_are_an_auth_error(api, shop):
    api.get(URL, status=401, json={"errors": "[API] Invalid API key or access token"})
    with pytest.raises(AuthError):
        list(shop.orders_updated(SINCE, UNTIL))


@pytest.mark.parametrize("body", [{"order": {}}, {"orders": {}}, {"orders": [1]}, []])
def test_an_answer_that_is_no_order_list_is_permanent(api, shop, body):
    api.get(URL, json=body)
    with pytest.raises(PermanentError, match="orders"):
        list(shop.orders_updated(SINCE, UNTIL))


def test_an_answer_that_is_no_json_is_retryable(api, shop):
    api.get(URL, body=b"<html>maintenance</html>")
    with pytest.raises(RetryableError, match="not JSON"):
        list(shop.orders_updated(SINCE, UNTIL))


def test_a_next_page_that_repeats_an_earlier_one_stops_the_reading(api, shop):
    api.get(URL, body=page(rest_order()), headers={"Link": link(CURSOR_2)})
    api.get(URL, body=page(webhook_order()), headers={"Link": link(CURSOR_2)})

    with pytest.raises(PermanentError, match="repeats"):
        list(shop.orders_updated(SINCE, UNTIL))
    assert len(api.calls) == 2


def test_a_next_link_without_page_info_is_permanent(api, shop):
    api.get(
        URL,
        body=page(rest_order()),
        headers={"Link": f'<{URL}?limit=250>; rel="next"'},
    )
    with pytest.raises(PermanentError, match="page_info"):
        list(shop.orders_updated(SINCE, UNTIL))


# -- the pure half ----------------------------------------------------------------------------


def test_next_page_params_keep_only_what_a_page_info_request_may_carry():
    header = (
        f'<{URL}?page_info=abc&limit=50&fields=id%2Cupdated_at>; rel="next", '
        f'<{URL}?page_info=zzz&limit=50>; rel="previous"'
    )
    assert orders.next_page_params(header) == {
        "page_info": "abc",
        "limit": "50",
        "fields": "id,updated_at",
    }
    assert orders.next_page_params(link("abc", "previous")) is None
    assert orders.next_page_params(None) is None
    assert orders.next_page_params("") is None


@pytest.mark.parametrize(
    ("header", "state"),
    [
        ("32/40", {"maximumAvailable": 40.0, "currentlyAvailable": 8.0}),
        ("40/40", {"maximumAvailable": 40.0, "currentlyAvailable": 0.0}),
        (None, None),
        ("", None),
        ("n/a", None),
        ("3/0", None),
    ],
)
def test_bucket_state_reads_the_call_limit_header(header, state):
    assert orders.bucket_state(header) == state


def test_the_first_page_parameters_name_every_filter():
    assert orders.window_params(SINCE, UNTIL) == FIRST_PAGE
