"""Fulfilment back: confirmShipment with Amazon's carrier code, tracking number, ship date and
per-item quantities (the body the model's sandbox request shows), exactly once: a package
already on the order with the parcel's tracking number is returned, nothing is sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses
from responses import matchers

from connectors.channels.amazon import AmazonConnector, fulfilment
from connectors.channels.amazon.tests.helpers import API, account, client, payload, token_answer
from hub.connectors import FulfilmentPush
from hub.errors import PermanentError, RetryableError
from hub.mapping.compiled import default_spec

ORDER = "171-9876543-2109876"
GET_ORDER = f"{API}/orders/2026-01-01/orders/{ORDER}"
CONFIRM = f"{API}/orders/v0/orders/{ORDER}/shipmentConfirmation"


def push(tracking: str = "AB123456789GB", carrier: str = "royalmail", name: str = "Royal Mail"):
    return FulfilmentPush(
        order={"id": 5, "external_id": ORDER},
        parcel_id=41,
        carrier=carrier,
        carrier_name=name,
        service="TPN24",
        tracking_number=tracking,
        tracking_url=None,
        lines=[
            {"external_id": "17198765432109", "sku": "ECHO-DOT-4-BR-PRETO", "quantity": 1},
        ],
        complete=True,
        shipped_at=datetime(2024, 12, 26, 10, 0, tzinfo=UTC),
    )


def test_the_body_has_the_sandbox_requests_shape() -> None:
    sample = payload("confirmShipment_v0_request.json")
    body = fulfilment.confirm_body(push(), "A2Q3Y263D00KWC")
    assert set(body) == set(sample)
    assert set(body["packageDetail"]) <= set(sample["packageDetail"])
    assert body["packageDetail"] == {
        "packageReferenceId": "41",
        "carrierCode": "Royal Mail",
        "carrierName": "Royal Mail",
        "trackingNumber": "AB123456789GB",
        "shipDate": "2024-12-26T10:00:00Z",
        "orderItems": [{"orderItemId": "17198765432109", "quantity": 1}],
        "shippingMethod": "TPN24",
    }


def test_an_unknown_carrier_goes_as_other_with_its_name() -> None:
    assert fulfilment.carrier(push(carrier="parcelforce", name="Parcelforce Worldwide")) == (
        "Other",
        "Parcelforce Worldwide",
    )
    # a name the mapping gives that is one of Amazon's codes goes as that code, as Amazon
    # spells it
    assert fulfilment.carrier(push(carrier="parcelforce", name="UPS")) == ("UPS", "UPS")
    assert fulfilment.carrier(push(carrier="acme", name="yodel")) == ("Yodel", "Yodel")
    assert fulfilment.carrier(push(carrier="acme", name="")) == ("Other", "acme")


def test_evri_goes_as_hermes_uk_which_amazons_list_keeps_for_it() -> None:
    # without a mapping the hub names the carrier by its connector's title
    assert fulfilment.carrier(push(carrier="evri", name="Evri")) == ("Hermes UK", "Hermes UK")


def recorded_codes() -> set[str]:
    recorded = json.loads(fulfilment.RECORDED_CODES.read_text(encoding="utf-8"))
    assert recorded["sources"] and "Other" in recorded["codes"]
    return set(recorded["codes"])


def test_every_code_the_default_mapping_emits_is_in_amazons_recorded_list() -> None:
    codes = recorded_codes()
    entries = default_spec("amazon")["lookups"]["tracking_carrier"]
    assert {e["from"] for e in entries} >= {"royalmail", "dpd_uk", "evri", "dhl", "ups", "fedex"}
    for entry in entries:
        carrier, name = entry["from"], entry["to"]
        code, _ = fulfilment.carrier(push(carrier=carrier, name=name))
        assert name in codes, f"{carrier}: {name!r} is not an Amazon carrier code"
        assert code == name, carrier
    # and what the connector falls back on when no mapping names the carrier
    assert set(fulfilment.CARRIER_CODES.values()) <= codes
    for carrier in fulfilment.CARRIER_CODES:
        assert fulfilment.carrier(push(carrier=carrier, name=""))[0] in codes


@responses.activate
def test_confirm_shipment_once_then_find_the_package() -> None:
    token_answer(responses)
    order = payload(f"getOrder_sandbox_{ORDER}.json")
    responses.get(GET_ORDER, json=order)
    responses.post(
        CONFIRM,
        status=204,
        match=[
            matchers.json_params_matcher(
                fulfilment.confirm_body(push(), order["order"]["salesChannel"]["marketplaceId"])
            )
        ],
    )
    connector = AmazonConnector(account(), client=client())
    assert connector.push_fulfilment(push()) == f"{ORDER}/41"
    # a retry after a lost answer: Amazon now lists the package with that tracking number
    shipped = payload(f"getOrder_sandbox_{ORDER}.json")
    shipped["order"]["packages"] = [
        {"packageReferenceId": "41", "carrier": "Royal Mail", "trackingNumber": "AB123456789GB"}
    ]
    responses.get(GET_ORDER, json=shipped)
    assert connector.push_fulfilment(push()) == f"{ORDER}/41"
    assert len([c for c in responses.calls if c.request.url == CONFIRM]) == 1


@responses.activate
def test_a_lost_confirmation_is_not_resent_here() -> None:
    token_answer(responses)
    responses.get(GET_ORDER, json=payload(f"getOrder_sandbox_{ORDER}.json"))
    responses.post(
        CONFIRM, status=500, json={"errors": [{"code": "InternalFailure", "message": "x"}]}
    )
    connector = AmazonConnector(account(), client=client())
    with pytest.raises(RetryableError):
        connector.push_fulfilment(push())
    assert len([c for c in responses.calls if c.request.url == CONFIRM]) == 1


def test_a_parcel_without_amazon_item_ids_is_refused_before_any_call() -> None:
    bad = push()
    bad.lines[0]["external_id"] = None
    with pytest.raises(PermanentError):
        AmazonConnector(account(), client=client()).push_fulfilment(bad)
