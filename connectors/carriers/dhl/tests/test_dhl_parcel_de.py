"""DHL Paket Germany (parcel-de) XML answers: the documented example, the ICE table, the
refusal of DTDs and the not-found piece. Pure: no I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.carriers.dhl import parcel_de, translate
from hub.connectors import tracking_to_json
from hub.errors import TranslationError

PAYLOAD = Path(__file__).parent / "payloads" / "parcel_de_piece_detail_delivered_doc.xml"


def test_documented_example_reads_berlin_times_and_drops_the_bad_date(caplog):
    [result] = translate.read_tracking(PAYLOAD.read_bytes(), ["266334453"])
    data = tracking_to_json(result)
    assert data["found"] is True and data["status"] == "delivered"
    assert data["carrier_status"] == "DLVRD"
    assert [(e["at"], e["status"], e["code"]) for e in data["events"]] == [
        ("2012-03-13T23:00:00Z", "in_transit", "LDTMV"),
        ("2012-03-16T14:29:00Z", "delivered", "DLVRD"),
    ]
    assert data["events"][0]["text"] == "Die Sendung wurde im Start-Paketzentrum bearbeitet."
    assert data["events"][0]["location"] == "Saulheim, Deutschland"
    assert "DHL Paket event dropped" in caplog.text


@pytest.mark.parametrize(("ice", "status"), sorted(parcel_de.ICE_CODES.items()))
def test_every_ice_code_maps(ice: str, status: str):
    assert parcel_de.event_status(ice, "", []) == status


def test_german_text_refines_a_coarse_code():
    words = "Die Sendung wurde in das Zustellfahrzeug geladen."
    assert parcel_de.event_status("LDTMV", words, []) == "out_for_delivery"


def test_newest_event_decides_over_the_piece_summary():
    body = PAYLOAD.read_bytes().replace(
        b'ice="DLVRD" ric="ACCPT" standard-event-code="ZU" d', b'ice="LDTMV" d'
    )
    body = body.replace(
        b'event-timestamp="16.03.2012 15:29"', b'event-timestamp="13.03.2012 15:29"'
    )
    [result] = translate.read_tracking(body, ["266334453"])
    assert result.status == "in_transit"


def test_unknown_piece_is_not_found():
    body = b'<data name="pieceshipmentlist" code="100" error="Keine Daten gefunden."/>'
    [result] = translate.read_tracking(body, ["123"])
    assert result.found is False and result.error == "Keine Daten gefunden."


def test_a_doctype_is_refused():
    body = b'<!DOCTYPE x [<!ENTITY a "b">]><data name="pieceshipmentlist"/>'
    with pytest.raises(TranslationError):
        translate.read_tracking(body, ["1"])
