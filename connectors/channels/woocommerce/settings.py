"""WooCommerce account keys.

``url``              the store's address (``https://shop.example``); its REST API is at
                     ``<url>/wp-json/wc/v3``, reached over HTTPS (WooCommerce takes the keys
                     below as HTTP Basic credentials over HTTPS only)
``webhook_secret``   the secret set on the store's webhooks (``webhook_secrets``: a list, while
                     one is rotated)
``consumer_key``     REST API key (``ck_...``); Read/Write access, as stock is pushed and
                     orders are given tracking (the Shipment Tracking extension, when
                     installed, takes the same key; without it tracking goes in order notes)
``consumer_secret``  REST API secret (``cs_...``); reconciliation reads orders modified in a
                     window, which needs WooCommerce 5.8 or later
plus the keys every account has (``client``, and ``api_base``, which replaces ``url`` as the
address the REST API is called at), the stock keys of every sales channel
(``stock_locations``, ``stock_buffer``, ``stock_buffers``, ``stock_share`` and
the switch ``stock_sync``), and the optional
rate limit, ``rate_limit``: requests per second the hub sends this store (default 5, in
bursts of up to twice that). WooCommerce has no rate limit of its own; this spares a shared
host.
Optional ``returns``, the returns policy: ``{refund = "none" | "on_receipt" |
"on_inspection", restock_on_channel = false}`` (default: no refund through the hub);
``api_refund = true`` in it refunds through the payment gateway (default false: the refund
is recorded in WooCommerce only, the money given back by the merchant); ``restock_on_channel``
is the refund's ``api_restock`` (WooCommerce puts the goods back in its own count, which the
hub's next stock push overwrites). Refunds made in WooCommerce come in whatever the policy:
the goods restocked there open a return the hub does not refund again.
"""

from marshmallow import fields, validate

from hub.connectors import (
    AccountSchema,
    ReturnsSettingsMixin,
    StockSettingsMixin,
    WebhookSecretsMixin,
)


class WooCommerceSettings(
    AccountSchema, WebhookSecretsMixin, StockSettingsMixin, ReturnsSettingsMixin
):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    consumer_key = fields.String(required=True, metadata={"secret": True})
    consumer_secret = fields.String(required=True, metadata={"secret": True})
    rate_limit = fields.Float(
        load_default=5.0, validate=validate.Range(min=0, min_inclusive=False, max=1000)
    )
