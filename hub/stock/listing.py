"""Reading stock for people: a client's SKUs page by page, each with its levels (and what is
held apart, not for sale: returns set aside as damaged or in quarantine) and, for every sales
channel account selling it, what the hub would show there and what the channel last
confirmed. The API's ``/api/stock`` and the console's stock page share it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from hub.runtime import Hub
from hub.stock import changes, ledger
from hub.storage.models import ChannelItemRow, StockLedgerRow, StockLevelRow

#: SKUs per page when the caller names no limit
PAGE = 50


def skus(
    session: Session,
    clients: Iterable[str] | None,
    *,
    client: str | None = None,
    search: str | None = None,
    after: tuple[str, str] | None = None,
    limit: int | None = None,
) -> list[tuple[str, str]]:
    """``(client, sku)`` pairs held in the ledger, by client then SKU: of ``clients`` (None:
    every client), of one ``client``, with ``search`` anywhere in the SKU, after the pair
    ``after`` (a cursor), at most ``limit``."""
    query = select(StockLevelRow.client, StockLevelRow.sku).distinct()
    if clients is not None:
        query = query.where(StockLevelRow.client.in_(list(clients)))
    if client is not None:
        query = query.where(StockLevelRow.client == client)
    if search:
        query = query.where(StockLevelRow.sku.contains(search, autoescape=True))
    if after is not None:
        query = query.where(tuple_(StockLevelRow.client, StockLevelRow.sku) > tuple_(*after))
    query = query.order_by(StockLevelRow.client, StockLevelRow.sku)
    if limit is not None:
        query = query.limit(limit)
    return [(c, s) for c, s in session.execute(query).all()]


def held(session: Session, client: str, skus: list[str]) -> dict[str, dict[str, int]]:
    """Per SKU, the units at each :data:`~hub.stock.ledger.NON_SELLABLE` location (damaged,
    quarantine; 0 where there are none): on hand in the warehouse but never in on hand,
    available or any channel's stock."""
    query = (
        select(StockLevelRow.sku, StockLevelRow.location, func.sum(StockLevelRow.on_hand))
        .where(
            StockLevelRow.client == client,
            StockLevelRow.sku.in_(skus),
            StockLevelRow.location.in_(ledger.NON_SELLABLE),
        )
        .group_by(StockLevelRow.sku, StockLevelRow.location)
    )
    out = {sku: dict.fromkeys(ledger.NON_SELLABLE, 0) for sku in skus}
    for sku, location, units in session.execute(query):
        out[sku][location] = int(units or 0)
    return out


def levels(session: Session, client: str, skus: list[str]) -> list[dict[str, Any]]:
    """:func:`hub.stock.ledger.levels` (on hand, allocated, available: sellable stock only)
    with ``held``: what :func:`held` sets apart, by location."""
    apart = held(session, client, skus)
    return [
        {**level, "held": apart[level["sku"]]} for level in ledger.levels(session, client, skus)
    ]


def board(hub: Hub, session: Session, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """For each ``(client, sku)``: on hand, allocated, available, held (:func:`levels`), and
    ``channels``: per sales
    channel account of the client with stock push, its buffer, the available-to-sell the hub
    would push, and the level the channel last confirmed (and when; None before the first)."""
    by_client: dict[str, list[str]] = {}
    for client, sku in pairs:
        by_client.setdefault(client, []).append(sku)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for client, listed in by_client.items():
        accounts = changes.push_accounts(hub, client)
        confirmed = {
            (row.account, row.sku): row
            for row in session.execute(
                select(ChannelItemRow).where(
                    ChannelItemRow.account.in_([a.name for a in accounts]),
                    ChannelItemRow.sku.in_(listed),
                )
            ).scalars()
        }
        to_sell = {a.name: changes.available(session, a, listed) for a in accounts}
        for level in levels(session, client, listed):
            sku = level["sku"]
            level["channels"] = []
            for account in accounts:
                buffers = account.settings.get("stock_buffers") or {}
                row = confirmed.get((account.name, sku))
                level["channels"].append(
                    {
                        "account": account.name,
                        "connector": account.connector,
                        "buffer": buffers.get(sku, account.settings.get("stock_buffer", 0)),
                        "available_to_sell": to_sell[account.name].get(sku, 0),
                        "confirmed": row.confirmed if row is not None else None,
                        "confirmed_at": row.confirmed_at if row is not None else None,
                        "pending": row is not None
                        and (row.dirty or row.confirmed != to_sell[account.name].get(sku, 0)),
                        "last_error": row.last_error if row is not None else None,
                    }
                )
            found[(client, sku)] = level
    return [found[pair] for pair in pairs]


def history(
    session: Session, client: str, sku: str, *, before: int | None = None, limit: int = PAGE
) -> tuple[list[StockLedgerRow], int | None]:
    """The SKU's ledger entries, newest first, below the entry id ``before``; and the id to
    continue below for the next page (None on the last)."""
    query = select(StockLedgerRow).where(StockLedgerRow.client == client, StockLedgerRow.sku == sku)
    if before is not None:
        query = query.where(StockLedgerRow.id < before)
    rows = list(
        session.execute(query.order_by(StockLedgerRow.id.desc()).limit(limit + 1)).scalars()
    )
    more = len(rows) > limit
    return rows[:limit], rows[limit - 1].id if more else None
