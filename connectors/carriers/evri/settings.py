"""Evri account keys.

``api_key``  the key Evri issues for its tracking API; sent as the ``apiKey`` header

plus the keys every account has: ``client`` and ``api_base``, the tracking API root
(default ``https://api.hermesworld.co.uk/enterprise-tracking-api/v1``).
"""

from __future__ import annotations

from marshmallow import fields, validate

from hub.connectors import AccountSchema


class EvriSettings(AccountSchema):
    api_key = fields.String(
        required=True, validate=validate.Length(min=1), metadata={"secret": True}
    )
