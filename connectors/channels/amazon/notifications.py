"""ORDER_CHANGE notifications from the account's SQS queue: the pure half.

Amazon has no HTTP webhooks; a seller's app subscribes to the ``ORDER_CHANGE`` notification
type with an SQS destination, and each message body is the notification JSON
(``NotificationType``, ``Payload.OrderChangeNotification.AmazonOrderId``,
``NotificationMetadata.NotificationId``) — ``schemas/notifications/OrderChangeNotification.json``
in ``amzn/selling-partner-api-models``. The queue's access policy is the authentication: there
is no signature to check.

A notification only says which order changed; the order itself is then read with getOrder and
taken in like a polled one. The same notification may come twice (SQS delivers at least
once): it is recognised by its ``NotificationId``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ORDER_CHANGE = "ORDER_CHANGE"
#: messages read per ReceiveMessage call: SQS's most
BATCH = 10
#: SQS's longest long-polling wait, seconds
LONG_POLL = 20


@dataclass(frozen=True)
class Notice:
    """One received message: its receipt handle (to delete it), the notification's id and the
    order it names (None: not an ORDER_CHANGE notification, or unreadable)."""

    receipt: str
    notification_id: str | None
    order_id: str | None
    problem: str | None = None


def read_message(message: dict[str, Any]) -> Notice:
    """One SQS message (as boto3's ``receive_message`` gives it) as a :class:`Notice`."""
    receipt = str(message.get("ReceiptHandle") or "")
    try:
        body = json.loads(message.get("Body") or "")
    except ValueError:
        return Notice(receipt, None, None, "the message body is not JSON")
    if not isinstance(body, dict):
        return Notice(receipt, None, None, "the message body is not a JSON object")
    metadata = body.get("NotificationMetadata")
    notification_id = metadata.get("NotificationId") if isinstance(metadata, dict) else None
    notification_id = str(notification_id) if notification_id else message.get("MessageId")
    kind = body.get("NotificationType")
    if kind != ORDER_CHANGE:
        return Notice(receipt, notification_id, None, f"not an ORDER_CHANGE notification: {kind!r}")
    payload = body.get("Payload")
    change = payload.get("OrderChangeNotification") if isinstance(payload, dict) else None
    order_id = change.get("AmazonOrderId") if isinstance(change, dict) else None
    if not isinstance(order_id, str) or not order_id:
        return Notice(receipt, notification_id, None, "the notification names no AmazonOrderId")
    return Notice(receipt, notification_id, order_id)


def queue_region(queue_url: str) -> str | None:
    """The AWS region in an SQS queue address (``https://sqs.eu-west-1.amazonaws.com/...``)."""
    host = queue_url.split("://", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    if len(parts) >= 4 and parts[0] == "sqs" and parts[-2:] == ["amazonaws", "com"]:
        return parts[1]
    return None
