"""The Selling Partner API for one account: the connector's only I/O.

Every call goes through the hub's :class:`~hub.connectors.http.HttpClient` (timeouts,
retries, typed errors, 429 and ``Retry-After``). SP-API limits each operation on its own
token bucket per seller and app, so each operation has its own shared limiter,
``amazon-<operation>:<account>``, at the model's default usage plan (``RATES``), retuned to
the rate each answer's ``x-amzn-RateLimit-Limit`` states; a thread that
would wait longer than the client's ``max_wait`` gets a ``RetryableError`` and the outbox
runs the job later, so nothing sleeps in a loop.

Authentication is Login with Amazon's refresh-token grant (``POST <auth_base>/auth/o2/token``
with ``grant_type=refresh_token``, ``refresh_token``, ``client_id``, ``client_secret``); the
access token is cached until a minute before ``expires_in`` and sent as
``x-amz-access-token``. A cached token SP-API refuses (401, or 403 ``Unauthorized``: SP-API
answers an expired token with 403) is dropped and the call sent once more with a fresh one.
Accounts with ``restricted_data`` send Orders API calls with a Restricted Data Token
(``POST /tokens/2021-03-01/restrictedDataToken``) instead.

ORDER_CHANGE notifications are read from SQS with boto3 (long polling) and deleted once the
order they name has been stored (see ``notifications.py``).
"""

from __future__ import annotations

import gzip
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from connectors.channels.amazon import notifications, orders, stock
from connectors.channels.amazon.settings import AUTH_BASE, ENDPOINTS, TOKEN_PATH
from hub.connectors import Account, ChannelItem, StockUpdate
from hub.connectors.http import HttpClient
from hub.connectors.oauth import EARLY, TokenCache
from hub.connectors.ratelimit import RateLimiter, Sleep, limiter_for
from hub.errors import AuthError, PermanentError, RetryableError, http_status
from hub.values import loads

log = logging.getLogger(__name__)

#: default usage plans (requests per second, burst) from the SP-API models
RATES: dict[str, tuple[float, float]] = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "searchListingsItems": (5.0, 5),
    "patchListingsItem": (5.0, 5),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
    "createRestrictedDataToken": (1.0, 10),
    "lwa": (1.0, 5),
    "document": (5.0, 10),
}
RDT_PATH = "/tokens/2021-03-01/restrictedDataToken"
RDT_ELEMENTS = ["buyerInfo", "shippingAddress"]
#: seconds between two looks at a feed's processing status
FEED_POLL_EVERY = 15.0


def api_base(settings: Mapping[str, Any]) -> str:
    return str(settings.get("api_base") or ENDPOINTS[settings["region"]]).rstrip("/")


class AmazonClient:
    """The calls reconciliation, notifications, stock sync and the fulfilment push make.
    ``limiters`` (by operation), ``session``, ``sleep``, ``clock`` and ``sqs`` (a boto3 SQS
    client) are for tests."""

    def __init__(
        self,
        account: Account,
        *,
        limiters: Mapping[str, RateLimiter] | None = None,
        session: requests.Session | None = None,
        sleep: Sleep = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        sqs: Any = None,
    ):
        settings = account.settings
        self.account = account
        self.settings = settings
        self.marketplace_ids: list[str] = list(settings["marketplace_ids"])
        self._sleep, self._clock = sleep, clock
        given = dict(limiters or {})

        def http(base: str, op: str) -> HttpClient:
            rate, burst = RATES[op]
            limiter = given.get(op) or limiter_for(f"amazon-{op}:{account.name}", rate, burst)
            return HttpClient(base, limiter=limiter, session=session, sleep=sleep)

        base = api_base(settings)
        self._http = {op: http(base, op) for op in RATES if op not in ("lwa", "document")}
        self._http_factory = http
        auth = str(settings.get("auth_base") or AUTH_BASE).rstrip("/")
        self.tokens = TokenCache(
            http(auth, "lwa"),
            TOKEN_PATH,
            str(settings["client_id"]),
            str(settings["client_secret"]),
            basic=False,
            extra={"grant_type": "refresh_token", "refresh_token": str(settings["refresh_token"])},
            clock=clock,
        )
        self._rdt: dict[str, tuple[str, float]] = {}
        self._rdt_lock = threading.Lock()
        self._sqs = sqs
        self._documents: dict[str, HttpClient] = {}
        self.feed_pace = RateLimiter(1 / FEED_POLL_EVERY, 1, clock=clock, sleep=sleep)

    # -- plumbing -------------------------------------------------------------------------------

    def call(
        self,
        op: str,
        method: str,
        path: str,
        *,
        restricted: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """One SP-API operation with the account's access token (or an RDT for ``path`` when
        ``restricted`` and the account asks for one)."""
        http = self._http[op]
        if restricted and self.settings.get("restricted_data"):
            token = self._restricted_token(method, path)
            return _adopt_rate(http, http.request(method, path, headers=_auth(token), **kwargs))
        fetched = self.tokens.fetched
        token = self.tokens.token()
        try:
            response = http.request(method, path, headers=_auth(token), **kwargs)
        except AuthError as exc:
            if self.tokens.fetched != fetched or http_status(exc) not in (401, 403):
                raise
            self.tokens.invalidate(token)
            response = http.request(method, path, headers=_auth(self.tokens.token()), **kwargs)
        return _adopt_rate(http, response)

    def _restricted_token(self, method: str, path: str) -> str:
        """A Restricted Data Token for ``method path``, cached until shortly before it expires."""
        key = f"{method} {path}"
        with self._rdt_lock:
            cached = self._rdt.get(key)
            if cached is not None and self._clock() < cached[1]:
                return cached[0]
        body = {
            "restrictedResources": [
                {"method": method, "path": urlsplit(path).path, "dataElements": RDT_ELEMENTS}
            ]
        }
        answer = _json(
            self.call("createRestrictedDataToken", "POST", RDT_PATH, json=body), RDT_PATH
        )
        token = answer.get("restrictedDataToken") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise PermanentError("createRestrictedDataToken: the answer has no restrictedDataToken")
        try:
            lifetime = float(answer.get("expiresIn", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        with self._rdt_lock:
            self._rdt[key] = (token, self._clock() + max(0.0, lifetime - EARLY))
        return token

    # -- orders ---------------------------------------------------------------------------------

    def search_orders(self, since: datetime) -> Iterator[dict[str, Any]]:
        """Every order updated at or after ``since`` in the account's marketplaces, a page
        (100) at a time following ``nextToken``."""
        first = orders.search_params(since, self.marketplace_ids)
        params = first
        seen: set[str] = set()
        while True:
            response = self.call(
                "searchOrders", "GET", orders.SEARCH_PATH, params=params, restricted=True
            )
            page, token = orders.read_page(_json(response, orders.SEARCH_PATH))
            yield from page
            if token is None:
                return
            if token in seen:
                raise PermanentError("searchOrders: the next page repeats an earlier one")
            seen.add(token)
            params = orders.next_params(first, token)

    def get_order(self, order_id: str) -> dict[str, Any]:
        path = orders.order_path(order_id)
        response = self.call("getOrder", "GET", path, params=orders.order_params(), restricted=True)
        return orders.read_order(_json(response, path))

    # -- notifications (SQS) ----------------------------------------------------------------

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            import boto3  # only accounts with a queue need it

            url = str(self.settings["sqs_queue_url"])
            region = self.settings.get("sqs_region") or notifications.queue_region(url)
            self._sqs = boto3.client("sqs", region_name=region)
        return self._sqs

    def receive(self, wait: int) -> list[notifications.Notice]:
        """Up to 10 messages, waiting up to ``wait`` seconds for the first (long polling)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.sqs.receive_message(
                QueueUrl=self.settings["sqs_queue_url"],
                MaxNumberOfMessages=notifications.BATCH,
                WaitTimeSeconds=wait,
            )
        except (BotoCoreError, ClientError) as exc:
            raise RetryableError(f"SQS ReceiveMessage: {exc}") from None
        return [notifications.read_message(m) for m in answer.get("Messages") or []]

    def delete(self, receipts: Sequence[str]) -> None:
        """Delete handled messages, up to 10 a call; a failed entry is logged (SQS shows it
        again after its visibility timeout, and it is recognised then)."""
        receipts = [r for r in receipts if r]
        for start in range(0, len(receipts), notifications.BATCH):
            chunk = receipts[start : start + notifications.BATCH]
            answer = self.sqs.delete_message_batch(
                QueueUrl=self.settings["sqs_queue_url"],
                Entries=[{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(chunk)],
            )
            for failure in answer.get("Failed") or []:
                log.warning(
                    "%s: SQS message not deleted: %s %s",
                    self.account.name,
                    failure.get("Code"),
                    failure.get("Message"),
                )

    # -- stock ------------------------------------------------------------------------------------

    def stock_items(self) -> Iterator[ChannelItem]:
        seller = self._seller()
        token: str | None = None
        seen: set[str] = set()
        while True:
            params = stock.search_params(self.marketplace_ids, token)
            path = stock.items_path(seller)
            items, token = stock.read_items(
                _json(self.call("searchListingsItems", "GET", path, params=params), path)
            )
            yield from items
            if token is None:
                return
            if token in seen:
                raise PermanentError("searchListingsItems: the next page repeats an earlier one")
            seen.add(token)

    def patch_quantity(self, update: StockUpdate) -> Any:
        """patchListingsItem for one SKU. A PATCH that sets a level is harmless twice."""
        path = stock.item_path(self._seller(), update.item.sku)
        params = {"marketplaceIds": ",".join(self.marketplace_ids)}
        response = self.call(
            "patchListingsItem",
            "PATCH",
            path,
            params=params,
            json=stock.patch_body(update),
            idempotent=True,
        )
        return _json(response, path)

    def submit_feed(self, updates: Sequence[StockUpdate]) -> str:
        """createFeedDocument, upload the JSON_LISTINGS_FEED, createFeed: the feed's id."""
        document = stock.feed_document(self._seller(), updates)
        created = _json(
            self.call(
                "createFeedDocument",
                "POST",
                "/feeds/2021-06-30/documents",
                json={"contentType": stock.FEED_CONTENT_TYPE},
                idempotent=True,  # an unused document is harmless
            ),
            "createFeedDocument",
        )
        document_id, url = created.get("feedDocumentId"), created.get("url")
        if not document_id or not url:
            raise PermanentError("createFeedDocument: the answer has no feedDocumentId and url")
        self._document_http(url).request(
            "PUT",
            url,
            data=document,
            headers={"Content-Type": stock.FEED_CONTENT_TYPE},
            idempotent=True,
        )
        feed = _json(
            self.call(
                "createFeed",
                "POST",
                "/feeds/2021-06-30/feeds",
                json=stock.feed_request(self.marketplace_ids, str(document_id)),
            ),
            "createFeed",
        )
        feed_id = feed.get("feedId")
        if not feed_id:
            raise PermanentError("createFeed: the answer has no feedId")
        return str(feed_id)

    def feed_report(self, feed_id: str, wait: float) -> tuple[str, Any]:
        """Look at the feed's status, paced by :attr:`feed_pace`, for at most ``wait``
        seconds; ``(status, report)`` where the report is the processing report once DONE
        (None otherwise)."""
        deadline = self.feed_pace.now() + wait
        path = f"/feeds/2021-06-30/feeds/{feed_id}"
        self.feed_pace.acquire()  # the next look is a pace away from this one
        while True:
            feed = _json(self.call("getFeed", "GET", path), path)
            status = str(feed.get("processingStatus") or "")
            if status in stock.FEED_DONE:
                break
            try:
                self.feed_pace.acquire(max_wait=max(0.0, deadline - self.feed_pace.now()))
            except RetryableError:
                return status, None  # not done within ``wait``
        result = feed.get("resultFeedDocumentId")
        if status != "DONE" or not result:
            return status, None
        path = f"/feeds/2021-06-30/documents/{result}"
        document = _json(self.call("getFeedDocument", "GET", path), path)
        url = document.get("url")
        if not url:
            raise PermanentError("getFeedDocument: the answer has no url")
        content = self._document_http(url).request("GET", url).content
        if str(document.get("compressionAlgorithm") or "").upper() == "GZIP":
            content = gzip.decompress(content)
        try:
            return status, loads(content)
        except ValueError:
            raise PermanentError("the feed's processing report is not JSON") from None

    def _document_http(self, url: str) -> HttpClient:
        """A client for a feed document's pre-signed address (no SP-API token goes there)."""
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        if root not in self._documents:
            self._documents[root] = self._http_factory(root, "document")
        return self._documents[root]

    def _seller(self) -> str:
        seller = self.settings.get("seller_id")
        if not seller:
            raise PermanentError(f"{self.account.name}: seller_id is not set (stock sync needs it)")
        return str(seller)

    # -- fulfilment -------------------------------------------------------------------------------

    def confirm_shipment(self, order_id: str, body: Mapping[str, Any]) -> None:
        """confirmShipment (204). Not idempotent: a request that may have reached Amazon is
        not sent again here; the job runs again and finds the package first."""
        from connectors.channels.amazon.fulfilment import confirm_path

        self.call("confirmShipment", "POST", confirm_path(order_id), json=dict(body))


def _auth(token: str) -> dict[str, str]:
    return {"x-amz-access-token": token}


def _adopt_rate(http: HttpClient, response: requests.Response) -> requests.Response:
    """Take the operation's applied rate from ``x-amzn-RateLimit-Limit`` (requests per
    second; a seller with a raised usage plan gets more than the default), when present."""
    header = response.headers.get("x-amzn-RateLimit-Limit")
    try:
        rate = float(header) if header else None
    except ValueError:
        rate = None
    if rate and rate > 0 and http.limiter is not None and rate != http.limiter.rate:
        http.limiter.update_from_shopify_cost({"restoreRate": rate})
    return response


def _json(response: requests.Response, label: str) -> Any:
    try:
        return loads(response.content)
    except ValueError:
        raise RetryableError(
            f"{label}: HTTP {response.status_code} answer is not JSON",
            details={"status": response.status_code},
        ) from None
