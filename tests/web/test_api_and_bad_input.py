"""Bad input gets a specific JSON error, and the read API's auth, filters and pagination."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from hub.storage.models import DeliveryRow
from hub.web.app import create_app
from tests.conftest import shopify_headers, shopify_order, woo_headers, woo_order


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["message"]
    if code:
        assert error["code"] == code
    return error


def _stored(hub) -> int:
    with hub.db.transaction() as s:
        return s.execute(select(func.count()).select_from(DeliveryRow)).scalar_one()


@pytest.fixture
def body() -> bytes:
    return json.dumps(shopify_order()).encode()


def test_wrong_signature_is_401_and_stores_nothing(hub, client, body):
    error = _error(
        client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body, secret="wrong")),
        401,
        "bad_signature",
    )
    assert "shop-a" in error["message"]
    assert _stored(hub) == 0


def test_missing_signature_is_401(client, body):
    headers = shopify_headers(body)
    del headers["X-Shopify-Hmac-Sha256"]
    _error(client.post("/webhooks/shop-a", data=body, headers=headers), 401)


def test_a_tampered_body_is_401(client, body):
    headers = shopify_headers(body)
    _error(
        client.post(
            "/webhooks/shop-a", data=body.replace(b"450789469", b"450789470"), headers=headers
        ),
        401,
    )


def test_a_delivery_for_another_shop_is_401(client, body):
    headers = dict(shopify_headers(body), **{"X-Shopify-Shop-Domain": "other.myshopify.com"})
    _error(client.post("/webhooks/shop-a", data=body, headers=headers), 401)


def test_unknown_account_is_404(client, body):
    error = _error(
        client.post("/webhooks/nobody", data=body, headers=shopify_headers(body)),
        404,
        "unknown_account",
    )
    assert "nobody" in error["message"]


def test_body_over_the_limit_is_413(hub, body):
    app = create_app(
        {
            "database_url": hub.settings.database_url,
            "config": hub.settings.config,
            "max_body": 1000,
        },
        upgrade=False,
    )
    client = app.test_client()
    error = _error(
        client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body)),
        413,
        "body_too_large",
    )
    assert "1000" in error["message"]
    assert _stored(hub) == 0


def test_wrong_content_type_is_415(hub, client, body):
    headers = dict(shopify_headers(body), **{"Content-Type": "text/plain"})
    error = _error(client.post("/webhooks/shop-a", data=body, headers=headers), 415)
    assert "text/plain" in error["message"]
    assert _stored(hub) == 0


def test_json_with_charset_is_accepted(client, body):
    headers = dict(shopify_headers(body), **{"Content-Type": "application/json; charset=utf-8"})
    assert client.post("/webhooks/shop-a", data=body, headers=headers).status_code == 202


def test_woocommerce_wrong_signature_is_401(client):
    body = json.dumps(woo_order()).encode()
    _error(client.post("/webhooks/woo-a", data=body, headers=woo_headers(body, secret="x")), 401)


def test_api_without_a_token_is_401(client):
    error = _error(client.get("/api/orders"), 401, "unauthorized")
    assert "Bearer" in error["message"]


def test_api_with_an_unknown_token_is_401(client):
    _error(client.get("/api/orders", headers={"Authorization": "Bearer hub_nope"}), 401)


def test_api_with_a_basic_auth_header_is_401(client):
    _error(client.get("/api/orders", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)


def test_a_viewer_cannot_use_editor_routes(client, viewer):
    error = _error(client.post("/api/deliveries/1/replay", headers=viewer), 403, "forbidden")
    assert "editor" in error["message"]


def test_a_revoked_token_is_refused(hub, client):
    from hub.web import tokens
    from tests.conftest import make_token

    token = make_token(hub, "viewer", "soon-gone")
    assert (
        client.get("/api/orders", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    with hub.db.transaction() as s:
        assert tokens.revoke(s, "soon-gone")
    _error(client.get("/api/orders", headers={"Authorization": f"Bearer {token}"}), 401)


def test_tokens_are_stored_hashed(hub):
    from hub.storage.models import TokenRow
    from tests.conftest import make_token

    token = make_token(hub, "editor", "hashed")
    with hub.db.transaction() as s:
        row = s.execute(select(TokenRow).where(TokenRow.name == "hashed")).scalar_one()
    assert token not in row.token_hash and len(row.token_hash) == 64


def test_unknown_routes_and_methods_answer_json(client, viewer):
    _error(client.get("/nowhere"), 404)
    _error(client.get("/webhooks/shop-a"), 404)  # only a channel that checks the address by GET
    _error(client.put("/webhooks/shop-a"), 405)
    _error(client.get("/api/orders/999", headers=viewer), 404)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"status": "lost"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"since": "yesterday"}, "since"),
        ({"cursor": "!!!"}, "cursor"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(client, viewer, params, name):
    error = _error(
        client.get("/api/orders", query_string=params, headers=viewer), 400, "bad_parameter"
    )
    assert error["details"]["parameter"] == name


def _send_orders(client, worker, n: int) -> None:
    for i in range(n):
        order = shopify_order()
        order["id"] = 1000 + i
        order["line_items"][0]["sku"] = f"SKU-{i % 2}"
        if i == 0:
            order["financial_status"] = "pending"
        body = json.dumps(order).encode()
        assert (
            client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body)).status_code
            == 202
        )
    body = json.dumps(woo_order()).encode()
    client.post("/webhooks/woo-a", data=body, headers=woo_headers(body))
    worker.drain()


def test_cursor_pagination_walks_every_order_once(client, worker, viewer):
    _send_orders(client, worker, 5)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/orders", query_string=params, headers=viewer).get_json()
        assert len(page["items"]) <= 2
        seen += [o["id"] for o in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6
    assert seen == sorted(seen, reverse=True)


def test_filters(client, worker, viewer):
    _send_orders(client, worker, 4)

    def ids(**params):
        r = client.get("/api/orders", query_string=params, headers=viewer)
        return sorted(o["external_id"] for o in r.get_json()["items"])

    assert ids(channel="woocommerce") == ["727"]
    assert ids(account="shop-a") == ["1000", "1001", "1002", "1003"]
    assert ids(external_id="1002") == ["1002"]
    assert ids(status="awaiting_payment") == ["1000"]
    assert ids(sku="SKU-1") == ["1001", "1003"]
    assert ids(client="acme", channel="shopify", sku="SKU-0") == ["1000", "1002"]
    assert ids(since="2999-01-01T00:00:00Z") == []
    assert len(ids(since="2000-01-01T00:00:00Z")) == 5


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok", "migrations": "ok"}


def test_readiness_fails_before_migrations(tmp_path, accounts_file):
    app = create_app(
        {"database_url": f"sqlite:///{tmp_path / 'empty.db'}", "config": str(accounts_file)},
        upgrade=False,
    )
    r = app.test_client().get("/readyz")
    assert r.status_code == 503
    assert r.get_json()["checks"]["migrations"] != "ok"


def test_a_database_that_cannot_store_answers_503_with_retry_after(tmp_path, accounts_file, body):
    # a database without the schema stands in for one that is away: nothing can be stored
    app = create_app(
        {"database_url": f"sqlite:///{tmp_path / 'bare.db'}", "config": str(accounts_file)},
        upgrade=False,
    )
    r = app.test_client().post("/webhooks/shop-a", data=body, headers=shopify_headers(body))
    error = _error(r, 503, "unavailable")
    assert "try again" in error["message"]
    assert r.headers["Retry-After"] == "5"
    app.extensions["hub"].close()
