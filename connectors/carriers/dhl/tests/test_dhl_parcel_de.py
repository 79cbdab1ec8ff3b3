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


LIVE = Path(__file__).parent / "payloads" / "parcel_de_piece_detail_live_names_karrio.xml"
LOGIN_FAILED = Path(__file__).parent / "payloads" / "parcel_de_login_failed_code_5_doc.xml"


def test_hyphenated_live_names_read_the_delivered_parcel_from_its_ice_codes():
    [result] = translate.read_tracking(LIVE.read_bytes(), ["00340434161094042557"])
    data = tracking_to_json(result)
    assert data["found"] is True and data["status"] == "delivered"
    assert data["carrier_status"] == "DLVRD"
    # English texts (language-code en): the statuses come from the ICE codes
    assert [(e["at"], e["status"], e["code"]) for e in data["events"]] == [
        ("2016-03-17T10:21:00Z", "picked_up", "SHRCU"),
        ("2016-03-17T12:23:00Z", "in_transit", "LDTMV"),
        ("2016-03-17T15:18:00Z", "picked_up", "PCKDU"),
        ("2016-03-17T17:12:00Z", "in_transit", "LDTMV"),
        ("2016-03-18T02:24:00Z", "in_transit", "ULFMV"),
        ("2016-03-18T08:02:00Z", "out_for_delivery", "SRTED"),  # with standard event PO
        ("2016-03-18T09:02:00Z", "delivered", "DLVRD"),
    ]
    assert data["events"][0]["text"] == (
        "The shipment has been posted by the sender at the PACKSTATION"
    )
    assert data["events"][-1]["text"] == "The shipment has been successfully delivered"
    assert data["events"][-1]["location"] == "Bonn, Germany"


def test_hyphenated_login_failed_is_not_found_with_dhls_message():
    [result] = translate.read_tracking(LOGIN_FAILED.read_bytes(), ["00340434161094032954"])
    assert result.found is False and result.status == "unknown"
    assert result.error == "Log-in failed"


def test_a_nameless_data_wrapper_around_the_list_is_read():
    body = LIVE.read_bytes().split(b"-->", 1)[1]
    [result] = translate.read_tracking(b"<data>" + body + b"</data>", ["00340434161094042557"])
    assert result.found is True and result.status == "delivered" and len(result.events) == 7


def test_an_unknown_root_is_refused():
    with pytest.raises(TranslationError):
        translate.read_tracking(b'<data name="other"/>', ["1"])
