"""WooCommerce orders read back for reconciliation (``orders_updated``): ``GET /wc/v3/orders``
filtered on the modification time, paged by ``page`` up to ``X-WP-TotalPages``.

The list pages are built in the tests from the recorded docs sample
``payloads/order_get_v3_response.json`` (see ``payloads/SOURCES.md``): the first item is the
sample itself, the others copies with another id and modification time. The window is put
around the sample's ``date_modified_gmt`` (2017-03-22T19:28:08). ``responses`` answers every
call; waits run on a fake clock.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from connectors.channels.woocommerce import WooCommerceConnector, orders
from connectors.channels.woocommerce.client import WooCommerceClient
from connectors.channels.woocommerce.settings import WooCommerceSettings
from hub.canonical import OrderUpdate, order_to_json
from hub.connectors import Account, Capability
from hub.connectors.ratelimit import RateLimiter
from hub.errors import AuthError, PermanentError, RetryableError
from hub.values import loads

HERE = Path(__file__).parent
SAMPLE = "order_get_v3_response.json"
URL = "https://woo.example/wp-json/wc/v3/orders"
KEY, SECRET = "ck_test_0123456789", "cs_test_9876543210"
BASIC = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
SINCE = datetime(2017, 3, 22, 19, 0, tzinfo=UTC)
UNTIL = datetime(2017, 3, 22, 20, 0, tzinfo=UTC)
#: the bounds exclude themselves at WooCommerce, so each is a second wider than the window
FILTERS = {
    "modified_after": "2017-03-22T18:59:59",
    "modified_before": "2017-03-22T20:00:01",
    "dates_are_gmt": "true",
    "orderby": "modified",
    "order": "asc",
}


def raw_sample() -> bytes:
    return (HERE / "payloads" / SAMPLE).read_bytes()


def expected() -> dict[str, Any]:
    return json.loads((HERE / "expected" / SAMPLE).read_text(encoding="utf-8"))


def order(order_id: int = 727, modified: str = "2017-03-22T19:28:08") -> dict[str, Any]:
    """The sample, or a copy of it as another order modified at ``modified`` (GMT)."""
    payload = json.loads(raw_sample())
    if order_id != 727:
        payload = copy.deepcopy(payload) | {"id": order_id, "number": str(order_id)}
        payload["date_modified_gmt"] = modified
    return payload


def page(*items: dict[str, Any]) -> bytes:
    # Plain json round-trips the sample's numbers as written (e.g. "price": 21.99), so the
    # client's exact parse gives what parsing the sample itself gives.
    return json.dumps(list(items)).encode()


def query(page_number: int, **filters: str) -> Any:
    """Matches a page's query exactly: the filters, ``per_page=100`` and ``page``."""
    params = FILTERS | filters | {"per_page": "100", "page": str(page_number)}
    return matchers.query_param_matcher(params, strict_match=True)


class FakeClock:
    """Monotonic time that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_account(**settings: Any) -> Account:
    keys = {
        "connector": "woocommerce",
        "url": "https://woo.example",
        "webhook_secret": "woo-a-secret",
        "consumer_key": KEY,
        "consumer_secret": SECRET,
        **settings,
    }
    return Account(
        name="woo-a",
        connector="woocommerce",
        client="acme",
        settings=WooCommerceSettings().load(keys),
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> WooCommerceConnector:
    account = make_account()
    limiter = RateLimiter(5, 10, clock=clock, sleep=clock.sleep)
    client = WooCommerceClient(account, sleep=clock.sleep, limiter=limiter)
    return WooCommerceConnector(account, client=client)


@pytest.fixture
def api():
    with responses.RequestsMock(registry=OrderedRegistry) as mock:
        yield mock


# -- declarations -----------------------------------------------------------------------------


def test_woocommerce_declares_order_polling_under_the_updated_topic():
    assert Capability.ORDERS_POLL in WooCommerceConnector.capabilities
    assert Capability.ORDERS_WEBHOOK in WooCommerceConnector.capabilities
    assert WooCommerceConnector.reconcile_topic == "order.updated"
    assert WooCommerceConnector.reconcile_topic in WooCommerceConnector.topics


# -- reading the window -----------------------------------------------------------------------


def test_every_page_is_read_with_the_exact_parameters(api, store):
    api.get(
        URL,
        body=page(order(), order(728, "2017-03-22T19:30:00")),
        headers={"X-WP-Total": "3", "X-WP-TotalPages": "2"},
        match=[query(1)],
    )
    api.get(
        URL,
        body=page(order(729, "2017-03-22T19:45:00")),
        headers={"X-WP-Total": "3", "X-WP-TotalPages": "2"},
        match=[query(2)],
    )

    found = list(store.orders_updated(SINCE, UNTIL))

    assert [o["id"] for o in found] == [727, 728, 729]
    assert len(api.calls) == 2  # page 2 of 2 is the last one asked for
    for call in api.calls:
        assert call.request.headers["Authorization"] == BASIC


def test_each_order_read_back_is_the_webhook_body_and_translates(api, store):
    api.get(
        URL,
        body=page(order(), order(728, "2017-03-22T19:30:00")),
        headers={"X-WP-TotalPages": "1"},
        match=[query(1)],
    )

    first, second = store.orders_updated(SINCE, UNTIL)

    # exactly the v3 order resource, parsed as a delivery is (numbers exact)
    assert first == loads(raw_sample())
    translated = store.translate(store.reconcile_topic, first)
    assert isinstance(translated, OrderUpdate)
    assert order_to_json(translated.order) == expected()
    # the problems the sample's own webhook would raise (its first line has no SKU), no others
    assert translated.problems == store.translate("order.updated", loads(raw_sample())).problems
    other = store.translate("order.updated", second)
    assert isinstance(other, OrderUpdate)
    assert other.order.external_id == "728"
    # and it dedupes as the webhook of the same change would
    body = json.dumps(second).encode()
    delivery = store.read_delivery({"X-WC-Webhook-Topic": "order.updated"}, body)
    assert delivery.dedupe_key == "order:728:2017-03-22T19:30:00"


def test_the_window_is_sent_in_utc_without_an_offset_and_widened_outwards(api, store):
    minus_three = timezone(timedelta(hours=-3))
    since = datetime(2017, 3, 22, 16, 0, 0, 500_000, tzinfo=minus_three)  # 19:00:00.5 UTC
    until = datetime(2017, 3, 22, 16, 59, 59, 1, tzinfo=minus_three)  # 19:59:59.000001 UTC
    api.get(
        URL,
        json=[],
        headers={"X-WP-TotalPages": "0"},
        match=[query(1, modified_after="2017-03-22T18:59:59")],
    )

    assert list(store.orders_updated(since, until)) == []


def test_a_naive_window_is_taken_as_utc(api, store):
    api.get(URL, json=[], headers={"X-WP-TotalPages": "0"}, match=[query(1)])
    found = store.orders_updated(SINCE.replace(tzinfo=None), UNTIL.replace(tzinfo=None))
    assert list(found) == []


def test_an_empty_window_is_one_request_and_nothing(api, store):
    api.get(
        URL,
        json=[],
        headers={"X-WP-Total": "0", "X-WP-TotalPages": "0"},
        match=[query(1)],
    )

    assert list(store.orders_updated(SINCE, UNTIL)) == []
    assert len(api.calls) == 1


def test_a_window_that_ends_before_it_starts_is_refused_before_any_call(api, store):
    with pytest.raises(ValueError, match="starts after it ends"):
        store.orders_updated(UNTIL, SINCE)
    assert len(api.calls) == 0


def test_a_429_waits_for_retry_after_then_reads_on(api, store, clock):
    api.get(URL, status=429, headers={"Retry-After": "3"}, json={"code": "too_many_requests"})
    api.get(URL, body=page(order()), headers={"X-WP-TotalPages": "1"}, match=[query(1)])

    found = list(store.orders_updated(SINCE, UNTIL))

    assert [o["id"] for o in found] == [727]
    assert len(api.calls) == 2
    assert clock.sleeps == [3.0]


# -- stores that cannot be read ---------------------------------------------------------------


def test_a_store_that_ignores_modified_after_is_refused_not_read_in_full(api, store):
    # WooCommerce before 5.8 drops the unknown filter and answers with every order.
    api.get(
        URL,
        body=page(order(), order(700, "2016-01-01T00:00:00")),
        headers={"X-WP-TotalPages": "40"},
    )

    with pytest.raises(PermanentError, match=r"modified_after.*WooCommerce 5\.8"):
        list(store.orders_updated(SINCE, UNTIL))
    assert len(api.calls) == 1


def test_an_order_on_the_windows_first_second_is_not_mistaken_for_an_ignored_filter(api, store):
    api.get(
        URL,
        body=page(order(730, "2017-03-22T19:00:00")),
        headers={"X-WP-TotalPages": "1"},
    )
    assert [o["id"] for o in store.orders_updated(SINCE, UNTIL)] == [730]


def test_an_order_with_an_unreadable_modification_time_is_still_handed_on(api, store):
    odd = order(731) | {"date_modified_gmt": "yesterday"}
    api.get(URL, body=page(odd), headers={"X-WP-TotalPages": "1"})
    assert [o["id"] for o in store.orders_updated(SINCE, UNTIL)] == [731]


def test_refused_keys_are_an_auth_error(api, store):
    api.get(URL, status=401, json={"code": "woocommerce_rest_cannot_view"})
    with pytest.raises(AuthError):
        list(store.orders_updated(SINCE, UNTIL))


def test_an_unknown_parameter_value_is_permanent(api, store):
    # A store whose orderby has no "modified" says so with a 400.
    api.get(
        URL,
        status=400,
        json={"code": "rest_invalid_param", "message": "Invalid parameter(s): orderby"},
    )
    with pytest.raises(PermanentError, match="400"):
        list(store.orders_updated(SINCE, UNTIL))


@pytest.mark.parametrize("body", [{"id": 727}, [1], ["order"]])
def test_an_answer_that_is_no_order_list_is_permanent(api, store, body):
    api.get(URL, json=body, headers={"X-WP-TotalPages": "1"})
    with pytest.raises(PermanentError):
        list(store.orders_updated(SINCE, UNTIL))


def test_an_answer_that_is_no_json_is_retryable(api, store):
    api.get(URL, body=b"<html>cf challenge</html>")
    with pytest.raises(RetryableError, match="not JSON"):
        list(store.orders_updated(SINCE, UNTIL))


# -- the pure half ----------------------------------------------------------------------------


def test_window_params_name_every_filter():
    assert orders.window_params(SINCE, UNTIL) == FILTERS
