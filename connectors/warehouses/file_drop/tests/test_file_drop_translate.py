"""File drop formats (connectors.warehouses.file_drop.translate): pure, bytes in and out.

``payloads/`` holds one sample of each incoming format, written for these tests in the formats
the connector documents (a warehouse's developer can start from them). Variants are made in
the tests.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.warehouses.file_drop.translate import (
    CANCEL_COLUMNS,
    MAX_PROBLEMS,
    ORDER_COLUMNS,
    FileProblem,
    cancel_file,
    file_format,
    order_file,
    parse_shipments,
    parse_stock,
    same_order,
)
from hub.connectors import StockCount

PAYLOADS = Path(__file__).parent / "payloads"


def sample(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def an_order(**changes) -> dict:
    """A canonical order as hub.orders.to_json gives it (the parts the files use)."""
    order = {
        "id": 12,
        "client": "acme",
        "channel": "shopify",
        "account": "shop-a",
        "external_id": "450789469",
        "number": "#1001",
        "status": "ready",
        "placed_at": "2008-01-10T16:00:00Z",
        "customer": {"email": "bob@example.com", "name": "Bob Norman", "phone": "+4420"},
        "shipping_address": {
            "name": "Bob Norman",
            "company": None,
            "line1": "Chestnut Street 92",
            "line2": None,
            "city": "Louisville",
            "region": "KY",
            "postal_code": "40202",
            "country_code": "US",
            "phone": "+1(502)-459-2181",
        },
        "lines": [
            {"external_id": "1", "sku": "MUG-1", "name": "Mug", "quantity": 2},
            {"external_id": "2", "sku": "GONE", "name": "Refunded", "quantity": 0},
            {"external_id": "3", "sku": "CARD", "name": "Gift card", "quantity": 1},
            {"external_id": "4", "sku": "TEE", "name": 'Tee, "red"', "quantity": 1},
        ],
        "shipping": {"method": "Tracked 24", "carrier_service": "TPN24", "price": "3.99"},
    }
    for line in order["lines"]:
        line["requires_shipping"] = line["sku"] != "CARD"
    return {**order, **changes}


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def problems(fn, name: str, data: bytes) -> list[str]:
    with pytest.raises(FileProblem) as caught:
        fn(name, data)
    assert caught.value.name == name
    assert str(caught.value).splitlines() == [f"{name} {p}" for p in caught.value.problems]
    return caught.value.problems


# -- out ----------------------------------------------------------------------------------


def test_a_json_order_file_is_the_canonical_order_named_by_its_hub_id():
    name, data = order_file(an_order(), "json")
    assert name == "order-12.json"
    assert json.loads(data) == an_order()
    assert data.endswith(b"\n")


def test_a_csv_order_file_has_one_row_per_line_to_pick():
    name, data = order_file(an_order(), "csv")
    assert name == "order-12.csv"
    assert data.decode().splitlines()[0] == ",".join(ORDER_COLUMNS)
    found = rows(data)
    # the refunded line (quantity 0) and the gift card (no shipping) are not picked
    assert [(r["line_id"], r["sku"], r["name"], r["quantity"]) for r in found] == [
        ("1", "MUG-1", "Mug", "2"),
        ("4", "TEE", 'Tee, "red"', "1"),
    ]
    first = found[0]
    assert first["order_id"] == "12" and first["number"] == "#1001"
    assert (first["account"], first["external_id"]) == ("shop-a", "450789469")
    assert first["ship_name"] == "Bob Norman" and first["ship_company"] == ""
    assert first["ship_postal_code"] == "40202" and first["ship_country_code"] == "US"
    # text starting like a formula is quoted for the spreadsheet (hub.values.csv_cell)
    assert first["ship_phone"] == "'+1(502)-459-2181" and first["email"] == "bob@example.com"
    assert (first["shipping_method"], first["carrier_service"]) == ("Tracked 24", "TPN24")


def test_a_csv_order_file_falls_back_to_the_customer_phone():
    order = an_order()
    order["shipping_address"] = {**order["shipping_address"], "phone": None}
    assert rows(order_file(order, "csv")[1])[0]["ship_phone"] == "'+4420"


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_cancellation_file_names_the_order_and_its_file(fmt):
    at = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    name, data = cancel_file(an_order(), "order-12.json", fmt, at)
    assert name == f"cancel-12.{fmt}"
    found = json.loads(data) if fmt == "json" else rows(data)[0]
    assert list(found) == list(CANCEL_COLUMNS)
    assert {k: str(v) for k, v in found.items()} == {
        "order_id": "12",
        "number": "#1001",
        "account": "shop-a",
        "external_id": "450789469",
        "reference": "order-12.json",
        "cancelled_at": "2026-11-26T10:00:00Z",
    }


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_same_order_tells_an_update_from_another_order(fmt):
    name, data = order_file(an_order(), fmt)
    assert same_order(name, data, data)
    updated = order_file(an_order(number="#1001-B", status="released"), fmt)[1]
    assert same_order(name, data, updated)
    other = order_file(an_order(external_id="999"), fmt)[1]
    assert not same_order(name, data, other)
    assert not same_order(name, b"garbage", data)


def test_file_format_is_the_extension_in_any_case():
    assert [file_format(n) for n in ("a.csv", "B.JSON", "c.Csv", "d.txt", "csv", "e.csv.part")] == [
        "csv",
        "json",
        "csv",
        None,
        None,
        None,
    ]


# -- in: stock ----------------------------------------------------------------------------

COUNTS = [
    StockCount("MUG-1", 12, "A1"),
    StockCount("MUG-1", 3, "B2"),
    StockCount("TEE-RED-M", 0, None),
    StockCount("POSTER-A2", 40, "A1"),
]


@pytest.mark.parametrize("name", ["stock_counts.csv", "stock_counts.json"])
def test_stock_samples_read_as_counts(name):
    assert parse_stock(name, sample(name)) == COUNTS


def test_a_stock_csv_from_a_spreadsheet_with_a_byte_order_mark_reads():
    data = "\ufeffSKU,On_Hand\r\nMUG-1,5\r\n".encode()
    assert parse_stock("stock.csv", data) == [StockCount("MUG-1", 5, None)]


def test_stock_csv_problems_name_the_file_and_every_line():
    data = b"sku,on_hand,location\nMUG-1,5,A1\nTEE,-1,A1\n,3,\nMUG-1,2,A1\nPOSTER,x\n"
    assert problems(parse_stock, "stock-0101.csv", data) == [
        "line 3: on_hand: a whole number >= 0, not a negative number",
        "line 4: sku: required",
        "line 5: the same sku and location as line 2",
        "line 6: 2 fields, the header has 3",
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "line 1: bad header (missing sku, on_hand)"),
        (b"sku,on_hand\nMUG-1,5\nMUG-2,\xe9\n", "line 3 column 7: not UTF-8 text"),
        ("sku,on_hand\nMUG-1,²\n".encode(), "line 2: on_hand: a whole number >= 0, not text"),
        (b"sku,on_hand,SKU\nMUG-1,1,2\n", "line 1: bad header (a column twice)"),
    ],
)
def test_stock_csv_that_is_no_count_at_all(data, expected):
    [problem] = problems(parse_stock, "stock.csv", data)
    assert problem.startswith(expected)


def test_stock_json_problems_name_the_place():
    data = json.dumps(
        [
            {"sku": "MUG-1", "on_hand": 5},
            {"sku": "MUG-1", "on_hand": 6},
            {"sku": "", "on_hand": 1},
            {"sku": "TEE", "on_hand": 2.0},
            {"sku": "TEE", "on_hand": 1, "locaton": "A1"},
            "MUG-2",
        ]
    ).encode()
    assert problems(parse_stock, "stock.json", data) == [
        "at [1]: the same sku and location as at [0]",
        "at [2]: sku: required",
        "at [3]: on_hand: a whole number >= 0, not a decimal number",
        "at [4]: unknown key (number 3); known: sku, on_hand, location",
        "at [5]: must be an object",
    ]


def test_stock_json_syntax_error_names_the_line():
    [problem] = problems(parse_stock, "stock.json", b'[\n {"sku": "MUG-1",\n "on_hand": }\n]')
    assert problem.startswith("line 3 column 13: not valid JSON")
    [problem] = problems(parse_stock, "stock.json", b'{"sku": "MUG-1", "on_hand": 1}')
    assert problem == "at top: a list of {sku, on_hand, location} objects"


# -- in: shipments ------------------------------------------------------------------------


def test_the_shipments_csv_sample_groups_rows_into_parcels_by_tracking_number():
    assert parse_shipments("shipments.csv", sample("shipments.csv")) == [
        {
            "order_id": 12,
            "shipped_at": "2026-11-26T10:00:00Z",
            "parcels": [
                {
                    "carrier": "royalmail",
                    "service": "TPN24",
                    "tracking_number": "RM100000001GB",
                    "lines": [{"sku": "MUG-1", "quantity": 2}, {"sku": "TEE-RED-M", "quantity": 1}],
                },
                {
                    "carrier": "royalmail",
                    "service": "TPN24",
                    "tracking_number": "RM100000002GB",
                    "lines": [{"sku": "POSTER-A2", "quantity": 1}],
                },
            ],
        },
        {
            "order_id": 13,
            "shipped_at": "2026-11-26T10:30:00Z",  # given at +01:00, kept in UTC
            "parcels": [
                {
                    "carrier": "dpd_uk",  # the carrier's name in any case
                    "service": "next_day",
                    "tracking_number": "15501234567890",
                    "lines": [{"sku": "MUG-1", "quantity": 1}],
                }
            ],
        },
    ]


def test_the_shipments_json_sample_reads_as_bodies():
    assert parse_shipments("shipments.json", sample("shipments.json")) == [
        {
            "order_id": 12,
            "shipped_at": "2026-11-26T10:00:00Z",
            "parcels": [
                {
                    "carrier": "royalmail",
                    "service": "TPN24",
                    "tracking_number": "RM100000001GB",
                    "lines": [
                        {"sku": "MUG-1", "quantity": 2},
                        {"line_id": "518995019", "quantity": 1},
                    ],
                }
            ],
        },
        {
            "order_id": 13,
            "parcels": [
                {
                    "carrier": "dpd_uk",
                    "service": None,
                    "tracking_number": "15501234567890",
                    "lines": [{"sku": "MUG-1", "quantity": 1}],
                }
            ],
        },
    ]


def test_one_shipment_body_alone_is_a_file_too():
    body = {
        "order_id": "7",
        "parcels": [
            {
                "carrier": "evri",
                "carrier_account": "evri-main",
                "tracking_number": 123456,
                "lines": [{"line_id": 518995019, "sku": "MUG-1", "quantity": "1"}],
            }
        ],
    }
    assert parse_shipments("one.json", json.dumps(body).encode()) == [
        {
            "order_id": 7,
            "parcels": [
                {
                    "carrier": "evri",
                    "service": None,
                    "carrier_account": "evri-main",
                    "tracking_number": "123456",
                    "lines": [{"line_id": "518995019", "sku": "MUG-1", "quantity": 1}],
                }
            ],
        }
    ]


def test_rows_of_one_order_shipped_at_two_times_are_two_shipments():
    data = (
        b"order_id,carrier,tracking_number,line_id,quantity,shipped_at\n"
        b"12,royalmail,RM1,518995019,1,2026-11-26T10:00:00Z\n"
        b"12,royalmail,RM2,518995019,1,2026-11-27T10:00:00Z\n"
    )
    found = parse_shipments("s.csv", data)
    assert [(b["order_id"], b["shipped_at"]) for b in found] == [
        (12, "2026-11-26T10:00:00Z"),
        (12, "2026-11-27T10:00:00Z"),
    ]
    assert found[0]["parcels"][0]["lines"] == [{"line_id": "518995019", "quantity": 1}]


def test_shipment_csv_problems_name_the_file_and_every_line():
    data = (
        b"order_id,carrier,service,tracking_number,sku,line_id,quantity,shipped_at\n"
        b"12,royalmail,TPN24,RM1,MUG-1,,1,2026-11-26T10:00:00Z\n"
        b"12,pigeon,,RM2,MUG-1,,1,\n"
        b"12,royalmail,TPN24,RM3,,,1,\n"
        b"x,royalmail,TPN24,RM4,MUG-1,,1,\n"
        b"12,royalmail,TPN24,RM5,MUG-1,,0,\n"
        b"12,royalmail,TPN24,RM6,MUG-1,,1,yesterday\n"
        b"13,royalmail,TPN24,RM1,MUG-1,,1,2026-11-26T10:00:00Z\n"
        b"12,royalmail,TPN48,RM1,TEE,,1,2026-11-26T10:00:00Z\n"
        b"12,royalmail,TPN24,,MUG-1,,1,\n"
        b"12,royalmail\n"
    )
    assert problems(parse_shipments, "ship-0101.csv", data) == [
        "line 3: carrier: one of dhl, dpd, dpd_uk, evri, fedex, royalmail, ups, usps",
        "line 4: give sku or line_id",
        "line 5: order_id: a whole number >= 1, not text",
        "line 6: quantity: a whole number >= 1, not zero",
        "line 7: shipped_at: an ISO 8601 time (2026-11-26T10:00:00Z)",
        "line 8: the same tracking number as line 2, with another order_id",
        "line 9: the same tracking number as line 2, with another service",
        "line 10: tracking_number: required",
        "line 11: 2 fields, the header has 8",
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"order_id,carrier,tracking_number,sku\n", "line 1: bad header (missing quantity)"),
        (
            b"order_id,carrier,tracking_number,sku,qty,quantity,weight\n",
            "line 1: bad header (unknown columns 5, 7)",
        ),
        (
            b"order_id,carrier,tracking_number,sku,quantity,SKU\n",
            "line 1: bad header (a column twice)",
        ),
    ],
)
def test_a_shipment_csv_header_must_be_exact(header, expected):
    assert problems(parse_shipments, "s.csv", header + b"12,royalmail,RM1,MUG-1,1\n") == [expected]


def test_shipment_json_problems_name_the_place():
    good = {"carrier": "ups", "tracking_number": "1Z1", "lines": [{"sku": "A", "quantity": 1}]}
    data = json.dumps(
        [
            {"order_id": 12, "parcels": [good]},
            {"order_id": 13, "parcels": [{**good, "carrier": "pigeon"}]},
            {"order_id": 14, "parcels": []},
            {"order_id": 15, "parcels": [{**good, "lines": [{"quantity": 1}]}]},
            {"order_id": 16, "parcels": [good]},
            {"order_id": 17, "shipped_at": "soon", "parcels": [good]},
            {"order": 18},
            [],
        ]
    ).encode()
    assert problems(parse_shipments, "s.json", data) == [
        "at [1]: parcels[0]: carrier: one of dhl, dpd, dpd_uk, evri, fedex, royalmail, ups, usps",
        "at [2]: parcels: give at least one parcel",
        "at [3]: parcels[0]: lines[0]: give sku or line_id",
        "at [4]: parcels[0]: the same tracking number as at [0]: parcels[0]",
        "at [5]: shipped_at: an ISO 8601 time (2026-11-26T10:00:00Z)",
        "at [6]: unknown key (number 1); known: order_id, shipped_at, parcels",
        "at [7]: must be an object",
    ]


def test_a_shipment_json_body_alone_reports_at_top():
    assert problems(parse_shipments, "s.json", b'{"order_id": 0}') == [
        "at top: order_id: a whole number >= 1, not zero"
    ]
    [problem] = problems(parse_shipments, "s.json", b"\xef\xbb\xbf[\n  {,\n]")
    assert problem.startswith("line 2 column 4: not valid JSON")


def test_a_file_wrong_on_every_line_lists_the_first_problems_and_the_rest_as_a_number():
    data = b"order_id,carrier,tracking_number,sku,quantity\n" + b"x,ups,1Z,A,1\n" * 50
    with pytest.raises(FileProblem) as caught:
        parse_shipments("s.csv", data)
    lines = str(caught.value).splitlines()
    assert len(caught.value.problems) == 50
    assert len(lines) == MAX_PROBLEMS + 1
    assert lines[0] == "s.csv line 2: order_id: a whole number >= 1, not text"
    assert lines[-1] == f"s.csv: and {50 - MAX_PROBLEMS} more problem(s)"
