"""eBay Notification API subscriptions, the pure half: the account's destination (its
endpoint), each topic's subscription to it, their state, and what to send to make them exist
and be enabled. No I/O.

What eBay's contract says (``commerce_notification_v1_oas3`` v1.6.7, as generated into
``Nogrod/ebay-commerce-notification-php-sdk`` @ 1daac67 ``commerce_notification_v1_oas3.yaml``):

* ``GET /destination`` (``getDestinations``, an application token) pages
  ``{destinations: [{destinationId, name, status, deliveryConfig: {endpoint,
  verificationToken}}], next}``; ``POST /destination`` (``createDestination``) takes
  ``{name, status, deliveryConfig}`` and answers 201 with the new one's ``Location``;
  eBay calls the endpoint's challenge first (409 ``195020`` when it fails, ``195021`` when a
  destination has the endpoint already, ``195003`` when the app has no alert e-mail set:
  ``PUT /config``). ``PUT /destination/{id}`` (``updateDestination``) takes the same body,
  204. ``status``: ``ENABLED``, ``DISABLED``, or ``MARKED_DOWN`` (set by eBay).
* ``GET /topic/{topic_id}`` (``getTopic``, an application token):
  ``{topicId, scope: APPLICATION|USER, authorizationScopes, status, supportedPayloads:
  [{schemaVersion, format: [JSON], deliveryProtocol: HTTPS, deprecated}]}``; 404 ``195002``
  for a topic eBay does not offer.
* ``GET /subscription`` (``getSubscriptions``) pages ``{subscriptions: [{subscriptionId,
  topicId, status, destinationId, payload}], next}``; ``POST /subscription``
  (``createSubscription``) takes ``{topicId, status, payload: {format, schemaVersion,
  deliveryProtocol}, destinationId}`` (201, ``Location``; 409 ``195012`` it exists, 403
  ``195011`` not authorised for the topic); ``POST /subscription/{id}/enable``
  (``enableSubscription``, 204; 409 ``195015`` the destination is not enabled).
* A topic whose ``scope`` is ``APPLICATION`` (``MARKETPLACE_ACCOUNT_DELETION``) is subscribed
  with a client-credentials token (``api_scope``); a ``USER`` topic (the seller's order topics)
  with the seller's token holding ``commerce.notification.subscription``, and each token sees
  only its own subscriptions — https://developer.ebay.com/api-docs/commerce/notification/resources/subscription/methods/enableSubscription
  (OAuth scope, note).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hub.errors import PermanentError

BASE = "commerce/notification/v1"
DESTINATION_PATH = f"{BASE}/destination"
SUBSCRIPTION_PATH = f"{BASE}/subscription"
TOPIC_PATH = f"{BASE}/topic"
PAGE_SIZE = 100  # the most getDestinations / getSubscriptions give a page
MAX_PAGES = 50
#: the scope a seller's token needs to make and read user-based subscriptions
USER_SCOPE = "https://api.ebay.com/oauth/api_scope/commerce.notification.subscription"
ENABLED, DISABLED = "ENABLED", "DISABLED"
#: states a topic is reported in
MISSING, UNAVAILABLE, ELSEWHERE = "missing", "unavailable", "elsewhere"
#: eBay's error id for a topic it does not offer (getTopic 404)
NO_TOPIC = 195002
NAME = "Fulfilment Hub"


def destination_name(account: str) -> str:
    """eBay's limit is 64 characters, no markup."""
    return f"{NAME} {account}"[:64]


def destination_body(account: str, endpoint: str, verification_token: str) -> dict[str, Any]:
    return {
        "name": destination_name(account),
        "status": ENABLED,
        "deliveryConfig": {"endpoint": endpoint, "verificationToken": verification_token},
    }


def read_page(body: Any, key: str, label: str) -> tuple[list[dict[str, Any]], str | None]:
    """A page's objects under ``key`` and its ``next`` (absent on the last page)."""
    if not isinstance(body, Mapping):
        raise PermanentError(f"{label}: the answer is not an object")
    items = body.get(key) or []
    if not isinstance(items, list):
        raise PermanentError(f"{label}: {key} is not a list")
    following = body.get("next")
    return [i for i in items if isinstance(i, Mapping)], (str(following) if following else None)


def endpoint_of(destination: Mapping[str, Any]) -> str | None:
    config = destination.get("deliveryConfig")
    found = config.get("endpoint") if isinstance(config, Mapping) else None
    return str(found) if found else None


def find_destination(
    destinations: Iterable[Mapping[str, Any]], endpoint: str
) -> Mapping[str, Any] | None:
    """The destination for ``endpoint`` (eBay allows one an endpoint); an enabled one first."""
    mine = [d for d in destinations if endpoint_of(d) == endpoint]
    mine.sort(key=lambda d: d.get("status") != ENABLED)
    return mine[0] if mine else None


def destination_update(
    destination: Mapping[str, Any], account: str, endpoint: str, verification_token: str
) -> tuple[dict[str, Any], str] | None:
    """``updateDestination``'s body and why, when the destination is not enabled or holds
    another verification token; None when it is as it should be."""
    config = destination.get("deliveryConfig")
    token = config.get("verificationToken") if isinstance(config, Mapping) else None
    why = []
    if destination.get("status") != ENABLED:
        why.append(str(destination.get("status") or "no status").lower())
    if token != verification_token:
        why.append("verification token")
    if not why:
        return None
    body = destination_body(account, endpoint, verification_token)
    body["name"] = str(destination.get("name") or body["name"])
    return body, ", ".join(why)


def is_user_topic(topic: Mapping[str, Any]) -> bool:
    """A ``USER``-scoped topic is subscribed with the seller's token."""
    return str(topic.get("scope") or "").upper() == "USER"


def schema_version(topic: Mapping[str, Any]) -> str:
    """The newest supported, not deprecated, JSON-over-HTTPS schema version of the topic."""
    versions = []
    for payload in topic.get("supportedPayloads") or []:
        if not isinstance(payload, Mapping) or payload.get("deprecated"):
            continue
        formats = payload.get("format") or ["JSON"]
        protocol = str(payload.get("deliveryProtocol") or "HTTPS")
        if "JSON" in formats and protocol == "HTTPS" and payload.get("schemaVersion"):
            versions.append(str(payload["schemaVersion"]))
    if not versions:
        raise PermanentError(
            f"eBay topic {topic.get('topicId')}: no JSON over HTTPS payload that is not deprecated"
        )
    return max(versions, key=_version_key)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def subscription_body(topic: Mapping[str, Any], destination_id: str) -> dict[str, Any]:
    return {
        "topicId": str(topic["topicId"]),
        "status": ENABLED,
        "payload": {
            "format": "JSON",
            "schemaVersion": schema_version(topic),
            "deliveryProtocol": "HTTPS",
        },
        "destinationId": destination_id,
    }


def find_subscription(
    subscriptions: Iterable[Mapping[str, Any]], topic_id: str, destination_id: str | None
) -> Mapping[str, Any] | None:
    """The topic's subscription to the destination (an enabled one first)."""
    if destination_id is None:
        return None
    mine = [
        s
        for s in subscriptions
        if s.get("topicId") == topic_id and s.get("destinationId") == destination_id
    ]
    mine.sort(key=lambda s: s.get("status") != ENABLED)
    return mine[0] if mine else None


def elsewhere(
    subscriptions: Iterable[Mapping[str, Any]], topic_id: str, destination_id: str | None
) -> Mapping[str, Any] | None:
    """The topic's subscription to another destination. eBay keeps one subscription per app
    and topic schema (``195012``): a topic may already go to another endpoint of the same
    app (another account's, or one set up in the portal)."""
    for found in subscriptions:
        if found.get("topicId") == topic_id and found.get("destinationId") != destination_id:
            return found
    return None


def topic_state(subscription: Mapping[str, Any] | None) -> str:
    """``missing``, ``enabled`` or ``disabled`` (eBay's status, lower case)."""
    if subscription is None:
        return MISSING
    return str(subscription.get("status") or DISABLED).lower()


@dataclass(frozen=True)
class Found:
    """What eBay holds for the account: its destination and each topic's state."""

    destination: Mapping[str, Any] | None
    topics: dict[str, str]  # topic -> missing / enabled / disabled / unavailable / elsewhere


def status(found: Found) -> dict[str, Any]:
    """``{"ok", "inactive", "missing", "unavailable", "topics", "destination"}``: ok while
    every topic eBay offers has an enabled subscription to an enabled destination, or one to
    another endpoint of the app (``elsewhere``: eBay allows one, and it is left as it is)."""
    destination = found.destination
    dest_ok = destination is not None and destination.get("status") == ENABLED
    topics = found.topics
    settled = (ENABLED.lower(), MISSING, UNAVAILABLE, ELSEWHERE)
    inactive = sorted(t for t, s in topics.items() if s not in settled)
    missing = sorted(t for t, s in topics.items() if s == MISSING)
    unavailable = sorted(t for t, s in topics.items() if s == UNAVAILABLE)
    return {
        "ok": dest_ok and not inactive and not missing,
        "inactive": inactive,
        "missing": missing,
        "unavailable": unavailable,
        "topics": dict(sorted(topics.items())),
        "destination": {
            "id": destination.get("destinationId"),
            "status": destination.get("status"),
        }
        if destination is not None
        else None,
    }


def created_id(location: str | None, label: str) -> str:
    """The new resource's id: the last part of the 201's ``Location``."""
    found = (location or "").rstrip("/").rsplit("/", 1)[-1]
    if not found:
        raise PermanentError(f"{label}: created, but the answer has no Location")
    return found
