"""DHL Shipment Tracking - Unified over HTTP: the only module of this connector that does I/O.

One operation (DHL's OpenAPI "DHL Shipment Tracking API" 1.3.1): ``GET /track/shipments`` with
``trackingNumber`` (one number: the parameter is a single string) and the optional
``service``, ``requesterCountryCode`` and ``language``, authenticated by the ``DHL-API-Key``
header. There is no OAuth.

Accounts with ``tracking_api = "parcel-de"`` call DHL Paket Germany's Parcel DE Tracking
("Sendungsverfolgung") instead: ``GET /parcel/de/tracking/v0/shipments?xml=<data .../>``, one
``<data>`` element whose attributes name the business customer's tracking user and password
(``appname``, ``password``), the operation (``request="d-get-piece-detail"``), the language
(``language-code``) and the numbers (``piece-code``, up to :data:`PIECE_LIMIT`, separated by
``;``). The gateway wants the ``DHL-API-Key`` header and HTTP Basic credentials made of the
portal app's API key and secret; the tracking user's login travels only inside the XML. The
answer is XML (:mod:`.parcel_de`); a refused tracking login comes back as HTTP 200 with
``code="5"`` on the list and is raised here as an :class:`AuthError`, DHL's "temporarily
unavailable" (``code="-1"``) as a :class:`RetryableError`, so neither reads as "not found".

Timeouts, retries (429, 5xx), rate limits and the typed errors are
:class:`hub.connectors.http.HttpClient`'s; the client retries less and waits less than its defaults,
because every caller is an outbox job with its own backoff. A 4xx that carries a JSON problem (404
"No result found" for a number DHL does not know) is handed back as that body, so
``translate.read_tracking`` decides: a 404 is a ``found=False`` result, anything else raises.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import Any

import requests

from hub.connectors import Account
from hub.connectors.answers import error_json
from hub.connectors.http import HttpClient
from hub.connectors.ratelimit import RateLimiter, Sleep, limiter_for
from hub.errors import AuthError, PermanentError, RetryableError, TranslationError
from hub.values import xml_root

from .parcel_de import shipment_list

#: DHL's public API address (``api_base`` replaces it)
API_BASE = "https://api-eu.dhl.com"
#: attempts per request here; the outbox job retries after that
MAX_ATTEMPTS = 3
#: the longest the client waits at once (a longer Retry-After goes back to the outbox)
MAX_WAIT = 30.0

#: Parcel DE Tracking's path under the API address
PARCEL_DE_PATH = "/parcel/de/tracking/v0/shipments"
#: the most numbers one ``d-get-piece-detail`` call may name
PIECE_LIMIT = 15
#: list codes that are about the call, not the numbers
_LOGIN_FAILED = "5"
_UNAVAILABLE = "-1"

_SHARED = object()  # "use the account's shared limiter"


class DhlClient:
    """Shipment Tracking - Unified for one account. ``session``, ``sleep`` and ``limiter`` are
    for tests; by default the account shares the process's limiter ``dhl:<account name>``."""

    def __init__(
        self,
        account: Account,
        *,
        session: requests.Session | None = None,
        sleep: Sleep = time.sleep,
        limiter: RateLimiter | object | None = _SHARED,
    ):
        self.settings = settings = account.settings
        if limiter is _SHARED:
            rate = float(settings.get("rate_limit") or 0.2)
            limiter = limiter_for(f"dhl:{account.name}", rate, max(1.0, rate))
        assert limiter is None or isinstance(limiter, RateLimiter)
        self.http = HttpClient(
            settings.get("api_base") or API_BASE,
            limiter=limiter,
            session=session,
            sleep=sleep,
            max_attempts=MAX_ATTEMPTS,
            backoff_max=10.0,
            max_wait=MAX_WAIT,
            headers={"DHL-API-Key": str(settings["api_key"])},
        )

    def shipments(self, number: str) -> bytes:
        """The raw answer for one tracking number (or the problem body of a 4xx)."""
        params: dict[str, Any] = {"trackingNumber": number.strip()}
        optional = (
            ("service", "service"),
            ("requesterCountryCode", "requester_country_code"),
            ("language", "language"),
        )
        for param, key in optional:
            if self.settings.get(key):
                params[param] = self.settings[key]
        try:
            return self.http.get(
                "/track/shipments", params=params, headers={"Accept": "application/json"}
            ).content
        except PermanentError as exc:
            body = error_json(exc)
            if body is None:
                raise
            return body

    def piece_detail(self, numbers: list[str]) -> bytes:
        """Parcel DE Tracking's raw XML answer for up to :data:`PIECE_LIMIT` numbers."""
        codes = [number.strip().replace(" ", "") for number in numbers]
        if not codes or len(codes) > PIECE_LIMIT:
            raise ValueError(
                f"DHL Paket tracks 1 to {PIECE_LIMIT} numbers a call, got {len(codes)}"
            )
        if any(not code or ";" in code for code in codes):
            raise ValueError("a DHL Paket number is empty or holds the separator ';'")
        response = self.http.request(
            "GET",
            PARCEL_DE_PATH,
            params={"xml": piece_detail_xml(self.settings, codes)},
            headers={"Accept": "application/xml"},
            auth=(str(self.settings["api_key"]), str(self.settings["api_secret"])),
        )
        body = response.content
        _check_list_code(body)
        return body


def piece_detail_xml(settings: Any, codes: list[str]) -> str:
    """The ``xml`` query value of a ``d-get-piece-detail`` call (attributes escaped)."""
    element = ET.Element(
        "data",
        {
            "appname": str(settings["zt_user"]),
            "password": str(settings["zt_password"]),
            "request": "d-get-piece-detail",
            "language-code": "de",
            "piece-code": ";".join(codes),
        },
    )
    declaration = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
    return declaration + ET.tostring(element, encoding="unicode")


def _check_list_code(body: bytes) -> None:
    try:
        root = shipment_list(xml_root(body, sender="DHL"))  # also inside a nameless wrapper
    except TranslationError:
        return  # the translator names what is wrong with the answer
    code = (root.get("code") or "").strip()
    message = root.get("error") or f"code {code}"
    if code == _LOGIN_FAILED:
        raise AuthError(f"DHL Paket refused the tracking login (zt_user): {message}")
    if code == _UNAVAILABLE:
        raise RetryableError(f"DHL Paket tracking is unavailable: {message}")
