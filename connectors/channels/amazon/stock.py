"""Stock on Amazon (merchant-fulfilled offers): the pure half. ``client.py`` sends.

* **Reading**: ``GET /listings/2021-08-01/items/{sellerId}`` (searchListingsItems, 5/s, burst
  5) with ``includedData=summaries,fulfillmentAvailability``, ``pageSize`` at most 20 and
  ``pageToken`` from ``pagination.nextToken``. Each item's ``summaries[].productType`` is kept
  (a PATCH must name it) and its ``DEFAULT`` (merchant) ``fulfillmentAvailability.quantity``
  is the level Amazon shows.
* **A few SKUs**: ``PATCH /listings/2021-08-01/items/{sellerId}/{sku}`` (patchListingsItem,
  5/s, burst 5) with ``{productType, patches: [{op: replace, path:
  /attributes/fulfillment_availability, value: [{fulfillment_channel_code: DEFAULT, quantity}]}]}``.
  ``status`` ``ACCEPTED`` means accepted for processing; ``INVALID`` comes with ``issues``.
* **Many SKUs**: one ``JSON_LISTINGS_FEED`` (at most 25,000 messages), each message a PATCH
  of the same shape with its ``messageId``; its processing report lists ``issues`` by
  ``messageId`` and ``sku`` (severity ``ERROR`` means not applied).
  — ``models/listings-items-api-model/listingsItems_2021-08-01.json``,
  ``schemas/feeds/listings-feed-schema-v2.json`` and
  ``listings-feed-processing-report-schema-v2.json`` in ``amzn/selling-partner-api-models``.

There is no compare-and-set: the last write wins (the stock sync runs one pass per account).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

from hub.connectors import ChannelItem, StockOutcome, StockUpdate
from hub.errors import PermanentError

LISTINGS_PATH = "/listings/2021-08-01/items"
PAGE_SIZE = 20
FEED_TYPE = "JSON_LISTINGS_FEED"
FEED_MAX = 25_000
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
CHANNEL_CODE = "DEFAULT"  # the merchant's own stock (FBA stock is Amazon's)
AVAILABILITY_PATH = "/attributes/fulfillment_availability"
#: feed processing states after which nothing changes
FEED_DONE = frozenset({"DONE", "CANCELLED", "FATAL"})


def items_path(seller_id: str) -> str:
    return f"{LISTINGS_PATH}/{quote(seller_id, safe='')}"


def item_path(seller_id: str, sku: str) -> str:
    return f"{items_path(seller_id)}/{quote(sku, safe='')}"


def search_params(marketplace_ids: Sequence[str], token: str | None) -> dict[str, str]:
    params = {
        "marketplaceIds": ",".join(marketplace_ids),
        "includedData": "summaries,fulfillmentAvailability",
        "pageSize": str(PAGE_SIZE),
    }
    if token:
        params["pageToken"] = token
    return params


def read_items(body: Any) -> tuple[list[ChannelItem], str | None]:
    """The page's listings with a SKU, and the next page's token. ``item_id`` is the SKU,
    ``parent_id`` the product type a PATCH must name; ``quantity`` the merchant level (None:
    Amazon fulfils the offer, or no quantity is set)."""
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise PermanentError('searchListingsItems: the answer is not {"items": [...]}')
    found = []
    for item in items:
        sku = item.get("sku") if isinstance(item, dict) else None
        if not isinstance(sku, str) or not sku:
            continue
        product_type = None
        for summary in item.get("summaries") or []:
            if isinstance(summary, dict) and summary.get("productType"):
                product_type = str(summary["productType"])
                break
        quantity = None
        for entry in item.get("fulfillmentAvailability") or []:
            if isinstance(entry, dict) and entry.get("fulfillmentChannelCode") == CHANNEL_CODE:
                value = entry.get("quantity")
                quantity = value if isinstance(value, int) else None
        found.append(ChannelItem(sku=sku, item_id=sku, parent_id=product_type, quantity=quantity))
    pagination = body.get("pagination")
    token = pagination.get("nextToken") if isinstance(pagination, dict) else None
    return found, (token if isinstance(token, str) and token else None)


def _patches(quantity: int) -> list[dict[str, Any]]:
    return [
        {
            "op": "replace",
            "path": AVAILABILITY_PATH,
            "value": [{"fulfillment_channel_code": CHANNEL_CODE, "quantity": quantity}],
        }
    ]


def product_type(update: StockUpdate) -> str:
    """The product type a PATCH names; ``PRODUCT`` (Amazon's generic type) when unknown."""
    return update.item.parent_id or "PRODUCT"


def patch_body(update: StockUpdate) -> dict[str, Any]:
    """patchListingsItem's body setting the merchant quantity."""
    return {"productType": product_type(update), "patches": _patches(update.quantity)}


def patch_outcome(update: StockUpdate, body: Any) -> StockOutcome:
    """What one patchListingsItem answer means for its update."""
    status = body.get("status") if isinstance(body, dict) else None
    errors = [
        f"{issue.get('code')}: {issue.get('message')}"
        for issue in (body.get("issues") or [] if isinstance(body, dict) else [])
        if isinstance(issue, dict) and issue.get("severity") == "ERROR"
    ]
    if status == "ACCEPTED" and not errors:
        return StockOutcome(update.item.sku, ok=True, quantity=update.quantity)
    return StockOutcome(
        update.item.sku, ok=False, error="; ".join(errors) or f"listing status {status!r}"
    )


def feed_document(seller_id: str, updates: Sequence[StockUpdate]) -> bytes:
    """The JSON_LISTINGS_FEED document: one PATCH message per update, ``messageId`` from 1."""
    if len(updates) > FEED_MAX:
        raise ValueError(f"a listings feed holds at most {FEED_MAX} messages")
    document = {
        "header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"},
        "messages": [
            {
                "messageId": index,
                "sku": update.item.sku,
                "operationType": "PATCH",
                "productType": product_type(update),
                "patches": _patches(update.quantity),
            }
            for index, update in enumerate(updates, start=1)
        ],
    }
    return json.dumps(document, separators=(",", ":")).encode()


def feed_request(marketplace_ids: Sequence[str], document_id: str) -> dict[str, Any]:
    return {
        "feedType": FEED_TYPE,
        "marketplaceIds": list(marketplace_ids),
        "inputFeedDocumentId": document_id,
    }


def report_outcomes(updates: Sequence[StockUpdate], report: Any) -> list[StockOutcome]:
    """Per-SKU outcomes from the feed's processing report: a message with an ``ERROR`` issue
    was not applied (its messages are named); the others were."""
    issues = report.get("issues") if isinstance(report, dict) else None
    if not isinstance(issues, list):
        raise PermanentError("the listings feed's processing report has no issues list")
    errors: dict[int, list[str]] = {}
    for issue in issues:
        if not isinstance(issue, dict) or issue.get("severity") != "ERROR":
            continue
        message_id = issue.get("messageId")
        if isinstance(message_id, int):
            errors.setdefault(message_id, []).append(f"{issue.get('code')}: {issue.get('message')}")
    return [
        StockOutcome(u.item.sku, ok=False, error="; ".join(errors[i]))
        if i in errors
        else StockOutcome(u.item.sku, ok=True, quantity=u.quantity)
        for i, u in enumerate(updates, start=1)
    ]


def accepted(updates: Sequence[StockUpdate]) -> list[StockOutcome]:
    """Every update taken as applied (a feed whose report is not in yet)."""
    return [StockOutcome(u.item.sku, ok=True, quantity=u.quantity) for u in updates]


def failed(updates: Sequence[StockUpdate], reason: str) -> list[StockOutcome]:
    return [StockOutcome(u.item.sku, ok=False, error=reason) for u in updates]


def unique(items: Iterator[ChannelItem]) -> Iterator[ChannelItem]:
    seen: set[str] = set()
    for item in items:
        if item.sku not in seen:
            seen.add(item.sku)
            yield item
