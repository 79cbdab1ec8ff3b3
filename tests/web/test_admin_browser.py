"""The console in a real browser (headless Chromium against ``hub web``): signing in through
the form, by mouse and by keyboard, the roles' navigation and refusals, CSRF, signing out,
and full-page screenshots at laptop and phone widths."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import (
    PERSON_PASSWORD,
    QUIET_ROYALMAIL,
    accounts_fixture,
    make_person,
    send_shopify,
    shipped_order,
    shopify_order,
)
from tests.web.conftest import watch

accounts_file = accounts_fixture(QUIET_ROYALMAIL)  # shipped_order needs a Royal Mail account

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _sign_in(page, server: str, email: str, password: str = PERSON_PASSWORD) -> None:
    page.goto(server + "/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _shoot(page, folder: Path, name: str) -> None:
    for width, size in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(LAPTOP)


def test_signing_in_with_the_keyboard_and_out_in_a_browser(hub, server, page, tmp_path):
    make_person(hub, "boss@example.com", "admin")
    make_person(hub, "ann@example.com", "viewer", clients=["acme"])
    problems = watch(page)
    page.set_viewport_size(LAPTOP)
    page.goto(server + "/admin/users")
    assert page.url == server + "/admin/login?next=/admin/users"
    assert page.locator("h1").inner_text() == "Sign in"
    # the stylesheet came through the Content-Security-Policy: the button has its colour
    assert (
        page.get_by_role("button", name="Sign in").evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
        == "rgb(29, 78, 216)"
    )
    _shoot(page, tmp_path, "sign-in")

    page.get_by_label("Email").fill("boss@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_label("Password").press("Enter")
    assert page.get_by_role("alert").inner_text().startswith("Password: the email or password")
    assert page.locator("h1").inner_text() == "Sign in"

    page.goto(server + "/admin/login?next=/admin/users")
    assert page.evaluate("document.activeElement.name") == "email"  # autofocus
    page.keyboard.type("boss@example.com")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    page.keyboard.type(PERSON_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(server + "/admin/users")
    assert page.locator("h1").inner_text() == "People"
    assert "ann@example.com" in page.locator("table").inner_text()
    assert page.get_by_role("link", name="People").get_attribute("aria-current") == "page"
    _shoot(page, tmp_path, "people")

    page.get_by_role("link", name="Overview").click()
    assert page.locator("h1").inner_text() == "Overview"
    _shoot(page, tmp_path, "overview")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(server + "/admin/login")
    assert "Signed out." in page.locator(".flash").inner_text()
    page.goto(server + "/admin/")
    assert page.url.startswith(server + "/admin/login")
    assert problems == []


def test_an_admin_adds_and_disables_a_person_in_a_browser(hub, server, page):
    make_person(hub, "boss@example.com", "admin")
    problems = watch(page)
    _sign_in(page, server, "boss@example.com")
    page.goto(server + "/admin/users")
    page.get_by_label("Email").fill("new@example.com")
    page.get_by_label("Role").select_option("editor")
    page.get_by_label("acme").check()
    page.get_by_label("Password", exact=True).fill("a long new password")
    page.get_by_label("Password again").fill("a long new password")
    page.get_by_role("button", name="Add the person").click()
    assert "new@example.com can now sign in" in page.locator(".flash").inner_text()
    row = page.locator("tr", has_text="new@example.com")
    assert "editor" in row.inner_text() and "acme" in row.inner_text()
    page.get_by_role("button", name="Disable new@example.com").click()
    assert "new@example.com is disabled" in page.locator(".flash").inner_text()
    assert "disabled" in page.locator("tr", has_text="new@example.com").inner_text()
    assert page.get_by_role("button", name="Disable boss@example.com").count() == 0
    assert problems == []


def test_a_viewer_sees_no_people_link_and_is_refused_the_page(hub, server, page):
    make_person(hub, "ann@example.com", "viewer")
    _sign_in(page, server, "ann@example.com")
    page.wait_for_url(server + "/admin/")
    assert page.get_by_role("link", name="People").count() == 0
    answer = page.goto(server + "/admin/users")
    assert answer.status == 403
    assert page.locator("h1").inner_text() == "Not allowed"
    assert "needs the admin role" in page.locator("main").inner_text()


def test_a_form_sent_without_its_csrf_token_is_refused(hub, server, page):
    make_person(hub, "boss@example.com", "admin")
    _sign_in(page, server, "boss@example.com")
    page.wait_for_url(server + "/admin/")
    # the browser's own session cookie, but no token: as a form posted from another site
    forged = page.request.post(
        server + "/admin/users",
        form={"email": "evil@example.com", "role": "admin",
              "password": "a long new password", "confirm": "a long new password"},
    )  # fmt: skip
    assert forged.status == 400 and "could not be accepted" in forged.text()
    out = page.request.post(server + "/admin/logout", form={})
    assert out.status == 400
    page.goto(server + "/admin/users")
    assert page.locator("h1").inner_text() == "People"  # still signed in
    assert "evil@example.com" not in page.locator("main").inner_text()


def test_the_orders_pages_in_a_browser(hub, client, worker, viewer, editor, server, page, tmp_path):
    shipped_order(hub, client, worker, viewer, editor)
    for n in (2, 3):  # two more orders, still to ship
        order = shopify_order()
        order.update(id=450789469 + n, name=f"#100{n}", order_number=1000 + n)
        send_shopify(client, order)
    worker.drain()
    make_person(hub, "boss@example.com", "admin")
    problems = watch(page)
    page.set_viewport_size(LAPTOP)
    _sign_in(page, server, "boss@example.com")
    page.wait_for_url(server + "/admin/")
    _shoot(page, tmp_path, "overview-with-orders")
    for path, name in (("/admin/orders", "orders"), ("/admin/exceptions", "exceptions")):
        answer = page.goto(server + path)
        assert answer.status == 200, path
        _shoot(page, tmp_path, name)
    assert problems == []
