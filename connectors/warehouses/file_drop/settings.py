"""File drop account keys.

``folder``              the exchange folder the hub and the warehouse share: an absolute path
                        (``~`` is expanded), the same for every hub process. It must exist: a
                        missing one usually means a share is not mounted, and the hub waits
                        (the job is retried) rather than write orders into an empty mount point
``orders_out``          sub-folder where order and cancellation files are written for the
                        warehouse to take (default ``orders``)
``stock_in``            sub-folder where the warehouse drops stock counts (default ``stock``)
``shipments_in``        sub-folder where the warehouse drops shipment confirmations (default
                        ``shipments``)
``orders_sent``         sub-folder keeping a copy of every order and cancellation file written;
                        a file there is never written again, even after the warehouse took the
                        original away (default ``sent``)
``returns_out``         sub-folder where the advance notice of each authorised return is written
                        (``return-<id>.json``; default ``returns``)
``returns_in``          sub-folder where the warehouse drops returns it received (JSON:
                        ``{"return_id", "received_at"?, "lines": [{"sku" or "line_id",
                        "quantity", "condition"?, "grade"?}]}`` or a list of them; default
                        ``returns_received``); a line with a condition is inspected at once
``order_format``        ``json`` (the canonical order, as ``GET /api/orders/<id>`` shows it;
                        the default) or ``csv`` (one row per line to pick)
``default_location``    where a stock count that names no location is counted (default: the
                        client's default location)
``settle_seconds``      an incoming file is read only once it has not changed for this long, so
                        a file still being uploaded is never half read (default 5)
``stale_claim_seconds`` a file left in ``processing/`` for this long (its poller died) is
                        claimed and processed again, once; left there a second time, it
                        goes to ``failed/`` (default 900, at least 60)
plus the keys every account has (``client``).

Incoming files are ``.csv`` or ``.json`` (any case); hidden files and other names (``.tmp``,
``.part`` uploads) are left alone. Each one is moved to ``processing/``, then ``done/`` or
``failed/`` (with ``<name>.error.txt`` saying why) beside it. Every sub-folder must resolve
inside ``folder`` (a link leading elsewhere stops the account's jobs until it is fixed), and
an incoming link is refused unread (see :mod:`.client`).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates, validates_schema

from connectors.warehouses.file_drop.translate import FORMATS
from hub.connectors import AccountSchema

SUB_FOLDERS = ("orders_out", "stock_in", "shipments_in", "orders_sent", "returns_out", "returns_in")
#: names the hub gives sub-folders of each incoming folder
RESERVED = ("processing", "done", "failed")


def _sub_folder(default: str) -> fields.String:
    return fields.String(load_default=default, validate=validate.Length(min=1, max=200))


class FileDropSettings(AccountSchema):
    folder = fields.String(required=True, validate=validate.Length(min=1))
    orders_out = _sub_folder("orders")
    stock_in = _sub_folder("stock")
    shipments_in = _sub_folder("shipments")
    orders_sent = _sub_folder("sent")
    returns_out = _sub_folder("returns")
    returns_in = _sub_folder("returns_received")
    order_format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))
    default_location = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    settle_seconds = fields.Integer(load_default=5, validate=validate.Range(min=0, max=3600))
    stale_claim_seconds = fields.Integer(
        load_default=900, validate=validate.Range(min=60, max=7 * 24 * 3600)
    )

    @validates("folder")
    def _absolute(self, value: str, **kwargs: Any) -> None:
        if not Path(value).expanduser().is_absolute():
            raise ValidationError("an absolute path (every hub process must see the same folder)")

    @validates_schema
    def _distinct_sub_folders(self, data: dict[str, Any], **kwargs: Any) -> None:
        seen: dict[str, str] = {}
        for key in SUB_FOLDERS:
            if key not in data:
                continue
            path = PurePosixPath(data[key])
            if path.is_absolute() or ".." in path.parts or str(path) == ".":
                raise ValidationError("a folder inside `folder` (no '..', not absolute)", key)
            if reserved := set(path.parts) & set(RESERVED):
                raise ValidationError(f"{reserved.pop()!r} is a name the hub uses itself", key)
            if str(path) in seen:
                raise ValidationError(f"the same folder as {seen[str(path)]}", key)
            seen[str(path)] = key

    @post_load
    def _expand(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["folder"] = str(Path(data["folder"]).expanduser())
        return data
