"""WMS JSON <-> hub records (connectors.warehouses.rest_wms.translate): pure, no I/O.

The payloads are hand-written in the connector's default shape (see ``payloads/SOURCES.md``);
``expected/`` holds what they must become, worked out by hand.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from connectors.warehouses.rest_wms import translate
from connectors.warehouses.rest_wms.settings import RestWmsSettings
from hub.connectors import StockCount
from hub.errors import PermanentError, TranslationError
from hub.values import loads

HERE = Path(__file__).parent
CANONICAL = HERE.parents[2] / "channels/shopify/tests/expected/order_get_rest_2024-04_response.json"


def settings(**keys: Any) -> dict[str, Any]:
    """An account's validated settings: the defaults, with ``keys`` over them."""
    return RestWmsSettings().load(
        {"connector": "rest_wms", "api_base": "https://wms.example/api", "api_key": "k", **keys}
    )


def payload(name: str) -> Any:
    return loads((HERE / "payloads" / name).read_bytes())


def expected(name: str) -> Any:
    return json.loads((HERE / "expected" / name).read_text(encoding="utf-8"))


def canonical_order(order_id: int = 42) -> dict[str, Any]:
    """The Shopify 2024-04 sample as the hub's API shows it, with a hub id."""
    order = json.loads(CANONICAL.read_text(encoding="utf-8"))
    return {**order, "id": order_id, "client": "acme", "account": "shop-a"}


# -- paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "want"),
    [
        ("", {"a": {"b": [{"c": 1}, {"c": 2}]}}),
        ("a.b.1.c", 2),
        ("a.b.0", {"c": 1}),
        ("a.b.5.c", None),
        ("a.x", None),
        ("a.b.c", None),  # a name on a list
        (None, None),
    ],
)
def test_dig_follows_dotted_paths(path, want):
    assert translate.dig({"a": {"b": [{"c": 1}, {"c": 2}]}}, path) == want


def test_put_makes_the_objects_on_the_way():
    body: dict[str, Any] = {"meta": "not an object", "x": 1}
    translate.put(body, "meta.refs.hub", "42")
    translate.put(body, "top", 1)
    assert body == {"meta": {"refs": {"hub": "42"}}, "x": 1, "top": 1}


@pytest.mark.parametrize(
    ("value", "want"),
    [
        (3, 3),
        ("3", 3),
        (" 3 ", 3),
        ("-2", -2),
        (loads("3.0"), 3),
        (loads("2.5"), "2.5"),
        (4.0, 4),
        (True, True),
        ("three", "three"),
        (None, None),
    ],
)
def test_whole_numbers_are_read_exactly_and_the_rest_kept_as_json(value, want):
    got = translate.whole(value)
    assert got == want and type(got) is type(want)


# -- orders ----------------------------------------------------------------------------------


def test_the_default_body_sends_only_the_lines_to_ship_and_the_hub_id_as_reference():
    body = translate.order_body(canonical_order(), settings())
    assert body == expected("order_body_default.json")


def test_lines_that_need_no_shipping_stay_behind():
    order = canonical_order()
    order["lines"][1]["requires_shipping"] = False  # the RED line, say a gift card
    order["lines"][0]["quantity"] = 2
    body = translate.order_body(order, settings())
    assert [(ln["sku"], ln["quantity"]) for ln in body["lines"]] == [("IPOD2008GREEN", 2)]


def test_a_template_shapes_the_body_and_the_reference_is_set_whatever_it_made():
    template = (
        "{ref: to_string(id), meta: {channel: channel}, "
        "items: lines[].{code: sku, qty: quantity}, ship_to: shipping_address.{zip: postal_code}}"
    )
    s = settings(order_template=template, order_reference_field="meta.hub_order")
    body = translate.order_body(canonical_order(), s)
    assert body == {
        "ref": "42",
        "meta": {"channel": "shopify", "hub_order": "42"},
        "items": [{"code": "IPOD2008RED", "qty": 1}],
        "ship_to": {"zip": "40202"},
    }


def test_a_template_that_makes_no_object_is_a_permanent_error():
    with pytest.raises(PermanentError, match="order_template gave list"):
        translate.order_body(canonical_order(), settings(order_template="lines"))


def test_the_order_is_left_unchanged():
    order = canonical_order()
    before = copy.deepcopy(order)
    translate.order_body(order, settings(order_template="{a: lines}"))
    assert order == before


def test_idempotency_keys_are_stable_per_order_and_action():
    assert translate.idempotency_key(42) == "hub-order-42"
    assert translate.idempotency_key(42, "cancel") == "hub-order-42-cancel"


@pytest.mark.parametrize(
    ("answer", "location", "keys", "want"),
    [
        ({"id": "WMS-1"}, None, {}, "WMS-1"),
        ({"id": 9007199254740993}, None, {}, "9007199254740993"),
        (
            {"data": {"order": {"number": "SO-7"}}},
            None,
            {"reference_field": "data.order.number"},
            "SO-7",
        ),
        (None, "https://wms.example/api/orders/SO-8/", {}, "SO-8"),
        ({"id": ""}, "/api/orders/SO-9?x=1", {}, "SO-9"),
        ({"status": "accepted"}, None, {}, None),
        (None, None, {}, None),
    ],
)
def test_the_reference_of_a_new_order(answer, location, keys, want):
    assert translate.created_reference(answer, location, settings(**keys)) == want


@pytest.mark.parametrize(
    ("answer", "want"),
    [
        (
            {
                "items": [
                    {"id": "W-1", "external_reference": "41"},
                    {"id": "W-2", "external_reference": "42"},
                ]
            },
            "W-2",
        ),
        ([{"id": "W-3", "external_reference": 42}], "W-3"),
        ({"id": "W-4", "external_reference": "42"}, "W-4"),
        ({"id": "W-5"}, "W-5"),  # one order, without the reference: the filter is trusted
        ({"items": [{"id": "W-6"}]}, "W-6"),
        ({"items": [{"id": "W-7"}, {"id": "W-8"}]}, None),  # the filter was ignored
        ({"items": [{"id": "W-9", "external_reference": "41"}]}, None),  # another order
        ({"items": []}, None),
    ],
)
def test_a_lookup_finds_the_reference_of_the_hub_order(answer, want):
    assert translate.found_reference(answer, 42, settings()) == want


# -- lists -----------------------------------------------------------------------------------


def test_list_items_at_a_path_or_the_answer_itself():
    assert translate.list_items({"data": {"rows": [1, 2]}}, "data.rows", "GET /x") == [1, 2]
    assert translate.list_items([1], "", "GET /x") == [1]
    assert translate.list_items({"items": None}, "items", "GET /x") == []


def test_a_missing_list_names_the_keys_the_answer_has():
    with pytest.raises(TranslationError, match=r"GET /stock: no list at 'items'.*data, total"):
        translate.list_items({"data": [], "total": 0}, "items", "GET /stock")
    with pytest.raises(TranslationError, match="no list at ''"):
        translate.list_items({"items": []}, "", "GET /stock")


@pytest.mark.parametrize(
    ("answer", "want"),
    [
        ({"next_cursor": "c2"}, "c2"),
        ({"next_cursor": 17}, "17"),
        ({"next_cursor": ""}, None),
        ({"next_cursor": None}, None),
        ({"next_cursor": False}, None),
        ({}, None),
    ],
)
def test_the_next_cursor(answer, want):
    assert translate.next_cursor(answer, settings()) == want


def test_links_are_told_from_tokens():
    assert translate.is_link("https://wms.example/api/stock?page=2")
    assert translate.is_link("/api/stock?page=2")
    assert not translate.is_link("eyJwYWdlIjoyfQ==")


# -- stock -----------------------------------------------------------------------------------


def test_a_stock_page_becomes_counts_and_the_rows_that_cannot_be_read_are_named():
    items = payload("stock_page.json")["items"]
    counts, problems = translate.stock_counts(items, settings(location_field="location"))
    assert counts == [
        StockCount("MUG-1", 12, "A1"),
        StockCount("MUG-1", 3, "A1"),
        StockCount("MUG-1", 5, "B7"),
        StockCount("TEE-M", 4, "A2"),
        StockCount("TEE-L", 0, "A2"),
        StockCount("4006381333931", 1, "C1"),
    ]
    assert problems == [
        "stock item 4 (TEE-L): on hand -2 counted as 0",
        "stock item 6: no SKU at 'sku'; left out",
        "stock item 7 (CAP): on hand 'lots' at 'on_hand' is not a whole number; left out",
        "stock item 8 (SCARF): on hand '2.5' at 'on_hand' is not a whole number; left out",
    ]


def test_rows_of_one_place_add_up():
    items = payload("stock_page.json")["items"][:4]
    with_places, _ = translate.stock_counts(items, settings(location_field="location"))
    assert translate.merge_counts(with_places) == [
        StockCount("MUG-1", 15, "A1"),
        StockCount("MUG-1", 5, "B7"),
        StockCount("TEE-M", 4, "A2"),
    ]
    # without a location field, every row of a SKU is the default location's
    anywhere, _ = translate.stock_counts(items, settings())
    assert translate.merge_counts(anywhere) == [StockCount("MUG-1", 20), StockCount("TEE-M", 4)]


def test_nested_stock_fields():
    items = [{"product": {"sku": "MUG-1"}, "levels": {"physical": 7}, "bin": {"code": "A1-03"}}]
    s = settings(
        sku_field="product.sku", on_hand_field="levels.physical", location_field="bin.code"
    )
    assert translate.stock_counts(items, s) == ([StockCount("MUG-1", 7, "A1-03")], [])


# -- shipments -------------------------------------------------------------------------------


def test_a_shipments_page_becomes_shipment_bodies():
    s = settings(carrier_map={"rm": "royalmail"})
    read = [translate.shipment(item, s) for item in payload("shipments_page.json")["items"]]
    assert [{"id": r.id, "body": r.body} for r in read] == expected("shipments_page.json")
    assert [r.problems for r in read] == [
        [],
        [],
        ["shipment SH-1003: shipped_at 'yesterday' is no ISO 8601 time"],
        [],
    ]


def test_bodies_hold_only_json_values():
    s = settings(carrier_map={"RM": "royalmail"})
    for item in payload("shipments_page.json")["items"]:
        body = translate.shipment(item, s).body
        assert json.loads(json.dumps(body)) == body


def test_lines_are_named_by_line_id_when_the_wms_echoes_it():
    item = payload("shipments_page.json")["items"][0]
    body = translate.shipment(item, settings(line_id_field="line_ref")).body
    assert body["parcels"][0]["lines"] == [
        {"line_id": "518995019", "quantity": 1},
        {"sku": "IPOD2008GREEN", "quantity": 2},  # no line id: by SKU
    ]


def test_nested_shipment_fields():
    item = {
        "shipmentId": "S1",
        "order": {"externalRef": "7"},
        "tracking": {"number": "RM1", "carrier": {"code": "ROYAL_MAIL"}, "service": "TPS48"},
        "dates": {"dispatched": "2030-01-02T10:00:00Z"},
        "contents": [{"item": {"sku": "MUG-1"}, "qty": "2"}],
    }
    s = settings(
        shipment_id_field="shipmentId",
        shipment_order_field="order.externalRef",
        tracking_field="tracking.number",
        carrier_field="tracking.carrier.code",
        carrier_map={"ROYAL_MAIL": "royalmail"},
        service_field="tracking.service",
        shipped_at_field="dates.dispatched",
        lines_field="contents",
        line_sku_field="item.sku",
        line_quantity_field="qty",
    )
    read = translate.shipment(item, s)
    assert read.id == "S1"
    assert read.body == {
        "order_id": 7,
        "shipped_at": "2030-01-02T10:00:00Z",
        "parcels": [
            {
                "carrier": "royalmail",
                "service": "TPS48",
                "tracking_number": "RM1",
                "lines": [{"sku": "MUG-1", "quantity": 2}],
            }
        ],
    }


@pytest.mark.parametrize(
    ("reference", "want"),
    [("42", 42), (42, 42), (loads("42.0"), 42), ("B2B-7", "B2B-7"), (None, None), (True, True)],
)
def test_the_hub_order_id_from_the_external_reference(reference, want):
    assert translate.hub_order_id(reference) == want


@pytest.mark.parametrize(
    ("code", "want"),
    [("RM", "royalmail"), ("rm", "royalmail"), (" DPD ", "dpd_uk"), ("UPS", "ups"), ("", None)],
)
def test_carrier_codes_become_hub_carrier_names(code, want):
    assert translate.carrier_name(code, {"RM": "royalmail", "dpd": "dpd_uk"}) == want


def test_a_shipment_that_is_not_an_object_still_becomes_a_body_the_hub_refuses():
    read = translate.shipment("SH-1", settings())
    assert read.id is None
    assert read.body["order_id"] is None
