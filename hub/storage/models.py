"""Tables: the inbox (deliveries), the outbox (jobs) and its workers, orders and their timeline,
API tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub.values import now

# Integer primary keys autoincrement on SQLite; BIGINT on PostgreSQL.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Stores aware UTC times; SQLite gives them back naive, so they are made aware on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class DeliveryRow(Base):
    """A webhook exactly as it arrived: raw body and the headers that matter."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("account", "dedupe_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(100))
    connector: Mapped[str] = mapped_column(String(50))
    topic: Mapped[str] = mapped_column(String(200))
    dedupe_key: Mapped[str] = mapped_column(String(300))
    event_id: Mapped[str | None] = mapped_column(String(200))
    headers: Mapped[dict[str, str]] = mapped_column(JSON)
    content_type: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    #: received -> processed | ignored | failed
    status: Mapped[str] = mapped_column(String(20), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobRow(Base):
    """One outbound effect or unit of background work (the outbox)."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "status", "run_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: at most one job per key, ever (e.g. one per scheduler time slot)
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    #: queued -> running -> done | queued (retry) | dead
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    #: the worker process (``workers.id``) holding a running job, when it beats a heartbeat
    worker_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobAttemptRow(Base):
    """One failed run of a job: when, by which worker, and why (what a person reads on the
    job's page; a run that succeeds shows as the job's ``finished_at``)."""

    __tablename__ = "job_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    #: the job's attempt count when it ran (a retry by a person starts again at 1)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    #: queued (it will run again) or dead
    outcome: Mapped[str] = mapped_column(String(20))
    worker_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text)


class WorkerRow(Base):
    """A live worker process and its heartbeat (``hub.jobs.lifeline``): when it falls silent,
    the jobs it holds go back to the queue."""

    __tablename__ = "workers"

    #: ``host:pid:random``, new each time a process starts (a pid may be reused)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("account", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    client: Mapped[str] = mapped_column(String(100), index=True)
    channel: Mapped[str] = mapped_column(String(50), index=True)
    account: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(100), index=True)
    number: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(30), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: the customer's email, lower-cased, for finding an order by it (None without one)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    #: the channel's own last-modified time: older updates never overwrite newer data
    channel_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the canonical order as JSON (money as strings)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: when the hub received it (its first delivery taken in)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    #: when the order shipped complete (the shipment that left nothing owed), for reports
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: how many lines it has, and how many of them have shipped complete (the fill rate
    #: report counts them without reading each order)
    line_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lines_shipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: the end customer's tracking page address (``/track/<token>``): random, not the id
    tracking_token: Mapped[str | None] = mapped_column(String(64), unique=True)


class OrderLineRow(Base):
    """The SKUs of an order, for filtering by SKU."""

    __tablename__ = "order_lines"

    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str | None] = mapped_column(String(200), index=True)


class OrderEventRow(Base):
    """One entry on an order's timeline."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    kind: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))


class TokenRow(Base):
    """An admin API token, stored as a SHA-256 hash; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserRow(Base):
    """A person who signs in to the console (``/admin``); the password is kept as a scrypt
    hash. ``clients`` limits what the person sees (None: every client)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(300))
    clients: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginFailureRow(Base):
    """One refused sign-in, by email and by address, for the sign-in rate limit."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    remote: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)


class InstanceValueRow(Base):
    """A value the hub makes once and every process shares (the session signing key when
    ``HUB_SECRET_KEY`` is not set)."""

    __tablename__ = "instance_values"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class MappingVersionRow(Base):
    """One saved version of an account's mapping spec. Versions are never changed or deleted:
    a roll-back is a new version equal to an old one."""

    __tablename__ = "mapping_versions"
    __table_args__ = (UniqueConstraint("account", "number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(100))
    number: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(100))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class SkuRow(Base):
    """A client's catalogue: the warehouse SKUs it has. Mappings are checked against it."""

    __tablename__ = "skus"

    client: Mapped[str] = mapped_column(String(100), primary_key=True)
    sku: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class AuditRow(Base):
    """Who changed what: every write an admin makes."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class StockLevelRow(Base):
    """On hand per client, SKU and location in the built-in ledger. Changed only together
    with a ledger entry that says why."""

    __tablename__ = "stock_levels"

    client: Mapped[str] = mapped_column(String(100), primary_key=True)
    sku: Mapped[str] = mapped_column(String(200), primary_key=True)
    location: Mapped[str] = mapped_column(String(100), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class StockLedgerRow(Base):
    """One change of on-hand stock, with its reason: the ledger is the history of every level."""

    __tablename__ = "stock_ledger"
    __table_args__ = (Index("ix_stock_ledger_item", "client", "sku", "location"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    client: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(100))
    delta: Mapped[int] = mapped_column(Integer)
    on_hand: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(50))
    ref: Mapped[str | None] = mapped_column(String(300))
    actor: Mapped[str] = mapped_column(String(100))


class AllocationRow(Base):
    """Stock reserved for one line of an unshipped order."""

    __tablename__ = "allocations"
    __table_args__ = (
        UniqueConstraint("order_id", "position"),
        Index("ix_allocations_item", "client", "sku"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    client: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class ShipmentRow(Base):
    """A pack confirmation: one or more parcels that left the warehouse for an order."""

    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    #: indexed: the return rate reports sum the units shipped in a range
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    source: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class ParcelRow(Base):
    """One parcel of a shipment, with its carrier and tracking number (unique per carrier:
    the same parcel confirmed twice is recorded once). A return's label is a parcel too,
    coming back (``direction`` ``return``, with ``return_id`` and no shipment): followed by
    the same tracking, never counted as shipped."""

    __tablename__ = "parcels"
    __table_args__ = (UniqueConstraint("carrier", "tracking_number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    #: None for a return label
    shipment_id: Mapped[int | None] = mapped_column(
        ForeignKey("shipments.id", ondelete="CASCADE"), index=True
    )
    #: outbound (a shipment's) or return (a return label's)
    direction: Mapped[str] = mapped_column(
        String(10), default="outbound", server_default="outbound"
    )
    return_id: Mapped[int | None] = mapped_column(
        ForeignKey("returns.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    carrier: Mapped[str] = mapped_column(String(50))
    carrier_account: Mapped[str | None] = mapped_column(String(100))
    service: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(30))
    estimated_delivery: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: [{"position": i, "sku": ..., "quantity": n}] against the order's lines
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: the carrier's own current status (code or text), as it last said
    carrier_status: Mapped[str | None] = mapped_column(String(200))
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when the scheduler asks the carrier next; None once it stopped following the parcel
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: the sales channel's id for the fulfilment made for this parcel, once pushed
    channel_ref: Mapped[str | None] = mapped_column(String(200))
    channel_pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when the carrier was last asked to push this parcel's tracking (where it must be asked)
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when the carrier says it was delivered (its delivered event), for reports
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: when its order was placed (the order's, copied: click to deliver reads parcels alone)
    order_placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ParcelEventRow(Base):
    """One tracking event of a parcel, canonical with the carrier's own words kept. The same
    event reported again (a poll and a webhook) is stored once."""

    __tablename__ = "parcel_events"
    __table_args__ = (UniqueConstraint("parcel_id", "at", "status", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(30))
    code: Mapped[str] = mapped_column(String(100))  # "" when the carrier gave none
    text: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(100))  # "poll" or the webhook's account
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    #: when the sales channel was told of it (where it shows tracking events)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChannelItemRow(Base):
    """One SKU on one sales channel account: where its stock lives there (read from the
    channel's products) and the level the channel last confirmed.

    ``dirty`` marks a SKU whose stock changed in the hub since its last push, so a sync pass
    reads only those; ``confirmed`` is None until the channel confirms a level.
    """

    __tablename__ = "channel_items"
    __table_args__ = (Index("ix_channel_items_dirty", "account", "dirty"),)

    account: Mapped[str] = mapped_column(String(100), primary_key=True)
    sku: Mapped[str] = mapped_column(String(200), primary_key=True)
    client: Mapped[str] = mapped_column(String(100), index=True)
    item_id: Mapped[str] = mapped_column(String(200))
    location_id: Mapped[str | None] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(String(200))
    confirmed: Mapped[int | None] = mapped_column(Integer)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dirty: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class ReturnRow(Base):
    """A return (RMA) of an order: what comes back, its state and its timeline's dates.

    requested -> authorised (or rejected) -> in_transit (optional) -> received -> inspected ->
    closed; cancelled at any point before received."""

    __tablename__ = "returns"
    __table_args__ = (UniqueConstraint("account", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    client: Mapped[str] = mapped_column(String(100), index=True)
    account: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), index=True)
    #: who opened it: api, console or channel
    source: Mapped[str] = mapped_column(String(20))
    #: the channel's own id for it (a Shopify return, a WooCommerce refund), when it has one
    external_id: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    label_carrier: Mapped[str | None] = mapped_column(String(50))
    label_tracking: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    authorised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when the parcel came in at the dock, and when its goods were put back (or set aside)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    restocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the refund on the channel: None (not the hub's to make), queued, done or failed
    refund_status: Mapped[str | None] = mapped_column(String(20))
    refund_ref: Mapped[str | None] = mapped_column(String(200))


class ReturnLineRow(Base):
    """One order line of a return: how many come back and why; what came in, in what state."""

    __tablename__ = "return_lines"

    return_id: Mapped[int] = mapped_column(
        ForeignKey("returns.id", ondelete="CASCADE"), primary_key=True
    )
    #: the order line's position (``lines[i]``)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str | None] = mapped_column(String(200), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(50))
    received: Mapped[int] = mapped_column(Integer, default=0)
    #: resellable, damaged or quarantine (set at receipt)
    condition: Mapped[str | None] = mapped_column(String(20))
    grade: Mapped[str | None] = mapped_column(String(1))


class ReturnEventRow(Base):
    """One entry on a return's timeline."""

    __tablename__ = "return_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    kind: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))


class StockSyncPassRow(Base):
    """One stock pass that brought a channel up to date on something: when it ended and the
    oldest change it had to carry (its lag is the difference), for the stock sync lag report."""

    __tablename__ = "stock_sync_passes"
    __table_args__ = (Index("ix_stock_sync_passes_account_at", "account", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(100))
    client: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    mode: Mapped[str] = mapped_column(String(20))
    pushed: Mapped[int] = mapped_column(Integer)
    confirmed: Mapped[int] = mapped_column(Integer)
    refused: Mapped[int] = mapped_column(Integer)
    #: the oldest stock change not yet confirmed when the pass began (None: none was dated)
    oldest_change_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountStateRow(Base):
    """What a connector keeps between runs for one account (a warehouse feed's cursor, the
    last stock sync's figures)."""

    __tablename__ = "account_state"

    account: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
