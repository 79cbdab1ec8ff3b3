"""BigCommerce webhooks: Standard Webhooks signatures, the custom header, dedupe, and the
worker's fetch of the order a thin body names (``responses`` stands in for the API)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
import responses

from connectors.channels.bigcommerce import sign, translate
from connectors.channels.bigcommerce.tests.helpers import (
    NOW,
    ROOT,
    SECRET,
    STORE,
    connector,
    document,
    payload,
    raw,
    signed,
)
from hub.errors import AuthError, PermanentError, RetryableError, TranslationError

CREATED = "webhook_store_order_created.json"


def thin(name: str = CREATED, **changes) -> bytes:
    body = payload(name)
    body["producer"] = f"stores/{STORE}"
    body.update(changes)
    return json.dumps(body).encode()


def test_sign_is_standard_webhooks_with_the_secret_bytes_as_key():
    # BigCommerce's docs build the verifier as Webhook(base64(client_secret)); the Standard
    # Webhooks libraries base64-decode that key again, so HMAC is keyed with the secret itself
    verifier_key = base64.b64decode(base64.b64encode(SECRET.encode()))
    expected = hmac.new(verifier_key, b"msg_1.1765000000.{}", hashlib.sha256).digest()
    assert sign(SECRET, "msg_1", "1765000000", b"{}") == "v1," + base64.b64encode(expected).decode()


def test_a_signed_delivery_verifies():
    bc, _ = connector()
    body = thin()
    assert bc.verify(signed(body), body) is True


def test_several_signatures_in_the_header_one_good_is_enough():
    bc, _ = connector()
    body = thin()
    headers = signed(body)
    headers["webhook-signature"] = "v1,AAAA v1a,xyz " + headers["webhook-signature"]
    assert bc.verify(headers, body) is True


@pytest.mark.parametrize("offset", [-301, 301, -10_000])
def test_a_stale_or_future_timestamp_is_refused(offset):
    bc, _ = connector()
    body = thin()
    assert bc.verify(signed(body, at=NOW + offset), body) is False
    assert bc.verify(signed(body, at=NOW + (299 if offset > 0 else -299)), body) is True


def test_a_wrong_secret_a_tampered_body_or_missing_headers_are_refused():
    bc, _ = connector()
    body = thin()
    assert bc.verify(signed(body, secret="another"), body) is False
    assert bc.verify(signed(body), body + b" ") is False
    for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        headers = signed(body)
        del headers[header]
        assert bc.verify(headers, body) is False
    headers = signed(body)
    headers["webhook-id"] = "msg_2"  # the id is signed too
    assert bc.verify(headers, body) is False


def test_a_delivery_for_another_store_is_refused():
    bc, _ = connector()
    body = thin(producer="stores/otherstore")
    assert bc.verify(signed(body), body) is False


def test_a_reset_client_secret_verifies_alongside_the_old_one():
    bc, _ = connector(client_secret="new-secret", client_secrets=[SECRET])
    body = thin()
    assert bc.verify(signed(body), body) is True
    assert bc.verify(signed(body, secret="new-secret"), body) is True


def test_an_older_hook_with_the_custom_header_secret_verifies():
    secret = "header-secret-0123456789"
    bc, _ = connector(webhook_header_secret=secret)
    body = thin()
    assert bc.verify({"X-Hub-Webhook-Secret": secret}, body) is True
    assert bc.verify({"X-Hub-Webhook-Secret": secret + "x"}, body) is False
    assert bc.verify({"X-Other": secret}, body) is False
    plain, _ = connector()  # without the key the header means nothing
    assert plain.verify({"X-Hub-Webhook-Secret": secret}, body) is False


def test_read_delivery_takes_the_scope_and_dedupes_on_the_hash():
    bc, _ = connector()
    body = thin()
    first = bc.read_delivery(signed(body, msg="msg_1"), body)
    again = bc.read_delivery(signed(body, msg="msg_9"), body)  # a duplicate fire
    assert first.topic == "store/order/created"
    assert (
        first.dedupe_key
        == again.dedupe_key
        == ("hash:store/order/created:dd70c0976e06b67aaf671e73f49dcb79230ebf9d")
    )
    assert first.event_id == "msg_1"
    assert "webhook-signature" in first.headers
    status = thin("webhook_store_order_statusUpdated.json")
    assert bc.read_delivery(signed(status), status).dedupe_key != first.dedupe_key
    # one hash under two scopes (BigCommerce's samples do this) is two events
    archived = thin(scope=translate.ARCHIVED)
    assert bc.read_delivery(signed(archived), archived).dedupe_key == (
        "hash:store/order/archived:dd70c0976e06b67aaf671e73f49dcb79230ebf9d"
    )


def test_the_custom_secret_header_is_never_kept():
    bc, _ = connector(webhook_header_secret="header-secret-0123456789")
    body = thin()
    headers = {**signed(body), "X-Hub-Webhook-Secret": "header-secret-0123456789"}
    assert "X-Hub-Webhook-Secret" not in bc.read_delivery(headers, body).headers


def _serve_order(mock: responses.RequestsMock, doc: dict) -> None:
    order = {k: v for k, v in doc.items() if k not in ("products", "shipping_addresses")}
    order_id = doc["id"]
    order["products"] = {"resource": f"/orders/{order_id}/products"}
    mock.get(f"{ROOT}/v2/orders/{order_id}", json=order)
    mock.get(f"{ROOT}/v2/orders/{order_id}/products", json=doc["products"])
    mock.get(f"{ROOT}/v2/orders/{order_id}/shipping_addresses", json=doc["shipping_addresses"])


def test_fetch_reads_the_order_its_products_and_addresses():
    bc, _ = connector()
    doc = document(id=250)
    with responses.RequestsMock() as mock:
        _serve_order(mock, doc)
        fetched = bc.fetch(translate.CREATED, payload(CREATED))
        sent = mock.calls[0].request
    assert fetched == doc
    assert sent.headers["X-Auth-Token"] == "bc-token"
    assert sent.headers["X-Auth-Client"] == "bc-client-id"
    assert sent.headers["Accept"] == "application/json"
    assert translate.translate_order(fetched, topic=translate.CREATED).order.external_id == "250"


def test_fetch_leaves_a_document_alone_and_reads_nothing_for_an_archived_order():
    bc, _ = connector()
    with responses.RequestsMock():  # any call would fail the test
        assert bc.fetch(translate.UPDATED, document()) == document()
        archived = payload(CREATED)
        archived["scope"] = translate.ARCHIVED
        assert bc.fetch(translate.ARCHIVED, archived) == {"id": "250", "is_deleted": True}


def test_fetch_completes_a_listed_order_with_its_products_and_addresses():
    """What the reconciliation takes in is the order as listed; the worker's fetch reads its
    two sub-resources (not the order again) and the document translates as a webhook's."""
    bc, _ = connector()
    doc = document(id=250)
    order = payload("order_v2_get_response.json") | {
        k: v for k, v in doc.items() if k not in ("products", "shipping_addresses")
    }
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/250/products", json=doc["products"])
        mock.get(f"{ROOT}/v2/orders/250/shipping_addresses", json=doc["shipping_addresses"])
        fetched = bc.fetch(translate.UPDATED, order)
        urls = [c.request.url.split("?")[0] for c in mock.calls]
    assert urls == [
        f"{ROOT}/v2/orders/250/products",
        f"{ROOT}/v2/orders/250/shipping_addresses",
    ]
    assert fetched == doc
    expected = translate.translate_order(document(id=250), topic=translate.UPDATED)
    assert translate.translate_order(fetched, topic=translate.UPDATED) == expected
    with responses.RequestsMock():  # deleted: a removal, from its id alone
        assert bc.fetch(translate.UPDATED, order | {"is_deleted": True})["is_deleted"] is True
    quiet, _ = connector(api_calls=False)
    with pytest.raises(PermanentError, match="api_calls"):
        quiet.fetch(translate.UPDATED, order)


def test_fetch_of_an_order_the_store_lacks_is_permanent_and_an_outage_retryable():
    bc, _ = connector()
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/250", status=404, json=[{"status": 404}])
        with pytest.raises(PermanentError):
            bc.fetch(translate.CREATED, payload(CREATED))
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/250", status=401, json={})
        with pytest.raises(AuthError):
            bc.fetch(translate.CREATED, payload(CREATED))
    with responses.RequestsMock() as mock:
        mock.get(f"{ROOT}/v2/orders/250", status=500, json={})
        with pytest.raises(RetryableError):
            bc.fetch(translate.CREATED, payload(CREATED))


def test_fetch_refuses_a_body_that_names_no_order_and_an_account_without_api_calls():
    bc, _ = connector()
    with pytest.raises(TranslationError):
        bc.fetch(
            translate.CREATED, {"scope": translate.CREATED, "data": {"type": "product", "id": 1}}
        )
    quiet, _ = connector(api_calls=False)
    with pytest.raises(PermanentError, match="api_calls"):
        quiet.fetch(translate.CREATED, payload(CREATED))


def test_recorded_bodies_are_what_the_connector_reads():
    bc, _ = connector()
    body = raw(CREATED)
    assert bc.read_delivery({}, body).topic == "store/order/created"


# -- refunds ----------------------------------------------------------------------------------

REFUND = "webhook_store_order_refund_created.json"


def test_a_refund_is_read_as_the_order_it_names_not_as_a_return():
    """A refund's body names the order and the refund id only, and a BigCommerce refund says
    nothing of goods coming back (no restock, no return): the order is read again and
    translated as it now stands; a full refund (status 4, Refunded) cancels it."""
    bc, _ = connector()
    body = raw(REFUND)
    delivery = bc.read_delivery({}, body)
    assert delivery.topic == translate.REFUND_CREATED and delivery.topic in bc.topics
    assert delivery.topic not in bc.return_topics
    assert delivery.dedupe_key == (
        "hash:store/order/refund/created:cb07cdbdda8b1965e812693d5988154807eeed02"
    )
    with responses.RequestsMock() as mock:
        _serve_order(mock, document(id=250, status_id=4))
        result = bc.translate(delivery.topic, bc.fetch(delivery.topic, payload(REFUND)))
    assert result.order.external_id == "250"
    assert result.order.status.value == "cancelled" and result.channel_status == "4"


def test_a_partial_refund_holds_the_order_for_a_person():
    bc, _ = connector()
    doc = document(id=250, status_id=14)
    doc["products"][1]["quantity_refunded"] = 1
    with responses.RequestsMock() as mock:
        _serve_order(mock, doc)
        result = bc.translate(
            translate.REFUND_CREATED, bc.fetch(translate.REFUND_CREATED, payload(REFUND))
        )
    assert result.order.status.value == "ready"
    assert any("products[1]: 1 of 1 refunded" in p for p in result.problems)


# -- account keys -----------------------------------------------------------------------------


def test_api_base_replaces_the_api_address_and_keeps_the_store_path():
    bc, _ = connector(api_base="https://bc-proxy.example/")
    doc = document(id=250)
    base = f"https://bc-proxy.example/stores/{STORE}"
    with responses.RequestsMock() as mock:
        mock.get(f"{base}/v2/orders/250", json={**doc, "products": {}, "shipping_addresses": {}})
        mock.get(f"{base}/v2/orders/250/products", json=doc["products"])
        mock.get(f"{base}/v2/orders/250/shipping_addresses", json=doc["shipping_addresses"])
        assert bc.fetch(translate.CREATED, payload(CREATED)) == doc


def test_the_example_account_in_config_is_valid_and_verifies_its_fallback_secret():
    from pathlib import Path

    from connectors.channels.bigcommerce import BigCommerceConnector
    from hub.connectors.accounts import parse_accounts

    config = Path(__file__).parents[4] / "config" / "hub.toml"
    account = parse_accounts(config.read_text(), str(config), env={})["example-bigcommerce"]
    assert account.connector == "bigcommerce" and account.settings["api_calls"] is False
    body = thin(producer=f"stores/{account.settings['store_hash']}")
    example = BigCommerceConnector(account, clock=lambda: NOW)
    assert example.verify(signed(body, secret="bc-example-secret"), body) is True
    assert example.verify(signed(body), body) is False
