"""USPS: parcel tracking polled from the USPS Tracking API v3 (``apis.usps.com``), one number
per call, with an OAuth 2.0 client-credentials token.

USPS offers no tracking push the hub could receive (its "notifications" are e-mails to a
person), so this connector only polls. ``translate.read_tracking`` also reads the legacy Web
Tools TrackV2 XML that USPS answered with until January 2026.

The recorded payloads in ``tests/payloads/`` are real USPS answers, except the error bodies
marked in its ``SOURCES.md`` as built from USPS's published API description.
"""

from __future__ import annotations

from urllib.parse import quote

from connectors.carriers.usps import translate
from connectors.carriers.usps.client import UspsClient
from connectors.carriers.usps.settings import UspsSettings
from hub.connectors import Account, Capability, Connector, ParcelTracking

TRACKING_PAGE = "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}"


class UspsConnector(Connector):
    name = "usps"
    kind = "carrier"
    title = "USPS"
    capabilities = frozenset({Capability.TRACKING_POLL})
    settings_schema = UspsSettings
    #: the v3 tracking resource is one number per request
    track_batch_size = 1

    def __init__(self, account: Account, *, client: UspsClient | None = None):
        super().__init__(account)
        self._client = client

    @property
    def client(self) -> UspsClient:
        """The account's API client, made on first use."""
        if self._client is None:
            self._client = UspsClient(self.account)
        return self._client

    def track(self, numbers: list[str]) -> list[ParcelTracking]:
        """One call per number (``track_batch_size`` is 1), results in the order asked. A
        failure of a call raises (``AuthError``, ``RetryableError``, ``PermanentError``)."""
        results = []
        for number in numbers:
            answer = self.client.tracking(number)
            results += translate.read_tracking(answer.body, [number], status=answer.status)
        return results

    def tracking_url(self, number: str) -> str | None:
        """USPS's public tracking page for the number."""
        return TRACKING_PAGE.format(number=quote("".join(number.split()), safe=""))
