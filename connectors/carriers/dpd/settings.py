"""DPD Web Connect (DPD Germany, DPD BeNeLux) account keys.

``delis_id``          the DELIS user id DPD gives for its web services
``password``          that user's password; sent only to ``LoginService`` for an authToken
``message_language``  the language of DPD's texts and dates, ``xx_XX`` (default ``en_US``)
``login_version``     the ``LoginService`` version: ``2.0`` (DPD Germany, the default) or ``2.1``
                      (DPD BeNeLux)

plus the keys every account has: ``client`` and ``api_base``, the web services root that
``LoginService/V2_0/`` and ``ParcelLifeCycleService/V2_0/`` hang under (default DPD Germany's
``https://public-ws.dpd.com/services``; its test system is
``https://public-ws-stage.dpd.com/services``; DPD BeNeLux is
``https://wsshipper.dpd.be/soap/services`` with ``login_version = "2.1"``).
"""

from __future__ import annotations

from marshmallow import fields, validate

from hub.connectors import AccountSchema

DEFAULT_LANGUAGE = "en_US"
LOGIN_VERSIONS = ("2.0", "2.1")


class DpdSettings(AccountSchema):
    delis_id = fields.String(required=True, validate=validate.Length(min=1))
    password = fields.String(
        required=True, validate=validate.Length(min=1), metadata={"secret": True}
    )
    message_language = fields.String(
        load_default=DEFAULT_LANGUAGE,
        validate=validate.Regexp(r"^[a-z]{2}_[A-Z]{2}$", error="expected xx_XX, e.g. en_US"),
    )
    login_version = fields.String(load_default="2.0", validate=validate.OneOf(LOGIN_VERSIONS))
