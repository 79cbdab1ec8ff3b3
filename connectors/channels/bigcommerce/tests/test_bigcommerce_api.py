"""BigCommerce's APIs as the connector calls them, every call answered by ``responses``:
reconciliation reads, rate limits, stock adjustments, shipments, hooks."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest
import responses
from responses import matchers

from connectors.channels.bigcommerce import fulfilment, hooks, orders, stock, translate
from connectors.channels.bigcommerce.tests.helpers import ROOT, connector, document, payload
from hub.connectors import ChannelItem, FulfilmentPush, StockUpdate
from hub.errors import PermanentError, RetryableError

SINCE = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
UNTIL = datetime(2026, 12, 7, 11, 0, 0, 500_000, tzinfo=UTC)


def listed(doc):
    """The order as ``GET /v2/orders`` lists it: its products and addresses links
    (``order_v2_get_response.json``)."""
    links = {k: v for k, v in payload("order_v2_get_response.json").items() if k in orders.PARTS}
    order_id = doc["id"]
    for part in links.values():
        part["url"] = part["url"].replace("/218/", f"/{order_id}/")
        part["resource"] = part["resource"].replace("/218/", f"/{order_id}/")
    return {**{k: v for k, v in doc.items() if k not in orders.PARTS}, **links}


# -- reconciliation ---------------------------------------------------------------------------


def test_orders_modified_in_a_window_are_listed_page_by_page_and_nothing_more_is_read(
    monkeypatch,
):
    monkeypatch.setattr(orders, "PAGE_SIZE", 3)  # 250 in life
    bc, _ = connector()
    docs = [document(id=n) for n in range(1, 5)]  # two pages
    window = {
        "min_date_modified": "2026-12-07T10:00:00+00:00",
        "max_date_modified": "2026-12-07T11:00:01+00:00",
        "sort": "date_modified:asc",
        "limit": "3",
    }
    with responses.RequestsMock() as mock:  # a products or addresses read would fail here
        mock.get(
            f"{ROOT}/v2/orders",
            json=[listed(d) for d in docs[:3]],
            match=[matchers.query_param_matcher({**window, "page": "1"})],
        )
        mock.get(
            f"{ROOT}/v2/orders",
            json=[listed(d) for d in docs[3:]],
            match=[matchers.query_param_matcher({**window, "page": "2"})],
        )
        read = list(bc.orders_updated(SINCE, UNTIL))
        urls = [c.request.url.split("?")[0] for c in mock.calls]
    assert urls == [f"{ROOT}/v2/orders"] * 2
    assert read == [listed(d) for d in docs]
    assert all(orders.linked(order) for order in read)


def test_the_list_asks_250_orders_a_page():
    bc, _ = connector()
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders", status=204, body=b"")
        list(bc.orders_updated(SINCE, UNTIL))
        asked = mock.calls[0].request.params
    assert (asked["limit"], asked["page"]) == ("250", "1")


def test_a_listed_orders_version_is_what_its_translation_gives():
    doc = document(id=" 0219", date_modified="Tue, 12 Mar 2019 09:00:00 +0100")
    translated = translate.translate_order(doc, topic=translate.UPDATED).order
    bc, _ = connector()
    version = bc.order_version(listed(doc))
    assert version == (translated.external_id, translated.updated_at)
    assert version == ("219", datetime(2019, 3, 12, 8, 0, tzinfo=UTC))
    assert bc.order_version(doc) == version  # a complete document reads the same
    assert bc.order_version(listed(document(is_deleted=True))) == ("218", None)
    assert bc.order_version(listed(document(date_modified="someday"))) == (None, None)
    assert bc.order_version(listed(document(id=0))) == (None, None)
    assert bc.order_version("not an order") == (None, None)


def test_a_store_that_ignores_the_page_is_refused_rather_than_read_forever(monkeypatch):
    monkeypatch.setattr(orders, "PAGE_SIZE", 2)
    bc, _ = connector()
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/1/shipments", json=[{"id": 1}, {"id": 2}])
        with pytest.raises(PermanentError, match="repeats"):
            bc.client.shipments("1")


def test_an_empty_window_is_a_204():
    bc, _ = connector()
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders", status=204, body=b"")
        assert list(bc.orders_updated(SINCE, UNTIL)) == []


def test_a_window_that_ends_before_it_starts_is_refused_at_once():
    bc, _ = connector()
    with pytest.raises(ValueError):
        bc.orders_updated(UNTIL, SINCE)


# -- rate limits ------------------------------------------------------------------------------


def test_a_store_nearly_out_of_requests_pauses_until_its_window_resets():
    bc, clock = connector()
    quota = {"X-Rate-Limit-Requests-Left": "2", "X-Rate-Limit-Time-Reset-Ms": "15000"}
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/1/shipments", json=[], headers=quota)
        mock.get(f"{ROOT}/v2/orders/2/shipments", json=[])
        bc.client.shipments("1")
        bc.client.shipments("2")
    assert clock.slept and sum(clock.slept) == pytest.approx(15.0)


def test_a_429_is_waited_out_for_the_reset_it_names_and_then_answered():
    bc, clock = connector()
    with responses.RequestsMock() as mock:
        mock.get(
            f"{ROOT}/v2/orders/1/shipments",
            status=429,
            headers={"X-Rate-Limit-Time-Reset-Ms": "4000", "X-Rate-Limit-Requests-Left": "0"},
        )
        mock.get(f"{ROOT}/v2/orders/1/shipments", json=[{"id": 3}])
        assert bc.client.shipments("1") == [{"id": 3}]
    assert sum(clock.slept) >= 4.0


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        # docs/start/migration/4_errors.md: "honor the longer of the two wait times"
        ({"X-Retry-After": "15", "X-Rate-Limit-Time-Reset-Ms": "4000"}, 15.0),
        ({"X-Retry-After": "2", "X-Rate-Limit-Time-Reset-Ms": "9500"}, 9.5),
        ({"X-Retry-After": "7"}, 7.0),
        ({"Retry-After": "3", "X-Retry-After": "15"}, 3.0),  # the standard header, when sent
    ],
)
def test_a_429_waits_the_longer_of_x_retry_after_and_the_reset(headers, wait):
    bc, clock = connector()
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/1/shipments", status=429, headers=headers)
        mock.get(f"{ROOT}/v2/orders/1/shipments", json=[{"id": 3}])
        assert bc.client.shipments("1") == [{"id": 3}]
    # the account's limiter is paused for the wait and the retry sleeps it once
    assert sum(clock.slept) == pytest.approx(wait)


def test_a_429_naming_both_waits_and_no_retry_after_pauses_the_store_for_the_longer():
    # the hub's HTTP client reads BigCommerce's own headers: no Retry-After is written for it
    bc, clock = connector()
    limiter = bc.client.http.limiter
    paused: list[float] = []
    pause = limiter.pause_until
    limiter.pause_until = lambda until: paused.append(until) or pause(until)  # type: ignore[method-assign]
    headers = {"X-Retry-After": "5", "X-Rate-Limit-Time-Reset-Ms": "9000"}
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/1/shipments", status=429, headers=headers)
        mock.get(f"{ROOT}/v2/orders/1/shipments", json=[{"id": 3}])
        assert bc.client.shipments("1") == [{"id": 3}]
        refused = mock.calls[0].response
    assert "Retry-After" not in refused.headers
    assert paused == [pytest.approx(9.0)]  # every caller of the store waits, from t = 0
    assert clock.slept == [pytest.approx(9.0)]


def test_a_429_without_the_headers_is_platform_load_and_backs_off():
    bc, clock = connector()
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/1/shipments", status=429)
        mock.get(f"{ROOT}/v2/orders/1/shipments", json=[])
        assert bc.client.shipments("1") == []
    assert clock.slept and sum(clock.slept) < 15


def test_a_429_with_a_longer_wait_than_the_worker_holds_is_retried_later():
    bc, _ = connector()
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/1/shipments", status=429, headers={"X-Retry-After": "900"})
        with pytest.raises(RetryableError) as caught:
            bc.client.shipments("1")
    assert caught.value.retry_after == pytest.approx(900)


# -- stock ------------------------------------------------------------------------------------


def item(sku: str, variant: int, location: str | None = "1") -> ChannelItem:
    return ChannelItem(sku=sku, item_id=str(variant), location_id=location)


def test_stock_items_are_the_variants_with_skus():
    bc, _ = connector()
    page = {
        "data": [
            {"id": 7, "product_id": 77, "sku": "S-ORAN", "inventory_level": 4},
            {"id": 8, "product_id": 77, "sku": "", "inventory_level": 1},
            {"id": 9, "product_id": 86, "sku": "ABS", "inventory_level": 0},
        ],
        "meta": {"pagination": {"total_pages": 1}},
    }
    with responses.RequestsMock() as mock:
        mock.get(
            f"{ROOT}/v3/catalog/variants",
            json=page,
            match=[
                matchers.query_param_matcher(
                    {"include_fields": stock.VARIANT_FIELDS, "limit": "250", "page": "1"}
                )
            ],
        )
        items = list(bc.stock_items())
    assert [(i.sku, i.item_id, i.location_id, i.quantity) for i in items] == [
        ("S-ORAN", "7", "1", 4),
        ("ABS", "9", "1", 0),
    ]


def test_at_another_location_the_level_is_not_known():
    bc, _ = connector(location_id=3)
    with responses.RequestsMock() as mock:
        mock.get(
            f"{ROOT}/v3/catalog/variants",
            json={"data": [{"id": 7, "sku": "A", "inventory_level": 4}]},
        )
        (found,) = list(bc.stock_items())
    assert (found.location_id, found.quantity) == ("3", None)


def test_push_stock_is_one_absolute_adjustment_of_variants():
    bc, _ = connector()
    updates = [StockUpdate(item("S-ORAN", 7), 5), StockUpdate(item("ABS", 9, "2"), 0)]
    expected = {
        "reason": stock.REASON,
        "items": [
            {"location_id": 1, "variant_id": 7, "quantity": 5},
            {"location_id": 2, "variant_id": 9, "quantity": 0},
        ],
    }
    with responses.RequestsMock() as mock:
        mock.put(
            f"{ROOT}/v3/inventory/adjustments/absolute",
            json={"transaction_id": "a1b2"},
            match=[matchers.json_params_matcher(expected)],
        )
        outcomes = bc.push_stock(updates, "key-1")
    assert [(o.sku, o.ok, o.quantity) for o in outcomes] == [("S-ORAN", True, 5), ("ABS", True, 0)]


def test_the_recorded_request_shape_is_what_is_sent():
    recorded = payload("inventory_adjustments_absolute_v3_request.json")
    body = stock.adjustment_body([StockUpdate(item("x", 1), 1)], 1)
    assert set(body) == set(recorded)
    assert set(body["items"][0]) == set(recorded["items"][0])


def test_a_batch_is_at_most_2000_items():
    assert stock.MAX_ITEMS == 2000
    bc, _ = connector()
    assert bc.stock_batch_size == 2000
    with pytest.raises(ValueError):
        stock.adjustment_body([StockUpdate(item(f"s{n}", n + 1), 1) for n in range(2001)], 1)


def test_a_refused_adjustment_names_the_item_and_the_others_go_again():
    bc, _ = connector()
    updates = [StockUpdate(item("A", 105), 5), StockUpdate(item("B", 106), 2)]
    title = "[Item with variant_id 106 is tracked by product, please update stock by product id]"
    with responses.RequestsMock() as mock:
        mock.put(
            f"{ROOT}/v3/inventory/adjustments/absolute",
            status=422,
            json={"status": 422, "title": title, "errors": {}},
        )
        first, second = bc.push_stock(updates, "key-2")
    assert (first.ok, first.again) == (False, True)
    assert (second.ok, second.again) == (False, False) and "tracked by product" in second.error


def test_an_item_that_is_no_bigcommerce_id_is_not_sent():
    bc, _ = connector()
    with responses.RequestsMock() as mock:
        mock.put(f"{ROOT}/v3/inventory/adjustments/absolute", json={"transaction_id": "t"})
        bad, good = bc.push_stock(
            [StockUpdate(item("A", "gid"), 1), StockUpdate(item("B", 5), 1)], "k"
        )
        sent = json.loads(mock.calls[0].request.body)
    assert not bad.ok and good.ok
    assert [i["variant_id"] for i in sent["items"]] == [5]


# -- fulfilment -------------------------------------------------------------------------------


def push(lines, carrier="royalmail", carrier_name="Royal Mail", url=None) -> FulfilmentPush:
    return FulfilmentPush(
        order={"external_id": "218"},
        parcel_id=1,
        carrier=carrier,
        carrier_name=carrier_name,
        service=None,
        tracking_number="EJ958083578UK",
        tracking_url=url,
        lines=lines,
        complete=False,
        shipped_at=datetime(2026, 12, 7, tzinfo=UTC),
    )


def test_a_parcel_becomes_one_shipment_of_its_lines_to_their_address():
    bc, _ = connector()
    products = document()["products"]
    expected = {
        "order_address_id": 132,
        "tracking_number": "EJ958083578UK",
        "shipping_provider": "royalmail",
        "items": [{"order_product_id": 65, "quantity": 1}],
    }
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/218/shipments", status=204, body=b"")
        mock.get(f"{ROOT}/v2/orders/218/products", json=products)
        mock.post(
            f"{ROOT}/v2/orders/218/shipments",
            json=payload("order_v2_shipment_create_response.json"),
            match=[matchers.json_params_matcher(expected)],
        )
        assert (
            bc.push_fulfilment(push([{"external_id": "65", "sku": "S-ORAN", "quantity": 1}]))
            == "11"
        )


def test_a_shipment_already_there_with_the_tracking_number_is_the_answer():
    bc, _ = connector()
    existing = [
        payload("order_v2_shipment_create_response.json") | {"tracking_number": "ej958083578uk"}
    ]
    with responses.RequestsMock() as mock:  # no POST: it would fail the test
        mock.get(f"{ROOT}/v2/orders/218/shipments", json=existing)
        assert bc.push_fulfilment(push([{"external_id": "65", "quantity": 1}])) == "11"


def test_a_second_parcel_of_a_partly_shipped_order_is_a_shipment_of_its_own():
    # the order's first parcel (product 65) is already shipment 11; the second carries 66
    bc, _ = connector()
    first = payload("order_v2_shipment_create_response.json") | {
        "tracking_number": "EJ958083578UK",
        "items": [{"order_product_id": 65, "product_id": 0, "quantity": 1}],
    }
    second = dataclasses.replace(
        push([{"external_id": "66", "sku": "ABS", "quantity": 1}]),
        parcel_id=2,
        tracking_number="EJ000000002UK",
    )
    expected = {
        "order_address_id": 132,
        "tracking_number": "EJ000000002UK",
        "shipping_provider": "royalmail",
        "items": [{"order_product_id": 66, "quantity": 1}],
    }
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/218/shipments", json=[first])
        mock.get(f"{ROOT}/v2/orders/218/products", json=document()["products"])
        mock.post(
            f"{ROOT}/v2/orders/218/shipments",
            json=first | {"id": 12, "tracking_number": "EJ000000002UK"},
            match=[matchers.json_params_matcher(expected)],
        )
        assert bc.push_fulfilment(second) == "12"


@pytest.mark.parametrize(
    ("carrier", "name", "url", "fields"),
    [
        ("royalmail", "Royal Mail", None, {"shipping_provider": "royalmail"}),
        ("ups", "UPS", "https://ups.example/1", {"shipping_provider": "ups"}),
        ("dhl", "DHL", None, {"shipping_provider": "", "tracking_carrier": "dhl"}),
        (
            "evri",
            "Evri",
            "https://evri.example/t/1",
            {
                "shipping_provider": "",
                "tracking_carrier": "myhermes-uk",
                "tracking_link": "https://evri.example/t/1",
            },
        ),
        ("acme", "Acme", None, {"shipping_provider": "", "tracking_carrier": ""}),
        ("acme", "auspost", None, {"shipping_provider": "auspost"}),  # the mapping names one
        (
            "acme",
            "acme-couriers",
            None,
            {"shipping_provider": "", "tracking_carrier": "acme-couriers"},
        ),
    ],
)
def test_the_carrier_is_a_provider_from_bigcommerces_list_else_a_tracking_carrier(
    carrier, name, url, fields
):
    assert fulfilment.carrier_fields(push([], carrier, name, url)) == fields


def test_the_recorded_request_shape_is_what_is_sent_for_a_shipment():
    recorded = payload("order_v2_shipment_create_request.json")
    body = fulfilment.shipment_body(
        push([{"external_id": "65", "quantity": 1}]), "X1", document()["products"]
    )
    assert set(body) <= set(recorded) | {"tracking_carrier", "tracking_link"}
    assert set(body["items"][0]) <= set(recorded["items"][0])


def test_a_parcel_across_two_addresses_or_with_unknown_lines_is_refused():
    products = document()["products"]
    products[1]["order_address_id"] = 133
    lines = [{"external_id": "65", "quantity": 1}, {"external_id": "66", "quantity": 1}]
    with pytest.raises(PermanentError, match="2 shipping addresses"):
        fulfilment.shipment_body(push(lines), "X1", products)
    with pytest.raises(PermanentError, match="no product"):
        fulfilment.shipment_body(push([{"external_id": "99", "quantity": 1}]), "X1", products)


# -- hooks ------------------------------------------------------------------------------------

URL = "https://hub.example/webhooks/bc-a"


def hook(n, scope, active=True, destination=URL, headers=None):
    return {
        "id": n,
        "scope": scope,
        "destination": destination,
        "is_active": active,
        "headers": headers,
    }


def test_hooks_status_finds_the_deactivated_and_the_missing():
    listed = [
        hook(1, translate.CREATED),
        hook(2, translate.UPDATED, active=False),
        hook(3, translate.STATUS_UPDATED, destination="https://elsewhere"),
    ]
    bc, _ = connector()
    with responses.RequestsMock() as mock:
        mock.get(
            f"{ROOT}/v3/hooks", json={"data": listed, "meta": {"pagination": {"total_pages": 1}}}
        )
        state = bc.webhook_subscriptions(URL)
    assert state == {
        "ok": False,
        "inactive": [translate.UPDATED],
        "missing": sorted({translate.STATUS_UPDATED, translate.ARCHIVED, translate.REFUND_CREATED}),
    }


def test_sync_reactivates_and_creates_with_the_scope_and_secret_headers():
    secret = "header-secret-0123456789"
    scope_headers = {hooks.SCOPE_HEADER: translate.CREATED, "X-Hub-Webhook-Secret": secret}
    listed = [
        hook(1, translate.CREATED, headers=scope_headers),
        hook(2, translate.UPDATED, active=False),
    ]
    bc, _ = connector(webhook_header_secret=secret)
    with responses.RequestsMock() as mock:
        mock.get(
            f"{ROOT}/v3/hooks", json={"data": listed, "meta": {"pagination": {"total_pages": 1}}}
        )
        mock.put(
            f"{ROOT}/v3/hooks/2",
            json={"data": {}},
            match=[
                matchers.json_params_matcher(
                    {
                        "is_active": True,
                        "headers": {
                            hooks.SCOPE_HEADER: translate.UPDATED,
                            "X-Hub-Webhook-Secret": secret,
                        },
                    }
                )
            ],
        )
        mock.post(f"{ROOT}/v3/hooks", json={"data": {}})
        done = bc.sync_webhook_subscriptions(URL)
        created = [json.loads(c.request.body) for c in mock.calls if c.request.method == "POST"]
    assert done[0] == f"{translate.UPDATED}: updated (inactive)"
    assert sorted(c["scope"] for c in created) == sorted(
        [translate.STATUS_UPDATED, translate.ARCHIVED, translate.REFUND_CREATED]
    )
    assert all(
        c["destination"] == URL
        and c["is_active"]
        and c["headers"][hooks.SCOPE_HEADER] == c["scope"]
        for c in created
    )
