"""Evri tracking API answers <-> canonical tracking. Pure: no I/O.

Evri's tracking API (``api.hermesworld.co.uk/enterprise-tracking-api/v1``, the one evri.com's
own tracking page calls, with an ``apiKey`` header) finds a parcel in two steps:

* ``GET parcels/search/{barcode}``: a JSON list of the parcel's unique ids (URNs);
* ``GET parcels/?uniqueIds={urn}``: ``{"results": [parcel...], "failures": [{"uniqueId"}]}``,
  each parcel with ``parcelIdentifiers`` (``[{"type", "value"}]``) and ``trackingEvents``,
  newest first: ``{"dateTime", "trackingStage": {"trackingStageCode", "description"},
  "trackingPoint": {"trackingPointId", "description"}}``.

No recorded answer is public: the shape is read from clients of the API (see
``tests/payloads/SOURCES.md``) and the payloads in ``tests/payloads`` are built from it. The
tracking *stage* (``1`` … ``5_COURIER``) is what the status table maps and is kept as the
event's ``code``; the tracking *point* is Evri's finer scan, whose description is the event's
text. Times are ISO 8601 in UTC (``Z``); one without an offset is read in Europe/London.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from hub.connectors import ParcelTracking, TrackingEvent
from hub.errors import AuthError, PermanentError, TranslationError
from hub.values import array_or_empty, loads, local_time, text

log = logging.getLogger(__name__)

#: Evri's zone, for times without an offset
HOME_ZONE = ZoneInfo("Europe/London")

#: Evri tracking stage code -> canonical status. Evri publishes no list: 1, 2, 3, 4_COURIER and
#: 5_COURIER are read by jampez77/Evri and itsvic-dev/parcel-tracker, 5_SHOP by a Node.js
#: client; 0, 4, 4_SHOP, 4_LOCKER, A and 6, 6_INFO, 6_ACTION by ha-parcel-integrations/ha-evri
#: (``custom_components/evri/parcels.py`` ``_STATUS_MAP`` @9ddc6d8d: registered, in transit,
#: at a pickup point, returning, problem).
STAGE_MAP: dict[str, str] = {
    "0": "label_created",  # registered
    "1": "label_created",  # the sender has told Evri about the parcel
    "2": "picked_up",  # Evri has the parcel (dropped off or collected by a courier)
    "3": "in_transit",
    "4": "in_transit",
    "4_COURIER": "out_for_delivery",
    "4_SHOP": "ready_for_pickup",  # waiting at a ParcelShop
    "4_LOCKER": "ready_for_pickup",  # waiting in a parcel locker
    "5_COURIER": "delivered",
    "5_SHOP": "delivered",  # collected from the ParcelShop
    "A": "returned_to_sender",  # the parcel is going back
    "6": "exception",  # a problem
    "6_INFO": "exception",  # a problem Evri reports for information
    "6_ACTION": "exception",  # a problem that needs someone to act
}

#: statuses of a parcel in Evri's hands and on its way: an unknown stage after one of these is
#: read as ``in_transit``; an unknown stage before any is ``unknown``
MOVING = frozenset(
    {"picked_up", "in_transit", "out_for_delivery", "delivery_attempted", "ready_for_pickup"}
)

#: words of an error answer that mean the key was refused
_AUTH_WORDS = re.compile(r"api ?key|auth|credential|unauthori[sz]ed|forbidden", re.IGNORECASE)


def read_search(body: bytes) -> list[str]:
    """The unique ids (URNs) a barcode search answered; empty when Evri knows none."""
    data = _json(body)
    if isinstance(data, list):
        return [str(item) for item in data if isinstance(item, str) and item.strip()]
    if isinstance(data, Mapping):
        _raise_error(data)
        identifiers = data.get("parcelIdentifiers")
        if isinstance(identifiers, list):  # the ``parcels/reference/{barcode}`` shape
            return [
                str(item["urn"])
                for item in identifiers
                if isinstance(item, Mapping) and item.get("urn")
            ]
    raise TranslationError("not an Evri parcel search answer")


def not_found(number: str) -> ParcelTracking:
    """A barcode Evri's search does not know."""
    return ParcelTracking(number, found=False, error="Evri does not know this parcel")


def read_tracking(body: bytes, numbers: list[str]) -> list[ParcelTracking]:
    """One ``parcels`` answer as tracking for the numbers asked, in their order."""
    data = _json(body)
    if not isinstance(data, Mapping):
        raise TranslationError("not an Evri parcels answer: expected an object")
    _raise_error(data)
    results = data.get("results")
    if not isinstance(results, list):
        raise TranslationError("not an Evri parcels answer: no results list")
    failures = data.get("failures") or []
    parcels = [r for r in results if isinstance(r, Mapping)]
    out = []
    for number in numbers:
        parcel = _match(number, parcels, single=len(numbers) == 1 and len(parcels) == 1)
        if parcel is None:
            error = "Evri could not read this parcel" if failures else "not in Evri's answer"
            out.append(ParcelTracking(number, found=False, error=error))
        else:
            out.append(_parcel(number, parcel))
    return out


def _match(number: str, parcels: list[Mapping[str, Any]], single: bool) -> Mapping[str, Any] | None:
    wanted = number.strip().upper()
    for parcel in parcels:
        for identifier in array_or_empty(parcel.get("parcelIdentifiers")):
            value = identifier.get("value") if isinstance(identifier, Mapping) else None
            if isinstance(value, str) and value.strip().upper() == wanted:
                return parcel
    # one parcel asked, one answered: the answer is for the URN the search gave for it
    return parcels[0] if single else None


def _parcel(number: str, parcel: Mapping[str, Any]) -> ParcelTracking:
    dated = []
    for i, event in enumerate(array_or_empty(parcel.get("trackingEvents"))):
        if not isinstance(event, Mapping) or not event.get("dateTime"):
            continue
        stage = _object(event.get("trackingStage"))
        point = _object(event.get("trackingPoint"))
        code = text(stage.get("trackingStageCode"))
        description = text(point.get("description")) or text(stage.get("description"))
        try:
            at = parse_time(str(event["dateTime"]), HOME_ZONE)
        except TranslationError:
            # one unreadable scan time drops that scan, not the parcel's answer
            log.warning(
                "Evri %s: dropped an event with an unreadable date %r", number, event["dateTime"]
            )
            continue
        dated.append((at, -i, code, description))  # -i: Evri lists newest first
    if not dated:
        return ParcelTracking(number, found=False, error="Evri has no tracking events for it")
    dated.sort(key=lambda item: (item[0], item[1]))
    events: list[TrackingEvent] = []
    moving = False
    for at, _, code, description in dated:
        status = canonical(code, moving)
        moving = moving or status in MOVING
        events.append(TrackingEvent(at, status, code, description, None))
    latest = events[-1]
    return ParcelTracking(
        number, found=True, status=latest.status, events=tuple(events), carrier_status=latest.code
    )


def canonical(code: str | None, moving: bool) -> str:
    """An Evri tracking stage as a canonical status: through :data:`STAGE_MAP`; a stage the
    table does not know is ``in_transit`` for a parcel already moving, else ``unknown``."""
    if code in STAGE_MAP:
        return STAGE_MAP[code]
    return "in_transit" if moving else "unknown"


def parse_time(value: str, zone: tzinfo) -> datetime:
    """An Evri time in UTC: ISO 8601 keeps its offset (``Z`` too; digits past microseconds
    are dropped); a time without an offset is read in ``zone``."""
    return local_time(value, zone)


def _raise_error(data: Mapping[str, Any]) -> None:
    """An error answer (``{"error": ...}``, or an API gateway's ``{"fault": ...}``) raises:
    ``AuthError`` when it is about the key, else ``PermanentError``."""
    problem = data.get("fault") or data.get("error")
    if not problem:
        return
    message = json.dumps(problem, default=str) if not isinstance(problem, str) else problem
    if _AUTH_WORDS.search(message):
        raise AuthError(f"Evri refused the API key: {message[:300]}")
    raise PermanentError(f"Evri refused the request: {message[:300]}")


def _json(body: bytes) -> Any:
    try:
        return loads(body)
    except (ValueError, UnicodeDecodeError):
        raise TranslationError("not JSON") from None


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
