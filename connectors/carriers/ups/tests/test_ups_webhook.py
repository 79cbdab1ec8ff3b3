"""UPS Track Alert pushes (UpsConnector.verify, read_delivery, translate_tracking) and the
account's settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from marshmallow import ValidationError
from werkzeug.datastructures import Headers

from connectors.carriers.ups import TOPIC, UpsConnector, translate
from connectors.carriers.ups import settings as ups_settings
from connectors.carriers.ups.settings import UpsSettings
from hub.connectors import AccountSchema, Capability, Delivery, connector_class, tracking_to_json
from hub.connectors.accounts import parse_accounts
from hub.errors import ConfigError, TranslationError
from hub.values import loads

TESTS = Path(__file__).parent
PUSHES = sorted((TESTS / "payloads" / "webhook").glob("*.json"))
CREDENTIAL = "track-alert-credential-1"
OLD = "track-alert-credential-0"
DELIVERED = (TESTS / "payloads" / "webhook" / "track_alert_delivered.json").read_bytes()


def make(**keys: Any) -> UpsConnector:
    data = {"connector": "ups", "client_id": "id", "client_secret": "secret", **keys}
    lines = [f"{k} = {json.dumps(v)}" for k, v in data.items()]
    account = parse_accounts("[accounts.ups-a]\n" + "\n".join(lines), "hub.toml", env={})["ups-a"]
    return UpsConnector(account)


def headers(credential: str | None = CREDENTIAL) -> Headers:
    out = Headers({"Content-Type": "application/json", "User-Agent": "UPSPubSubTrackingService"})
    if credential is not None:
        out["credential"] = credential
    return out


# -- declarations -------------------------------------------------------------------------------


def test_the_connector_is_registered_with_what_it_does():
    cls = connector_class("ups")
    assert cls is UpsConnector
    assert cls.kind == "carrier" and cls.track_batch_size == 1
    assert cls.capabilities == {Capability.TRACKING_POLL, Capability.TRACKING_WEBHOOK}
    assert cls.topics == {TOPIC}


def test_settings_require_the_client_credentials_and_flag_the_secrets():
    schema = UpsSettings()
    base = {"connector": "ups", "client_id": "id", "client_secret": "secret"}
    loaded = schema.load(base)
    assert loaded["transaction_src"] == "fulfilment-hub" and loaded["api_base"] is None
    for key in ("client_id", "client_secret"):
        with pytest.raises(ValidationError) as caught:
            schema.load({k: v for k, v in base.items() if k != key})
        assert key in caught.value.normalized_messages()
    with pytest.raises(ValidationError):
        schema.load({**base, "client_secert": "typo"})
    with pytest.raises(ValidationError):
        schema.load({**base, "webhook_secret": ""})
    fields = schema.fields
    for key in ("client_secret", "webhook_secret", "webhook_secrets"):
        assert fields[key].metadata.get("secret") is True
    doc = ups_settings.__doc__ or ""
    for key in set(fields) - set(AccountSchema().fields):
        assert f"``{key}``" in doc, key


def test_a_bad_account_names_the_key():
    with pytest.raises(ConfigError, match="client_secret"):
        parse_accounts('[accounts.u]\nconnector = "ups"\nclient_id = "x"\n', "hub.toml", env={})


# -- verify ---------------------------------------------------------------------------------------


def test_the_subscription_credential_is_accepted():
    ups = make(webhook_secret=CREDENTIAL)
    assert ups.verify(headers(), DELIVERED) is True
    lower = Headers([(k.lower(), v) for k, v in headers().items()])
    assert ups.verify(lower, DELIVERED) is True
    assert ups.verify({"Credential": CREDENTIAL}, DELIVERED) is True  # a plain dict too


@pytest.mark.parametrize("given", [None, "", "   ", "wrong", CREDENTIAL.upper(), CREDENTIAL + "x"])
def test_a_missing_or_wrong_credential_is_refused(given: str | None):
    assert make(webhook_secret=CREDENTIAL).verify(headers(given), DELIVERED) is False


def test_without_a_webhook_secret_every_push_is_refused():
    assert make().verify(headers(), DELIVERED) is False
    assert make().verify(headers(""), DELIVERED) is False


def test_both_credentials_work_while_one_is_rotated():
    ups = make(webhook_secrets=[CREDENTIAL, OLD])
    assert ups.verify(headers(CREDENTIAL), DELIVERED) and ups.verify(headers(OLD), DELIVERED)
    assert make(webhook_secret=CREDENTIAL).verify(headers(OLD), DELIVERED) is False


# -- deliveries -----------------------------------------------------------------------------------


def test_a_push_is_keyed_by_its_number_time_and_codes():
    ups = make(webhook_secret=CREDENTIAL)
    first = ups.read_delivery(headers(), DELIVERED)
    assert isinstance(first, Delivery) and first.topic == TOPIC
    assert first.dedupe_key == "ups:1Z204W4R0308071865:20240423T135004Z:D/FS/011"
    # the same activity resent (whitespace differs): the same event
    again = json.dumps(json.loads(DELIVERED), indent=4).encode()
    assert ups.read_delivery(headers(), again).dedupe_key == first.dedupe_key
    assert first.headers == {"User-Agent": "UPSPubSubTrackingService"}  # not the credential


def test_every_push_of_a_parcel_has_its_own_key():
    ups = make(webhook_secret=CREDENTIAL)
    keys = {ups.read_delivery(headers(), p.read_bytes()).dedupe_key for p in PUSHES}
    assert len(keys) == len(PUSHES)
    # UPS's own examples 4 and 5: the same code twice, hours apart
    payload = json.loads(
        (TESTS / "payloads" / "webhook" / "track_alert_out_for_delivery.json").read_bytes()
    )
    later = {**payload, "gmtActivityTime": "141519", "localActivityTime": "101519"}
    assert ups.read_delivery(headers(), json.dumps(later).encode()).dedupe_key not in keys


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b"{}", b'{"trackingNumber": null}', b"\xff"]
)
def test_an_odd_body_still_reads(body: bytes):
    delivery = make(webhook_secret=CREDENTIAL).read_delivery(headers(), body)
    assert delivery.topic == TOPIC and delivery.dedupe_key.startswith("ups:sha256:")


# -- translation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PUSHES, ids=lambda p: p.stem)
def test_a_push_translates_to_the_expected_canonical_json(path: Path):
    want = json.loads((TESTS / "expected" / "webhook" / path.name).read_text(encoding="utf-8"))
    payload = loads(path.read_bytes())
    got = make().translate_tracking(TOPIC, payload)
    assert [tracking_to_json(t) for t in got] == want
    assert payload == loads(path.read_bytes())  # left unchanged


def test_a_push_and_a_poll_of_the_same_scan_make_the_same_event():
    # Track API activity for the scan UPS's delivery push describes
    activity = {
        "location": {"address": {"city": "CHARLOTTE", "stateProvince": "NC", "country": "US"}},
        "status": {"type": "D", "description": "Delivered", "code": "FS", "statusCode": "011"},
        "date": "20240423",
        "time": "095004",
        "gmtDate": "20240423",
        "gmtOffset": "-04:00",
        "gmtTime": "13:50:04",
    }
    number = "1Z204W4R0308071865"
    body = {
        "trackResponse": {
            "shipment": [{"package": [{"trackingNumber": number, "activity": [activity]}]}]
        }
    }
    [polled] = translate.read_tracking(json.dumps(body).encode(), [number])
    [pushed] = make().translate_tracking(TOPIC, loads(DELIVERED))
    key = lambda e: (e.at, e.status, e.code)  # noqa: E731 - the hub's unique key for an event
    assert [key(e) for e in polled.events] == [key(e) for e in pushed.events]


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "text",
        {},
        {"trackingNumber": "1ZA"},
        {"trackingNumber": "1ZA", "gmtActivityDate": "x"},
    ],
)
def test_a_payload_that_is_no_push_is_a_translation_error(payload: Any):
    with pytest.raises(TranslationError):
        make().translate_tracking(TOPIC, payload)


def test_an_unknown_topic_is_a_translation_error():
    with pytest.raises(TranslationError):
        make().translate_tracking("orders/create", loads(DELIVERED))


def test_an_unknown_status_in_a_push_is_in_transit():
    payload = {**json.loads(DELIVERED), "activityStatus": {"type": "Q", "code": "ZZ"}}
    [result] = make().translate_tracking(TOPIC, payload)
    assert result.status == "in_transit" and result.events[0].code == "ZZ"


def test_a_push_without_gmt_fields_is_read_in_new_york():
    payload = {**json.loads(DELIVERED), "gmtActivityDate": "", "gmtActivityTime": ""}
    [result] = make().translate_tracking(TOPIC, payload)
    assert result.events[0].at.isoformat() == "2024-04-23T13:50:04+00:00"  # EDT, -04:00


def test_the_tracking_page():
    assert make().tracking_url("1Z204W4R0308071865") == (
        "https://www.ups.com/track?tracknum=1Z204W4R0308071865"
    )
