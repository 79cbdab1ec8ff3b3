"""The WMS's REST API over HTTP: the only module of this connector that does I/O.

Retries, timeouts, rate limits and typed errors are :class:`hub.connectors.http.HttpClient`'s. The
client retries less and waits less than its defaults, because every caller is an outbox job
that retries with its own backoff: a WMS that asks for minutes of quiet gets them from the
outbox, without a worker held up meanwhile. The account's ``rate_limit`` is shared by every
client of the account in the process.

Orders are POSTed once per attempt (a POST is not retried blindly after it may have reached
the WMS); every POST carries an ``Idempotency-Key``, and the WMS's 409 for an external
reference it holds already is read as "made by an earlier attempt".
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin

import requests

from connectors.warehouses.rest_wms import translate
from hub.connectors import Account
from hub.connectors.http import HttpClient
from hub.connectors.ratelimit import RateLimiter, Sleep, limiter_for
from hub.errors import PermanentError
from hub.values import loads

#: attempts per request here; the outbox job retries after that
MAX_ATTEMPTS = 3
#: the longest the client waits at once (a longer Retry-After goes back to the outbox)
MAX_WAIT = 30.0
#: a list longer than this is taken for a WMS that ignores the page it is asked for
MAX_PAGES = 10_000

_SHARED = object()  # "use the account's shared limiter"


@dataclass(frozen=True)
class Created:
    """The WMS's answer to a new order: its JSON (None when it sent none) and ``Location``;
    or, after a 409, ``duplicate``: what the WMS said about the order it holds already."""

    answer: Any = None
    location: str | None = None
    duplicate: str | None = None


@dataclass(frozen=True)
class Page:
    """One page of a list: its items, and where the next page starts (None: the last)."""

    items: list[Any]
    cursor: str | None


def auth_headers(settings: Mapping[str, Any]) -> dict[str, str]:
    """The account's credentials as headers (HttpClient keeps their values out of errors)."""
    key = settings.get("api_key")
    if key:
        header = settings.get("api_key_header") or "Authorization"
        return {header: f"Bearer {key}" if header.lower() == "authorization" else key}
    basic = f"{settings['username']}:{settings['password']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(basic).decode("ascii")}


def _status(exc: PermanentError) -> int | None:
    details = exc.details
    return details.get("status") if isinstance(details, dict) else None


class WmsClient:
    """The REST API of one WMS account: orders sent and cancelled, lists read page by page."""

    def __init__(
        self,
        account: Account,
        *,
        session: requests.Session | None = None,
        sleep: Sleep = time.sleep,
        limiter: RateLimiter | object | None = _SHARED,
    ):
        self.account = account
        self.settings = settings = account.settings
        if limiter is _SHARED:
            rate = float(settings["rate_limit"])
            limiter = limiter_for(f"rest_wms:{account.name}", rate, max(1.0, 2 * rate))
        assert limiter is None or isinstance(limiter, RateLimiter)
        self.http = HttpClient(
            settings["api_base"],
            limiter=limiter,
            session=session,
            sleep=sleep,
            max_attempts=MAX_ATTEMPTS,
            backoff_max=10.0,
            max_wait=MAX_WAIT,
            headers={"Accept": "application/json", **auth_headers(settings)},
        )

    # -- orders ------------------------------------------------------------------------------

    def create_order(self, body: dict[str, Any], key: str) -> Created:
        """POST a new order. A 409 (it holds that order already) comes back as ``duplicate``."""
        path = self.settings["orders_endpoint"]
        try:
            response = self.http.post(path, json=body, headers={"Idempotency-Key": key})
        except PermanentError as exc:
            if _status(exc) == 409:
                return Created(duplicate=exc.message)
            raise
        return Created(self._json(response, path, empty_ok=True), response.headers.get("Location"))

    def post_return(self, body: dict[str, Any], key: str) -> Created:
        """POST a return's advance notice. A 409 (sent before) comes back as ``duplicate``."""
        path = self.settings["returns_endpoint"]
        try:
            response = self.http.post(path, json=body, headers={"Idempotency-Key": key})
        except PermanentError as exc:
            if _status(exc) == 409:
                return Created(duplicate=exc.message)
            raise
        return Created(self._json(response, path, empty_ok=True), response.headers.get("Location"))

    def find_order(self, order_id: int) -> Any:
        """The lookup's answer for the hub's order id (None on a 404)."""
        path = _fill(self.settings["lookup_endpoint"], order_id=translate.order_reference(order_id))
        try:
            response = self.http.get(path)
        except PermanentError as exc:
            if _status(exc) == 404:
                return None
            raise
        return self._json(response, path, empty_ok=True)

    def cancel_order(self, reference: str, key: str) -> bool:
        """Cancel the WMS's order ``reference``; False when the WMS does not know it (404).

        Cancelling twice leaves the order as cancelling once does, so the request may be
        retried. A 409 (too late: picked or shipped, usually) is a PermanentError for people
        to see: the order must be stopped by hand, or its shipment will follow.
        """
        path = _fill(self.settings["cancel_endpoint"], reference=reference)
        method = self.settings["cancel_method"]
        try:
            self.http.request(method, path, headers={"Idempotency-Key": key}, idempotent=True)
        except PermanentError as exc:
            status = _status(exc)
            if status == 404:
                return False
            if status == 409:
                raise PermanentError(
                    f"the WMS refused to cancel order {reference} (409: {exc.message}); it may "
                    "be picked or shipped already: stop it at the warehouse",
                    details=exc.details,
                ) from None
            raise
        return True

    # -- lists -------------------------------------------------------------------------------

    def pages(
        self,
        endpoint: str,
        items_path: str,
        params: Mapping[str, Any] | None = None,
        start: str | None = None,
    ) -> Iterator[Page]:
        """Every page of a list, by cursor or by page number (``page_param``). ``params`` go
        with every request but a followed link; ``start`` is a link to begin at instead."""
        s = self.settings
        base = dict(params or {})
        address, query = (self._link(start, endpoint), {}) if start else (endpoint, dict(base))
        number = 1
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            if s["page_param"]:
                query = {**base, s["page_param"]: number}
            answer = self._json(self.http.get(address, params=query), endpoint)
            items = translate.list_items(answer, items_path, f"GET {endpoint}")
            cursor = None if s["page_param"] else translate.next_cursor(answer, s)
            yield Page(items, cursor)
            if not items:
                return
            if s["page_param"]:
                number += 1
                continue
            if cursor is None or cursor in seen:
                return
            seen.add(cursor)
            if translate.is_link(cursor):
                address, query = self._link(cursor, endpoint), {}
            else:
                address, query = endpoint, {**base, s["cursor_param"]: cursor}
        raise PermanentError(
            f"GET {endpoint}: more than {MAX_PAGES} pages; does the WMS ignore "
            f"{s['page_param'] or s['cursor_param']!r}?"
        )

    # -- helpers -----------------------------------------------------------------------------

    def _link(self, link: str, endpoint: str) -> str:
        """A next-page link as an absolute URL: ``/api/...`` is on the WMS's host (not under
        ``api_base``), and a link to another host is refused, so credentials stay home."""
        url = urljoin(self.http.base_url, link)
        try:
            return self.http.url_for(url)
        except ValueError as exc:
            raise PermanentError(f"GET {endpoint}: next page link refused: {exc}") from None

    def _json(self, response: requests.Response, path: str, *, empty_ok: bool = False) -> Any:
        if empty_ok and not response.content.strip():
            return None
        try:
            return loads(response.content)
        except ValueError:
            if empty_ok:
                return None  # an order made with a non-JSON answer: the Location may say more
            raise PermanentError(
                f"{response.request.method} {path}: HTTP {response.status_code} answer is not "
                "JSON; is api_base the WMS's API?",
                details={"status": response.status_code},
            ) from None


def _fill(template: str, **values: str) -> str:
    """An endpoint with its placeholder filled in, the value quoted as one path segment (or
    query value), so a reference with ``/`` or ``?`` cannot reach another resource."""
    return template.format(**{k: quote(v, safe="") for k, v in values.items()})
