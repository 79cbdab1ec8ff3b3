"""Evri (formerly Hermes UK): tracking polled from Evri's tracking API
(``api.hermesworld.co.uk/enterprise-tracking-api/v1``) with an ``apiKey``: a barcode search for
the parcel's unique id, then the parcel's tracking events.

Evri's developer documentation is not public, and no recorded answer is: the endpoints, the
``apiKey`` header and the answer shape come from public clients of the same API (evri.com's own
tracking page calls it), and the payloads in ``tests/payloads`` are BUILT from that description,
not recorded (see ``tests/payloads/SOURCES.md``). No public source shows an Evri tracking
push (webhook) with its request shape and signing, so this connector only polls (no
``tracking_webhook``).
"""

from __future__ import annotations

from urllib.parse import quote

from connectors.carriers.evri import translate
from connectors.carriers.evri.client import EvriClient
from connectors.carriers.evri.settings import EvriSettings
from hub.connectors import Account, Capability, Connector, ParcelTracking

TRACKING_PAGE = "https://www.evri.com/track/parcel/{number}"


class EvriConnector(Connector):
    """Tracking for Evri parcel barcodes (16 characters)."""

    name = "evri"
    kind = "carrier"
    title = "Evri"
    capabilities = frozenset({Capability.TRACKING_POLL})
    settings_schema = EvriSettings
    #: a barcode search finds one parcel: one number per track() (two GETs)
    track_batch_size = 1

    def __init__(self, account: Account, *, client: EvriClient | None = None):
        super().__init__(account)
        self._client = client

    @property
    def client(self) -> EvriClient:
        """The account's API client, made on first use."""
        if self._client is None:
            self._client = EvriClient(self.account)
        return self._client

    def track(self, numbers: list[str]) -> list[ParcelTracking]:
        if not numbers:
            return []
        if len(numbers) > self.track_batch_size:
            raise ValueError(f"Evri tracks one parcel per call, got {len(numbers)}")
        (number,) = numbers
        unique_ids = self.client.search(number)
        if not unique_ids:
            return [translate.not_found(number)]
        # a barcode reused by a sender can give several ids; Evri's own page shows the first
        return translate.read_tracking(self.client.parcels(unique_ids[:1]), numbers)

    def tracking_url(self, number: str) -> str | None:
        return TRACKING_PAGE.format(number=quote(number.strip(), safe=""))
