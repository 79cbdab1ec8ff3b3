"""Mapping specs (hub.mapping): parsing, validation with exact pointers, and applying a spec to
real recorded payloads after the connector's own translator.

Payloads are the connectors' recorded samples, parsed with hub.values.loads. The Shopify
2024-04 order is used unwrapped, as an ``orders/*`` webhook delivers it, so expressions read
``note_attributes``, not ``order.note_attributes``. Variants are deep copies changed in the test.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import jmespath
import pytest

from connectors.channels.shopify.translate import translate_order as shopify_translate
from connectors.channels.woocommerce.translate import translate_order as woo_translate
from hub.canonical import NO_SHIPPING_COUNTRY, OrderStatus, OrderUpdate
from hub.errors import MappingError
from hub.mapping.compiled import (
    SPEC_FORMAT,
    CompiledMapping,
    Ignored,
    apply_mapping,
    compile_spec,
    default_spec,
    parse_spec,
    validate_spec,
)
from hub.mapping.expressions import compile_expression
from hub.shipping import shipments
from hub.values import loads

CHANNELS = Path(__file__).resolve().parents[2] / "connectors" / "channels"
SHOPIFY_REST = "order_get_rest_2024-04_response.json"
SHOPIFY_TEST = "orders_create_webhook_test_notification.json"
WOO = "order_get_v3_response.json"


def payload(connector: str, name: str) -> Any:
    return loads((CHANNELS / connector / "tests" / "payloads" / name).read_bytes())


def shopify_order() -> dict[str, Any]:
    """The Shopify 2024-04 docs order as a webhook carries it (unwrapped)."""
    return payload("shopify", SHOPIFY_REST)["order"]


def shopify(raw: dict[str, Any]) -> OrderUpdate:
    return shopify_translate(raw, topic="orders/create")


def woo(raw: dict[str, Any]) -> OrderUpdate:
    update = woo_translate(raw, topic="order.created")
    assert isinstance(update, OrderUpdate)
    return update


def mapping(**sections: Any) -> CompiledMapping:
    return compile_spec({"version": 1, **sections})


def apply(spec: CompiledMapping, update: OrderUpdate, raw: Any, **kwargs: Any) -> OrderUpdate:
    result = apply_mapping(spec, update, raw, line_path="line_items", **kwargs)
    assert isinstance(result, OrderUpdate)
    return result


# -- applying: fields ---------------------------------------------------------------------


def test_fields_from_note_attributes_and_nested_paths():
    raw = shopify_order()
    spec = mapping(
        fields={
            "notes": "note_attributes[?name=='custom engraving'].value | [0]",
            "shipping_address.region": "shipping_address.province",
            "shipping.method": "shipping_lines[0].code",
            "customer.phone": "customer.default_address.phone",
        }
    )
    before = shopify(raw)
    assert before.order.notes is None
    assert before.order.shipping_address.region == "KY"

    after = apply(spec, before, raw)

    assert after.order.notes == "Happy Birthday"
    assert after.order.shipping_address.region == "Kentucky"
    assert after.order.shipping.method == "Free Shipping"
    assert after.order.customer.phone == "555-625-1199"


def test_tags_from_a_string_are_split_on_commas():
    raw = shopify_order()
    spec = mapping(fields={"tags": "join(', ,', note_attributes[].value)"})
    assert shopify(raw).order.tags == []

    after = apply(spec, shopify(raw), raw)

    assert after.order.tags == ["Happy Birthday", "green"]


def test_null_or_empty_result_leaves_the_translators_value():
    raw = shopify_order()
    before = shopify(raw)
    spec = mapping(
        fields={
            "customer.email": "note_attributes[?name=='email'].value | [0]",  # null
            "shipping_address.line2": "shipping_address.address2",  # ""
            "tags": "note_attributes[?name=='nothing'].value",  # []
        }
    )

    after = apply(spec, before, raw)

    assert (
        after.order.customer.email == before.order.customer.email == "bob.norman@mail.example.com"
    )
    assert after.order.shipping_address.line2 is None
    assert after.order.tags == []
    assert after.problems == []


def test_field_results_that_cannot_be_the_field_are_problems_not_crashes():
    raw = shopify_order()
    spec = mapping(
        fields={
            "shipping_address.country_code": "shipping_address.country",  # "United States"
            "notes": "note_attributes",  # a list
            "number": "length(total_weight)",  # fails on this payload: a number has no length
        }
    )
    before = shopify(raw)

    after = apply(spec, before, raw)

    assert after.order.shipping_address.country_code == "US"
    assert after.order.notes is None
    assert after.order.number == "#1001"
    assert after.problems[0] == (
        "fields.shipping_address.country_code: "
        "not an ISO 3166-1 alpha-2 country code: 'United States'"
    )
    assert after.problems[1].startswith("fields.notes: expected text, the expression gave [")
    assert after.problems[2].startswith("fields.number: JMESPath error: ")
    assert len(after.problems) == 3


def test_a_field_can_supply_an_address_the_translator_lacked():
    raw = copy.deepcopy(shopify_order())
    raw["billing_address"] = None
    raw["note_attributes"].append({"name": "billing_city", "value": "Leeds"})
    spec = mapping(
        fields={"billing_address.city": "note_attributes[?name=='billing_city'].value|[0]"}
    )

    after = apply(spec, shopify(raw), raw)

    assert after.order.billing_address is not None
    assert after.order.billing_address.city == "Leeds"


# -- applying: lookups --------------------------------------------------------------------


def test_sku_lookup_renames_and_explodes_a_kit_with_money_on_the_first_component():
    raw = shopify_order()
    before = shopify(raw)
    spec = mapping(
        lookups={
            "sku": [
                {"from": "IPOD2008GREEN", "to": "IPOD-GREEN"},
                {
                    "from": "IPOD2008RED",
                    "to": [{"sku": "IPOD-RED", "quantity": 1}, {"sku": "EARBUDS", "quantity": 2}],
                },
            ]
        }
    )

    after = apply(spec, before, raw)

    got = [
        (line.external_id, line.sku, line.quantity, line.unit_price, line.discount, line.tax)
        for line in after.order.lines
    ]
    red = before.order.lines[1]
    assert got == [
        ("466157049", "IPOD-GREEN", 0, Decimal("199.00"), Decimal("0.00"), Decimal("0.00")),
        ("518995019", "IPOD-RED", 1, red.unit_price, red.discount, red.tax),
        ("518995019", "EARBUDS", 2, Decimal("0.00"), Decimal("0.00"), Decimal("0.00")),
        ("703073504", "IPOD2008BLACK", 0, Decimal("199.00"), Decimal("0.00"), Decimal("0.00")),
    ]
    assert after.order.lines[2].name == red.name == "IPod Nano - 8gb - red"
    assert after.order.totals == before.order.totals


def test_kit_quantities_multiply_the_line_quantity():
    raw = copy.deepcopy(shopify_order())
    raw["line_items"][1]["current_quantity"] = 3
    spec = mapping(
        lookups={
            "sku": [
                {
                    "from": "IPOD2008RED",
                    "to": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 2}],
                }
            ]
        }
    )

    after = apply(spec, shopify(raw), raw)

    assert [(line.sku, line.quantity) for line in after.order.lines[1:3]] == [("A", 3), ("B", 6)]


def test_shipping_lookup_sets_carrier_service():
    raw = shopify_order()
    spec = mapping(
        lookups={
            "shipping": [{"from": "free shipping", "carrier": "royalmail", "service": "TPN48"}]
        }
    )
    assert shopify(raw).order.shipping.carrier_service is None

    after = apply(spec, shopify(raw), raw)

    assert after.order.shipping.method == "Free Shipping"
    assert after.order.shipping.carrier_service == "royalmail/TPN48"


def test_status_lookup_maps_a_custom_woocommerce_status_and_drops_its_problem():
    raw = copy.deepcopy(payload("woocommerce", WOO))
    raw["status"] = "awaiting-shipment"
    before = woo(raw)
    assert before.order.status is OrderStatus.ON_HOLD
    assert before.status_problem == "unknown WooCommerce status 'awaiting-shipment'"
    assert before.problems == [before.status_problem, "line_items[0]: no SKU"]
    spec = mapping(lookups={"status": [{"from": "awaiting-shipment", "to": "ready"}]})

    after = apply(spec, before, raw)

    assert after.order.status is OrderStatus.READY
    assert after.problems == ["line_items[0]: no SKU"]
    assert after.channel_status == "awaiting-shipment"
    assert after.status_problem is None


def test_status_lookup_that_does_not_match_keeps_the_problem():
    raw = copy.deepcopy(payload("woocommerce", WOO))
    raw["status"] = "awaiting-shipment"
    before = woo(raw)
    spec = mapping(lookups={"status": [{"from": "packed", "to": "ready"}]})

    after = apply(spec, before, raw)

    assert after.order.status is OrderStatus.ON_HOLD
    assert after.problems == before.problems
    assert after.status_problem == before.status_problem


def test_tracking_carrier_names_per_channel():
    shop = compile_spec(default_spec("shopify"))
    woo_names = compile_spec(default_spec("woocommerce"))
    override = mapping(lookups={"tracking_carrier": [{"from": "royalmail", "to": "RM Tracked"}]})

    assert shop.tracking_carrier("royalmail") == "Royal Mail"
    assert shop.tracking_carrier("dhl") == "DHL Express"
    assert shop.tracking_carrier("dpd_uk") == "DPD UK"
    assert woo_names.tracking_carrier("dpd_uk") == "DPD.co.uk"
    assert woo_names.tracking_carrier("evri") == "EVRi"
    assert woo_names.tracking_carrier("fedex") == "Fedex"
    assert shop.tracking_carrier("usps") == "USPS"
    assert shop.tracking_carrier("pigeon") is None
    assert override.tracking_carrier("royalmail") == "RM Tracked"


# -- applying: rules ----------------------------------------------------------------------


def test_hold_tags_put_the_order_on_hold():
    raw = copy.deepcopy(shopify_order())
    raw["tags"] = "vip, Fraud-Review"
    spec = mapping(rules={"hold_tags": ["fraud-review"]})
    assert shopify(raw).order.status is OrderStatus.READY

    assert apply(spec, shopify(raw), raw).order.status is OrderStatus.ON_HOLD
    raw["tags"] = "vip"
    assert apply(spec, shopify(raw), raw).order.status is OrderStatus.READY


def test_hold_if_puts_the_order_on_hold():
    raw = shopify_order()
    big = mapping(rules={"hold_if": "to_number(total_price) > `500`"})  # 598.94
    small = mapping(rules={"hold_if": "to_number(total_price) > `1000`"})

    assert apply(big, shopify(raw), raw).order.status is OrderStatus.ON_HOLD
    assert apply(small, shopify(raw), raw).order.status is OrderStatus.READY


def test_hold_rules_never_uncancel():
    raw = payload("shopify", SHOPIFY_TEST)
    before = shopify(raw)
    assert before.order.status is OrderStatus.CANCELLED
    spec = mapping(rules={"hold_if": "`true`", "hold_tags": ["x"]})

    assert apply(spec, before, raw).order.status is OrderStatus.CANCELLED


def test_ignore_if_on_the_shopify_test_notification():
    spec = mapping(rules={"ignore_if": "test"})
    raw = payload("shopify", SHOPIFY_TEST)
    assert raw["test"] is True

    assert apply_mapping(spec, shopify(raw), raw) == Ignored("rules.ignore_if matched")
    real = shopify_order()  # "test": false
    assert isinstance(apply_mapping(spec, shopify(real), real), OrderUpdate)


def test_default_country_fixes_a_missing_country_and_its_problem():
    raw = copy.deepcopy(payload("woocommerce", WOO))
    raw["shipping"]["country"] = ""
    raw["billing"]["country"] = ""
    before = woo(raw)
    assert NO_SHIPPING_COUNTRY in before.problems
    spec = mapping(rules={"default_country": "gb"})

    after = apply(spec, before, raw)

    assert after.order.shipping_address.country_code == "GB"
    assert after.order.billing_address.country_code == "GB"
    assert after.problems == ["line_items[0]: no SKU"]


def test_default_country_does_not_replace_a_country():
    raw = payload("woocommerce", WOO)
    after = apply(mapping(rules={"default_country": "GB"}), woo(raw), raw)
    assert after.order.shipping_address.country_code == "US"


def test_catalogue_names_unknown_skus_of_lines_to_ship():
    raw = shopify_order()  # only IPOD2008RED still has a quantity (1); the others were refunded
    spec = mapping(lookups={"sku": [{"from": "IPOD2008GREEN", "to": "IPOD-GREEN"}]})

    after = apply(spec, shopify(raw), raw, catalogue={"IPOD-GREEN", "IPOD2008BLACK"})

    assert after.problems == ["unknown SKU 'IPOD2008RED'"]
    assert apply(spec, shopify(raw), raw, catalogue={"IPOD2008RED"}).problems == []


def test_problem_line_paths_stay_payload_indexes_after_a_kit():
    raw = copy.deepcopy(shopify_order())
    raw["line_items"][2]["sku"] = ""  # third line: no SKU
    spec = mapping(
        lookups={
            "sku": [
                {
                    "from": "IPOD2008GREEN",
                    "to": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1}],
                }
            ]
        }
    )
    before = shopify(raw)
    assert before.problems == ["line_items[2]: no SKU"]

    after = apply(spec, before, raw)

    assert len(after.order.lines) == 4
    assert after.problems == ["line_items[2]: no SKU"]


def test_apply_does_not_mutate_the_update_or_the_payload():
    raw = copy.deepcopy(payload("woocommerce", WOO))
    raw["status"] = "awaiting-shipment"
    raw["shipping"]["country"] = ""
    raw["line_items"][0]["sku"] = "Woo1"
    update = woo(raw)
    update_before, raw_before = copy.deepcopy(update), copy.deepcopy(raw)
    spec = mapping(
        fields={"notes": "payment_method_title", "tags": '`"a, b"`'},
        lookups={
            "sku": [
                {"from": "Woo1", "to": [{"sku": "K1", "quantity": 2}, {"sku": "K2", "quantity": 1}]}
            ],
            "status": [{"from": "awaiting-shipment", "to": "ready"}],
            "shipping": [{"from": "Flat Rate", "carrier": "evri", "service": "48"}],
        },
        rules={"default_country": "GB", "hold_tags": ["b"]},
    )

    after = apply(spec, update, raw, catalogue={"K1"})

    assert update == update_before
    assert raw == raw_before
    assert after.order is not update.order
    assert after.order.status is OrderStatus.ON_HOLD
    assert after.problems == ["unknown SKU 'K2'", "unknown SKU 'Bar3'"]


# -- specs: parsing and validation --------------------------------------------------------


def test_default_specs_validate_and_change_no_order():
    for connector in ("shopify", "woocommerce"):
        spec = default_spec(connector)
        assert spec["version"] == SPEC_FORMAT
        assert validate_spec(spec) == []
        assert set(spec) == {"version", "lookups"}
        assert set(spec["lookups"]) == {"tracking_carrier"}
        carriers = [entry["from"] for entry in spec["lookups"]["tracking_carrier"]]
        assert carriers == ["royalmail", "dpd_uk", "evri", "dhl", "ups", "fedex", "dpd", "usps"]
        assert set(carriers) == set(shipments.carriers())  # every installed carrier named
    assert default_spec("nosuchconnector") == {"version": 1}  # no file: the empty spec
    with pytest.raises(MappingError):
        default_spec("../hub/x")


def test_parse_yaml_and_json():
    text = 'version: 1\nfields:\n  notes: "note_attributes[0].value"\n'
    assert parse_spec(text, "yaml") == parse_spec(text.encode(), "yaml")
    assert parse_spec('{"version": 1, "lookups": {"sku": []}}', "json")["lookups"] == {"sku": []}


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        (
            "version: 1\nfields:\n  notes: [unclosed\n",
            "yaml",
            "YAML syntax error at line 4, column 1: expected ',' or ']', but got '<stream end>'",
        ),
        (
            "version: 1\nrules:\n  hold_if: a\n   ignore_if: b\n",
            "yaml",
            "YAML syntax error at line 4, column 13: mapping values are not allowed here",
        ),
        (
            "version: 1\nversion: 2\n",
            "yaml",
            "YAML syntax error at line 2, column 1: duplicate key 'version'",
        ),
        (
            '{"version": 1,\n "fields": {,}}',
            "json",
            "JSON syntax error at line 2, column 13: "
            "Expecting property name enclosed in double quotes",
        ),
        ("- version: 1\n", "yaml", "a mapping spec must be a mapping (object), got a list"),
        ("", "yaml", "a mapping spec must be a mapping (object), got nothing"),
        ("version: 1", "toml", "unknown spec format 'toml' (use 'yaml' or 'json')"),
    ],
)
def test_parse_errors_name_the_place(text: str, fmt: str, message: str):
    with pytest.raises(MappingError) as caught:
        parse_spec(text, fmt)
    assert caught.value.message == message


KNOWN = {"IPOD-PINK", "MUG-RED"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"fields": {}}, "version: required"),
        ({"version": 2}, "version: must be 1"),
        ({"version": "1"}, "version: must be 1"),
        ({"version": True}, "version: must be 1"),
        ({"version": 1, "colour": "red"}, "colour: unknown key"),
        (
            {"version": 1, "fields": {"colour": "a"}},
            "fields.colour: unknown field 'colour' (allowed: ",
        ),
        (
            {"version": 1, "fields": {"notes": "note_attributes[?name==].value"}},
            "fields.notes: JMESPath syntax error at column 24: invalid token ']'",
        ),
        (
            {"version": 1, "fields": {"notes": "a ||| b"}},
            "fields.notes: JMESPath syntax error at column 5: ",
        ),
        (
            {"version": 1, "fields": {"tags": "nosuch(tags)"}},
            "fields.tags: unknown JMESPath function nosuch()",
        ),
        (
            {"version": 1, "fields": {"tags": "join(',')"}},
            "fields.tags: JMESPath function join() takes 2 arguments, got 1",
        ),
        (
            {"version": 1, "fields": {"notes": 5}},
            "fields.notes: must be a JMESPath expression (a string)",
        ),
        ({"version": 1, "fields": ["notes"]}, "fields: must be a mapping of canonical field to "),
        (
            {
                "version": 1,
                "lookups": {
                    "sku": [{"from": "A", "to": "IPOD-PINK"}, {"from": "A", "to": "MUG-RED"}]
                },
            },
            "lookups.sku[1].from: duplicate channel SKU 'A'",
        ),
        (
            {
                "version": 1,
                "lookups": {
                    "sku": [{"from": "A", "to": "IPOD-PINK"}, {"from": "B", "to": "MUG-BLU"}]
                },
            },
            "lookups.sku[1].to: unknown warehouse SKU 'MUG-BLU'",
        ),
        (
            {
                "version": 1,
                "lookups": {"sku": [{"from": "A", "to": [{"sku": "MUG-BLU", "quantity": 1}]}]},
            },
            "lookups.sku[0].to[0].sku: unknown warehouse SKU 'MUG-BLU'",
        ),
        (
            {
                "version": 1,
                "lookups": {"sku": [{"from": "A", "to": [{"sku": "MUG-RED", "quantity": 0}]}]},
            },
            "lookups.sku[0].to[0].quantity: must be a whole number >= 1",
        ),
        (
            {
                "version": 1,
                "lookups": {"sku": [{"from": "A", "to": [{"sku": "MUG-RED", "quantity": 1.5}]}]},
            },
            "lookups.sku[0].to[0].quantity: must be a whole number >= 1",
        ),
        (
            {"version": 1, "lookups": {"sku": [{"from": "A", "to": []}]}},
            "lookups.sku[0].to: a kit must list at least one component",
        ),
        ({"version": 1, "lookups": {"sku": [{"to": "MUG-RED"}]}}, "lookups.sku[0].from: required"),
        (
            {"version": 1, "lookups": {"sku": [{"from": " ", "to": "MUG-RED"}]}},
            "lookups.sku[0].from: must not be empty",
        ),
        (
            {"version": 1, "lookups": {"sku": [{"from": 12345, "to": "MUG-RED"}]}},
            "lookups.sku[0].from: must be a string",
        ),
        ({"version": 1, "lookups": {"sku": {"from": "A"}}}, "lookups.sku: must be a list"),
        ({"version": 1, "lookups": {"sku": ["A"]}}, "lookups.sku[0]: must be a mapping"),
        (
            {"version": 1, "lookups": {"sku": [{"from": "A", "to": "MUG-RED", "qty": 2}]}},
            "lookups.sku[0].qty: unknown key",
        ),
        (
            {
                "version": 1,
                "lookups": {"shipping": [{"from": "Generic Shipping", "service": "TPN24"}]},
            },
            "lookups.shipping[0].carrier: required",
        ),
        (
            {
                "version": 1,
                "lookups": {"shipping": [{"from": "x", "carrier": "royal/mail", "service": "1"}]},
            },
            "lookups.shipping[0].carrier: must not contain '/'",
        ),
        (
            {
                "version": 1,
                "lookups": {
                    "shipping": [
                        {"from": "Flat", "carrier": "dhl", "service": "a"},
                        {"from": "FLAT", "carrier": "ups", "service": "b"},
                    ]
                },
            },
            "lookups.shipping[1].from: duplicate shipping method 'FLAT'",
        ),
        (
            {"version": 1, "lookups": {"status": [{"from": "x", "to": "shipped-ish"}]}},
            "lookups.status[0].to: 'shipped-ish' is not a canonical status (one of "
            "awaiting_payment, on_hold, ready, released, partially_shipped, shipped, delivered, "
            "cancelled)",
        ),
        (
            {"version": 1, "lookups": {"status": [{"from": "x", "to": "needs_attention"}]}},
            "lookups.status[0].to: 'needs_attention' is not a canonical status",
        ),
        (
            {"version": 1, "lookups": {"tracking_carrier": [{"from": "dhl"}]}},
            "lookups.tracking_carrier[0].to: required",
        ),
        ({"version": 1, "lookups": {"colour": []}}, "lookups.colour: unknown key"),
        (
            {"version": 1, "rules": {"default_country": "GBR"}},
            "rules.default_country: not an ISO 3166-1 alpha-2 code 'GBR'",
        ),
        ({"version": 1, "rules": {"hold_tags": "fraud"}}, "rules.hold_tags: must be a list"),
        ({"version": 1, "rules": {"hold_tags": ["ok", 7]}}, "rules.hold_tags[1]: must be a string"),
        (
            {"version": 1, "rules": {"hold_if": "total >"}},
            "rules.hold_if: JMESPath syntax error at column 8: incomplete expression",
        ),
        ({"version": 1, "rules": {"ignore_if": ""}}, "rules.ignore_if: must not be empty"),
        ({"version": 1, "rules": {"hold_when": "x"}}, "rules.hold_when: unknown key"),
        ({"version": 1, "rules": []}, "rules: must be a mapping"),
        ([1], "$: must be a mapping"),
    ],
)
def test_invalid_specs_are_rejected_with_the_exact_place(spec: Any, message: str):
    problems = validate_spec(spec, known_skus=KNOWN)

    assert len(problems) == 1, problems
    assert problems[0].startswith(message), problems
    with pytest.raises(MappingError) as caught:
        compile_spec(spec, known_skus=KNOWN)
    assert caught.value.details == problems


def test_unknown_warehouse_skus_are_checked_only_when_known_skus_are_given():
    spec = {"version": 1, "lookups": {"sku": [{"from": "A", "to": "MUG-BLU"}]}}
    assert validate_spec(spec) == []
    assert validate_spec(spec, known_skus=KNOWN) == [
        "lookups.sku[0].to: unknown warehouse SKU 'MUG-BLU'"
    ]


def test_validation_collects_every_problem_in_document_order():
    text = """\
version: 2
fields:
  notes: "note_attributes[?name=='gift'"
  colour: name
lookups:
  sku:
    - {from: IPOD2008PINK, to: IPOD-PINK}
    - {from: IPOD2008PINK, to: MUG-RED}
    - {from: BUNDLE-1, to: [{sku: MUG-RED, quantity: 2}, {sku: MUG-BLU, quantity: 0}]}
  shipping:
    - {from: Generic Shipping, service: TPN24}
  status:
    - {from: awaiting-shipment, to: shipped-ish}
rules:
  default_country: GBR
  hold_tags: fraud-review
"""
    problems = validate_spec(parse_spec(text, "yaml"), known_skus=KNOWN)

    assert [problem.split(": ")[0] for problem in problems] == [
        "version",
        "fields.notes",
        "fields.colour",
        "lookups.sku[1].from",
        "lookups.sku[2].to[1].sku",
        "lookups.sku[2].to[1].quantity",
        "lookups.shipping[0].carrier",
        "lookups.status[0].to",
        "rules.default_country",
        "rules.hold_tags",
    ]
    assert problems[4] == "lookups.sku[2].to[1].sku: unknown warehouse SKU 'MUG-BLU'"
    with pytest.raises(MappingError) as caught:
        compile_spec(parse_spec(text, "yaml"), known_skus=KNOWN)
    assert caught.value.details == problems
    assert caught.value.message.startswith("invalid mapping spec (10 problems): version: must be 1")


def test_a_valid_spec_in_the_documented_format():
    text = """\
version: 1
fields:
  notes: "note_attributes[?name=='gift_message'].value | [0]"
  shipping.method: "shipping_lines[0].code"
lookups:
  sku:
    - {from: "IPOD2008PINK", to: "IPOD-PINK"}
    - {from: "BUNDLE-1", to: [{sku: "MUG-RED", quantity: 2}, {sku: "MUG-BLU", quantity: 1}]}
  shipping:
    - {from: "Generic Shipping", carrier: "royalmail", service: "TPN24"}
  status:
    - {from: "awaiting-shipment", to: "ready"}
  tracking_carrier:
    - {from: "royalmail", to: "Royal Mail"}
rules:
  hold_tags: ["fraud-review"]
  hold_if: "total_price > `1000`"
  ignore_if: "test"
  default_country: "GB"
"""
    spec = parse_spec(text, "yaml")
    assert validate_spec(spec) == []
    assert compile_spec(spec).spec is spec


# -- the expression engine ----------------------------------------------------------------

EXPRESSIONS = [
    "test",
    "shipping_address.city",
    "line_items[0].sku",
    "line_items[-1].sku",
    "line_items[9].sku",
    "line_items[].sku",
    "line_items[*].tax_lines[].price",
    "line_items[][]",
    "note_attributes[?name=='colour'].value | [0]",
    "note_attributes[?name!='colour'].value",
    "line_items[?quantity > `0`].sku",
    "line_items[?to_number(price) > `100`].sku",
    "line_items[?!gift_card].id",
    "line_items[?`true`].id",
    "!test",
    "!`0`",
    "test || name",
    "test && name",
    "length(line_items)",
    "join(',', line_items[].sku)",
    "sort_by(line_items, &sku)[0].sku",
    "line_items[0:2].sku",
    "{a: name, b: email}",
    "*.id",
    "`null`",
    "status == 'processing'",
    "line_items[?quantity == `1`].name",
    "shipping_address.latitude > `40`",
    "not_null(note, name)",
    "length(total_weight)",
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_compiled_expressions_agree_with_jmespath(expression: str):
    compiled = compile_expression(expression)
    for raw in (shopify_order(), payload("shopify", SHOPIFY_TEST), payload("woocommerce", WOO)):
        try:
            want: Any = jmespath.search(expression, raw)
        except jmespath.exceptions.JMESPathError as exc:
            want = type(exc)
        try:
            got: Any = compiled(raw)
        except jmespath.exceptions.JMESPathError as exc:
            got = type(exc)
        assert got == want
