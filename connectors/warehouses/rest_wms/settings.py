"""rest_wms account keys. Only ``api_base`` and the credentials have no default; the rest
describe the WMS's API where it differs from the defaults below.

Field locations (``*_field``, ``*_path``) are dotted paths into the WMS's JSON: ``sku``,
``product.sku``, ``lines.0.sku`` (a number picks a list item); ``""`` is the answer itself.

Connection:

``api_base``               the WMS API's address (``https://wms.example/api``); required
``api_key``                API key or token; sent as ``Authorization: Bearer <key>`` by default
``api_key_header``         the header that carries ``api_key`` (default ``Authorization``, with
                           the ``Bearer`` prefix); any other header carries the key as it is
``username``               HTTP Basic user, instead of ``api_key``
``password``               HTTP Basic password
``rate_limit``             requests per second sent to the WMS (default 5, in bursts of twice
                           that)
``default_location``       the hub location a stock count goes to when it names none (default
                           the hub's ``default``)

Orders sent (the hub's order id is each WMS order's external reference, so a retry finds the
order the first try made, and the WMS's shipments name the hub order they belong to):

``orders_endpoint``        POST a new order (default ``/orders``); every POST carries an
                           ``Idempotency-Key`` header, ``hub-order-<id>``; an answer of 409 is
                           taken as "made already" and the order is looked up
``order_template``         JMESPath expression that builds the order body from the canonical
                           order (its ``lines`` narrowed to the lines to ship); default: the
                           hub's own shape, see ``translate.order_body``
``order_reference_field``  where the body carries the hub's order id, as a string (default
                           ``external_reference``); set after the template, so it is always sent
``reference_field``        where the WMS's answer (to the POST, and to the lookup) gives its own
                           order reference (default ``id``); without one, the last segment of
                           a ``Location`` header is taken
``lookup_endpoint``        GET an order by the hub's id, ``{order_id}`` filled in (default
                           ``/orders?external_reference={order_id}``); a list or one order
``cancel_endpoint``        cancel an order, ``{reference}`` filled in with the WMS's reference
                           (default ``/orders/{reference}/cancel``); a 404 means nothing to stop
``cancel_method``          ``POST`` (default), ``PUT``, ``PATCH`` or ``DELETE``

Lists (stock and shipments) and their pages:

``items_path``             where a list answer holds its items (default ``items``)
``cursor_param``           query parameter that asks for the page after a cursor (default
                           ``cursor``)
``next_cursor_path``       where an answer gives the next page's cursor (default
                           ``next_cursor``); none, an empty page or the same cursor again ends
                           the list; a value that is a URL or starts with ``/`` is followed as
                           the next page's address
``page_param``             query parameter for numbered pages (1, 2, ... until an empty page),
                           instead of cursors (default: none)

Stock levels, read on every poll and set as on-hand counts (reason ``count``):

``stock_endpoint``         GET stock levels (default ``/stock``)
``sku_field``              an item's SKU (default ``sku``)
``on_hand_field``          its quantity on hand (default ``on_hand``)
``location_field``         its location (default: none; every count goes to ``default_location``,
                           and rows of one SKU are added up)

Shipments, read since the last poll; each becomes a ``POST /api/shipments`` record:

``shipments_endpoint``     GET shipments (default ``/shipments``)
``shipments_items_path``   where the shipments list holds its items (default: ``items_path``)
``shipment_id_field``      a shipment's own id (default ``id``)
``shipment_order_field``   the hub order id the shipment is for: the external reference the
                           order was sent with (default ``external_reference``)
``tracking_field``         tracking number (default ``tracking_number``)
``carrier_field``          carrier (default ``carrier``), turned into the hub's carrier name
                           through ``carrier_map``, else lower-cased
``carrier_map``            the WMS's carrier codes to the hub's carrier names
                           (``carrier_map = { RM = "royalmail", DPD = "dpd_uk" }``; any case)
``service_field``          carrier service (default ``service``)
``shipped_at_field``       when it shipped, ISO 8601 (default ``shipped_at``)
``lines_field``            the shipped lines (default ``lines``)
``line_sku_field``         a shipped line's SKU (default ``sku``)
``line_quantity_field``    its quantity (default ``quantity``)
``line_id_field``          a shipped line's channel line id, when the WMS echoes the ``line_id``
                           it was sent (default: none, lines are matched by SKU)
``since_param``            query parameter that asks for shipments since the saved position
                           (default ``since``)
``since_start``            where the first poll starts: a time (``2030-01-01T00:00:00Z``, quoted
                           or not), or a cursor, so a WMS's history from before the hub is not
                           read; default: none, everything
``since_value``            what the saved position is: ``field`` (default), the greatest
                           ``since_field`` read so far, or ``cursor``, the last cursor the WMS
                           gave (a change feed)
``since_field``            the shipment field ordered by time that ``since`` filters on
                           (default: ``shipped_at_field``); shipments at exactly the saved time
                           that were read already are skipped, so ``since`` may be inclusive

Returns (optional; none of these set: the WMS hears nothing of returns):

``returns_endpoint``          POST each authorised return's advance notice (the hub's notice as
                              it is: ``return_id``, ``order_id``, ``number``, ``external_id``,
                              ``lines`` of ``sku``, ``quantity``, ``reason``, ``label``,
                              ``note``), with an ``Idempotency-Key``; a 409 is one sent already
``returns_received_endpoint`` GET the returns the WMS received, each as the hub takes it:
                              ``{"return_id", "received_at"?, "lines": [{"sku" or "line_id",
                              "quantity", "condition"?, "grade"?}]}`` (a line with a condition is
                              inspected at once); asked with ``returns_since_param`` = the
                              latest ``received_at`` read, and a receipt read twice changes
                              nothing
``returns_items_path``        where that list holds its items (default: ``items_path``)
``returns_since_param``       its query parameter (default ``since``)

Each shipment is its own batch: one the hub refuses (an unknown order, more shipped than
ordered) is audited as ``warehouse.batch_failed`` and the others go on. Shipments are read
before stock, so a count that already reflects a shipment is not taken twice.

A WMS whose API names things its own way::

    [accounts.acme-wms]
    connector = "rest_wms"
    client = "acme"
    api_base = "https://api.somewms.example/v2"
    api_key = "${ACME_WMS_KEY}"
    api_key_header = "X-Api-Key"
    order_template = "{ref: to_string(id), items: lines[].{sku: sku, qty: quantity}}"
    order_reference_field = "ref"
    reference_field = "data.orderId"
    lookup_endpoint = "/orders?ref={order_id}"
    cancel_endpoint = "/orders/{reference}"
    cancel_method = "DELETE"
    items_path = "data"
    page_param = "page"
    on_hand_field = "quantities.physical"
    shipment_order_field = "order.ref"
    carrier_map = { RM = "royalmail", DPDUK = "dpd_uk" }
    since_param = "updated_since"
    since_field = "updated_at"
"""

from __future__ import annotations

import re
import string
from datetime import datetime
from typing import Any

import jmespath
from jmespath import exceptions as jp_errors
from marshmallow import ValidationError, fields, validate, validates_schema

from hub.connectors import AccountSchema
from hub.shipping.shipments import carriers
from hub.values import iso

_HEADER = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")  # an RFC 9110 token
_PATH = re.compile(r"[^.\s]+(\.[^.\s]+)*")
_PARAM = re.compile(r"[A-Za-z0-9_.\[\]-]+")


def _path(default: str | None, *, empty: bool = False) -> fields.String:
    """A dotted path into the WMS's JSON (``empty``: ``""`` means the answer itself)."""
    pattern = rf"({_PATH.pattern})?" if empty else _PATH.pattern
    return fields.String(
        load_default=default,
        validate=validate.Regexp(rf"^{pattern}$", error="a dotted path, like items or data.sku"),
    )


def _param(default: str | None) -> fields.String:
    return fields.String(
        load_default=default,
        validate=validate.Regexp(rf"^{_PARAM.pattern}$", error="a query parameter name"),
    )


def _endpoint(default: str, placeholder: str | None = None) -> fields.String:
    def check(value: str) -> None:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValidationError(f"not a valid template: {exc}") from None
        wanted = {placeholder} if placeholder else set()
        if names != wanted:
            need = f"exactly one placeholder {{{placeholder}}}" if placeholder else "none"
            raise ValidationError(f"placeholders: {need}, not {sorted(names)}")

    return fields.String(load_default=default, validate=[validate.Length(min=1), check])


def _template(value: str) -> None:
    try:
        jmespath.compile(value)
    except jp_errors.JMESPathError as exc:
        raise ValidationError(f"not a JMESPath expression: {exc}") from None


class _Position(fields.Field):
    """A saved position as JSON keeps it: text or a whole number (a TOML date-time becomes
    ISO 8601 text, UTC with a ``Z``)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str | int:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValidationError("a time with its UTC offset (Z or +01:00)")
            return iso(value) or ""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip():
            return value.strip()
        raise ValidationError("a time, a number or a cursor")


def _known_carrier(value: str) -> None:
    # looked up when an account is read, not at import: the carriers are connectors too
    if value not in carriers():
        raise ValidationError(f"must be one of: {', '.join(carriers())}.")


class RestWmsSettings(AccountSchema):
    # connection
    api_base = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    api_key = fields.String(validate=validate.Length(min=1), metadata={"secret": True})
    api_key_header = fields.String(
        load_default="Authorization",
        validate=validate.Regexp(rf"^{_HEADER.pattern}$", error="an HTTP header name"),
    )
    username = fields.String(validate=validate.Length(min=1))
    password = fields.String(validate=validate.Length(min=1), metadata={"secret": True})
    rate_limit = fields.Float(
        load_default=5.0, validate=validate.Range(min=0, min_inclusive=False, max=1000)
    )
    default_location = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    # orders
    orders_endpoint = _endpoint("/orders")
    order_template = fields.String(load_default=None, validate=_template)
    order_reference_field = _path("external_reference")
    reference_field = _path("id")
    lookup_endpoint = _endpoint("/orders?external_reference={order_id}", "order_id")
    cancel_endpoint = _endpoint("/orders/{reference}/cancel", "reference")
    cancel_method = fields.String(
        load_default="POST", validate=validate.OneOf(["POST", "PUT", "PATCH", "DELETE"])
    )
    # lists
    items_path = _path("items", empty=True)
    cursor_param = _param("cursor")
    next_cursor_path = _path("next_cursor")
    page_param = _param(None)
    # stock
    stock_endpoint = _endpoint("/stock")
    sku_field = _path("sku")
    on_hand_field = _path("on_hand")
    location_field = _path(None)
    # shipments
    shipments_endpoint = _endpoint("/shipments")
    shipments_items_path = _path(None, empty=True)
    shipment_id_field = _path("id")
    shipment_order_field = _path("external_reference")
    tracking_field = _path("tracking_number")
    carrier_field = _path("carrier")
    carrier_map = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1)),
        values=fields.String(validate=_known_carrier),
        load_default=dict,
    )
    service_field = _path("service")
    shipped_at_field = _path("shipped_at")
    lines_field = _path("lines")
    line_sku_field = _path("sku")
    line_quantity_field = _path("quantity")
    line_id_field = _path(None)
    since_param = _param("since")
    # returns
    returns_endpoint = _endpoint(None)
    returns_received_endpoint = _endpoint(None)
    returns_items_path = _path(None, empty=True)
    returns_since_param = _param("since")
    since_start = _Position(load_default=None)
    since_value = fields.String(load_default="field", validate=validate.OneOf(["field", "cursor"]))
    since_field = _path(None)

    @validates_schema
    def _feed(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("since_value") == "cursor" and data.get("page_param"):
            raise ValidationError("cursor needs cursor pages, not page_param", "since_value")

    @validates_schema
    def _credentials(self, data: dict[str, Any], **kwargs: Any) -> None:
        basic = [k for k in ("username", "password") if data.get(k)]
        if data.get("api_key") and basic:
            raise ValidationError("give api_key or username and password, not both", "api_key")
        if not data.get("api_key") and len(basic) != 2:
            missing = "password" if basic == ["username"] else "username"
            if not basic:
                raise ValidationError("required (or username and password)", "api_key")
            raise ValidationError("required with " + basic[0], missing)
