"""Following parcels through a real carrier connector: Royal Mail's Tracking API faked with
``responses`` and its recorded answers; the timed pass, batching, the CLI, and a number the
carrier does not know yet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from hub import cli
from hub.jobs import outbox
from hub.shipping import tracking
from hub.storage.models import JobRow, ParcelRow
from hub.values import now
from tests.conftest import (
    CALLED_ROYALMAIL,
    accounts_fixture,
    only_order,
    order_events,
    receive,
    send_shopify,
    set_quantity,
    shopify_order,
)

RM = "https://api.royalmail.net/mailpieces/v2"
PAYLOADS = Path(__file__).parents[2] / "connectors/carriers/royalmail/tests/payloads"
DELIVERED = "TT123456785GB"  # tracking_v2_events_delivered_history_built.json
SUMMARY = PAYLOADS / "tracking_v2_summary_batch_built.json"


accounts_file = accounts_fixture(CALLED_ROYALMAIL)


@pytest.fixture
def rm() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _ship(hub, client, worker, viewer, editor, numbers: list[str]) -> dict:
    receive(hub, "IPOD2008RED", len(numbers))
    order = shopify_order()
    set_quantity(order, 1, len(numbers))
    send_shopify(client, order)
    worker.drain()
    released = only_order(client, viewer)
    body = {
        "order_id": released["id"],
        "parcels": [
            {
                "carrier": "royalmail",
                "tracking_number": n,
                "lines": [{"sku": "IPOD2008RED", "quantity": 1}],
            }
            for n in numbers
        ],
    }
    assert client.post("/api/shipments", json=body, headers=editor).status_code == 201
    with hub.db.transaction() as s:  # as if the first look were due now
        s.execute(update(ParcelRow).values(next_check_at=now()))
        # telling Shopify is another test's business (tests/shipping/test_fulfilment.py)
        s.execute(delete(JobRow).where(JobRow.kind == "fulfilment.push"))
    return released


def test_the_timed_pass_asks_royal_mail_and_the_order_is_delivered(
    hub, client, worker, viewer, editor, rm
):
    order = _ship(hub, client, worker, viewer, editor, [DELIVERED])
    rm.get(
        f"{RM}/{DELIVERED}/events",
        body=(PAYLOADS / "tracking_v2_events_delivered_history_built.json").read_bytes(),
        content_type="application/json",
    )
    with hub.db.transaction() as s:
        outbox.enqueue(s, tracking.POLL_DUE, {"slot": 1}, max_attempts=3)
    worker.drain()
    call = rm.calls[0].request
    assert call.headers["X-IBM-Client-Id"] == "rm-client"
    assert call.headers["X-Accept-RMG-Terms"] == "yes"
    shown = client.get(f"/api/orders/{order['id']}", headers=viewer).get_json()
    assert shown["status"] == "delivered"
    [parcel] = shown["shipments"][0]["parcels"]
    assert parcel["status"] == "delivered" and len(parcel["events"]) == 8
    kinds = [e["kind"] for e in order_events(client, viewer, order["id"])]
    assert "tracking_delivery_attempted" in kinds and kinds[-1] == "delivered"
    with hub.db.transaction() as s:
        assert s.execute(select(ParcelRow.next_check_at)).scalar_one() is None
        polls = s.execute(select(JobRow.status).where(JobRow.kind == tracking.POLL)).all()
        assert polls == [("done",)]


def test_parcels_due_together_go_in_one_summary_call(hub, client, worker, viewer, editor, rm):
    import json

    answer = json.loads(SUMMARY.read_text())
    numbers = [m["mailPieceId"] for m in answer["mailPieces"]]
    _ship(hub, client, worker, viewer, editor, numbers)
    rm.get(f"{RM}/summary", body=SUMMARY.read_bytes(), content_type="application/json")
    counts = tracking.poll_account(hub, hub.accounts["acme-royalmail"])
    assert counts["calls"] == 1 and counts["parcels"] == len(numbers)
    assert rm.calls[0].request.url.endswith("mailPieceId=" + ",".join(numbers))


def test_a_number_royal_mail_does_not_know_is_asked_again_later(
    hub, client, worker, viewer, editor, rm
):
    _ship(hub, client, worker, viewer, editor, ["AB000000000GB"])
    rm.get(
        f"{RM}/AB000000000GB/events",
        status=404,
        body=(PAYLOADS / "tracking_v2_events_404_E1142_built.json").read_bytes(),
        content_type="application/json",
    )
    counts = tracking.poll_account(hub, hub.accounts["acme-royalmail"])
    assert counts["not_found"] == 1
    with hub.db.transaction() as s:
        parcel = s.execute(select(ParcelRow)).scalar_one()
        assert parcel.status == "label_created" and "E1142" in (parcel.carrier_status or "")
        assert parcel.next_check_at > now()  # not due again at once
    assert tracking.poll_account(hub, hub.accounts["acme-royalmail"])["parcels"] == 0


def test_hub_tracking_poll_by_hand(hub, client, worker, viewer, editor, rm, monkeypatch):
    _ship(hub, client, worker, viewer, editor, [DELIVERED])
    rm.get(
        f"{RM}/{DELIVERED}/events",
        body=(PAYLOADS / "tracking_v2_events_delivered_history_built.json").read_bytes(),
        content_type="application/json",
    )
    monkeypatch.setenv("HUB_DATABASE_URL", hub.settings.database_url)
    monkeypatch.setenv("HUB_CONFIG", hub.settings.config)
    result = CliRunner().invoke(cli.cli, ["tracking", "poll", "--account", "acme-royalmail"])
    assert result.exit_code == 0, result.output
    assert "acme-royalmail: 1 parcel(s) in 1 call(s): 8 new event(s), 1 delivered" in result.output
    result = CliRunner().invoke(cli.cli, ["tracking", "poll", "--account", "nope"])
    assert result.exit_code != 0 and "not a carrier account: nope" in result.output


def test_a_manual_poll_asks_about_a_parcel_just_shipped(
    hub, client, worker, viewer, editor, rm, monkeypatch
):
    """The scheduler's first look at a new parcel is hours away; a person who runs
    ``hub tracking poll`` right after shipping wants it asked now, unless ``--due-only``."""
    _ship(hub, client, worker, viewer, editor, [DELIVERED])
    with hub.db.transaction() as s:  # as the hub schedules a new parcel: not due for hours
        s.execute(update(ParcelRow).values(next_check_at=now() + timedelta(hours=6)))
    rm.get(
        f"{RM}/{DELIVERED}/events",
        body=(PAYLOADS / "tracking_v2_events_delivered_history_built.json").read_bytes(),
        content_type="application/json",
    )
    monkeypatch.setenv("HUB_DATABASE_URL", hub.settings.database_url)
    monkeypatch.setenv("HUB_CONFIG", hub.settings.config)
    args = ["tracking", "poll", "--account", "acme-royalmail"]
    due_only = CliRunner().invoke(cli.cli, [*args, "--due-only"])
    assert due_only.exit_code == 0, due_only.output
    assert "acme-royalmail: 0 parcel(s) in 0 call(s)" in due_only.output
    assert len(rm.calls) == 0
    result = CliRunner().invoke(cli.cli, args)
    assert result.exit_code == 0, result.output
    assert "acme-royalmail: 1 parcel(s) in 1 call(s): 8 new event(s), 1 delivered" in result.output
