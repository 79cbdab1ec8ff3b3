"""Where the shipments feed resumes (connectors.warehouses.rest_wms.feed): pure, no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.warehouses.rest_wms import translate
from connectors.warehouses.rest_wms.feed import ShipmentFeed, order_key, position
from connectors.warehouses.rest_wms.tests.test_rest_wms_translate import settings
from hub.values import loads


def shipped(sid: str, at: Any) -> dict[str, Any]:
    return {"id": sid, "external_reference": "1", "shipped_at": at}


def walk(feed: ShipmentFeed, items: list[dict[str, Any]]) -> list[str]:
    """The ids the feed lets through."""
    s = settings()
    return [i["id"] for i in items if feed.read(i, translate.shipment(i, s))]


def test_the_first_poll_asks_for_everything():
    assert ShipmentFeed({}, settings()).start() == (None, {})
    assert ShipmentFeed(None, settings()).start() == (None, {})


def test_a_saved_position_is_sent_as_since():
    feed = ShipmentFeed({"since": "2030-01-02T10:00:00Z", "seen": ["S1"]}, settings())
    assert feed.start() == (None, {"since": "2030-01-02T10:00:00Z"})
    custom = ShipmentFeed({"since": 17}, settings(since_param="updated_after"))
    assert custom.start() == (None, {"updated_after": 17})


def test_the_position_moves_to_the_latest_shipment_once_every_page_is_read():
    feed = ShipmentFeed({}, settings())
    items = [
        shipped("S2", "2030-01-02T12:00:00Z"),
        shipped("S1", "2030-01-02T10:00:00Z"),  # pages need not be in time order
        shipped("S3", "2030-01-02T13:00:00+01:00"),  # the same instant as S2
    ]
    assert walk(feed, items) == ["S2", "S1", "S3"]
    assert feed.after_page("c2") is None  # a time position moves only at the end
    assert feed.finish() == {"since": "2030-01-02T12:00:00Z", "seen": ["S2", "S3"]}


def test_shipments_at_the_saved_time_read_before_are_skipped_and_new_ones_kept():
    state = {"since": "2030-01-02T12:00:00Z", "seen": ["S2", "S3"]}
    feed = ShipmentFeed(state, settings())
    items = [
        shipped("S2", "2030-01-02T12:00:00Z"),  # read by the last poll
        shipped("S4", "2030-01-02T12:00:00Z"),  # same time, new
        shipped("S3", "2030-01-02T12:00:00.000Z"),  # same instant, written otherwise
    ]
    assert walk(feed, items) == ["S4"]
    assert feed.finish() == {"since": "2030-01-02T12:00:00Z", "seen": ["S2", "S3", "S4"]}


def test_a_shipment_seen_before_at_another_time_is_read_again():
    # changed at the WMS since (a later time): the hub records the same parcel once anyway
    feed = ShipmentFeed({"since": "2030-01-02T12:00:00Z", "seen": ["S2"]}, settings())
    assert walk(feed, [shipped("S2", "2030-01-03T09:00:00Z")]) == ["S2"]
    assert feed.finish() == {"since": "2030-01-03T09:00:00Z", "seen": ["S2"]}


def test_nothing_new_saves_nothing():
    state = {"since": "2030-01-02T12:00:00Z", "seen": ["S2"]}
    feed = ShipmentFeed(state, settings())
    assert walk(feed, [shipped("S2", "2030-01-02T12:00:00Z")]) == []
    assert feed.finish() is None
    assert ShipmentFeed({}, settings()).finish() is None


def test_shipments_without_a_time_do_not_move_the_position():
    feed = ShipmentFeed({}, settings())
    assert walk(feed, [shipped("S1", None), shipped("S2", "")]) == ["S1", "S2"]
    assert feed.finish() is None


def test_another_since_field_and_numeric_positions():
    s = settings(since_field="seq")
    feed = ShipmentFeed({"since": 9, "seen": ["S9"]}, s)
    items = [
        {"id": "S9", "seq": 9},
        {"id": "S10", "seq": loads("10")},
        {"id": "S11", "seq": "11"},  # sent as text: compared as a number still
        {"id": "S8", "seq": 8},
    ]
    assert [i["id"] for i in items if feed.read(i, translate.shipment(i, s))] == [
        "S10",
        "S11",
        "S8",
    ]
    assert feed.finish() == {"since": "11", "seen": ["S11"]}


def test_a_change_feed_saves_the_wms_cursor_after_each_page():
    feed = ShipmentFeed({"since": "c1"}, settings(since_value="cursor"))
    assert feed.start() == (None, {"since": "c1"})
    assert walk(feed, [shipped("S1", "2030-01-01T00:00:00Z")]) == ["S1"]  # nothing skipped
    assert feed.after_page("c2") == {"since": "c2"}
    assert feed.after_page("c2") is None  # the same cursor again: nothing moved
    assert feed.after_page(None) is None
    assert feed.finish() is None


def test_a_change_feed_that_gives_links_resumes_at_the_link():
    link = "https://wms.example/api/shipments?after=abc"
    feed = ShipmentFeed({"since": link}, settings(since_value="cursor"))
    assert feed.start() == (link, {})


@pytest.mark.parametrize(
    ("value", "want"),
    [
        (loads("12"), 12),
        (loads("12.5"), "12.5"),
        (" 2030-01-01 ", "2030-01-01"),
        ("", None),
        (True, None),
        ({"a": 1}, None),
    ],
)
def test_positions_are_kept_as_json(value, want):
    assert position(value) == want


def test_positions_compare_as_numbers_times_or_text():
    assert order_key("10") > order_key(9)
    assert order_key("2030-01-02T12:00:00+01:00") == order_key("2030-01-02T11:00:00Z")
    assert order_key("b") > order_key("a")
    assert order_key("NaN")[0] == 2  # not a number that compares


def test_the_first_poll_may_start_at_a_set_position():
    s = settings(since_start="2030-01-01T00:00:00Z")
    assert ShipmentFeed({}, s).start() == (None, {"since": "2030-01-01T00:00:00Z"})
    # once a position is saved, it wins
    saved = {"since": "2030-02-01T00:00:00Z", "seen": []}
    assert ShipmentFeed(saved, s).start() == (None, {"since": "2030-02-01T00:00:00Z"})
