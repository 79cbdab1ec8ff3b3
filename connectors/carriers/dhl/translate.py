"""DHL Shipment Tracking - Unified answers to canonical tracking. Pure: no I/O.

``GET /track/shipments?trackingNumber=<n>`` answers ``{"shipments": [...]}`` (several
shipments when more than one DHL service knows the number) or an RFC 7807 problem
(``application/problem+json``: ``{"title", "status", "detail", "instance"}``). A 404 problem
("No result found") is an answer about the number: ``found=False``, not an error. Other
problems raise what the caller should do (401/403 ``AuthError``, 429/5xx ``RetryableError``,
anything else ``PermanentError``).

Statuses: each event's ``statusCode`` (the API's enum: ``pre-transit``, ``transit``,
``delivered``, ``failure``, ``unknown``) maps through :data:`STATUS_CODES`; within a code,
:data:`REFINEMENTS` lets the event's words name a finer status (``transit`` + "out for
delivery" is ``out_for_delivery``). A ``statusCode`` the table does not know is
``in_transit`` when the parcel's last known state is a moving one, else ``unknown``. The
parcel's status is the newest event's; DHL's own current ``status`` object only when there is
no event or the newest event's code is unknown.

``statusCode`` wins over the free-text ``status``: the code is the API's documented,
language-independent enum, while ``status`` is each DHL service's own wording. DHL's own
example says ``statusCode: pre-transit`` with ``status: DELIVERED`` (and a remark that the
shipment awaits customs inspection): it reads as ``label_created``, and the words are kept
as the event's text.

Times: DHL sends ``2018-03-02T07:53:47Z``, offsets, and (in events) times with no offset. A
time with no offset is read in DHL's home zone, Europe/Berlin (:data:`HOME_ZONE`): DHL
Paket Germany and DHL's German services write local German time without an offset.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub import values
from hub.connectors import TRACKING_STATUSES, ParcelTracking, TrackingEvent
from hub.errors import AuthError, PermanentError, RetryableError, TranslationError
from hub.values import ext_id, loads, text

#: DHL's home time zone: a time without an offset is local time here.
HOME_ZONE = ZoneInfo("Europe/Berlin")

#: DHL ``statusCode`` -> canonical status: the whole enum of the API's ShipmentEvent schema
#: (DHL's Shipment Tracking - Unified OpenAPI, https://developer.dhl.com/api-reference/
#: shipment-tracking; its example as kept in karrioapi/karrio ``modules/connectors/
#: dhl_universal``). The Unified API publishes no finer event code: finer statuses come from
#: the words (:data:`REFINEMENTS`), and DHL Paket's ICE codes from :mod:`.parcel_de`.
STATUS_CODES: dict[str, str] = {
    "pre-transit": "label_created",
    "transit": "in_transit",
    "delivered": "delivered",
    "failure": "exception",
    "unknown": "unknown",
}

#: DHL Paket's German event texts (lower case) -> canonical status; they refine ``transit``
#: and ``unknown`` events (DHL Paket often sends a German text with a coarse code).
_GERMAN: tuple[tuple[str, str], ...] = (
    ("erfolgreich zugestellt", "delivered"),
    ("in das zustellfahrzeug geladen", "out_for_delivery"),
    ("zustellversuch", "delivery_attempted"),
    ("nicht angetroffen", "delivery_attempted"),
    ("zur abholung bereit", "ready_for_pickup"),
    ("abholbereit", "ready_for_pickup"),
    ("an den absender zurück", "returned_to_sender"),
    ("rücksendung", "returned_to_sender"),
    ("vom absender in der filiale eingeliefert", "picked_up"),
    ("im start-paketzentrum bearbeitet", "in_transit"),
    ("elektronisch angekündigt", "label_created"),
)

#: Within one ``statusCode``, words of the event (its ``status`` and ``description``, lower
#: case) that name a finer canonical status; the first match wins. The phrases are DHL
#: Express's and DHL Parcel's English event texts.
REFINEMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "pre-transit": (),
    "transit": (
        ("out for delivery", "out_for_delivery"),
        ("with delivery courier", "out_for_delivery"),
        ("loaded onto the delivery vehicle", "out_for_delivery"),
        ("delivery attempt", "delivery_attempted"),
        ("recipient not home", "delivery_attempted"),
        ("available for pick", "ready_for_pickup"),
        ("ready for pick", "ready_for_pickup"),
        ("ready for collection", "ready_for_pickup"),
        ("awaiting collection", "ready_for_pickup"),
        ("picked up", "picked_up"),
        *_GERMAN,
    ),
    "delivered": (),
    "failure": (
        ("returned to shipper", "returned_to_sender"),
        ("returned to sender", "returned_to_sender"),
        ("return to sender", "returned_to_sender"),
        ("return to shipper", "returned_to_sender"),
        ("being returned", "returned_to_sender"),
        ("delivery attempt", "delivery_attempted"),
        ("recipient not home", "delivery_attempted"),
    ),
    "unknown": _GERMAN,
}

_MOVING = frozenset(
    {"picked_up", "in_transit", "out_for_delivery", "delivery_attempted", "ready_for_pickup"}
)
_SPACES = re.compile(r"\s+")
log = logging.getLogger(__name__)

assert set(STATUS_CODES.values()) <= set(TRACKING_STATUSES)
assert set(REFINEMENTS) == set(STATUS_CODES)
assert {s for pairs in REFINEMENTS.values() for _, s in pairs} <= set(TRACKING_STATUSES)


def read_tracking(body: bytes, numbers: list[str]) -> list[ParcelTracking]:
    """One raw DHL answer -> one result per number asked, in the order asked. An XML answer
    is DHL Paket Germany's (parcel-de), read by :mod:`.parcel_de`."""
    from . import parcel_de  # it imports this module's tables

    if parcel_de.looks_like_xml(body):
        return parcel_de.read_tracking(body, numbers)
    try:
        data = loads(body)
    except (ValueError, UnicodeDecodeError):
        raise TranslationError("DHL's answer is not JSON") from None
    if not isinstance(data, dict):
        raise TranslationError("DHL's answer is not a JSON object")
    shipments = data.get("shipments")
    if shipments is None:
        return _read_problem(data, numbers)
    if not isinstance(shipments, list):
        raise TranslationError("not a list", path="shipments")
    parcels = []
    for index, shipment in enumerate(shipments):
        if not isinstance(shipment, dict):
            raise TranslationError("not an object", path=f"shipments[{index}]")
        parcels.append(_read_shipment(shipment, f"shipments[{index}]"))
    return [_pick(number, parcels) for number in numbers]


def normalise(number: str) -> str:
    """A tracking number as DHL compares it: no spaces, upper case."""
    return _SPACES.sub("", str(number)).upper()


def event_status(code: str | None, words: str, earlier: Iterable[str]) -> str:
    """The canonical status of one event: its ``statusCode`` through :data:`STATUS_CODES`,
    refined by its words through :data:`REFINEMENTS`; an unknown code falls back."""
    key = (code or "").strip().lower()
    if key not in STATUS_CODES:
        return fallback_status(earlier)
    lowered = _SPACES.sub(" ", words.lower())
    for phrase, status in REFINEMENTS[key]:
        if phrase in lowered:
            return status
    return STATUS_CODES[key]


def fallback_status(earlier: Iterable[str]) -> str:
    """For a code the table does not know: ``in_transit`` when the parcel's last known state
    is a moving one, else ``unknown``."""
    known = [status for status in earlier if status != "unknown"]
    return "in_transit" if known and known[-1] in _MOVING else "unknown"


def dhl_time(value: Any, *, path: str) -> datetime | None:
    """A DHL time in UTC; one without an offset is Europe/Berlin time."""
    if value in (None, ""):
        return None
    return values.local_time(str(value), HOME_ZONE, path=path)


# -- parts ---------------------------------------------------------------------------------


class _Parcel:
    """One shipment of the answer, read; ``result(number)`` makes the number's result."""

    def __init__(
        self,
        ids: set[str],
        status: str,
        events: tuple[TrackingEvent, ...],
        estimated: datetime | None,
        carrier_status: str | None,
    ):
        self.ids, self.status, self.events = ids, status, events
        self.estimated, self.carrier_status = estimated, carrier_status

    def result(self, number: str) -> ParcelTracking:
        return ParcelTracking(
            tracking_number=number,
            found=True,
            status=self.status,
            events=self.events,
            estimated_delivery=self.estimated,
            carrier_status=self.carrier_status,
        )


def _read_shipment(shipment: Mapping[str, Any], path: str) -> _Parcel:
    raw = []
    listed = shipment.get("events")
    listed = listed if isinstance(listed, list) else []
    # DHL lists events newest first; reversed before a stable sort, events sharing a time
    # keep DHL's order.
    for index in reversed(range(len(listed))):
        event = _mapping(listed[index])
        try:
            at = dhl_time(event.get("timestamp"), path=f"{path}.events[{index}].timestamp")
        except TranslationError as exc:
            # one event with a time that is no time is dropped, not the whole answer
            log.warning("DHL event dropped: %s", exc)
            continue
        if at is not None:
            raw.append((at, event))
    raw.sort(key=lambda pair: pair[0])
    events: list[TrackingEvent] = []
    for at, event in raw:
        code = text(event.get("statusCode"))
        status = event_status(code, _words(event), [e.status for e in events])
        events.append(
            TrackingEvent(
                at=at,
                status=status,
                code=code,
                text=text(event.get("description")) or text(event.get("status")),
                location=_location(event.get("location")),
            )
        )
    current = _mapping(shipment.get("status"))
    current_code = text(current.get("statusCode"))
    # the newest scan decides (the shipment's status can lag behind it); the summary only when
    # there is no scan or the newest scan's code is one the table does not know
    newest_code = (events[-1].code or "").strip().lower() if events else ""
    if newest_code in STATUS_CODES:
        status = events[-1].status
    elif current_code or text(current.get("status")):
        earlier = [e.status for e in events[:-1]] if events else []
        status = event_status(current_code, _words(current), earlier)
    else:
        status = events[-1].status if events else "unknown"
    ids = {normalise(str(v)) for v in _shipment_ids(shipment) if v}
    return _Parcel(
        ids=ids,
        status=status,
        events=tuple(events),
        estimated=_estimated_delivery(shipment, path),
        carrier_status=current_code or (events[-1].code if events else None),
    )


def _shipment_ids(shipment: Mapping[str, Any]) -> Iterable[str]:
    yield ext_id(shipment.get("id")) or ""
    details = _mapping(shipment.get("details"))
    references = details.get("references")
    for reference in references if isinstance(references, list) else [references]:
        if isinstance(reference, dict) and reference.get("type") == "local-tracking-number":
            yield ext_id(reference.get("number")) or ""


def _pick(number: str, parcels: list[_Parcel]) -> ParcelTracking:
    """The shipment DHL found for the number: the one whose id is the number, else the first
    (DHL may resolve a piece or reference number to a shipment of another id)."""
    if not parcels:
        return _not_found(number, "DHL's answer lists no shipment")
    key = normalise(number)
    parcel = next((p for p in parcels if key in p.ids), parcels[0])
    return parcel.result(number)


def _read_problem(data: Mapping[str, Any], numbers: list[str]) -> list[ParcelTracking]:
    status = _status(data.get("status"))
    title, detail = text(data.get("title")), text(data.get("detail"))
    message = ": ".join(p for p in (title, detail) if p) or "DHL's answer has no shipments"
    details = {"status": status, "title": title, "detail": detail}
    if status == 404:
        return [_not_found(number, message) for number in numbers]
    if status in (401, 403):
        raise AuthError(f"DHL refused the API key: {message}", details=details)
    if status is not None and (status == 429 or status >= 500):
        raise RetryableError(f"DHL: {message}", details=details)
    raise PermanentError(f"DHL: {message}", details=details)


def _estimated_delivery(shipment: Mapping[str, Any], path: str) -> datetime | None:
    """The end of DHL's estimated time frame (the time it is due by), else its estimate."""
    frame = _mapping(shipment.get("estimatedDeliveryTimeFrame"))
    for key, value in (
        ("estimatedDeliveryTimeFrame.estimatedThrough", frame.get("estimatedThrough")),
        ("estimatedTimeOfDelivery", shipment.get("estimatedTimeOfDelivery")),
        ("estimatedDeliveryTimeFrame.estimatedFrom", frame.get("estimatedFrom")),
    ):
        at = dhl_time(value, path=f"{path}.{key}")
        if at is not None:
            return at
    return None


def _location(value: Any) -> str | None:
    """``Leeds, GB``: the place's locality and country (DHL's ``addressLocality`` often holds
    a facility or a street as well: it is kept as DHL wrote it)."""
    address = _mapping(_mapping(value).get("address"))
    parts = [text(address.get("addressLocality")), text(address.get("countryCode"))]
    return ", ".join(p for p in parts if p) or None


def _words(event: Mapping[str, Any]) -> str:
    return " ".join(t for t in (text(event.get("status")), text(event.get("description"))) if t)


def _not_found(number: str, message: str) -> ParcelTracking:
    return ParcelTracking(tracking_number=number, found=False, status="unknown", error=message)


def _status(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
