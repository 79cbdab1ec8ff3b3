"""DHL account keys (Shipment Tracking - Unified, on the DHL API Developer Portal). The API key
is the portal app's key, sent on every call as ``DHL-API-Key``.

``api_key``                 the app's API key; required
``rate_limit``              calls per second sent to DHL (default 0.2: one call every 5 seconds,
                            in bursts of 1). DHL sets a daily quota and a per-second limit per
                            app (its support pages give 250 calls a day as the example); past
                            either DHL answers 429, and the daily count starts again at 00:00
                            GMT. The daily quota is not counted here: a 429 goes back to the
                            outbox, which tries again later
``service``                 a hint which DHL service resolves the numbers (``express``,
                            ``parcel-de``, ``ecommerce``, ``parcel-uk``, ``freight``...); default
                            none, DHL looks in every service
``requester_country_code``  the ISO 3166-1 alpha-2 country of whoever reads the answer, which
                            DHL uses to tune it (default none)
``language``                ISO 639-1 language asked for in DHL's texts (default ``en``; DHL
                            answers in another when a service has not that one)
``api_base``                replaces ``https://api-eu.dhl.com`` (a proxy, a stand-in for tests)

```toml
[accounts.acme-dhl]
connector = "dhl"
client = "acme"
api_key = "${ACME_DHL_API_KEY}"
service = "parcel-uk"
```
"""

from __future__ import annotations

from marshmallow import fields, validate

from hub.connectors import AccountSchema


class DhlSettings(AccountSchema):
    """Keys of a DHL account (documented in this module's docstring)."""

    api_key = fields.String(
        required=True, validate=validate.Length(min=1), metadata={"secret": True}
    )
    rate_limit = fields.Float(
        load_default=0.2, validate=validate.Range(min=0, min_inclusive=False, max=100)
    )
    # Not a closed list: DHL adds services (the OpenAPI 1.3.1 enum is already behind).
    service = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]*$", error="a DHL service, like parcel-uk"),
    )
    requester_country_code = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^[A-Z]{2}$", error="an ISO 3166-1 alpha-2 code, like GB"),
    )
    language = fields.String(
        load_default="en",
        validate=validate.Regexp(r"^[a-z]{2}$", error="an ISO 639-1 code, like en"),
    )
