"""UPS: tracking polled from the Track API, and pushed by Track Alert.

Polling (``track``): the Track API v1 answers one inquiry number per call, so
``track_batch_size`` is 1 (``GET /api/track/v1/details/{inquiryNumber}``; the schema's
``InquireNumbers`` list has no endpoint that takes it). A number UPS does not know comes back
as a 200 with warning ``TW0001`` and an invalid one as error ``TV1002``: both are
``found=False`` with UPS's message, never a failed call.

Pushes (``tracking_webhook``): UPS has no general tracking webhook, but Track Alert pushes
every new activity of a subscribed ``1Z`` number for 14 days to a URL, as one JSON object
(webhook ``TrackingEvent`` in UPS-API/api-documentation ``UPSTrackAlert.yaml``). UPS does not
sign the body: it sends back, in the ``credential`` header, the opaque credential given when
subscribing, which must equal the account's ``webhook_secret`` (compared in constant time).
Subscribing is :meth:`UpsConnector.subscribe_tracking`; the hub does not call it yet.

Payloads: the Track API samples are UPS's own (its Postman collection and OpenAPI examples,
see ``tests/payloads/SOURCES.md``); the Track Alert pushes are the examples in UPS's spec.
The status tables, time zones and error handling are described in ``translate.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from connectors.carriers.ups import translate
from connectors.carriers.ups.client import SUBSCRIBE_BATCH, UpsClient
from connectors.carriers.ups.settings import UpsSettings
from hub.connectors import Account, Capability, Connector, Delivery, ParcelTracking
from hub.errors import ConfigError, TranslationError

#: the one kind of push Track Alert sends
TOPIC = "tracking"
#: the header that carries the subscription's credential back to us
CREDENTIAL_HEADER = "credential"
_KEPT_HEADERS = ("User-Agent",)  # "UPSPubSubTrackingService"; never the credential


class UpsConnector(Connector):
    name = "ups"
    kind = "carrier"
    title = "UPS"
    capabilities = frozenset({Capability.TRACKING_POLL, Capability.TRACKING_WEBHOOK})
    settings_schema = UpsSettings
    topics = frozenset({TOPIC})
    track_batch_size = 1
    subscription_days = 14  # Track Alert pushes a number's activity for 14 days

    def __init__(self, account: Account, *, client: UpsClient | None = None):
        super().__init__(account)
        self._client = client

    @property
    def client(self) -> UpsClient:
        """The account's API client, built on first use (tests may pass their own)."""
        if self._client is None:
            self._client = UpsClient(self.account)
        return self._client

    # -- polling ---------------------------------------------------------------------------

    def track(self, numbers: list[str]) -> list[ParcelTracking]:
        """One Track API call per number (UPS takes one); results in the order asked."""
        results: list[ParcelTracking] = []
        for number in numbers:
            results += translate.read_tracking(self.client.details(number), [number])
        return results

    def tracking_url(self, number: str) -> str | None:
        return translate.tracking_url(number)

    def subscribe_tracking(self, numbers: list[str], url: str) -> list[str]:
        """Ask Track Alert to push the numbers' next 14 days of activity to ``url`` (the
        account's ``/webhooks/<account>`` address), in calls of 100; returns the numbers UPS
        refused. Needs a ``webhook_secret``: it is the credential UPS sends back."""
        secrets = self.account.webhook_secrets
        if not secrets:
            raise ConfigError(f"{self.account.name}: Track Alert needs a webhook_secret")
        refused: list[str] = []
        for start in range(0, len(numbers), SUBSCRIBE_BATCH):
            batch = numbers[start : start + SUBSCRIBE_BATCH]
            answer = self.client.subscribe(batch, url, secrets[0])
            refused += [str(n) for n in answer.get("invalidTrackingNumbers") or []]
        return refused

    # -- Track Alert pushes ----------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        """True when the ``credential`` header is one of the account's webhook secrets."""
        given = _header(headers, CREDENTIAL_HEADER)
        if not given or not given.strip():
            return False
        presented = given.strip().encode()
        ok = False
        for secret in self.account.webhook_secrets:  # every one, so timing tells nothing
            ok |= hmac.compare_digest(secret.encode(), presented)
        return ok

    def read_delivery(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """UPS sends no event id: a push is keyed by its number, activity time and codes (a
        resend of the same activity gets the same key), else by its body's hash."""
        try:
            payload: Any = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            payload = None
        key = translate.alert_key(payload)
        kept = {name: value for name in _KEPT_HEADERS if (value := _header(headers, name))}
        return Delivery(
            topic=TOPIC,
            dedupe_key=f"ups:{key}" if key else "ups:sha256:" + hashlib.sha256(body).hexdigest(),
            headers=kept,
        )

    def translate_tracking(self, topic: str, payload: Any) -> list[ParcelTracking]:
        """Pure: one Track Alert push to the tracking of its one package."""
        if topic != TOPIC:
            raise TranslationError(f"UPS sends no {topic!r} pushes")
        return [translate.read_alert(payload)]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # a plain dict is case-sensitive; HTTP header names are not
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value
