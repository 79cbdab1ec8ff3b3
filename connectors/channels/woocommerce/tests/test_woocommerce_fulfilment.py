"""WooCommerce fulfilment push: a parcel's tracking becomes a Shipment Tracking item, or a
customer note where that extension is missing, and a fully shipped order is completed.

Answers are the files in ``payloads/fulfilment/`` (see its README) served by ``responses``; no
test reaches the network.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from connectors.channels.woocommerce import WooCommerceConnector, fulfilment
from connectors.channels.woocommerce.tests.helpers import KEY, SECRET, connector
from hub.connectors import Capability, FulfilmentPush, TrackingEvent
from hub.errors import PermanentError, RetryableError

TESTS = Path(__file__).parent
PAYLOADS = TESTS / "payloads" / "fulfilment"
API = "https://woo.example/wp-json/wc/v3"
TRACKINGS = "https://woo.example/wp-json/wc-shipment-tracking/v3/orders/727/shipment-trackings"
NOTES = f"{API}/orders/727/notes"
ORDER = f"{API}/orders/727"
BASIC = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
USPS_NUMBER = "9400111899560000000000"
USPS_URL = f"https://tools.usps.com/tracking/{USPS_NUMBER}"


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def canonical_order() -> dict[str, Any]:
    """Order 727 as the hub holds it (the translate tests' expected JSON)."""
    path = TESTS / "expected" / "order_get_v3_response.json"
    return json.loads(path.read_text(encoding="utf-8"))


def parcel(**fields: Any) -> FulfilmentPush:
    values: dict[str, Any] = {
        "order": canonical_order(),
        "parcel_id": 52,
        "carrier": "usps",
        "carrier_name": "USPS",
        "service": None,
        "tracking_number": USPS_NUMBER,
        "tracking_url": None,
        "lines": [
            {"external_id": "315", "sku": None, "quantity": 2},
            {"external_id": "316", "sku": "Bar3", "quantity": 1},
        ],
        "complete": True,
        # 23:30 in New York on the 9th is the 10th in UTC
        "shipped_at": datetime(2026, 7, 9, 23, 30, tzinfo=timezone(timedelta(hours=-4))),
        **fields,
    }
    return FulfilmentPush(**values)


def calls(api: responses.RequestsMock) -> list[tuple[str, str, Any]]:
    """(method, URL, JSON body or None) of every request, in order."""
    out = []
    for call in api.calls:
        body = json.loads(call.request.body) if call.request.body else None
        out.append((call.request.method, call.request.url, body))
    return out


def test_woocommerce_declares_fulfilment_push():
    assert Capability.FULFILMENT_PUSH in WooCommerceConnector.capabilities


# -- with the Shipment Tracking extension ------------------------------------------------------


def test_a_full_shipment_adds_a_tracking_item_then_completes_the_order(api):
    api.get(TRACKINGS, json=[])
    api.post(TRACKINGS, json=payload("shipment_tracking_item_response.json"), status=201)
    api.get(ORDER, json=payload("order_status_processing_response.json"))
    api.put(ORDER, json=payload("order_completed_response.json"))

    result = connector().push_fulfilment(parcel())

    assert result == "tracking:7f4978c390ee633c6294ae0f258656f9"
    assert calls(api) == [
        ("GET", TRACKINGS, None),
        ("POST", TRACKINGS, payload("shipment_tracking_create_request.json")),
        ("GET", f"{ORDER}?_fields=id%2Cstatus", None),
        ("PUT", f"{ORDER}?_fields=id%2Cstatus", {"status": "completed"}),
    ]
    for call in api.calls:
        assert call.request.headers["Authorization"] == BASIC


def test_with_a_tracking_address_the_carrier_is_a_custom_provider_with_that_link(api):
    api.get(TRACKINGS, json=[])
    api.post(TRACKINGS, json=payload("shipment_tracking_item_response.json"), status=201)

    connector().push_fulfilment(parcel(tracking_url=USPS_URL, complete=False))

    assert calls(api)[1][2] == {
        "custom_tracking_provider": "USPS",
        "custom_tracking_link": USPS_URL,
        "tracking_number": USPS_NUMBER,
        "date_shipped": "2026-07-10",
    }


def test_a_partial_shipment_adds_tracking_and_leaves_the_order_status_alone(api):
    api.get(TRACKINGS, json=[])
    api.post(TRACKINGS, json=payload("shipment_tracking_item_response.json"), status=201)
    push = parcel(lines=[{"external_id": "315", "sku": None, "quantity": 1}], complete=False)

    assert connector().push_fulfilment(push) == "tracking:7f4978c390ee633c6294ae0f258656f9"
    assert [method for method, _, _ in calls(api)] == ["GET", "POST"]


def test_a_two_parcel_order_gets_two_tracking_items_and_is_completed_by_the_last(api):
    royal_mail = payload("shipment_trackings_other_parcel_response.json")
    api.get(TRACKINGS, json=[])
    api.post(TRACKINGS, json=royal_mail[0], status=201)
    api.get(TRACKINGS, json=royal_mail)
    api.post(TRACKINGS, json=payload("shipment_tracking_item_response.json"), status=201)
    api.get(ORDER, json=payload("order_status_processing_response.json"))
    api.put(ORDER, json=payload("order_completed_response.json"))
    woo = connector()

    first = woo.push_fulfilment(
        parcel(
            carrier="royalmail",
            carrier_name="Royal Mail",
            tracking_number="AB123456789GB",
            lines=[{"external_id": "315", "sku": None, "quantity": 2}],
            complete=False,
            shipped_at=datetime(2026, 7, 9, 9, 0, tzinfo=UTC),
        )
    )
    second = woo.push_fulfilment(
        parcel(lines=[{"external_id": "316", "sku": "Bar3", "quantity": 1}])
    )

    assert first == "tracking:2c1a7e0b5d4f4bd2a0b7c1f6e9d8a3b4"
    assert second == "tracking:7f4978c390ee633c6294ae0f258656f9"
    sent = calls(api)
    assert sent[1] == (
        "POST",
        TRACKINGS,
        {
            "tracking_provider": "Royal Mail",
            "tracking_number": "AB123456789GB",
            "date_shipped": "2026-07-09",
        },
    )
    assert sent[3] == ("POST", TRACKINGS, payload("shipment_tracking_create_request.json"))
    assert [method for method, _, _ in sent] == ["GET", "POST", "GET", "POST", "GET", "PUT"]


def test_a_retried_push_finds_the_tracking_item_and_adds_nothing(api):
    api.get(TRACKINGS, json=[payload("shipment_tracking_item_response.json")])
    api.get(ORDER, json=payload("order_completed_response.json"))

    result = connector().push_fulfilment(parcel())

    assert result == "tracking:7f4978c390ee633c6294ae0f258656f9"
    # no POST, and an order already completed is not set again
    assert [method for method, _, _ in calls(api)] == ["GET", "GET"]


def test_a_lost_answer_then_a_retry_makes_one_tracking_item_and_completes_the_order(api):
    api.get(TRACKINGS, json=[])
    api.post(TRACKINGS, body=requests.ConnectionError("connection reset by peer"))
    api.get(TRACKINGS, json=[payload("shipment_tracking_item_response.json")])
    api.get(ORDER, json=payload("order_status_processing_response.json"))
    api.put(ORDER, json=payload("order_completed_response.json"))
    woo = connector()

    with pytest.raises(RetryableError, match="may have been processed"):
        woo.push_fulfilment(parcel())
    assert woo.push_fulfilment(parcel()) == "tracking:7f4978c390ee633c6294ae0f258656f9"

    assert [m for m, _, _ in calls(api)] == ["GET", "POST", "GET", "GET", "PUT"]


# -- without it ------------------------------------------------------------------------------


def test_without_the_extension_the_tracking_goes_in_a_customer_note(api):
    api.get(TRACKINGS, json=payload("rest_no_route_404.json"), status=404)
    api.get(NOTES, json=payload("order_notes_customer_response.json"))
    api.post(NOTES, json=payload("order_note_created_response.json"), status=201)

    result = connector().push_fulfilment(parcel(tracking_url=USPS_URL, complete=False))

    assert result == "note:281"
    assert calls(api) == [
        ("GET", TRACKINGS, None),
        ("GET", f"{NOTES}?type=customer", None),
        (
            "POST",
            NOTES,
            {
                "note": "Your parcel has shipped with USPS. Tracking number: "
                f"{USPS_NUMBER}. Track it at {USPS_URL}",
                "customer_note": True,
            },
        ),
    ]
    for call in api.calls:
        assert call.request.headers["Authorization"] == BASIC


def test_the_missing_extension_is_remembered_and_not_asked_for_again(api):
    api.get(TRACKINGS, json=payload("rest_no_route_404.json"), status=404)
    api.get(NOTES, json=[])
    api.post(NOTES, json=payload("order_note_created_response.json"), status=201)
    api.get(NOTES, json=[payload("order_note_created_response.json")])
    api.get(ORDER, json=payload("order_status_processing_response.json"))
    api.put(ORDER, json=payload("order_completed_response.json"))
    woo = connector()

    first = woo.push_fulfilment(parcel(complete=False))
    # the same parcel again (a retry): the note is found; the order is completed this time
    second = woo.push_fulfilment(parcel())

    assert first == second == "note:281"
    urls = [url for _, url, _ in calls(api)]
    assert urls.count(TRACKINGS) == 1
    assert [m for m, _, _ in calls(api)] == ["GET", "GET", "POST", "GET", "GET", "PUT"]


def test_a_note_without_a_link_names_carrier_and_number():
    text = fulfilment.note_text(parcel(carrier_name="Evri", tracking_number="H01"), "H01")
    assert text == "Your parcel has shipped with Evri. Tracking number: H01."


def test_a_note_naming_a_longer_number_is_not_this_parcels():
    notes = payload("order_notes_customer_response.json")  # names AB123456789GB
    assert fulfilment.existing_note(notes, "AB123456789GB") == "280"
    assert fulfilment.existing_note(notes, "AB123456789") is None
    assert fulfilment.existing_note(notes, "ab123456789gb") == "280"
    notes[0]["customer_note"] = False
    assert fulfilment.existing_note(notes, "AB123456789GB") is None


# -- refusals ---------------------------------------------------------------------------------


def test_an_unknown_order_is_permanent_and_the_extension_stays_unknown(api):
    api.get(TRACKINGS, json=payload("order_invalid_id_404.json"), status=404)

    woo = connector()
    with pytest.raises(PermanentError, match="HTTP 404"):
        woo.push_fulfilment(parcel())
    assert woo._shipment_tracking is None


def test_a_cancelled_order_is_not_completed_and_says_why(api):
    api.get(TRACKINGS, json=[])
    api.post(TRACKINGS, json=payload("shipment_tracking_item_response.json"), status=201)
    api.get(ORDER, json={"id": 727, "status": "cancelled"})

    with pytest.raises(PermanentError, match="order 727 is 'cancelled' but shipped in full"):
        connector().push_fulfilment(parcel())
    assert [m for m, _, _ in calls(api)] == ["GET", "POST", "GET"]  # no PUT


def test_an_order_a_plugin_keeps_from_completing_is_named(api):
    api.get(TRACKINGS, json=[payload("shipment_tracking_item_response.json")])
    api.get(ORDER, json=payload("order_status_processing_response.json"))
    api.put(ORDER, json={"id": 727, "status": "on-hold"})

    with pytest.raises(PermanentError, match="kept order 727 'on-hold'"):
        connector().push_fulfilment(parcel())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tracking_number": " "}, "parcel 52 has no tracking number"),
        ({"order": {"external_id": "727/../1"}}, "is not a WooCommerce id"),
        ({"order": {"external_id": None}}, "is not a WooCommerce id"),
    ],
)
def test_a_parcel_that_cannot_be_sent_is_refused_before_any_call(api, fields, message):
    with pytest.raises(PermanentError, match=message):
        connector().push_fulfilment(parcel(**fields))
    assert len(api.calls) == 0


def test_tracking_events_are_not_sent_woocommerce_shows_none(api):
    event = TrackingEvent(at=datetime(2026, 7, 11, 8, 0, tzinfo=UTC), status="delivered")
    connector().push_tracking_event(parcel(), "tracking:7f4978c390ee633c6294ae0f258656f9", event)
    assert len(api.calls) == 0


def test_rest_no_route_is_told_from_other_404s():
    no_route = {"status": 404, "body": json.dumps(payload("rest_no_route_404.json"))}
    invalid = {"status": 404, "body": json.dumps(payload("order_invalid_id_404.json"))}
    assert fulfilment.is_no_route(no_route)
    assert not fulfilment.is_no_route(invalid)
    assert not fulfilment.is_no_route({**no_route, "status": 400})
    assert not fulfilment.is_no_route(None)
