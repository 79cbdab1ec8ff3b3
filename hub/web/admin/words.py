"""How the console says the hub's codes: the statuses of orders, parcels (and return labels),
deliveries, jobs, accounts and returns, a return's refund and reasons, and the kinds on the
order's and the return's timelines, as template filters (``order_status``,
``tracking_status``, ``delivery_status``, ``job_status``, ``account_status``,
``return_status``, ``label_status``, ``refund_status``, ``return_reason``, ``order_event``,
``return_event``).

Each table is built over its domain's own list of codes (a test holds them to it), so a new
status cannot reach a page as a bare code without a test failing; a code no table knows still
reads as plain words. The code stays in the markup beside the words (a badge's class and
``data-status``, a timeline's ``data-kind``, an option's ``value``) for the stylesheet, for
forms and for tests. The JSON API, CSV downloads and the public tracking page keep their own
forms (the tracking page speaks to customers in :mod:`hub.web.track_page`)."""

from __future__ import annotations

from hub.canonical import RETURN_REASONS, OrderStatus
from hub.connectors import TRACKING_STATUSES
from hub.intake import listing as inbox_listing
from hub.jobs import outbox
from hub.returns import store
from hub.web.admin import bp

#: an order's status
ORDER_WORDS = {
    OrderStatus.AWAITING_PAYMENT: "Awaiting payment",
    OrderStatus.ON_HOLD: "On hold",
    OrderStatus.READY: "Ready",
    OrderStatus.RELEASED: "Released",
    OrderStatus.PARTIALLY_SHIPPED: "Partly shipped",
    OrderStatus.SHIPPED: "Shipped",
    OrderStatus.DELIVERED: "Delivered",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.NEEDS_ATTENTION: "Needs attention",
}
#: a parcel's (or a return label's) canonical tracking status, and its events'
TRACKING_WORDS = {
    "label_created": "Label issued",
    "picked_up": "Picked up",
    "in_transit": "In transit",
    "out_for_delivery": "Out for delivery",
    "delivery_attempted": "Delivery attempted",
    "ready_for_pickup": "Ready for pickup",
    "delivered": "Delivered",
    "exception": "Exception",
    "returned_to_sender": "Returned to sender",
    "unknown": "Not scanned yet",
}
#: a delivery (a webhook or polled event) in the inbox
DELIVERY_WORDS = {
    "received": "Received",
    "processed": "Processed",
    "ignored": "Ignored",
    "failed": "Failed",
}
#: a job in the outbox
JOB_WORDS = {
    outbox.QUEUED: "Queued",
    outbox.RUNNING: "Running",
    outbox.DONE: "Done",
    outbox.DEAD: "Dead",
    outbox.DISCARDED: "Discarded",
}
#: an account's health (:func:`hub.jobs.account_health.report`)
ACCOUNT_WORDS = {
    "ok": "OK",
    "throttled": "Throttled",
    "paused": "Paused",
    "credentials_refused": "Credentials refused",
    "webhooks_inactive": "Webhooks inactive",
}
#: a return's status
RETURN_WORDS = {
    store.REQUESTED: "Requested",
    store.AUTHORISED: "Authorised",
    store.REJECTED: "Rejected",
    store.IN_TRANSIT: "In transit",
    store.RECEIVED: "Received",
    store.INSPECTED: "Inspected",
    store.CLOSED: "Closed",
    store.CANCELLED: "Cancelled",
}
#: the refund's state (``not_sent`` has its own sentence on the page)
REFUND_WORDS = {"queued": "Queued", "done": "Refunded", "not_sent": "Not sent"}
#: why a customer sends something back
REASON_WORDS = {
    "color": "Colour",
    "defective": "Defective",
    "not_as_described": "Not as described",
    "other": "Other",
    "size_too_large": "Too large",
    "size_too_small": "Too small",
    "style": "Style",
    "unknown": "No reason given",
    "unwanted": "Unwanted",
    "wrong_item": "Wrong item",
}
#: a return's timeline kinds other than its statuses (a label's news is
#: ``label_<tracking status>``)
RETURN_EVENT_WORDS = {
    "expected": "Warehouse told",
    "left_out": "Left out",
    "refund_queued": "Refund queued",
    "refund_not_sent": "Refund not sent",
    "refunded": "Refunded",
}
#: an order's timeline kinds other than its statuses (a parcel's news is
#: ``tracking_<tracking status>``, a return's ``return_<return timeline kind>``)
ORDER_EVENT_WORDS = {
    "received": "Received",
    "updated": "Updated",
    "stale_update_ignored": "Older update ignored",
    "replay_ignored": "Replay ignored",
    "translation_failed": "Translation failed",
    "removed_on_channel": "Removed on the channel",
    "waiting_for_stock": "Waiting for stock",
    "allocated": "Stock allocated",
    "deallocated": "Stock given back",
    "warehouse_refused": "Warehouse refused",
    "warehouse_cancelled": "Cancelled at the warehouse",
    "pushed_to_channel": "Sent to the channel",
    "customer_erased": "Customer data erased",
}

# the domain's lists the tables are held to (by tests)
ORDER_CODES = tuple(s.value for s in OrderStatus)
TRACKING_CODES = tuple(TRACKING_STATUSES)
DELIVERY_CODES = tuple(inbox_listing.STATUSES)
JOB_CODES = tuple(outbox.STATUSES)
RETURN_CODES = tuple(store.STATUSES)
REASON_CODES = tuple(RETURN_REASONS)


def _plain(code: str) -> str:
    return code.replace("_", " ").capitalize()


def _say(table: dict[str, str], code: str | None) -> str:
    return table.get(code or "") or _plain(code or "")


@bp.app_template_filter("order_status")
def order_status(code: str | None) -> str:
    """An order's status in words: ``needs_attention`` reads ``Needs attention``."""
    return _say(ORDER_WORDS, code)


@bp.app_template_filter("tracking_status")
def tracking_status(code: str | None) -> str:
    """A parcel's tracking status in words: ``out_for_delivery`` reads ``Out for delivery``."""
    return _say(TRACKING_WORDS, code)


@bp.app_template_filter("label_status")
def label_status(code: str | None) -> str:
    """A return label's tracking status in words: ``label_created`` reads ``Label issued``."""
    return _say(TRACKING_WORDS, code)


@bp.app_template_filter("delivery_status")
def delivery_status(code: str | None) -> str:
    return _say(DELIVERY_WORDS, code)


@bp.app_template_filter("job_status")
def job_status(code: str | None) -> str:
    return _say(JOB_WORDS, code)


@bp.app_template_filter("account_status")
def account_status(code: str | None) -> str:
    """An account's health in words: ``credentials_refused`` reads ``Credentials refused``."""
    return _say(ACCOUNT_WORDS, code)


@bp.app_template_filter("return_status")
def return_status(code: str | None) -> str:
    """A return's status in words: ``in_transit`` reads ``In transit``."""
    return _say(RETURN_WORDS, code)


@bp.app_template_filter("refund_status")
def refund_status(code: str | None) -> str:
    return _say(REFUND_WORDS, code)


@bp.app_template_filter("return_reason")
def return_reason(code: str | None) -> str:
    """Why a line comes back in words: ``size_too_small`` reads ``Too small``."""
    return _say(REASON_WORDS, code)


@bp.app_template_filter("return_event")
def return_event(kind: str) -> str:
    """A return's timeline kind in words: a status as the status reads, a label's news as
    ``Return parcel in transit`` (its first, ``label_label_created``, as ``Label issued``)."""
    if kind in RETURN_WORDS:
        return RETURN_WORDS[kind]
    if kind in RETURN_EVENT_WORDS:
        return RETURN_EVENT_WORDS[kind]
    what = kind.removeprefix("label_")
    if what != kind and what in TRACKING_WORDS:
        if what == "label_created":
            return TRACKING_WORDS[what]
        return f"Return parcel {TRACKING_WORDS[what].lower()}"
    return _plain(kind)


@bp.app_template_filter("order_event")
def order_event(kind: str) -> str:
    """An order's timeline kind in words: a status as the status reads (``shipped``), a
    parcel's news as ``Parcel exception``, a return's as ``Return: authorised`` (a return
    label's as ``Return parcel in transit``)."""
    if kind in ORDER_EVENT_WORDS:
        return ORDER_EVENT_WORDS[kind]
    if kind in ORDER_WORDS:
        return ORDER_WORDS[kind]
    what = kind.removeprefix("tracking_")
    if what != kind and what in TRACKING_WORDS:
        return f"Parcel {TRACKING_WORDS[what].lower()}"
    what = kind.removeprefix("return_")
    if what != kind:
        said = return_event(what)
        return said if said.startswith("Return") else f"Return: {said.lower()}"
    return _plain(kind)
