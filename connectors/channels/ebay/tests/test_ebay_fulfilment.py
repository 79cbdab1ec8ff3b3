"""Shipped parcels told to eBay: one shipping fulfillment per package with its line items,
carrier code and tracking number; exactly once (a fulfillment with the tracking number is
found, not made again); partial shipments; refused parcels before any call; every carrier code
sent is one of eBay's (``carriers.CODES``)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest
import responses

from connectors.channels.ebay import carriers, fulfilment
from connectors.channels.ebay.tests.helpers import API, connector, payload, tokens
from hub.connectors import FulfilmentPush, registry
from hub.errors import PermanentError, RetryableError
from hub.mapping.compiled import compile_spec, default_spec

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


def test_one_line_split_across_two_parcels_sends_each_parcels_own_quantity_once():
    # three mugs on one eBay line: two in the first parcel, one in the second; the first
    # parcel's push runs again (its job retried) and finds its fulfillment instead of a third
    made: list[dict] = []

    def listed(request):  # type: ignore[no-untyped-def]
        return 200, {}, json.dumps({"fulfillments": made, "total": len(made)})

    def create(request):  # type: ignore[no-untyped-def]
        sent = json.loads(request.body)
        made.append(
            {
                "fulfillmentId": f"F-{len(made) + 1}",
                "shipmentTrackingNumber": sent["trackingNumber"],
                "lineItems": sent["lineItems"],
            }
        )
        return 201, {"Location": f"{FULFILMENTS}/F-{len(made)}"}, ""

    line = "10012345678901"
    first = _push([{"external_id": line, "sku": "MUG-1", "quantity": 2}], "TT000000001GB", 1)
    second = _push([{"external_id": line, "sku": "MUG-1", "quantity": 1}], "TT000000002GB", 2)
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.add_callback(responses.GET, FULFILMENTS, callback=listed)
        mock.add_callback(responses.POST, FULFILMENTS, callback=create)
        ebay = connector()
        assert [ebay.push_fulfilment(p) for p in (first, second, first)] == ["F-1", "F-2", "F-1"]
        posted = [
            json.loads(c.request.body)
            for c in mock.calls
            if c.request.method == "POST" and c.request.url == FULFILMENTS
        ]
    assert [(p["trackingNumber"], p["lineItems"]) for p in posted] == [
        ("TT000000001GB", [{"lineItemId": line, "quantity": 2}]),
        ("TT000000002GB", [{"lineItemId": line, "quantity": 1}]),
    ]


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


def test_an_ebay_system_error_on_create_still_says_it_was_not_sent_again():
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(FULFILMENTS, json=payload("fulfilment/shipping_fulfillments_none.json"))
        mock.post(FULFILMENTS, status=500, json=payload("fulfilment/error_system_30500_built.json"))
        with pytest.raises(RetryableError) as caught:
            connector().push_fulfilment(_push(MUGS))
    verdict = "not retried here, the request may have been processed"
    assert caught.value.message == (
        "POST sell/fulfillment/v1/order/12-34567-89012/shipping_fulfillment: HTTP 500: "
        f"errorId 30500: System error; {verdict}"
    )
    assert caught.value.details["verdict"] == verdict and caught.value.details["attempts"] == 1
    assert caught.value.details["errors"][0]["errorId"] == 30500


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
            FULFILMENTS, status=400, json=payload("fulfilment/error_invalid_order_32100_built.json")
        )
        with pytest.raises(PermanentError, match="errorId 32100: Invalid order ID: 12-34567-89012"):
            connector().push_fulfilment(_push(MUGS))


def _carrier_push(carrier: str, carrier_name: str) -> FulfilmentPush:
    return dataclasses.replace(_push(MUGS), carrier=carrier, carrier_name=carrier_name)


def test_every_code_the_default_mapping_names_is_one_of_ebays_carrier_codes():
    spec = default_spec("ebay")
    named = {e["from"]: e["to"] for e in spec["lookups"]["tracking_carrier"]}
    assert named and not [code for code in named.values() if code not in carriers.CODES]
    # every carrier the hub ships with, named as the hub names it for the push (the mapping,
    # else the carrier's title), goes out as one of eBay's codes
    mapping = compile_spec(spec)
    hub_carriers = sorted(n for n, c in registry().items() if c.kind == "carrier")
    assert set(hub_carriers) <= set(named)
    for carrier in hub_carriers:
        name = mapping.tracking_carrier(carrier) or registry()[carrier].title
        sent = fulfilment.body(_carrier_push(carrier, name), "TT1GB")["shippingCarrierCode"]
        assert sent in carriers.CODES, (carrier, sent)


def test_a_carrier_name_is_sent_in_ebays_own_spelling():
    # the hub's title for an unmapped carrier, or a code in other case, is eBay's code
    assert fulfilment.carrier_code(_carrier_push("royalmail", "Royal Mail")) == "RoyalMail"
    assert fulfilment.carrier_code(_carrier_push("parcelforce", "parcelforce")) == "Parcelforce"
    assert fulfilment.carrier_code(_carrier_push("fedex", "FEDEX")) == "FedEx"
    assert "CustomCode" not in carriers.CODES and "Other" in carriers.CODES


def test_a_carrier_ebay_has_no_code_for_is_refused_before_any_call():
    refused = pytest.raises(PermanentError, match="not one of eBay's shipping carrier codes")
    with responses.RequestsMock(), refused:  # any call would fail the test
        connector().push_fulfilment(_carrier_push("acme_couriers", "Acme Couriers"))


def test_a_tracking_number_or_carrier_ebay_refuses_is_permanent_with_ebays_words():
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(FULFILMENTS, json=payload("fulfilment/shipping_fulfillments_none.json"))
        mock.post(
            FULFILMENTS,
            status=400,
            json=payload("fulfilment/error_invalid_tracking_32300_built.json"),
        )
        with pytest.raises(PermanentError) as caught:
            connector().push_fulfilment(_push(MUGS))
    assert "errorId 32300: Invalid shipment tracking number or carrier" in caught.value.message


def test_an_ebay_system_error_reading_the_fulfillments_is_retryable():
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(FULFILMENTS, status=500, json=payload("fulfilment/error_system_30500_built.json"))
        with pytest.raises(RetryableError):
            connector().push_fulfilment(_push(MUGS))
        assert not [
            c for c in mock.calls if c.request.method == "POST" and "fulfillment" in c.request.url
        ]
