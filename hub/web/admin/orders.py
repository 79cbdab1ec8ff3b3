"""``/admin/orders``: the orders, filtered and searched, and one order with its whole story.

Both pages read through :mod:`hub.orders.query` and the API's own schema and JSON, so a filter
and an order mean here what they mean on ``GET /api/orders``. A person limited to some
clients sees only their orders; another client's order is not found.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from hub.canonical import OrderStatus
from hub.intake import listing as inbox_listing
from hub.orders import query
from hub.storage import pages
from hub.storage.models import OrderRow
from hub.web import validation
from hub.web.admin import bp, current_hub, person, refusal
from hub.web.admin import returns as returns_page
from hub.web.api import OrdersQuery, order_json
from hub.web.errors import ApiError
from hub.web.validation import ID

#: the filters the list's form offers, in its order
FILTERS = ("q", "client", "channel", "account", "status", "placed_from", "placed_to")


def _choices() -> dict[str, list[str]]:
    """What the form's drop-downs offer: the configured accounts the person may see."""
    accounts = [a for a in current_hub().accounts.values() if person().sees(a.client)]
    return {
        "client": sorted({a.client for a in accounts}),
        "account": sorted(a.name for a in accounts),
        "channel": sorted({a.connector for a in accounts}),
        "status": [s.value for s in OrderStatus],
    }


def _list_page(orders: list[dict[str, Any]], older: str | None, error: str | None = None) -> str:
    form = {name: request.args.get(name, "") for name in FILTERS}
    older_args = {k: v for k, v in form.items() if v}
    return render_template(
        "admin/orders.html",
        orders=orders,
        form=form,
        choices=_choices(),
        older=dict(older_args, cursor=older) if older else None,
        first=bool(request.args.get("cursor")),
        first_args=older_args,
        error=error,
    )


@bp.get("/orders")
def orders() -> str | tuple[str, int]:
    try:
        params = validation.query(OrdersQuery())
    except ApiError as exc:
        return _list_page([], None, exc.message), 400
    filters = query.OrderFilters.of(params, person().clients)
    with current_hub().db.transaction() as session:
        rows, last = pages.newest_first(
            session, query.select_orders(filters), OrderRow.id, params["limit"], params["cursor"]
        )
        found = [{**order_json(row), "placed": row.placed_at} for row in rows]
    return _list_page(found, validation.encode_cursor(last) if last else None)


@bp.get(f"/orders/<{ID}:order_id>")
def order(order_id: int) -> str | tuple[str, int]:
    with current_hub().db.transaction() as session:
        row = query.find(session, order_id, person().clients)
        if row is None:
            return refusal(404, "No such order", f"There is no order with id {order_id}.")
        shown = {**order_json(row, session), "placed": row.placed_at}
        timeline = query.events(session, order_id)
        deliveries = [
            {"row": d, "body": inbox_listing.readable_body(d)}
            for d in query.deliveries(session, order_id)
        ]
        return render_template(
            "admin/order.html",
            order=shown,
            timeline=timeline,
            deliveries=deliveries,
            **returns_page.for_order(session, row),
        )
