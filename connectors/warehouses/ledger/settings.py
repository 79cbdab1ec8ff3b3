"""Ledger account keys.

``default_location``  where counts, imports and adjustments go when they name no location
                      (default ``default``)
plus the keys every account has (``client``).
"""

from marshmallow import fields, validate

from hub.connectors import AccountSchema
from hub.stock.ledger import DEFAULT_LOCATION


class LedgerSettings(AccountSchema):
    default_location = fields.String(
        load_default=DEFAULT_LOCATION, validate=validate.Length(min=1, max=100)
    )
