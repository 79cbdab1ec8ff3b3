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
absolute). A file is claimed :data:`MAX_CLAIMS` times at most: a claim gone stale a second
time goes to ``failed/``, since the file itself may be what stops its poller. Once the hub has
applied or refused it, the file moves to ``done/`` or ``failed/``.

Safety: the warehouse can write anything into the folder, links included, and the hub must not
be made to read or write anywhere else. Every sub-folder is checked, each time it is used, to
resolve inside the exchange folder (one linked elsewhere raises :class:`UnsafeFolder` and
nothing is read or written there); files are opened with ``O_NOFOLLOW`` and must be regular
files with no other hard links and at most :data:`MAX_FILE_BYTES`; anything else is refused
unread. A refusal names the file and why, never what it holds.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hub.errors import RetryableError

log = logging.getLogger("connectors.file_drop")

PROCESSING, DONE, FAILED = "processing", "done", "failed"
#: how many times one file is claimed: once, and once more when its first poller died
MAX_CLAIMS = 2
#: the largest incoming file read (a count of a million SKUs is some 30 MiB)
MAX_FILE_BYTES = 64 * 1024 * 1024
#: seconds before a job that found an unsafe folder tries again (someone has to fix it)
UNSAFE_RETRY = 600.0
# The count is left out of a first claim's name (and so of claims made before it existed).
_CLAIM = re.compile(r"(\d{8}T\d{6}Z)\.([0-9a-f]{12})(?:-(\d+))?\.(.+)")
_STAMP = "%Y%m%dT%H%M%SZ"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_OPEN_READ = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_OPEN_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class UnsafeFolder(RetryableError):
    """A sub-folder of the exchange folder leads outside it (a symbolic link), or a file the
    hub writes is in the way as a link: nothing is read or written there. Retried later, as
    someone has to fix the folder first."""

    def __init__(self, message: str):
        super().__init__(message, retry_after=UNSAFE_RETRY)


class Refused(ValueError):
    """An incoming file the hub does not read (a link, not a regular file, too large). Its
    message names the file and why, never what it holds."""


def claim_name(name: str, at: float, token: str, count: int = 1) -> str:
    """The name a file takes in ``processing/`` when claimed at ``at`` (epoch seconds), for
    the ``count``-th time."""
    again = f"-{count}" if count > 1 else ""
    return f"{datetime.fromtimestamp(at, UTC).strftime(_STAMP)}.{token}{again}.{name}"


def parse_claim(claimed: str) -> tuple[float, str, int] | None:
    """(claim time, the file's own name, how many times it was claimed) from a claim name;
    None for anything else."""
    found = _CLAIM.fullmatch(claimed)
    if found is None:
        return None
    at = datetime.strptime(found.group(1), _STAMP).replace(tzinfo=UTC)
    return at.timestamp(), found.group(4), int(found.group(3) or 1)


@dataclass(frozen=True)
class Claim:
    """A file this poller owns: its own ``name``, where it is now, and its incoming folder."""

    name: str
    path: Path
    box: Path


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # Windows, or a share that cannot open folders: the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass  # some network file systems refuse fsync on a folder
    finally:
        os.close(fd)


def write_atomic(folder: Path, name: str, data: bytes) -> Path:
    """Write ``folder/name`` all at once: the warehouse sees no file, or the whole file.
    Neither the temporary file nor ``name`` is followed if it is a link: the first is created
    new (``O_EXCL``), and the rename replaces a link named ``name`` rather than its target."""
    folder.mkdir(parents=True, exist_ok=True)
    # Hidden and ".tmp": the names warehouse pollers are configured to leave alone.
    tmp = folder / f".{name}.{secrets.token_hex(6)}.tmp"
    try:
        with os.fdopen(os.open(tmp, _OPEN_NEW, 0o644), "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    return folder / name


def read_file(path: Path, shown: str) -> bytes:
    """The bytes of the regular file ``path`` (``shown`` names it in problems): a link, a
    device or pipe, a file with other hard links (it may be one outside the folder) or one
    over :data:`MAX_FILE_BYTES` raises :class:`Refused` unread. FileNotFoundError passes."""
    try:
        # A first look, for where O_NOFOLLOW is missing; the open is what counts (a link
        # swapped in meanwhile fails there).
        if stat.S_ISLNK(os.lstat(path).st_mode):
            raise Refused(f"{shown}: a symbolic link, not a file: refused, not read")
        fd = os.open(path, _OPEN_READ)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a link after all
            raise Refused(f"{shown}: a symbolic link, not a file: refused, not read") from None
        raise
    with os.fdopen(fd, "rb") as fh:
        found = os.fstat(fh.fileno())
        if not stat.S_ISREG(found.st_mode):
            raise Refused(f"{shown}: not a regular file: refused, not read")
        if found.st_nlink > 1:
            raise Refused(
                f"{shown}: has other hard links (it may be a file outside the folder): refused"
            )
        limit = f"larger than the limit of {MAX_FILE_BYTES // 2**20} MiB: refused, not read"
        if found.st_size > MAX_FILE_BYTES:
            raise Refused(f"{shown}: {limit}")
        data = fh.read(MAX_FILE_BYTES + 1)  # it may grow as we read
        if len(data) > MAX_FILE_BYTES:
            raise Refused(f"{shown}: {limit}")
        return data


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

    def folder(self, *parts: str | Path) -> Path:
        """The sub-folder ``parts`` of the exchange folder, created if missing, once sure it
        resolves inside the exchange folder (checked before creating it, since creating
        would follow a link, and after); else :class:`UnsafeFolder`."""
        path = self.root.joinpath(*parts)
        self._inside(path)
        path.mkdir(parents=True, exist_ok=True)
        self._inside(path)
        return path

    def _inside(self, path: Path) -> None:
        root = self.root.resolve()  # the exchange folder itself may be reached by a link
        real = path.resolve()
        if real != root and not real.is_relative_to(root):
            shown = path.relative_to(self.root)
            log.error(
                "exchange folder %s: %s leads outside it (to %s); nothing is read or written there",
                self.root,
                shown,
                real,
            )
            raise UnsafeFolder(
                f"{shown} leads outside the exchange folder {self.root} (a symbolic link?); "
                "nothing is read or written there until it is a folder inside it"
            )

    def _written(self, folder: Path, name: str) -> bytes | None:
        """What the hub wrote as ``folder/name`` before, or None; a link there is refused."""
        try:
            return read_file(folder / name, str((folder / name).relative_to(self.root)))
        except FileNotFoundError:
            return None
        except Refused as exc:
            log.error("exchange folder %s: %s", self.root, exc)
            raise UnsafeFolder(f"{exc}; the hub writes that name itself: remove it") from None

    def send(self, out: str, sent: str, name: str, data: bytes) -> bytes | None:
        """Write ``name`` into ``out`` for the warehouse, keeping a copy in ``sent``; once:
        when either holds the name already, nothing is written and its content is returned
        (for the caller to check it is the same order), else None."""
        self.check()
        out_folder, sent_folder = self.folder(out), self.folder(sent)
        before = self._written(sent_folder, name)
        if before is not None:
            return before
        before = self._written(out_folder, name)
        if before is None:
            write_atomic(out_folder, name, data)
        # The copy comes second: stopped between the two, the next try finds the file still
        # waiting in ``out`` and only makes the copy. (Had the warehouse taken it meanwhile,
        # it gets it again: the one window left, as narrow as two renames.)
        write_atomic(sent_folder, name, before if before is not None else data)
        return before

    def claims(self, box: str, wanted: Callable[[str], bool]) -> Iterator[Claim]:
        """Claim, one by one as they are asked for, the files of ``box`` whose names are
        ``wanted``: stale claims of dead pollers first (they are the oldest), then new files
        in name order that have settled. A stale claim already made :data:`MAX_CLAIMS`
        times goes to ``failed/`` instead. Links are claimed like files (to be refused when
        read); folders are left alone."""
        incoming = self.folder(box)
        processing = self.folder(box, PROCESSING)
        for sub in (DONE, FAILED):  # where every claim ends: known safe before one starts
            self._inside(incoming / sub)
        stale = []
        for entry in os.scandir(processing):
            found = parse_claim(entry.name)
            if (
                found
                and (entry.is_file(follow_symlinks=False) or entry.is_symlink())
                and self.clock() - found[0] >= self.stale
            ):
                stale.append((found[1], found[2], Path(entry.path)))
        for name, count, path in sorted(stale):
            if count >= MAX_CLAIMS:
                log.error(
                    "%s: claim %s went stale %s times; moved to failed/, not tried again",
                    incoming,
                    path.name,
                    count,
                )
                self.finish(
                    Claim(name, path, incoming),
                    f"{name}: claimed {count} times and never finished (its poller stopped "
                    "while processing it; this file may be why): not tried again",
                )
                continue
            log.warning("%s: claim %s is stale; processing it again", incoming, path.name)
            claim = self._claim(path, name, incoming, count + 1)
            if claim is not None:
                yield claim
        waiting = []
        for entry in os.scandir(incoming):
            if entry.name.startswith(".") or not wanted(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    continue
                if self.clock() - entry.stat(follow_symlinks=False).st_mtime < self.settle:
                    continue  # a file that may still be being written
            except FileNotFoundError:
                continue  # taken by another poller while we looked
            waiting.append(entry.name)
        for name in sorted(waiting):
            claim = self._claim(incoming / name, name, incoming)
            if claim is not None:
                yield claim

    def _claim(self, path: Path, name: str, incoming: Path, count: int = 1) -> Claim | None:
        claimed = claim_name(name, self.clock(), secrets.token_hex(6), count)
        target = incoming / PROCESSING / claimed
        try:
            os.rename(path, target)  # a link is moved as itself
        except FileNotFoundError:
            return None  # another poller took it first
        return Claim(name, target, incoming)

    def read(self, claim: Claim) -> bytes:
        """The claimed file's bytes; :class:`Refused` for anything that is not a plain file
        inside the folder (FileNotFoundError when another poller took the claim over)."""
        self._inside(claim.path.parent)
        return read_file(claim.path, claim.name)

    def finish(self, claim: Claim, error: str | None) -> Path | None:
        """Move a claimed file to ``done/``, or to ``failed/`` with ``<name>.error.txt``
        beside it. Returns where it went; None when another poller had claimed it again
        (this one was too slow and its claim went stale)."""
        box = claim.box.relative_to(self.root)
        folder = self.folder(box, FAILED if error is not None else DONE)
        target = folder / claim.name
        if os.path.lexists(target):  # the warehouse reuses names (``stock.csv`` every night)
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
