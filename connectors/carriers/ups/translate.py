"""UPS tracking, pure: Track API answers and Track Alert pushes to canonical tracking.

Track API v1 (``GET /api/track/v1/details/{inquiryNumber}``, UPS-API/api-documentation
``Tracking.yaml``) answers ``trackResponse.shipment[].package[].activity[]``, newest activity
first. Each activity's ``status`` carries three codes:

* ``type``: D delivery, I on the way, M manifest (label created), MV manifest voided,
  U updated delivery date, X exception, DO / DD / W freight at a container freight station or
  warehouse, NA not available (UPS's "Package Activity Types"), P pickup (UPS's older XML
  guide), RS returned to shipper;
* ``statusCode``: the three-digit "processing details status code" (PDSC) UPS uses for its
  own simple status: 005 in transit, 011 delivered, 021 out for delivery, ... (UPS's
  "Status/Description Codes" list, 000-169);
* ``code``: the two-character activity code (``F4``, ``OT``, ``MP``). It is what an event
  keeps as its ``code``, because Track Alert pushes send the same one, so a scan polled and
  pushed is stored once.

An activity's canonical status comes from :data:`STATUS_CODES` (PDSC) when its code is
there, else from :data:`STATUS_TYPES`. PDSC goes first because it is finer: out for delivery
(021, 072) is type I and "delivered to a UPS Access Point, awaiting pickup" (040) is type D.
PDSC 003 ("shipment ready for UPS") is deliberately absent: type M already says it, and UPS's
own OpenAPI example pairs 003 with type X. An activity matched by neither table is
``in_transit`` when an earlier activity shows UPS moving the parcel, else ``unknown``.

Times: ``gmtDate`` + ``gmtTime`` (UTC) when UPS sends them; else the local ``date`` + ``time``
with the activity's ``gmtOffset``; else (the payloads recorded before UPS added the GMT fields)
the local time is read in UPS's home zone, America/New_York. The newest activity decides the
parcel's status; the package's ``currentStatus`` only when there is no activity or the newest
one's code is unknown. An activity whose date cannot be read is dropped with a warning.

Errors: ``response.errors`` with an authentication code (250xxx, UJxxxx) is an AuthError
wherever it comes; an invalid inquiry number (TV1002) or a "not found" warning (TW0001, in a
200 answer) is data, ``found=False``; any other error body is a PermanentError.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from hub.connectors import TRACKING_STATUSES, ParcelTracking, TrackingEvent
from hub.errors import AuthError, PermanentError, RetryableError, TranslationError
from hub.values import array_or_empty, code_key, nested, scalar_text

log = logging.getLogger(__name__)

#: the zone of a local time that comes with no offset (UPS is headquartered in Atlanta)
HOME_ZONE = ZoneInfo("America/New_York")

#: Sources of the tables below: UPS's Tracking API reference appendices ("Package Activity
#: Types", "Status/Description Codes", "Manifest Codes", "Updates",
#: https://developer.ups.com/api/reference/tracking/appendix), as kept in karrioapi/karrio
#: ``modules/connectors/ups/vendors/Tracking-*.html``; UPS's text follows each code.

#: activity ``status.type`` -> canonical status: every type of "Package Activity Types" but
#: NA ("Not Available", left to the fallback), plus P (pickup) from UPS's older XML guide and
#: RS (returned to shipper)
STATUS_TYPES: dict[str, str] = {
    "M": "label_created",  # Billing Information Received (the shipper made a label)
    "MV": "exception",  # Billing Information Voided: the label was cancelled
    "P": "picked_up",
    "I": "in_transit",  # In Transit, Out for Delivery (the PDSC tells them apart)
    "U": "in_transit",  # Updates (Track Alert API only): delivery date or time updated
    "DO": "in_transit",  # Delivered Origin CFS (Freight Only): at the origin freight station
    "DD": "in_transit",  # Delivered Destination CFS (Freight Only): not yet the consignee's
    "W": "in_transit",  # Warehousing (Freight Only)
    "X": "exception",  # Exception: "something out of the normal happened", maybe on time
    "D": "delivered",  # Delivered
    "RS": "returned_to_sender",
}

#: activity ``status.statusCode`` (PDSC, UPS's simple status; three digits in the answers,
#: without the leading zeros in UPS's list) -> canonical status; read before the type. Every
#: code of "Status/Description Codes" but those in :data:`PDSC_BY_TYPE`.
STATUS_CODES: dict[str, str] = {
    "005": "in_transit",  # On the Way
    "006": "out_for_delivery",  # Out for Delivery
    "007": "exception",  # Shipment Information Voided
    "010": "in_transit",  # On the Way
    "011": "delivered",  # Delivered
    "012": "in_transit",  # Clearance in Progress
    "013": "exception",  # Exception
    "014": "in_transit",  # Clearance Completed
    "016": "exception",  # In Warehouse
    "017": "ready_for_pickup",  # Held for Customer Pickup
    "018": "in_transit",  # Delivery Change Requested: Hold for Pickup
    "019": "in_transit",  # Held for Future Delivery
    "020": "in_transit",  # Held for Future Delivery Requested
    "021": "out_for_delivery",  # Out for Delivery
    "022": "delivery_attempted",  # First Attempt Made
    "023": "delivery_attempted",  # Second Delivery Attempted
    "024": "delivery_attempted",  # Final Attempt Made
    "025": "in_transit",  # On the Way
    "026": "delivered",  # Delivered by Local Post Office
    "027": "in_transit",  # Delivery Address Change Requested
    "028": "in_transit",  # Delivery Address Changed
    "029": "exception",  # Exception: Action Required
    "030": "exception",  # Local Post Office Exception
    "032": "exception",  # Adverse Weather May Cause Delay
    "033": "exception",  # Return to Sender Requested
    "034": "returned_to_sender",  # Returned to Sender
    "035": "returned_to_sender",  # Returning to Sender
    "036": "returned_to_sender",  # Returning to Sender: In Transit
    "037": "out_for_delivery",  # Out for Delivery
    "038": "picked_up",  # Picked Up by UPS
    "039": "in_transit",  # On the Way
    "040": "ready_for_pickup",  # Ready for Customer Pickup
    "041": "in_transit",  # Service Upgrade Requested
    "042": "in_transit",  # Service Upgraded
    "043": "exception",  # Voided Pickup
    "044": "in_transit",  # On the Way to UPS
    "045": "in_transit",  # On the Way to UPS
    "046": "exception",  # Delay
    "047": "in_transit",  # On the Way
    "048": "exception",  # Delay
    "049": "exception",  # Delay: Action Required
    "050": "exception",  # Address Information Required
    "051": "exception",  # Delay: Emergency Situation or Severe Weather
    "052": "exception",  # Delay: Severe Weather
    "053": "exception",  # Delay: Severe Weather
    "054": "in_transit",  # Delivery Change Requested
    "055": "in_transit",  # Rescheduled Delivery
    "056": "in_transit",  # Service Upgrade Requested
    "057": "in_transit",  # On the Way to a Local UPS Access Point
    "058": "exception",  # Clearance Information Required
    "059": "exception",  # Damage Reported
    "060": "delivery_attempted",  # Delivery Attempted
    "061": "delivery_attempted",  # Delivery Attempted: Adult Signature Required
    "062": "delivery_attempted",  # Delivery Attempted: Funds Required
    "063": "in_transit",  # Delivery Change Completed
    "064": "exception",  # Delivery Refused
    "065": "exception",  # Pickup Attempted
    "066": "delivery_attempted",  # Post Office Delivery Attempted
    "067": "returned_to_sender",  # Returned to Sender by Post Office
    "068": "exception",  # Sent to Lost and Found
    "069": "exception",  # Unable to Deliver
    "070": "in_transit",  # Package not at UPS Access Point yet
    "071": "in_transit",  # Preparing for Delivery
    "072": "out_for_delivery",  # Loaded on Delivery Vehicle
    "073": "in_transit",  # In Transit to UPS Delivery Partner
    "074": "in_transit",  # UPS Delivery Partner has Shipment
    "075": "in_transit",  # Scheduled for Delivery
    "076": "exception",  # UPS Delivery Partner Exception
    "077": "label_created",  # Scheduled for Pickup Today
    "078": "out_for_delivery",  # Your Driver is Arriving Soon!
    "079": "in_transit",  # Order Processed: In Transit to UPS
    "081": "returned_to_sender",  # Returned - Damage Reported
    "082": "in_transit",  # Delivery Instructions Received
    "083": "exception",  # Held
    "084": "in_transit",  # Cleared
    "085": "exception",  # Held for COD Payment
    "086": "exception",  # Delay
    "087": "in_transit",  # On the Way
    "089": "out_for_delivery",  # Out for Delivery
    "090": "exception",  # Delay
    "091": "out_for_delivery",  # Out for Delivery
    "092": "in_transit",  # Customs Clearance in Progress
    "093": "exception",  # Premier Recovery In Progress
    "094": "in_transit",  # Premier Recovery Completed
    "095": "in_transit",  # Additional Attempt Requested
    "096": "in_transit",  # Address Change Confirmed
    "097": "in_transit",  # Address Change Requested
    "098": "in_transit",  # Deliver to Original Address Requested
    "099": "in_transit",  # Deliver to Original Address Confirmed
    "100": "in_transit",  # Hold at UPS Access Point Confirmed
    "101": "in_transit",  # Hold at UPS Access Point Requested
    "102": "in_transit",  # Hold for Courier Requested
    "103": "in_transit",  # Hold for Courier Confirmed
    "104": "in_transit",  # Hold for Instructions Confirmed
    "105": "in_transit",  # Hold for Instructions Requested
    "106": "in_transit",  # Hold for Pickup Confirmed
    "107": "in_transit",  # Hold for Pickup Requested
    "108": "in_transit",  # Hold for Pickup Today Confirmed
    "109": "in_transit",  # Hold for Pickup Today Requested
    "110": "in_transit",  # Refrigeration Confirmed
    "111": "in_transit",  # Refrigeration Requested
    "112": "in_transit",  # Re-Ice Confirmed
    "113": "in_transit",  # Re-Ice Requested
    "114": "in_transit",  # Request Canceled
    "115": "in_transit",  # Reschedule Delivery Confirmed
    "116": "in_transit",  # Reschedule Delivery Requested
    "117": "in_transit",  # Return by Saturday Confirmed
    "118": "returned_to_sender",  # Return to Sender Confirmed
    "119": "exception",  # Return to Sender Requested
    "120": "in_transit",  # Saturday Delivery Confirmed
    "121": "in_transit",  # Saturday Delivery Requested
    "122": "in_transit",  # Upgrade Confirmed
    "123": "exception",  # Pending Release From Non-UPS Broker
    "124": "exception",  # Clearance Information Needed
    "125": "exception",  # Clearance Information Needed
    "126": "exception",  # Pending Government Agency Release
    "131": "exception",  # Final Pickup Attempted
    "132": "exception",  # Airport Security Delay
    "134": "in_transit",  # Cleared Import Customs
    "135": "exception",  # Second Pickup Attempted
    "136": "in_transit",  # Delivery Rescheduled for Saturday
    "137": "in_transit",  # Transferred to UPS Delivery Partner
    "138": "in_transit",  # Awaiting Scheduled Departure
    "139": "exception",  # Security Access Required
    "141": "exception",  # Incomplete Documentation Received
    "143": "delivered",  # Delivered to Agent
    "144": "ready_for_pickup",  # Delivered to Post Office for Pickup
    "145": "delivery_attempted",  # Delivery Attempted
    "146": "out_for_delivery",  # Out for Delivery
    "147": "exception",  # Seized by Law Enforcement, No Longer in UPS possession
    "149": "exception",  # Prohibited Contents, Package Destroyed No Longer in UPS possession
    "153": "in_transit",  # Updated Delivery Time
    "154": "in_transit",  # Updated Delivery Date
    "158": "in_transit",  # On the Way
    "159": "in_transit",  # On the Way
    "160": "picked_up",  # We Have Your Package
    "161": "ready_for_pickup",  # Delivered to UPS Access Point
    "162": "out_for_delivery",  # Out for Delivery
    "164": "in_transit",  # On the Way
    "165": "in_transit",  # On the Way
    "167": "picked_up",  # Dropped off at UPS Store by Customer
    "168": "picked_up",  # Dropped off at Retail Location by Customer
    "169": "picked_up",  # Dropped off at a UPS Access Point by Customer
}

#: PDSCs of the same list left to the activity type: "ready for UPS" (003, 080, 157, 166:
#: type M says it, and UPS's own OpenAPI example pairs 003 with type X), "not available" or a
#: test (000, 088, 148, 163), and notes that say nothing of where the parcel is (claims and
#: investigations 127-130, 140, 142; return label left 133; delivery photo 155; commercial
#: inside release 156)
# fmt: off
PDSC_BY_TYPE = frozenset({
    "000", "003", "080", "088", "127", "128", "129", "130", "133",
    "140", "142", "148", "155", "156", "157", "163", "166",
})
# fmt: on

#: activity ``status.code`` -> canonical status, read after the PDSC and before the type:
#: "Manifest Codes" (DP, MP, RD, VP) and Track Alert's ``OT`` "out for delivery today" (sent
#: with type ``I``). The "Updates" codes (PX delivery photo, UP / UT updated delivery date /
#: time) say nothing of where the parcel is: their type (U) decides.
ACTIVITY_CODES: dict[str, str] = {
    "DP": "label_created",  # Shipment ready for UPS, manifest processed
    "MP": "label_created",  # Shipment ready for UPS, billing information has been received
    "RD": "label_created",  # Shipper created a label, Roadie has not received the package yet
    "VP": "exception",  # Manifest cancelled and shipment voided
    "OT": "out_for_delivery",
}

#: error codes that speak of the number asked, not of the request: ``found=False``
NOT_FOUND_CODES = frozenset({"TV1002", "TW0001"})  # invalid inquiry number; not found
#: error code prefixes that mean the credentials were refused
_AUTH_PREFIXES = ("2500", "UJ")

#: statuses after which an unknown code is taken as the parcel still moving
_MOVING = frozenset(TRACKING_STATUSES) - {"label_created", "unknown"}
#: deliveryTime types whose ``endTime`` is a promised or estimated time
_WINDOW_TYPES = frozenset({"EDW", "CDW", "IDW", "CMT"})
_OFFSET = re.compile(r"([+-])(\d{1,2}):?(\d{2})")

for _table in (STATUS_TYPES, STATUS_CODES, ACTIVITY_CODES):
    assert set(_table.values()) <= set(TRACKING_STATUSES)
assert not PDSC_BY_TYPE & set(STATUS_CODES)


def tracking_url(number: str) -> str:
    """UPS's public tracking page for a number."""
    return f"https://www.ups.com/track?tracknum={quote(number.strip(), safe='')}"


def status_for(status: Any) -> str | None:
    """The canonical status of a UPS ``status`` object (PDSC first, then type), or None."""
    if not isinstance(status, Mapping):
        return None
    pdsc = scalar_text(status.get("statusCode"))
    code = scalar_text(status.get("code"))
    if pdsc is None and code is not None and code.isdigit():
        pdsc = code  # a package's currentStatus may give the PDSC as its only code
    if pdsc is not None and pdsc.isdigit():
        pdsc = pdsc.zfill(3)  # UPS's list writes 5 for the 005 of its answers
    if pdsc is not None and pdsc in STATUS_CODES:
        return STATUS_CODES[pdsc]
    if code is not None and code.upper() in ACTIVITY_CODES:
        return ACTIVITY_CODES[code.upper()]
    kind = scalar_text(status.get("type"))
    return STATUS_TYPES.get(kind.upper()) if kind else None


# -- Track API --------------------------------------------------------------------------------


def read_tracking(body: bytes, numbers: list[str]) -> list[ParcelTracking]:
    """One Track API answer (a 200 body, or the error body of a 4xx) to one result per number.

    The API takes one inquiry number per call; with several numbers, each is matched to the
    shipment that names it."""
    data = _json(body)
    errors = carrier_errors(data)
    if errors and "trackResponse" not in data:
        problem = _describe(errors)
        if auth_failure(data):
            raise AuthError(f"UPS refused the credentials: {problem}", details={"errors": errors})
        if all(e.get("code") in NOT_FOUND_CODES for e in errors):
            return [ParcelTracking(n, found=False, error=problem) for n in numbers]
        raise PermanentError(f"UPS refused the request: {problem}", details={"errors": errors})
    response = data.get("trackResponse")
    shipments = response.get("shipment") if isinstance(response, Mapping) else None
    if not isinstance(shipments, list):
        raise TranslationError("no trackResponse.shipment list", path="trackResponse")
    shipments = [s for s in shipments if isinstance(s, Mapping)]
    return [_tracking(n, _shipment_for(n, shipments, len(numbers) == 1)) for n in numbers]


def carrier_errors(data: Any) -> list[dict[str, str]]:
    """UPS's ``response.errors`` (or a bare ``errors``) as ``{code, message}`` dicts."""
    if not isinstance(data, Mapping):
        return []
    holder = data.get("response") if isinstance(data.get("response"), Mapping) else data
    errors = holder.get("errors")
    if not isinstance(errors, list):
        return []
    return [
        {"code": scalar_text(e.get("code")) or "", "message": scalar_text(e.get("message")) or ""}
        for e in errors
        if isinstance(e, Mapping)
    ]


def auth_failure(data: Any) -> bool:
    """True when an answer's errors say the credentials were refused (a 200 or 500 too)."""
    return any(e["code"].startswith(_AUTH_PREFIXES) for e in carrier_errors(data))


def _shipment_for(
    number: str, shipments: list[Mapping[str, Any]], only: bool
) -> Mapping[str, Any] | None:
    wanted = code_key(number)
    for shipment in shipments:
        if code_key(shipment.get("inquiryNumber")) == wanted:
            return shipment
        if any(code_key(p.get("trackingNumber")) == wanted for p in _packages(shipment)):
            return shipment
    # UPS's "not found" shipment names no inquiry number: with one number asked, it is its
    return shipments[0] if only and shipments else None


def _tracking(number: str, shipment: Mapping[str, Any] | None) -> ParcelTracking:
    if shipment is None:
        return ParcelTracking(number, found=False, error="UPS's answer has no shipment for it")
    packages = _packages(shipment)
    if not packages:
        warnings = shipment.get("warnings")
        problem = _describe(carrier_errors({"errors": warnings})) if warnings else None
        return ParcelTracking(number, found=False, error=problem or "UPS has no package for it")
    wanted = code_key(number)
    # a shipment's lead number lists all its packages: the one asked about, else the first
    package = next(
        (p for p in packages if code_key(p.get("trackingNumber")) == wanted), packages[0]
    )
    return _package(number, package)


def _package(number: str, package: Mapping[str, Any]) -> ParcelTracking:
    activities = [a for a in array_or_empty(package.get("activity")) if isinstance(a, Mapping)]
    raw = []
    for activity in reversed(activities):  # UPS lists the newest first
        at = activity_time(activity)
        if at is None:
            # a scan without a readable time cannot be placed on the timeline; the others stand
            log.warning(
                "UPS %s: dropped an activity with an unreadable date %r",
                number,
                activity.get("date"),
            )
            continue
        status = activity.get("status") if isinstance(activity.get("status"), Mapping) else {}
        raw.append(
            (
                at,
                status_for(status),
                _code(status),
                scalar_text(status.get("description")),
                _location(nested(activity, "location", "address")),
            )
        )
    events = _events(raw)
    current = package.get("currentStatus")
    # the newest scan decides (UPS's currentStatus can lag behind it); the summary only when
    # there is no scan or the newest scan's code is one the tables do not know
    newest_known = bool(raw) and sorted(raw, key=lambda r: r[0])[-1][1] is not None
    if newest_known:
        status = events[-1].status
    else:
        status = status_for(current) or (events[-1].status if events else "unknown")
    carrier_status = (
        scalar_text(current.get("description")) if isinstance(current, Mapping) else None
    )
    if carrier_status is None and events:
        carrier_status = events[-1].text
    estimate = None
    if status != "delivered":
        zone = next(
            (z for a in activities if (z := _offset(a.get("gmtOffset"))) is not None), HOME_ZONE
        )
        estimate = _estimate(package, zone)
    return ParcelTracking(
        tracking_number=number,
        found=True,
        status=status,
        events=tuple(events),
        estimated_delivery=estimate,
        carrier_status=carrier_status,
    )


def activity_time(activity: Mapping[str, Any]) -> datetime | None:
    """An activity's time in UTC: its GMT date and time, else its local time with its offset,
    else its local time in :data:`HOME_ZONE`."""
    gmt = _combine(activity.get("gmtDate"), activity.get("gmtTime"))
    if gmt is not None:
        return gmt.replace(tzinfo=UTC)
    local = _combine(activity.get("date"), activity.get("time"))
    if local is None:
        return None
    return _localize(local, _offset(activity.get("gmtOffset")) or HOME_ZONE)


def _estimate(package: Mapping[str, Any], zone: tzinfo) -> datetime | None:
    """The rescheduled (RDD) else scheduled (SDD) delivery date, at the end of the delivery
    window when UPS gives one, else at the start of that day, in ``zone``."""
    dates = {
        scalar_text(d.get("type")): d.get("date")
        for d in array_or_empty(package.get("deliveryDate"))
        if isinstance(d, Mapping)
    }
    day = _date(dates.get("RDD")) or _date(dates.get("SDD"))
    if day is None:
        return None
    window = package.get("deliveryTime") if isinstance(package.get("deliveryTime"), Mapping) else {}
    at = _time(window.get("endTime")) if scalar_text(window.get("type")) in _WINDOW_TYPES else None
    return _localize(datetime.combine(day, at or time()), zone)


# -- Track Alert pushes -------------------------------------------------------------------------


def read_alert(payload: Any) -> ParcelTracking:
    """One Track Alert push (``UPSTrackAlert.yaml``, webhook ``TrackingEvent``): a single
    activity of one package, with its local and GMT time and its status codes."""
    if not isinstance(payload, Mapping):
        raise TranslationError("a Track Alert push is a JSON object")
    number = scalar_text(payload.get("trackingNumber"))  # UPS's own example has a leading space
    if number is None:
        raise TranslationError("no trackingNumber", path="trackingNumber")
    status = payload.get("activityStatus")
    status = status if isinstance(status, Mapping) else {}
    # Track Alert calls the PDSC "descriptionCode"; the tables read it as the Track API's name
    codes = {**status, "statusCode": status.get("descriptionCode")}
    at = alert_time(payload)
    if at is None:
        raise TranslationError("no readable activity time", path="gmtActivityDate")
    event = TrackingEvent(
        at=at,
        status=status_for(codes) or "in_transit",  # a push is a scan: UPS has the parcel
        code=_code(codes),
        text=scalar_text(status.get("description")),
        location=_location(payload.get("activityLocation")),
    )
    estimate = None
    if event.status != "delivered":
        day = _date(payload.get("scheduledDeliveryDate"))
        end = _time(payload.get("deliveryEndTime"))
        if day is not None:
            estimate = _localize(datetime.combine(day, end or time()), HOME_ZONE)
    return ParcelTracking(
        tracking_number=number,
        found=True,
        status=event.status,
        events=(event,),
        estimated_delivery=estimate,
        carrier_status=event.text,
    )


def alert_time(payload: Mapping[str, Any]) -> datetime | None:
    """A push's activity time in UTC (GMT fields, else the local ones in :data:`HOME_ZONE`)."""
    gmt = _combine(payload.get("gmtActivityDate"), payload.get("gmtActivityTime"))
    if gmt is not None:
        return gmt.replace(tzinfo=UTC)
    local = _combine(payload.get("localActivityDate"), payload.get("localActivityTime"))
    return _localize(local, HOME_ZONE) if local is not None else None


def alert_key(payload: Any) -> str | None:
    """What makes one push one event: the number, the activity's time and its codes (UPS
    sends no event id). None when the payload names no number or time."""
    if not isinstance(payload, Mapping):
        return None
    number = code_key(payload.get("trackingNumber"))
    at = alert_time(payload)
    if not number or at is None:
        return None
    status = payload.get("activityStatus")
    status = status if isinstance(status, Mapping) else {}
    parts = [scalar_text(status.get(k)) or "" for k in ("type", "code", "descriptionCode")]
    return f"{number}:{at.strftime('%Y%m%dT%H%M%SZ')}:{'/'.join(parts)}"


# -- helpers -------------------------------------------------------------------------------------


def _events(
    raw: list[tuple[datetime, str | None, str | None, str | None, str | None]],
) -> list[TrackingEvent]:
    """Events oldest first; an unmapped code is ``in_transit`` once the parcel moved."""
    events: list[TrackingEvent] = []
    moving = False
    for at, status, code, text, location in sorted(raw, key=lambda r: r[0]):
        status = status or ("in_transit" if moving else "unknown")
        moving = moving or status in _MOVING
        events.append(TrackingEvent(at=at, status=status, code=code, text=text, location=location))
    return events


def _code(status: Mapping[str, Any]) -> str | None:
    return (
        scalar_text(status.get("code"))
        or scalar_text(status.get("statusCode"))
        or scalar_text(status.get("type"))
    )


def _location(address: Any) -> str | None:
    if not isinstance(address, Mapping):
        return None
    country = scalar_text(address.get("countryCode")) or scalar_text(address.get("country"))
    parts = [scalar_text(address.get("city")), scalar_text(address.get("stateProvince")), country]
    return ", ".join(p for p in parts if p) or None


def _combine(day: Any, clock: Any) -> datetime | None:
    d, t = _date(day), _time(clock)
    return datetime.combine(d, t) if d is not None and t is not None else None


def _date(value: Any) -> date | None:
    """``YYYYMMDD`` (UPS's format) or ``YYYY-MM-DD``; anything else (``"string"``) is None."""
    digits = (scalar_text(value) or "").replace("-", "")
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def _time(value: Any) -> time | None:
    """``HHMMSS``, ``HH:MM:SS`` or ``HHMM``; a leading zero may be missing (``74700``)."""
    digits = (scalar_text(value) or "").replace(":", "")
    if not digits.isdigit() or len(digits) not in (3, 4, 5, 6):
        return None
    digits = digits.zfill(6 if len(digits) > 4 else 4).ljust(6, "0")
    try:
        return time(int(digits[:2]), int(digits[2:4]), int(digits[4:]))
    except ValueError:
        return None


def _offset(value: Any) -> tzinfo | None:
    match = _OFFSET.fullmatch(scalar_text(value) or "")
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)


def _localize(local: datetime, zone: tzinfo) -> datetime:
    return local.replace(tzinfo=zone).astimezone(UTC)


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        # a gateway's HTML page or a cut answer: worth asking again, not a verdict on the number
        raise RetryableError("UPS answered with something that is not JSON") from None
    if not isinstance(data, dict):
        raise TranslationError("UPS's answer is not a JSON object")
    return data


def _describe(errors: Iterable[Mapping[str, str]]) -> str:
    return (
        "; ".join(f"{e['code']}: {e['message']}" if e["code"] else e["message"] for e in errors)
        or "no message"
    )


def _packages(shipment: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [p for p in array_or_empty(shipment.get("package")) if isinstance(p, Mapping)]
