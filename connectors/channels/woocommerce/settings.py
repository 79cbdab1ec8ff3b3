"""WooCommerce account keys.

``url``              the store's address (``https://shop.example``)
``webhook_secret``   the secret set on the store's webhooks (``webhook_secrets``: a list, while
                     one is rotated)
``consumer_key``     REST API key (``ck_...``)
``consumer_secret``  REST API secret (``cs_...``)
plus the keys every account has (``client``, ``api_base``) and the stock keys of every
sales channel (``stock_locations``, ``stock_buffer``, ``stock_buffers``, ``stock_share``).
"""

from marshmallow import fields

from hub.connectors import AccountSchema, StockSettingsMixin, WebhookSecretsMixin


class WooCommerceSettings(AccountSchema, WebhookSecretsMixin, StockSettingsMixin):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    consumer_key = fields.String(required=True, metadata={"secret": True})
    consumer_secret = fields.String(required=True, metadata={"secret": True})
