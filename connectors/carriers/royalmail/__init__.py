"""Royal Mail: tracking polled from the Tracking API v2 (``client.py``), translated by
``translate.py``.

A batch of numbers is one ``summary`` call (at most 30 numbers, the latest event of each);
a single number is one ``events`` call, which costs the same and brings the whole history and
the estimated delivery window. Unknown numbers come back ``found=False`` with Royal Mail's
message (``E1142`` inside a 200 summary, or a 404 ``events`` answer).

No webhooks: Royal Mail's tracking push (the Tracking Push API, and the webhooks resellers
build on it) is set up with Royal Mail per customer; neither the pushed payload nor how a push
is authenticated is published, so there is nothing to verify a delivery against or translate
it by. Tracking is polled.

Recorded payloads: the four Royal Mail samples of the shared set; the others in
``tests/payloads`` are built from Royal Mail's v2 Swagger description (see its SOURCES.md).
"""

from __future__ import annotations

from urllib.parse import quote

from connectors.carriers.royalmail import translate
from connectors.carriers.royalmail.client import SUMMARY_LIMIT, RoyalMailClient
from connectors.carriers.royalmail.settings import RoyalMailSettings
from hub.connectors import Account, Capability, Connector, ParcelTracking

#: the public tracking page for end customers
TRACKING_PAGE = "https://www.royalmail.com/track-your-item#/tracking-results/{number}"


class RoyalMailConnector(Connector):
    """Royal Mail tracking (poll only)."""

    name = "royalmail"
    kind = "carrier"
    title = "Royal Mail"
    capabilities = frozenset({Capability.TRACKING_POLL})
    settings_schema = RoyalMailSettings
    track_batch_size = SUMMARY_LIMIT

    def __init__(self, account: Account, *, client: RoyalMailClient | None = None):
        super().__init__(account)
        self._client = client

    @property
    def client(self) -> RoyalMailClient:
        """The account's API client, built on first use (tests may pass their own)."""
        if self._client is None:
            self._client = RoyalMailClient(self.account)
        return self._client

    def track(self, numbers: list[str]) -> list[ParcelTracking]:
        """Tracking for at most 30 numbers in one call, one result per number in order."""
        if not numbers:
            return []
        if len(numbers) > self.track_batch_size:
            raise ValueError(f"at most {self.track_batch_size} numbers a call, got {len(numbers)}")
        # One number: its events cost the same call as a summary and bring the whole history.
        one = len(numbers) == 1
        body = self.client.events(numbers[0]) if one else self.client.summary(numbers)
        return translate.read_tracking(body, numbers)

    def tracking_url(self, number: str) -> str | None:
        """Royal Mail's Track & Trace page for the number."""
        return TRACKING_PAGE.format(number=quote(translate.normalise(number), safe=""))
