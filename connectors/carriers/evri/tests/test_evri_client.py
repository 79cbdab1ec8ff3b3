"""Evri's tracking API over HTTP (connectors.carriers.evri.client), with ``responses`` as
Evri: the exact requests, the key header, unknown barcodes, refused keys, retries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from connectors.carriers.evri import EvriConnector
from connectors.carriers.evri.client import EvriClient
from hub.connectors.accounts import parse_accounts
from hub.errors import AuthError, PermanentError

HERE = Path(__file__).parent
API = "https://api.hermesworld.co.uk/enterprise-tracking-api/v1"
BARCODE = "H01HYA0012345678"
URN = "urn:hermes:uk:parcel:barcode:H01HYA0012345678"
KEY = "evri-key-0123456789"
DELIVERED = (HERE / "payloads" / "parcels_delivered_by_courier.json").read_bytes()


def connector(**keys: Any) -> EvriConnector:
    data = {"connector": "evri", "api_key": KEY, **keys}
    text = "[accounts.e]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in data.items())
    acc = parse_accounts(text, "hub.toml", env={})["e"]
    return EvriConnector(acc, client=EvriClient(acc, limiter=None, sleep=lambda s: None))


@pytest.fixture
def evri():
    with responses.RequestsMock() as mock:
        yield mock


def test_a_search_then_the_parcel_with_the_key_on_both(evri):
    evri.get(f"{API}/parcels/search/{BARCODE}", json=[URN, "urn:older"])
    evri.get(
        f"{API}/parcels/",
        match=[matchers.query_param_matcher({"uniqueIds": URN})],
        body=DELIVERED,
    )
    (parcel,) = connector().track([BARCODE])
    assert parcel.found and parcel.status == "delivered" and len(parcel.events) == 5
    for call in evri.calls:
        assert call.request.headers["apiKey"] == KEY
        assert call.request.headers["Accept"] == "application/json"


def test_an_unknown_barcode_is_not_found_without_a_second_call(evri):
    evri.get(f"{API}/parcels/search/H01HYA0000000000", status=404, json={"error": "not found"})
    (parcel,) = connector().track(["H01HYA0000000000"])
    assert parcel.found is False and parcel.error == "Evri does not know this parcel"
    assert len(evri.calls) == 1


def test_an_empty_search_is_not_found(evri):
    evri.get(f"{API}/parcels/search/{BARCODE}", json=[])
    (parcel,) = connector().track([BARCODE])
    assert parcel.found is False and len(evri.calls) == 1


def test_a_refused_key_is_an_auth_error_that_does_not_show_the_key(evri):
    evri.get(f"{API}/parcels/search/{BARCODE}", status=401, body=f"bad key {KEY}")
    with pytest.raises(AuthError) as caught:
        connector().track([BARCODE])
    assert KEY not in str(caught.value) and KEY not in json.dumps(caught.value.details)


def test_a_bad_request_is_permanent(evri):
    evri.get(f"{API}/parcels/search/{BARCODE}", status=400, body="bad barcode")
    with pytest.raises(PermanentError):
        connector().track([BARCODE])


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_retried(evri, status):
    evri.get(f"{API}/parcels/search/{BARCODE}", status=status, body="busy")
    evri.get(f"{API}/parcels/search/{BARCODE}", json=[URN])
    evri.get(f"{API}/parcels/", body=DELIVERED)
    (parcel,) = connector().track([BARCODE])
    assert parcel.status == "delivered" and len(evri.calls) == 3


def test_api_base_replaces_the_public_address(evri):
    evri.get("https://evri.proxy.example/v1/parcels/search/H01", json=[])
    connector(api_base="https://evri.proxy.example/v1").track(["H01"])
    assert len(evri.calls) == 1


def test_a_barcode_is_escaped_in_the_path(evri):
    evri.get(f"{API}/parcels/search/a%2Fb", json=[])
    connector().track(["a/b"])
    assert evri.calls[0].request.url == f"{API}/parcels/search/a%2Fb"


def test_one_number_per_call_and_the_tracking_page():
    c = connector()
    assert c.track([]) == []
    with pytest.raises(ValueError):
        c.track([BARCODE, BARCODE])
    assert c.tracking_url(BARCODE) == "https://www.evri.com/track/parcel/H01HYA0012345678"
    assert c.settings_schema().fields["api_key"].metadata["secret"] is True
