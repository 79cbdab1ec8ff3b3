"""The connector contract and the registry that finds connectors through entry points.

A connector is small: it declares its kind, its capabilities and its account settings, verifies
and reads its webhooks, and translates payloads to the canonical model (pure functions in its
``translate`` module). Built-in connectors register through the same ``hub.connectors``
entry-point group as third-party packages do.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache
from importlib.metadata import entry_points
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from hub.canonical import OrderUpdate, Translation
from hub.errors import ConfigError, HubError
from hub.values import iso

ENTRY_POINT_GROUP = "hub.connectors"


class Capability(StrEnum):
    ORDERS_WEBHOOK = "orders_webhook"
    ORDERS_POLL = "orders_poll"
    STOCK_PUSH = "stock_push"
    FULFILMENT_PUSH = "fulfilment_push"
    #: the channel posts signed notices that are not orders (eBay's Notification API:
    #: account deletions); its orders come by polling
    NOTIFICATIONS = "notifications"
    RETURNS = "returns"
    # carriers
    TRACKING_POLL = "tracking_poll"  # tracking read from the carrier's API
    TRACKING_WEBHOOK = "tracking_webhook"  # the carrier pushes tracking events
    # warehouses
    RELEASE = "release"  # orders are sent to the warehouse to pick and pack
    WAREHOUSE_FEED = "warehouse_feed"  # stock counts and shipments are read back from it


class AccountSchema(Schema):
    """Keys every account may set. Connectors extend it with their own."""

    connector = fields.String(required=True)
    client = fields.String(load_default="default")
    api_base = fields.Url(load_default=None, schemes={"http", "https"}, require_tld=False)
    #: false: the hub never calls this account's API (an example, an account being set up);
    #: its webhooks still come in
    api_calls = fields.Boolean(load_default=True)


class StockSettingsMixin(Schema):
    """What a sales channel is offered: ``stock_locations`` (default: every location),
    ``stock_buffer`` (units held back per SKU, default 0), ``stock_buffers`` (per SKU, over
    the default) and ``stock_share`` (the fraction of stock offered, default 1);
    ``stock_sync = false`` stops the hub pushing stock to the account."""

    stock_sync = fields.Boolean(load_default=True)
    stock_locations = fields.List(fields.String(validate=validate.Length(min=1)), load_default=None)
    stock_buffer = fields.Integer(load_default=0, validate=validate.Range(min=0))
    stock_buffers = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(validate=validate.Range(min=0)),
        load_default=dict,
    )
    stock_share = fields.Float(load_default=1.0, validate=validate.Range(min=0, max=1))


class WebhookSecretsMixin(Schema):
    """``webhook_secret`` or ``webhook_secrets`` (a list, while one is rotated)."""

    # An empty key would let anyone sign: refuse it (e.g. an unset "${VAR:-}").
    webhook_secret = fields.String(validate=validate.Length(min=1), metadata={"secret": True})
    webhook_secrets = fields.List(
        fields.String(validate=validate.Length(min=1)), metadata={"secret": True}
    )

    @validates_schema
    def _one_secret(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("webhook_secret") and not data.get("webhook_secrets"):
            raise ValidationError("required (or webhook_secrets)", "webhook_secret")


@dataclass(frozen=True)
class Account:
    """A configured account: its name (used in URLs), client, connector and validated keys."""

    name: str
    connector: str
    client: str
    settings: Mapping[str, Any]

    @property
    def webhook_secrets(self) -> list[str]:
        many = list(self.settings.get("webhook_secrets") or [])
        one = self.settings.get("webhook_secret")
        return [s for s in ([one] if one else []) + many if s]


@dataclass(frozen=True)
class ChannelItem:
    """Where one SKU's stock lives on a sales channel, and the level the channel shows."""

    sku: str
    item_id: str  # Shopify: InventoryItem GID; WooCommerce: product or variation id
    location_id: str | None = None  # Shopify: Location GID
    parent_id: str | None = None  # WooCommerce: the parent product of a variation
    quantity: int | None = None  # what the channel shows now; None when it does not track


@dataclass(frozen=True)
class StockUpdate:
    """Set one item to ``quantity``; ``previous`` is what the hub last confirmed there (for
    compare-and-set where the API has it; None when the hub never confirmed a level)."""

    item: ChannelItem
    quantity: int
    previous: int | None = None


@dataclass(frozen=True)
class StockOutcome:
    """What became of one update. ``quantity`` is what the channel holds afterwards, when
    known: the new level on success, the channel's own level on a compare-and-set conflict
    (``stale``). ``again``: not applied only because the channel refused another update of
    the same call; the update itself is fine to send again."""

    sku: str
    ok: bool
    quantity: int | None = None
    error: str | None = None
    stale: bool = False
    again: bool = False


@dataclass(frozen=True)
class StockCount:
    """A warehouse's count of one SKU at one location (None: the client's default)."""

    sku: str
    on_hand: int
    location: str | None = None


@dataclass
class WarehouseBatch:
    """One unit of what a warehouse reports (a file, a page of an API): applied in one
    transaction, then handed back to :meth:`Connector.finish` with the outcome.

    ``shipments`` are bodies as ``POST /api/shipments`` takes them; ``state`` is the
    account's poll state once this batch is applied (a cursor), stored with its effects.
    """

    ref: str
    counts: list[StockCount]
    shipments: list[dict[str, Any]]
    state: dict[str, Any] | None = None
    handle: Any = None  # the connector's own (a claimed file's path, say)
    #: set when the connector could not read the batch: nothing is applied, it is refused
    error: str | None = None
    #: returns received (``{"return_id", "lines": [{"sku", "quantity", "condition"}],
    #: "received_at"?}``, as ``POST /api/returns/<id>/receive`` takes them), for warehouses
    #: with ``returns``
    returns: list[dict[str, Any]] = field(default_factory=list)


#: canonical tracking statuses (DESIGN.md); each carrier code maps to exactly one
TRACKING_STATUSES = (
    "label_created",
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "delivery_attempted",
    "ready_for_pickup",
    "delivered",
    "exception",
    "returned_to_sender",
    "unknown",
)


@dataclass(frozen=True)
class TrackingEvent:
    """One scan or status change of a parcel, in canonical form with the carrier's own words
    kept: ``code`` and ``text`` as the carrier gave them, ``at`` in UTC."""

    at: datetime
    status: str  # one of TRACKING_STATUSES
    code: str | None = None
    text: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class ParcelTracking:
    """What a carrier says about one tracking number. ``found`` False: the carrier does not
    know it (yet); ``error`` then holds the carrier's message. ``events`` oldest first;
    ``status`` is the parcel's current canonical status."""

    tracking_number: str
    found: bool
    status: str = "unknown"
    events: tuple[TrackingEvent, ...] = ()
    estimated_delivery: datetime | None = None
    carrier_status: str | None = None  # the carrier's own current status code or text
    error: str | None = None


def tracking_to_json(tracking: ParcelTracking) -> dict[str, Any]:
    """A parcel's tracking as JSON (times ISO 8601 UTC), as expected files and the API hold it."""
    return {
        "tracking_number": tracking.tracking_number,
        "found": tracking.found,
        "status": tracking.status,
        "carrier_status": tracking.carrier_status,
        "estimated_delivery": iso(tracking.estimated_delivery),
        "error": tracking.error,
        "events": [
            {
                "at": iso(e.at),
                "status": e.status,
                "code": e.code,
                "text": e.text,
                "location": e.location,
            }
            for e in tracking.events
        ],
    }


@dataclass(frozen=True)
class FulfilmentPush:
    """One parcel to tell a sales channel about. ``order`` is the canonical order JSON (its
    ``external_id`` and lines' ``external_id`` are the channel's ids); ``lines`` the parcel's
    ``[{"external_id", "sku", "quantity"}]``; ``carrier_name`` the name the channel knows the
    carrier by (from the account's mapping); ``complete``: the order is fully shipped."""

    order: dict[str, Any]
    parcel_id: int
    carrier: str
    carrier_name: str
    service: str | None
    tracking_number: str
    tracking_url: str | None
    lines: list[dict[str, Any]]
    complete: bool
    shipped_at: datetime


@dataclass(frozen=True)
class RefundPush:
    """A return to refund on a sales channel. ``order`` is the canonical order JSON; ``lines``
    what came back, ``[{"external_id", "sku", "quantity"}]`` (the channel's line ids);
    ``restock``: the channel should put the goods back in its own stock count (the account's
    ``returns.restock_on_channel``); ``key`` is the same on every retry of this refund (the
    channel's idempotency key, where it takes one)."""

    order: dict[str, Any]
    return_id: int
    key: str
    lines: list[dict[str, Any]]
    restock: bool
    note: str | None = None


class ReturnsSettingsMixin(Schema):
    """``returns = {refund = "none" | "on_receipt" | "on_inspection", restock_on_channel}``:
    whether the hub refunds a return on the channel, and when (default ``none``: the hub
    records and restocks, the merchant refunds)."""

    returns = fields.Dict(load_default=dict)

    @validates_schema
    def _returns(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = data.get("returns") or {}
        unknown = set(given) - {"refund", "restock_on_channel", "api_refund"}
        if unknown:
            raise ValidationError(f"unknown key {sorted(unknown)[0]!r}", "returns")
        if given.get("refund", "none") not in ("none", "on_receipt", "on_inspection"):
            raise ValidationError("refund: none, on_receipt or on_inspection", "returns")
        for flag in ("restock_on_channel", "api_refund"):
            if flag in given and not isinstance(given[flag], bool):
                raise ValidationError(f"{flag}: true or false", "returns")


@dataclass(frozen=True)
class Delivery:
    """What a connector reads off an incoming webhook, before any translation.

    ``dedupe_key`` is unique per real event for this account: the same delivery sent twice
    (retries, or two web processes) gets the same key and is stored once.
    """

    topic: str
    dedupe_key: str
    event_id: str | None = None
    headers: Mapping[str, str] | None = None


class Connector:
    """Base of every connector. Subclasses set the class attributes and implement what their
    capabilities need; nothing else."""

    name: ClassVar[str]
    kind: ClassVar[str]  # "channel", "carrier" or "warehouse"
    title: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    settings_schema: ClassVar[type[Schema]] = AccountSchema
    #: webhook topics this connector translates; others are stored and marked ignored
    topics: ClassVar[frozenset[str]] = frozenset()
    #: those of ``topics`` whose bodies are returns or refunds (a ``ReturnRequest``), not orders
    return_topics: ClassVar[frozenset[str]] = frozenset()
    #: how problems name the payload's order lines (``line_items[2]: no SKU``)
    line_path: ClassVar[str] = "lines"

    def __init__(self, account: Account):
        self.account = account

    # -- webhooks -------------------------------------------------------------------------
    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        """True when the delivery is signed by this account."""
        raise NotImplementedError

    def read_delivery(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Topic, dedupe key and the headers worth keeping. Cheap: runs inside the request."""
        raise NotImplementedError

    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        """An unsigned liveness probe that must get a 2xx (none by default)."""
        return False

    #: what ``POST /webhooks/<account>`` answers a stored delivery with (eBay: 204, empty), and
    #: a refused signature with (eBay: 412)
    webhook_accepted_status: ClassVar[int] = 202
    webhook_refused_status: ClassVar[int] = 401

    def challenge(self, args: Mapping[str, str]) -> dict[str, Any] | None:
        """The JSON answer to the sender's ``GET /webhooks/<account>?...`` check of the
        address (eBay's ``challenge_code``); None: there is nothing to answer (404)."""
        return None

    def customer_of(self, topic: str, payload: Any) -> str | None:
        """The channel's name for the customer a stored payload belongs to (matched against
        :class:`~hub.canonical.CustomerErasure` ``customer_refs``); None by default."""
        return None

    def erase_customer(self, topic: str, payload: Any) -> Any:
        """The payload without its customer's personal data, to store in place of the raw
        body once the customer asked to be erased."""
        return payload

    def fetch(self, topic: str, payload: Any) -> Any:
        """For channels whose webhooks are thin (ids only): the document :meth:`translate`
        reads, fetched from the channel's API. The worker calls it on every stored delivery
        before translating (never inside the request); the default gives the payload back.
        Raise ``RetryableError`` or ``AuthError`` to have the job run again later,
        ``PermanentError`` or ``TranslationError`` to fail the delivery with the reason."""
        return payload

    def translate(self, topic: str, payload: Any) -> Translation:
        """Pure: a parsed payload to a canonical translation. Raises TranslationError."""
        raise NotImplementedError

    # -- orders poll (channels with ``orders_poll``) ---------------------------------------
    #: the topic orders read back are stored under (their webhooks' update topic)
    reconcile_topic: ClassVar[str | None] = None

    def orders_updated(self, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """Every order the channel changed between ``since`` and ``until`` (both included),
        each exactly as its webhook would carry it (a thin-webhook channel: as :meth:`fetch`
        gives it). A channel whose orders need more reads than its list (sub-resources read
        one by one) may yield the listed order as it stands, as long as :meth:`fetch`
        completes it and :meth:`order_version` reads it: the reconciliation then pays for the
        reads only of the orders it takes in."""
        raise NotImplementedError

    def order_version(self, payload: Any) -> tuple[str | None, datetime | None]:
        """The external id and channel update time of an order :meth:`orders_updated` gave,
        which the reconciliation compares with the stored order's; None for what cannot be
        read (the order is then taken in, and its translation says what is wrong). The
        default translates the payload under :attr:`reconcile_topic`."""
        try:
            translation = self.translate(self.reconcile_topic or "", payload)
        except HubError:
            return None, None
        if isinstance(translation, OrderUpdate):
            return translation.order.external_id, translation.order.updated_at
        return None, None

    # -- webhook subscriptions (channels whose hooks the hub can see and make) -------------
    def webhook_endpoint(self) -> str | None:
        """The address the channel calls for this account when the account names it itself
        (eBay's ``endpoint_url``, which its endpoint challenge covers); None: the hub's own,
        ``HUB_PUBLIC_URL/webhooks/<account>``."""
        return None

    def webhook_subscriptions(self, url: str) -> dict[str, Any]:
        """The channel's hooks to ``url`` (the account's webhook address): ``{"ok": bool,
        "inactive": [topic...], "missing": [topic...]}``. NotImplementedError: the channel
        cannot say."""
        raise NotImplementedError

    def sync_webhook_subscriptions(self, url: str) -> list[str]:
        """Make every topic's hook to ``url`` exist and be active; what was done, a line each."""
        raise NotImplementedError

    # -- stock push (channels with ``stock_push``) -----------------------------------------
    #: the most updates one API call may carry
    stock_batch_size: ClassVar[int] = 100

    def stock_items(self) -> Iterator[ChannelItem]:
        """Every item on the channel that has a SKU, with the level the channel shows."""
        raise NotImplementedError

    def push_stock(self, updates: list[StockUpdate], key: str) -> list[StockOutcome]:
        """Set the levels of at most ``stock_batch_size`` items in one call; one outcome per
        update. ``key`` is the batch's idempotency key (the same on a retry of the same
        updates). A failure of the whole call raises (``RetryableError``, ``AuthError``)."""
        raise NotImplementedError

    # -- fulfilment push (channels with ``fulfilment_push``) -------------------------------
    def push_fulfilment(self, push: FulfilmentPush) -> str:
        """Tell the channel the parcel shipped, with its tracking; return the channel's id for
        the fulfilment. Exactly once: when the channel already holds a fulfilment for this
        tracking number (a retry after a lost answer), return its id instead of making one."""
        raise NotImplementedError

    # -- refunds (channels with ``returns``) ------------------------------------------------
    def push_refund(self, push: RefundPush) -> str:
        """Refund the return's lines on the channel; return the channel's id for the refund.
        Exactly once: a retry with the same ``push.key`` must not refund twice."""
        raise NotImplementedError

    def push_tracking_event(
        self, push: FulfilmentPush, channel_id: str, event: TrackingEvent
    ) -> None:
        """Tell the channel about a later tracking event of a pushed parcel (where it can
        show them; nothing otherwise)."""

    # -- carriers (``tracking_poll``, ``tracking_webhook``) ---------------------------------
    #: the most tracking numbers one tracking call may carry
    track_batch_size: ClassVar[int] = 1

    def track(self, numbers: list[str]) -> list[ParcelTracking]:
        """Tracking for at most ``track_batch_size`` numbers, one result per number in order
        (``found=False`` for a number the carrier does not know). Raises for a failure of
        the whole call (``AuthError``, ``RetryableError``)."""
        raise NotImplementedError

    def tracking_url(self, number: str) -> str | None:
        """The carrier's public tracking page for a number, for end customers."""
        return None

    #: days a push subscription lasts, for carriers that push only numbers subscribed to
    subscription_days: ClassVar[int | None] = None

    def subscribe_tracking(self, numbers: list[str], url: str) -> list[str]:
        """Ask the carrier to push tracking for ``numbers`` to ``url`` (the account's webhook
        address), for carriers that push only what is subscribed (``subscription_days``);
        returns the numbers the carrier refused."""
        raise NotImplementedError

    def translate_tracking(self, topic: str, payload: Any) -> list[ParcelTracking]:
        """Pure: a carrier's tracking webhook payload to tracking updates."""
        raise NotImplementedError

    # -- warehouses (``release``, ``warehouse_feed``) --------------------------------------
    def release_order(self, order: dict[str, Any]) -> str | None:
        """Send a canonical order (JSON as the API shows it) to be picked and packed; return
        the warehouse's reference for it. Sending the same order twice makes one order."""
        raise NotImplementedError

    def expect_return(self, expected: dict[str, Any]) -> str | None:
        """Tell the warehouse a return is on its way (advance notice): ``expected`` holds
        ``return_id``, the order's ``order_id``, ``number`` and ``external_id``, ``lines``
        (``sku``, ``quantity``, ``reason``), ``label`` and ``note``; return its reference.
        Sending the same return twice makes one."""
        raise NotImplementedError

    def cancel_order(self, order: dict[str, Any], reference: str | None) -> None:
        """Stop a released order at the warehouse (nothing when it is not there)."""
        raise NotImplementedError

    def poll(self, state: dict[str, Any]) -> Iterator[WarehouseBatch]:
        """What the warehouse has to report since ``state`` (the last applied batch's)."""
        raise NotImplementedError

    def finish(self, batch: WarehouseBatch, error: str | None) -> None:
        """Called once a batch was applied (``error`` None) or refused (``error`` says why)."""


def calls_out(account: Account, capability: Capability) -> bool:
    """Whether the hub may call the account's API for ``capability``: the connector can, and
    the account does not say ``api_calls = false``."""
    cls = connector_class(account.connector)
    return capability in cls.capabilities and bool(account.settings.get("api_calls", True))


@cache
def registry() -> dict[str, type[Connector]]:
    """Every installed connector by name, found through the ``hub.connectors`` entry points."""
    found: dict[str, type[Connector]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise ConfigError(f"entry point {ep.name!r} ({ep.value}) is not a hub Connector")
        found[ep.name] = cls
    return found


def connector_class(name: str) -> type[Connector]:
    try:
        return registry()[name]
    except KeyError:
        known = ", ".join(sorted(registry())) or "none installed"
        raise ConfigError(f"unknown connector {name!r} (known: {known})") from None
