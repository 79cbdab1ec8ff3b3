"""DPD Web Connect (DPD Germany, DPD BeNeLux): tracking polled from the SOAP
``ParcelLifeCycleService`` 2.0 ``getTrackingData``, one parcel per call, with an authToken from
``LoginService.getAuth`` cached per account. Built on real recorded answers (a BeNeLux parcel
and an authentication fault, see ``tests/payloads/SOURCES.md``); DPD UK is ``dpd_uk``.

DPD also offers a "Tracking Push" service (status changes POSTed to a URL set up with DPD); it
is not implemented: its request shape and signing could not be confirmed from public sources.
"""

from __future__ import annotations

from urllib.parse import quote

from connectors.carriers.dpd import translate
from connectors.carriers.dpd.client import DpdClient
from connectors.carriers.dpd.settings import DpdSettings
from hub.connectors import Account, Capability, Connector, ParcelTracking

TRACKING_PAGE = "https://tracking.dpd.de/status/en_US/parcel/{number}"


class DpdConnector(Connector):
    """Tracking for DPD parcel label numbers (14 digits) through DPD Web Connect."""

    name = "dpd"
    kind = "carrier"
    title = "DPD (Web Connect)"
    capabilities = frozenset({Capability.TRACKING_POLL})
    settings_schema = DpdSettings
    #: getTrackingData takes one parcelLabelNumber
    track_batch_size = 1

    def __init__(self, account: Account, *, client: DpdClient | None = None):
        super().__init__(account)
        self._client = client

    @property
    def client(self) -> DpdClient:
        """The account's API client, made on first use."""
        if self._client is None:
            self._client = DpdClient(self.account)
        return self._client

    def track(self, numbers: list[str]) -> list[ParcelTracking]:
        if not numbers:
            return []
        if len(numbers) > self.track_batch_size:
            raise ValueError(f"DPD tracks one parcel per call, got {len(numbers)}")
        return translate.read_tracking(self.client.tracking(numbers[0]), numbers)

    def tracking_url(self, number: str) -> str | None:
        return TRACKING_PAGE.format(number=quote(number.strip(), safe=""))
