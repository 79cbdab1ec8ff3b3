"""Orders modified in a time window, read back for reconciliation: the pure half (the query and
the check of what came back). ``client.py`` sends the requests.

WooCommerce never redelivers a failed webhook, so an order whose ``order.updated`` was lost is
found again with ``GET /wp-json/wc/v3/orders``: each item of the list is the same v3 order
resource that ``GET /wc/v3/orders/<id>`` gives and the webhook carries.

* ``modified_after`` / ``modified_before`` (WooCommerce 5.8+, PR woocommerce#30585) filter on
  the modification time, both exclusive (WordPress's ``date_query`` ``after`` / ``before``);
* ``dates_are_gmt=true`` (5.4+) compares them with the GMT column (``post_modified_gmt``, or
  the order table's ``date_updated_gmt`` under HPOS) instead of the site's local time;
* ``orderby=modified`` (the controller adds ``ID`` to keep pages stable), ``order=asc``;
* ``per_page`` at most 100, ``page`` from 1, ``X-WP-TotalPages`` in every answer;
* ``status`` defaults to ``any`` for orders, so no status is named.

— ``plugins/woocommerce/includes/rest-api/Controllers/Version3/class-wc-rest-crud-controller.php``
(``get_collection_params``, ``prepare_objects_query``) and ``.../Version2/
class-wc-rest-orders-v2-controller.php`` (``status`` default ``any``).

The bounds are sent without a UTC offset, on purpose: WordPress's ``WP_Date_Query`` reads a
full date-time in the site's time zone, so ``...T10:00:00Z`` would be turned into the site's
local time and then compared with the GMT column, off by the site's offset; a bare
``...T10:00:00`` is compared as written, which with ``dates_are_gmt=true`` is UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hub.errors import PermanentError, TranslationError
from hub.values import second_window, utc

ORDERS_PATH = "orders"  # under /wp-json/wc/v3/
#: the WooCommerce version that has ``modified_after`` (named in errors)
OLDEST_VERSION = "5.8"
_SECOND = timedelta(seconds=1)


window = second_window  # whole seconds: the channel keeps no fractions


def stamp(moment: datetime) -> str:
    """``2026-05-01T10:00:00``: UTC, written without an offset (see the module's docstring)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def window_params(since: datetime, until: datetime) -> dict[str, str]:
    """The list's filters; ``per_page`` and ``page`` are the pager's. The window is widened by
    a second at each end, since WooCommerce's bounds exclude the times themselves."""
    start, end = window(since, until)
    return {
        "modified_after": stamp(start - _SECOND),
        "modified_before": stamp(end + _SECOND),
        "dates_are_gmt": "true",
        "orderby": "modified",
        "order": "asc",
    }


def check_page(page: list[Any], since: datetime) -> list[dict[str, Any]]:
    """The page's orders, refused whole when the store did not filter them: an order last
    modified before the window means ``modified_after`` was ignored (WooCommerce before 5.8
    drops parameters it does not know), and reading on would walk every order in the store."""
    after = window(since, since)[0] - _SECOND
    for index, order in enumerate(page):
        if not isinstance(order, dict):
            raise PermanentError(f"GET {ORDERS_PATH}: item {index} is not an order object")
        try:
            modified = utc(order.get("date_modified_gmt"))
        except TranslationError:
            continue  # unreadable here; the translator reports it on the order itself
        if modified is not None and modified <= after:
            raise PermanentError(
                f"GET {ORDERS_PATH}: order {order.get('id')} was last modified at "
                f"{modified.isoformat()}, before the window asked for: the store ignores "
                f"modified_after, which needs WooCommerce {OLDEST_VERSION} or later"
            )
    return page
