"""Orders in: LWA tokens, searchOrders paging within its usage plan, getOrder, the
Restricted Data Token flow, and ORDER_CHANGE notifications read from SQS (botocore Stubber).
Every answer is a recorded sandbox payload (``payloads/SOURCES.md``); ``responses`` answers
HTTP and the clock is fake."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from botocore.stub import ANY
from responses import matchers

from connectors.channels.amazon import AmazonConnector, notifications, orders
from connectors.channels.amazon.tests.helpers import (
    API,
    QUEUE,
    TOKEN_URL,
    Clock,
    account,
    client,
    payload,
    sqs_message,
    stubbed_sqs,
    token_answer,
)
from hub.connectors import Capability
from hub.connectors.oauth import EARLY
from hub.errors import AuthError, PermanentError, RetryableError

SINCE = datetime(2024, 12, 24, 0, 0, tzinfo=UTC)
SEARCH = f"{API}/orders/2026-01-01/orders"
FIRST = {
    "lastUpdatedAfter": "2024-12-24T00:00:00Z",
    "marketplaceIds": "A1F83G8C2ARO7P",
    "includedData": "BUYER,RECIPIENT,PROCEEDS,PROMOTION,CANCELLATION,FULFILLMENT,PACKAGES",
    "maxResultsPerPage": "100",
}


def test_capabilities_and_no_webhooks() -> None:
    connector = AmazonConnector(account())
    assert connector.capabilities == {
        Capability.ORDERS_POLL,
        Capability.STOCK_PUSH,
        Capability.FULFILMENT_PUSH,
    }
    assert connector.verify({}, b"{}") is False


@responses.activate
def test_search_follows_next_token_with_one_cached_access_token() -> None:
    token_answer(responses)
    page_1 = payload("searchOrders_sandbox_1.json")
    token = page_1["pagination"]["nextToken"]
    responses.get(
        SEARCH,
        json=page_1,
        match=[
            matchers.query_param_matcher(FIRST),
            matchers.header_matcher({"x-amz-access-token": "Atza|access-1"}),
        ],
    )
    responses.get(
        SEARCH,
        json=payload("searchOrders_sandbox_2.json"),
        match=[matchers.query_param_matcher({**FIRST, "paginationToken": token})],
    )
    got = list(client().search_orders(SINCE))
    assert [o["orderId"] for o in got] == ["250-1234567-8901234", "202-7654321-1098765"]
    form = parse_qs(responses.calls[0].request.body)
    assert form == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["Atzr|refresh-test"],
        "client_id": ["amzn1.application-oa2-client.test"],
        "client_secret": ["amzn1.oa2-cs.v1.secret"],
    }
    assert len([c for c in responses.calls if c.request.url.startswith(TOKEN_URL)]) == 1


@responses.activate
def test_search_waits_on_the_limiter_after_its_burst_of_20() -> None:
    token_answer(responses)
    responses.get(SEARCH, json=payload("searchOrders_sandbox_3.json"))
    clock = Clock()
    api = client(clock=clock)
    for _ in range(20):
        list(api.search_orders(SINCE))
    assert clock.slept == []
    list(api.search_orders(SINCE))
    assert clock.slept and round(sum(clock.slept)) == round(1 / 0.0056)


@responses.activate
def test_the_access_token_is_cached_until_shortly_before_it_expires() -> None:
    token_answer(responses, "Atza|first", expires=3600)
    token_answer(responses, "Atza|second", expires=3600)
    for token in ("Atza|first", "Atza|second"):
        responses.get(
            SEARCH,
            json=payload("searchOrders_sandbox_3.json"),
            match=[matchers.header_matcher({"x-amz-access-token": token})],
        )
    clock = Clock()
    api = client(clock=clock)
    list(api.search_orders(SINCE))
    clock.now += 3600 - EARLY - 1  # still good
    list(api.search_orders(SINCE))
    assert api.tokens.fetched == 1
    clock.now += 2  # within a minute of expiring: a new one is asked for first
    list(api.search_orders(SINCE))
    assert api.tokens.fetched == 2
    sent = [
        c.request.headers["x-amz-access-token"]
        for c in responses.calls
        if "orders" in c.request.url
    ]
    assert sent == ["Atza|first", "Atza|first", "Atza|second"]


@responses.activate
def test_an_expired_token_refused_with_403_is_renewed_once() -> None:
    token_answer(responses, "Atza|old")
    token_answer(responses, "Atza|new")
    responses.get(
        SEARCH,
        json=payload("searchOrders_sandbox_3.json"),
        match=[matchers.header_matcher({"x-amz-access-token": "Atza|old"})],
    )
    responses.get(
        SEARCH,
        status=403,
        json={
            "errors": [
                {"code": "Unauthorized", "message": "Access to requested resource is denied."}
            ]
        },
        match=[matchers.header_matcher({"x-amz-access-token": "Atza|old"})],
    )
    responses.get(
        SEARCH,
        json=payload("searchOrders_sandbox_3.json"),
        match=[matchers.header_matcher({"x-amz-access-token": "Atza|new"})],
    )
    api = client()
    assert len(list(api.search_orders(SINCE))) == 1  # the token is cached
    assert len(list(api.search_orders(SINCE))) == 1  # refused, renewed, sent again
    assert api.tokens.fetched == 2


@responses.activate
def test_refused_credentials_are_an_auth_error() -> None:
    responses.post(
        TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "bad"}
    )
    with pytest.raises(AuthError):
        list(client().search_orders(SINCE))


@responses.activate
def test_the_400_sandbox_answer_is_permanent() -> None:
    token_answer(responses)
    responses.get(SEARCH, status=400, json=payload("searchOrders_400_sandbox.json"))
    with pytest.raises(PermanentError):
        list(client().search_orders(SINCE))


@responses.activate
def test_auth_and_api_bases_replace_amazons_addresses() -> None:
    acct = account(api_base="http://127.0.0.1:9/sp", auth_base="http://127.0.0.1:9/lwa")
    responses.post(
        "http://127.0.0.1:9/lwa/auth/o2/token", json={"access_token": "t", "expires_in": 60}
    )
    responses.get("http://127.0.0.1:9/sp/orders/2026-01-01/orders", json={"orders": []})
    assert list(client(acct).search_orders(SINCE)) == []


@responses.activate
def test_restricted_data_accounts_send_an_rdt() -> None:
    token_answer(responses)
    rdt = payload("createRestrictedDataToken_sandbox.json")
    responses.post(
        f"{API}/tokens/2021-03-01/restrictedDataToken",
        json=rdt,
        match=[
            matchers.json_params_matcher(
                {
                    "restrictedResources": [
                        {
                            "method": "GET",
                            "path": "/orders/2026-01-01/orders",
                            "dataElements": ["buyerInfo", "shippingAddress"],
                        }
                    ]
                }
            ),
            matchers.header_matcher({"x-amz-access-token": "Atza|access-1"}),
        ],
    )
    responses.get(
        SEARCH,
        json=payload("searchOrders_sandbox_3.json"),
        match=[matchers.header_matcher({"x-amz-access-token": rdt["restrictedDataToken"]})],
    )
    api = client(account(restricted_data=True))
    list(api.search_orders(SINCE))
    list(api.search_orders(SINCE))  # the RDT is cached until it expires
    assert len([c for c in responses.calls if "restrictedDataToken" in c.request.url]) == 1


@responses.activate
def test_get_order_reads_one_order() -> None:
    token_answer(responses)
    order_id = "171-9876543-2109876"
    responses.get(
        f"{API}/orders/2026-01-01/orders/{order_id}",
        json=payload(f"getOrder_sandbox_{order_id}.json"),
        match=[matchers.query_param_matcher(orders.order_params())],
    )
    assert client().get_order(order_id)["orderId"] == order_id


def test_the_notification_sample_names_its_order() -> None:
    sample = payload("notification_ORDER_CHANGE_example.json")
    notice = notifications.read_message(sqs_message(sample, "r-1"))
    assert notice == notifications.Notice(
        "r-1", "d0e9e693-c3ad-4373-979f-ed4ec98dd746", "903-8868176-2219830"
    )
    assert notifications.read_message({"ReceiptHandle": "r", "Body": "{"}).problem
    assert notifications.queue_region(QUEUE) == "eu-west-1"


def notification(order_id: str, notification_id: str) -> dict:
    """The recorded ORDER_CHANGE example, naming another order and id."""
    found = copy.deepcopy(payload("notification_ORDER_CHANGE_example.json"))
    found["Payload"]["OrderChangeNotification"]["AmazonOrderId"] = order_id
    found["NotificationMetadata"]["NotificationId"] = notification_id
    return found


@responses.activate
def test_notifications_fetch_their_orders_at_once_delete_after_storing_and_dedupe() -> None:
    order_id = "171-9876543-2109876"
    token_answer(responses)
    responses.get(
        f"{API}/orders/2026-01-01/orders/{order_id}",
        json=payload(f"getOrder_sandbox_{order_id}.json"),
    )
    responses.get(SEARCH, json={"orders": []})
    sqs, stub = stubbed_sqs()
    receive = {"QueueUrl": QUEUE, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 20}
    first, again = notification(order_id, "n-1"), notification(order_id, "n-2")
    junk = {"NotificationType": "ANY_OFFER_CHANGED"}
    stub.add_response(
        "receive_message",
        {
            "Messages": [
                sqs_message(first, "r-1", "m-1"),
                sqs_message(again, "r-2", "m-2"),  # two notices of one order: one fetch
                sqs_message(junk, "r-3", "m-3"),
            ]
        },
        receive,
    )
    stub.add_response(
        "delete_message_batch",
        {"Successful": [{"Id": "0"}], "Failed": []},
        {"QueueUrl": QUEUE, "Entries": [{"Id": "0", "ReceiptHandle": "r-3"}]},
    )
    stub.add_response(
        "delete_message_batch",
        {"Successful": [{"Id": "0"}, {"Id": "1"}], "Failed": []},
        {
            "QueueUrl": QUEUE,
            "Entries": [{"Id": "0", "ReceiptHandle": "r-1"}, {"Id": "1", "ReceiptHandle": "r-2"}],
        },
    )
    # SQS shows the first message again (at-least-once): recognised, deleted, not fetched
    stub.add_response(
        "receive_message",
        {"Messages": [sqs_message(first, "r-4", "m-1")]},
        {**receive, "WaitTimeSeconds": 0},
    )
    stub.add_response(
        "delete_message_batch",
        {"Successful": [{"Id": "0"}], "Failed": []},
        {"QueueUrl": QUEUE, "Entries": [{"Id": "0", "ReceiptHandle": "r-4"}]},
    )
    stub.add_response("receive_message", {}, {**receive, "WaitTimeSeconds": 0})
    acct = account(sqs_queue_url=QUEUE)
    connector = AmazonConnector(acct, client=client(acct, sqs=sqs))
    sent: list[tuple[str, list]] = []
    sqs.meta.events.register(
        "before-parameter-build.sqs.*",
        lambda model, params, **kw: sent.append((model.name, params.get("Entries"))),
    )
    with stub:
        pulled = connector.orders_updated(SINCE, SINCE)
        got = next(pulled)
        assert got["orderId"] == order_id
        # the order is handed over (and stored) before its messages are deleted
        assert [name for name, _ in sent] == ["ReceiveMessage", "DeleteMessageBatch"]
        assert list(pulled) == []
        stub.assert_no_pending_responses()
    fetched = [c for c in responses.calls if order_id in c.request.url]
    assert len(fetched) == 1


@responses.activate
def test_a_failed_fetch_leaves_the_message_on_the_queue() -> None:
    order_id = "171-9876543-2109876"
    token_answer(responses)
    responses.get(f"{API}/orders/2026-01-01/orders/{order_id}", status=400, json={"errors": []})
    sqs, stub = stubbed_sqs()
    stub.add_response(
        "receive_message",
        {"Messages": [sqs_message(notification(order_id, "n-9"), "r-9")]},
        {"QueueUrl": QUEUE, "MaxNumberOfMessages": 10, "WaitTimeSeconds": ANY},
    )
    acct = account(sqs_queue_url=QUEUE)
    connector = AmazonConnector(acct, client=client(acct, sqs=sqs))
    with stub, pytest.raises(PermanentError):
        list(connector.orders_updated(SINCE, SINCE))
    stub.assert_no_pending_responses()  # no delete was made


#: the order's parts the connector reads -> the includedData dataset Amazon returns them in
#: (``orders_2026-01-01.json``, parameter ``includedData``: BUYER, RECIPIENT, PROCEEDS,
#: EXPENSE, PROMOTION, CANCELLATION, FULFILLMENT, PACKAGES, TAX, PAYMENT, FULFILLMENT_ORDERS)
READ = {
    "buyer": "BUYER",
    "recipient.deliveryAddress": "RECIPIENT",
    "proceeds / orderItems[].proceeds": "PROCEEDS",
    "orderItems[].cancellation.cancellationRequest": "CANCELLATION",
    "fulfillment / orderItems[].fulfillment": "FULFILLMENT",
    "packages": "PACKAGES",
}


def test_every_dataset_the_translator_reads_is_asked_for() -> None:
    # a dataset not named in includedData is left out of the answer: without CANCELLATION
    # a buyer's cancellation request would never reach the translator
    asked = set(orders.search_params(SINCE, ["A"])["includedData"].split(","))
    assert asked >= set(READ.values())
    assert (
        orders.order_params()["includedData"] == orders.search_params(SINCE, ["A"])["includedData"]
    )


def test_search_params_never_send_last_updated_before() -> None:
    params = orders.search_params(SINCE, ["A", "B"])
    assert "lastUpdatedBefore" not in params and params["marketplaceIds"] == "A,B"
    assert urlsplit(orders.order_path("1/2")).path.endswith("1%2F2")
    assert RetryableError  # the limiter's overflow is a RetryableError (see hub.connectors.http)


@responses.activate
def test_the_applied_rate_header_retunes_the_operations_limiter() -> None:
    token_answer(responses)
    responses.get(
        SEARCH,
        json=payload("searchOrders_sandbox_3.json"),
        headers={"x-amzn-RateLimit-Limit": "0.0167"},
    )
    api = client()
    list(api.search_orders(SINCE))
    assert api._http["searchOrders"].limiter.rate == pytest.approx(0.0167)


@responses.activate
def test_an_unreachable_queue_does_not_stop_the_poll() -> None:
    token_answer(responses)
    responses.get(SEARCH, json=payload("searchOrders_sandbox_3.json"))
    sqs, stub = stubbed_sqs()
    stub.add_client_error("receive_message", "AccessDenied", "not allowed", 403)
    acct = account(sqs_queue_url=QUEUE)
    connector = AmazonConnector(acct, client=client(acct, sqs=sqs))
    with stub:
        got = list(connector.orders_updated(SINCE, SINCE))
    assert [o["orderId"] for o in got] == ["171-2345678-9012345"]
