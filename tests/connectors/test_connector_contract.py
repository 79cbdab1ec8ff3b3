"""The connector contract: one suite every registered connector must pass (STYLE.md point 4).

The suite is parametrised over what is installed, not over a hand-kept list: every connector
that ``hub.connectors.registry()`` finds through the ``hub.connectors`` entry points, and every
recorded payload beside a connector (``<connector package>/tests/payloads/*.json``) that has a
same-named canonical JSON in ``tests/expected/``. Adding a connector or a payload adds cases.

The one thing that cannot be derived is how a sender signs and labels a delivery (which header
carries the signature, which the topic, which the per-event ids) and a valid set of account
keys: :data:`SENDERS` holds that, one small entry per webhook connector, and a test fails when a
registered webhook connector has no entry.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from marshmallow import ValidationError
from werkzeug.datastructures import Headers

from connectors.channels.bigcommerce import sign as bigcommerce_sign
from hub.canonical import OrderRemoved, OrderUpdate, order_to_json
from hub.connectors import (
    AccountSchema,
    Capability,
    Connector,
    Delivery,
    connector_class,
    registry,
)
from hub.connectors.accounts import parse_accounts
from hub.connectors.signing import hmac_sha256_base64
from hub.errors import ConfigError, TranslationError
from hub.values import loads

SECRET = "contract-secret"
OLD_SECRET = "contract-old-secret"
OTHER_SECRET = "somebody-elses-secret"
KINDS = {"channel", "carrier", "warehouse"}
SHOP = "contract-shop.myshopify.com"


@dataclass(frozen=True)
class Sender:
    """How a channel's sender signs and labels a webhook delivery."""

    #: header carrying the signature of the raw body
    signature: str
    #: header naming the topic
    topic: str
    #: the headers that differ per event (delivery ``n``): ids, the source
    event: Callable[[int], dict[str, str]]
    #: valid account keys, apart from ``connector`` and the webhook secret(s)
    account: dict[str, Any]
    #: how the sender computes the signature
    sign: Callable[[str, bytes], str] = field(default=hmac_sha256_base64)
    #: for a sender that signs the event's headers with the body (Standard Webhooks):
    #: ``(secret, body, event headers)`` to the signature; ``sign`` is then not used
    sign_event: Callable[[str, bytes, dict[str, str]], str] | None = None
    #: the account keys holding the signing secret, one and a list (rotation)
    secret_keys: tuple[str, str] = ("webhook_secret", "webhook_secrets")


SENDERS: dict[str, Sender] = {
    "shopify": Sender(
        signature="X-Shopify-Hmac-Sha256",
        topic="X-Shopify-Topic",
        event=lambda n: {
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Webhook-Id": f"b54557e4-bdd9-4b37-8a5f-bf7d70bcd0{n:02d}",
            "X-Shopify-Event-Id": f"98880550-7158-44d4-b7cd-2c97c8a091{n:02d}",
            "X-Shopify-Triggered-At": "2024-04-01T10:00:00.000000000Z",
            "X-Shopify-API-Version": "2024-04",
        },
        account={"shop": SHOP, "access_token": "shpat_contract"},
    ),
    "woocommerce": Sender(
        signature="X-WC-Webhook-Signature",
        topic="X-WC-Webhook-Topic",
        event=lambda n: {
            "X-WC-Webhook-Source": "https://woo.example/",
            "X-WC-Webhook-ID": "12",
            "X-WC-Webhook-Delivery-ID": f"{n:032x}",
        },
        account={
            "url": "https://woo.example",
            "consumer_key": "ck_contract",
            "consumer_secret": "cs_contract",
        },
    ),
    # Standard Webhooks, keyed with the app's client secret; the scope is in the thin body,
    # and in the X-Hub-Scope header of hooks the hub creates (read when the body has none)
    "bigcommerce": Sender(
        signature="webhook-signature",
        topic="X-Hub-Scope",
        event=lambda n: {
            "webhook-id": f"msg_contract_{n:04d}",
            "webhook-timestamp": str(int(time.time())),
        },
        account={"store_hash": "contract", "client_id": "contract-client", "access_token": "t"},
        sign_event=lambda secret, body, event: bigcommerce_sign(
            secret, event["webhook-id"], event["webhook-timestamp"], body
        ),
        secret_keys=("client_secret", "client_secrets"),
    ),
}


#: valid account keys of the channels whose orders are polled, not pushed by webhook (their
#: recorded orders are translated like the webhook channels')
POLLED: dict[str, dict[str, Any]] = {
    "amazon": {
        "region": "eu",
        "marketplace_ids": ["A1F83G8C2ARO7P"],
        "client_id": "amzn1.application-oa2-client.contract",
        "client_secret": "contract-secret",
        "refresh_token": "Atzr|contract",
        "seller_id": "A3CONTRACT",
    },
    "ebay": {
        "marketplace_id": "EBAY_GB",
        "client_id": "Contract-Hub-PRD-0123456789-abcdef01",
        "client_secret": "PRD-contract-secret",
        "refresh_token": "v^1.1#contract",
        "verification_token": "contract-verification-token-0123456789",
        "endpoint_url": "https://hub.example.com/webhooks/ebay-contract",
    },
}


# -- what is installed --------------------------------------------------------------------


def webhook_channels() -> list[str]:
    """Names of every registered channel connector that receives order webhooks."""
    return sorted(
        name
        for name, cls in registry().items()
        if getattr(cls, "kind", None) == "channel"
        and Capability.ORDERS_WEBHOOK in getattr(cls, "capabilities", ())
    )


def recorded(cls: type[Connector]) -> list[Path]:
    """The connector's recorded payloads that have an expected canonical JSON."""
    tests = Path(inspect.getfile(cls)).parent / "tests"
    return sorted(
        path
        for path in (tests / "payloads").glob("*.json")
        if (tests / "expected" / path.name).is_file()
    )


def expected_json(path: Path) -> dict[str, Any]:
    return json.loads((path.parent.parent / "expected" / path.name).read_text(encoding="utf-8"))


def order_channels() -> list[str]:
    """Names of every registered channel connector that takes orders in, by webhook or poll."""
    return sorted(
        name
        for name, cls in registry().items()
        if getattr(cls, "kind", None) == "channel"
        and {Capability.ORDERS_WEBHOOK, Capability.ORDERS_POLL} & set(cls.capabilities)
    )


WEBHOOK_CHANNELS = webhook_channels()
ORDER_CHANNELS = order_channels()
PAIRS = [
    pytest.param(name, path, id=f"{name}-{path.stem}")
    for name in ORDER_CHANNELS
    for path in recorded(connector_class(name))
]
ALL_CONNECTORS = sorted(registry())


def test_the_built_in_channels_are_registered_and_covered():
    # Guards the parametrisation itself: an empty registry would make the suite pass vacuously.
    assert {"shopify", "woocommerce"} <= set(WEBHOOK_CHANNELS)
    assert {"amazon", "ebay"} <= set(ORDER_CHANNELS) - set(WEBHOOK_CHANNELS)
    assert {name for name, _ in (p.values for p in PAIRS)} == set(ORDER_CHANNELS)


@pytest.mark.parametrize("name", WEBHOOK_CHANNELS)
def test_every_webhook_channel_has_a_sender_entry_and_a_recorded_payload(name):
    assert name in SENDERS, f"add how {name!r} signs and labels a delivery to SENDERS"
    assert recorded(connector_class(name)), (
        f"{name}: no tests/payloads/*.json with a same-named tests/expected/ file"
    )


@pytest.mark.parametrize("name", sorted(set(ORDER_CHANNELS) - set(WEBHOOK_CHANNELS)))
def test_every_polled_channel_has_account_keys_and_a_recorded_order(name):
    assert name in POLLED, f"add valid account keys for {name!r} to POLLED"
    assert recorded(connector_class(name)), (
        f"{name}: no tests/payloads/*.json with a same-named tests/expected/ file"
    )


# -- helpers ------------------------------------------------------------------------------


def _toml(value: Any) -> str:
    # A JSON string or array of strings is also a valid TOML value.
    return json.dumps(value)


def make_connector(name: str, **secrets: Any) -> Connector:
    """The connector for an account built the way start-up builds it (through the file).
    ``webhook_secret`` / ``webhook_secrets`` name the sender's secret keys, whatever the
    connector calls them."""
    if name in POLLED:
        keys = {"connector": name, **POLLED[name]}
    else:
        renamed = dict(
            zip(("webhook_secret", "webhook_secrets"), SENDERS[name].secret_keys, strict=True)
        )
        secrets = {renamed[k]: v for k, v in (secrets or {"webhook_secret": SECRET}).items()}
        keys = {"connector": name, **SENDERS[name].account, **secrets}
    text = f"[accounts.{name}-contract]\n" + "".join(
        f"{key} = {_toml(value)}\n" for key, value in keys.items()
    )
    account = parse_accounts(text, "contract.toml", env={})[f"{name}-contract"]
    return connector_class(name)(account)


def first_payload(name: str) -> dict[str, Any]:
    """A webhook-shaped order (the first recorded payload, without a REST ``order`` wrapper)."""
    payload = json.loads(recorded(connector_class(name))[0].read_bytes())
    return payload["order"] if set(payload) == {"order"} else payload


def event_body(name: str, n: int) -> bytes:
    """The body of event ``n``: the recorded order with its own id."""
    payload = copy.deepcopy(first_payload(name))
    payload["id"] = 4_000_000 + n
    return json.dumps(payload).encode()


def order_topics(connector: Connector) -> list[str]:
    """The topics whose bodies are orders (not the returns and refunds ones); for a polled
    channel, the topic its reconciliation stores orders under (its other topics are
    notifications: of an order to fetch, or of a customer to erase)."""
    if connector.name in POLLED:
        return [connector.reconcile_topic]
    return sorted(connector.topics - connector.return_topics)


def a_topic(name: str) -> str:
    return sorted(connector_class(name).topics)[0]


def headers_for(
    name: str, body: bytes, n: int = 1, secret: str = SECRET, topic: str | None = None
) -> Headers:
    """The headers the sender would send with delivery ``n`` of ``body``."""
    sender = SENDERS[name]
    event = sender.event(n)
    if sender.sign_event is not None:
        signature = sender.sign_event(secret, body, event)
    else:
        signature = sender.sign(secret, body)
    return Headers(
        {
            "Content-Type": "application/json",
            sender.topic: topic or a_topic(name),
            **event,
            sender.signature: signature,
        }
    )


def without(headers: Headers, name: str) -> Headers:
    out = Headers(headers)
    del out[name]
    return out


def lower_cased(headers: Headers) -> Headers:
    """As an HTTP/2 hop delivers them: every header name in lower case."""
    return Headers([(key.lower(), value) for key, value in headers.items()])


# -- declarations -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_CONNECTORS)
def test_connector_declares_what_it_is(name):
    cls = registry()[name]
    assert isinstance(cls, type) and issubclass(cls, Connector)
    # Accounts store cls.name and look the class up by it again: it must be the entry point name.
    assert cls.name == name
    assert cls.kind in KINDS
    assert isinstance(cls.title, str) and cls.title.strip()
    assert isinstance(cls.capabilities, frozenset) and cls.capabilities
    assert all(isinstance(c, Capability) for c in cls.capabilities)
    assert isinstance(cls.settings_schema, type) and issubclass(cls.settings_schema, AccountSchema)
    assert isinstance(cls.topics, frozenset)
    assert all(isinstance(t, str) and t for t in cls.topics)
    if Capability.ORDERS_WEBHOOK in cls.capabilities:
        assert cls.topics, f"{name} receives webhooks but declares no topics"


def documented_keys(cls: type[Connector]) -> list[str]:
    """The keys a connector's settings module documents, one per line: ````key``  what it is``."""
    module = inspect.getmodule(cls.settings_schema)
    assert module is not None and module.__doc__, f"{cls.name}: settings module has no docstring"
    return re.findall(r"^``(\w+)``", module.__doc__, flags=re.MULTILINE)


@pytest.mark.parametrize("name", WEBHOOK_CHANNELS)
def test_settings_schema_requires_its_documented_keys(name):
    cls = connector_class(name)
    documented = documented_keys(cls)
    secret_key = SENDERS[name].secret_keys[0]
    assert secret_key in documented
    declared = cls.settings_schema().fields
    assert set(documented) <= set(declared), "a documented key the schema does not know"
    # Every key the connector adds to the common ones is documented somewhere in the docstring.
    module_doc = inspect.getmodule(cls.settings_schema).__doc__
    for key in set(declared) - set(AccountSchema().fields):
        assert f"``{key}``" in module_doc, f"{name}: key {key!r} is not documented"
    required = {key for key, f in declared.items() if f.required}
    assert required <= set(documented) | {"connector"}, "a required key that is not documented"

    valid = {"connector": name, **SENDERS[name].account, secret_key: SECRET}
    cls.settings_schema().load(valid)  # the baseline is valid
    for key in [*documented, "connector"]:
        data = {k: v for k, v in valid.items() if k != key}
        with pytest.raises(ValidationError) as caught:
            cls.settings_schema().load(data)
        assert key in caught.value.normalized_messages(), (key, caught.value.messages)


@pytest.mark.parametrize("name", WEBHOOK_CHANNELS)
def test_settings_schema_refuses_an_unknown_key(name):
    valid = {"connector": name, **SENDERS[name].account, SENDERS[name].secret_keys[0]: SECRET}
    with pytest.raises(ValidationError) as caught:
        connector_class(name).settings_schema().load({**valid, "webhook_secert": "typo"})
    assert "webhook_secert" in caught.value.normalized_messages()


@pytest.mark.parametrize("name", WEBHOOK_CHANNELS)
def test_secrets_are_flagged_in_the_schema(name):
    declared = connector_class(name).settings_schema().fields
    for key in SENDERS[name].secret_keys:
        assert declared[key].metadata.get("secret") is True


# -- signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", WEBHOOK_CHANNELS)
def test_a_body_signed_with_the_account_secret_verifies(name):
    connector = make_connector(name)
    body = event_body(name, 1)
    headers = headers_for(name, body)
    assert connector.verify(headers, body) is True
    assert connector.verify(lower_cased(headers), body) is True
    assert connector.is_ping(headers, body) is False


@pytest.mark.parametrize("name", WEBHOOK_CHANNELS)
def test_a_wrong_secret_fails(name):
    connector = make_connector(name)
    body = event_body(name, 1)
    assert connector.verify(headers_for(name, body, secret=OTHER_SECRET), body) is False
    assert connector.verify(headers_for(name, body, secret=SECRET.upper()), body) is False


@pytest.mark.parametrize("name", WEBHOOK_CHANNELS)
@pytest.mark.parametrize("signature", [None, "", "   ", "not base64 at all", "é", "AAAA"])
def test_a_missing_or_garbage_signature_fails(name, signature):
    connector = make_connector(name)
    body = event_body(name, 1)
    headers = without(headers_for(name, body), SENDERS[name].signature)
    if signature is not None:
        headers[SENDERS[name].signature] = signature
    assert connector.verify(headers, body) is False


def tampered(body: bytes) -> Iterator[bytes]:
    yield body + b" "
    yield body[:-1]
    digit = re.search(rb"\d", body)
    assert digit is not None
    at = digit.start()
    yield body[:at] + (b"8" if body[at : at + 1] == b"9" else b"9") + body[at + 1 :]
    yield b""


@pytest.mark.parametrize("name", WEBHOOK_CHANNELS)
def test_a_tampered_body_fails(name):
    connector = make_connector(name)
    body = event_body(name, 1)
    headers = headers_for(name, body)
    assert connector.verify(headers, body) is True
    for changed in tampered(body):
        assert changed != body
        assert connector.verify(headers, changed) is False, changed[:40]


@pytest.mark.parametrize("name", WEBHOOK_CHANNELS)
def test_both_secrets_verify_while_one_is_rotated(name):
    connector = make_connector(name, webhook_secrets=[SECRET, OLD_SECRET])
    body = event_body(name, 1)
    assert connector.verify(headers_for(name, body, secret=SECRET), body) is True
    assert connector.verify(headers_for(name, body, secret=OLD_SECRET), body) is True
    assert connector.verify(headers_for(name, body, secret=OTHER_SECRET), body) is False
    # After the rotation the old secret is gone from the account and stops verifying.
    rotated = make_connector(name, webhook_secrets=[SECRET])
    assert rotated.verify(headers_for(name, body, secret=OLD_SECRET), body) is False


@pytest.mark.parametrize("name", WEBHOOK_CHANNELS)
def test_webhook_secret_and_webhook_secrets_together_both_verify(name):
    connector = make_connector(name, webhook_secret=SECRET, webhook_secrets=[OLD_SECRET])
    body = event_body(name, 1)
    assert connector.verify(headers_for(name, body, secret=SECRET), body) is True
    assert connector.verify(headers_for(name, body, secret=OLD_SECRET), body) is True


# -- deliveries ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", WEBHOOK_CHANNELS)
def test_read_delivery_gives_the_topic_and_a_stable_dedupe_key(name):
    connector = make_connector(name)
    body = event_body(name, 1)
    for topic in sorted(connector.topics):
        first = connector.read_delivery(headers_for(name, body, topic=topic), body)
        again = connector.read_delivery(headers_for(name, body, topic=topic), body)
        assert isinstance(first, Delivery)
        assert first.topic == topic
        assert isinstance(first.dedupe_key, str) and first.dedupe_key.strip()
        assert again.dedupe_key == first.dedupe_key
        assert first.headers is not None and SENDERS[name].topic in first.headers


@pytest.mark.parametrize("name", WEBHOOK_CHANNELS)
def test_a_different_event_gets_a_different_dedupe_key(name):
    connector = make_connector(name)
    keys = set()
    for n in (1, 2, 3):
        body = event_body(name, n)
        keys.add(connector.read_delivery(headers_for(name, body, n=n), body).dedupe_key)
    assert len(keys) == 3


@pytest.mark.parametrize("name", WEBHOOK_CHANNELS)
def test_read_delivery_copes_with_a_body_that_is_not_json(name):
    # It runs inside the request, after verify: it must not fail on an odd (signed) body.
    connector = make_connector(name)
    for body in (b"not json", b"[1, 2]", b'"text"', b"{}", b'{"id": null}', b"\xff\xfe"):
        delivery = connector.read_delivery(headers_for(name, body), body)
        assert isinstance(delivery, Delivery) and delivery.dedupe_key.strip()


@pytest.mark.parametrize("name", WEBHOOK_CHANNELS)
def test_an_unlabelled_delivery_still_reads(name):
    connector = make_connector(name)
    body = event_body(name, 1)
    headers = without(headers_for(name, body), SENDERS[name].topic)
    delivery = connector.read_delivery(headers, body)
    assert delivery.topic not in connector.topics  # stored, then marked ignored
    assert delivery.dedupe_key


# -- translation --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "path"), PAIRS)
def test_recorded_payload_translates_to_the_expected_canonical_json(name, path):
    connector = make_connector(name)
    expected = expected_json(path)
    body = path.read_bytes()
    updates = 0
    for topic in order_topics(connector):
        result = connector.translate(topic, loads(body))
        if isinstance(result, OrderRemoved):
            assert result.external_id == expected["external_id"], topic
            continue
        assert isinstance(result, OrderUpdate), (topic, type(result))
        assert order_to_json(result.order) == expected, topic
        assert all(isinstance(p, str) and p for p in result.problems)
        updates += 1
    assert updates, f"{name}: no topic translates {path.name} to an order"


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.mark.parametrize(("name", "path"), PAIRS)
def test_recorded_orders_lines_and_totals_add_up(name, path):
    # the contract: sum(unit_price * quantity) = subtotal, and
    # total = subtotal - discount + shipping + (tax unless tax_included), to the cent
    connector = make_connector(name)
    for topic in order_topics(connector):
        result = connector.translate(topic, loads(path.read_bytes()))
        if isinstance(result, OrderRemoved):
            continue
        order, totals = result.order, result.order.totals
        assert order.lines, topic
        lines = sum((line.unit_price * line.quantity for line in order.lines), Decimal(0))
        assert _cents(lines) == _cents(totals.subtotal), topic
        tax = Decimal(0) if totals.tax_included else totals.tax
        expected = totals.subtotal - totals.discount + totals.shipping + tax
        assert _cents(expected) == _cents(totals.total), topic
        assert all(v >= 0 for v in (totals.discount, totals.shipping, totals.tax)), topic
        assert isinstance(totals.tax_included, bool)
        assert sum(line.discount for line in order.lines) <= totals.discount, topic
        assert not [p for p in result.problems if "add up" in p], (topic, result.problems)


@pytest.mark.parametrize(("name", "path"), PAIRS)
def test_translation_leaves_the_payload_unchanged(name, path):
    connector = make_connector(name)
    payload = loads(path.read_bytes())
    before = copy.deepcopy(payload)
    for topic in order_topics(connector):
        connector.translate(topic, payload)
    assert payload == before


def _same_amount(value: Any, amount: str) -> bool:
    """``value`` is ``amount`` (``"72.5"`` is ``"72.50"``)."""
    try:
        return Decimal(str(value)) == Decimal(amount)
    except ArithmeticError:
        return False


def total_fields(
    node: Any, amount: str, under_total: bool = False
) -> Iterator[tuple[dict[str, Any], str]]:
    """``(holder, key)`` of every value equal to ``amount`` kept under a key naming a total."""
    if isinstance(node, dict):
        for key, value in node.items():
            named = under_total or "total" in key.lower()
            if isinstance(value, dict | list):
                yield from total_fields(value, amount, named and isinstance(value, dict))
            elif named and not isinstance(value, bool) and _same_amount(value, amount):
                yield node, key
    elif isinstance(node, list):
        for item in node:
            yield from total_fields(item, amount)


BAD_PAYLOADS = [
    pytest.param([], id="empty-list"),
    pytest.param([{"id": 1}], id="list"),
    pytest.param({}, id="empty-object"),
    pytest.param(None, id="null"),
    pytest.param("order", id="string"),
    pytest.param(42, id="number"),
    pytest.param({"order": []}, id="wrapped-list"),
]


@pytest.mark.parametrize("name", WEBHOOK_CHANNELS)
@pytest.mark.parametrize("payload", BAD_PAYLOADS)
def test_a_payload_that_is_no_order_raises_a_translation_error(name, payload):
    connector = make_connector(name)
    for topic in sorted(connector.topics):
        with pytest.raises(TranslationError):
            connector.translate(topic, copy.deepcopy(payload))


@pytest.mark.parametrize("name", WEBHOOK_CHANNELS)
def test_an_unknown_topic_raises_a_translation_error(name):
    connector = make_connector(name)
    with pytest.raises(TranslationError):
        connector.translate("no/such.topic", loads(json.dumps(first_payload(name))))


@pytest.mark.parametrize(("name", "path"), PAIRS)
@pytest.mark.parametrize("bad", ["abc", "12,50", "NaN", "Infinity", {"amount": "1.00"}])
def test_a_non_numeric_total_raises_a_translation_error_naming_the_field(name, path, bad):
    expected_total = expected_json(path)["totals"]["total"]
    payload = loads(path.read_bytes())
    order = payload["order"] if set(payload) == {"order"} else payload
    # The field the expected total came from: an amount under a "total" key (at the top, or
    # nested as Amazon's proceeds.grandTotal.amount and eBay's pricingSummary.total.value)
    # holding exactly that amount.
    found = list(total_fields(order, expected_total))
    assert found, f"no total field with {expected_total} in {path.name}"
    keys = {key for _, key in found}
    for holder, key in found:
        holder[key] = bad
    connector = make_connector(name)
    for topic in order_topics(connector):
        if isinstance(connector.translate(topic, loads(path.read_bytes())), OrderRemoved):
            continue  # a removal carries no money
        with pytest.raises(TranslationError) as caught:
            connector.translate(topic, payload)
        assert caught.value.path is not None
        assert caught.value.path.rsplit(".", 1)[-1] in keys, caught.value.path


# -- Shopify specifics --------------------------------------------------------------------


def test_shopify_refuses_a_validly_signed_delivery_for_another_shop():
    connector = make_connector("shopify")
    body = event_body("shopify", 1)
    headers = headers_for("shopify", body)
    assert connector.verify(headers, body) is True
    headers["X-Shopify-Shop-Domain"] = "another-shop.myshopify.com"
    assert connector.verify(headers, body) is False
    headers["X-Shopify-Shop-Domain"] = SHOP.upper()  # domains are case-insensitive
    assert connector.verify(headers, body) is True


def test_shopify_refuses_a_delivery_that_names_no_shop():
    # one app secret signs every shop's deliveries: without the domain it could be any shop's
    connector = make_connector("shopify")
    body = event_body("shopify", 1)
    headers = headers_for("shopify", body)
    del headers["X-Shopify-Shop-Domain"]
    assert connector.verify(headers, body) is False


def test_shopify_refuses_another_shop_under_a_rotated_secret_too():
    connector = make_connector("shopify", webhook_secrets=[SECRET, OLD_SECRET])
    body = event_body("shopify", 1)
    headers = headers_for("shopify", body, secret=OLD_SECRET)
    headers["X-Shopify-Shop-Domain"] = "another-shop.myshopify.com"
    assert connector.verify(headers, body) is False


def test_shopify_retries_of_one_webhook_share_a_key_and_keep_the_event_id():
    connector = make_connector("shopify")
    body = event_body("shopify", 1)
    first = connector.read_delivery(headers_for("shopify", body, n=7), body)
    retry_headers = headers_for("shopify", body, n=7)
    retry_headers["X-Shopify-Triggered-At"] = "2024-04-01T10:05:00.000000000Z"
    retry = connector.read_delivery(retry_headers, body)
    assert retry.dedupe_key == first.dedupe_key
    assert first.event_id == SENDERS["shopify"].event(7)["X-Shopify-Event-Id"]


# -- WooCommerce specifics ----------------------------------------------------------------


@pytest.mark.parametrize("body", [b"webhook_id=12", b"webhook_id=12\n", b"webhook_id=7"])
def test_woocommerce_ping_is_recognised(body):
    connector = make_connector("woocommerce")
    assert connector.is_ping(Headers({"Content-Type": "application/x-www-form-urlencoded"}), body)


@pytest.mark.parametrize(
    "body", [b'{"webhook_id": 12}', b"webhook_id=", b"webhook_id=12&x=1", b"", b"{}"]
)
def test_woocommerce_other_bodies_are_not_pings(body):
    assert make_connector("woocommerce").is_ping(Headers(), body) is False


def test_woocommerce_an_order_delivery_is_not_a_ping():
    body = event_body("woocommerce", 1)
    connector = make_connector("woocommerce")
    assert connector.is_ping(headers_for("woocommerce", body), body) is False


def woo_body(order_id: int, modified: str) -> bytes:
    payload = copy.deepcopy(first_payload("woocommerce"))
    payload.update(id=order_id, date_modified_gmt=modified)
    return json.dumps(payload).encode()


def test_woocommerce_dedupe_key_is_the_order_id_and_its_modification_time():
    connector = make_connector("woocommerce")
    body = woo_body(727, "2017-03-22T19:28:08")
    key = connector.read_delivery(headers_for("woocommerce", body, n=1), body).dedupe_key
    assert "727" in key and "2017-03-22T19:28:08" in key
    # Woo gives every send a new delivery id; the same change sent again is one event.
    resent = connector.read_delivery(headers_for("woocommerce", body, n=2), body).dedupe_key
    assert resent == key
    later = woo_body(727, "2017-03-22T19:30:00")
    changed = connector.read_delivery(headers_for("woocommerce", later, n=3), later).dedupe_key
    assert changed != key
    other = woo_body(728, "2017-03-22T19:28:08")
    other_key = connector.read_delivery(headers_for("woocommerce", other, n=4), other).dedupe_key
    assert other_key not in (key, changed)


def test_woocommerce_deleted_order_without_modification_time_still_dedupes():
    connector = make_connector("woocommerce")
    body = b'{"id": 727}'
    first = connector.read_delivery(
        headers_for("woocommerce", body, n=1, topic="order.deleted"), body
    )
    again = connector.read_delivery(
        headers_for("woocommerce", body, n=2, topic="order.deleted"), body
    )
    assert first.dedupe_key == again.dedupe_key
    assert first.topic == "order.deleted"
    assert isinstance(connector.translate("order.deleted", loads(body)), OrderRemoved)


# -- third-party connectors through the entry point ---------------------------------------

ACME_MODULE = """
from hub.connectors import AccountSchema, Capability, Connector
from marshmallow import fields


class AcmeSettings(AccountSchema):
    api_key = fields.String(required=True, metadata={"secret": True})


class AcmeConnector(Connector):
    name = "acme-channel"
    kind = "channel"
    title = "Acme"
    capabilities = frozenset({Capability.ORDERS_POLL})
    settings_schema = AcmeSettings


class NotAConnector:
    name = "not-a-connector"


def not_a_class():
    return AcmeConnector
"""


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """Install a third-party distribution into ``tmp_path``: ``install(module, entry_points)``."""

    def restore() -> None:
        registry.cache_clear()
        for module in [m for m in sys.modules if m.startswith("acme_")]:
            del sys.modules[module]
        importlib.invalidate_caches()

    request.addfinalizer(restore)
    registry.cache_clear()

    def _install(module: str, entry_points: str) -> Path:
        (tmp_path / f"{module}.py").write_text(ACME_MODULE)
        info = tmp_path / "thirdparty_connector-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: thirdparty-connector\nVersion: 0.1\n"
        )
        (info / "entry_points.txt").write_text(f"[hub.connectors]\n{entry_points}\n")
        monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
        importlib.invalidate_caches()
        registry.cache_clear()
        return tmp_path

    return _install


def test_a_third_party_package_adds_a_connector_through_the_entry_point(install):
    built_in = set(registry())
    assert {"shopify", "woocommerce"} <= built_in
    registry.cache_clear()
    install("acme_channel", "acme-channel = acme_channel:AcmeConnector")

    found = registry()
    assert set(found) == built_in | {"acme-channel"}
    cls = connector_class("acme-channel")
    assert cls.__module__ == "acme_channel" and cls.__name__ == "AcmeConnector"
    assert issubclass(cls, Connector)
    assert found["shopify"] is connector_class("shopify")  # the built-ins are still there

    # An account can use it, validated against its own schema.
    text = '[accounts.acme-1]\nconnector = "acme-channel"\napi_key = "${ACME_KEY}"\n'
    account = parse_accounts(text, "hub.toml", env={"ACME_KEY": "k"})["acme-1"]
    assert account.connector == "acme-channel" and account.settings["api_key"] == "k"
    with pytest.raises(ConfigError, match="api_key"):
        parse_accounts('[accounts.acme-1]\nconnector = "acme-channel"\n', "hub.toml", env={})


@pytest.mark.parametrize("target", ["acme_broken:NotAConnector", "acme_broken:not_a_class"])
def test_an_entry_point_that_is_not_a_connector_is_a_config_error(install, target):
    install("acme_broken", f"broken = {target}")
    with pytest.raises(ConfigError, match="broken") as caught:
        registry()
    assert target in caught.value.message
    with pytest.raises(ConfigError):
        connector_class("shopify")  # the whole registry is refused until the package is fixed
