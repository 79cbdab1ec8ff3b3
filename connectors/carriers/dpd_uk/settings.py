"""DPD UK (and DPD Local) account keys.

``username``        the DPD UK web services user (the one MyDPD Business issues for the API)
``password``        its password; DPD's tracking service takes both inside each request body
``account_number``  optional: the DPD account number, which DPD's shipping API wants as
                    ``GeoClient: account/<number>``; tracking does not use it

plus the keys every account has: ``client`` and ``api_base``, the tracking service root that
``parcels`` hangs under (default ``https://apps.geopostuk.com/trackingcore/dpd``; DPD Ireland
uses ``.../trackingcore/ie``).
"""

from __future__ import annotations

from marshmallow import fields, validate

from hub.connectors import AccountSchema


class DpdUkSettings(AccountSchema):
    username = fields.String(required=True, validate=validate.Length(min=1))
    password = fields.String(
        required=True, validate=validate.Length(min=1), metadata={"secret": True}
    )
    account_number = fields.String(load_default=None, validate=validate.Length(min=1))
