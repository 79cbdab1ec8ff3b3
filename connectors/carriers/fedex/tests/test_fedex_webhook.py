"""FedEx Advanced Integrated Visibility pushes (FedExConnector.verify, read_delivery,
translate_tracking) and the account's settings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from marshmallow import ValidationError
from werkzeug.datastructures import Headers

from connectors.carriers.fedex import TOPIC, FedExConnector, translate
from connectors.carriers.fedex import settings as fedex_settings
from connectors.carriers.fedex.settings import FedExSettings
from hub.connectors import AccountSchema, Capability, Delivery, connector_class, tracking_to_json
from hub.connectors.accounts import parse_accounts
from hub.errors import ConfigError, TranslationError
from hub.values import loads

TESTS = Path(__file__).parent
PUSHES = sorted((TESTS / "payloads" / "webhook").glob("*.json"))
PUSH = (TESTS / "payloads" / "webhook" / "push_out_for_delivery.json").read_bytes()
TOKEN = "fedex-security-token"
OLD = "fedex-old-security-token"


def make(**keys: Any) -> FedExConnector:
    data = {"connector": "fedex", "client_id": "id", "client_secret": "secret", **keys}
    lines = [f"{k} = {json.dumps(v)}" for k, v in data.items()]
    account = parse_accounts("[accounts.fx]\n" + "\n".join(lines), "hub.toml", env={})["fx"]
    return FedExConnector(account)


def sign(secret: str, body: bytes) -> str:
    # FedEx: Base64(HmacSHA256(security token, payload))
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def headers(body: bytes, secret: str | None = TOKEN) -> Headers:
    out = Headers({"Content-Type": "application/json", "User-Agent": "FedEx"})
    if secret is not None:
        out["fdx-signature"] = sign(secret, body)
    return out


# -- declarations -------------------------------------------------------------------------------


def test_the_connector_is_registered_with_what_it_does():
    cls = connector_class("fedex")
    assert cls is FedExConnector
    assert cls.kind == "carrier" and cls.track_batch_size == 30
    assert cls.capabilities == {Capability.TRACKING_POLL, Capability.TRACKING_WEBHOOK}
    assert cls.topics == {TOPIC}


def test_settings_require_the_client_credentials_and_flag_the_secrets():
    schema = FedExSettings()
    base = {"connector": "fedex", "client_id": "id", "client_secret": "secret"}
    assert schema.load(base)["api_base"] is None
    for key in ("client_id", "client_secret"):
        with pytest.raises(ValidationError) as caught:
            schema.load({k: v for k, v in base.items() if k != key})
        assert key in caught.value.normalized_messages()
    with pytest.raises(ValidationError):
        schema.load({**base, "client_secert": "typo"})
    with pytest.raises(ValidationError):
        schema.load({**base, "webhook_secrets": [""]})
    for key in ("client_secret", "webhook_secret", "webhook_secrets"):
        assert schema.fields[key].metadata.get("secret") is True
    doc = fedex_settings.__doc__ or ""
    for key in set(schema.fields) - set(AccountSchema().fields):
        assert f"``{key}``" in doc, key


def test_a_bad_account_names_the_key():
    with pytest.raises(ConfigError, match="client_id"):
        parse_accounts('[accounts.f]\nconnector = "fedex"\nclient_secret = "x"\n', "h.toml", env={})


# -- verify ---------------------------------------------------------------------------------------


def test_a_push_signed_with_the_security_token_verifies():
    fx = make(webhook_secret=TOKEN)
    assert fx.verify(headers(PUSH), PUSH) is True
    lower = Headers([(k.lower(), v) for k, v in headers(PUSH).items()])
    assert fx.verify(lower, PUSH) is True
    assert fx.verify({"FDX-Signature": sign(TOKEN, PUSH)}, PUSH) is True  # a plain dict too


def test_a_wrong_token_a_missing_signature_or_a_changed_body_fails():
    fx = make(webhook_secret=TOKEN)
    assert fx.verify(headers(PUSH, "another-token"), PUSH) is False
    assert fx.verify(headers(PUSH, None), PUSH) is False
    for garbage in ("", "   ", "not base64", "AAAA"):
        assert fx.verify({"fdx-signature": garbage}, PUSH) is False
    signed = headers(PUSH)
    for changed in (PUSH + b" ", PUSH[:-1], PUSH.replace(b"738488882438", b"738488882439"), b""):
        assert fx.verify(signed, changed) is False


def test_without_a_webhook_secret_every_push_is_refused():
    assert make().verify(headers(PUSH), PUSH) is False


def test_both_tokens_verify_while_one_is_rotated():
    fx = make(webhook_secrets=[TOKEN, OLD])
    assert fx.verify(headers(PUSH, TOKEN), PUSH) and fx.verify(headers(PUSH, OLD), PUSH)
    assert make(webhook_secret=TOKEN).verify(headers(PUSH, OLD), PUSH) is False


# -- deliveries -----------------------------------------------------------------------------------


def test_a_retried_push_has_the_same_key_and_another_push_another():
    fx = make(webhook_secret=TOKEN)
    first = fx.read_delivery(headers(PUSH), PUSH)
    assert isinstance(first, Delivery) and first.topic == TOPIC
    assert first.dedupe_key.startswith("fedex:output:")
    assert first.event_id == "5e1b1f0e-7b0a-4c3e-9d3a-2f6f0c1d8a41"
    assert first.headers == {"User-Agent": "FedEx"}
    # a retry: the same tracking, another attempt noted in outputMetaData (fields made up here,
    # FedEx does not publish them), other whitespace
    payload = json.loads(PUSH)
    retry = json.dumps({**payload, "outputMetaData": [{"attempt": 2}]}, indent=1).encode()
    assert fx.read_delivery(headers(retry), retry).dedupe_key == first.dedupe_key
    # new information about the same parcel: another event
    payload["output"]["completeTrackResults"][0]["trackResults"][0]["latestStatusDetail"][
        "code"
    ] = "DL"
    other = json.dumps(payload).encode()
    assert fx.read_delivery(headers(other), other).dedupe_key != first.dedupe_key


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"{}", b'{"output": null}', b"\xff"])
def test_an_odd_body_still_reads(body: bytes):
    delivery = make(webhook_secret=TOKEN).read_delivery(headers(body), body)
    assert delivery.topic == TOPIC and delivery.dedupe_key.startswith("fedex:body:")


# -- translation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PUSHES, ids=lambda p: p.stem)
def test_a_push_translates_to_the_expected_canonical_json(path: Path):
    want = json.loads((TESTS / "expected" / "webhook" / path.name).read_text(encoding="utf-8"))
    payload = loads(path.read_bytes())
    got = make().translate_tracking(TOPIC, payload)
    assert [tracking_to_json(t) for t in got] == want
    assert payload == loads(path.read_bytes())  # left unchanged


def test_a_push_reads_like_the_track_api_answer_for_the_same_scans():
    # the events the push and the recorded poll share are the same events (the hub's key)
    [pushed] = make().translate_tracking(TOPIC, loads(PUSH))
    polled = (TESTS / "payloads" / "track_delivered_17_events.json").read_bytes()
    [tracked] = translate.read_tracking(polled, ["738488882438"])
    key = lambda e: (e.at, e.status, e.code)  # noqa: E731 - the hub's unique key for an event
    assert {key(e) for e in pushed.events} <= {key(e) for e in tracked.events}


@pytest.mark.parametrize(
    "payload",
    [None, [], "text", {}, {"output": {}}, {"output": {"completeTrackResults": []}}],
)
def test_a_payload_that_is_no_push_is_a_translation_error(payload: Any):
    with pytest.raises(TranslationError):
        make().translate_tracking(TOPIC, payload)


def test_an_unknown_topic_is_a_translation_error():
    with pytest.raises(TranslationError):
        make().translate_tracking("orders/create", loads(PUSH))


def test_the_tracking_page():
    assert make().tracking_url("738488882438") == (
        "https://www.fedex.com/fedextrack/?trknbr=738488882438"
    )
