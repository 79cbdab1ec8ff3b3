"""BigCommerce account keys.

``store_hash``     the store's hash (``abc123`` in ``https://api.bigcommerce.com/stores/abc123``);
                   every call goes to ``/stores/<store_hash>/v2/...`` or ``/v3/...``
``client_id``      the app's (or API account's) client id, sent as ``X-Auth-Client``
``client_secret``  the app's client secret: BigCommerce signs each webhook with it (Standard
                   Webhooks, HMAC-SHA256 keyed with the secret's bytes); ``client_secrets``,
                   a list, while a secret is reset
``access_token``   the store's access token, sent as ``X-Auth-Token``; scopes: Orders
                   modify (orders read, shipments made), Products read-only (the variants
                   stock is set on) and Store Inventory modify (the adjustments). Webhooks
                   need no scope of their own, but a hook is seen only by the API account
                   that made it: ``hub accounts hooks sync`` must run with this token

Optional keys:

  ``api_base``              replaces ``https://api.bigcommerce.com`` (a proxy, a stand-in);
                            paths keep ``/stores/<store_hash>/...``
  ``webhook_header``        a custom header older hooks were created with to authenticate
                            them (BigCommerce sends a hook's ``headers`` with each delivery),
                            accepted in place of a signature: its name (default
                            ``X-Hub-Webhook-Secret``) and ``webhook_header_secret``, its
                            value; the hooks the hub creates carry it too
  ``location_id``           the BigCommerce inventory location stock is set at (default 1,
                            the store's default location)
  ``rate_limit``            requests per second the hub sends the store (default 4: the
                            Standard plan's 150 per 30 s, shared with the store's other apps);
                            each answer's ``X-Rate-Limit-Requests-Left`` and
                            ``X-Rate-Limit-Time-Reset-Ms`` then pace it

plus the keys every account has (``client``, ``api_calls``) and the stock keys of every
sales channel (``stock_locations``, ``stock_buffer``, ``stock_buffers``, ``stock_share``, and
the switch ``stock_sync``).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from hub.connectors import AccountSchema, StockSettingsMixin

DEFAULT_API_BASE = "https://api.bigcommerce.com"
DEFAULT_HEADER = "X-Hub-Webhook-Secret"
DEFAULT_LOCATION = 1
DEFAULT_RATE = 4.0


class ClientSecretsMixin(Schema):
    """``client_secret`` or ``client_secrets`` (a list, while one is reset)."""

    client_secret = fields.String(validate=validate.Length(min=1), metadata={"secret": True})
    client_secrets = fields.List(
        fields.String(validate=validate.Length(min=1)), metadata={"secret": True}
    )

    @validates_schema
    def _one_secret(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("client_secret") and not data.get("client_secrets"):
            raise ValidationError("required (or client_secrets)", "client_secret")


class BigCommerceSettings(AccountSchema, ClientSecretsMixin, StockSettingsMixin):
    store_hash = fields.String(
        required=True, validate=validate.Regexp(r"^[A-Za-z0-9]+$", error="letters and digits")
    )
    client_id = fields.String(required=True, validate=validate.Length(min=1))
    access_token = fields.String(
        required=True, validate=validate.Length(min=1), metadata={"secret": True}
    )
    webhook_header = fields.String(load_default=DEFAULT_HEADER, validate=validate.Length(min=1))
    webhook_header_secret = fields.String(
        load_default=None, validate=validate.Length(min=16), metadata={"secret": True}
    )
    location_id = fields.Integer(load_default=DEFAULT_LOCATION, validate=validate.Range(min=1))
    rate_limit = fields.Float(
        load_default=DEFAULT_RATE, validate=validate.Range(min=0, min_inclusive=False, max=1000)
    )


def client_secrets(settings: Any) -> list[str]:
    """Every client secret a delivery may be signed with (the current one first)."""
    one = settings.get("client_secret")
    many = list(settings.get("client_secrets") or [])
    return [s for s in ([one] if one else []) + many if s]
