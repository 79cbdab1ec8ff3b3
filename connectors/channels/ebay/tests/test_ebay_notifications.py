"""Notification API deliveries: eBay's own signed test vector verifies (and a tampered body
does not, nor the tampered copy in eBay's Java SDK), the public key is fetched once an hour
with an application token, the endpoint challenge, and the dedupe key."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qs

import pytest
import responses

from connectors.channels.ebay import notifications
from connectors.channels.ebay.tests.helpers import (
    API,
    ENDPOINT,
    VERIFICATION_TOKEN,
    connector,
    payload,
    raw,
    tokens,
    vector,
    vector_body,
)
from hub.errors import RetryableError

KEY_URL = f"{API}/commerce/notification/v1/public_key/9936261a-7d7b-4621-a0f1-96ccb428af49"


def _headers() -> dict[str, str]:
    return {"X-EBAY-SIGNATURE": vector()["signature"], "Content-Type": "application/json"}


def test_the_signed_test_vector_verifies_and_a_tampered_body_does_not():
    ebay = connector()
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(KEY_URL, json=vector()["response"])
        assert ebay.verify(_headers(), vector_body())
        assert not ebay.verify(_headers(), vector_body().replace(b"test_user", b"test_usex"))
        assert not ebay.verify(_headers(), vector_body().replace(b"jySJC", b"jySJD"))
        token_call, key_call = mock.calls[0], mock.calls[1]
    # the key is fetched once, with an application token made by client credentials
    form = parse_qs(token_call.request.body)
    assert form == {
        "grant_type": ["client_credentials"],
        "scope": ["https://api.ebay.com/oauth/api_scope"],
    }
    basic = base64.b64decode(token_call.request.headers["Authorization"].split()[1]).decode()
    assert basic == "AcmeHub-PRD-0123456789-abcdef01:PRD-0123456789ab-cdef-0123-4567-89ab"
    assert key_call.request.headers["Authorization"] == "Bearer v^1.1#i^1#application-token-built"
    assert ebay.keys.fetched == 1


def test_the_body_is_checked_as_sent_or_in_json_stringify_form():
    # eBay's SDKs verify JSON.stringify(message); a body with other spacing still verifies
    spaced = json.dumps(vector()["message"], indent=2).encode()
    signature = notifications.read_signature(vector()["signature"])
    assert signature is not None and signature.kid.startswith("9936261a")
    assert notifications.verify(spaced, signature, vector()["response"])


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "not base64!",
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b'{"kid": "k"}').decode(),
    ],
)
def test_a_missing_or_unreadable_signature_header_is_refused_without_a_call(header):
    headers = {} if header is None else {"X-EBAY-SIGNATURE": header}
    with responses.RequestsMock():  # any call would fail the test
        assert not connector().verify(headers, vector_body())


def test_a_key_id_ebay_does_not_know_is_a_bad_signature():
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(KEY_URL, status=404, json={"errors": [{"errorId": 195000, "message": "x"}]})
        assert not connector().verify(_headers(), vector_body())


def test_ebay_unreachable_for_the_key_is_retryable_so_the_sender_tries_again():
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(KEY_URL, status=503)
        with pytest.raises(RetryableError, match="public key"):
            connector().verify(_headers(), vector_body())


def test_keys_are_kept_for_an_hour():
    now = [0.0]
    fetched = []
    keys = notifications.PublicKeys(
        lambda kid: fetched.append(kid) or {"key": kid}, clock=lambda: now[0]
    )
    keys.get("a"), keys.get("a")
    now[0] = 3599
    keys.get("a")
    assert fetched == ["a"]
    now[0] = 3601
    keys.get("a")
    assert fetched == ["a", "a"]


def test_the_challenge_answer_is_the_hash_of_code_token_and_endpoint():
    answer = connector().challenge({"challenge_code": "a8628072-3d33-45ee-9004-bee86830a22d"})
    expected = hashlib.sha256(
        ("a8628072-3d33-45ee-9004-bee86830a22d" + VERIFICATION_TOKEN + ENDPOINT).encode()
    ).hexdigest()
    assert answer == {"challengeResponse": expected}
    assert connector().challenge({}) is None


def test_a_notification_is_deduplicated_by_its_notification_id():
    delivery = connector().read_delivery(_headers(), vector_body())
    assert delivery.topic == "MARKETPLACE_ACCOUNT_DELETION"
    assert delivery.dedupe_key == (
        "notification:49feeaeb-4982-42d9-a377-9645b8479411_33f7e043-fed8-442b-9d44-791923bd9a6d"
    )
    assert delivery.headers == {"X-EBAY-SIGNATURE": vector()["signature"]}


def test_an_order_notification_is_completed_with_get_order_before_translating():
    from connectors.channels.ebay.tests.helpers import order_notification

    ebay = connector()
    body = order_notification("12-34567-89012")
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(
            f"{API}/sell/fulfillment/v1/order/12-34567-89012", json=payload("order_paid_built.json")
        )
        order = ebay.fetch("ORDER_CONFIRMATION", json.loads(body))
    assert ebay.translate("ORDER_CONFIRMATION", order).order.external_id == "12-34567-89012"
    assert ebay.fetch("order", {"orderId": "x"}) == {"orderId": "x"}  # polled: whole already
    with pytest.raises(Exception, match="names no orderId"):
        ebay.fetch("ORDER_CONFIRMATION", {"notification": {"data": {}}})


def test_a_body_signed_with_another_key_of_the_same_shape_verifies_only_with_that_key():
    from connectors.channels.ebay.tests.helpers import order_notification, own_key_signer

    sign, key = own_key_signer()
    body = order_notification("12-1")
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(f"{API}/commerce/notification/v1/public_key/test-kid-0001", json=key)
        ebay = connector()
        assert ebay.verify({"X-EBAY-SIGNATURE": sign(body)}, body)
        other, _ = own_key_signer()
        assert not ebay.verify({"X-EBAY-SIGNATURE": other(body)}, body)


def test_ebays_java_sdk_message_verifies_as_stored_and_its_tampered_copy_does_not():
    # eBay's Java SDK keeps the same signed message pretty-printed (message.json), a copy with
    # the username changed (tampered_message.json) and the getPublicKey answer; its
    # DataProvider signs both with the header of the test vector
    message = raw("notifications/notification_MARKETPLACE_ACCOUNT_DELETION_javasdk.json")
    tampered = raw("notifications/notification_MARKETPLACE_ACCOUNT_DELETION_tampered_javasdk.json")
    with responses.RequestsMock() as mock:
        tokens(mock)
        mock.get(KEY_URL, json=payload("notifications/get_public_key_javasdk.json"))
        ebay = connector()
        assert ebay.verify(_headers(), message)
        assert not ebay.verify(_headers(), tampered)
    assert json.loads(tampered)["notification"]["data"]["username"] == "test_user2"
