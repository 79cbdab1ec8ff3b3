"""How the console says a return's codes: its status, what the carrier last said of its
label, its refund's state and the kinds on its timeline, as template filters
(``return_status``, ``label_status``, ``refund_status``, ``return_event``). The code stays in
the markup beside the words (the badge's class, ``data-status``, ``data-kind``) for the
stylesheet and for tests."""

from __future__ import annotations

from hub.returns import store
from hub.web.admin import bp

#: how the console says a return's status
STATUS_WORDS = {
    store.REQUESTED: "Requested",
    store.AUTHORISED: "Authorised",
    store.REJECTED: "Rejected",
    store.IN_TRANSIT: "In transit",
    store.RECEIVED: "Received",
    store.INSPECTED: "Inspected",
    store.CLOSED: "Closed",
    store.CANCELLED: "Cancelled",
}
#: how it says what the carrier last said of a return label (the canonical tracking statuses)
LABEL_WORDS = {
    "label_created": "Label issued",
    "picked_up": "Picked up",
    "in_transit": "In transit",
    "out_for_delivery": "Out for delivery",
    "delivery_attempted": "Delivery attempted",
    "ready_for_pickup": "Ready for pickup",
    "delivered": "Delivered",
    "exception": "Exception",
    "returned_to_sender": "Returned to sender",
    "unknown": "Unknown",
}
#: the refund's state (``not_sent`` has its own sentence on the page)
REFUND_WORDS = {"queued": "Queued", "done": "Refunded", "not_sent": "Not sent"}
#: timeline kinds other than the statuses (a label's news is ``label_<tracking status>``)
EVENT_WORDS = {
    "expected": "Warehouse told",
    "left_out": "Left out",
    "refund_queued": "Refund queued",
    "refund_not_sent": "Refund not sent",
    "refunded": "Refunded",
}


def _plain(code: str) -> str:
    return code.replace("_", " ").capitalize()


@bp.app_template_filter("return_status")
def return_status(code: str | None) -> str:
    """A return's status in words: ``in_transit`` reads ``In transit``."""
    return STATUS_WORDS.get(code or "") or _plain(code or "")


@bp.app_template_filter("label_status")
def label_status(code: str | None) -> str:
    """A return label's tracking status in words: ``label_created`` reads ``Label issued``."""
    return LABEL_WORDS.get(code or "") or _plain(code or "")


@bp.app_template_filter("refund_status")
def refund_status(code: str | None) -> str:
    return REFUND_WORDS.get(code or "") or _plain(code or "")


@bp.app_template_filter("return_event")
def return_event(kind: str) -> str:
    """A timeline entry's kind in words: a status as the status reads, a label's news as
    ``Return parcel in transit`` (its first, ``label_label_created``, as ``Label issued``)."""
    if kind in STATUS_WORDS:
        return STATUS_WORDS[kind]
    if kind in EVENT_WORDS:
        return EVENT_WORDS[kind]
    what = kind.removeprefix("label_")
    if what != kind and what in LABEL_WORDS:
        if what == "label_created":
            return LABEL_WORDS[what]
        return f"Return parcel {LABEL_WORDS[what].lower()}"
    return _plain(kind)
