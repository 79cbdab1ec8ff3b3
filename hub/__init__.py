"""Fulfilment Hub core. What another package (a third-party connector) may import from ``hub``
is listed here; everything else is internal and may change.
"""

from hub.canonical import (
    Address,
    Customer,
    Line,
    Order,
    OrderRemoved,
    OrderStatus,
    OrderUpdate,
    Shipping,
    Totals,
    Translation,
    order_to_json,
)
from hub.connectors import (
    Account,
    AccountSchema,
    Capability,
    Connector,
    Delivery,
    WebhookSecretsMixin,
)
from hub.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    HubError,
    MappingError,
    PermanentError,
    RetryableError,
    TranslationError,
)
from hub.http import HttpClient, RateLimiter, limiter_for
from hub.signing import hmac_sha256_base64, verify_hmac_sha256_base64

__all__ = [
    "Account",
    "AccountSchema",
    "Address",
    "AuthError",
    "Capability",
    "ConfigError",
    "Connector",
    "ConnectorError",
    "Customer",
    "Delivery",
    "HttpClient",
    "HubError",
    "Line",
    "MappingError",
    "Order",
    "OrderRemoved",
    "OrderStatus",
    "OrderUpdate",
    "PermanentError",
    "RateLimiter",
    "RetryableError",
    "Shipping",
    "Totals",
    "Translation",
    "TranslationError",
    "WebhookSecretsMixin",
    "hmac_sha256_base64",
    "limiter_for",
    "order_to_json",
    "verify_hmac_sha256_base64",
]
