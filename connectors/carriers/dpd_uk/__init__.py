"""DPD UK and DPD Local: tracking polled from DPD UK's tracking XML service
(``POST https://apps.geopostuk.com/trackingcore/dpd/parcels``), up to ten parcel numbers a
request, the account's user and password inside each request.

No recorded answer of this service is public: the request and answer shapes come from
integrations that use it, and the payloads in ``tests/payloads`` are BUILT from that
description, not recorded (see ``tests/payloads/SOURCES.md``). DPD's newer "DPD API"
(``api.dpd.co.uk``, a ``geoSession`` from ``POST /user/?action=login`` sent as ``GeoSession``
with ``GeoClient: account/<number>``) is for shipping; its tracking part and its webhooks are
not publicly documented in a form that could be checked, so this connector polls.
"""

from __future__ import annotations

from urllib.parse import quote

from connectors.carriers.dpd_uk import translate
from connectors.carriers.dpd_uk.client import BATCH, DpdUkClient
from connectors.carriers.dpd_uk.settings import DpdUkSettings
from hub.connectors import Account, Capability, Connector, ParcelTracking

TRACKING_PAGE = "https://track.dpd.co.uk/parcels/{number}"


class DpdUkConnector(Connector):
    """Tracking for DPD UK and DPD Local parcel numbers (14 digits)."""

    name = "dpd_uk"
    kind = "carrier"
    title = "DPD UK"
    capabilities = frozenset({Capability.TRACKING_POLL})
    settings_schema = DpdUkSettings
    track_batch_size = BATCH

    def __init__(self, account: Account, *, client: DpdUkClient | None = None):
        super().__init__(account)
        self._client = client

    @property
    def client(self) -> DpdUkClient:
        """The account's API client, made on first use."""
        if self._client is None:
            self._client = DpdUkClient(self.account)
        return self._client

    def track(self, numbers: list[str]) -> list[ParcelTracking]:
        if not numbers:
            return []
        return translate.read_tracking(self.client.tracking(numbers), numbers)

    def tracking_url(self, number: str) -> str | None:
        return TRACKING_PAGE.format(number=quote(number.strip(), safe=""))
