"""DHL Paket Germany's XML answers (parcel-de "Sendungsverfolgung", ``d-get-piece-detail``) to
canonical tracking. Pure: no I/O; :func:`translate.read_tracking` hands an answer here when its
body is XML (the answer decides, not an account key: the same account, proxy or ``api_base``
may answer either).

The answer is ``<data name="pieceshipmentlist" code="0">`` holding one ``<data
name="pieceshipment">`` per piece (its current ``status``, ``status-timestamp``, ``ice``,
``ric``, ``delivery-event-flag``) and its ``<data name="pieceeventlist">`` of ``<data
name="pieceevent">`` rows (``event-timestamp``, ``event-status``, ``event-text``, ``ice``,
``ric``, ``standard-event-code``, ``event-location``). The event list is nested in the piece or,
as in some of DHL's examples, follows it. DHL's documented example writes these names without
hyphens; live answers write them with hyphens (``piece-shipment-list``, ``piece-shipment``,
``piece-event-list``, ``piece-event``), so names are compared with "-" removed. The list may come
wrapped in a nameless ``<data>`` root. A ``code`` other than 0 on the list, or an
``error-status`` other than 0 on a piece, means the piece is not known; the list's ``error`` is
the message.

Statuses: an event's ICE code (DHL's "International Event Code") through :data:`ICE_CODES`; its
RIC ("reason instruction code") or TTpro standard event code first, where the pair names a finer
status (:data:`ICE_RIC_CODES`, :data:`STANDARD_EVENT_CODES`); refined by its German text
(:data:`translate._GERMAN`) when the code is a coarse, stateless or unknown one. An event keeps
its ICE code as its ``code`` and DHL's ``event-status`` as its text (German, or English
when asked with ``language-code="en"``: the status still comes from the codes);
the newest event decides the parcel (the piece's own summary only without events). Times are
``DD.MM.YYYY HH:MM`` in Europe/Berlin. A DOCTYPE or ENTITY declaration is refused (entity
expansion); DHL never sends one.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from datetime import datetime

from hub import values
from hub.connectors import TRACKING_STATUSES, ParcelTracking, TrackingEvent
from hub.errors import TranslationError
from hub.values import text, xml_root

from . import translate

#: DHL ICE event codes -> canonical status: every ICE event of DHL's published "ICE event / RIC
#: combinations" list for DHL Paket (July 2024; kept in karrioapi/karrio at
#: ``modules/connectors/dhl_parcel_de/vendors/parcel_de_ice_event_ric_combinations_July_2024.csv``),
#: with DHL's English ICE event name. Events that say nothing of where the parcel is (advice
#: data, payments, a record closed, a driver's cancelled scan) are in :data:`NO_STATE` instead.
ICE_CODES: dict[str, str] = {
    "PARCV": "label_created",  # PAN received by carrier (electronic announcement)
    "PURCR": "label_created",  # Pick up request created
    "DTNPC": "label_created",  # Data, but no piece
    "SHRCU": "picked_up",  # Shipment received from customer
    "PCKDU": "picked_up",  # Picked up
    "ASMVT": "in_transit",  # Assigned to movement / tour vehicle
    "CHECK": "in_transit",  # Checked (product features)
    "FWDCF": "in_transit",  # Forwarded to correct facility
    "HLDCP": "in_transit",  # Held for clearance purposes
    "HNDDE": "in_transit",  # Handover to 3rd party - delivery details expected
    "HNDND": "in_transit",  # Handover to 3rd party - no delivery details expected
    "ICPRC": "in_transit",  # Into clearance processing
    "INFCL": "in_transit",  # In facility
    "ITBAR": "in_transit",  # In bonded area
    "LDTHU": "in_transit",  # Loaded to handling unit
    "LDTMV": "in_transit",  # Loaded to movement / tour vehicle
    "MVARR": "in_transit",  # Movement / tour vehicle arrived
    "MVDPT": "in_transit",  # Movement / tour vehicle departed
    "OFWRD": "in_transit",  # Onforwarded
    "RELBL": "in_transit",  # Relabeled
    "REPCK": "in_transit",  # Repacked
    "ROUCR": "in_transit",  # Re-routed on customer request
    "RSDCP": "in_transit",  # Released from clearance processing
    "SECHK": "in_transit",  # Security checked
    "SRTED": "in_transit",  # Sorted
    "TRBCR": "in_transit",  # Transferred between carriers
    "ULFMV": "in_transit",  # Unloaded from movement / tour vehicle
    "NTDEL": "delivery_attempted",  # Not delivered
    "CNRFC": "ready_for_pickup",  # Consignee notified - ready for collection
    "HLDCC": "ready_for_pickup",  # Held for consignee collection
    "DLVRD": "delivered",  # Delivered
    "CANCL": "exception",  # The shipment order was cancelled by the sender
    "CNFSC": "exception",  # Confiscation
    "DLVRF": "exception",  # Delivery refused
    "DMGDS": "exception",  # Damage discovered
    "DSPSD": "exception",  # Disposed of
    "EXPHD": "exception",  # Exception hold
    "HLDCU": "exception",  # Held by customs
    "LDEXC": "exception",  # Loading exception
    "MSRTD": "exception",  # Mis-routed
    "MVDEX": "exception",  # Movement / tour vehicle departure exception
    "MVTEX": "exception",  # Movement / tour vehicle exception
    "NTADT": "exception",  # Not assigned to delivery tour
    "NTPUP": "exception",  # Not picked up
    "PBNDT": "exception",  # Piece, but no data
    "RETRN": "returned_to_sender",  # Shipment will be returned to origin
}
#: ICE events of the same list that carry no parcel state: ADVIS (advice: delivery date or
#: time, messages), ALERT (notification), PMTCR / PMTCS (payment received), RCCLS (record
#: closed), STORN (the previous event was deleted by the driver). Such an event keeps the
#: parcel's last known status (a record closed after delivery is still delivered).
NO_STATE = frozenset({"ADVIS", "ALERT", "PMTCR", "PMTCS", "RCCLS", "STORN"})
#: ``ice/ric`` pairs of the same list whose reason code changes the event's meaning
ICE_RIC_CODES: dict[str, str] = {
    "LDTMV/SECDA": "out_for_delivery",  # loaded: second delivery attempt
    "HLDCC/NTCCN": "exception",  # not collected by the consignee before storage ran out
    "NTDEL/NAGTB": "returned_to_sender",  # not according to terms: return to sender
    "NTDEL/RSEXW": "returned_to_sender",  # return: consignee may not receive ex-works
    "EXPHD/RTTSP": "returned_to_sender",  # exception hold: return to shipper
    "OFWRD/RTSCR": "returned_to_sender",  # return to shipper at customer request
    "OFWRD/RTSSA": "returned_to_sender",  # return to shipper by standard agreement
}
#: ``ice/standard-event-code`` pairs: the list's TTpro standard event PO is "in delivery
#: process" (Im Zustellprozess); LDTMV with it is the parcel loaded for its delivery round, and
#: so is SRTED with it in live answers ("loaded onto the delivery vehicle", short status "In
#: delivery": karrio's dpdhl tracking test, parcel_de_piece_detail_live_names_karrio.xml)
STANDARD_EVENT_CODES: dict[str, str] = {
    "LDTMV/PO": "out_for_delivery",
    "SRTED/PO": "out_for_delivery",
}
#: codes whose German text may name a finer status (loaded -> into the delivery van...)
_COARSE = frozenset({"LDTMV", "ULFMV", "SRTED", "MVARR", "MVDPT", "INFCL", "NTDEL"})
FORMATS = ("%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S")
log = logging.getLogger(__name__)

assert set(ICE_CODES.values()) <= set(TRACKING_STATUSES)
assert set(ICE_RIC_CODES.values()) | set(STANDARD_EVENT_CODES.values()) <= set(TRACKING_STATUSES)
assert not NO_STATE & set(ICE_CODES) and set(ICE_CODES) >= _COARSE


def looks_like_xml(body: bytes) -> bool:
    """Whether an answer is XML (DHL Paket) rather than JSON (Unified)."""
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def read_tracking(body: bytes, numbers: list[str]) -> list[ParcelTracking]:
    """One parcel-de XML answer -> one result per number asked, in the order asked."""
    root = shipment_list(xml_root(body, sender="DHL"))
    message = text(root.get("error")) or f"DHL Paket code {root.get('code')}"
    found: dict[str, ParcelTracking] = {}
    if (root.get("code") or "0").strip() in ("0", ""):
        children = list(root)
        for index, piece in enumerate(children):
            if not _named(piece, "pieceshipment"):
                continue
            if (piece.get("error-status") or "0").strip() != "0":
                continue
            rows = _events(piece)
            following = children[index + 1] if index + 1 < len(children) else None
            if not rows and following is not None and _named(following, "pieceeventlist"):
                rows = _events(following, nested=False)
            parcel = _read_piece(piece, rows, f"pieceshipment[{index}]")
            for key in ("piece-code", "searched-piece-code", "piece-identifier"):
                if piece.get(key):
                    found.setdefault(translate.normalise(piece.get(key, "")), parcel)
    results = []
    for number in numbers:
        parcel = found.get(translate.normalise(number))
        if parcel is None and len(found) and len(numbers) == 1:
            parcel = next(iter(found.values()))
        if parcel is None:
            results.append(
                ParcelTracking(tracking_number=number, found=False, status="unknown", error=message)
            )
        else:
            results.append(_for(parcel, number))
    return results


def _named(element: ET.Element, name: str) -> bool:
    """Whether a ``<data>`` element is ``name``, written with or without hyphens."""
    return element.tag == "data" and (element.get("name") or "").replace("-", "") == name


def shipment_list(root: ET.Element) -> ET.Element:
    """The ``pieceshipmentlist``: the root, or the one list in a nameless ``<data>`` wrapper."""
    if _named(root, "pieceshipmentlist"):
        return root
    if root.tag == "data" and not (root.get("name") or "").strip():
        lists = [child for child in root if _named(child, "pieceshipmentlist")]
        if len(lists) == 1:
            return lists[0]
    raise TranslationError(f"expected pieceshipmentlist, got {root.get('name')!r}")


def _events(element: ET.Element, *, nested: bool = True) -> list[ET.Element]:
    """The ``pieceevent`` rows of a piece's nested ``pieceeventlist`` (or of the list itself)."""
    lists = [child for child in element if _named(child, "pieceeventlist")] if nested else [element]
    return [row for events in lists for row in events if _named(row, "pieceevent")]


def event_status(
    ice: str | None,
    words: str,
    earlier: list[str],
    *,
    ric: str | None = None,
    standard: str | None = None,
) -> str:
    """An event's canonical status: its ICE + RIC pair, its ICE + standard event code, its
    ICE code, refined by its German text when the code is coarse, unknown or stateless."""
    code = (ice or "").strip().upper()
    for table, detail in ((ICE_RIC_CODES, ric), (STANDARD_EVENT_CODES, standard)):
        pair = f"{code}/{(detail or '').strip().upper()}"
        if pair in table:
            return table[pair]
    if code in ICE_CODES and code not in _COARSE:
        return ICE_CODES[code]
    lowered = " ".join(words.lower().split())
    for phrase, status in translate._GERMAN:
        if phrase in lowered:
            return status
    if code in NO_STATE:
        known = [status for status in earlier if status != "unknown"]
        return known[-1] if known else "unknown"
    return ICE_CODES.get(code) or translate.fallback_status(earlier)


def _read_piece(piece: ET.Element, rows: list[ET.Element], path: str) -> ParcelTracking:
    dated: list[tuple[datetime, ET.Element]] = []
    for index, row in enumerate(rows):
        try:
            at = _time(row.get("event-timestamp"), f"{path}.pieceevent[{index}]")
        except TranslationError as exc:
            log.warning("DHL Paket event dropped: %s", exc)
            continue
        if at is not None:
            dated.append((at, row))
    dated.sort(key=lambda pair: pair[0])  # stable: DHL lists oldest first
    events: list[TrackingEvent] = []
    for at, row in dated:
        words = " ".join(filter(None, (row.get("event-status"), row.get("event-text"))))
        events.append(
            TrackingEvent(
                at=at,
                status=event_status(
                    row.get("ice"),
                    words,
                    [e.status for e in events],
                    ric=row.get("ric"),
                    standard=row.get("standard-event-code"),
                ),
                code=text(row.get("ice")),
                text=text(row.get("event-status")) or text(row.get("event-text")),
                location=", ".join(
                    p
                    for p in (text(row.get("event-location")), text(row.get("event-country")))
                    if p
                )
                or None,
            )
        )
    if events:
        status = events[-1].status
    elif (piece.get("delivery-event-flag") or "").strip() == "1":
        status = "delivered"
    else:
        status = event_status(
            piece.get("ice"),
            piece.get("status") or "",
            [],
            ric=piece.get("ric"),
            standard=piece.get("standard-event-code"),
        )
    return ParcelTracking(
        tracking_number=piece.get("piece-code") or "",
        found=True,
        status=status,
        events=tuple(events),
        carrier_status=(events[-1].code if events else text(piece.get("ice"))),
    )


def _for(parcel: ParcelTracking, number: str) -> ParcelTracking:
    return ParcelTracking(
        tracking_number=number,
        found=True,
        status=parcel.status,
        events=parcel.events,
        estimated_delivery=parcel.estimated_delivery,
        carrier_status=parcel.carrier_status,
    )


def _time(value: str | None, path: str) -> datetime | None:
    if not (value or "").strip():
        return None
    return values.local_time(
        str(value), translate.HOME_ZONE, formats=FORMATS, source="DHL Paket", path=path
    )
