"""DHL Paket Germany's XML answers (parcel-de "Sendungsverfolgung", ``d-get-piece-detail``) to
canonical tracking. Pure: no I/O; :func:`translate.read_tracking` hands an answer here when its
body is XML (the answer decides, not an account key: the same account, proxy or ``api_base``
may answer either).

The answer is ``<data name="pieceshipmentlist" code="0">`` holding one ``<data
name="pieceshipment">`` per piece (its current ``status``, ``status-timestamp``, ``ice``,
``ric``, ``delivery-event-flag``) and its ``<data name="pieceeventlist">`` of ``<data
name="pieceevent">`` rows (``event-timestamp``, ``event-status``, ``event-text``, ``ice``,
``ric``, ``standard-event-code``, ``event-location``). The event list is nested in the piece or,
as in some of DHL's examples, follows it. A ``code`` other than 0 on the list, or an
``error-status`` other than 0 on a piece, means the piece is not known.

Statuses: an event's ICE code (DHL's "International Event Code") through :data:`ICE_CODES`,
refined by its German text (:data:`translate._GERMAN`) when the code is a coarse or unknown one;
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

#: DHL ICE event codes -> canonical status (codes coarse enough to be refined by the text are
#: in :data:`_COARSE`).
ICE_CODES: dict[str, str] = {
    "PARCV": "label_created",  # electronic announcement received
    "SHRCU": "picked_up",  # shipment received from the customer
    "PCKDU": "picked_up",  # picked up
    "LDTMV": "in_transit",  # loaded onto a means of transport
    "ULFMV": "in_transit",  # unloaded from a means of transport
    "SRTED": "in_transit",  # sorted
    "ARRVD": "in_transit",  # arrived
    "HLDCC": "exception",  # held (customs / clearance)
    "NTDEL": "delivery_attempted",  # not delivered
    "DLVRD": "delivered",  # delivered
    "RTRND": "returned_to_sender",  # returned
}
#: codes whose German text may name a finer status (loaded -> into the delivery van...)
_COARSE = frozenset({"LDTMV", "ULFMV", "SRTED", "ARRVD", "NTDEL"})
FORMATS = ("%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S")
log = logging.getLogger(__name__)

assert set(ICE_CODES.values()) <= set(TRACKING_STATUSES)


def looks_like_xml(body: bytes) -> bool:
    """Whether an answer is XML (DHL Paket) rather than JSON (Unified)."""
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def read_tracking(body: bytes, numbers: list[str]) -> list[ParcelTracking]:
    """One parcel-de XML answer -> one result per number asked, in the order asked."""
    root = xml_root(body, sender="DHL")
    if root.get("name") != "pieceshipmentlist":
        raise TranslationError(f"expected pieceshipmentlist, got {root.get('name')!r}")
    message = text(root.get("error")) or f"DHL Paket code {root.get('code')}"
    found: dict[str, ParcelTracking] = {}
    if (root.get("code") or "0").strip() in ("0", ""):
        children = list(root)
        for index, piece in enumerate(children):
            if piece.get("name") != "pieceshipment":
                continue
            if (piece.get("error-status") or "0").strip() != "0":
                continue
            rows = piece.findall("data[@name='pieceeventlist']/data[@name='pieceevent']")
            following = children[index + 1] if index + 1 < len(children) else None
            if not rows and following is not None and following.get("name") == "pieceeventlist":
                rows = following.findall("data[@name='pieceevent']")
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


def event_status(ice: str | None, words: str, earlier: list[str]) -> str:
    """An event's canonical status: its ICE code, refined by its German text."""
    code = (ice or "").strip().upper()
    if code in ICE_CODES and code not in _COARSE:
        return ICE_CODES[code]
    lowered = " ".join(words.lower().split())
    for phrase, status in translate._GERMAN:
        if phrase in lowered:
            return status
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
                status=event_status(row.get("ice"), words, [e.status for e in events]),
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
        status = event_status(piece.get("ice"), piece.get("status") or "", [])
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
