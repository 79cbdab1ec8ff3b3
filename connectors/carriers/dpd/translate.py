"""DPD Web Connect SOAP documents <-> canonical tracking. Pure: no I/O.

``ParcelLifeCycleService`` 2.0 ``getTrackingData`` answers for one parcel label number with a
``trackingresult``: a ``shipmentInfo`` and ``statusInfo`` entries. DPD Germany lists its five
life-cycle steps (``ACCEPTED`` ... ``DELIVERED``) with ``statusHasBeenReached`` and
``isCurrentStatus`` flags, the steps not reached yet without a date; DPD BeNeLux lists every
scan (``BetweenDepots``, ``Courier``, ``ParcelShop``...), each reached and dated. Both become
events: a ``statusInfo`` that has a date and was not marked as not reached. The parcel's status
is its ``isCurrentStatus`` entry's (the latest event's when none is marked).

Dates are local times in the account's ``message_language`` format without an offset
(``8/17/2021 7:11:26 PM`` for en_US, ``17.08.2021 19:11:26`` for de_DE): they are read in
:data:`HOME_ZONE`, the zone of DPD Germany and BeNeLux. ISO 8601 times with an offset or ``Z``
keep it.

Errors are SOAP faults (HTTP 500): an ``authenticationFault`` is an :class:`AuthError`; a
``faults`` element (``faultCode``, ``message``) is about the parcel asked for, so that parcel is
``found=False`` with DPD's message; any other fault is the request's (``soap:Client``:
:class:`PermanentError`) or DPD's (:class:`RetryableError`).

XML is read with the standard library; a document with a DTD or an entity declaration is
refused before parsing, so no entity is ever expanded.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from hub.connectors import ParcelTracking, TrackingEvent
from hub.errors import (
    AuthError,
    ConnectorError,
    PermanentError,
    RetryableError,
    TranslationError,
)
from hub.values import local_time, xml_root

log = logging.getLogger(__name__)

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_AUTH = "http://dpd.com/common/service/types/Authentication/2.0"
NS_PLC = "http://dpd.com/common/service/types/ParcelLifeCycleService/2.0"
#: SOAPAction of ``getTrackingData``
TRACKING_ACTION = f"{NS_PLC}/getTrackingData"

#: DPD Germany's and BeNeLux's zone, for local times without an offset
HOME_ZONE = ZoneInfo("Europe/Berlin")

#: DPD's ``statusInfo`` status -> canonical status. The schema (``ParcelLifecycleServiceV20.xsd``)
#: leaves ``status`` a free string and DPD publishes no list: these are DPD Germany's five
#: life-cycle steps and the BeNeLux scan codes of the recorded answer, with ``Delivered`` from
#: karrioapi/karrio ``modules/connectors/dpd/karrio/providers/dpd/units.py`` (@deea10f8).
STATUS_MAP: dict[str, str] = {
    # DPD Germany: the life-cycle steps of the ParcelLifeCycleService 2.0 schema
    "SHIPMENT": "label_created",  # shipmentInfo: "Shipment information"
    "ACCEPTED": "picked_up",  # "Parcel handed to DPD"
    "AT_SENDING_DEPOT": "in_transit",  # "The parcel is at the parcel dispatch centre."
    "ON_THE_ROAD": "in_transit",  # "Your parcel is on its way to the parcel delivery centre."
    "AT_DELIVERY_DEPOT": "in_transit",  # "At parcel delivery centre."
    "DELIVERED": "delivered",  # "Your parcel has been delivered successfully."
    # DPD BeNeLux: one entry per scan
    "BetweenDepots": "in_transit",  # "The parcel is at the parcel dispatch centre."
    "Depot": "in_transit",  # "At parcel delivery centre."
    "Courier": "out_for_delivery",  # "...left the parcel delivery centre... on its way to..."
    "DeliveryFailure": "delivery_attempted",  # "...we have not been able to deliver your parcel."
    "ParcelShop": "ready_for_pickup",  # "Delivered by driver to Pickup parcelshop"
    "PickedUp": "picked_up",  # "DPD has received your parcel."
    # "After an unsuccessful delivery attempt the parcel is back at the recipient depot."
    "ReturningFromDelivery": "delivery_attempted",
    "Delivered": "delivered",
}

#: statuses of a parcel in DPD's hands and on its way: an unknown status after one of these
#: is read as ``in_transit``; an unknown status before any is ``unknown``
MOVING = frozenset(
    {"picked_up", "in_transit", "out_for_delivery", "delivery_attempted", "ready_for_pickup"}
)

#: local time formats DPD writes, by message language (ISO 8601 is tried first)
_LOCAL_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",  # en_US: 8/17/2021 7:11:26 PM
    "%m/%d/%Y %I:%M %p",
    "%d.%m.%Y %H:%M:%S",  # de_DE: 17.08.2021 19:11:26
    "%d.%m.%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",  # en_GB, nl_BE, fr_BE: 17/08/2021 19:11:26
    "%d/%m/%Y %H:%M",
    "%d-%m-%Y %H:%M:%S",  # nl_NL: 17-08-2021 19:11:26
    "%d-%m-%Y %H:%M",
)
_PLACE = re.compile(r"^(?P<place>.*?)\s*\((?P<country>[A-Z]{2})\)$")
#: DPD's error codes that mean the credentials or the authToken were refused
AUTH_CODES = frozenset(
    {
        "DELICOM_ERR_AUTHENTICATION",
        "ERR_DELICOM_TOKEN_EXPIRED",
        "ERR_DELICOM_TOKEN_INCORRECT",
        "LOGIN_5",  # "The authtoken is invalid"
        "LOGIN_8",  # "The combination of user and password is invalid."
    }
)


# -- requests -----------------------------------------------------------------------------


def login_namespace(version: str) -> str:
    """The ``LoginService`` namespace of a version (``2.0`` or ``2.1``)."""
    return f"http://dpd.com/common/service/types/LoginService/{version}"


def login_request(delis_id: str, password: str, language: str, version: str) -> bytes:
    """The SOAP envelope of ``LoginService.getAuth``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{NS_SOAP}" xmlns:ns="{login_namespace(version)}">'
        "<soapenv:Header/><soapenv:Body><ns:getAuth>"
        f"<delisId>{escape(delis_id)}</delisId>"
        f"<password>{escape(password)}</password>"
        f"<messageLanguage>{escape(language)}</messageLanguage>"
        "</ns:getAuth></soapenv:Body></soapenv:Envelope>"
    ).encode()


def tracking_request(delis_id: str, token: str, language: str, number: str) -> bytes:
    """The SOAP envelope of ``getTrackingData`` for one parcel label number."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{NS_SOAP}" xmlns:ns="{NS_AUTH}" xmlns:ns1="{NS_PLC}">'
        "<soapenv:Header><ns:authentication>"
        f"<delisId>{escape(delis_id)}</delisId>"
        f"<authToken>{escape(token)}</authToken>"
        f"<messageLanguage>{escape(language)}</messageLanguage>"
        "</ns:authentication></soapenv:Header>"
        "<soapenv:Body><ns1:getTrackingData>"
        f"<parcelLabelNumber>{escape(number)}</parcelLabelNumber>"
        "</ns1:getTrackingData></soapenv:Body></soapenv:Envelope>"
    ).encode()


# -- answers ------------------------------------------------------------------------------


def parse_xml(body: bytes) -> ET.Element:
    """The document's root with every tag reduced to its local name.

    A DTD or entity declaration is refused unparsed (entity expansion is how XML bombs work;
    DPD never sends one). Not XML at all is a :class:`TranslationError`.
    """
    root = xml_root(body, sender="DPD")
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.rsplit("}", 1)[1]
    return root


@dataclass(frozen=True)
class Fault:
    """A SOAP fault. ``kind``: ``auth`` (credentials or token refused), ``parcel`` (about the
    parcel asked for), ``client`` (the request is wrong) or ``server`` (DPD's trouble)."""

    kind: str
    faultcode: str | None
    code: str | None
    message: str

    @property
    def text(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


def read_fault(body: bytes) -> Fault | None:
    """The SOAP fault in an answer, or None when the answer is no fault."""
    return _fault(parse_xml(body))


def _fault(root: ET.Element) -> Fault | None:
    fault = root.find("Body/Fault")
    if fault is None:
        return None
    faultcode = _text(fault.findtext("faultcode"))
    faultstring = _text(fault.findtext("faultstring")) or "SOAP fault"
    detail = fault.find("detail")
    auth = detail.find(".//authenticationFault") if detail is not None else None
    if auth is not None:
        code = _text(auth.findtext("errorCode"))
        message = _text(auth.findtext("errorMessage")) or faultstring
        return Fault("auth", faultcode, code, message)
    faults = detail.find(".//faults") if detail is not None else None
    if faults is not None:
        code = _text(faults.findtext("faultCode"))
        message = _text(faults.findtext("message")) or faultstring
        kind = "auth" if code in AUTH_CODES else "parcel"
        return Fault(kind, faultcode, code, message)
    kind = "client" if (faultcode or "").rpartition(":")[2] == "Client" else "server"
    return Fault(kind, faultcode, None, faultstring)


def fault_error(fault: Fault) -> ConnectorError:
    """The hub error a fault means for the whole call."""
    if fault.kind == "auth":
        return AuthError(f"DPD refused the credentials: {fault.text}", details={"code": fault.code})
    if fault.kind == "server":
        return RetryableError(f"DPD answered a server fault: {fault.text}")
    return PermanentError(f"DPD refused the request: {fault.text}", details={"code": fault.code})


def read_login(body: bytes) -> tuple[str, datetime | None]:
    """The ``authToken`` of a ``getAuth`` answer and when it expires (UTC), if DPD says.

    ``authTokenExpires`` (LoginService 2.1) carries no offset; DPD documents it in UTC.
    """
    root = parse_xml(body)
    fault = _fault(root)
    if fault is not None:
        raise fault_error(fault)
    returned = root.find("Body/getAuthResponse/return")
    token = _text(returned.findtext("authToken")) if returned is not None else None
    if not token:
        raise PermanentError("DPD's getAuth answer has no authToken")
    expires_text = _text(returned.findtext("authTokenExpires")) if returned is not None else None
    expires = None
    if expires_text:
        try:
            expires = parse_time(expires_text, UTC)
        except TranslationError:
            expires = None  # renewed on the default lifetime instead
    return token, expires


def read_tracking(body: bytes, numbers: list[str]) -> list[ParcelTracking]:
    """One ``getTrackingData`` answer as tracking for the one number it was asked for."""
    if len(numbers) != 1:
        raise ValueError("DPD's getTrackingData answers for exactly one parcel")
    number = numbers[0]
    root = parse_xml(body)
    fault = _fault(root)
    if fault is not None:
        if fault.kind == "parcel":
            return [ParcelTracking(number, found=False, error=fault.text)]
        raise fault_error(fault)
    result = root.find("Body/getTrackingDataResponse/trackingresult")
    if result is None:
        raise TranslationError("not a getTrackingData answer: no trackingresult")
    return [_parcel(number, result.findall("statusInfo"))]


def _parcel(number: str, infos: Iterable[ET.Element]) -> ParcelTracking:
    dated: list[tuple[datetime, str | None, str | None, str | None]] = []
    current: str | None = None
    for info in infos:
        code = _text(info.findtext("status"))
        if _text(info.findtext("isCurrentStatus")) == "true":
            current = code
        when = _line(info.find("date"))
        if when is None or _text(info.findtext("statusHasBeenReached")) == "false":
            continue  # a life-cycle step DPD has not reached yet
        text = _item(info.find("description")) or _line(info.find("label"))
        try:
            at = parse_time(when, HOME_ZONE)
        except TranslationError:
            # one unreadable scan time drops that scan, not the parcel's answer
            log.warning("DPD %s: dropped an event with an unreadable date %r", number, when)
            continue
        dated.append((at, code, text, _location(info.find("location"))))
    if not dated and current is None:
        return ParcelTracking(number, found=False, error="DPD has no tracking data for it yet")
    dated.sort(key=lambda event: event[0])  # stable: DPD's own order among equal times
    events: list[TrackingEvent] = []
    moving = False
    for at, code, text, location in dated:
        status = canonical(code, moving)
        moving = moving or status in MOVING
        events.append(TrackingEvent(at, status, code, text, location))
    if current is not None:
        carrier_status = current
        # the marked entry is the latest event when it was reached
        reached = bool(events) and events[-1].code == current
        status = events[-1].status if reached else canonical(current, moving)
    else:
        carrier_status, status = events[-1].code, events[-1].status
    return ParcelTracking(
        number, found=True, status=status, events=tuple(events), carrier_status=carrier_status
    )


def canonical(code: str | None, moving: bool) -> str:
    """A DPD status as a canonical one: through :data:`STATUS_MAP`; a status the table does not
    know is ``in_transit`` for a parcel already moving, else ``unknown``."""
    if code in STATUS_MAP:
        return STATUS_MAP[code]
    return "in_transit" if moving else "unknown"


def parse_time(value: str, zone: tzinfo) -> datetime:
    """A DPD time in UTC. ISO 8601 keeps its offset (``Z`` too; digits past microseconds are
    dropped); a time without an offset, ISO or DPD's localised format, is read in ``zone``."""
    return local_time(value, zone, formats=_LOCAL_FORMATS, source="DPD")


def _location(line: ET.Element | None) -> str | None:
    """``Puurs (BE)`` as ``Puurs, BE``; any other place text as it is."""
    text = _line(line)
    if text is None:
        return None
    match = _PLACE.match(text)
    if match and match["place"]:
        return f"{match['place']}, {match['country']}"
    return text


def _line(element: ET.Element | None) -> str | None:
    """The text of a ``ContentLine`` (``<x><content>text</content><bold/>...</x>``)."""
    return _text(element.findtext("content")) if element is not None else None


def _item(element: ET.Element | None) -> str | None:
    """The lines of a ``ContentItem`` (``<x><content><content>text</content>...</x>``)."""
    if element is None:
        return None
    lines = [_text(line.findtext("content")) for line in element.findall("content")]
    return " ".join(line for line in lines if line) or None


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None
