"""USPS account keys (USPS APIs v3, ``apis.usps.com``).

``client_id``      the Consumer Key of an app registered on the USPS Developer Portal
                   (``developer.usps.com``, Apps); the app's API product must include Tracking
``client_secret``  that app's Consumer Secret

Optional:

  ``rate_limit``   tracking requests per hour sent to USPS by this account (default 60, the
                   quota of a new USPS app; raise it once USPS has granted more)

plus the keys every account has: ``client``, and ``api_base``, which replaces the public API
address ``https://apis.usps.com`` for both the token and the tracking calls (USPS's test
environment is ``https://apis-tem.usps.com``).

::

    [accounts.acme-usps]
    connector = "usps"
    client = "acme"
    client_id = "${ACME_USPS_CLIENT_ID}"
    client_secret = "${ACME_USPS_CLIENT_SECRET}"
"""

from __future__ import annotations

from marshmallow import fields, validate

from hub.connectors import AccountSchema

DEFAULT_API_BASE = "https://apis.usps.com"
#: requests per hour a new USPS app may send (USPS enforces it with HTTP 429)
DEFAULT_RATE_LIMIT = 60.0


class UspsSettings(AccountSchema):
    # An empty key would only ever get "invalid_client" back: refuse it at start-up.
    client_id = fields.String(required=True, validate=validate.Length(min=1))
    client_secret = fields.String(
        required=True, validate=validate.Length(min=1), metadata={"secret": True}
    )
    rate_limit = fields.Float(
        load_default=DEFAULT_RATE_LIMIT,
        validate=validate.Range(min=0, min_inclusive=False, max=1_000_000),
    )
