"""Stock through the Inventory API (items with their offer on the account's marketplace;
bulk_update_price_quantity, 25 SKUs a call, per-SKU outcomes) and the Trading API's
ReviseInventoryStatus for legacy listings."""

from __future__ import annotations

import json
import re

import pytest
import responses
from marshmallow import ValidationError
from responses import matchers

from connectors.channels.ebay import stock, trading
from connectors.channels.ebay.settings import site_id
from connectors.channels.ebay.tests.helpers import API, connector, payload, settings, tokens
from hub.connectors import ChannelItem, StockUpdate
from hub.errors import AuthError, PermanentError

ITEMS = f"{API}/sell/inventory/v1/inventory_item"
OFFERS = f"{API}/sell/inventory/v1/offer"
BULK = f"{API}/sell/inventory/v1/bulk_update_price_quantity"
TRADING = f"{API}/ws/api.dll"


def _update(sku: str, quantity: int, offer: str | None = None) -> StockUpdate:
    return StockUpdate(ChannelItem(sku=sku, item_id=sku, parent_id=offer), quantity)


def test_items_carry_their_level_and_the_marketplaces_offer():
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(ITEMS, json=payload("stock/inventory_items_page_1.json"))
        mock.get(OFFERS, json=payload("stock/offers_mug.json"))
        mock.get(OFFERS, status=404, json={"errors": [{"errorId": 25713, "message": "no offer"}]})
        items = list(connector().stock_items())
        offer_calls = [c.request.url for c in mock.calls if c.request.url.startswith(OFFERS)]
    assert items == [
        ChannelItem(sku="MUG-1", item_id="MUG-1", parent_id="5005317011", quantity=7),
        ChannelItem(sku="TEE-RED-M", item_id="TEE-RED-M", parent_id=None, quantity=0),
    ]
    assert "marketplace_id=EBAY_GB" in offer_calls[0] and "sku=MUG-1" in offer_calls[0]


def test_a_batch_sets_each_item_total_and_its_offer_and_reads_each_outcome():
    updates = [_update("MUG-1", 5, "5005317011"), _update("TEE-RED-M", 2), _update("HAT-1", 1)]
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.post(BULK, status=207, json=payload("stock/bulk_update_207_built.json"))
        outcomes = connector().push_stock(updates, "key-1")
        sent = json.loads(mock.calls[1].request.body)
    assert sent == {
        "requests": [
            {
                "sku": "MUG-1",
                "shipToLocationAvailability": {"quantity": 5},
                "offers": [{"offerId": "5005317011", "availableQuantity": 5}],
            },
            {"sku": "TEE-RED-M", "shipToLocationAvailability": {"quantity": 2}},
            {"sku": "HAT-1", "shipToLocationAvailability": {"quantity": 1}},
        ]
    }
    mug, tee, hat = outcomes
    assert mug.ok and mug.quantity == 5
    assert not tee.ok and not tee.again
    assert tee.error == "errorId 25002: Any User error. No inventory item TEE-RED-M."
    assert not hat.ok and hat.again  # eBay's own fault: worth sending again


def test_no_more_than_25_skus_go_in_one_call():
    assert connector().stock_batch_size == stock.BATCH == 25
    with pytest.raises(ValueError):
        stock.bulk_body([_update(f"S{i}", 1) for i in range(26)])


def test_legacy_listings_go_through_revise_inventory_status_four_at_a_time():
    ebay = connector(stock_api="trading")
    assert ebay.stock_batch_size == trading.BATCH == 4
    answer = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<ReviseInventoryStatusResponse xmlns="urn:ebay:apis:eBLBaseComponents">'
        b"<Ack>Success</Ack><InventoryStatus><SKU>MUG-1</SKU><ItemID>110012345678</ItemID>"
        b"<Quantity>5</Quantity></InventoryStatus></ReviseInventoryStatusResponse>"
    )
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.post(TRADING, body=answer, content_type="text/xml")
        outcomes = ebay.push_stock([_update("MUG-1", 5)], "key")
        call = mock.calls[1].request
    assert outcomes[0].ok and outcomes[0].quantity == 5
    assert call.headers["X-EBAY-API-CALL-NAME"] == "ReviseInventoryStatus"
    assert call.headers["X-EBAY-API-SITEID"] == "3"  # EBAY_GB
    assert call.headers["X-EBAY-API-IAF-TOKEN"] == "v^1.1#i^1#user-access-token-built"
    assert b"<SKU>MUG-1</SKU><Quantity>5</Quantity>" in call.body


def test_a_refused_trading_token_is_an_auth_error():
    failure = (
        b'<ReviseInventoryStatusResponse xmlns="urn:ebay:apis:eBLBaseComponents"><Ack>Failure</Ack>'
        b"<Errors><ShortMessage>Invalid token</ShortMessage><ErrorCode>931</ErrorCode>"
        b"<SeverityCode>Error</SeverityCode></Errors></ReviseInventoryStatusResponse>"
    )
    with pytest.raises(AuthError, match="931"):
        trading.outcomes([_update("MUG-1", 5)], failure)


def test_items_are_read_page_by_page_as_each_answers_next_says():
    # getInventoryItems' offset is a page number (0, 1, ...), not a count of records: the
    # next page is the one the answer's next names, asked of the account's own address
    first = payload("stock/inventory_items_page_1.json")
    first["next"] = f"{ITEMS}?limit=100&offset=1"
    second = {
        "href": f"{ITEMS}?limit=100&offset=1",
        "total": 3,
        "size": 1,
        "limit": 100,
        "inventoryItems": [
            {"sku": "HAT-1", "availability": {"shipToLocationAvailability": {"quantity": 4}}}
        ],
    }
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(
            ITEMS, json=first, match=[matchers.query_param_matcher({"limit": "100", "offset": "0"})]
        )
        mock.get(
            ITEMS,
            json=second,
            match=[matchers.query_param_matcher({"limit": "100", "offset": "1"})],
        )
        mock.get(re.compile(f"{OFFERS}.*"), status=404, json={"errors": [{"errorId": 25713}]})
        skus = [item.sku for item in connector().stock_items()]
    assert skus == ["MUG-1", "TEE-RED-M", "HAT-1"]


def test_a_page_named_twice_is_refused():
    page = payload("stock/inventory_items_page_1.json")
    page["next"] = f"{ITEMS}?limit=100&offset=0"
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(ITEMS, json=page)
        mock.get(re.compile(f"{OFFERS}.*"), status=404, json={"errors": [{"errorId": 25713}]})
        with pytest.raises(PermanentError, match="page offset 0 again"):
            list(connector().stock_items())


@pytest.mark.parametrize(
    ("marketplace", "site"), [("EBAY_GB", 3), ("EBAY_US", 0), ("EBAY_DE", 77), ("EBAY_SG", 216)]
)
def test_the_trading_site_follows_the_marketplace(marketplace, site):
    assert site_id(settings(stock_api="trading", marketplace_id=marketplace)) == site


def test_a_marketplace_with_no_single_trading_site_needs_site_id():
    with pytest.raises(ValidationError, match="site_id"):
        settings(stock_api="trading", marketplace_id="EBAY_BE")
    assert site_id(settings(stock_api="trading", marketplace_id="EBAY_BE", site_id=123)) == 123
