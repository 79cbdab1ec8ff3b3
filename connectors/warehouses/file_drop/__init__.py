"""File drop: the common 3PL exchange by files in a shared folder (a mounted share, or a folder
an SFTP server serves).

The hub writes ``order-<id>.json|csv`` into ``orders_out`` when it releases an order and
``cancel-<id>...`` when it cancels one, each once (a copy stays in ``orders_sent``). The
warehouse drops stock counts into ``stock_in`` and shipment confirmations into
``shipments_in``; every poll claims each new file, reads it (formats in :mod:`.translate`),
hands it to the hub as one batch applied all or nothing, and moves it to ``done/`` or
``failed/`` (with the reason in ``<name>.error.txt``). Stock files go first, then shipments,
then returns received: a first shipment after the warehouse's first count then finds the
stock it moves out. An authorised return's advance notice is written into ``returns_out``.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from connectors.warehouses.file_drop import translate
from connectors.warehouses.file_drop.client import Claim, DropFolder, Refused
from connectors.warehouses.file_drop.settings import FileDropSettings
from hub.connectors import Account, Capability, Connector, WarehouseBatch
from hub.errors import PermanentError
from hub.values import now

log = logging.getLogger("connectors.file_drop")
T = TypeVar("T")


class FileDropConnector(Connector):
    name = "file_drop"
    kind = "warehouse"
    title = "File drop (files in a shared folder)"
    capabilities = frozenset({Capability.RELEASE, Capability.WAREHOUSE_FEED, Capability.RETURNS})
    settings_schema = FileDropSettings

    def __init__(self, account: Account):
        super().__init__(account)
        s = account.settings
        self.format = s["order_format"]
        self.folder = DropFolder(
            s["folder"],
            settle_seconds=s["settle_seconds"],
            stale_claim_seconds=s["stale_claim_seconds"],
        )

    def _send(self, name: str, data: bytes) -> None:
        s = self.account.settings
        before = self.folder.send(s["orders_out"], s["orders_sent"], name, data)
        if before is not None and not translate.same_order(name, before, data):
            # Names come from hub order ids: another hub (or a reset database) shares the folder.
            raise PermanentError(
                f"{name} was written before for another order; does another hub or database "
                f"use {self.folder.root}?"
            )

    def release_order(self, order: dict[str, Any]) -> str:
        """Write the order file (once) and return its name, the warehouse's reference."""
        name, data = translate.order_file(order, self.format)
        self._send(name, data)
        return name

    def expect_return(self, expected: dict[str, Any]) -> str:
        """Write the return's advance notice (once) into ``returns_out``; its name."""
        s = self.account.settings
        name, data = translate.return_file(expected)
        self.folder.send(s["returns_out"], s["orders_sent"], name, data)
        return name

    def cancel_order(self, order: dict[str, Any], reference: str | None) -> None:
        """Write the cancellation file (once). It is written even when the order file still
        waits in ``orders_out``: the warehouse may be reading it at this moment."""
        name, data = translate.cancel_file(order, reference, self.format, now())
        self._send(name, data)

    def poll(self, state: dict[str, Any]) -> Iterator[WarehouseBatch]:
        """One batch per incoming file, stock counts first. The files need no cursor:
        where a file lies is its state."""
        self.folder.check()
        s = self.account.settings
        for claim, counts in self._read(s["stock_in"], translate.parse_stock):
            yield WarehouseBatch(ref=claim.name, counts=counts, shipments=[], handle=claim)
        for claim, bodies in self._read(s["shipments_in"], translate.parse_shipments):
            yield WarehouseBatch(ref=claim.name, counts=[], shipments=bodies, handle=claim)
        for claim, receipts in self._read(s["returns_in"], translate.parse_returns):
            yield WarehouseBatch(
                ref=claim.name, counts=[], shipments=[], returns=receipts, handle=claim
            )

    def _read(self, box: str, parse: Callable[[str, bytes], T]) -> Iterator[tuple[Claim, T]]:
        """Claim and parse ``box``'s files. One that cannot be read goes to ``failed/`` here,
        as the hub would refuse it, and is not handed on: whatever goes wrong with it, so
        that no file fails again on every poll. The reason says where and what kind of
        problem, never what the file holds (it may be anything, a secret included)."""
        for claim in self.folder.claims(box, wanted=lambda n: bool(translate.file_format(n))):
            try:
                found = parse(claim.name, self.folder.read(claim))
            except FileNotFoundError:
                continue  # our claim went stale and another poller has the file now
            except (translate.FileProblem, Refused) as exc:
                log.warning("%s: %s refused:\n%s", self.account.name, claim.name, exc)
                self.folder.finish(claim, str(exc))
                continue
            except Exception as exc:  # RecursionError, MemoryError, a bug: the file goes
                # Only the kind and the place: the message may quote the file.
                where = traceback.extract_tb(exc.__traceback__)[-1]
                log.error(
                    "%s: %s could not be read (%s at %s:%s); moved to failed/",
                    self.account.name,
                    claim.name,
                    type(exc).__name__,
                    Path(where.filename).name,
                    where.lineno,
                )
                self.folder.finish(claim, f"{claim.name}: could not be read ({type(exc).__name__})")
                continue
            yield claim, found

    def finish(self, batch: WarehouseBatch, error: str | None) -> None:
        """Move the batch's file to ``done/`` or ``failed/`` (with the error beside it)."""
        self.folder.finish(batch.handle, error)
