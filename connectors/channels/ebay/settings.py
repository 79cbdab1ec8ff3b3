"""eBay account keys.

``marketplace_id``      the eBay marketplace the account sells on (``EBAY_GB``, ``EBAY_US``,
                        ``EBAY_DE``, ...): sent as ``X-EBAY-C-MARKETPLACE-ID``, and the offers
                        whose stock is set are this marketplace's
``client_id``           the app's App ID (OAuth client id) from the developer portal
``client_secret``       the app's Cert ID (OAuth client secret)
``refresh_token``       the seller's OAuth refresh token (authorization-code grant, valid 18
                        months), with the scopes ``sell.fulfillment`` and ``sell.inventory``;
                        access tokens (2 hours) are made from it and cached
``verification_token``  the token entered with the notification endpoint in the developer
                        portal (32 to 80 characters: letters, digits, ``_`` and ``-``); it
                        goes into the challenge answer
``endpoint_url``        the public address eBay calls, exactly as entered in the portal
                        (``https://hub.example/webhooks/<account>``): the challenge hash covers it;
                        ``hub accounts hooks sync`` makes the Notification API destination for it
                        (with ``verification_token``) and subscribes it to the hub's topics: the
                        order topics need the seller's consent to the scope
                        ``commerce.notification.subscription`` as well; ``hub accounts hooks``
                        and the account's health use this address, so they need no
                        ``HUB_PUBLIC_URL``

Optional keys:

  ``api_base``          replaces ``https://api.ebay.com`` for every call (identity, sell,
                        commerce/notification): ``https://api.sandbox.ebay.com`` for the
                        sandbox, or a proxy
  ``stock_api``         ``inventory`` (default: Inventory API ``bulk_update_price_quantity``) or
                        ``trading`` (Trading API ``ReviseInventoryStatus``, for listings made
                        outside the Inventory API)
  ``site_id``           the Trading API site id for ``stock_api = "trading"`` (default: from
                        ``marketplace_id``: 3 for EBAY_GB, 0 for EBAY_US, 77 for EBAY_DE, ...)
  ``scopes``            the OAuth scopes asked for with the refresh token (default
                        ``sell.fulfillment`` and ``sell.inventory``; the same as the seller
                        consented to, or fewer)
  ``rate_limit``        requests per second the hub sends this account (default 5); eBay's
                        own limits are daily call quotas per app

plus the keys every account has (``client``, ``api_calls``) and the stock keys of every sales
channel: ``stock_locations``, ``stock_buffer``, ``stock_buffers``, ``stock_share`` and
``stock_sync``.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from hub.connectors import AccountSchema, StockSettingsMixin

#: Trading API site ids by marketplace (eBay's SiteCodeType; the ids as eBay's Trading SDK
#: maps them, ``eBay/trading-api-java-sdk`` ``source/core/src/com/ebay/sdk/SiteIDUtil.java``).
#: EBAY_BE has two sites (French 23, Dutch 123): give ``site_id``.
SITE_IDS = {
    "EBAY_US": 0,
    "EBAY_CA": 2,
    "EBAY_GB": 3,
    "EBAY_AU": 15,
    "EBAY_AT": 16,
    "EBAY_FR": 71,
    "EBAY_DE": 77,
    "EBAY_MOTORS_US": 100,
    "EBAY_IT": 101,
    "EBAY_NL": 146,
    "EBAY_ES": 186,
    "EBAY_CH": 193,
    "EBAY_IE": 205,
    "EBAY_PL": 212,
    "EBAY_HK": 201,
    "EBAY_MY": 207,
    "EBAY_PH": 211,
    "EBAY_SG": 216,
}
_MARKETPLACE = re.compile(r"EBAY_[A-Z_]{2,20}")
_VERIFICATION = re.compile(r"[A-Za-z0-9_-]{32,80}")


class EbaySettings(AccountSchema, StockSettingsMixin):
    marketplace_id = fields.String(
        required=True,
        validate=validate.Regexp(_MARKETPLACE, error="expected EBAY_GB, EBAY_US, ..."),
    )
    client_id = fields.String(required=True, validate=validate.Length(min=1))
    client_secret = fields.String(
        required=True, validate=validate.Length(min=1), metadata={"secret": True}
    )
    refresh_token = fields.String(
        required=True, validate=validate.Length(min=1), metadata={"secret": True}
    )
    verification_token = fields.String(
        required=True,
        validate=validate.Regexp(
            _VERIFICATION, error="32 to 80 characters: letters, digits, '_' and '-' (eBay's rule)"
        ),
        metadata={"secret": True},
    )
    endpoint_url = fields.Url(required=True, schemes={"https", "http"}, require_tld=False)
    stock_api = fields.String(
        load_default="inventory", validate=validate.OneOf(("inventory", "trading"))
    )
    site_id = fields.Integer(load_default=None, validate=validate.Range(min=0, max=999))
    scopes = fields.List(fields.String(validate=validate.Length(min=1)), load_default=None)
    rate_limit = fields.Float(
        load_default=5.0, validate=validate.Range(min=0, min_inclusive=False, max=1000)
    )

    @validates_schema
    def _site(self, data: dict[str, Any], **kwargs: Any) -> None:
        trading = data.get("stock_api") == "trading" and data.get("site_id") is None
        if trading and data.get("marketplace_id") not in SITE_IDS:
            raise ValidationError(
                f"required for stock_api = 'trading' on {data.get('marketplace_id')}", "site_id"
            )


def site_id(settings: Any) -> int:
    """The Trading API site of the account."""
    given = settings.get("site_id")
    return int(given) if given is not None else SITE_IDS[str(settings["marketplace_id"])]
