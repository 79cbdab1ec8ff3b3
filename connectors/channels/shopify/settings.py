"""Shopify account keys.

``shop``            the shop's ``*.myshopify.com`` domain; deliveries for another shop are refused
``webhook_secret``  the app's client secret that signs webhooks (``webhook_secrets``: a list,
                    while a secret is rotated; Shopify may sign with the old one for an hour)
``access_token``    Admin API access token (``shpat_...``)
plus the keys every account has (``client``, ``api_base``) and the stock keys of every
sales channel (``stock_locations``, ``stock_buffer``, ``stock_buffers``, ``stock_share``).
"""

from marshmallow import fields

from hub.connectors import AccountSchema, StockSettingsMixin, WebhookSecretsMixin


class ShopifySettings(AccountSchema, WebhookSecretsMixin, StockSettingsMixin):
    shop = fields.String(required=True)
    access_token = fields.String(required=True, metadata={"secret": True})
