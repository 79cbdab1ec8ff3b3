"""Royal Mail account keys (Tracking API v2, for server-side apps, on the Royal Mail developer
portal). Both credentials come from the application registered there; they are sent on every
call as ``X-IBM-Client-Id`` and ``X-IBM-Client-Secret``.

``client_id``      the application's client id; required
``client_secret``  the application's client secret; required
``rate_limit``     calls per second sent to Royal Mail (default 1, in bursts of 1); Royal Mail
                   publishes its plans' limits only to subscribers (the Assessment plan allows
                   50 calls a day), so set this to the account's plan
``api_base``       replaces ``https://api.royalmail.net`` (a proxy, a stand-in for tests)

```toml
[accounts.acme-royalmail]
connector = "royalmail"
client = "acme"
client_id = "${ACME_RM_CLIENT_ID}"
client_secret = "${ACME_RM_CLIENT_SECRET}"
```
"""

from __future__ import annotations

from marshmallow import fields, validate

from hub.connectors import AccountSchema


class RoyalMailSettings(AccountSchema):
    """Keys of a Royal Mail account (documented in this module's docstring)."""

    client_id = fields.String(
        required=True, validate=validate.Length(min=1), metadata={"secret": True}
    )
    client_secret = fields.String(
        required=True, validate=validate.Length(min=1), metadata={"secret": True}
    )
    rate_limit = fields.Float(
        load_default=1.0, validate=validate.Range(min=0, min_inclusive=False, max=100)
    )
