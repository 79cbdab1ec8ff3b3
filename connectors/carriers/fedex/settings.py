"""FedEx account keys.

``client_id``        the API Key of the account's project on developer.fedex.com
``client_secret``    the project's Secret Key; with the API Key it fetches OAuth tokens
                     (client credentials, sent as form fields), each reused until shortly
                     before it expires

Optional keys:

  ``webhook_secret``  the security token of the account's Advanced Integrated Visibility
                      webhook project, which signs every push (``fdx-signature``)
                      (``webhook_secrets``: a list, while it is rotated). Without one, every
                      push is refused

plus the keys every account has: ``client``, and ``api_base``, which replaces
``https://apis.fedex.com`` (``https://apis-sandbox.fedex.com`` is FedEx's sandbox).
"""

from __future__ import annotations

from marshmallow import fields, validate

from hub.connectors import AccountSchema


class FedExSettings(AccountSchema):
    client_id = fields.String(required=True, validate=validate.Length(min=1))
    client_secret = fields.String(
        required=True, validate=validate.Length(min=1), metadata={"secret": True}
    )
    # Pushes are a paid FedEx subscription: no secret, no pushes accepted. An empty value is
    # refused, so an unset "${VAR:-}" cannot make a secret everyone knows.
    webhook_secret = fields.String(validate=validate.Length(min=1), metadata={"secret": True})
    webhook_secrets = fields.List(
        fields.String(validate=validate.Length(min=1)), metadata={"secret": True}
    )
