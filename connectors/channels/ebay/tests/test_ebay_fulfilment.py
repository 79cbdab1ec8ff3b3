"""Shipped parcels told to eBay: one shipping fulfillment per package with its line items,
carrier code and tracking number; exactly once (a fulfillment with the tracking number is
found, not made again); partial shipments; refused parcels before any call."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses

from connectors.channels.ebay.tests.helpers import API, connector, payload, tokens
from hub.connectors import FulfilmentPush
from hub.errors import PermanentError, RetryableError

FULFILMENTS = f"{API}/sell/fulfillment/v1/order/12-34567-89012/shipping_fulfillment"
ORDER = {"id": 7, "external_id": "12-34567-89012"}


def _push(lines, number="TT123456785GB", parcel=1) -> FulfilmentPush:
    return FulfilmentPush(
        order=ORDER,
        parcel_id=parcel,
        carrier="royalmail",
        carrier_name="RoyalMail",
        service="TPN24",
        tracking_number=number,
        tracking_url=None,
        lines=lines,
        complete=False,
        shipped_at=datetime(2026, 12, 2, 10, 0, tzinfo=UTC),
    )


MUGS = [{"external_id": "10012345678901", "sku": "MUG-1", "quantity": 2}]
TEE = [{"external_id": "10012345678902", "sku": "TEE-RED-M", "quantity": 1}]


def test_a_parcel_becomes_one_shipping_fulfillment():
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(FULFILMENTS, json=payload("fulfilment/shipping_fulfillments_none.json"))
        mock.post(FULFILMENTS, status=201, json={}, headers={"Location": f"{FULFILMENTS}/F-1"})
        assert connector().push_fulfilment(_push(MUGS)) == "F-1"
        sent = json.loads(mock.calls[2].request.body)
    assert sent == {
        "lineItems": [{"lineItemId": "10012345678901", "quantity": 2}],
        "shippedDate": "2026-12-02T10:00:00.000Z",
        "shippingCarrierCode": "RoyalMail",
        "trackingNumber": "TT123456785GB",
    }


def test_a_fulfillment_already_carrying_the_tracking_number_is_not_made_again():
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(FULFILMENTS, json=payload("fulfilment/shipping_fulfillments_one.json"))
        found = connector().push_fulfilment(_push(MUGS, number="tt 1234 56785 gb"))
        assert all(c.request.method != "POST" or "oauth2" in c.request.url for c in mock.calls)
    assert found == "9405509699939197013060"


def test_a_partial_shipment_sends_only_its_own_lines():
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(FULFILMENTS, json=payload("fulfilment/shipping_fulfillments_one.json"))
        mock.post(FULFILMENTS, status=201, headers={"Location": f"{FULFILMENTS}/F-2"})
        assert connector().push_fulfilment(_push(TEE, number="TT000000002GB", parcel=2)) == "F-2"
        sent = json.loads(mock.calls[-1].request.body)
    assert sent["lineItems"] == [{"lineItemId": "10012345678902", "quantity": 1}]


def test_a_lost_answer_is_not_sent_again_here():
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(FULFILMENTS, json=payload("fulfilment/shipping_fulfillments_none.json"))
        mock.post(FULFILMENTS, status=502)
        with pytest.raises(RetryableError, match="not retried here"):
            connector().push_fulfilment(_push(MUGS))
        assert (
            sum(c.request.method == "POST" and "fulfillment" in c.request.url for c in mock.calls)
            == 1
        )


def test_a_parcel_that_cannot_be_told_is_refused_before_any_call():
    with responses.RequestsMock():
        with pytest.raises(PermanentError, match="no eBay lineItemId"):
            connector().push_fulfilment(_push([{"sku": "MUG-1", "quantity": 1}]))
        with pytest.raises(PermanentError, match="no tracking number"):
            connector().push_fulfilment(_push(MUGS, number=" "))


def test_an_unknown_order_is_permanent_with_ebays_words():
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(
            FULFILMENTS, status=404, json=payload("fulfilment/error_invalid_order_32100_built.json")
        )
        with pytest.raises(PermanentError, match="errorId 32100: Invalid Order Id"):
            connector().push_fulfilment(_push(MUGS))
