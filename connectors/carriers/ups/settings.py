"""UPS account keys.

``client_id``          the Client ID of the account's app on developer.ups.com
``client_secret``      the app's Client Secret; with the Client ID it fetches OAuth tokens
                       (client credentials, HTTP Basic), each reused until shortly before it
                       expires

Optional keys:

  ``webhook_secret``   the ``credential`` given to UPS Track Alert when numbers are subscribed;
                       UPS sends it back in the ``credential`` header of every push
                       (``webhook_secrets``: a list, while it is rotated). Without one, every
                       push is refused
  ``transaction_src``  what the ``transactionSrc`` header names as the calling application
                       (default ``fulfilment-hub``)

plus the keys every account has: ``client``, and ``api_base``, which replaces
``https://onlinetools.ups.com`` (``https://wwwcie.ups.com`` is UPS's test environment).
"""

from __future__ import annotations

from marshmallow import fields, validate

from hub.connectors import AccountSchema

DEFAULT_TRANSACTION_SRC = "fulfilment-hub"


class UpsSettings(AccountSchema):
    client_id = fields.String(required=True, validate=validate.Length(min=1))
    client_secret = fields.String(
        required=True, validate=validate.Length(min=1), metadata={"secret": True}
    )
    # Track Alert is optional (a paid subscription per number): no secret, no pushes accepted.
    # An empty value is refused, so an unset "${VAR:-}" cannot make a secret everyone knows.
    webhook_secret = fields.String(validate=validate.Length(min=1), metadata={"secret": True})
    webhook_secrets = fields.List(
        fields.String(validate=validate.Length(min=1)), metadata={"secret": True}
    )
    transaction_src = fields.String(
        load_default=DEFAULT_TRANSACTION_SRC, validate=validate.Length(min=1, max=100)
    )
