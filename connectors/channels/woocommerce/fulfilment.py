"""WooCommerce fulfilment push, the pure half: request bodies, and finding what an earlier
attempt already made. No I/O.

WooCommerce core has no tracking fields. Tracking goes where the store can show it:

* with the Shipment Tracking extension installed: a tracking item on the order
  (``/wp-json/wc-shipment-tracking/v3/orders/<id>/shipment-trackings``), which the extension
  shows on the order page and in the customer's e-mails;
* without it: a customer note on the order (``/wc/v3/orders/<id>/notes``, ``customer_note``
  true), which WooCommerce e-mails to the customer and shows on the order page.

Neither holds line items, so a partial shipment is told the same way as a full one; the
order is set to ``completed`` once it is fully shipped. WooCommerce shows no tracking events.

Exactly once: neither API takes an idempotency key, so the order's tracking items (or notes)
are read first and one that already carries the parcel's tracking number is the answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC
from typing import Any

from hub.connectors import FulfilmentPush
from hub.errors import PermanentError

TRACKING_PREFIX = "tracking:"
NOTE_PREFIX = "note:"
#: order statuses a shipped order is not moved from to ``completed``: they need a person
NOT_COMPLETABLE = frozenset({"cancelled", "refunded", "failed", "trash", "checkout-draft"})
COMPLETED = "completed"

_ORDER_ID = re.compile(r"[1-9][0-9]*")


def order_id(order: Mapping[str, Any]) -> str:
    """The WooCommerce order id (it goes into URL paths, so it must be a plain number)."""
    value = str(order.get("external_id") or "").strip()
    if not _ORDER_ID.fullmatch(value):
        raise PermanentError(
            f"order external_id {order.get('external_id')!r} is not a WooCommerce id"
        )
    return value


def tracking_number(push: FulfilmentPush) -> str:
    """The parcel's tracking number, refused when blank: it is what makes the push exactly
    once, and what the customer is sent."""
    number = str(push.tracking_number or "").strip()
    if not number:
        raise PermanentError(f"parcel {push.parcel_id} has no tracking number to send WooCommerce")
    return number


def tracking_key(number: Any) -> str:
    """A tracking number as compared: without spaces, upper case (carriers ignore both)."""
    return "".join(str(number or "").split()).upper()


def shipped_date(push: FulfilmentPush) -> str:
    """``date_shipped`` as the extension takes it: the UTC day, ``YYYY-MM-DD``."""
    at = push.shipped_at
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).date().isoformat()


# -- Shipment Tracking extension --------------------------------------------------------------


def is_no_route(details: Any) -> bool:
    """True when an error's details are WordPress's 404 ``rest_no_route``: nothing answers at
    that address, i.e. the extension is not installed (or not active)."""
    if not isinstance(details, Mapping) or details.get("status") != 404:
        return False
    body = str(details.get("body") or "")
    return bool(re.search(r'"code"\s*:\s*"rest_no_route"', body))


def tracking_body(push: FulfilmentPush, number: str) -> dict[str, Any]:
    """The new tracking item. With a tracking address, the carrier is a custom provider with
    that link (the extension ignores links sent with its own providers); without one, the
    carrier name is sent as the extension's provider, whose link the extension builds."""
    body: dict[str, Any]
    if push.tracking_url:
        body = {
            "custom_tracking_provider": push.carrier_name,
            "custom_tracking_link": push.tracking_url,
        }
    else:
        body = {"tracking_provider": push.carrier_name}
    body["tracking_number"] = number
    body["date_shipped"] = shipped_date(push)
    return body


def existing_tracking(items: Any, number: str) -> str | None:
    """The ``tracking_id`` of the order's tracking item with ``number`` (None: none)."""
    wanted = tracking_key(number)
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        if tracking_key(item.get("tracking_number")) == wanted and item.get("tracking_id"):
            return str(item["tracking_id"])
    return None


def created_tracking(item: Any) -> str:
    if not isinstance(item, Mapping) or not item.get("tracking_id"):
        raise PermanentError("the Shipment Tracking answer has no tracking_id")
    return str(item["tracking_id"])


# -- customer notes -------------------------------------------------------------------------


def note_text(push: FulfilmentPush, number: str) -> str:
    """What the customer reads: the carrier, the tracking number and where to follow it."""
    text = f"Your parcel has shipped with {push.carrier_name}. Tracking number: {number}."
    if push.tracking_url:
        text += f" Track it at {push.tracking_url}"
    return text


def note_body(push: FulfilmentPush, number: str) -> dict[str, Any]:
    return {"note": note_text(push, number), "customer_note": True}


def _mentions(text: str, number: str) -> bool:
    # the number as a whole token: 1234 is not in "Tracking number: 12345"
    pattern = r"(?<![A-Za-z0-9])" + re.escape(number) + r"(?![A-Za-z0-9])"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


def existing_note(notes: Iterable[Any], number: str) -> str | None:
    """The id of a customer note that already names ``number`` (None: none)."""
    for note in notes:
        if not isinstance(note, Mapping) or note.get("customer_note") is False:
            continue
        if _mentions(str(note.get("note") or ""), number) and note.get("id") is not None:
            return str(note["id"])
    return None


def created_note(note: Any) -> str:
    if not isinstance(note, Mapping) or note.get("id") is None:
        raise PermanentError("WooCommerce's answer to the new order note has no id")
    return str(note["id"])


# -- order status -------------------------------------------------------------------------


def needs_completing(order: Any, order_id: str) -> bool:
    """Whether to set the fully shipped order to ``completed``: not when it already is; an
    order cancelled, refunded or failed in the meantime is not moved and raises
    PermanentError, since someone has to look at an order that shipped anyway."""
    status = _status(order)
    if status == COMPLETED:
        return False
    if status in NOT_COMPLETABLE:
        raise PermanentError(
            f"WooCommerce order {order_id} is {status!r} but shipped in full; "
            "tracking was added, the order status was left as it is"
        )
    return True


def check_completed(answer: Any, order_id: str) -> None:
    """The answer to setting ``completed`` must show it: a plugin may hold an order back."""
    status = _status(answer)
    if status != COMPLETED:
        raise PermanentError(
            f"WooCommerce kept order {order_id} {status!r} when it was set to completed"
        )


def _status(order: Any) -> str:
    return str(order.get("status") or "") if isinstance(order, Mapping) else ""
