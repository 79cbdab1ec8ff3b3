"""Amazon Selling Partner API account keys.

``region``          ``na``, ``eu`` or ``fe``: the SP-API endpoint the seller's marketplaces
                    belong to (``https://sellingpartnerapi-<region>.amazon.com``)
``marketplace_ids`` the marketplaces orders are read from and stock is set in (a list of
                    ids such as ``A1F83G8C2ARO7P``, Amazon.co.uk)
``client_id``, ``client_secret``
                    the app's Login with Amazon (LWA) credentials
``refresh_token``   the seller's LWA refresh token (``Atzr|...``), from authorising the app;
                    exchanged for an access token (cached until shortly before it expires)
                    that goes in ``x-amz-access-token``

Optional keys:

  ``seller_id``      the merchant token (``A...``): the Listings Items API and the listings
                     feed name the seller; needed for stock sync (refused at start-up when
                     ``stock_sync`` is on without it)
  ``sqs_queue_url``  the SQS queue that receives the ORDER_CHANGE notifications (see
                     ``notifications.py``); AWS credentials come from boto3's usual chain
                     (environment, profile, instance role)
  ``sqs_region``     the queue's AWS region (default: read from the queue's address)
  ``restricted_data`` true: every Orders API call that reads buyer or address data is sent
                     with a Restricted Data Token (``createRestrictedDataToken``) instead of
                     the access token. Orders API v2026-01-01 reads that data with role-based
                     access alone (Amazon's "Access Orders PII" guide), so only accounts whose
                     app still works the v0 way need it (default false)
  ``api_base``       replaces the regional SP-API address (a proxy, the sandbox
                     ``https://sandbox.sellingpartnerapi-eu.amazon.com``, a local stand-in)
  ``auth_base``      replaces the Login with Amazon address ``https://api.amazon.com``; the
                     token path is ``/auth/o2/token`` under it
  ``feed_threshold`` the most SKUs a stock push sends as single Listings Items PATCH calls;
                     larger batches go as one JSON_LISTINGS_FEED (default 10)
  ``feed_wait``      seconds a stock push waits for the feed's processing report (default
                     240, within the stock pass's lease); a feed not done by then counts as
                     accepted, as a PATCH answer does

plus the keys every account has (``client``, ``api_calls``) and every sales channel's stock
keys (``stock_locations``, ``stock_buffer``, ``stock_buffers``, ``stock_share``,
``stock_sync``).
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from hub.connectors import AccountSchema, StockSettingsMixin

#: SP-API endpoints by region — https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints
ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
AUTH_BASE = "https://api.amazon.com"
TOKEN_PATH = "/auth/o2/token"
DEFAULT_FEED_THRESHOLD = 10
DEFAULT_FEED_WAIT = 240.0


class AmazonSettings(AccountSchema, StockSettingsMixin):
    region = fields.String(required=True, validate=validate.OneOf(sorted(ENDPOINTS)))
    marketplace_ids = fields.List(
        fields.String(validate=validate.Regexp(r"^[A-Z0-9]{8,20}$")),
        required=True,
        validate=validate.Length(min=1, max=50),
    )
    client_id = fields.String(required=True, validate=validate.Length(min=1))
    client_secret = fields.String(
        required=True, validate=validate.Length(min=1), metadata={"secret": True}
    )
    refresh_token = fields.String(
        required=True, validate=validate.Length(min=1), metadata={"secret": True}
    )
    seller_id = fields.String(load_default=None, validate=validate.Length(min=1))
    sqs_queue_url = fields.Url(load_default=None, schemes={"http", "https"}, require_tld=False)
    sqs_region = fields.String(load_default=None)
    restricted_data = fields.Boolean(load_default=False)
    auth_base = fields.Url(load_default=None, schemes={"http", "https"}, require_tld=False)
    feed_threshold = fields.Integer(
        load_default=DEFAULT_FEED_THRESHOLD, validate=validate.Range(min=0, max=1000)
    )
    feed_wait = fields.Float(load_default=DEFAULT_FEED_WAIT, validate=validate.Range(min=0))

    @validates_schema
    def _seller_for_stock(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (
            data.get("stock_sync", True)
            and data.get("api_calls", True)
            and not data.get("seller_id")
        ):
            raise ValidationError(
                "required for stock sync (the Listings Items API names the seller); "
                "or set stock_sync = false",
                "seller_id",
            )
