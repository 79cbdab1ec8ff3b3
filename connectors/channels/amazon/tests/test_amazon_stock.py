"""Stock out: listings read back (searchListingsItems), a few SKUs as Listings Items PATCH,
a batch as one JSON_LISTINGS_FEED (createFeedDocument, upload, createFeed, getFeed paced by
a limiter, the processing report's per-SKU errors). Recorded sandbox answers; fake clock."""

from __future__ import annotations

import gzip
import json

import responses
from responses import matchers

from connectors.channels.amazon import AmazonConnector, stock
from connectors.channels.amazon.tests.helpers import (
    API,
    MARKETPLACE,
    SELLER,
    Clock,
    account,
    client,
    payload,
    token_answer,
)
from hub.connectors import ChannelItem, StockOutcome, StockUpdate

LISTINGS = f"{API}/listings/2021-08-01/items/{SELLER}"


def update(sku: str, quantity: int, product_type: str | None = "LUGGAGE") -> StockUpdate:
    return StockUpdate(ChannelItem(sku=sku, item_id=sku, parent_id=product_type), quantity)


@responses.activate
def test_stock_items_read_sku_product_type_and_merchant_quantity() -> None:
    token_answer(responses)
    page = payload("searchListingsItems_sandbox.json")
    token = page["pagination"]["nextToken"]
    responses.get(
        LISTINGS,
        json=page,
        match=[
            matchers.query_param_matcher(
                {
                    "marketplaceIds": MARKETPLACE,
                    "includedData": "summaries,fulfillmentAvailability",
                    "pageSize": "20",
                }
            )
        ],
    )
    responses.get(LISTINGS, json={"numberOfResults": 3, "items": []})
    connector = AmazonConnector(account(), client=client())
    items = list(connector.stock_items())
    assert items[0] == ChannelItem(
        sku="GM-ZDPI-9B4E", item_id="GM-ZDPI-9B4E", parent_id="LUGGAGE", quantity=100
    )
    assert parse_qs_token(responses.calls[-1].request.url) == token


def parse_qs_token(url: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query)["pageToken"][0]


@responses.activate
def test_a_few_skus_go_as_patch_calls() -> None:
    token_answer(responses)
    responses.patch(
        f"{LISTINGS}/GM-ZDPI-9B4E",
        json=payload("patchListingsItem_2021-08-01_response.json"),
        match=[
            matchers.query_param_matcher({"marketplaceIds": MARKETPLACE}),
            matchers.json_params_matcher(
                {
                    "productType": "LUGGAGE",
                    "patches": [
                        {
                            "op": "replace",
                            "path": "/attributes/fulfillment_availability",
                            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}],
                        }
                    ],
                }
            ),
        ],
    )
    # the model's sandbox answer for a listing whose attributes Amazon refuses
    responses.patch(f"{LISTINGS}/BAD-SKU", json=payload("patchListingsItem_sandbox_invalid.json"))
    connector = AmazonConnector(account(), client=client())
    got = connector.push_stock([update("GM-ZDPI-9B4E", 7), update("BAD-SKU", 1)], "key")
    assert got == [
        StockOutcome("GM-ZDPI-9B4E", ok=True, quantity=7),
        StockOutcome("BAD-SKU", ok=False, error="90000900: The attributes are invalid."),
    ]


def feed_calls(rsps: responses.RequestsMock, statuses: list[str], report: dict | None) -> None:
    document = payload("createFeedDocument_sandbox.json")
    rsps.post(
        f"{API}/feeds/2021-06-30/documents",
        status=201,
        json=document,
        match=[matchers.json_params_matcher({"contentType": "application/json; charset=UTF-8"})],
    )
    rsps.put(document["url"], status=200)
    created = payload("createFeed_sandbox.json")
    rsps.post(
        f"{API}/feeds/2021-06-30/feeds",
        status=202,
        json=created,
        match=[
            matchers.json_params_matcher(
                {
                    "feedType": "JSON_LISTINGS_FEED",
                    "marketplaceIds": [MARKETPLACE],
                    "inputFeedDocumentId": document["feedDocumentId"],
                }
            )
        ],
    )
    base = payload("getFeed_sandbox_cancelled.json")
    for status in statuses:
        answer = {**base, "feedId": created["feedId"], "processingStatus": status}
        if status == "DONE":
            answer["resultFeedDocumentId"] = "0356cf79-b8b0-4226-b4b9-0ee058ea5760"
        rsps.get(f"{API}/feeds/2021-06-30/feeds/{created['feedId']}", json=answer)
    if report is not None:
        result = payload("getFeedDocument_sandbox.json")
        result["compressionAlgorithm"] = "GZIP"
        result["url"] = "https://d34o8swod1owfl.cloudfront.net/report.json.gz"
        rsps.get(f"{API}/feeds/2021-06-30/documents/{result['feedDocumentId']}", json=result)
        rsps.get(result["url"], body=gzip.compress(json.dumps(report).encode()))


@responses.activate
def test_a_batch_goes_as_one_listings_feed_with_per_sku_errors_from_its_report() -> None:
    token_answer(responses)
    # the recorded report names My-SKU-B (message 4) and My-SKU-C (message 5) as errors
    feed_calls(
        responses,
        ["IN_QUEUE", "IN_PROGRESS", "DONE"],
        payload("listings_feed_processing_report_example.json"),
    )
    skus = ["SKU-1", "SKU-2", "SKU-3", "My-SKU-B", "My-SKU-C"] + [f"SKU-{n}" for n in range(6, 13)]
    updates = [update(sku, n) for n, sku in enumerate(skus)]
    clock = Clock()
    connector = AmazonConnector(account(), client=client(clock=clock))
    got = connector.push_stock(updates, "key")
    assert [o.sku for o in got if not o.ok] == ["My-SKU-B", "My-SKU-C"]
    assert "batteries_required" in (got[3].error or "")
    assert all(o.quantity == u.quantity for o, u in zip(got, updates, strict=True) if o.ok)
    uploaded = json.loads(
        next(c for c in responses.calls if c.request.method == "PUT").request.body
    )
    assert uploaded["header"] == {"sellerId": SELLER, "version": "2.0", "issueLocale": "en_US"}
    assert uploaded["messages"][0] == {
        "messageId": 1,
        "sku": "SKU-1",
        "operationType": "PATCH",
        "productType": "LUGGAGE",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}],
            }
        ],
    }
    upload = next(c for c in responses.calls if c.request.method == "PUT")
    assert "x-amz-access-token" not in upload.request.headers  # no token to the document store
    assert clock.slept == [15.0, 15.0]  # looked at every 15 s by the limiter


@responses.activate
def test_a_feed_not_done_in_time_counts_as_accepted_and_a_cancelled_one_as_failed() -> None:
    token_answer(responses)
    feed_calls(responses, ["IN_PROGRESS"] * 3, None)
    updates = [update(f"SKU-{n}", n) for n in range(11)]
    connector = AmazonConnector(account(feed_wait=30), client=client())
    assert all(o.ok for o in connector.push_stock(updates, "key"))
    responses.reset()
    token_answer(responses)
    feed_calls(responses, ["CANCELLED"], None)
    connector = AmazonConnector(account(), client=client())
    got = connector.push_stock(updates, "key")
    assert not any(o.ok for o in got) and "CANCELLED" in (got[0].error or "")


def test_the_feed_limit_is_the_batch_size() -> None:
    assert AmazonConnector.stock_batch_size == stock.FEED_MAX == 25_000
