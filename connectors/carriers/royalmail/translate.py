"""Royal Mail tracking answers to canonical tracking. Pure: no I/O.

Three shapes of answer are read, told apart by the body itself:

* Tracking API v2 ``GET /mailpieces/v2/summary?mailPieceId=a,b,...`` (up to 30 numbers):
  ``{"mailPieces": [...]}``, one item per number asked, each with a ``summary`` (the latest
  event only) or an ``error`` (``E1142`` "isn't recognised" comes inside an HTTP 200).
* Tracking API v2 ``GET /mailpieces/v2/{id}/events`` (one number, full history):
  ``{"mailPieces": {...}}`` with ``events``, ``estimatedDelivery`` and ``signature``.
* The same ``events`` shape as the Royal Mail consumer app's API ``mailpieces/v3.1`` gives it
  (links under ``/mailpieces/v3``, plus ``proofOfDeliveryData``, ``position``,
  ``greenCredentials``, alpha-2 country codes and ``statusCategory`` in title case). The hub
  does not call that API (it needs a Royal Mail app user's login), but its answers reach us as
  recorded payloads and it shows the v3 shape, so a second reader takes it.

Error bodies (``{"httpCode", "httpMessage", "moreInformation", "errors": [...]}``) raise
``AuthError``/``RetryableError``/``PermanentError`` by :data:`CALL_ERRORS`, except the
per-item codes in :data:`ITEM_ERRORS`, which make ``found=False`` results.

Statuses: every event code maps through :data:`EVENT_STATUSES`. A code not in the table is
``in_transit`` when the parcel's last known state is a moving one, else ``unknown``. The parcel's
status is its latest event's when that code is in the table; else Royal Mail's own
``statusCategory`` through :data:`CATEGORY_STATUSES`; else the latest event's fallback.

Times come with offsets (``2016-10-20T10:04:00+01:00``); one without an offset is read as
Royal Mail's home time, Europe/London.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from hub import values
from hub.connectors import TRACKING_STATUSES, ParcelTracking, TrackingEvent
from hub.errors import (
    AuthError,
    ConnectorError,
    PermanentError,
    RetryableError,
    TranslationError,
)
from hub.values import loads, text

#: Royal Mail's home time zone: a time without an offset is local time here.
HOME_ZONE = ZoneInfo("Europe/London")

#: Royal Mail event codes -> canonical status. Codes and their names are those in the shared
#: samples, in Royal Mail's Tracking API v2 description (EVNMI) and in the public lists kept
#: by jampez77/RoyalMail (api.md) and DigitalGenius's Royal Mail page. The rest come from
#: Royal Mail's own event-code table (code, where scanned, event name, Royal Mail's status
#: group, customer text) as a public PHP Royal Mail integration on GitHub carries it (its
#: ``$StatusCodes`` array); the comment is Royal Mail's event name and the status follows
#: Royal Mail's group: "We're expecting it" label_created; "We've got it", "In Transit",
#: "In Customs" and "Released from Customs" in_transit; "Ready for Delivery"
#: out_for_delivery; "Delivery Attempted"; "Delivered" and "Collected" delivered (a Local
#: Collect arrival, still to collect, ready_for_pickup); "Returned to Sender"; customs holds,
#: export cancellations and "Restricted or Prohibited Contents" exception. Its notification
#: and system codes (EVZ..., N....), group "Not Applicable", are no scans and are left out.
#: Royal Mail's customer texts for many of them, and a few more codes (EVNAR, EVRTS, the
#: redelivery requests ASRXS/RFRXS/RNRXS/RPRXS), are in elliotjreed/royal-mail-tracking's
#: README ("Event codes", @7739245e).
EVENT_STATUSES: dict[str, str] = {
    # the sender has told Royal Mail about the item
    "EVAIE": "label_created",  # Sender despatching item / Sender preparing item
    "EVAIP": "label_created",  # Sender preparing item
    # handed in
    "EVPPA": "picked_up",  # Accepted at Post Office / Parcelshop
    # moving through the network
    "EVDAV": "in_transit",  # Item Received (at a hub or mail centre)
    "EVDAC": "in_transit",  # Item Received
    "EVIMC": "in_transit",  # Item Received (mail centre)
    "EVBAV": "in_transit",  # Item Received
    "EVIAV": "in_transit",  # Item Received
    "EVOCO": "in_transit",  # We've received your item and it's now being processed for delivery
    "EVOAC": "in_transit",  # Item received at
    "EVORI": "in_transit",  # Arrived at
    "EVODO": "in_transit",  # Item despatched to the delivery office / mail centre
    "EVNMI": "in_transit",  # Forwarded - Mis-sort (sent on to the right delivery office)
    "EVNRT": "in_transit",  # Item Retention (held, to be delivered the next working day)
    "EVNSR": "in_transit",  # Item Prepared for Redelivery
    "RSRXS": "in_transit",  # Delivery request received
    "RORXS": "in_transit",  # Delivery request received
    "ASRXS": "in_transit",  # Redelivery arranged, else to the chosen Safeplace
    "RFRXS": "in_transit",  # Redelivery arranged, else to the chosen neighbour
    "RNRXS": "in_transit",  # Redelivery arranged to the chosen address
    "RPRXS": "in_transit",  # Redelivery arranged to the chosen Post Office
    "EVNAR": "in_transit",  # Due for Redelivery the Next Working Day
    # last mile
    "EVGPD": "out_for_delivery",  # Due to be delivered today
    "EVKNA": "delivery_attempted",  # Delivery Attempted - No Answer
    "EVKNR": "delivery_attempted",  # Delivery Attempted
    "EVNDA": "ready_for_pickup",  # Available for Redelivery or Collection
    "EVKLS": "ready_for_pickup",  # Delivered to your collection point (to be collected)
    "EVPLA": "ready_for_pickup",  # Available for collection
    "EVKOP": "delivered",  # Delivered by
    "EVKSP": "delivered",  # Delivered and Signed
    "EVKSF": "delivered",  # Delivered to Safeplace by
    "EVPLC": "delivered",  # Collected
    # -- from Royal Mail's event-code table --
    "EVAPA": "label_created",  # Pre-advice
    "EVPPB": "label_created",  # Parcel Received at POL (inferred)
    "EVNPB": "picked_up",  # Accepted by Royal Mail at Customer Service Point
    "EVBAH": "in_transit",  # Outward RDC - Handheld Acceptance
    "EVBAW": "in_transit",  # Rejected from machine overweight for machine
    "EVBDM": "in_transit",  # Outward RDC - Damaged Scan
    "EVBMI": "in_transit",  # Outward RDC Mis-sort Scan
    "EVBOF": "in_transit",  # Rejected From machine
    "EVBPM": "in_transit",  # Outward RDC Primary Mixed - Handheld Acceptance
    "EVBPR": "in_transit",  # Outward RDC Primary Regular - Handheld Acceptance
    "EVBRS": "in_transit",  # Outward RDC - Rejected Oversize
    "EVBSD": "in_transit",  # Outward RDC - Damaged Handheld
    "EVBSM": "in_transit",  # Outward RDC Secondary Mixed - Handheld Acceptance
    "EVBSR": "in_transit",  # Outward RDC Secondary Regular - Handheld Acceptance
    "EVBSS": "in_transit",  # Outward RDC - Rejected Oversize
    "EVBSW": "in_transit",  # Outward RDC - Rejected Overweight
    "EVCAH": "in_transit",  # Inward RDC - Handheld Acceptance
    "EVCAV": "in_transit",  # Inward RDC - Volumetric Acceptance
    "EVCDM": "in_transit",  # Inward RDC - Damaged Scan
    "EVCMI": "in_transit",  # Mis-sort Scan: Inward RDC Handheld
    "EVCOF": "in_transit",  # Rejected From machine
    "EVCPD": "in_transit",  # Inward RDC - Damaged Scan
    "EVCPI": "in_transit",  # Mis-sort Scan: Inward RDC Handheld
    "EVCPS": "in_transit",  # Inward RDC - Rejected Oversize
    "EVCPW": "in_transit",  # Inward RDC - Rejected Overweight
    "EVCRS": "in_transit",  # Inward RDC - Rejected Oversize
    "EVCRW": "in_transit",  # Inward RDC - Rejected Overweight
    "EVDAA": "in_transit",  # Rejected from machine not in sort plan
    "EVDAW": "in_transit",  # Rejected from machine overweight for machine
    "EVDDM": "in_transit",  # Outward MC - Damaged Handheld
    "EVDMI": "in_transit",  # Outward MC Mis-sort Scan
    "EVDOF": "in_transit",  # Rejected From machine
    "EVDPL": "in_transit",  # Outward MC Primary Large - Handheld Acceptance
    "EVDPM": "in_transit",  # Outward MC Primary Mixed - Handheld Acceptance
    "EVDPR": "in_transit",  # Outward MC Primary Regular - Handheld Acceptance
    "EVDRO": "in_transit",  # Rejected from machine oversize for machine
    "EVDRS": "in_transit",  # Outward MC - Oversize Handheld
    "EVDSD": "in_transit",  # Outward MC - Damaged Handheld
    "EVDSL": "in_transit",  # Outward MC Secondary Large - Handheld Acceptance
    "EVDSM": "in_transit",  # Outward MC Secondary Mixed - Handheld Acceptance
    "EVDSR": "in_transit",  # Outward MC Secondary Regular - Handheld Acceptance
    "EVDSS": "in_transit",  # Outward MC - Oversize Handheld
    "EVGDM": "in_transit",  # Indoor Sorting - Damaged
    "EVGDO": "in_transit",  # Delivery Office - Item received in a bag from another DO
    "EVGMI": "in_transit",  # Indoor Sorting - Mis-sort - Redirected
    "EVHAC": "in_transit",  # Outward Collection
    "EVHOE": "in_transit",  # Departure from Outward Office of Exchange (leaving the UK)
    "EVIDM": "in_transit",  # Inward MC - Damaged Handheld
    "EVILC": "in_transit",  # Item despatched from Heathrow ILC to RMG Location
    "EVIMI": "in_transit",  # Mis-sort: Inward MC - Handheld
    "EVIMS": "in_transit",  # Rejected from machine not in sort plan
    "EVIOF": "in_transit",  # Rejected from machine
    "EVIPD": "in_transit",  # Inward MC - Damaged Handheld
    "EVIPI": "in_transit",  # Mis-sort: Inward MC - Handheld
    "EVIPR": "in_transit",  # Inward MC Primary Regular - Handheld Acceptance
    "EVIPS": "in_transit",  # Inward MC - Oversize Handheld
    "EVIPW": "in_transit",  # Inward MC - Overweight Handheld
    "EVIRM": "in_transit",  # Rejected from machine overweight for machine
    "EVIRO": "in_transit",  # Rejected from machine oversize for machine
    "EVJOE": "in_transit",  # Arrival at Inward Office of Exchange
    "EVJIC": "in_transit",  # Presented to Import Customs
    "EVJDP": "in_transit",  # Returned from Import Customs: Import Authorised; Taxes to be Paid
    "EVJEA": "in_transit",  # Returned from Import Customs due to Export Authorised
    "EVJFC": "in_transit",  # Returned from Import Customs: Authorised for Forwarding
    "EVJIA": "in_transit",  # Returned from Import Customs due to Import Authorised
    "EVJNT": "in_transit",  # Returned from Import Customs: Import Authorised; No Taxes
    "EVJDU": "in_transit",  # Departure from Inward Office of Exchange
    "EVJJV": "in_transit",  # Departure from Inward Office of Exchange - High Value Item
    "EVJMV": "in_transit",  # Departure from Inward Office of Exchange - Medium Value Item
    "EVJLV": "in_transit",  # Departure from Inward Office of Exchange - Low Value Item
    "EVNDO": "in_transit",  # Forwarded to Delivery Office
    "EVNMC": "in_transit",  # Forwarded to Mail Centre
    "EVNWA": "in_transit",  # Forwarded - Wrong Address (corrected and sent on)
    "EVNRD": "in_transit",  # Item redirected
    "EVNDN": "in_transit",  # Delivery Not Attempted (to be tried the next working day)
    "EVNKS": "in_transit",  # Available For Collection - Keepsafe (held at the recipient's wish)
    "EVNRC": "in_transit",  # Selected for redelivery to Local Collect
    "EVOBC": "in_transit",  # Acceptance from bulk receipt
    "EVOLB": "in_transit",  # Mail Centre - Item received in wrongly labelled bag
    "EVOMI": "in_transit",  # Item mis-sorted
    "EVOOC": "in_transit",  # Mail Centre - Item out of Course
    "EVORC": "in_transit",  # Item received in container
    "EVORW": "in_transit",  # Mail Centre - Bag received without DUN
    "EVOUF": "in_transit",  # Item refused by CAA
    "EVOVB": "in_transit",  # Mail Centre - Tampered/Violated Bag
    "EVKAA": "delivery_attempted",  # Address Inaccessible
    "EVKSU": "delivery_attempted",  # Unable to deliver to Safeplace
    "EVNBA": "delivery_attempted",  # Delivery attempted late - no answer
    "EVNIL": "delivery_attempted",  # Delivery attempted late - address inaccessible
    "EVNIO": "delivery_attempted",  # Delivery attempted on time - address inaccessible
    "EVNSA": "delivery_attempted",  # Delivery attempted on time - no answer
    "EVNUL": "delivery_attempted",  # Delivery attempted late - unknown addressee
    "EVNUO": "delivery_attempted",  # Delivery attempted on time - unknown addressee
    "EVPOA": "delivery_attempted",  # Undelivered - Attempted on time - Address Inaccessible
    "EVPON": "delivery_attempted",  # Undelivered - Attempted on time - No Answer
    "EVPOU": "delivery_attempted",  # Undelivered - Attempted on time - Address Unknown
    "EVPXA": "delivery_attempted",  # Undelivered - Attempted Late - Address Inaccessible
    "EVPXN": "delivery_attempted",  # Undelivered - Attempted Late - No Answer
    "EVPXU": "delivery_attempted",  # Undelivered - Attempted Late - Address Unknown
    # Available For Collection - Address Inaccessible: "We will attempt to deliver your item
    # again on the next working day"
    "EVNAA": "delivery_attempted",
    "EVNAE": "ready_for_pickup",  # Allocated to Customer Service Point
    "EVKLC": "ready_for_pickup",  # Local Collect - No Signature (Delivered to POL)
    "EVNLC": "ready_for_pickup",  # Available For Collection - Local Collect
    "EVKDN": "delivered",  # Delivered to Neighbour - No Signature
    "EVKNS": "delivered",  # Delivered to Neighbour - Signature
    "EVNFS": "delivered",  # Delivery Recorded at the Delivery Office
    "EVNLP": "delivered",  # Item Delivered - Recorded Late at Delivery Office
    "EVNPO": "delivered",  # Delivered to PO Box
    "EVNCE": "delivered",  # Item Collected - from SPS site using E739
    "EVNCO": "delivered",  # Item Collected - from SPS site
    "EVNOC": "delivered",  # Item Collected
    "EVNSC": "delivered",  # Item Collected - Signature
    "EVPLF": "delivered",  # Local Collect collected from Post Office - Fee Paid
    "EVRTS": "returned_to_sender",  # Your item was delivered back to the sender
    "EVBRA": "returned_to_sender",  # Outward RDC - Rejected RTS - Address Incomplete
    "EVBRB": "returned_to_sender",  # Outward RDC - Rejected Barcode
    "EVBRT": "returned_to_sender",  # Outward RDC - Returned to Sender
    "EVBRW": "returned_to_sender",  # Outward RDC - Rejected Overweight
    "EVBSA": "returned_to_sender",  # Outward RDC - RTS Address Incomplete Handheld
    "EVCPA": "returned_to_sender",  # Inward RDC - Rejected RTS Address Incomplete
    "EVCRA": "returned_to_sender",  # Inward RDC - Rejected RTS Address Incomplete
    "EVCRB": "returned_to_sender",  # Inward RDC - Rejected Barcode
    "EVDRA": "returned_to_sender",  # Outward MC - RTS Address Incomplete Handheld
    "EVDRB": "returned_to_sender",  # Outward MC - Rejected Barcode
    "EVDRW": "returned_to_sender",  # Outward MC - Overweight Handheld
    "EVDSA": "returned_to_sender",  # Outward MC - RTS Address Incomplete Handheld
    "EVDSW": "returned_to_sender",  # Outward MC - Overweight Handheld
    "EVHCA": "returned_to_sender",  # Export Cancellation: Incorrect / Incomplete Address
    "EVHCR": "returned_to_sender",  # Export Cancellation: Does Not Meet Customs Requirements
    "EVHDI": "returned_to_sender",  # Export Cancellation: Item Damaged / Missing Contents
    "EVHID": "returned_to_sender",  # Export Cancellation: Insufficient Documentation
    "EVIPA": "returned_to_sender",  # Rejected Address Incomplete at Inward Mail Centre
    "EVKAI": "returned_to_sender",  # Address Incomplete/Incorrect
    "EVKGA": "returned_to_sender",  # Gone Away
    "EVKRF": "returned_to_sender",  # Refused
    "EVNAB": "returned_to_sender",  # Marked for return - refused
    "EVNAC": "returned_to_sender",  # Marked for return - gone away
    "EVNAD": "returned_to_sender",  # Marked for return - retention exceeded
    "EVNAI": "returned_to_sender",  # Return To Sender - Address Incomplete
    "EVNGA": "returned_to_sender",  # Return To Sender - Gone Away
    "EVNGL": "returned_to_sender",  # Delivery attempted late - gone away
    "EVNHE": "returned_to_sender",  # Returned to HWDC - retention exceeded
    "EVNHR": "returned_to_sender",  # Returned to HWDC - refused
    "EVNLA": "returned_to_sender",  # Return to NRC - Address Incomplete
    "EVNLG": "returned_to_sender",  # Return to NRC - Gone Away
    "EVNLI": "returned_to_sender",  # Delivery attempted late - incomplete address
    "EVNLR": "returned_to_sender",  # Return to NRC - Refused
    "EVNRE": "returned_to_sender",  # Return To Sender - Retention Exceeded
    "EVNRF": "returned_to_sender",  # Return To Sender - Refused
    "EVNRL": "returned_to_sender",  # Return to NRC - Retention Exceeded
    "EVNRN": "returned_to_sender",  # Returned to NRC (the National Returns Centre)
    "EVNRO": "returned_to_sender",  # Delivery attempted on time - refused
    "EVNRR": "returned_to_sender",  # Delivery attempted late - refused
    "EVNRS": "returned_to_sender",  # Returned to Sender
    "EVNSI": "returned_to_sender",  # Delivery attempted on time - incomplete address
    "EVNUK": "returned_to_sender",  # Marked for return - addressee unknown
    "EVORR": "returned_to_sender",  # Item received and identified as a return to sender item
    "EVORT": "returned_to_sender",  # Item received for RTS from the DO at the MC
    "EVPLI": "returned_to_sender",  # Local Collect request to return to sender
    "EVPLN": "returned_to_sender",  # Local Collect not collected return to sender
    "EVPLR": "returned_to_sender",  # Local Collect refused return to sender
    "EVPLU": "returned_to_sender",  # Local Collect addressee unknown return to sender
    "EVPLX": "returned_to_sender",  # Local Collect waiting at Post Office for return to sender
    "EVPOG": "returned_to_sender",  # Undelivered - Attempted on time - Addressee Gone Away
    "EVPOI": "returned_to_sender",  # Undelivered - Attempted on time - Address Incomplete
    "EVPOR": "returned_to_sender",  # Undelivered - Attempted on time - Refused
    "EVPUX": "returned_to_sender",  # Undelivered item - Accepted for return by POL
    "EVPXG": "returned_to_sender",  # Undelivered - Attempted Late - Addressee Gone Away
    "EVPXI": "returned_to_sender",  # Undelivered - Attempted Late - Address Incomplete
    "EVPXR": "returned_to_sender",  # Undelivered - Attempted Late - Refused
    "EVHAP": "exception",  # Export Cancellation: Awaiting Payment of Charges
    "EVHAR": "exception",  # Export Cancellation At Addressee's Request
    "EVHFM": "exception",  # Export Cancellation: Force Majeure / Exceptional Event
    "EVHNC": "exception",  # Export Cancellation: Impossible to Contact Customer
    "EVHSR": "exception",  # Export Cancellation At Sender's Request
    "EVJAP": "exception",  # Held by Import Customs: Awaiting Presentation to Border Agency
    "EVJBA": "exception",  # Held by Import Customs: Retained by Border Agency / Security
    "EVJCA": "exception",  # Held by Import Customs: Handed Over to Customs Authority
    "EVJCC": "exception",  # Held by Import Customs: Impossible to Contact Customer
    "EVJCD": "exception",  # Held by Import Customs: Customs Declaration Missing
    "EVJCO": "exception",  # Held by Import Customs: Certificate of Origin Missing
    "EVJEM": "exception",  # Held by Import Customs: Invoice Missing / Inappropriate
    "EVJES": "exception",  # Held by Import Customs: Incomplete Shipment
    "EVJIN": "exception",  # Held by Import Customs: Awaiting Additional Documentation
    "EVJML": "exception",  # Held by Import Customs: Import Licence Missing
    "EVJPA": "exception",  # Held by Import Customs: Prohibited Articles
    "EVJSR": "exception",  # Held by Import Customs: Export Licence Missing
    "EVNCF": "exception",  # Hold with fee to pay
    "EVSGD": "exception",  # Confirmed dangerous goods and disposed of
    "EVSGS": "exception",  # Confirmed mixed goods - dangerous goods disposed of
    "EVSUS": "exception",  # Suspected prohibited goods
}

#: Royal Mail's ``statusCategory`` (upper-cased) -> canonical status, used when the latest
#: event's code is not in :data:`EVENT_STATUSES`. Only the categories seen in Royal Mail's
#: own examples are listed ("IN TRANSIT" in the v2 description, "Delivered" in v3.1).
CATEGORY_STATUSES: dict[str, str] = {
    "IN TRANSIT": "in_transit",
    "DELIVERED": "delivered",
}

#: Per-item error codes: the number is unknown to Royal Mail or has no tracking to give. They
#: come inside a 200 summary, or as the whole answer of ``events`` for that one number.
ITEM_ERRORS: frozenset[str] = frozenset(
    {
        "E1142",  # Barcode reference ... isn't recognised
        "E1283",  # tracking is not supported for this item
        "E1284",  # delivery update not available
        "E1307",  # tracking unavailable
        "E1308",  # update not available
    }
)

#: Error codes that fail the whole call -> the hub error to raise (what the caller should do).
CALL_ERRORS: dict[str, type[ConnectorError]] = {
    "E0001": RetryableError,  # service unavailable
    "E0004": PermanentError,  # failed header validation (e.g. X-Accept-RMG-Terms)
    "E0009": RetryableError,  # internal server error
    "E0010": RetryableError,  # too many requests
    "E0013": PermanentError,  # more mail piece ids than the operation allows
    "E0016": AuthError,  # access denied: no permission to retrieve details
}

_MOVING = frozenset(
    {"picked_up", "in_transit", "out_for_delivery", "delivery_attempted", "ready_for_pickup"}
)
_V3_KEYS = ("proofOfDeliveryData", "position", "greenCredentials")
_SPACES = re.compile(r"\s+")

assert set(EVENT_STATUSES.values()) <= set(TRACKING_STATUSES)
assert set(CATEGORY_STATUSES.values()) <= set(TRACKING_STATUSES)


def read_tracking(body: bytes, numbers: list[str]) -> list[ParcelTracking]:
    """One raw Royal Mail answer -> one result per number asked, in the order asked."""
    try:
        data = loads(body)
    except (ValueError, UnicodeDecodeError):
        raise TranslationError("Royal Mail's answer is not JSON") from None
    if not isinstance(data, dict):
        raise TranslationError("Royal Mail's answer is not a JSON object")
    pieces = data.get("mailPieces")
    if isinstance(pieces, list):
        return _read_summary(data, pieces, numbers)
    if isinstance(pieces, dict):
        reader = read_events_v3 if is_v3(pieces) else read_events_v2
        return _assign(numbers, [(_ids(pieces), reader(pieces))])
    return _read_error_body(data, numbers)


def normalise(number: str) -> str:
    """A tracking number as Royal Mail compares it: no spaces, upper case."""
    return _SPACES.sub("", str(number)).upper()


def is_v3(piece: Mapping[str, Any]) -> bool:
    """True for the consumer app's v3.x ``events`` shape (see the module docstring)."""
    if any(key in piece for key in _V3_KEYS):
        return True
    links = piece.get("links")
    hrefs = (
        str(link.get("href", ""))
        for link in (links.values() if isinstance(links, dict) else ())
        if isinstance(link, dict)
    )
    return any(href.startswith("/mailpieces/v3") for href in hrefs)


def local_time(value: Any, *, path: str) -> datetime | None:
    """A Royal Mail time in UTC; one without an offset is Europe/London time."""
    if value in (None, ""):
        return None
    return values.local_time(str(value), HOME_ZONE, path=path)


# -- readers -------------------------------------------------------------------------------

Reader = Callable[[str], ParcelTracking]


def read_events_v2(piece: Mapping[str, Any]) -> Reader:
    """Tracking API v2 ``events``: full history, estimated delivery window."""
    summary = _mapping(piece.get("summary"))
    events = _events(piece, summary, "mailPieces")
    estimated = _estimated_delivery(_mapping(piece.get("estimatedDelivery")))
    return _parcel(events, summary, estimated=estimated)


def read_events_v3(piece: Mapping[str, Any]) -> Reader:
    """The consumer app's v3.x ``events``: the same events, no estimated delivery window in
    the samples (read when present), and ``proofOfDeliveryData``: a proof of delivery means
    delivered even when the latest event's code is one the table does not know."""
    summary = _mapping(piece.get("summary"))
    events = _events(piece, summary, "mailPieces")
    estimated = _estimated_delivery(_mapping(piece.get("estimatedDelivery")))
    proof = _mapping(piece.get("proofOfDeliveryData"))
    delivered = bool(proof.get("deliveryDateTime"))
    return _parcel(events, summary, estimated=estimated, proof_of_delivery=delivered)


def _read_summary(
    data: Mapping[str, Any], pieces: list[Any], numbers: list[str]
) -> list[ParcelTracking]:
    """``summary``: one item per number, each the latest event or a per-item error."""
    fallback_error = _error_text(_errors(data)) or text(data.get("httpMessage"))
    found: list[tuple[set[str], Reader]] = []
    for index, item in enumerate(pieces):
        if not isinstance(item, dict):
            raise TranslationError("not an object", path=f"mailPieces[{index}]")
        summary = item.get("summary")
        if isinstance(summary, dict) and not item.get("error"):
            events = _events({}, summary, f"mailPieces[{index}]")
            found.append((_ids(item), _parcel(events, summary)))
            continue
        error = item.get("error")
        message = _error_text([error] if isinstance(error, dict) else []) or fallback_error
        message = message or f"Royal Mail status {item.get('status') or 'unknown'}"
        found.append((_ids(item), _not_found(message)))
    return _assign(numbers, found)


def _read_error_body(data: Mapping[str, Any], numbers: list[str]) -> list[ParcelTracking]:
    """An answer without ``mailPieces``: an error for the whole call, or a per-item one."""
    errors = _errors(data)
    codes = [str(e.get("errorCode") or "") for e in errors]
    message = (
        _error_text(errors)
        or text(data.get("moreInformation"))
        or text(data.get("httpMessage"))
        or "Royal Mail's answer has no mailPieces"
    )
    status = _http_code(data.get("httpCode"))
    details = {"status": status, "errors": errors}
    # an embedded 5xx/429 (E1307 "tracking unavailable" with httpCode 503, even inside an
    # HTTP 200) is Royal Mail failing for now, not an answer about the number
    if status is not None and (status == 429 or status >= 500):
        raise RetryableError(f"Royal Mail: {message}", details=details)
    if codes and all(code in ITEM_ERRORS for code in codes):
        return [_not_found(message)(number) for number in numbers]
    for code in codes:
        if code in CALL_ERRORS:
            raise CALL_ERRORS[code](f"Royal Mail: {message}", details={"errors": errors})
    if status in (401, 403):
        raise AuthError(f"Royal Mail refused the credentials: {message}", details=details)
    if status is not None and (status == 429 or status >= 500):
        raise RetryableError(f"Royal Mail: {message}", details=details)
    raise PermanentError(f"Royal Mail: {message}", details=details)


# -- parts ---------------------------------------------------------------------------------

_Raw = tuple[datetime, str | None, str | None, str | None]  # at, code, text, location


def _events(piece: Mapping[str, Any], summary: Mapping[str, Any], path: str) -> list[_Raw]:
    """The piece's events oldest first; a piece without events gets its summary's last one."""
    raw: list[_Raw] = []
    listed = piece.get("events")
    if isinstance(listed, list) and listed:
        # Royal Mail lists events newest first, and events often share one time (the
        # anonymised v3.1 sample: all five): reversing before a stable sort keeps their order.
        for index in reversed(range(len(listed))):
            event = _mapping(listed[index])
            try:
                at = local_time(event.get("eventDateTime"), path=f"{path}.events[{index}]")
            except TranslationError as exc:
                # one event with a time that is no time is dropped, not the whole answer
                logging.getLogger(__name__).warning("Royal Mail event dropped: %s", exc)
                continue
            if at is None:
                continue  # an event with no time cannot be placed on the timeline
            raw.append(
                (
                    at,
                    text(event.get("eventCode")),
                    text(event.get("eventName")),
                    text(event.get("locationName")),
                )
            )
    else:
        at = local_time(summary.get("lastEventDateTime"), path=f"{path}.summary")
        if at is not None:
            raw.append(
                (
                    at,
                    text(summary.get("lastEventCode")),
                    text(summary.get("lastEventName")),
                    text(summary.get("lastEventLocationName")),
                )
            )
    raw.sort(key=lambda event: event[0])
    return raw


def _parcel(
    raw: list[_Raw],
    summary: Mapping[str, Any],
    *,
    estimated: datetime | None = None,
    proof_of_delivery: bool = False,
) -> Reader:
    events = tuple(_canonical_events(raw))
    category = text(summary.get("statusCategory"))
    carrier_status = category or text(summary.get("lastEventCode"))
    status = _parcel_status(events, category, proof_of_delivery)

    def make(number: str) -> ParcelTracking:
        return ParcelTracking(
            tracking_number=number,
            found=True,
            status=status,
            events=events,
            estimated_delivery=estimated,
            carrier_status=carrier_status,
        )

    return make


def _canonical_events(raw: Iterable[_Raw]) -> Iterable[TrackingEvent]:
    seen: list[str] = []
    for at, code, name, location in raw:
        status = EVENT_STATUSES.get((code or "").upper()) or fallback_status(seen)
        seen.append(status)
        yield TrackingEvent(at=at, status=status, code=code, text=name, location=location)


def fallback_status(earlier: Iterable[str]) -> str:
    """For a code the table does not know: ``in_transit`` when the parcel's last known state
    is a moving one (picked up, in transit, at the last mile), else ``unknown`` (nothing
    known yet, only a label, or already delivered, returned or stopped)."""
    known = [status for status in earlier if status != "unknown"]
    return "in_transit" if known and known[-1] in _MOVING else "unknown"


def _parcel_status(
    events: tuple[TrackingEvent, ...], category: str | None, proof_of_delivery: bool
) -> str:
    latest = events[-1] if events else None
    if latest is not None and (latest.code or "").upper() in EVENT_STATUSES:
        return latest.status
    if proof_of_delivery:
        return "delivered"
    by_category = CATEGORY_STATUSES.get(_SPACES.sub(" ", (category or "").strip().upper()))
    if by_category:
        return by_category
    return latest.status if latest is not None else "unknown"


def _estimated_delivery(window: Mapping[str, Any]) -> datetime | None:
    """The end of the estimated window (``date`` + ``endOfEstimatedWindow``, the time it is
    due by), else its start, else the date alone (midnight UTC, so the date stays the date)."""
    day = text(window.get("date"))
    if day is None:
        return None
    for key in ("endOfEstimatedWindow", "startOfEstimatedWindow"):
        clock = text(window.get(key))
        if clock:
            return local_time(f"{day}T{clock}", path=f"estimatedDelivery.{key}")
    try:
        return datetime.combine(datetime.fromisoformat(day).date(), time(), tzinfo=UTC)
    except ValueError:
        raise TranslationError(f"not a date: {day!r}", path="estimatedDelivery.date") from None


def _not_found(message: str) -> Reader:
    def make(number: str) -> ParcelTracking:
        return ParcelTracking(tracking_number=number, found=False, status="unknown", error=message)

    return make


def _ids(item: Mapping[str, Any]) -> set[str]:
    """Every id Royal Mail gives for a piece: the id asked, the 1D and the 2D barcode."""
    summary = _mapping(item.get("summary"))
    values = (item.get("mailPieceId"), summary.get("oneDBarcode"), summary.get("uniqueItemId"))
    return {normalise(v) for v in values if v not in (None, "")}


def _assign(numbers: list[str], pieces: list[tuple[set[str], Reader]]) -> list[ParcelTracking]:
    """One result per number asked, matched on any of the piece's ids; a lone piece answers a
    lone number whatever id Royal Mail echoes."""
    results = []
    for number in numbers:
        key = normalise(number)
        reader = next((make for ids, make in pieces if key in ids), None)
        if reader is None and len(numbers) == 1 and len(pieces) == 1:
            reader = pieces[0][1]
        if reader is None:
            reader = _not_found("Royal Mail's answer does not mention this number")
        results.append(reader(number))
    return results


def _errors(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    errors = data.get("errors")
    if errors is None:
        footer = _mapping(data.get("integrationFooter"))
        errors = footer.get("errors")
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _error_text(errors: list[dict[str, Any]]) -> str | None:
    """``E1142: Barcode reference ... isn't recognised`` (code and description, as sent)."""
    parts = []
    for error in errors:
        code = text(error.get("errorCode"))
        description = text(error.get("errorDescription")) or text(error.get("errorCause"))
        parts.append(": ".join(p for p in (code, description) if p))
    joined = "; ".join(p for p in parts if p)
    return joined or None


def _http_code(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
