"""Shopify account keys.

``shop``            the shop's ``*.myshopify.com`` domain; deliveries for another shop are refused
``webhook_secret``  the app's client secret that signs webhooks (``webhook_secrets``: a list,
                    while a secret is rotated; Shopify may sign with the old one for an hour)
``access_token``    Admin API access token (``shpat_...``); stock sync needs the
                    ``read_products``, ``read_inventory``, ``write_inventory`` and
                    ``read_locations`` scopes; the fulfilment push needs ``read_orders``,
                    ``write_fulfillments`` and ``write_merchant_managed_fulfillment_orders``
                    (since 2024-10 Shopify lets no app fulfil an order's fulfillment orders
                    that are assigned to another app's fulfillment service); reconciliation
                    reads orders with ``read_orders`` (and ``read_all_orders`` for windows
                    older than 60 days)

Optional keys, for stock sync through the GraphQL Admin API:

  ``api_version``   the Admin API version: ``YYYY-MM``, 2026-01 or later, or ``unstable``
                    (default 2026-10); calls go to ``<root>/admin/api/<version>/graphql.json``,
                    where the root is ``https://<shop>`` unless ``api_base`` replaces it
  ``location_id``   the Shopify location whose ``available`` stock the hub sets: a location GID
                    (``gid://shopify/Location/123``) or its number (default: the shop's primary
                    location, asked from Shopify once)
  ``graphql_rate``  the plan's GraphQL restore rate in cost points per second (default 100,
                    Standard; Advanced 200, Plus 1000); Shopify's own figures take over after
                    the first answer

plus the keys every account has (``client``, ``api_base``) and the stock keys of every sales
channel: ``stock_locations`` (the hub's warehouse locations whose stock is offered here; not
to be confused with ``location_id``), ``stock_buffer``, ``stock_buffers``, ``stock_share``
and ``stock_sync``.
Optional ``returns``, the returns policy: ``{refund = "none" | "on_receipt" |
"on_inspection", restock_on_channel = false}`` (default: no refund through the hub)
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields, validate

from connectors.channels.shopify.stock import location_gid
from hub.connectors import (
    AccountSchema,
    ReturnsSettingsMixin,
    StockSettingsMixin,
    WebhookSecretsMixin,
)

DEFAULT_API_VERSION = "2026-10"
#: ``changeFromQuantity`` and ``@idempotent`` exist from this version on
OLDEST_API_VERSION = "2026-01"
DEFAULT_GRAPHQL_RATE = 100.0
_VERSION = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def _check_api_version(value: str) -> None:
    if value == "unstable":
        return
    if not _VERSION.fullmatch(value):
        raise ValidationError("expected YYYY-MM (e.g. 2026-10) or unstable")
    if value < OLDEST_API_VERSION:
        raise ValidationError(
            f"{value} is too old: stock sync needs {OLDEST_API_VERSION} or later "
            "(changeFromQuantity, @idempotent)"
        )


class LocationId(fields.Field):
    """A Shopify location, written as a GID or its number (a TOML integer too); loads as a GID."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str | int):
            raise ValidationError("expected a location GID or number")
        try:
            return location_gid(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class ShopifySettings(AccountSchema, WebhookSecretsMixin, StockSettingsMixin, ReturnsSettingsMixin):
    shop = fields.String(required=True)
    access_token = fields.String(required=True, metadata={"secret": True})
    api_version = fields.String(load_default=DEFAULT_API_VERSION, validate=_check_api_version)
    location_id = LocationId(load_default=None)
    graphql_rate = fields.Float(
        load_default=DEFAULT_GRAPHQL_RATE,
        validate=validate.Range(min=1, max=100_000),
    )
