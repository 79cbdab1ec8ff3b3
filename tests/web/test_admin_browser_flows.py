"""The console's flows in a real browser (headless Chromium against ``hub web``), with the
worker of the test process taking in what the pages queue: a failed delivery replayed from
the exceptions queue, Retry all for a filtered selection, and a mapping edited (refused with
its error, then saved) and rolled back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hub.mapping import compiled, store
from hub.storage.models import DeliveryRow, JobRow, MappingVersionRow, OrderRow
from tests.conftest import make_person, send_shopify, shopify_order
from tests.web.conftest import watch
from tests.web.test_admin_browser import LAPTOP, _shoot, _sign_in
from tests.web.test_admin_exceptions import _dead_job

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EDITOR = "ed@example.com"
#: a mapping mistake: the order's number taken from its note, which can be longer than the
#: 100 characters the hub keeps, so the delivery fails (and its raw body stays for a replay)
NUMBER_FROM_NOTE = {"version": 1, "fields": {"number": "note"}}
#: the reason such a delivery fails with
TOO_LONG = "number is 150 characters long; at most 100 are kept"

SPEC = """version: 1
fields:
  notes: "note_attributes[?name=='colour'].value | [0]"
"""
CHANGED = SPEC.replace("colour", "size")
INVALID = SPEC.replace("notes:", "no_such_field:")


def _save_mapping(hub, spec: dict[str, Any], comment: str) -> None:
    """A version of shop-a's mapping saved by the editor (as the console or API would)."""
    with hub.db.transaction() as session:
        store.save(session, hub.accounts["shop-a"], spec, author=EDITOR, comment=comment)


def _failing_order(client, worker, n: int) -> int:
    """A Shopify order (``#100<n>``) that the mistaken mapping fails; its delivery's id."""
    order = dict(shopify_order(), id=450789469 + n, name=f"#100{n}", order_number=1000 + n)
    order["note"] = "x" * 150
    send_shopify(client, order)
    worker.drain()
    with client.application.extensions["hub"].db.transaction() as session:
        delivery = session.execute(
            select(DeliveryRow).order_by(DeliveryRow.id.desc()).limit(1)
        ).scalar_one()
        assert (delivery.status, delivery.error) == ("failed", TOO_LONG)
        return delivery.id


def _nav(page, name: str):
    """The console navigation's link ``name``."""
    return page.get_by_role("navigation", name="Console").get_by_role("link", name=name, exact=True)


def _delivery(hub, delivery_id: int) -> tuple[str, str | None]:
    """A delivery's status and the external id of the order it made (None: no order)."""
    with hub.db.transaction() as session:
        row = session.get(DeliveryRow, delivery_id)
        order = session.get(OrderRow, row.order_id) if row.order_id else None
        return row.status, order.external_id if order is not None else None


def _orders(hub) -> list[str]:
    with hub.db.transaction() as session:
        return sorted(session.execute(select(OrderRow.external_id)).scalars())


def test_a_failed_delivery_is_replayed_from_the_queue(hub, client, worker, server, page, tmp_path):
    _save_mapping(hub, NUMBER_FROM_NOTE, "number from the note")
    delivery_id = _failing_order(client, worker, 1)
    _save_mapping(hub, {"version": 1}, "the number is Shopify's again")  # the mistake fixed
    assert _orders(hub) == []
    make_person(hub, EDITOR, "editor")
    problems = watch(page)
    page.set_viewport_size(LAPTOP)
    _sign_in(page, server, EDITOR)
    page.wait_for_url(server + "/admin/")
    _nav(page, "Exceptions").click()
    page.wait_for_url(server + "/admin/exceptions")
    row = page.locator("tbody tr", has_text=TOO_LONG)
    assert row.count() == 1
    assert f"orders/create could not be taken in: {TOO_LONG}" in row.inner_text()
    assert "shop-a" in row.inner_text() and "acme" in row.inner_text()
    _shoot(page, tmp_path, "exceptions-failed-delivery")

    row.get_by_role("button", name="Replay").click()
    page.wait_for_url(server + "/admin/exceptions")
    assert f"Delivery {delivery_id} is queued to be taken in again." in (
        page.locator(".flash").inner_text()
    )
    assert _delivery(hub, delivery_id) == ("received", None)
    worker.drain()
    page.reload()
    assert page.locator("tbody tr", has_text=TOO_LONG).count() == 0
    assert "could not be taken in" not in page.locator("main").inner_text()
    assert _delivery(hub, delivery_id) == ("processed", "450789470")
    page.goto(server + "/admin/orders")
    assert page.locator("tbody tr", has_text="450789470").count() == 1
    assert problems == []


def test_retry_all_of_a_filtered_selection(hub, client, worker, server, page, tmp_path):
    _save_mapping(hub, NUMBER_FROM_NOTE, "number from the note")
    deliveries = [_failing_order(client, worker, n) for n in (1, 2)]
    job_id = _dead_job(hub)  # a dead job of shop-a too, which the selection leaves out
    _save_mapping(hub, {"version": 1}, "the number is Shopify's again")
    make_person(hub, EDITOR, "editor")
    problems = watch(page)
    page.set_viewport_size(LAPTOP)
    _sign_in(page, server, EDITOR)
    page.wait_for_url(server + "/admin/")
    page.goto(server + "/admin/exceptions")
    main = page.locator("main")
    assert page.locator("tbody tr", has_text=TOO_LONG).count() == 2
    assert "stock.push gave up after 1 attempt:" in main.inner_text()
    _shoot(page, tmp_path, "exceptions")

    page.get_by_label("Kind").select_option("delivery")
    page.get_by_label("Account").select_option("shop-a")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/admin/exceptions?kind=delivery&account=shop-a*")
    assert page.locator("tbody tr").count() == 2
    assert "stock.push" not in main.inner_text()

    page.get_by_role("button", name="Retry all").click()
    assert page.locator("h1").inner_text() == "Retry all?"
    asked = main.inner_text()
    assert "This queues again 2 items: 2 failed deliveries to take in again and 0 dead jobs" in (
        asked
    )
    assert "(kind delivery, account shop-a)" in asked
    assert [_delivery(hub, d)[0] for d in deliveries] == ["failed", "failed"]  # asked only
    _shoot(page, tmp_path, "exceptions-retry-all")

    page.get_by_role("button", name="Yes, retry 2").click()
    page.wait_for_url("**/admin/exceptions?kind=delivery&account=shop-a")
    assert "Queued again: 2 deliveries and 0 jobs." in page.locator(".flash").inner_text()
    worker.drain()
    page.reload()
    assert page.locator("tbody tr").count() == 0
    assert "Nothing needs a person in this selection." in main.inner_text()
    assert page.get_by_role("button", name="Retry all").count() == 0
    assert [_delivery(hub, d) for d in deliveries] == [
        ("processed", "450789470"),
        ("processed", "450789471"),
    ]
    # what the selection left out is still there, untouched
    page.goto(server + "/admin/exceptions")
    assert page.locator("tbody tr").count() == 1
    assert "stock.push gave up after 1 attempt:" in main.inner_text()
    with hub.db.transaction() as session:
        assert session.get(JobRow, job_id).status == "dead"
    assert problems == []


def _versions(hub) -> list[tuple[int, str | None]]:
    with hub.db.transaction() as session:
        rows = session.execute(select(MappingVersionRow).order_by(MappingVersionRow.number))
        return [(r.number, r.comment) for r in rows.scalars()]


def test_a_mapping_refused_then_saved_then_rolled_back(hub, server, page, tmp_path):
    make_person(hub, EDITOR, "editor")
    _save_mapping(hub, compiled.parse_spec(SPEC, "yaml"), "colour into notes")
    problems = watch(page)
    page.set_viewport_size(LAPTOP)
    _sign_in(page, server, EDITOR)
    page.wait_for_url(server + "/admin/")
    _nav(page, "Mappings").click()
    page.get_by_role("link", name="shop-a", exact=True).click()
    page.wait_for_url(server + "/admin/mappings/shop-a")
    heading = page.locator("main p.muted").first
    assert "version 1 by ed@example.com" in heading.inner_text()
    spec = page.get_by_label("Spec (YAML)")
    assert "colour" in spec.input_value()

    # a syntax error names its line; what was typed stays in the form
    broken = "version: 1\nfields:\n  notes: [unclosed\n"
    spec.fill(broken)
    page.get_by_role("button", name="Save as a new version").click()
    assert "YAML syntax error at line" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Spec (YAML)").input_value() == broken

    # a field the hub does not have is named, with the ones it has
    page.get_by_label("Spec (YAML)").fill(INVALID)
    page.get_by_label("Comment").fill("a field that does not exist")
    page.get_by_role("button", name="Save as a new version").click()
    alert = page.get_by_role("alert")
    assert "The spec is not valid" in alert.inner_text()
    assert "fields.no_such_field: unknown field 'no_such_field' (allowed: number" in (
        alert.inner_text()
    )
    assert page.get_by_label("Spec (YAML)").input_value() == INVALID
    assert page.get_by_label("Comment").input_value() == "a field that does not exist"
    assert "version 1 by ed@example.com" in heading.inner_text()
    assert page.locator("tbody tr").count() == 1  # the versions
    assert _versions(hub) == [(1, "colour into notes")]  # nothing saved
    _shoot(page, tmp_path, "mapping-error")

    page.get_by_label("Spec (YAML)").fill(CHANGED)
    page.get_by_label("Comment").fill("size into notes")
    page.get_by_role("button", name="Save as a new version").click()
    page.wait_for_url(server + "/admin/mappings/shop-a")
    assert "Saved as version 2." in page.locator(".flash").inner_text()
    assert "version 2 by ed@example.com" in heading.inner_text()
    assert "size" in page.get_by_label("Spec (YAML)").input_value()
    assert page.get_by_role("alert").count() == 0
    assert _versions(hub) == [(1, "colour into notes"), (2, "size into notes")]

    page.get_by_role("button", name="Roll back to 1").click()
    page.wait_for_url(server + "/admin/mappings/shop-a")
    assert "Rolled back: version 3 is version 1 again." in page.locator(".flash").inner_text()
    assert "version 3 by ed@example.com" in heading.inner_text()
    text = page.get_by_label("Spec (YAML)").input_value()
    assert "colour" in text and "size" not in text
    newest = page.locator("tbody tr").first
    assert "roll back to version 1" in newest.inner_text()
    assert newest.get_by_role("button").count() == 0  # the current version: nothing to roll to
    assert _versions(hub)[-1] == (3, "roll back to version 1")
    _nav(page, "Mappings").click()
    assert page.locator("tr", has_text="shop-a").locator("td").nth(3).inner_text() == "3"
    assert problems == []


def test_deliveries_and_jobs_read_and_acted_on_in_a_browser(
    hub, client, worker, server, page, tmp_path
):
    _save_mapping(hub, NUMBER_FROM_NOTE, "number from the note")
    delivery_id = _failing_order(client, worker, 1)
    _save_mapping(hub, {"version": 1}, "the number is Shopify's again")
    job_id = _dead_job(hub)
    make_person(hub, EDITOR, "editor")
    problems = watch(page)
    page.set_viewport_size(LAPTOP)
    _sign_in(page, server, EDITOR)
    page.wait_for_url(server + "/admin/")
    _nav(page, "Deliveries").click()
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/admin/deliveries?status=failed*")  # the filtered page, loaded
    rows = page.locator("main table tbody tr")
    assert rows.count() == 1 and TOO_LONG in rows.first.inner_text()
    _shoot(page, tmp_path, "deliveries")
    page.get_by_role("link", name=str(delivery_id), exact=True).click()
    assert page.locator("h1").inner_text().startswith(f"Delivery {delivery_id}")
    assert TOO_LONG in page.locator("pre.error").inner_text()
    assert '"line_items": [' in page.locator("main").inner_text()  # the body, pretty-printed
    _shoot(page, tmp_path, "delivery")
    page.get_by_role("button", name="Replay").click()
    assert page.url == f"{server}/admin/deliveries/{delivery_id}"
    assert "queued to be taken in again" in page.locator(".flash").inner_text()
    worker.drain()
    page.reload()
    assert page.locator("h1").inner_text().endswith("Processed")
    assert page.locator("h1 .status").get_attribute("data-status") == "processed"
    assert page.get_by_role("link", name="order", exact=False).count() >= 1
    _nav(page, "Jobs").click()
    page.get_by_label("Status").select_option("dead")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/admin/jobs?status=dead*")
    page.get_by_role("link", name=str(job_id), exact=True).click()
    assert "no such item" in page.locator("pre.error").inner_text()
    _shoot(page, tmp_path, "job")
    page.get_by_label("Reason to discard").fill("the SKU was retired")
    page.get_by_role("button", name="Discard").click()
    assert page.url == f"{server}/admin/jobs/{job_id}"
    assert page.locator("h1").inner_text().endswith("Discarded")
    assert page.locator("h1 .status").get_attribute("data-status") == "discarded"
    with hub.db.transaction() as session:
        assert session.get(JobRow, job_id).status == "discarded"
    assert problems == []


def test_a_report_with_its_chart_in_a_browser(hub, server, page, tmp_path):
    from datetime import UTC, datetime, timedelta

    from tests.reports.test_kpis import _order

    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with hub.db.transaction() as session:
        for hour, channel, client in [(h, "shopify", "acme") for h in (7, 8, 8, 9, 9, 9, 13)] + [
            (h, "woocommerce", "acme") for h in (8, 10, 10, 15)
        ]:
            _order(
                session,
                channel=channel,
                client=client,
                received=today + timedelta(hours=hour),
                shipped=today + timedelta(hours=hour + 3),
            )
    make_person(hub, EDITOR, "viewer")
    problems = watch(page)
    page.set_viewport_size(LAPTOP)
    _sign_in(page, server, EDITOR)
    page.wait_for_url(server + "/admin/")
    _nav(page, "Reports").click()
    page.get_by_role("link", name="Orders by hour of day").click()
    page.wait_for_url("**/admin/reports/orders_by_hour*")
    chart = page.get_by_role("img", name="Orders by hour of day")
    assert chart.is_visible()
    bars = chart.locator("rect title")
    assert bars.count() == 2 * 24  # a bar for each channel each hour
    assert "09:00, shopify: 3" in bars.nth(2 * 9).text_content()
    table = page.locator("table.report")
    assert "09:00" in table.inner_text()
    _shoot(page, tmp_path, "report-orders-by-hour")
    page.goto(server + "/admin/reports/order_cycle_time")
    assert page.get_by_role("img", name="Order cycle time").is_visible()
    _shoot(page, tmp_path, "report-cycle-time")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("order_cycle_time_")
    assert problems == []
