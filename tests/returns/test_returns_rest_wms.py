"""Returns and a REST WMS (``responses`` as the WMS): an authorised return's advance notice
is POSTed once with an idempotency key; the returns the WMS received are polled back (from
the latest ``received_at`` read), receiving and inspecting them, and the shipments' position
is kept beside the returns'."""

from __future__ import annotations

import json

import pytest
from responses import matchers

from hub.stock import ledger
from tests.shipping import test_warehouse_rest_wms as rest
from tests.shipping.test_warehouse_rest_wms import (
    SKU,
    WMS,
    _poll,
    _poll_state,
    _released,
    _shipment,
)
from tests.wms import rest_wms_account

wms = rest.wms
clock = rest.clock


@pytest.fixture
def accounts_file(tmp_path):
    path = tmp_path / "hub.toml"
    path.write_text(
        rest.ACCOUNTS
        + rest_wms_account(
            WMS, rest.WMS_KEY, 'default_location = "A1"', 'carrier_map = { RM = "royalmail" }',
            'returns_endpoint = "/returns"', 'returns_received_endpoint = "/returns/received"',
        )
    )  # fmt: skip
    return path


def test_a_return_is_announced_and_its_receipt_polled_back(
    hub, client, worker, viewer, editor, wms
):
    order = _released(hub, client, worker, viewer, wms)
    wms.get(f"{WMS}/shipments", json={"items": [_shipment(order["id"])], "next_cursor": None})
    wms.get(f"{WMS}/returns/received", json={"items": [], "next_cursor": None})
    wms.get(f"{WMS}/stock", json={"items": [], "next_cursor": None})
    _poll(hub)
    line = {"sku": SKU, "quantity": 1, "reason": "wrong_item"}
    rid = client.post(
        "/api/returns", json={"order_id": order["id"], "lines": [line]}, headers=editor
    ).get_json()["id"]
    notice = wms.post(
        f"{WMS}/returns", status=201, json={"id": "RMA-77"},
        match=[matchers.header_matcher({"Idempotency-Key": f"hub-return-{rid}"})],
    )  # fmt: skip
    client.post(f"/api/returns/{rid}/authorise", headers=editor)
    worker.drain()
    assert notice.call_count == 1
    sent = json.loads(notice.calls[0].request.body)
    assert sent["return_id"] == rid and sent["lines"] == [line]
    events = client.get(f"/api/returns/{rid}", headers=viewer).get_json()["events"]
    assert events[-1]["message"].endswith("(RMA-77)")
    with hub.db.transaction() as session:
        before = ledger.levels(session, "acme", [SKU])[0]["on_hand"]
    receipt = {"return_id": rid, "received_at": "2030-01-05T09:00:00Z",
               "lines": [{"sku": SKU, "quantity": 1, "condition": "resellable"}]}  # fmt: skip
    wms.replace("GET", f"{WMS}/returns/received", json={"items": [receipt], "next_cursor": None})
    shipments_since = _poll_state(hub)
    assert _poll(hub)["failed"] == 0
    shown = client.get(f"/api/returns/{rid}", headers=viewer).get_json()
    assert shown["status"] == "inspected"
    with hub.db.transaction() as session:
        assert ledger.levels(session, "acme", [SKU])[0]["on_hand"] == before + 1
    state = _poll_state(hub)
    assert state["returns_since"] == "2030-01-05T09:00:00Z"
    assert state["since"] == shipments_since["since"]  # the shipments' position kept
    asked = [c.request.url for c in wms.calls if "/returns/received" in c.request.url][-1]
    assert "since" not in asked  # the first read asks from the start
    _poll(hub)
    asked = [c.request.url for c in wms.calls if "/returns/received" in c.request.url][-1]
    assert "since=2030-01-05T09%3A00%3A00Z" in asked
    with hub.db.transaction() as session:  # read again: nothing more
        assert ledger.levels(session, "acme", [SKU])[0]["on_hand"] == before + 1
