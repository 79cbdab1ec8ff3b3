"""What a person's browser gets: the tracking page, the front page and error pages as HTML
with the security headers, checked as text and in a real browser (headless Chromium, served
by real gunicorn)."""

from __future__ import annotations

import pytest

from hub.web.pages import CONTENT_SECURITY_POLICY
from tests.conftest import (
    QUIET_ROYALMAIL,
    accounts_fixture,
    shipped_order,
)
from tests.web.conftest import watch

accounts_file = accounts_fixture(QUIET_ROYALMAIL)


def test_the_tracking_page_names_the_parcels_contents(hub, client, worker, viewer, editor):
    order = shipped_order(hub, client, worker, viewer, editor)
    path = "/track/" + order["tracking_page"].rsplit("/track/", 1)[1]
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "1 x IPod Nano - 8gb - red" in html and "built-in method" not in html
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "no-referrer"  # the page's own, stricter
    assert "<style" not in html  # the policy allows the hub's own stylesheet only
    [parcel] = client.get(path + "?format=json").get_json()["parcels"]
    assert parcel["contents"] == "1 x IPod Nano - 8gb - red"


@pytest.mark.parametrize("path", ["/track/no-such-token", "/track/" + "x" * 100, "/nowhere"])
def test_a_bad_link_is_a_page_for_a_person_and_json_for_a_program(client, path):
    person = client.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert person.status_code == 404 and person.mimetype == "text/html"
    assert "<h1>" in person.get_data(as_text=True)
    assert person.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    program = client.get(path, headers={"Accept": "application/json"})
    assert program.status_code == 404 and program.get_json()["error"]["code"] == "not_found"
    assert program.headers["X-Content-Type-Options"] == "nosniff"


def test_machine_addresses_answer_json_even_to_a_browser(client):
    answer = client.get("/api/orders", headers={"Accept": "text/html"})
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthorized"
    answer = client.get("/api/nowhere", headers={"Accept": "text/html"})
    assert answer.status_code == 404 and answer.is_json


def test_the_front_page_says_what_this_is(client):
    front = client.get("/")
    assert front.status_code == 200 and front.mimetype == "text/html"
    assert "<h1>Fulfilment Hub</h1>" in front.get_data(as_text=True)
    assert front.headers["X-Frame-Options"] == "DENY"


# -- in a real browser ----------------------------------------------------------------------
@pytest.mark.browser
def test_the_tracking_page_in_a_browser(
    hub, client, worker, viewer, editor, server, page, tmp_path
):
    order = shipped_order(hub, client, worker, viewer, editor)
    problems = watch(page, "the server responded with a status of 404")
    url = server + "/track/" + order["tracking_page"].rsplit("/track/", 1)[1]
    answer = page.goto(url)
    assert answer.status == 200
    assert page.locator("h1").inner_text() == "Order #1001"
    parcel = page.locator("section.parcel")
    assert parcel.count() == 1
    assert "1 x IPod Nano - 8gb - red" in parcel.inner_text()
    assert "Royal Mail" in parcel.inner_text() and "TT123456785GB" in parcel.inner_text()
    assert "built-in method" not in page.content()
    # the stylesheet came through the Content-Security-Policy: the parcel has its border
    radius = parcel.evaluate("e => getComputedStyle(e).borderTopLeftRadius")
    assert radius == "8px"
    page.screenshot(path=str(tmp_path / "tracking-page.png"), full_page=True)
    assert problems == []


@pytest.mark.browser
def test_a_bad_tracking_link_in_a_browser(hub, server, page, tmp_path):
    problems = watch(page, "the server responded with a status of 404")
    answer = page.goto(server + "/track/not-a-real-token")
    assert answer.status == 404
    assert page.locator("h1").inner_text() == "No tracking page at this address"
    assert "copied whole" in page.locator("main").inner_text()
    page.screenshot(path=str(tmp_path / "bad-link.png"), full_page=True)
    page.goto(server + "/")
    assert page.locator("h1").inner_text() == "Fulfilment Hub"
    assert problems == []
