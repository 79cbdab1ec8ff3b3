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
``api_base``                replaces ``https://api-eu.dhl.com`` (a proxy, a stand-in for tests;
                            ``https://api-sandbox.dhl.com`` for DHL's sandbox)
``tracking_api``            ``unified`` (default: Shipment Tracking - Unified, JSON, one number a
                            call) or ``parcel-de`` (DHL Paket Germany's Parcel DE Tracking,
                            "Sendungsverfolgung": XML, ``d-get-piece-detail``, up to 15 numbers
                            a call), for business customers of DHL Paket Germany
``api_secret``              the portal app's API secret; required with ``parcel-de``, which sends
                            ``api_key`` and ``api_secret`` as HTTP Basic credentials besides the
                            ``DHL-API-Key`` header
``zt_user``                 the business customer's tracking user (the "ZT" user of the DHL
                            business customer portal, with the right to track); required with
                            ``parcel-de``, sent as ``appname`` inside the request's XML
``zt_password``             that user's password; required with ``parcel-de``, sent as
                            ``password`` inside the request's XML. ``parcel-de`` always asks
                            for German texts (``language-code="de"``): its statuses are refined
                            from DHL Paket's German wording, so ``language`` is not sent there

```toml
[accounts.acme-dhl]
connector = "dhl"
client = "acme"
api_key = "${ACME_DHL_API_KEY}"
service = "parcel-uk"

[accounts.acme-dhl-paket]
connector = "dhl"
client = "acme"
tracking_api = "parcel-de"
api_key = "${ACME_DHL_API_KEY}"
api_secret = "${ACME_DHL_API_SECRET}"
zt_user = "${ACME_DHL_ZT_USER}"
zt_password = "${ACME_DHL_ZT_PASSWORD}"
```
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

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
    tracking_api = fields.String(
        load_default="unified", validate=validate.OneOf(["unified", "parcel-de"])
    )
    api_secret = fields.String(
        load_default=None, validate=validate.Length(min=1), metadata={"secret": True}
    )
    zt_user = fields.String(load_default=None, validate=validate.Length(min=1))
    zt_password = fields.String(
        load_default=None, validate=validate.Length(min=1), metadata={"secret": True}
    )

    @validates_schema
    def _parcel_de_credentials(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("tracking_api") != "parcel-de":
            return
        for key in ("api_secret", "zt_user", "zt_password"):
            if not data.get(key):
                raise ValidationError("required with tracking_api = parcel-de", key)
