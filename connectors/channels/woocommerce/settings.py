"""WooCommerce account keys.

``url``              the store's address (``https://shop.example``)
``webhook_secret``   the secret set on the store's webhooks (``webhook_secrets``: a list, while
                     one is rotated)
``consumer_key``     REST API key (``ck_...``)
``consumer_secret``  REST API secret (``cs_...``)
plus the keys every account has: ``client``, ``api_base``.
"""

from marshmallow import fields

from hub.connectors import AccountSchema, WebhookSecretsMixin


class WooCommerceSettings(AccountSchema, WebhookSecretsMixin):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    consumer_key = fields.String(required=True, metadata={"secret": True})
    consumer_secret = fields.String(required=True, metadata={"secret": True})
