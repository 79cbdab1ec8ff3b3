"""The kit every connector is built from, below the domain: the connector contract and the
entry-point registry (``contract``), the accounts file (``accounts``), the outbound HTTP client
with its rate limits, retry policy and typed errors (``http``, ``ratelimit``, ``answers``), the
circuit breaker (``breaker``), OAuth token caching (``oauth``) and webhook signatures
(``signing``).

It may import only the leaf modules (``hub.errors``, ``hub.values``, ``hub.secrets``,
``hub.canonical``); connector packages under ``connectors/`` build on it and on ``hub``'s public
names, never on the domain packages' internals.
"""

from hub.connectors.contract import (
    ENTRY_POINT_GROUP,
    TRACKING_STATUSES,
    Account,
    AccountSchema,
    Capability,
    ChannelItem,
    Connector,
    Delivery,
    FulfilmentPush,
    ParcelTracking,
    RefundPush,
    ReturnsSettingsMixin,
    StockCount,
    StockOutcome,
    StockSettingsMixin,
    StockUpdate,
    TrackingEvent,
    WarehouseBatch,
    WebhookSecretsMixin,
    calls_out,
    connector_class,
    registry,
    tracking_to_json,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "TRACKING_STATUSES",
    "Account",
    "AccountSchema",
    "Capability",
    "ChannelItem",
    "Connector",
    "Delivery",
    "FulfilmentPush",
    "ParcelTracking",
    "RefundPush",
    "ReturnsSettingsMixin",
    "StockCount",
    "StockOutcome",
    "StockSettingsMixin",
    "StockUpdate",
    "TrackingEvent",
    "WarehouseBatch",
    "WebhookSecretsMixin",
    "calls_out",
    "connector_class",
    "registry",
    "tracking_to_json",
]
