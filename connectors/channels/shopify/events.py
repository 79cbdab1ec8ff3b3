"""Shopify tracking events on a fulfillment, the pure half: the canonical status table, the
GraphQL documents ``client.py`` sends, the exactly-once check and the reading of answers. No I/O.

``fulfillmentEventCreate`` adds a tracking event; its ``status`` is a ``FulfillmentEventStatus``.
It takes no idempotency key either, so before adding one the fulfillment's recent events are read
and an event of the same status at the same second means it was pushed before.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.channels.shopify.fulfilment import error_text, user_errors
from hub.connectors import TrackingEvent
from hub.errors import PermanentError, TranslationError
from hub.values import iso, utc

#: canonical tracking status -> Shopify ``FulfillmentEventStatus`` (None: not sent).
#: Checked against the enum on shopify.dev (admin-graphql, 2026-10): ATTEMPTED_DELIVERY,
#: CARRIER_PICKED_UP, CONFIRMED, DELAYED, DELIVERED, FAILURE, IN_TRANSIT, LABEL_PRINTED,
#: LABEL_PURCHASED, OUT_FOR_DELIVERY, READY_FOR_PICKUP.
EVENT_STATUSES: dict[str, str | None] = {
    "label_created": "LABEL_PRINTED",
    # the carrier collected the parcel (PICKED_UP, where it exists, means the customer did)
    "picked_up": "CARRIER_PICKED_UP",
    "in_transit": "IN_TRANSIT",
    "out_for_delivery": "OUT_FOR_DELIVERY",
    "delivery_attempted": "ATTEMPTED_DELIVERY",
    "ready_for_pickup": "READY_FOR_PICKUP",
    "delivered": "DELIVERED",
    # most carrier exceptions (customs, weather, a missed sort) hold a parcel up rather than
    # end its journey; FAILURE would tell the customer the delivery failed
    "exception": "DELAYED",
    # the delivery did fail: the parcel is on its way back
    "returned_to_sender": "FAILURE",
    "unknown": None,
}

EVENTS_COST = 1 + 2 + 50 * 1  # estimated cost, counted as in fulfilment.py

FULFILLMENT_EVENTS_QUERY = """\
query FulfilmentEvents($id: ID!) {
  node(id: $id) {
    ... on Fulfillment {
      id
      events(first: 50, sortKey: HAPPENED_AT, reverse: true) {
        nodes {
          status
          happenedAt
        }
      }
    }
  }
}
"""

FULFILLMENT_EVENT_CREATE_MUTATION = """\
mutation FulfilmentEventCreate($fulfillmentEvent: FulfillmentEventInput!) {
  fulfillmentEventCreate(fulfillmentEvent: $fulfillmentEvent) {
    fulfillmentEvent {
      id
      status
    }
    userErrors {
      field
      message
    }
  }
}
"""


def event_status(status: str) -> str | None:
    """Shopify's ``FulfillmentEventStatus`` for a canonical status (None: not sent)."""
    return EVENT_STATUSES.get(status)


def _second(value: datetime) -> datetime:
    parsed = utc(value)
    assert parsed is not None
    return parsed.replace(microsecond=0)


def has_event(data: Mapping[str, Any], status: str, at: datetime) -> bool:
    """True when a :data:`FULFILLMENT_EVENTS_QUERY` answer already holds an event of ``status``
    that happened at ``at`` (to the second): the event was pushed before."""
    node = data.get("node")
    if not isinstance(node, Mapping):
        raise PermanentError("Shopify has no such fulfillment (was it deleted?)")
    connection = node.get("events")
    events = connection.get("nodes") if isinstance(connection, Mapping) else None
    for event in events or []:
        if not isinstance(event, Mapping) or event.get("status") != status:
            continue
        try:
            happened = utc(event.get("happenedAt"))
        except TranslationError:
            continue
        if happened is not None and happened.replace(microsecond=0) == _second(at):
            return True
    return False


def event_variables(fulfillment_id: str, status: str, event: TrackingEvent) -> dict[str, Any]:
    """Variables for :data:`FULFILLMENT_EVENT_CREATE_MUTATION`. The carrier's words go in
    ``message``; its free-text location in ``city``, the nearest field Shopify has."""
    values: dict[str, Any] = {
        "fulfillmentId": fulfillment_id,
        "status": status,
        "happenedAt": iso(_second(event.at)),
    }
    if event.text:
        values["message"] = event.text
    if event.location:
        values["city"] = event.location
    return {"fulfillmentEvent": values}


def read_event_created(data: Mapping[str, Any]) -> str | None:
    """The new event's GID; ``userErrors`` raise PermanentError."""
    payload = data.get("fulfillmentEventCreate")
    if not isinstance(payload, Mapping):
        raise PermanentError("Shopify's answer has no fulfillmentEventCreate")
    errors = user_errors(payload)
    if errors:
        raise PermanentError(
            f"Shopify refused the tracking event: {error_text(errors)}",
            details={"userErrors": errors},
        )
    event = payload.get("fulfillmentEvent")
    return str(event["id"]) if isinstance(event, Mapping) and event.get("id") else None
