"""The console's orders: the filtered, searched, paged list and one order's whole story."""

from __future__ import annotations

import json
import re

from sqlalchemy import update

from hub.storage.models import OrderRow
from tests.conftest import (
    QUIET_ROYALMAIL,
    accounts_fixture,
    make_person,
    receive,
    send_shopify,
    shopify_order,
    sign_in,
    woo_headers,
    woo_order,
)

accounts_file = accounts_fixture(QUIET_ROYALMAIL)

ORDER_ROW = re.compile(r'<a href="/admin/orders/(\d+)">([^<]+)</a>')


def _numbers(page: str) -> list[str]:
    """The order numbers a list page shows, top to bottom."""
    return [number for _, number in ORDER_ROW.findall(page)]


def _shop(client, n: int, email: str = "bob@example.com", title: str | None = None) -> None:
    order = shopify_order()
    order["id"], order["name"], order["order_number"] = 450789000 + n, f"#{n}", n
    order["email"] = order["contact_email"] = email
    if title is not None:
        order["line_items"][0]["name"] = order["line_items"][0]["title"] = title
    send_shopify(client, order)


def _signed_in(hub, client, clients=None):
    make_person(hub, "ops@example.com", "viewer", clients)
    assert sign_in(client, "ops@example.com").status_code == 302


def test_the_list_is_newest_first_and_filters_narrow_it(hub, client, worker):
    for n in (1001, 1002, 1003):
        _shop(client, n, email=f"buyer{n}@example.com")
    woo = json.dumps(woo_order()).encode()
    assert client.post("/webhooks/woo-a", data=woo, headers=woo_headers(woo)).status_code == 202
    worker.drain()
    with hub.db.transaction() as session:
        session.execute(
            update(OrderRow).where(OrderRow.number == "#1002").values(status="needs_attention")
        )
    _signed_in(hub, client)

    page = client.get("/admin/orders")
    assert page.status_code == 200
    numbers = _numbers(page.text)
    assert len(numbers) == 4 and numbers[1:] == ["#1003", "#1002", "#1001"]
    assert '<label for="f-q">' in page.text and 'method="get"' in page.text
    assert (
        '<span class="status needs_attention" data-status="needs_attention">Needs attention</span>'
        in page.text
    )
    assert '<option value="needs_attention">Needs attention</option>' in page.text  # the filter
    assert "shopify / shop-a" in page.text and "acme" in page.text

    attention = client.get("/admin/orders?status=needs_attention&channel=shopify")
    assert _numbers(attention.text) == ["#1002"]
    assert _numbers(client.get("/admin/orders?channel=shopify").text) == [
        "#1003", "#1002", "#1001"
    ]  # fmt: skip
    assert len(_numbers(client.get("/admin/orders?channel=woocommerce").text)) == 1
    assert _numbers(client.get("/admin/orders?account=shop-a&status=ready").text) == [
        "#1003", "#1001"
    ]  # fmt: skip
    # search: the number with or without its #, the customer's email in any case
    assert _numbers(client.get("/admin/orders?q=%231001").text) == ["#1001"]
    assert _numbers(client.get("/admin/orders?q=1003").text) == ["#1003"]
    assert _numbers(client.get("/admin/orders?q=Buyer1002@Example.com").text) == ["#1002"]
    assert _numbers(client.get(f"/admin/orders?q={450789000 + 1002}").text) == ["#1002"]
    assert "No orders match." in client.get("/admin/orders?q=nobody@example.com").text
    # placed dates (the docs order was placed on 2008-01-10)
    assert len(_numbers(client.get("/admin/orders?placed_to=2008-01-10&channel=shopify").text))
    assert _numbers(
        client.get("/admin/orders?placed_from=2008-01-11&channel=shopify").text
    ) == []  # fmt: skip
    bad = client.get("/admin/orders?status=lost&q=x")
    assert bad.status_code == 400 and "status: must be one of" in bad.text
    assert 'value="x"' in bad.text


def test_the_list_pages_with_an_older_link_that_keeps_the_filters(hub, client, worker):
    for n in range(1001, 1006):
        _shop(client, n)
    worker.drain()
    _signed_in(hub, client)
    first = client.get("/admin/orders?channel=shopify&limit=2")
    assert _numbers(first.text) == ["#1005", "#1004"]
    older = re.search(r'<a href="([^"]+)" rel="next">Older</a>', first.text)
    assert older and "channel=shopify" in older.group(1)
    second = client.get(older.group(1).replace("&amp;", "&") + "&limit=2")
    assert _numbers(second.text) == ["#1003", "#1002"]
    last = client.get(
        re.search(r'<a href="([^"]+)" rel="next">', second.text).group(1).replace("&amp;", "&")
        + "&limit=2"
    )
    assert _numbers(last.text) == ["#1001"] and 'rel="next"' not in last.text
    assert ">Newest</a>" in last.text


def test_a_person_limited_to_clients_sees_only_their_orders(hub, client, worker):
    _shop(client, 1001)
    _shop(client, 1002)
    worker.drain()
    with hub.db.transaction() as session:
        session.execute(update(OrderRow).where(OrderRow.number == "#1002").values(client="other"))
        other_id = session.query(OrderRow.id).filter(OrderRow.number == "#1002").scalar()
        own_id = session.query(OrderRow.id).filter(OrderRow.number == "#1001").scalar()
    _signed_in(hub, client, clients=["acme"])
    assert _numbers(client.get("/admin/orders").text) == ["#1001"]
    assert _numbers(client.get("/admin/orders?client=other").text) == []
    assert _numbers(client.get("/admin/orders?q=1002").text) == []
    assert client.get(f"/admin/orders/{other_id}").status_code == 404
    assert client.get(f"/admin/orders/{own_id}").status_code == 200
    assert client.get("/admin/orders/99999").status_code == 404


def test_the_order_page_shows_timeline_lines_totals_and_the_raw_delivery(hub, client, worker):
    _shop(client, 1001, title="<script>alert('x')</script> iPod")
    worker.drain()
    _signed_in(hub, client)
    [(order_id, _)] = ORDER_ROW.findall(client.get("/admin/orders").text)
    page = client.get(f"/admin/orders/{order_id}")
    assert page.status_code == 200
    text = page.text
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; iPod" in text
    assert "IPOD2008RED" in text  # a line
    assert '<td data-kind="received">Received</td>' in text  # timeline
    assert "order #1001 received (orders/create" in text
    assert '<span class="status ready" data-status="ready">Ready</span>' in text
    assert "Shipping address" in text and "Not shipped yet." in text
    # the raw delivery, pretty-printed and escaped
    assert "<pre>{\n  &#34;id&#34;: 450790001," in text
    assert "&lt;script&gt;" in text.split("<pre>", 1)[1]
    assert "not yet (made when the order ships)" in text
    assert "Total</th>" in text and "USD" in text


def test_the_order_page_shows_parcels_and_the_tracking_page(hub, client, worker, viewer, editor):
    receive(hub, "IPOD2008RED", 1)
    _shop(client, 1001)
    worker.drain()
    order = client.get("/api/orders", headers=viewer).get_json()["items"][0]
    parcel = {
        "carrier": "royalmail",
        "tracking_number": "TT123456785GB",
        "lines": [{"sku": "IPOD2008RED", "quantity": 1}],
    }
    body = {"order_id": order["id"], "parcels": [parcel]}
    assert client.post("/api/shipments", json=body, headers=editor).status_code == 201
    _signed_in(hub, client)
    page = client.get(f"/admin/orders/{order['id']}").text
    assert "TT123456785GB" in page and "royalmail" in page
    assert 'data-status="shipped">Shipped</span></h1>' in page
    assert re.search(
        r'TT123456785GB</strong>:\s*<span class="status (\w+)" data-status="\1">', page
    )
    assert '<td data-kind="shipped">Shipped</td>' in page  # the timeline
    assert re.search(r'<a href="[^"]*/track/[^"]+">', page)
    assert _numbers(client.get("/admin/orders?q=TT123456785GB").text) == ["#1001"]
