"""USPS tracking answers to canonical tracking: pure, no I/O.

:func:`read_tracking` reads the two shapes USPS has answered with, telling them apart by the
body itself (XML starts with ``<``):

* **Tracking API v3** JSON (``GET /tracking/v3/tracking/{n}?expand=DETAIL``): one number per
  answer, ``trackingEvents`` newest first, each with ``eventCode``, a local ``eventTimestamp``
  and a ``GMTTimestamp``; errors as ``{"apiVersion", "error": {"code", "message", "errors"}}``
  (the OpenAPI ``ErrorMessage`` schema), and OAuth errors as ``{"error": "invalid_client"}``.
* **Web Tools TrackV2** XML (``<TrackResponse>``, retired by USPS in January 2026; read so that
  recorded or relayed answers still translate): up to ten ``<TrackInfo ID=...>``, each with a
  ``<TrackSummary>`` (the latest event) and ``<TrackDetail>`` (older ones, newest first), or a
  per-item ``<Error>``; a failure of the whole request is a top-level ``<Error>``.

Statuses: every ``eventCode`` maps to one canonical status through :data:`EVENT_STATUSES`
(USPS Publication 199, "Domestic Tracking Scan Events"; the descriptions are USPS's). The
parcel's status is that of its latest event; when USPS sends a code missing from the table,
the answer's own ``statusCategory`` (:data:`CATEGORY_STATUSES`) decides for the latest event,
and an older unknown event is ``in_transit`` once the parcel is moving (an earlier event is
past ``label_created``), else ``unknown``.

Times: v3's local ``eventTimestamp`` with the event's ``GMTOffset`` (else the zone of its
state); ``GMTTimestamp`` only when there is no local time: USPS's GMT field can carry the wrong
day, putting events 24 h early and out of order. TrackV2 gives only local wall-clock times
("9:01 am", "April 28, 2015") with no zone; the zone is taken from the event's state
(:data:`STATE_ZONES`, the zone covering most of the state: right for every single-zone state,
an hour off in the smaller part of the split ones, e.g. the Florida panhandle or El Paso), and
``America/New_York``, where USPS has its headquarters, when the event names no state.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from hub.connectors import ParcelTracking, TrackingEvent
from hub.errors import AuthError, PermanentError, RetryableError, TranslationError
from hub.values import loads, text, xml_root

#: eventCode -> canonical status (USPS Pub 199 Appendix G-4; codes seen in answers added).
#: Checked against the published TrackV2 code list as kept in
#: github.com/marlencrabapple/USPS-WebTools-Tracking ``lib/USPS/WebTools/Tracking/Codes.pm``
#: (@27117ce1): every code there is here. 83, 89, AD and UA (with their USPS texts) are from
#: eHub's list of USPS event codes, https://app.theneo.io/ehub/ehub-api/tracking-event-descriptions.
EVENT_STATUSES: dict[str, str] = {
    # pre-shipment
    "GX": "label_created",  # Shipping Label Created, USPS Awaiting Item
    "MA": "label_created",  # Manifest Acknowledgement (Pre-Shipment Info Sent to USPS)
    "89": "label_created",  # Merchant Order Receipt Notification, USPS Awaiting Item
    # in USPS's hands
    "03": "picked_up",  # Accept or Pickup: USPS in possession of item
    "OA": "picked_up",  # Accepted at USPS Origin Facility
    "TM": "picked_up",  # Truck Manifest, shown as "Shipment Acceptance"
    "PA": "picked_up",  # Passive Acceptance, shown as "Shipment Acceptance"
    "80": "picked_up",  # Picked Up by Shipping Partner
    "83": "picked_up",  # Tendered To Postal Service
    "AD": "picked_up",  # Acceptance At Destination
    "UA": "picked_up",  # Accepted At USPS Facility
    # moving
    "06": "in_transit",  # Forwarded
    "07": "in_transit",  # Arrival at Unit: Arrived at Post Office
    "08": "in_transit",  # Missent: rerouted by USPS, nothing for anyone to do
    "10": "in_transit",  # Processed: Arrived at USPS (Regional) Facility
    "15": "in_transit",  # Mis-shipped: rerouted by USPS
    "19": "in_transit",  # DC eVS Arrive
    "41": "in_transit",  # Received at Opening Unit
    "42": "in_transit",  # USPS Handoff to Shipping Partner
    "71": "in_transit",  # Rescheduled to Next Delivery Day
    "81": "in_transit",  # Arrived Shipping Partner Facility
    "82": "in_transit",  # Departed Shipping Partner Facility
    "A1": "in_transit",  # Arrived at USPS Regional Facility
    "EF": "in_transit",  # Departed USPS (Sort) Facility
    "PC": "in_transit",  # Sorting / Processing Complete
    "SF": "in_transit",  # Departed Post Office
    "T1": "in_transit",  # Departed USPS Regional Facility
    "TL": "in_transit",  # In Transit to Next Facility
    # last mile
    "OF": "out_for_delivery",  # Out for Delivery
    "02": "delivery_attempted",  # Attempted / Notice Left
    "30": "delivery_attempted",  # Delivery Attempted - No Access to Delivery Location
    "51": "delivery_attempted",  # Business Closed
    "52": "delivery_attempted",  # Notice Left
    "53": "delivery_attempted",  # Receptacle Blocked
    "54": "delivery_attempted",  # Receptacle Full / Item Oversized
    "55": "delivery_attempted",  # No Secure Location Available
    "56": "delivery_attempted",  # No Authorized Recipient Available
    "14": "ready_for_pickup",  # Arrival at Pickup Point
    "16": "ready_for_pickup",  # Available for Pickup
    "01": "delivered",  # Delivered (front door, mailbox, parcel locker...)
    "17": "delivered",  # Picked Up By Agent
    "43": "delivered",  # Picked Up (by the addressee, at a Post Office or locker)
    # problems
    "04": "exception",  # Refused
    "05": "exception",  # Undeliverable as Addressed
    "11": "exception",  # Dead Letter: neither deliverable nor returnable
    "DX": "exception",  # Delivery Status Not Updated (USPS's "Alert")
    # going back
    "09": "returned_to_sender",  # Return to Sender
    "21": "returned_to_sender",  # Return to Sender: No Such Number
    "22": "returned_to_sender",  # Return to Sender: Insufficient Address
    "23": "returned_to_sender",  # Return to Sender: Moved, Left No Address
    "24": "returned_to_sender",  # Return to Sender: Forward Expired
    "25": "returned_to_sender",  # Return to Sender: Addressee Unknown
    "26": "returned_to_sender",  # Return to Sender: Vacant
    "27": "returned_to_sender",  # Return to Sender: Unclaimed
    "28": "returned_to_sender",  # Return to Sender: Deceased
    "29": "returned_to_sender",  # Return to Sender: Other
    "31": "returned_to_sender",  # Return to Sender: Not Picked Up
    "44": "returned_to_sender",  # Customer Recall: the sender had the item intercepted
}

#: statusCategory (lower-cased) -> canonical status, for codes missing from EVENT_STATUSES
CATEGORY_STATUSES: dict[str, str] = {
    "pre-shipment": "label_created",
    "accepted": "picked_up",
    "in transit": "in_transit",
    "in-transit": "in_transit",
    "out for delivery": "out_for_delivery",
    "delivery attempt": "delivery_attempted",
    "available for pickup": "ready_for_pickup",
    "delivered": "delivered",
    "alert": "exception",
    "return to sender": "returned_to_sender",
}

#: USPS state code -> the time zone covering most of it (TrackV2 times carry no zone)
STATE_ZONES: dict[str, str] = {
    **dict.fromkeys(
        "CT DC DE FL GA KY MA MD ME NC NH NJ NY OH PA RI SC VA VT WV".split(), "America/New_York"
    ),
    "IN": "America/Indiana/Indianapolis",
    "MI": "America/Detroit",
    **dict.fromkeys("AL AR IA IL KS LA MN MO MS ND NE OK SD TN TX WI".split(), "America/Chicago"),
    **dict.fromkeys("CO MT NM UT WY".split(), "America/Denver"),
    "ID": "America/Boise",
    "AZ": "America/Phoenix",
    **dict.fromkeys("CA NV OR WA".split(), "America/Los_Angeles"),
    "AK": "America/Anchorage",
    "HI": "Pacific/Honolulu",
    "PR": "America/Puerto_Rico",
    "VI": "America/St_Thomas",
    "GU": "Pacific/Guam",
    "MP": "Pacific/Saipan",
    "AS": "Pacific/Pago_Pago",
    "FM": "Pacific/Pohnpei",
    "MH": "Pacific/Majuro",
    "PW": "Pacific/Palau",
}
#: where USPS is based: the zone of a local time whose event names no state
HOME_ZONE = "America/New_York"

#: OAuth error codes (RFC 6749) that mean the account's credentials or token were refused
OAUTH_AUTH_ERRORS = frozenset(
    {"invalid_client", "invalid_grant", "invalid_token", "unauthorized_client", "access_denied"}
)
#: Web Tools ``<Error><Number>`` of an authorization failure ("not authorized to use API")
XML_AUTH_ERRORS = frozenset({"80040B1A"})

_MONTHS = {
    name: number
    for number, name in enumerate(
        (
            "january february march april may june july august september october november december"
        ).split(),
        start=1,
    )
}
_US_DATE = re.compile(r"([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap])\.?\s*m\.?", re.IGNORECASE)
_OFFSET = re.compile(r"([+-])(\d{1,2}):?(\d{2})")
_SPACE = re.compile(r"\s+")

#: one scan before canonical statuses: when, USPS's code, its text, where
Event = tuple[datetime, str | None, str | None, str | None]


def read_tracking(
    body: bytes, numbers: list[str], *, status: int | None = None
) -> list[ParcelTracking]:
    """One USPS answer body to one result per asked number, in order.

    ``status`` is the HTTP status the body came with, when known: it decides for a body that
    is not a USPS error envelope (a bare 404). Raises ``AuthError`` for refused credentials,
    ``RetryableError`` for a rate limit or an outage reported in the body, ``PermanentError``
    (``TranslationError``) for anything else that cannot be read.
    """
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return _read_xml(stripped, numbers)
    return _read_json(stripped, numbers, status)


# -- v3 JSON ----------------------------------------------------------------------------------


def _read_json(body: bytes, numbers: list[str], status: int | None) -> list[ParcelTracking]:
    try:
        answer = loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        answer = None
    if not isinstance(answer, dict):
        if status == 404:  # no envelope at all: the resource, i.e. the number, is unknown
            return [
                _not_found(n, "USPS has no tracking for this number (HTTP 404)") for n in numbers
            ]
        raise TranslationError(f"USPS answer is not a JSON object (HTTP {status or '?'})")
    if answer.get("error") is not None:
        return _read_json_error(answer, numbers, status)
    if not isinstance(answer.get("trackingNumber"), str):
        raise TranslationError("no trackingNumber", path="trackingNumber")
    return _assign(numbers, {answer["trackingNumber"]: _read_v3_parcel(answer)})


def _read_json_error(
    answer: dict[str, Any], numbers: list[str], status: int | None
) -> list[ParcelTracking]:
    error = answer["error"]
    if isinstance(error, str):  # the OAuth server's own shape (RFC 6749 section 5.2)
        message = f"{error}: {answer.get('error_description') or ''}".rstrip(": ")
        if error in OAUTH_AUTH_ERRORS:
            raise AuthError(f"USPS refused the credentials: {message}")
        raise PermanentError(f"USPS OAuth error: {message}")
    if not isinstance(error, dict):
        raise TranslationError("error is neither text nor an object", path="error")
    code = text(error.get("code")) or (str(status) if status else "")
    items = [e for e in error.get("errors") or [] if isinstance(e, dict)]
    message = (
        _join(
            [text(error.get("message"))]
            + [text(e.get("detail")) or text(e.get("title")) for e in items]
        )
        or f"USPS error {code or '(no code)'}"
    )
    if code in ("401", "403"):
        raise AuthError(f"USPS refused the request ({code}): {message}")
    if code == "429" or code.startswith("5"):
        raise RetryableError(f"USPS answered {code}: {message}")
    if code == "404" or (code == "400" and _names_the_number(error, items)):
        return [_not_found(n, message) for n in numbers]
    raise PermanentError(f"USPS refused the request ({code or 'no code'}): {message}")


def _names_the_number(error: Mapping[str, Any], items: list[Mapping[str, Any]]) -> bool:
    """A 400 about the tracking number itself: for one number per call, that number is
    unknown to USPS (not our request being malformed)."""
    for item in items:
        source = item.get("source")
        if isinstance(source, dict) and text(source.get("parameter")) == "trackingNumber":
            return True
    words = [error.get("message"), *(i.get(k) for i in items for k in ("title", "detail"))]
    return any("tracking number" in (text(w) or "").lower() for w in words)


def _read_v3_parcel(answer: Mapping[str, Any]) -> ParcelTracking:
    number = answer["trackingNumber"]
    raw_events = answer.get("trackingEvents")
    if raw_events is None:
        raw_events = []
    if not isinstance(raw_events, list):
        raise TranslationError("not a list", path="trackingEvents")
    dest_zone = _zone(text(answer.get("destinationState")))
    # USPS lists events newest first; the hub wants them oldest first.
    dated = []
    for i, e in reversed(list(enumerate(raw_events))):
        if not isinstance(e, dict):
            raise TranslationError("not an object", path=f"trackingEvents[{i}]")
        try:
            dated.append((_v3_time(e, f"trackingEvents[{i}]"), e))
        except TranslationError as exc:
            # one event with a time that is no time is dropped, not the whole answer
            logging.getLogger(__name__).warning("USPS event dropped: %s", exc)
    summaries = answer.get("eventSummaries")
    carrier_status = text(answer.get("status")) or text(answer.get("statusSummary"))
    if carrier_status is None and isinstance(summaries, list) and summaries:
        carrier_status = text(summaries[0])  # a SUMMARY-shaped answer: prose only
    return _parcel(
        number,
        [
            (at, text(e.get("eventCode")), text(e.get("eventType")), _v3_location(e))
            for at, e in dated
        ],
        category=text(answer.get("statusCategory")),
        carrier_status=carrier_status,
        estimated=_v3_estimate(answer, dest_zone),
    )


def _v3_time(event: Mapping[str, Any], path: str) -> datetime:
    """The event's local ``eventTimestamp`` with its ``GMTOffset`` (else the zone of its
    state); USPS's ``GMTTimestamp`` only when there is no local time, as it can carry the
    wrong day (events 24 h early and out of order)."""
    local = text(event.get("eventTimestamp"))
    if local:
        offset = _parse_offset(text(event.get("GMTOffset")))
        zone = offset or _zone(text(event.get("eventState")))
        return _iso(local, zone, f"{path}.eventTimestamp")
    gmt = text(event.get("GMTTimestamp"))
    if gmt:
        # GMT even when USPS leaves the Z off
        return _iso(gmt, UTC, f"{path}.GMTTimestamp")
    raise TranslationError("event has no time", path=f"{path}.eventTimestamp")


def _v3_location(event: Mapping[str, Any]) -> str | None:
    return _location(
        text(event.get("eventCity")),
        text(event.get("eventState")),
        text(event.get("eventZIP")),
        text(event.get("eventCountry")),
    )


def _v3_estimate(answer: Mapping[str, Any], zone: ZoneInfo) -> datetime | None:
    stamp = text(answer.get("expectedDeliveryTimeStamp"))
    if stamp:
        return _iso(stamp, zone, "expectedDeliveryTimeStamp")
    for key in ("expectedDeliveryDate", "predictedDeliveryDate"):
        day = text(answer.get(key))
        if day:
            try:
                return _midnight(date.fromisoformat(day[:10]), zone)
            except ValueError:
                raise TranslationError(f"not a date: {day!r}", path=key) from None
    return None


# -- Web Tools TrackV2 XML --------------------------------------------------------------------


def _read_xml(body: bytes, numbers: list[str]) -> list[ParcelTracking]:
    root = xml_root(body, sender="USPS")
    if root.tag == "Error":
        number = (_child(root, "Number") or "").upper()
        message = _join([_child(root, "Description"), _child(root, "Source")]) or number
        if number in XML_AUTH_ERRORS or "doauth" in (_child(root, "Source") or "").lower():
            raise AuthError(f"USPS refused the USERID ({number}): {message}")
        raise PermanentError(f"USPS error {number or '(no number)'}: {message}")
    if root.tag != "TrackResponse":
        raise TranslationError(f"expected <TrackResponse>, got <{root.tag}>")
    found: dict[str, ParcelTracking] = {}
    for i, info in enumerate(root.findall("TrackInfo")):
        number = text(info.get("ID"))
        if number is None:
            raise TranslationError("TrackInfo has no ID", path=f"TrackInfo[{i}]")
        found[number] = _read_track_info(number, info, f"TrackInfo[{i}]")
    return _assign(numbers, found)


def _read_track_info(number: str, info: ET.Element, path: str) -> ParcelTracking:
    error = info.find("Error")
    if error is not None:
        message = _child(error, "Description") or f"USPS error {_child(error, 'Number')}"
        return _not_found(number, message)
    summary = info.find("TrackSummary")
    # Newest first, the summary being the newest of all.
    rows = ([summary] if summary is not None else []) + info.findall("TrackDetail")
    events = []
    for i, row in enumerate(reversed(rows)):
        if not len(row):  # the plain TrackRequest's one line of prose: no fields to read
            continue
        try:
            at = _xml_time(row, f"{path}.event[{i}]")
        except TranslationError as exc:
            # one scan with a date or time that is none is dropped, not the whole answer
            logging.getLogger(__name__).warning("USPS event of %s dropped: %s", number, exc)
            continue
        if at is None:
            continue  # an undated scan cannot be placed on the timeline
        state = _child(row, "EventState")
        location = _location(
            _child(row, "EventCity"),
            state,
            _child(row, "EventZIPCode"),
            _child(row, "EventCountry"),
        )
        events.append((at, _child(row, "EventCode"), _child(row, "Event"), location))
    carrier_status = _child(info, "Status")
    if carrier_status is None and summary is not None and not len(summary):
        carrier_status = text(summary.text)
    estimate = _child(info, "ExpectedDeliveryDate") or _child(info, "PredictedDeliveryDate")
    estimated = None
    if estimate:
        day = _us_date(estimate, f"{path}.ExpectedDeliveryDate")
        estimated = _midnight(day, _zone(_child(info, "DestinationState")))
    return _parcel(
        number,
        events,
        category=_child(info, "StatusCategory"),
        carrier_status=carrier_status,
        estimated=estimated,
    )


def _xml_time(row: ET.Element, path: str) -> datetime | None:
    """``EventDate`` + ``EventTime`` (local, no zone) in the zone of ``EventState``; None
    without a date. Raises ``TranslationError`` naming the field that is no date or time."""
    day = _child(row, "EventDate")
    if day is None:
        return None
    clock = _child(row, "EventTime")
    wall = time()  # a scan with a date but no time: the start of that day
    if clock:
        match = _CLOCK.fullmatch(clock)
        if not match:
            raise TranslationError(f"not a time of day: {clock!r}", path=f"{path}.EventTime")
        hour, minute = int(match[1]), int(match[2])
        try:
            if not 1 <= hour <= 12:
                raise ValueError(hour)
            hour = hour % 12 + (12 if match[4].lower() == "p" else 0)
            wall = time(hour, minute, int(match[3] or 0))
        except ValueError:
            raise TranslationError(
                f"not a time of day: {clock!r}", path=f"{path}.EventTime"
            ) from None
    local = datetime.combine(_us_date(day, f"{path}.EventDate"), wall)
    return local.replace(tzinfo=_zone(_child(row, "EventState"))).astimezone(UTC)


def _us_date(value: str, path: str) -> date:
    """``April 28, 2015`` (month names in English, whatever the machine's locale)."""
    match = _US_DATE.fullmatch(value.strip())
    month = _MONTHS.get(match[1].lower()) if match else None
    if match is None or month is None:
        raise TranslationError(f"not a date: {value!r}", path=path)
    try:
        return date(int(match[3]), month, int(match[2]))
    except ValueError:
        raise TranslationError(f"not a date: {value!r}", path=path) from None


def _child(element: ET.Element, tag: str) -> str | None:
    found = element.find(tag)
    return text(found.text) if found is not None else None


# -- shared -----------------------------------------------------------------------------------


def _parcel(
    number: str,
    events: list[Event],
    *,
    category: str | None,
    carrier_status: str | None,
    estimated: datetime | None,
) -> ParcelTracking:
    """Events (oldest first) with their canonical statuses, and the parcel's status."""
    category_status = CATEGORY_STATUSES.get((category or "").strip().lower())
    out: list[TrackingEvent] = []
    moving = False
    for i, (at, code, words, location) in enumerate(events):
        status = EVENT_STATUSES.get((code or "").upper())
        if status is None:
            latest = i == len(events) - 1
            if latest and category_status is not None:
                status = category_status  # the answer's category describes its latest event
            else:
                status = "in_transit" if moving else "unknown"
        moving = moving or status not in ("label_created", "unknown")
        out.append(TrackingEvent(at=at, status=status, code=code, text=words, location=location))
    current = out[-1].status if out else category_status or "unknown"
    return ParcelTracking(
        tracking_number=number,
        found=True,
        status=current,
        events=tuple(out),
        estimated_delivery=estimated,
        carrier_status=carrier_status or category,
    )


def _assign(numbers: list[str], answers: Mapping[str, ParcelTracking]) -> list[ParcelTracking]:
    """One result per asked number, matched on the number without spaces or case; the
    result carries the number as it was asked."""
    by_key = {_key(number): parcel for number, parcel in answers.items()}
    out = []
    for number in numbers:
        parcel = by_key.get(_key(number))
        if parcel is None and len(numbers) == 1 and len(answers) == 1:
            # one number asked, one answered: USPS may write it differently (the long IMpb)
            parcel = next(iter(answers.values()))
        if parcel is None:
            out.append(_not_found(number, "USPS's answer does not mention this number"))
        else:
            out.append(_renamed(parcel, number))
    return out


def _renamed(parcel: ParcelTracking, number: str) -> ParcelTracking:
    if parcel.tracking_number == number:
        return parcel
    return ParcelTracking(
        tracking_number=number,
        found=parcel.found,
        status=parcel.status,
        events=parcel.events,
        estimated_delivery=parcel.estimated_delivery,
        carrier_status=parcel.carrier_status,
        error=parcel.error,
    )


def _not_found(number: str, message: str) -> ParcelTracking:
    return ParcelTracking(tracking_number=number, found=False, status="unknown", error=message)


def _key(number: str) -> str:
    return _SPACE.sub("", number).upper()


def _location(
    city: str | None, state: str | None, zip_code: str | None, country: str | None
) -> str | None:
    """``HERNANDO, FL 34442``, as USPS writes addresses; a facility name stays as it is."""
    region = " ".join(p for p in (state, zip_code) if p)
    parts = [p for p in (city, region or None, country) if p]
    return ", ".join(parts) or None


def _zone(state: str | None) -> ZoneInfo:
    return ZoneInfo(STATE_ZONES.get((state or "").strip().upper(), HOME_ZONE))


def _parse_offset(value: str | None) -> timezone | None:
    """``-05:00`` (or ``-5:00``, as USPS's own example writes it) as a fixed offset."""
    match = _OFFSET.fullmatch(value.strip()) if value else None
    if match is None:
        return None
    minutes = int(match[2]) * 60 + int(match[3])
    if minutes >= 24 * 60:
        return None
    return timezone(timedelta(minutes=-minutes if match[1] == "-" else minutes))


def _iso(value: str, zone: Any, path: str) -> datetime:
    """An ISO 8601 time to UTC; one without an offset is wall-clock time in ``zone``. More
    than six fractional digits (nanoseconds) are cut to microseconds."""
    cleaned = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise TranslationError(f"not an ISO 8601 time: {value!r}", path=path) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """A date-only estimate as the start of that day where the parcel is going, so that it
    shows as the right day there."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _join(parts: Iterable[str | None]) -> str:
    seen: list[str] = []
    for part in parts:
        if part and part not in seen:
            seen.append(part)
    return "; ".join(seen)
