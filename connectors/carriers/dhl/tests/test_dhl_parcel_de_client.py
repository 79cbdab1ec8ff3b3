"""DHL Paket Germany (Parcel DE Tracking) through the HTTP client: the exact request, the
batch limit, the recorded answer to canonical tracking, and the error answers. No network:
``responses`` answers every call."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import responses
from marshmallow import ValidationError

from connectors.carriers.dhl import DhlConnector
from connectors.carriers.dhl.client import PIECE_LIMIT, DhlClient
from connectors.carriers.dhl.settings import DhlSettings
from hub.connectors import Account
from hub.errors import AuthError, RetryableError

PAYLOADS = Path(__file__).parent / "payloads"
URL = "https://api-eu.dhl.com/parcel/de/tracking/v0/shipments"
API_KEY = "dhl-api-key-0123456789"
API_SECRET = "dhl-api-secret-9876"
ZT_USER = "zt12345"
ZT_PASSWORD = 'ge"heim&<pw>'


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def settings(**keys: Any) -> dict[str, Any]:
    base = {
        "connector": "dhl",
        "api_key": API_KEY,
        "tracking_api": "parcel-de",
        "api_secret": API_SECRET,
        "zt_user": ZT_USER,
        "zt_password": ZT_PASSWORD,
    }
    return DhlSettings().load({**base, **keys})


def make_connector(**keys: Any) -> DhlConnector:
    account = Account(name="dhl-paket", connector="dhl", client="acme", settings=settings(**keys))
    return DhlConnector(account, client=DhlClient(account, sleep=lambda s: None, limiter=None))


def sent_xml(request: Any) -> ET.Element:
    [value] = parse_qs(urlsplit(request.url).query)["xml"]
    return ET.fromstring(value)


@responses.activate
def test_the_request_is_a_get_with_the_xml_the_key_header_and_basic_key_secret():
    responses.get(URL, body=payload("parcel_de_piece_detail_delivered_doc.xml"))
    [result] = make_connector().track([" 2663 3445 3 "])
    assert (
        result.found and result.status == "delivered" and result.tracking_number == " 2663 3445 3 "
    )
    [call] = responses.calls
    request = call.request
    assert request.method == "GET" and request.body is None
    assert urlsplit(request.url).path == "/parcel/de/tracking/v0/shipments"
    assert list(parse_qs(urlsplit(request.url).query)) == ["xml"]
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
        '<data appname="zt12345" password="ge&quot;heim&amp;&lt;pw&gt;" '
        'request="d-get-piece-detail" language-code="de" piece-code="266334453" />'
    )
    assert request.url == f"{URL}?xml={quote(xml, safe='')}".replace("%20", "+")
    assert request.headers["DHL-API-Key"] == API_KEY
    assert request.headers["Accept"] == "application/xml"
    basic = base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {basic}"
    data = sent_xml(request)
    assert data.get("password") == ZT_PASSWORD and data.get("appname") == ZT_USER


@responses.activate
def test_several_numbers_go_in_one_call_separated_by_semicolons():
    responses.get(URL, body=payload("parcel_de_piece_detail_delivered_doc.xml"))
    results = make_connector().track(["266334453", "00340434161094042557"])
    assert sent_xml(responses.calls[0].request).get("piece-code") == (
        "266334453;00340434161094042557"
    )
    assert [(r.tracking_number, r.found) for r in results] == [
        ("266334453", True),
        ("00340434161094042557", False),
    ]
    assert results[0].events[-1].code == "DLVRD"


@responses.activate
def test_the_batch_limit_is_fifteen_and_checked_before_any_call():
    connector = make_connector()
    assert connector.track_batch_size == PIECE_LIMIT == 15
    assert DhlConnector.track_batch_size == 1  # the class keeps Unified's one number
    responses.get(URL, body=b'<data name="pieceshipmentlist" code="100" error="x"/>')
    assert len(connector.track([f"0034{i:016d}" for i in range(15)])) == 15
    with pytest.raises(ValueError):
        connector.track([f"0034{i:016d}" for i in range(16)])
    with pytest.raises(ValueError):
        connector.client.piece_detail(["1;2"])
    assert len(responses.calls) == 1


@responses.activate
def test_the_sandbox_or_a_proxy_through_api_base():
    connector = make_connector(api_base="https://api-sandbox.dhl.com")
    responses.get(
        "https://api-sandbox.dhl.com/parcel/de/tracking/v0/shipments",
        body=payload("parcel_de_piece_detail_delivered_doc.xml"),
    )
    [result] = connector.track(["266334453"])
    assert result.found


@responses.activate
def test_a_refused_tracking_login_is_an_auth_error_not_not_found():
    responses.get(URL, body=payload("parcel_de_login_failed_code_5_doc.xml"))
    with pytest.raises(AuthError) as caught:
        make_connector().track(["00340434161094032954"])
    assert "Log-in failed" in caught.value.message
    assert ZT_PASSWORD not in caught.value.message


@responses.activate
def test_a_refused_login_inside_a_nameless_wrapper_is_an_auth_error_too():
    answer = payload("parcel_de_login_failed_code_5_doc.xml")
    start = answer.index(b"<data ")
    wrapped = answer[:start] + b"<data>" + answer[start:] + b"</data>"
    responses.get(URL, body=wrapped)
    with pytest.raises(AuthError, match="Log-in failed"):
        make_connector().track(["00340434161094032954"])


@responses.activate
def test_a_refused_key_or_secret_is_an_auth_error():
    responses.get(URL, status=401, body=b'{"title": "Unauthorized"}')
    with pytest.raises(AuthError) as caught:
        make_connector().track(["266334453"])
    assert API_SECRET not in caught.value.message and ZT_PASSWORD not in caught.value.message
    assert len(responses.calls) == 1


@responses.activate
def test_temporarily_unavailable_is_retryable():
    responses.get(URL, body=b'<data name="piece-shipment-list" code="-1" error="Fehler"/>')
    with pytest.raises(RetryableError):
        make_connector().track(["266334453"])


@responses.activate
def test_an_unknown_number_is_not_found_with_dhls_message():
    responses.get(URL, body=b'<data name="pieceshipmentlist" code="100" error="Keine Daten."/>')
    [result] = make_connector().track(["123"])
    assert result.found is False and result.error == "Keine Daten."


def test_parcel_de_needs_the_secret_and_the_tracking_login():
    for missing in ("api_secret", "zt_user", "zt_password"):
        with pytest.raises(ValidationError) as caught:
            settings(**{missing: None})
        assert missing in caught.value.normalized_messages()
    with pytest.raises(ValidationError):
        settings(tracking_api="parcel_de")
    unified = DhlSettings().load({"connector": "dhl", "api_key": "k"})
    assert unified["tracking_api"] == "unified" and unified["api_secret"] is None
    for key in ("api_key", "api_secret", "zt_password"):
        assert DhlSettings().fields[key].metadata.get("secret") is True
