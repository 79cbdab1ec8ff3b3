"""DPD UK tracking XML <-> canonical tracking. Pure: no I/O.

DPD UK's tracking service takes a ``trackingrequest`` (``user``, ``password``,
``trackingnumbers``) and answers a ``trackingresponse``::

    <trackingresponse><trackingdetails>
      <trackingdetail>
        <trackingnumber/> <consignmentnumber/> <parcelnumber/> <parcelcode/>
        <trackingevents><trackingevent>
          <date/> <code/> <type/> <description/> <locality/> <countrycode/>
        </trackingevent>...</trackingevents>
      </trackingdetail>
      <trackingdetail><trackingnumber/><error>why</error></trackingdetail>
    </trackingdetails></trackingresponse>

No recorded answer is public: this shape is read from integrations that use the service
(see ``tests/payloads/SOURCES.md``), and the payloads in ``tests/payloads`` are built from it.
A number DPD does not know has an ``error`` in its ``trackingdetail`` (``found=False`` with
DPD's text); an ``error`` straight under ``trackingresponse`` fails the whole request: an
:class:`AuthError` when it is about the user or password (an assumption: DPD's wording is not
published), else a :class:`PermanentError`.

Event codes are DPD UK's three-digit tracking codes, mapped through :data:`CODE_MAP` (a code
written without its leading zeros is the same code). Dates are local UK times without an
offset (``2024-06-12T14:37:52``): read in :data:`HOME_ZONE`, Europe/London; a time with an
offset or ``Z`` keeps it.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, tzinfo
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from hub.connectors import ParcelTracking, TrackingEvent
from hub.errors import AuthError, PermanentError, TranslationError
from hub.values import local_time, xml_root

log = logging.getLogger(__name__)

#: DPD UK's zone, for local times without an offset
HOME_ZONE = ZoneInfo("Europe/London")

#: DPD UK tracking code -> canonical status. The codes with a name come from DPD UK's own
#: tracking site (apis.track.dpd.co.uk: 000 pre-advice, 001 delivered, 004 at the depot,
#: 009 in transit, 015 out for delivery). The groups come from a published DPD UK
#: integration (Business Central ``PDCCourierDPD``) that sorts DPD's code table into
#: "in transit", "exception" and "delivered"; DPD's own table is not public.
CODE_MAP: dict[str, str] = {
    **dict.fromkeys(
        "006 010 012 013 016 037 039 040 041 042 043 052 055 060 062 070 073 074 075 076 078 "
        "080 082 084 085 087 097 406 416 442 458 459 461 467 471".split(),
        "in_transit",
    ),
    **dict.fromkeys(
        "002 003 008 014 019 020 021 022 023 027 031 032 033 044 045 046 047 048 049 053 057 "
        "058 066 068 071 072 077 079 083 086 088 089 090 091 092 093 095 402 403 404 407 409 "
        "410 411 412 413 414 417 418 449 453 454 455 456 464 465 466 472 473 474".split(),
        "exception",
    ),
    **dict.fromkeys("017 056 065 451 463".split(), "delivered"),
    "000": "label_created",  # pre-advice: DPD has the parcel's details
    "001": "delivered",
    "004": "in_transit",  # at the delivery depot
    "009": "in_transit",
    "015": "out_for_delivery",
}

#: statuses of a parcel in DPD's hands and on its way: an unknown code after one of these is
#: read as ``in_transit``; an unknown code before any is ``unknown``
MOVING = frozenset(
    {"picked_up", "in_transit", "out_for_delivery", "delivery_attempted", "ready_for_pickup"}
)

#: local time formats besides ISO 8601 (tried first): UK day-first
_LOCAL_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d-%m-%Y %H:%M:%S")
#: words of a request-level error that mean the credentials were refused
_AUTH_WORDS = re.compile(r"user|password|auth|login|credential|access denied", re.IGNORECASE)


def tracking_request(username: str, password: str, numbers: list[str]) -> bytes:
    """The ``trackingrequest`` document for some parcel numbers."""
    items = "".join(f"<trackingnumber>{escape(n)}</trackingnumber>" for n in numbers)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><trackingrequest>'
        f"<user>{escape(username)}</user><password>{escape(password)}</password>"
        f"<trackingnumbers>{items}</trackingnumbers></trackingrequest>"
    ).encode()


def parse_xml(body: bytes) -> ET.Element:
    """The document's root with every tag reduced to its local name. A DTD or entity
    declaration is refused unparsed (no entity is ever expanded); not XML is a
    :class:`TranslationError`."""
    root = xml_root(body, sender="DPD UK")
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.rsplit("}", 1)[1]
    return root


def read_tracking(body: bytes, numbers: list[str]) -> list[ParcelTracking]:
    """One ``trackingresponse`` as tracking for the numbers asked, in their order."""
    root = parse_xml(body)
    if root.tag != "trackingresponse":
        raise TranslationError(f"not a DPD UK trackingresponse: <{root.tag}>")
    details = root.findall("trackingdetails/trackingdetail")
    problem = _text(root.findtext("error"))
    if problem and not details:
        if _AUTH_WORDS.search(problem):
            raise AuthError(f"DPD UK refused the credentials: {problem}")
        raise PermanentError(f"DPD UK refused the request: {problem}")
    found: dict[str, ET.Element] = {}
    for detail in details:
        for key in ("trackingnumber", "parcelnumber", "consignmentnumber"):
            value = _text(detail.findtext(key))
            if value:
                found.setdefault(value, detail)
    return [_parcel(number, found.get(number.strip())) for number in numbers]


def _parcel(number: str, detail: ET.Element | None) -> ParcelTracking:
    if detail is None:
        return ParcelTracking(number, found=False, error="not in DPD UK's answer")
    problem = _text(detail.findtext("error"))
    if problem:
        return ParcelTracking(number, found=False, error=problem)
    dated = []
    for event in detail.findall("trackingevents/trackingevent"):
        when = _text(event.findtext("date"))
        if when is None:
            continue
        text = _text(event.findtext("description")) or _text(event.findtext("type"))
        place = ", ".join(
            part
            for part in (_text(event.findtext("locality")), _text(event.findtext("countrycode")))
            if part
        )
        try:
            at = parse_time(when, HOME_ZONE)
        except TranslationError:
            # one unreadable scan time drops that scan, not the parcel's answer
            log.warning("DPD UK %s: dropped an event with an unreadable date %r", number, when)
            continue
        dated.append((at, _text(event.findtext("code")), text, place))
    if not dated:
        return ParcelTracking(number, found=False, error="DPD UK has no tracking events for it")
    dated.sort(key=lambda item: item[0])  # DPD lists newest first; stable for equal times
    events: list[TrackingEvent] = []
    moving = False
    for at, code, text, place in dated:
        status = canonical(code, moving)
        moving = moving or status in MOVING
        events.append(TrackingEvent(at, status, code, text, place or None))
    latest = events[-1]
    return ParcelTracking(
        number,
        found=True,
        status=latest.status,
        events=tuple(events),
        carrier_status=latest.code,
    )


def canonical(code: str | None, moving: bool) -> str:
    """A DPD UK code as a canonical status: through :data:`CODE_MAP` (``1`` is ``001``); a code
    the table does not know is ``in_transit`` for a parcel already moving, else ``unknown``."""
    key = (code or "").strip()
    if key.isdigit():
        key = key.zfill(3)
    if key in CODE_MAP:
        return CODE_MAP[key]
    return "in_transit" if moving else "unknown"


def parse_time(value: str, zone: tzinfo) -> datetime:
    """A DPD UK time in UTC. ISO 8601 keeps its offset (``Z`` too; digits past microseconds
    are dropped); a time without an offset is read in ``zone``."""
    return local_time(value, zone, formats=_LOCAL_FORMATS, source="DPD UK")


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None
