"""The exchange folder: the only module of the connector that touches the file system.

Writing: a file is written under a temporary hidden name in its own folder, flushed to disk,
then renamed into place (``os.replace``), so the warehouse never sees half a file.

Reading: each incoming file is claimed by renaming it into ``processing/`` under a claim name
that carries the claim time and a random token (``20260101T100000Z.3f9c0a1b2d4e.stock.csv``).
A rename is atomic: of two pollers after one file, one gets it and the other finds it gone,
so a file is processed once. The time is in the name, not in the file's modification time,
because a rename keeps that and the claim would look old at once. A claim older than
``stale_claim_seconds`` is a poller that died: it is claimed again and processed again (the
hub's effects are idempotent: the same tracking number is the same shipment, counts are
absolute). Once the hub has applied or refused it, the file moves to ``done/`` or ``failed/``.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hub.errors import RetryableError

log = logging.getLogger("connectors.file_drop")

PROCESSING, DONE, FAILED = "processing", "done", "failed"
_CLAIM = re.compile(r"(\d{8}T\d{6}Z)\.([0-9a-f]{12})\.(.+)")
_STAMP = "%Y%m%dT%H%M%SZ"


def claim_name(name: str, at: float, token: str) -> str:
    """The name a file takes in ``processing/`` when claimed at ``at`` (epoch seconds)."""
    return f"{datetime.fromtimestamp(at, UTC).strftime(_STAMP)}.{token}.{name}"


def parse_claim(claimed: str) -> tuple[float, str] | None:
    """(claim time, the file's own name) from a claim name; None for anything else."""
    found = _CLAIM.fullmatch(claimed)
    if found is None:
        return None
    at = datetime.strptime(found.group(1), _STAMP).replace(tzinfo=UTC)
    return at.timestamp(), found.group(3)


@dataclass(frozen=True)
class Claim:
    """A file this poller owns: its own ``name``, where it is now, and its incoming folder."""

    name: str
    path: Path
    box: Path


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Windows, or a share that cannot open folders: the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass  # some network file systems refuse fsync on a folder
    finally:
        os.close(fd)


def write_atomic(folder: Path, name: str, data: bytes) -> Path:
    """Write ``folder/name`` all at once: the warehouse sees no file, or the whole file."""
    folder.mkdir(parents=True, exist_ok=True)
    # Hidden and ".tmp": the names warehouse pollers are configured to leave alone.
    tmp = folder / f".{name}.{secrets.token_hex(6)}.tmp"
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    return folder / name


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


class DropFolder:
    """One account's exchange folder. Thread-safe: it keeps no state between calls."""

    def __init__(
        self,
        root: str | Path,
        *,
        settle_seconds: float,
        stale_claim_seconds: float,
        clock: Callable[[], float] = time.time,
    ):
        self.root = Path(root)
        self.settle = settle_seconds
        self.stale = stale_claim_seconds
        self.clock = clock

    def check(self) -> None:
        """Refuse to work in a folder that is not there (a share not mounted, usually)."""
        if not self.root.is_dir():
            raise RetryableError(f"exchange folder {self.root} is not there (not mounted?)")

    def send(self, out: str, sent: str, name: str, data: bytes) -> bytes | None:
        """Write ``name`` into ``out`` for the warehouse, keeping a copy in ``sent``; once:
        when either holds the name already, nothing is written and its content is returned
        (for the caller to check it is the same order), else None."""
        self.check()
        before = _read(self.root / sent / name)
        if before is not None:
            return before
        before = _read(self.root / out / name)
        if before is None:
            write_atomic(self.root / out, name, data)
        # The copy comes second: stopped between the two, the next try finds the file still
        # waiting in ``out`` and only makes the copy. (Had the warehouse taken it meanwhile,
        # it gets it again: the one window left, as narrow as two renames.)
        write_atomic(self.root / sent, name, before if before is not None else data)
        return before

    def claims(self, box: str, wanted: Callable[[str], bool]) -> Iterator[Claim]:
        """Claim, one by one as they are asked for, the files of ``box`` whose names are
        ``wanted``: stale claims of dead pollers first (they are the oldest), then new files
        in name order that have settled."""
        incoming = self.root / box
        processing = incoming / PROCESSING
        processing.mkdir(parents=True, exist_ok=True)
        stale = []
        for entry in os.scandir(processing):
            found = parse_claim(entry.name)
            if found and entry.is_file() and self.clock() - found[0] >= self.stale:
                stale.append((found[1], Path(entry.path)))
        for name, path in sorted(stale):
            log.warning("%s: claim %s is stale; processing it again", incoming, path.name)
            claim = self._claim(path, name, incoming)
            if claim is not None:
                yield claim
        waiting = []
        for entry in os.scandir(incoming):
            if entry.name.startswith(".") or not wanted(entry.name):
                continue
            try:
                if not entry.is_file() or self.clock() - entry.stat().st_mtime < self.settle:
                    continue  # a folder, or a file that may still be being written
            except FileNotFoundError:
                continue  # taken by another poller while we looked
            waiting.append(entry.name)
        for name in sorted(waiting):
            claim = self._claim(incoming / name, name, incoming)
            if claim is not None:
                yield claim

    def _claim(self, path: Path, name: str, incoming: Path) -> Claim | None:
        target = incoming / PROCESSING / claim_name(name, self.clock(), secrets.token_hex(6))
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None  # another poller took it first
        return Claim(name, target, incoming)

    def finish(self, claim: Claim, error: str | None) -> Path | None:
        """Move a claimed file to ``done/``, or to ``failed/`` with ``<name>.error.txt``
        beside it. Returns where it went; None when another poller had claimed it again
        (this one was too slow and its claim went stale)."""
        folder = claim.box / (FAILED if error is not None else DONE)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / claim.name
        if target.exists():  # the warehouse reuses names (``stock.csv`` every night)
            stem, dot, suffix = claim.name.rpartition(".")
            stamp = claim.path.name[: -len(claim.name) - 1]
            target = folder / (f"{stem}.{stamp}.{suffix}" if dot else f"{claim.name}.{stamp}")
        if error is not None:  # the reason first: a failed file is never without one
            write_atomic(folder, f"{target.name}.error.txt", error.encode() + b"\n")
        try:
            os.rename(claim.path, target)
        except FileNotFoundError:
            log.warning("%s was claimed again by another poller", claim.path)
            return None
        _fsync_dir(folder)
        return target
