"""A return walked through the console in a real browser (headless Chromium against ``hub
web``): opened from the order's page, authorised with a return label, received with one line
resellable and one damaged; its status and timeline read in words, and the stock page shows
the resellable unit available again and the damaged one held, not for sale."""

from __future__ import annotations

import re

import pytest

from tests.conftest import (
    QUIET_ROYALMAIL,
    accounts_fixture,
    make_person,
    only_order,
    receive,
    send_shopify,
    set_quantity,
    shopify_order,
)
from tests.web.conftest import watch
from tests.web.test_admin_browser import LAPTOP, _shoot, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

accounts_file = accounts_fixture(QUIET_ROYALMAIL)
EDITOR = "ed@example.com"
#: the Shopify docs order's lines in order; only RED is still owed there, so BLACK is given
#: one unit still owed too
SKUS = ("IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK")
SHIPPED = ("IPOD2008RED", "IPOD2008BLACK")


def _shipped(hub, client, worker, viewer, editor) -> dict:
    """The Shopify docs order owing RED and BLACK, both in stock, released and shipped in
    one parcel."""
    for sku in SHIPPED:
        receive(hub, sku, 1)
    send_shopify(client, set_quantity(shopify_order(), SKUS.index("IPOD2008BLACK"), 1))
    worker.drain()
    order = only_order(client, viewer)
    parcel = {
        "carrier": "royalmail",
        "service": "TPN24",
        "tracking_number": "TT123456785GB",
        "lines": [{"sku": sku, "quantity": 1} for sku in SHIPPED],
    }
    body = {"order_id": order["id"], "parcels": [parcel]}
    shipped = client.post("/api/shipments", json=body, headers=editor)
    assert shipped.status_code == 201, shipped.get_json()
    return order


def _cells(row) -> list[str]:
    return [c.strip() for c in row.locator("td").all_inner_texts()]


def test_a_return_from_the_order_page_to_the_stock_page(
    hub, client, worker, viewer, editor, server, page, tmp_path
):
    order = _shipped(hub, client, worker, viewer, editor)
    make_person(hub, EDITOR, "editor")
    problems = watch(page)
    page.set_viewport_size(LAPTOP)
    _sign_in(page, server, EDITOR)
    page.wait_for_url(server + "/admin/")

    page.goto(f"{server}/admin/orders/{order['id']}")
    opening = page.get_by_role("form", name="Open a return")
    opening.get_by_label("Quantity of IPOD2008RED to return").fill("1")
    opening.get_by_label("Reason for IPOD2008RED").select_option("size_too_small")
    opening.get_by_label("Quantity of IPOD2008BLACK to return").fill("1")
    opening.get_by_label("Reason for IPOD2008BLACK").select_option("defective")
    opening.get_by_label("Note (optional)").fill("box crushed in the post")
    _shoot(page, tmp_path, "return-open")
    opening.get_by_role("button", name="Open a return").click()
    page.wait_for_url(re.compile(r".*/admin/returns/\d+$"))
    return_url = page.url
    heading = page.locator("h1")
    assert re.fullmatch(r"Return \d+ Requested", heading.inner_text())
    assert heading.locator(".status").get_attribute("data-status") == "requested"
    assert "is opened: now requested." in page.locator(".flash").inner_text()

    authorise = page.get_by_role("form", name="Authorise")
    authorise.get_by_label("Return label carrier (optional)").fill("royalmail")
    authorise.get_by_label("Return label tracking number (optional)").fill("RT000000001GB")
    # the client's only Royal Mail account is already chosen to follow the label
    account = authorise.get_by_label("Carrier account that follows the label")
    assert account.input_value() == "acme-royalmail"
    authorise.get_by_role("button", name="Authorise").click()
    page.wait_for_url(return_url)
    assert heading.inner_text().endswith("In transit")
    label = page.get_by_role("row", name=re.compile("Label tracking")).locator(".status")
    assert label.inner_text() == "Label issued"
    assert label.get_attribute("data-status") == "label_created"
    assert "RT000000001GB" in page.locator("main").inner_text()

    receiving = page.get_by_role("form", name="Receive")
    positions = {sku: SKUS.index(sku) + 1 for sku in SKUS}  # the order's line numbers
    red, black = positions["IPOD2008RED"], positions["IPOD2008BLACK"]
    assert receiving.get_by_label(f"Received of line {red}").input_value() == "1"
    receiving.get_by_label(f"Condition of line {red}").select_option("resellable")
    receiving.get_by_label(f"Grade of line {red}").select_option("A")
    receiving.get_by_label(f"Condition of line {black}").select_option("damaged")
    _shoot(page, tmp_path, "return-receive")
    receiving.get_by_role("button", name="Receive").click()
    page.wait_for_url(return_url)
    assert heading.inner_text().endswith("Inspected")

    lines = page.locator("table.wide").first.locator("tbody tr")
    assert [_cells(lines.nth(i))[1:] for i in range(lines.count())] == [
        ["IPOD2008RED", "Too small", "1", "1", "resellable", "A"],
        ["IPOD2008BLACK", "Defective", "1", "1", "damaged", ""],
    ]
    reasons = lines.locator("[data-reason]")
    assert reasons.evaluate_all("cells => cells.map(c => c.dataset.reason)") == [
        "size_too_small", "defective"
    ]  # fmt: skip
    timeline = page.locator("table.timeline tbody tr")
    kinds = [_cells(timeline.nth(i))[1] for i in range(timeline.count())]
    assert kinds == ["Requested", "Authorised", "In transit", "Received", "Inspected"]
    inspected = _cells(timeline.nth(4))
    assert inspected[2] == "1 x IPOD2008RED resellable (grade A); 1 x IPOD2008BLACK damaged"
    assert inspected[3] == EDITOR
    assert page.get_by_role("row", name=re.compile("Dock to stock")).inner_text() != ""
    _shoot(page, tmp_path, "return-inspected")

    page.goto(f"{server}/admin/stock?client=acme")
    rows = {
        _cells(row)[1]: _cells(row)[2:7]  # on hand, allocated, available, damaged, quarantine
        for row in page.locator("table.stock tbody tr").all()
    }
    assert rows["IPOD2008RED"] == ["1", "0", "1", "0", "0"]  # back on the shelf, for sale
    assert rows["IPOD2008BLACK"] == ["0", "0", "0", "1", "0"]  # held, never available
    _shoot(page, tmp_path, "stock-held")
    assert problems == []
