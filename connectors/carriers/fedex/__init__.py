"""FedEx: tracking polled from the Track API, and pushed by Advanced Integrated Visibility.

Polling (``track``): ``POST /track/v1/trackingnumbers`` takes up to 30 numbers a call
(``track_batch_size``), with ``includeDetailedScans: true`` for every scan. Numbers FedEx does
not know come back in the same 200 with a per-number error (``found=False``). When FedEx
refuses a whole batch (a 400), the numbers are asked one by one, so one number it refuses
(``TRACKING.*``: ``found=False``) does not stop the others. When one number was carried by
several shipments (FedEx reuses numbers), the most recent shipment is the parcel.

Pushes (``tracking_webhook``): an Advanced Integrated Visibility webhook project (a paid
FedEx subscription, by account or tracking number) POSTs tracking to the account's
``/webhooks/<account>`` address. FedEx signs the raw body: the ``fdx-signature`` header is
base64(HMAC-SHA256(security token, body)) (FedEx's "Advanced Integrated Visibility
Validation Process" page); the security token is the account's ``webhook_secret``. The body
is FedEx's ``TestWebhookOutputVO``: ``output.completeTrackResults`` as the Track API answers
it, plus ``outputMetaData`` about the push attempt. No recorded push is public: the push test
payload is built from that description, see ``tests/payloads/SOURCES.md``.

The status tables, time zones and error handling are described in ``translate.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from connectors.carriers.fedex import translate
from connectors.carriers.fedex.client import FedExClient
from connectors.carriers.fedex.settings import FedExSettings
from hub.connectors import Account, Capability, Connector, Delivery, ParcelTracking
from hub.connectors.signing import verify_hmac_sha256_base64
from hub.errors import PermanentError, TranslationError

#: the one kind of push FedEx sends
TOPIC = "tracking"
SIGNATURE_HEADER = "fdx-signature"
_KEPT_HEADERS = ("User-Agent",)


class FedExConnector(Connector):
    name = "fedex"
    kind = "carrier"
    title = "FedEx"
    capabilities = frozenset({Capability.TRACKING_POLL, Capability.TRACKING_WEBHOOK})
    settings_schema = FedExSettings
    topics = frozenset({TOPIC})
    track_batch_size = 30

    def __init__(self, account: Account, *, client: FedExClient | None = None):
        super().__init__(account)
        self._client = client

    @property
    def client(self) -> FedExClient:
        """The account's API client, built on first use (tests may pass their own)."""
        if self._client is None:
            self._client = FedExClient(self.account)
        return self._client

    # -- polling ---------------------------------------------------------------------------

    def track(self, numbers: list[str]) -> list[ParcelTracking]:
        """One Track API call for up to 30 numbers; results in the order asked."""
        if not numbers:
            return []
        try:
            body = self.client.track(numbers)
        except PermanentError as exc:
            if len(numbers) > 1:
                # FedEx refused the whole batch: ask one by one, so that only the number it
                # refuses is refused (the first refusal that is not about a number raises)
                return [result for n in numbers for result in self.track([n])]
            problem = translate.refusal(_error_body(exc))
            if problem is None:
                raise
            return [ParcelTracking(numbers[0], found=False, error=problem)]
        return translate.read_tracking(body, numbers)

    def tracking_url(self, number: str) -> str | None:
        return translate.tracking_url(number)

    # -- Advanced Integrated Visibility pushes ---------------------------------------------

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        """True when ``fdx-signature`` is the body's HMAC under one of the webhook secrets."""
        return verify_hmac_sha256_base64(
            self.account.webhook_secrets, body, _header(headers, SIGNATURE_HEADER)
        )

    def read_delivery(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """FedEx sends no event id: a push is keyed by the tracking it carries, so a retry
        of it (which differs only in ``outputMetaData``) gets the same key."""
        try:
            payload: Any = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            payload = None
        transaction = payload.get("transactionId") if isinstance(payload, dict) else None
        kept = {name: value for name in _KEPT_HEADERS if (value := _header(headers, name))}
        return Delivery(
            topic=TOPIC,
            dedupe_key="fedex:" + translate.push_key(body),
            event_id=str(transaction)[:200] if transaction else None,
            headers=kept,
        )

    def translate_tracking(self, topic: str, payload: Any) -> list[ParcelTracking]:
        """Pure: one push to the tracking of every number it carries."""
        if topic != TOPIC:
            raise TranslationError(f"FedEx sends no {topic!r} pushes")
        return translate.read_push(payload)


def _error_body(exc: PermanentError) -> Any:
    """The JSON body FedEx sent with the refusal, when the error kept one."""
    details = exc.details if isinstance(exc.details, dict) else {}
    try:
        return json.loads(details.get("body") or "null")
    except (TypeError, ValueError):
        return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # a plain dict is case-sensitive; HTTP header names are not
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value
