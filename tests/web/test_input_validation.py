"""Every bad input to the API is a 4xx whose JSON error names the field, never a 500 and never
a value the database cannot hold: ids in paths and queries, page parameters, text filters,
request bodies of every route (wrong types, huge numbers, NUL, lone surrogates, not UTF-8,
not an object), shipments and their carrier accounts, and webhooks to accounts that take none.
"""

from __future__ import annotations

import base64
import json
import re

import pytest
from sqlalchemy import func, select

from hub.storage.models import ParcelRow, ShipmentRow
from hub.web.validation import IdConverter, encode_cursor
from tests.conftest import QUIET_ROYALMAIL, accounts_fixture, receive, send_shopify, shopify_order

MORE_ACCOUNTS = """
[accounts.beta-royalmail]
connector = "royalmail"
client = "beta"
client_id = "rm-client-b"
client_secret = "rm-secret-b-0123456789"
api_calls = false

[accounts.acme-dpd-1]
connector = "dpd"
client = "acme"
delis_id = "one"
password = "dpd-password-one"
api_calls = false

[accounts.acme-dpd-2]
connector = "dpd"
client = "acme"
delis_id = "two"
password = "dpd-password-two"
api_calls = false

[accounts.acme-ups]
connector = "ups"
client = "acme"
client_id = "ups-client"
client_secret = "ups-secret-0123456789"
webhook_secret = "ups-webhook-credential"
api_calls = false

[accounts.acme-ledger]
connector = "ledger"
client = "acme"
"""

BIG = [2**63, 2**64, 10**30]


accounts_file = accounts_fixture(QUIET_ROYALMAIL + MORE_ACCOUNTS)


def _error(response, status: int | tuple[int, ...]) -> dict:
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] and error["message"]
    return error


def _field(response, status: int, field: str) -> dict:
    error = _error(response, status)
    assert error["details"]["field"] == field, error
    assert error["message"].startswith(f"{field}: "), error
    return error


# -- ids in paths ------------------------------------------------------------------------------
def _api_rules(app):
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")]


def test_no_api_route_takes_an_unbounded_number(app):
    """Every number in an /api path is an ``id`` (or ``version``) converter: ASCII digits,
    bounded by what the column holds."""
    numeric = [
        (rule.rule, name)
        for rule in _api_rules(app)
        for name, converter in rule._converters.items()
        if "Integer" in type(converter).__name__ or "Number" in type(converter).__name__
    ]
    assert numeric == []
    ids = [
        r.rule
        for r in _api_rules(app)
        if any(isinstance(c, IdConverter) for c in r._converters.values())
    ]
    # orders, events, deliveries, replay, jobs, retry, discard, versions, and a return with
    # its six steps
    assert len(ids) == 15


def _id_urls(app, value: str):
    for rule in _api_rules(app):
        if not any(isinstance(c, IdConverter) for c in rule._converters.values()):
            continue
        path = rule.rule
        for name, converter in rule._converters.items():
            fill = value if isinstance(converter, IdConverter) else "shop-a"
            path = path.replace(f"<{rule._converters[name].__class__.__name__}:{name}>", fill)
            path = re.sub(rf"<[^>]*:{name}>", fill, path)
        method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        yield method, path


@pytest.mark.parametrize("value", [str(2**63), str(2**64), "0", "٣", "²"])
def test_every_path_id_out_of_range_or_not_ascii_is_404(app, client, editor, value):
    urls = list(_id_urls(app, value))
    assert urls
    for method, path in urls:
        answer = client.open(path, method=method, headers=editor, json={"reason": "x"})
        _error(answer, 404)


def test_the_largest_id_is_a_plain_not_found(client, editor):
    error = _error(client.get(f"/api/orders/{2**63 - 1}", headers=editor), 404)
    assert error["code"] == "not_found" and str(2**63 - 1) in error["message"]
    error = _error(client.get(f"/api/mappings/shop-a/versions/{2**31 - 1}", headers=editor), 404)
    assert error["code"] == "not_found"


# -- query parameters --------------------------------------------------------------------------
LISTS = ["/api/orders", "/api/deliveries", "/api/jobs", "/api/audit", "/api/stock/ledger"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    "params, name",
    [
        ({"limit": "²"}, "limit"),
        ({"limit": "٣"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": str(2**64)}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"cursor": encode_cursor(2**64)}, "cursor"),
        ({"cursor": encode_cursor(2**63)}, "cursor"),
        ({"cursor": base64.urlsafe_b64encode("²".encode()).decode()}, "cursor"),
        ({"cursor": "!!!"}, "cursor"),
        ({"cursor": base64.urlsafe_b64encode(b"\xff\xfe").decode()}, "cursor"),
    ],
)
def test_page_parameters_are_checked_on_every_list(client, viewer, path, params, name):
    error = _error(client.get(path, query_string=params, headers=viewer), 400)
    assert error["code"] == "bad_parameter" and error["details"]["parameter"] == name


@pytest.mark.parametrize(
    "path, name",
    [
        ("/api/orders", "channel"),
        ("/api/orders", "account"),
        ("/api/orders", "client"),
        ("/api/orders", "external_id"),
        ("/api/orders", "sku"),
        ("/api/deliveries", "account"),
        ("/api/deliveries", "topic"),
        ("/api/jobs", "kind"),
        ("/api/jobs", "account"),
        ("/api/jobs", "error"),
        ("/api/audit", "actor"),
        ("/api/audit", "action"),
        ("/api/stock/ledger", "sku"),
        ("/api/stock/ledger", "client"),
        ("/api/stock/ledger", "location"),
        ("/api/stock", "client"),
        ("/api/stock", "sku"),
        ("/api/stock/available", "sku"),
    ],
)
@pytest.mark.parametrize("value", ["a\x00b", "x" * 5000])
def test_text_filters_with_nul_or_beyond_the_column_are_400(client, viewer, path, name, value):
    params = {name: value}
    if path == "/api/stock/available":
        params["account"] = "shop-a"
    error = _error(client.get(path, query_string=params, headers=viewer), 400)
    assert error["details"]["parameter"] == name


def test_a_time_beyond_utc_is_400(client, viewer):
    error = _error(
        client.get(
            "/api/orders", query_string={"since": "9999-12-31T23:59:59-05:00"}, headers=viewer
        ),
        400,
    )
    assert error["details"]["parameter"] == "since"


@pytest.mark.parametrize(
    "params", [{"from": str(2**31)}, {"from": "1", "to": str(2**64)}, {"from": "²"}, {}]
)
def test_mapping_diff_versions_are_checked(client, viewer, params):
    error = _error(
        client.get("/api/mappings/shop-a/diff", query_string=params, headers=viewer), 400
    )
    assert error["details"]["parameter"] in ("from", "to")


# -- JSON bodies -------------------------------------------------------------------------------
BODY_ROUTES = [
    ("post", "/api/jobs/retry", {"kind": "test.never"}),
    ("post", "/api/jobs/1/discard", {"reason": "refunded"}),
    ("post", "/api/mappings/shop-a/rollback", {"version": 1}),
    ("post", "/api/mappings/shop-a/preview", {"payload": {}}),
    ("post", "/api/mappings/shop-a/retranslate", {"order_id": 1}),
    ("post", "/api/stock/adjustments", {"sku": "MUG-1", "delta": 1, "reason": "receipt"}),
    (
        "post",
        "/api/shipments",
        {
            "order_id": 1,
            "parcels": [
                {
                    "carrier": "royalmail",
                    "tracking_number": "RM1",
                    "lines": [{"sku": "X", "quantity": 1}],
                }
            ],
        },
    ),
]
WRONG = [{"a": 1}, [1], True, 2**64, -(2**64), 1.5, "x\x00y", "\ud800", "", None, "x" * 20_000]


def _paths(value, prefix=""):
    """Every (path, setter) of a JSON body, so each leaf can be replaced."""
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _paths(sub, f"{prefix}[{i}]")
    if prefix:
        yield prefix


def _replace(body, path, new):
    body = json.loads(json.dumps(body))
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    node = body
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    last = parts[-1]
    if last.startswith("["):
        node[int(last[1:-1])] = new
    else:
        node[last] = new
    return body


@pytest.mark.parametrize("method, path, good", BODY_ROUTES, ids=[r[1] for r in BODY_ROUTES])
def test_every_body_field_with_a_wrong_value_is_a_4xx_naming_a_field(
    client, editor, method, path, good
):
    for where in sorted(set(_paths(good))):
        for wrong in WRONG:
            body = _replace(good, where, wrong)
            answer = client.open(
                path,
                method=method.upper(),
                data=json.dumps(body),
                content_type="application/json",
                headers=editor,
            )
            assert answer.status_code < 500, (where, wrong, answer.get_data(as_text=True))
            if answer.status_code in (400, 422):
                details = answer.get_json()["error"].get("details") or {}
                assert details.get("field"), (where, wrong, answer.get_json())


@pytest.mark.parametrize("method, path, good", BODY_ROUTES, ids=[r[1] for r in BODY_ROUTES])
@pytest.mark.parametrize(
    "raw",
    [b"[1, 2]", b'"text"', b"12", b"null", b"{not json", b'{"sku": "\xff\xfe"}', b"\xff\xfe\x00"],
)
def test_bodies_that_are_not_a_json_object_are_400_naming_the_body(
    client, editor, method, path, good, raw
):
    answer = client.open(
        path, method=method.upper(), data=raw, content_type="application/json", headers=editor
    )
    error = _error(answer, 400)
    assert error["details"] == {"field": "body"}


@pytest.mark.parametrize("method, path, good", BODY_ROUTES, ids=[r[1] for r in BODY_ROUTES])
def test_unknown_body_fields_are_named(client, editor, method, path, good):
    answer = client.open(path, method=method.upper(), json={**good, "surprise": 1}, headers=editor)
    _field(answer, 422 if path == "/api/shipments" else 400, "surprise")


def test_a_mapping_spec_that_is_not_utf8_is_400(client, editor):
    for content_type in ("application/json", "application/yaml"):
        answer = client.put(
            "/api/mappings/shop-a",
            data=b"version: 1\nfields: {notes: \xff\xfe}\n",
            content_type=content_type,
            headers=editor,
        )
        _error(answer, 400)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"sku": "MUG-1", "delta": 2**31, "reason": "receipt"}, "delta"),
        ({"sku": "MUG-1", "on_hand": -1, "reason": "count"}, "on_hand"),
        ({"sku": "MUG-1", "delta": True, "reason": "receipt"}, "delta"),
        ({"sku": "MUG-1", "delta": 1, "on_hand": 1, "reason": "count"}, "delta"),
        ({"sku": "MUG-1", "reason": "count"}, "delta"),
        ({"sku": "MUG-1", "delta": 1, "reason": "lost"}, "reason"),
        ({"sku": "M" * 201, "delta": 1, "reason": "receipt"}, "sku"),
        ({"sku": "MUG-1", "delta": 1, "reason": "receipt", "location": "L" * 101}, "location"),
    ],
)
def test_stock_adjustments_name_the_field(hub, client, editor, body, field):
    _field(client.post("/api/stock/adjustments", json=body, headers=editor), 400, field)


# -- shipments ---------------------------------------------------------------------------------
@pytest.fixture
def released(hub, client, worker, viewer) -> dict:
    receive(hub, "IPOD2008RED", 1)
    send_shopify(client, shopify_order())
    worker.drain()
    [order] = client.get("/api/orders", headers=viewer).get_json()["items"]
    assert order["status"] == "released"
    return order


def _shipment(order_id, **parcel) -> dict:
    return {
        "order_id": order_id,
        "parcels": [
            {
                "carrier": "royalmail",
                "service": "TPN24",
                "tracking_number": "RM1",
                "lines": [{"sku": "IPOD2008RED", "quantity": 1}],
                **parcel,
            }
        ],
    }


def _nothing_shipped(hub) -> None:
    with hub.db.transaction() as s:
        assert s.execute(select(func.count()).select_from(ParcelRow)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(ShipmentRow)).scalar_one() == 0


@pytest.mark.parametrize(
    "change, field",
    [
        ({"service": {"code": "TPN24"}}, "parcels[0].service"),
        ({"service": "S" * 101}, "parcels[0].service"),
        ({"tracking_number": "T" * 101}, "parcels[0].tracking_number"),
        ({"tracking_number": "RM\x001"}, "parcels[0].tracking_number"),
        ({"tracking_number": 12345}, "parcels[0].tracking_number"),
        ({"carrier_account": "nobody"}, "parcels[0].carrier_account"),
        ({"carrier_account": "acme-ups"}, "parcels[0].carrier_account"),  # a UPS account
        ({"carrier_account": "beta-royalmail"}, "parcels[0].carrier_account"),  # another client's
        ({"carrier": "evri"}, "parcels[0].carrier"),  # no Evri account at all
        ({"carrier": "dpd"}, "parcels[0].carrier_account"),  # two: which?
        ({"lines": [{"sku": "IPOD2008RED", "quantity": 2**64}]}, "parcels[0].lines[0].quantity"),
        ({"lines": [{"sku": "IPOD2008RED", "quantity": True}]}, "parcels[0].lines[0].quantity"),
        ({"lines": [{"quantity": 1}]}, "parcels[0].lines[0]"),
    ],
)
def test_bad_parcels_are_422_naming_the_field(hub, client, editor, released, change, field):
    answer = client.post("/api/shipments", json=_shipment(released["id"], **change), headers=editor)
    _field(answer, 422, field)
    _nothing_shipped(hub)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"order_id": 2**64}, "order_id"),
        ({"order_id": 2**63}, "order_id"),
        ({"order_id": True}, "order_id"),
        ({"order_id": "1"}, "order_id"),
        ({"order_id": 1.0}, "order_id"),
        ({"shipped_at": "9999-12-31T23:00:00-05:00"}, "shipped_at"),
        ({"shipped_at": "yesterday"}, "shipped_at"),
        ({"shipped_at": 1700000000}, "shipped_at"),
        ({"parcels": {"carrier": "royalmail"}}, "parcels"),
    ],
)
def test_bad_shipment_fields_are_422_naming_the_field(hub, client, editor, released, change, field):
    body = {**_shipment(released["id"]), **change}
    _field(client.post("/api/shipments", json=body, headers=editor), 422, field)
    _nothing_shipped(hub)


def test_the_same_tracking_number_twice_in_one_body_is_422(hub, client, editor, released):
    body = _shipment(released["id"])
    body["parcels"].append(dict(body["parcels"][0]))
    error = _field(
        client.post("/api/shipments", json=body, headers=editor),
        422,
        "parcels[1].tracking_number",
    )
    assert "parcels[0]" in error["message"]
    _nothing_shipped(hub)


def test_a_named_or_the_clients_only_carrier_account_ships(hub, client, editor, released):
    body = _shipment(released["id"], carrier_account="acme-royalmail")
    answer = client.post("/api/shipments", json=body, headers=editor)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["parcels"][0]["carrier_account"] == "acme-royalmail"


def test_an_order_id_that_is_true_is_not_order_1(hub, client, editor, released):
    assert released["id"] == 1
    answer = client.post("/api/shipments", json=_shipment(True), headers=editor)
    _field(answer, 422, "order_id")


# -- orders: one shape in the list and alone ---------------------------------------------------
def test_list_items_have_every_simple_field_of_the_detail(client, editor, viewer, released):
    answer = client.post("/api/shipments", json=_shipment(released["id"]), headers=editor)
    assert answer.status_code == 201, answer.get_json()
    [listed] = client.get("/api/orders", headers=viewer).get_json()["items"]
    detail = client.get(f"/api/orders/{released['id']}", headers=viewer).get_json()
    assert set(detail) - set(listed) == {"shipments"}
    assert listed["tracking_page"] and listed["tracking_page"] == detail["tracking_page"]
    assert {k: v for k, v in detail.items() if k != "shipments"} == listed


def test_an_order_not_shipped_shows_a_null_tracking_page_in_the_list(client, worker, viewer):
    send_shopify(client, shopify_order())
    worker.drain()
    [listed] = client.get("/api/orders", headers=viewer).get_json()["items"]
    assert "tracking_page" in listed and listed["tracking_page"] is None


# -- webhooks ----------------------------------------------------------------------------------
@pytest.mark.parametrize("account", ["acme-royalmail", "acme-dpd-1", "acme-ledger"])
def test_an_account_that_takes_no_webhooks_has_no_webhook_endpoint(hub, client, account):
    answer = client.post("/webhooks/" + account, data=b"{}", content_type="application/json")
    error = _error(answer, 404)
    assert account in error["message"]


def test_an_unsigned_webhook_to_a_carrier_that_takes_them_is_401(client):
    answer = client.post("/webhooks/acme-ups", data=b"{}", content_type="application/json")
    _error(answer, 401)
