"""FedEx tracking, pure: Track API answers and webhook pushes to canonical tracking.

Track API v1 (``POST /track/v1/trackingnumbers``) answers ``output.completeTrackResults[]``,
one per number asked (``trackingNumber``), each with ``trackResults[]``. A result either
carries tracking (``latestStatusDetail``, ``scanEvents[]`` newest first, delivery windows) or
an ``error`` (``TRACKING.TRACKINGNUMBER.NOTFOUND``): then the number is ``found=False`` with
FedEx's message. A whole call FedEx refuses is a top-level ``errors[]``.

Number reuse: FedEx recycles tracking numbers, and one number can come back with several
``trackResults``, one per shipment that carried it (each its own ``trackingNumberUniqueId``).
The parcel is the most recent of them: the result whose newest scan is the latest. An older
shipment's history would only mislead.

Each scan event keeps ``eventType`` as its code, with ``/exceptionCode`` appended when FedEx
gives one (``DE/08``). Its status comes from :data:`EVENT_CODES`, the full code first (a few
exception codes change the meaning: ``DE/08`` "customer not available" is a failed delivery
attempt), then the event type; else from :data:`DERIVED_CODES` by ``derivedStatusCode``; else
``in_transit`` when an earlier event shows the parcel moving, ``unknown`` before that. The
event type goes before ``derivedStatusCode`` because the derived code is coarser: FedEx
derives ``IT`` for out-for-delivery (``OD``) and ready-for-pickup (``HP``) scans. The parcel's
status is its newest scan's; ``latestStatusDetail`` only when there is no scan or it is unknown.

Times are ISO 8601 with an offset, except some (a pickup known only by its date, karrio issue
#654: ``2024-08-15T00:00:00``): those are read in FedEx's home zone, America/Chicago (Memphis).
More than six fractional digits are cut to microseconds.

Pushes (Advanced Integrated Visibility) carry the same ``output.completeTrackResults`` as the
Track API (FedEx's ``TestWebhookOutputVO`` schema), with ``outputMetaData`` about the push
attempt; :func:`read_push` reads them with the same code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from hub.connectors import TRACKING_STATUSES, ParcelTracking, TrackingEvent
from hub.errors import AuthError, PermanentError, RetryableError, TranslationError
from hub.values import array_or_empty, code_key, local_time, nested, scalar_text

#: the zone of a time that comes without an offset (FedEx is based in Memphis)
HOME_ZONE = ZoneInfo("America/Chicago")

#: scan ``eventType`` (or ``eventType/exceptionCode``, read first) -> canonical status: every
#: code of FedEx's "Tracking Status Codes" and "Status Code and Statuses for Webhook Tracking
#: Events" tables (https://developer.fedex.com/api/en-us/guides/api-reference.html), with
#: FedEx's text; and the two DE exception codes the recorded answers carry. FedEx
#: gives some codes twice: EA is "Enroute to Airport" and "Export Approved", CA "Shipment
#: Cancelled" and the possession code "Carrier", RC "CDO Cancelled" and "Recipient", DY
#: "Delay" and, for webhooks, "Delivery updated"; the table reads the scan meaning.
EVENT_CODES: dict[str, str] = {
    "OC": "label_created",  # Order created / shipment information sent to FedEx
    "DS": "label_created",  # Vehicle dispatched (to pick up)
    "EP": "label_created",  # Enroute to pickup
    "AP": "label_created",  # At pickup (the courier is at the shipper's)
    "DR": "label_created",  # Vehicle furnished but not used
    "MD": "label_created",  # Manifest data (webhook)
    "SH": "label_created",  # Shipper (possession: the shipper still has it)
    "RP": "label_created",  # Return label link emailed to return sender
    "RG": "label_created",  # Return label link expiring soon
    "PU": "picked_up",  # Picked up
    "PX": "picked_up",  # Picked up (see details)
    "DO": "picked_up",  # Dropped off (webhook)
    "IP": "picked_up",  # In FedEx possession (webhook)
    "AA": "in_transit",  # At airport
    "AC": "in_transit",  # At Canada Post facility
    "AE": "in_transit",  # Shipment arriving early
    "AF": "in_transit",  # At local FedEx facility
    "AO": "in_transit",  # Shipment arriving on time
    "AR": "in_transit",  # Arrived at FedEx location
    "AS": "in_transit",  # Address corrected (webhook)
    "AX": "in_transit",  # At USPS facility
    "BR": "in_transit",  # Broker
    "CC": "in_transit",  # Cleared customs
    "CH": "in_transit",  # Location changed
    "CP": "in_transit",  # Clearance in progress
    "CU": "in_transit",  # Customs
    "DP": "in_transit",  # Departed
    "EA": "in_transit",  # Enroute to airport
    "EO": "in_transit",  # Enroute to origin airport
    "FD": "in_transit",  # At FedEx destination
    "HA": "in_transit",  # Hold at location request accepted (not there yet)
    "IN": "in_transit",  # On Demand Care completed (webhook; derived IN is "Initiated")
    "IT": "in_transit",  # In transit ("On the way")
    "IX": "in_transit",  # In transit (see details)
    "LO": "in_transit",  # Left origin
    "OF": "in_transit",  # At FedEx origin facility
    "OW": "in_transit",  # On the way
    "OX": "in_transit",  # Shipment information sent to USPS (handed on for delivery)
    "PF": "in_transit",  # Plane in flight
    "PL": "in_transit",  # Plane landed
    "PM": "in_transit",  # In progress
    "PR": "in_transit",  # Performed redirect - address change completed (webhook)
    "RA": "in_transit",  # Address change requested (webhook)
    "RC": "in_transit",  # Recipient's delivery options cancelled
    "RM": "in_transit",  # Recipient's delivery options modified
    "RR": "in_transit",  # Recipient's delivery options requested
    "SF": "in_transit",  # At sort facility
    "SP": "in_transit",  # Split status (pieces of a shipment apart)
    "TP": "in_transit",  # Transfer partner (possession)
    "TR": "in_transit",  # Transfer ("Enroute to delivery" in the webhook table)
    "US": "in_transit",  # Scheduled delivery updated (webhook)
    "AD": "out_for_delivery",  # At delivery
    "ED": "out_for_delivery",  # Enroute to delivery
    "OD": "out_for_delivery",  # Out for delivery ("On FedEx vehicle for delivery")
    "HL": "ready_for_pickup",  # Hold at location
    "HP": "ready_for_pickup",  # Ready for recipient pickup
    "DL": "delivered",  # Delivered
    "DE": "exception",  # Delivery exception
    # FedEx publishes no list of its exception codes: these two are the recorded answers'
    "DE/007": "delivery_attempted",  # ... "Customer not available" (three-digit form)
    "DE/08": "delivery_attempted",  # ... "Customer not available or business closed"
    "CA": "exception",  # Shipment cancelled
    "CD": "exception",  # Clearance delay
    "DD": "exception",  # Delivery delay
    "LC": "exception",  # Return label link cancelled by shipment originator (webhook)
    "LP": "exception",  # Return label link cancelled by shipment originator
    "RD": "exception",  # Return label link expired
    "DY": "exception",  # Delay
    "PD": "exception",  # Pickup delay
    "SE": "exception",  # Shipment exception
    "RT": "exception",  # Return to shipper requested (not yet on its way back)
    "RS": "returned_to_sender",  # Return to shipper ("Returning package to shipper")
}

#: ``derivedStatusCode`` / ``latestStatusDetail.derivedCode`` -> canonical status. FedEx
#: publishes no list of derived codes: these are the event codes FedEx derives (its OpenAPI
#: names PU, DE, DP, HL and OC as examples, karrioapi/karrio
#: ``modules/connectors/fedex/vendor/track.json``) and those the recorded answers carry
DERIVED_CODES: dict[str, str] = {
    "IN": "label_created",  # Initiated ("Label created")
    "OC": "label_created",  # Order created
    "DP": "in_transit",  # Departed
    "PU": "picked_up",
    "IT": "in_transit",
    "OD": "out_for_delivery",
    "HL": "ready_for_pickup",
    "HP": "ready_for_pickup",
    "DL": "delivered",
    "DE": "exception",  # Delivery exception
    "DY": "exception",  # Delay
    "RL": "exception",  # Running late (a delay on the whole shipment)
    "SE": "exception",
    "CA": "exception",  # Cancelled
    "RS": "returned_to_sender",
}

#: top-level error codes that mean the credentials were refused
AUTH_CODES = frozenset({"NOT.AUTHORIZED.ERROR", "FORBIDDEN.ERROR", "UNAUTHORIZED"})
#: top-level error codes of a FedEx failure worth asking again about
RETRY_CODES = frozenset({"INTERNAL.SERVER.ERROR", "SERVICE.UNAVAILABLE.ERROR"})

_MOVING = frozenset(TRACKING_STATUSES) - {"label_created", "unknown"}
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def tracking_url(number: str) -> str:
    """FedEx's public tracking page for a number."""
    return f"https://www.fedex.com/fedextrack/?trknbr={quote(number.strip(), safe='')}"


def request_body(numbers: list[str]) -> dict[str, Any]:
    """The Track API request for numbers, with every scan (``includeDetailedScans``)."""
    return {
        "includeDetailedScans": True,
        "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": n.strip()}} for n in numbers],
    }


def event_status(code: str | None, event_type: str | None, derived: str | None) -> str | None:
    """The canonical status of a scan: its full code, its type, then its derived code."""
    for table, key in ((EVENT_CODES, code), (EVENT_CODES, event_type), (DERIVED_CODES, derived)):
        if key and key.upper() in table:
            return table[key.upper()]
    return None


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time in UTC: with an offset or ``Z`` as given, without one in
    :data:`HOME_ZONE`, nanoseconds cut to microseconds. None when it is not a time."""
    text = scalar_text(value)
    if text is None:
        return None
    try:
        return local_time(text, HOME_ZONE)
    except TranslationError:
        return None


# -- Track API --------------------------------------------------------------------------------


def read_tracking(body: bytes, numbers: list[str]) -> list[ParcelTracking]:
    """One Track API answer to one result per number asked, in the order asked."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        # a gateway's HTML page or a cut answer: worth asking again, not a verdict on a number
        raise RetryableError("FedEx answered with something that is not JSON") from None
    if not isinstance(data, dict):
        raise TranslationError("FedEx's answer is not a JSON object")
    return _results(data, numbers)


def read_push(payload: Any) -> list[ParcelTracking]:
    """One webhook push: the tracking of every number it carries."""
    if not isinstance(payload, Mapping):
        raise TranslationError("a FedEx push is a JSON object")
    complete = _complete_results(payload)
    numbers = [n for c in complete if (n := _number_of(c))]
    if not numbers:
        raise TranslationError("no tracking number in the push", path="output")
    return _results(payload, numbers)


def refusal(data: Any) -> str | None:
    """FedEx's top-level errors as ``CODE: message``, when every one of them is about the
    tracking numbers asked (``TRACKING.*``): a verdict on a number, not on the request."""
    errors = carrier_errors(data)
    if errors and all(e["code"].startswith("TRACKING.") for e in errors):
        return _describe(errors)
    return None


def carrier_errors(data: Any) -> list[dict[str, str]]:
    """FedEx's top-level ``errors`` as ``{code, message}`` dicts."""
    errors = data.get("errors") if isinstance(data, Mapping) else None
    if not isinstance(errors, list):
        return []
    return [
        {"code": scalar_text(e.get("code")) or "", "message": scalar_text(e.get("message")) or ""}
        for e in errors
        if isinstance(e, Mapping)
    ]


def auth_failure(data: Any) -> bool:
    """True when an answer's errors say the credentials or the token were refused."""
    return any(e["code"].upper() in AUTH_CODES for e in carrier_errors(data))


def push_key(body: bytes) -> str:
    """What makes one push one event. FedEx sends no event id, and a retried push differs in
    its ``outputMetaData`` (the attempt), so the key is the hash of the tracking it carries;
    a body that is not such JSON is keyed by its own hash."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("output"), dict):
        canonical = json.dumps(data["output"], sort_keys=True, separators=(",", ":"))
        return "output:" + hashlib.sha256(canonical.encode()).hexdigest()
    return "body:" + hashlib.sha256(body).hexdigest()


def _results(data: Mapping[str, Any], numbers: list[str]) -> list[ParcelTracking]:
    if not isinstance(data.get("output"), Mapping):
        errors = carrier_errors(data)
        if not errors:
            raise TranslationError("no output in FedEx's answer", path="output")
        problem = _describe(errors)
        details = {"errors": errors}
        if auth_failure(data):
            raise AuthError(f"FedEx refused the credentials: {problem}", details=details)
        if any(e["code"].upper() in RETRY_CODES for e in errors):
            raise RetryableError(f"FedEx failed: {problem}", details=details)
        raise PermanentError(f"FedEx refused the request: {problem}", details=details)
    by_number: dict[str, Mapping[str, Any]] = {}
    for complete in _complete_results(data):
        by_number.setdefault(code_key(_number_of(complete)), complete)
    out = []
    for number in numbers:
        complete = by_number.get(code_key(number))
        if complete is None:
            out.append(ParcelTracking(number, found=False, error="not in FedEx's answer"))
        else:
            out.append(_tracking(number, complete))
    return out


def _complete_results(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    output = data.get("output")
    complete = output.get("completeTrackResults") if isinstance(output, Mapping) else None
    return [c for c in array_or_empty(complete) if isinstance(c, Mapping)]


def _number_of(complete: Mapping[str, Any]) -> str | None:
    """The number a complete result answers: the one asked, else its first result's."""
    number = scalar_text(complete.get("trackingNumber"))
    if number is None:
        first = next(iter(_track_results(complete)), {})
        number = scalar_text(nested(first, "trackingNumberInfo", "trackingNumber"))
    return number


def _tracking(number: str, complete: Mapping[str, Any]) -> ParcelTracking:
    results = _track_results(complete)
    # FedEx's own example has an "error" beside full tracking: tracking wins where there is any
    usable = [r for r in results if _scans(r) or nested(r, "latestStatusDetail", "code")]
    if not usable:
        errors = [r["error"] for r in results if isinstance(r.get("error"), Mapping)]
        problem = _describe(carrier_errors({"errors": errors})) if errors else None
        return ParcelTracking(number, found=False, error=problem or "FedEx has no tracking for it")
    # number reuse: several shipments for one number; the parcel is the most recent one
    result = max(usable, key=_newest_scan)
    events = _events(result)
    latest = result.get("latestStatusDetail")
    latest = latest if isinstance(latest, Mapping) else {}
    # the newest scan decides (a parcel returning to the shipper shows it first in its
    # scans); FedEx's latestStatusDetail only when there is no scan or it says nothing
    status = events[-1].status if events and events[-1].status != "unknown" else None
    status = status or event_status(
        None, scalar_text(latest.get("code")), scalar_text(latest.get("derivedCode"))
    )
    status = status or "unknown"
    carrier_status = scalar_text(latest.get("statusByLocale")) or scalar_text(
        latest.get("description")
    )
    return ParcelTracking(
        tracking_number=number,
        found=True,
        status=status,
        events=tuple(events),
        estimated_delivery=None if status == "delivered" else _estimate(result),
        carrier_status=carrier_status or (events[-1].text if events else None),
    )


def _events(result: Mapping[str, Any]) -> list[TrackingEvent]:
    """The result's scans oldest first (FedEx lists them newest first, and pushes may come
    out of order: the time decides); an unmapped code is ``in_transit`` once it moved."""
    raw = []
    for scan in reversed(_scans(result)):
        at = parse_time(scan.get("date"))
        if at is None:
            continue  # a scan without a readable time cannot be placed on the timeline
        event_type = scalar_text(scan.get("eventType"))
        exception = scalar_text(scan.get("exceptionCode"))
        code = f"{event_type}/{exception}" if event_type and exception else event_type
        description = scalar_text(scan.get("eventDescription"))
        detail = scalar_text(scan.get("exceptionDescription"))
        text = f"{description}: {detail}" if description and detail else description or detail
        status = event_status(code, event_type, scalar_text(scan.get("derivedStatusCode")))
        raw.append((at, status, code, text, _location(scan.get("scanLocation"))))
    events: list[TrackingEvent] = []
    moving = False
    for at, status, code, text, location in sorted(raw, key=lambda r: r[0]):
        status = status or ("in_transit" if moving else "unknown")
        moving = moving or status in _MOVING
        events.append(TrackingEvent(at=at, status=status, code=code, text=text, location=location))
    return events


def _estimate(result: Mapping[str, Any]) -> datetime | None:
    """FedEx's live estimate (the end of its window, else its start), else a dated
    ``ESTIMATED_DELIVERY``, else the end of the service's standard transit window."""
    candidates = [
        nested(result, "estimatedDeliveryTimeWindow", "window", "ends"),
        nested(result, "estimatedDeliveryTimeWindow", "window", "begins"),
        *(
            d.get("dateTime")
            for d in array_or_empty(result.get("dateAndTimes"))
            if isinstance(d, Mapping) and d.get("type") == "ESTIMATED_DELIVERY"
        ),
        nested(result, "standardTransitTimeWindow", "window", "ends"),
    ]
    return next((t for c in candidates if (t := parse_time(c)) is not None), None)


def _newest_scan(result: Mapping[str, Any]) -> datetime:
    times = [t for s in _scans(result) if (t := parse_time(s.get("date"))) is not None]
    return max(times, default=_EARLIEST)


def _location(address: Any) -> str | None:
    if not isinstance(address, Mapping):
        return None
    parts = [address.get(k) for k in ("city", "stateOrProvinceCode", "countryCode")]
    return ", ".join(p for p in map(scalar_text, parts) if p) or None


def _track_results(complete: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [r for r in array_or_empty(complete.get("trackResults")) if isinstance(r, Mapping)]


def _scans(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in array_or_empty(result.get("scanEvents")) if isinstance(s, Mapping)]


def _describe(errors: Iterable[Mapping[str, str]]) -> str:
    return (
        "; ".join(f"{e['code']}: {e['message']}" if e["code"] else e["message"] for e in errors)
        or "no message"
    )
