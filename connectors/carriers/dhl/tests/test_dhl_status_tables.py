"""DHL's published status codes, each run through the real translator on a recorded answer
with the code (and its text) swapped in: the canonical status, and the carrier's own code and
text kept on the event. Pure: no I/O.

Unified: the ``statusCode`` enum of DHL's Shipment Tracking - Unified OpenAPI (kept in
karrioapi/karrio ``modules/connectors/dhl_universal``). DHL Paket: ICE events, RIC reasons and
German names from DHL's "ICE event / RIC combinations" list (karrioapi/karrio
``modules/connectors/dhl_parcel_de/vendors/parcel_de_ice_event_ric_combinations_July_2024.csv``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from connectors.carriers.dhl import parcel_de, translate

PAYLOADS = Path(__file__).parent / "payloads"
UNIFIED = json.loads((PAYLOADS / "unified_track_parcel_uk_history_built.json").read_bytes())
PAKET = (PAYLOADS / "parcel_de_piece_detail_delivered_doc.xml").read_bytes()
#: the newest event of the DHL Paket sample, as recorded
PAKET_NEWEST = (
    b'event-status="Die Sendung wurde erfolgreich zugestellt." event-text=" Die Sendung wurde'
    b' erfolgreich zugestellt." ice="DLVRD" ric="ACCPT" event-location="Bonn"'
    b' event-country="Deutschland" standard-event-code="ZU"'
)


def unified(code: str, status: str, description: str) -> Any:
    """The recorded Unified answer, its newest event's code and words swapped."""
    data = copy.deepcopy(UNIFIED)
    shipment = data["shipments"][0]
    shipment.pop("status", None)
    shipment["events"][0].update(statusCode=code, status=status, description=description)
    [result] = translate.read_tracking(json.dumps(data).encode(), [shipment["id"]])
    return result


@pytest.mark.parametrize(
    ("code", "status", "description", "expected"),
    [
        ("pre-transit", "Shipment information received", "", "label_created"),
        ("transit", "Processed at DHL facility", "", "in_transit"),
        ("delivered", "Delivered", "Delivered - Signed for by: SMITH", "delivered"),
        ("failure", "Returned to shipper", "", "returned_to_sender"),
        ("failure", "Shipment on hold", "", "exception"),
        ("unknown", "Status not available", "", "unknown"),
        ("transit", "With delivery courier", "", "out_for_delivery"),
        # DHL Paket's German wording over the Unified API
        ("transit", "Die Sendung wurde in das Zustellfahrzeug geladen.", "", "out_for_delivery"),
        ("transit", "Die Sendung liegt zur Abholung bereit.", "", "ready_for_pickup"),
        ("unknown", "Die Sendung wurde erfolgreich zugestellt.", "", "delivered"),
    ],
)
def test_unified_status_code(code: str, status: str, description: str, expected: str):
    result = unified(code, status, description)
    newest = result.events[-1]
    assert (newest.status, result.status) == (expected, expected)
    assert newest.code == code
    assert newest.text == (description or status)


def test_every_unified_status_code_is_in_the_table():
    assert set(translate.STATUS_CODES) == {
        "pre-transit",
        "transit",
        "delivered",
        "failure",
        "unknown",
    }


def paket(ice: str, ric: str, standard: str, german: str) -> Any:
    """The recorded DHL Paket answer, its newest event's codes and German text swapped."""
    swapped = (
        f'event-status="{german}" event-text="{german}" ice="{ice}" ric="{ric}"'
        f' event-location="Bonn" event-country="Deutschland" standard-event-code="{standard}"'
    ).encode()
    assert PAKET.count(PAKET_NEWEST) == 1
    [result] = translate.read_tracking(PAKET.replace(PAKET_NEWEST, swapped), ["266334453"])
    return result


# (ICE, RIC, TTpro standard event, DHL's German name, canonical status), from DHL's list
PAKET_CASES = [
    ("PARCV", "NRQRD", "VA", "Elektronische Sendungsdaten liegen vor", "label_created"),
    ("PURCR", "BOOKN", "VA", "Abholauftrag erhalten", "label_created"),
    ("SHRCU", "SERPT", "ES", "Einlieferung der Sendung durch den Kunden", "picked_up"),
    ("PCKDU", "PUBCR", "AE", "Erfolgreich abgeholt", "picked_up"),
    ("SRTED", "NRQRD", "NB", "Sortierung", "in_transit"),
    ("ULFMV", "UNLDD", "EE", "Entladung", "in_transit"),
    ("MVDPT", "NRQRD", "AA", "Fahrzeug hat den Standort verlassen", "in_transit"),
    ("ICPRC", "NRQRD", "ZO", "Zollabfertigung gestartet", "in_transit"),
    ("LDTMV", "MVMTV", "AA", "Beladung", "in_transit"),
    ("LDTMV", "MVMTV", "PO", "Beladung", "out_for_delivery"),
    ("LDTMV", "SECDA", "ZN", "Zweiter Zustellversuch", "out_for_delivery"),
    (
        "LDTMV",
        "MVMTV",
        "AA",
        "Die Sendung wurde in das Zustellfahrzeug geladen.",
        "out_for_delivery",
    ),
    ("NTDEL", "NHOME", "ZN", "Benachrichtigt: Empfänger nicht angetroffen", "delivery_attempted"),
    ("NTDEL", "CLOSD", "ZN", "Geschlossen", "delivery_attempted"),
    ("NTDEL", "NAGTB", "ZN", "Sendung nicht AGB-konform - Rücksendung", "returned_to_sender"),
    ("CNRFC", "PCKST", "ZF", "Benachrichtigt", "ready_for_pickup"),
    ("HLDCC", "SERPT", "ZF", "Sendung liegt zur Abholung bereit", "ready_for_pickup"),
    ("HLDCC", "NTCCN", "ZF", "Keine Abholung durch Kunden zum Ablauf der Lagerfrist", "exception"),
    ("DLVRD", "NGHBR", "ZU", "Zustellung an Nachbarn", "delivered"),
    ("DLVRD", "PCKAD", "ZU", "Zustellung an Hauspoststelle", "delivered"),
    ("DLVRF", "NTORD", "ZN", "Annahmeverweigerung - nicht bestellt", "exception"),
    ("EXPHD", "LOSTX", "BV", "Verlust", "exception"),
    ("EXPHD", "RTTSP", "BV", "Rücksendung, ggf. mit neuem Label", "returned_to_sender"),
    ("HLDCU", "NORSN", "ZO", "Zollbearbeitung", "exception"),
    ("CANCL", "NRQRD", "BV", "Der angekündigte Versand wurde storniert", "exception"),
    ("OFWRD", "RDRCR", "PO", "Zustellung an andere Adresse", "in_transit"),
    ("OFWRD", "RTSCR", "ZN", "Rücksendung aufgrund von Kundenwunsch", "returned_to_sender"),
    ("RETRN", "MOVED", "ZN", "Empfänger verzogen", "returned_to_sender"),
]


@pytest.mark.parametrize(("ice", "ric", "standard", "german", "expected"), PAKET_CASES)
def test_dhl_paket_ice_event(ice: str, ric: str, standard: str, german: str, expected: str):
    result = paket(ice, ric, standard, german)
    newest = result.events[-1]
    assert (newest.status, result.status) == (expected, expected)
    assert (newest.code, newest.text) == (ice, german)
    assert result.carrier_status == ice


@pytest.mark.parametrize("ice", sorted(parcel_de.NO_STATE))
def test_a_stateless_ice_event_keeps_the_last_known_status(ice: str):
    # after the sample's "im Start-Paketzentrum bearbeitet" (in transit)
    result = paket(ice, "NRQRD", "DD", "Datendienst")
    assert result.status == "in_transit"
    assert (result.events[-1].code, result.events[-1].text) == (ice, "Datendienst")


def test_a_record_closed_after_delivery_is_still_delivered():
    closed = (
        b'<data name="pieceevent" event-timestamp="17.03.2012 09:00" event-status="Sendungslauf'
        b' beendet" event-text="" ice="RCCLS" ric="GHSTP" event-location="Bonn"'
        b' event-country="Deutschland" standard-event-code="BV"/>\n        </data>'
    )
    body = PAKET.replace(b"</data>", closed, 1)
    [result] = translate.read_tracking(body, ["266334453"])
    assert result.events[-1].code == "RCCLS" and result.status == "delivered"


def test_every_ice_event_of_the_list_is_in_a_table():
    listed = {ice for ice, *_ in PAKET_CASES}
    assert listed <= set(parcel_de.ICE_CODES) | parcel_de.NO_STATE
    assert len(parcel_de.ICE_CODES) + len(parcel_de.NO_STATE) == 52  # events listed
