"""The console's returns: opened from the order's page, listed with filters and paged by
cursor, one return's page with its lines, label, dates and timeline, and every step an editor
takes from there (each audited with the person's email); refusals name the problem, viewers
read only, and a person limited to some clients sees only theirs."""

from __future__ import annotations

import re

from sqlalchemy import select

from hub.returns import store
from hub.storage.models import AuditRow, OrderRow, ReturnRow, StockLevelRow
from tests.conftest import QUIET_ROYALMAIL, accounts_fixture, csrf_token, make_person, sign_in
from tests.conftest import shipped_order as _shipped_order

accounts_file = accounts_fixture(
    QUIET_ROYALMAIL
    + """
[accounts.globex-shop]
connector = "woocommerce"
client = "globex"
url = "https://globex.example"
webhook_secret = "globex-secret"
consumer_key = "ck_g"
consumer_secret = "cs_g"
"""
)
SKU = "IPOD2008RED"


def _signed_in(hub, client, role: str, clients: list[str] | None = None) -> str:
    email = make_person(hub, f"{role}-{'-'.join(clients or ['all'])}@example.com", role, clients)
    assert sign_in(client, email).status_code == 302
    return email


def _position(hub, order_id: int) -> int:
    with hub.db.transaction() as session:
        lines = session.get(OrderRow, order_id).data["lines"]
        return next(p for p, line in enumerate(lines) if line.get("sku") == SKU)


def _post(client, url: str, page_url: str, **data):
    token = csrf_token(client.get(page_url).text)
    return client.post(url, data={"csrf_token": token, **data})


def _open(client, order_id: int, position: int, quantity: int = 1, **more):
    data = {f"qty-{position}": str(quantity), f"reason-{position}": "defective", **more}
    return _post(client, f"/admin/orders/{order_id}/returns", f"/admin/orders/{order_id}", **data)


def _step(client, return_id: int, step: str, **data):
    return _post(
        client, f"/admin/returns/{return_id}/{step}", f"/admin/returns/{return_id}", **data
    )


def _ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/admin/returns/(\d+)"', page)]


def _on_hand(hub, location: str) -> int:
    with hub.db.transaction() as session:
        row = session.get(StockLevelRow, ("acme", SKU, location))
        return row.on_hand if row is not None else 0


def _audited(hub) -> list[tuple[str, str, str]]:
    with hub.db.transaction() as session:
        rows = session.execute(
            select(AuditRow).where(AuditRow.action.startswith("return.")).order_by(AuditRow.id)
        ).scalars()
        return [(r.actor, r.action, r.target) for r in rows]


def _a_return(hub, order_id: int, reason: str = "defective") -> int:
    """A return of the shipped line opened through the store (as the API would)."""
    with hub.db.transaction() as session:
        order = session.get(OrderRow, order_id)
        row = store.open_return(
            session, order, [store.LineRequest(quantity=1, sku=SKU, reason=reason)],
            actor="test", source="api",
        )  # fmt: skip
        return row.id


def test_an_editor_opens_a_return_from_the_order_and_takes_it_to_the_shelf(
    hub, client, worker, viewer, editor
):
    order = _shipped_order(hub, client, worker, viewer, editor)
    position = _position(hub, order["id"])
    email = _signed_in(hub, client, "editor")
    page = client.get(f"/admin/orders/{order['id']}")
    assert page.status_code == 200
    assert "Open a return" in page.text and "(1 can come back)" in page.text
    assert f'name="qty-{position}"' in page.text and 'max="1"' in page.text
    assert '<option value="size_too_small">Too small</option>' in page.text  # the reasons offered
    assert "No returns." in page.text

    opened = _open(client, order["id"], position, note="scratched screen")
    assert opened.status_code == 302, opened.text
    [return_id] = [int(n) for n in re.findall(r"/admin/returns/(\d+)", opened.headers["Location"])]
    detail = client.get(f"/admin/returns/{return_id}")
    assert detail.status_code == 200
    assert f"Return {return_id} is opened: now requested." in detail.text
    assert "scratched screen" in detail.text
    assert 'data-reason="defective">Defective</td>' in detail.text
    assert f'href="/admin/orders/{order["id"]}"' in detail.text
    assert 'data-status="requested">Requested</span></h1>' in detail.text
    for step in ("authorise", "reject", "receive", "cancel"):
        assert f"/admin/returns/{return_id}/{step}" in detail.text
    # the client's only carrier account is the one chosen to follow a label
    assert '<option value="acme-royalmail" selected>acme-royalmail (royalmail)</option>' in (
        detail.text
    )
    assert f"/admin/returns/{return_id}/close" not in detail.text  # not received yet
    again = client.get(f"/admin/orders/{order['id']}")
    assert f'href="/admin/returns/{return_id}"' in again.text
    assert "Open a return" not in again.text  # the one shipped is coming back already

    authorised = _step(
        client, return_id, "authorise", carrier="royalmail", tracking_number="RT000000001GB"
    )
    assert authorised.status_code == 302
    detail = client.get(f"/admin/returns/{return_id}")
    assert "now in transit" in detail.text and "RT000000001GB" in detail.text
    assert 'data-status="in_transit">In transit</span></h1>' in detail.text
    assert 'data-status="label_created">Label issued</span>' in detail.text
    assert ">in_transit<" not in detail.text
    received = _step(
        client, return_id, "receive",
        **{f"qty-{position}": "1", f"condition-{position}": "resellable", f"grade-{position}": "A"},
    )  # fmt: skip
    assert received.status_code == 302, received.text
    detail = client.get(f"/admin/returns/{return_id}")
    assert "now inspected" in detail.text
    assert "resellable" in detail.text and ">A</td>" in detail.text
    assert "Dock to stock" in detail.text and re.search(r"<td>\d+ s</td>", detail.text)
    assert _on_hand(hub, "default") == 1
    closed = _step(client, return_id, "close")
    assert closed.status_code == 302
    detail = client.get(f"/admin/returns/{return_id}")
    assert "now closed" in detail.text and "Next steps" not in detail.text
    for kind, words in (
        ("requested", "Requested"),
        ("authorised", "Authorised"),
        ("in_transit", "In transit"),
        ("received", "Received"),
        ("inspected", "Inspected"),
        ("closed", "Closed"),
    ):
        assert f'<td data-label="Kind" data-kind="{kind}">{words}</td>' in detail.text
    assert email in detail.text  # the timeline says who
    assert _audited(hub) == [
        (email, f"return.{action}", f"return:{return_id}")
        for action in ("open", "authorise", "receive", "close")
    ]
    with hub.db.transaction() as session:
        assert session.get(ReturnRow, return_id).source == "console"


def test_receive_then_inspect_reject_and_cancel(hub, client, worker, viewer, editor):
    order = _shipped_order(hub, client, worker, viewer, editor)
    position = _position(hub, order["id"])
    email = _signed_in(hub, client, "editor")
    first = _a_return(hub, order["id"])
    assert _step(client, first, "reject").status_code == 422  # a reason is needed
    rejected = _step(client, first, "reject", reason="outside the 30 days")
    assert rejected.status_code == 302
    detail = client.get(f"/admin/returns/{first}")
    assert "outside the 30 days" in detail.text and "now rejected" in detail.text

    second = _a_return(hub, order["id"])
    received = _step(client, second, "receive", **{f"qty-{position}": "1"})
    assert received.status_code == 302
    detail = client.get(f"/admin/returns/{second}")
    assert "now received" in detail.text
    assert f"/admin/returns/{second}/inspect" in detail.text
    assert f"/admin/returns/{second}/cancel" not in detail.text
    assert _step(client, second, "inspect").status_code == 422  # no condition chosen
    bad = _step(client, second, "inspect", **{f"condition-{position}": "shiny"})
    assert bad.status_code == 422 and "one of resellable, damaged, quarantine" in bad.text
    inspected = _step(
        client, second, "inspect",
        **{f"condition-{position}": "damaged", f"grade-{position}": "C"},
    )  # fmt: skip
    assert inspected.status_code == 302
    assert _on_hand(hub, "damaged") == 1 and _on_hand(hub, "default") == 0
    # cancelled after receipt: the wrong state, named
    late = _step(client, second, "cancel", reason="kept it")
    assert late.status_code == 409
    assert f"return {second} is inspected; it can become cancelled only from" in late.text
    with hub.db.transaction() as session:
        session.get(ReturnRow, second).status = store.CLOSED
    third_order = order["id"]
    assert _open(client, third_order, position).status_code == 409  # nothing left to return
    too_many = _open(client, third_order, position, quantity=5)
    assert too_many.status_code == 409 and "shipped and not returned yet" in too_many.text
    nothing = _open(client, third_order, position, quantity=0)
    assert nothing.status_code == 422 and "at least one line" in nothing.text
    silly = _open(client, third_order, position, quantity="two")
    assert silly.status_code == 422 and "a whole number" in silly.text
    assert ("return.reject", f"return:{first}") in [(a, t) for _, a, t in _audited(hub)]
    assert all(actor == email for actor, _, _ in _audited(hub))


def test_a_return_cancelled_and_the_label_needs_its_tracking_number(
    hub, client, worker, viewer, editor
):
    order = _shipped_order(hub, client, worker, viewer, editor)
    _signed_in(hub, client, "editor")
    rid = _a_return(hub, order["id"])
    half = _step(client, rid, "authorise", carrier="royalmail")
    assert half.status_code == 422 and "tracking number" in half.text
    # the return's page again, the problem at the form and what was typed kept
    assert 'aria-label="Authorise"' in half.text and 'value="royalmail"' in half.text
    assert 'id="tracking_number" name="tracking_number" maxlength="100" value="" aria-invalid' in (
        half.text
    )
    assert _step(client, rid, "authorise").status_code == 302
    assert "now authorised" in client.get(f"/admin/returns/{rid}").text
    twice = _step(client, rid, "authorise")
    assert twice.status_code == 409 and f"return {rid} is authorised" in twice.text
    assert 'role="alert"' in twice.text and 'aria-label="Authorise"' not in twice.text
    assert _step(client, rid, "cancel", reason="kept it").status_code == 302
    detail = client.get(f"/admin/returns/{rid}")
    assert "cancelled: kept it" in detail.text
    assert _step(client, 999_999, "close").status_code == 404
    assert client.get("/admin/returns/999999").status_code == 404


def test_the_list_filters_and_pages_and_a_viewer_only_reads(hub, client, worker, viewer, editor):
    order = _shipped_order(hub, client, worker, viewer, editor)
    ids = []
    for _ in range(3):
        rid = _a_return(hub, order["id"])
        with hub.db.transaction() as session:
            store.cancel(session, session.get(ReturnRow, rid), actor="test")
        ids.append(rid)
    open_one = _a_return(hub, order["id"], reason="wrong_item")
    _signed_in(hub, client, "viewer")
    everything = client.get("/admin/returns", query_string={"limit": 2})
    assert everything.status_code == 200
    assert _ids(everything.text) == [open_one, ids[2]]
    assert '<a href="/admin/returns" aria-current="page">Returns</a>' in everything.text
    older = re.search(r'href="([^"]+)" rel="next">Older', everything.text).group(1)
    rest = client.get(older.replace("&amp;", "&"))
    assert _ids(rest.text) == [ids[1], ids[0]] and "Newest" in rest.text
    requested = client.get("/admin/returns", query_string={"status": "requested"})
    assert _ids(requested.text) == [open_one]
    assert 'data-reasons="wrong_item">Wrong item</td>' in requested.text
    assert '<option value="requested" selected>Requested</option>' in requested.text
    assert 'data-status="requested">Requested</span>' in requested.text
    assert 'data-status="cancelled">Cancelled</span>' in everything.text
    assert len(_ids(client.get("/admin/returns?status=cancelled").text)) == 3
    assert _ids(client.get("/admin/returns?account=shop-a").text) == [open_one, *ids[::-1]]
    assert _ids(client.get("/admin/returns?account=globex-shop").text) == []
    assert _ids(client.get("/admin/returns?client=globex").text) == []
    bad = client.get("/admin/returns", query_string={"status": "lost"})
    assert bad.status_code == 400 and "must be one of" in bad.text
    detail = client.get(f"/admin/returns/{open_one}")
    assert detail.status_code == 200 and "Next steps" not in detail.text
    assert "/authorise" not in detail.text
    order_page = client.get(f"/admin/orders/{order['id']}")
    assert f'href="/admin/returns/{open_one}"' in order_page.text
    assert "Open a return" not in order_page.text
    token = csrf_token(detail.text)
    refused = client.post(f"/admin/returns/{open_one}/close", data={"csrf_token": token})
    assert refused.status_code == 403
    no_token = client.post(f"/admin/returns/{open_one}/cancel")
    assert no_token.status_code == 400


def test_a_person_limited_to_other_clients_sees_none_of_these_returns(
    hub, client, worker, viewer, editor
):
    order = _shipped_order(hub, client, worker, viewer, editor)
    position = _position(hub, order["id"])
    rid = _a_return(hub, order["id"])
    _signed_in(hub, client, "editor", ["globex"])
    listing = client.get("/admin/returns")
    assert listing.status_code == 200 and _ids(listing.text) == []
    assert "<option>acme</option>" not in listing.text
    assert client.get(f"/admin/returns/{rid}").status_code == 404
    assert _step(client, rid, "cancel").status_code == 404
    token = csrf_token(listing.text)
    opened = client.post(
        f"/admin/orders/{order['id']}/returns",
        data={"csrf_token": token, f"qty-{position}": "1"},
    )
    assert opened.status_code == 404
    with hub.db.transaction() as session:
        assert session.get(ReturnRow, rid).status == "requested"
    client.post("/admin/logout", data={"csrf_token": token})
    _signed_in(hub, client, "viewer", ["acme"])
    assert _ids(client.get("/admin/returns").text) == [rid]
    assert client.get(f"/admin/returns/{rid}").status_code == 200
