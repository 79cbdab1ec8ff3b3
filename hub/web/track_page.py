"""The end customer's tracking page: ``GET /track/<token>``.

The token is random (not the order id) and the page shows only what a customer may see: the
order number, each parcel's carrier, tracking number and link, status, estimated delivery and
timeline, and the items in it. No address, price, customer or admin data. ``?format=json``
answers the same as JSON for a shop's own page to embed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from sqlalchemy import select

from hub.connectors import connector_class
from hub.shipping import fulfilment, shipments
from hub.storage.models import OrderRow
from hub.web.api import current_hub
from hub.web.errors import ApiError

bp = Blueprint("track", __name__, template_folder="templates")

STATUS_TEXT = {
    "label_created": "Label created, waiting for the carrier",
    "picked_up": "Picked up by the carrier",
    "in_transit": "On its way",
    "out_for_delivery": "Out for delivery",
    "delivery_attempted": "Delivery attempted",
    "ready_for_pickup": "Ready for collection",
    "delivered": "Delivered",
    "exception": "Delayed: the carrier reported a problem",
    "returned_to_sender": "Being returned to the sender",
    "unknown": "Waiting for the first update from the carrier",
}


def _when(value: str | None) -> str:
    return value.replace("T", " ").replace("Z", " UTC") if value else ""


def _item(lines: list[dict[str, Any]], shipped: dict[str, Any]) -> str:
    line = lines[shipped["position"]] if shipped["position"] < len(lines) else {}
    return line.get("name") or shipped.get("sku") or ""


def _title(carrier: str) -> str:
    try:
        return connector_class(carrier).title
    except Exception:
        return carrier


def page_data(session: Any, order: OrderRow) -> dict[str, Any]:
    hub = current_hub()
    lines = order.data.get("lines") or []
    parcels = []
    for shipment in shipments.for_order(session, order.id):
        for p in shipment["parcels"]:
            contents = ", ".join(f"{ln['quantity']} x {_item(lines, ln)}" for ln in p["lines"])
            parcels.append(
                {
                    "carrier": p["carrier"],
                    "carrier_title": _title(p["carrier"]),
                    "service": p["service"],
                    "tracking_number": p["tracking_number"],
                    "url": fulfilment.tracking_url(
                        hub, order.client, p["carrier"], p["carrier_account"], p["tracking_number"]
                    ),
                    "status": p["status"],
                    "status_text": STATUS_TEXT.get(p["status"], p["status"]),
                    "estimated_delivery": p["estimated_delivery"],
                    "estimated_delivery_text": _when(p["estimated_delivery"]),
                    "shipped_at": shipment["shipped_at"],
                    "contents": contents,
                    "events": [
                        {
                            **e,
                            "at_text": _when(e["at"]),
                            "status_text": STATUS_TEXT.get(e["status"], e["status"]),
                        }
                        for e in reversed(p["events"])  # newest first, as customers read it
                    ],
                }
            )
    statuses = {p["status"] for p in parcels}
    if order.status == "delivered" or statuses == {"delivered"}:
        headline = "Delivered"
    elif order.status == "partially_shipped":
        headline = "Part of your order is on its way; the rest follows"
    else:
        headline = "On its way" if parcels else "Being prepared"
    return {"order": {"number": order.data.get("number")}, "headline": headline, "parcels": parcels}


@bp.get("/track/<token>")
def track(token: str) -> Response | str:
    with current_hub().db.transaction() as session:
        order = (
            session.execute(
                select(OrderRow).where(OrderRow.tracking_token == token)
            ).scalar_one_or_none()
            if len(token) <= 64
            else None
        )
        if order is None:
            raise ApiError(404, "not_found", "no tracking page at this address")
        data = page_data(session, order)
    if request.args.get("format") == "json":
        for parcel in data["parcels"]:
            for event in parcel["events"]:
                event.pop("at_text"), event.pop("status_text")
            parcel.pop("estimated_delivery_text")
        response = jsonify(data)
    else:
        response = Response(render_template("track.html", **data), mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
