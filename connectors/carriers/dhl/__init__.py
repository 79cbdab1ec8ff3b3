"""DHL: tracking polled from Shipment Tracking - Unified (``client.py``), translated by
``translate.py``. One number a call (the API takes one ``trackingNumber``); a number DHL does
not know is ``found=False`` with DHL's message (a 404 problem, "No result found"). An account
with ``tracking_api = "parcel-de"`` asks DHL Paket Germany's Parcel DE Tracking instead, up to
15 numbers a call (``track_batch_size`` of that account's connector); its XML answer is read
by ``parcel_de.py``.

No webhooks: DHL offers a push version (Shipment Tracking - Unified - Push: a subscription
``POST /tracking/push/v1/subscription`` naming our URL and, optionally, a header and token DHL
sends back with each push), but DHL grants it only to direct DHL customers on request and does
not publish what a pushed message looks like; its own guide says the structure differs from
service to service. Nothing here could be tested against a published example, so tracking is
polled. A push reader would check the subscription's header and token (constant time) and
read each pushed shipment with ``translate``, once DHL's message format is known.

Recorded payloads: the two DHL samples of the shared set and a real 429 answer quoted in a
public issue; the others in ``tests/payloads`` are built from DHL's OpenAPI description (see
its SOURCES.md).
"""

from __future__ import annotations

from urllib.parse import urlencode

from connectors.carriers.dhl import translate
from connectors.carriers.dhl.client import PIECE_LIMIT, DhlClient
from connectors.carriers.dhl.settings import DhlSettings
from hub.connectors import Account, Capability, Connector, ParcelTracking

#: the public tracking page for end customers
TRACKING_PAGE = "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html"


class DhlConnector(Connector):
    """DHL tracking (poll only)."""

    name = "dhl"
    kind = "carrier"
    title = "DHL"
    capabilities = frozenset({Capability.TRACKING_POLL})
    settings_schema = DhlSettings
    track_batch_size = 1

    def __init__(self, account: Account, *, client: DhlClient | None = None):
        super().__init__(account)
        self._client = client
        self.parcel_de = account.settings.get("tracking_api") == "parcel-de"
        if self.parcel_de:
            self.track_batch_size = PIECE_LIMIT  # type: ignore[misc]

    @property
    def client(self) -> DhlClient:
        """The account's API client, built on first use (tests may pass their own)."""
        if self._client is None:
            self._client = DhlClient(self.account)
        return self._client

    def track(self, numbers: list[str]) -> list[ParcelTracking]:
        """Tracking for one number (Unified takes one a call), or up to 15 (parcel-de)."""
        if not numbers:
            return []
        if len(numbers) > self.track_batch_size:
            raise ValueError(
                f"DHL tracks {self.track_batch_size} number(s) a call, got {len(numbers)}"
            )
        if self.parcel_de:
            return translate.read_tracking(self.client.piece_detail(numbers), numbers)
        return translate.read_tracking(self.client.shipments(numbers[0]), numbers)

    def tracking_url(self, number: str) -> str | None:
        """DHL's tracking page for the number."""
        query = urlencode({"submit": "1", "tracking-id": translate.normalise(number)})
        return f"{TRACKING_PAGE}?{query}"
