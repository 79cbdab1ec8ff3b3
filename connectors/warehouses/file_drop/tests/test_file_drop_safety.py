"""What a hostile or broken exchange folder cannot make the connector do: read a file outside
the folder through a link, write outside it through a linked sub-folder, copy a file's content
into an error file or the log, or fail on the same file on every poll."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from connectors.warehouses.file_drop import translate
from connectors.warehouses.file_drop.client import (
    MAX_CLAIMS,
    MAX_FILE_BYTES,
    DropFolder,
    Refused,
    UnsafeFolder,
    claim_name,
    parse_claim,
)
from connectors.warehouses.file_drop.tests.test_file_drop_folder import drop, make, names
from connectors.warehouses.file_drop.tests.test_file_drop_translate import an_order
from hub.errors import RetryableError

SECRET = "SECRET_KEY=s3cr3t-do-not-leak"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file beside the exchange folder that the warehouse must never get the hub to read."""
    env = tmp_path / "app.env"
    env.write_text(f"{SECRET}\nDATABASE_URL=postgresql://u:pw@db/hub\n")
    return env


@pytest.fixture
def share(tmp_path: Path) -> Path:
    folder = tmp_path / "share"
    folder.mkdir()
    return folder


def _link(link: Path, target: Path, age: float = 60) -> Path:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    os.utime(link, (time.time() - age, time.time() - age), follow_symlinks=False)
    return link


def _everything_written(folder: Path) -> str:
    """The text of every regular file under ``folder``."""
    texts = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            texts.append(path.read_text(errors="replace"))
    return "\n".join(texts)


# -- links to files outside the folder --------------------------------------------------------


@pytest.mark.parametrize(("box", "name"), [("stock", "stock.csv"), ("shipments", "s.json")])
def test_a_linked_incoming_file_is_refused_unread(share, outside, caplog, box, name):
    _link(share / box / name, outside)
    caplog.set_level(logging.DEBUG)
    assert list(make(share).poll({})) == []
    failed = share / box / "failed"
    assert names(failed) == [name, f"{name}.error.txt"]
    error = (failed / f"{name}.error.txt").read_text()
    assert error == f"{name}: a symbolic link, not a file: refused, not read\n"
    assert (failed / name).is_symlink()  # the link itself was moved, not what it points at
    assert outside.read_text().startswith(SECRET)
    assert "s3cr3t" not in caplog.text and "s3cr3t" not in _everything_written(share)
    assert "refused, not read" in caplog.text


def test_a_link_swapped_in_after_the_claim_is_refused_too(share, outside):
    """O_NOFOLLOW at the open, not only a look at the name beforehand."""
    drop(share / "stock", "s.csv", "sku,on_hand\nA,1\n")
    folder = DropFolder(share, settle_seconds=0, stale_claim_seconds=900)
    [claim] = folder.claims("stock", lambda n: True)
    claim.path.unlink()
    claim.path.symlink_to(outside)
    with pytest.raises(Refused, match="a symbolic link"):
        folder.read(claim)


def test_a_hard_link_to_a_file_elsewhere_is_refused(share, outside, caplog):
    (share / "stock").mkdir()
    os.link(outside, share / "stock" / "s.csv")
    os.utime(share / "stock" / "s.csv", (time.time() - 60, time.time() - 60))
    assert list(make(share).poll({})) == []
    error = (share / "stock" / "failed" / "s.csv.error.txt").read_text()
    assert error == "s.csv: has other hard links (it may be a file outside the folder): refused\n"
    assert "s3cr3t" not in caplog.text


def test_a_file_larger_than_the_limit_is_refused_unread(share):
    path = drop(share / "stock", "big.csv", b"")
    with open(path, "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    os.utime(path, (time.time() - 60, time.time() - 60))
    assert list(make(share).poll({})) == []
    error = (share / "stock" / "failed" / "big.csv.error.txt").read_text()
    assert error.startswith("big.csv: larger than the limit of 64 MiB")


@pytest.mark.parametrize("sub", ["orders", "sent"])
def test_a_linked_order_file_is_neither_read_nor_copied(share, outside, sub):
    """``orders/order-12.json`` linked to a secret: the hub must not copy the secret into
    ``sent/`` as 'the file written before'."""
    _link(share / sub / "order-12.json", outside)
    connector = make(share)
    with pytest.raises(UnsafeFolder, match=rf"{sub}/order-12\.json: a symbolic link"):
        connector.release_order(an_order())
    assert "s3cr3t" not in _everything_written(share)


# -- linked sub-folders ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "sub", ["orders", "sent", "stock", "stock/processing", "stock/done", "stock/failed"]
)
def test_a_sub_folder_linked_outside_is_refused_and_nothing_written_there(tmp_path, share, sub):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (share / sub).parent.mkdir(parents=True, exist_ok=True)
    (share / sub).symlink_to(elsewhere, target_is_directory=True)
    if sub != "stock":
        drop(share / "stock", "s.csv", "sku,on_hand\nA,1\n")
    connector = make(share)
    with pytest.raises(UnsafeFolder, match="leads outside the exchange folder") as caught:
        connector.release_order(an_order())
        for batch in connector.poll({}):
            connector.finish(batch, None)
    assert isinstance(caught.value, RetryableError)  # fixed by hand, then the job goes on
    assert names(elsewhere) == []


def test_a_sub_folder_linked_inside_the_folder_is_fine(share):
    (share / "real-out").mkdir()
    (share / "orders").symlink_to(share / "real-out", target_is_directory=True)
    make(share).release_order(an_order())
    assert names(share / "real-out") == ["order-12.json"]


def test_the_exchange_folder_itself_may_be_a_link(tmp_path):
    """A mount point reached through a link is the operator's choice; only what lies inside
    it is checked."""
    real = tmp_path / "mnt" / "share"
    real.mkdir(parents=True)
    (tmp_path / "share").symlink_to(real, target_is_directory=True)
    make(tmp_path / "share").release_order(an_order())
    assert names(real / "orders") == ["order-12.json"]


# -- no content in error files or the log ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("s.csv", f"{SECRET}\nx\n"),  # an env file as a stock header
        ("s.csv", f"sku,on_hand\nA,{SECRET}\n"),
        ("s.csv", f"sku,on_hand,location\nA,1,B\nA,1,B\n{SECRET},1,B\n{SECRET},1,B\n"),
        ("s.json", f'[{{"sku": "A", "on_hand": "{SECRET}"}}]'),
        ("s.json", f'[{{"sku": "A", "on_hand": 1, "{SECRET}": 1}}]'),
        ("s.json", f'{{"{SECRET}": 1}}'),
    ],
)
def test_stock_problems_say_where_and_what_kind_never_the_content(share, caplog, name, data):
    drop(share / "stock", name, data)
    caplog.set_level(logging.DEBUG)
    assert list(make(share).poll({})) == []
    error = (share / "stock" / "failed" / f"{name}.error.txt").read_text()
    assert error.startswith(f"{name} line ") or error.startswith(f"{name} at ")
    assert "s3cr3t" not in error and "SECRET" not in error.upper()
    assert "s3cr3t" not in caplog.text


@pytest.mark.parametrize(
    "row",
    [
        f"{SECRET},ups,1Z1,A,1",
        f"12,{SECRET},1Z1,A,1",
        f"12,ups,1Z1,A,{SECRET}",
        "12,ups,1Z1,A,1\n13,ups,1Z1,A,1",  # the same tracking number on two orders
    ],
)
def test_shipment_problems_never_repeat_the_content(row):
    data = f"order_id,carrier,tracking_number,sku,quantity,shipped_at\n{row},{SECRET}\n"
    with pytest.raises(translate.FileProblem) as caught:
        translate.parse_shipments("s.csv", data.encode())
    assert "s3cr3t" not in str(caught.value) and "1Z1" not in str(caught.value)


def test_an_unknown_column_is_named_by_its_place():
    data = f"sku,on_hand,{SECRET}\nA,1,x\n".encode()
    [problem] = _problems(translate.parse_stock, data)
    assert problem == "line 1: bad header (unknown column 3)"


def _problems(fn, data: bytes, name: str = "s.csv") -> list[str]:
    with pytest.raises(translate.FileProblem) as caught:
        fn(name, data)
    return caught.value.problems


# -- poison files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        ("deep.json", b"[" * 200_000 + b"]" * 200_000, "at top: nested too deeply"),
        ("digits.json", b'[{"sku": "A", "on_hand": ' + b"9" * 5000 + b"}]", "a number too long"),
        ("huge.json", b'[{"sku": "A", "on_hand": 1e999999999}]', "on_hand"),
        ("big.csv", b"sku,on_hand\nA,99999999999999999999999\n", "on_hand: at most 2147483647"),
        ("long.csv", b"sku,on_hand\nA," + b"9" * 5000 + b"\n", "on_hand: at most 2147483647"),
        ("field.csv", b'sku,on_hand\n"' + b"A" * 200_000 + b'",1\n', "line 2: not readable"),
        ("nul.csv", b"sku,on_hand\nA,1\x00\n", "line 2"),
        ("latin1.csv", "sku,on_hand\nCAFÉ,1\n".encode("latin-1"), "line 2 column 4: not UTF-8"),
        ("utf16.json", '[{"sku": "A", "on_hand": 1}]'.encode("utf-16"), "line 1 column 1"),
    ],
)
def test_a_poison_stock_file_goes_to_failed_at_once(share, name, data, said):
    drop(share / "stock", name, data)
    connector = make(share)
    assert list(connector.poll({})) == []
    assert names(share / "stock" / "failed") == [name, f"{name}.error.txt"]
    assert names(share / "stock" / "processing") == []
    assert said in (share / "stock" / "failed" / f"{name}.error.txt").read_text()
    assert list(connector.poll({})) == []  # and it is not tried again


def test_any_exception_while_reading_moves_the_file_to_failed(share, monkeypatch, caplog):
    def boom(name, data):
        raise MemoryError(f"could not allocate for {data.decode()}")

    drop(share / "stock", "s.csv", f"sku,on_hand\n{SECRET},1\n")
    drop(share / "stock", "t.csv", "sku,on_hand\nA,1\n")
    connector = make(share)
    monkeypatch.setattr(translate, "parse_stock", boom)
    assert list(connector.poll({})) == []
    assert names(share / "stock" / "failed") == sorted(
        ["s.csv", "s.csv.error.txt", "t.csv", "t.csv.error.txt"]
    )
    error = (share / "stock" / "failed" / "s.csv.error.txt").read_text()
    assert error == "s.csv: could not be read (MemoryError)\n"
    assert "s3cr3t" not in caplog.text and "MemoryError" in caplog.text


def test_a_claim_is_taken_over_once_then_it_goes_to_failed(share):
    """A file whose poller died with it (a crash, or the file made the hub crash) is processed
    once more, not on every poll forever."""
    clock = [time.time()]
    folder = DropFolder(share, settle_seconds=0, stale_claim_seconds=60, clock=lambda: clock[0])
    drop(share / "stock", "s.csv", "sku,on_hand\nA,1\n")
    seen = []
    for _ in range(MAX_CLAIMS + 2):
        seen += [parse_claim(c.path.name) for c in folder.claims("stock", lambda n: True)]
        clock[0] += 61  # each poller dies holding its claim
    assert [(name, n) for _, name, n in seen] == [("s.csv", n) for n in range(1, MAX_CLAIMS + 1)]
    assert names(share / "stock" / "failed") == ["s.csv", "s.csv.error.txt"]
    error = (share / "stock" / "failed" / "s.csv.error.txt").read_text()
    assert error == (
        f"s.csv: claimed {MAX_CLAIMS} times and never finished (its poller stopped while "
        "processing it; this file may be why): not tried again\n"
    )
    assert names(share / "stock" / "processing") == []


def test_claims_from_before_the_count_in_the_name_are_taken_over_once_more(share):
    processing = share / "stock" / "processing"
    drop(processing, claim_name("old.csv", time.time() - 1000, "a" * 12), "sku,on_hand\nA,1\n")
    [claim] = DropFolder(share, settle_seconds=0, stale_claim_seconds=600).claims(
        "stock", lambda n: True
    )
    assert parse_claim(claim.path.name)[1:] == ("old.csv", 2)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"sku,on_hand\n" + b"A" * 201 + b",1\n", "line 2: sku: at most 200 characters"),
        (b"sku,on_hand,location\nA,1," + b"L" * 101 + b"\n", "line 2: location: at most 100"),
    ],
)
def test_text_longer_than_the_hub_stores_is_a_problem_of_the_file(data, said):
    [problem] = _problems(translate.parse_stock, data)
    assert problem.startswith(said)


def test_a_tracking_number_longer_than_the_hub_stores_is_a_problem_of_the_file():
    data = b"order_id,carrier,tracking_number,line_id,quantity\n12,ups," + b"1" * 101 + b",7,1\n"
    assert _problems(translate.parse_shipments, data) == [
        "line 2: tracking_number: at most 100 characters"
    ]
    data = b"order_id,carrier,tracking_number,line_id,quantity\n12,ups,1Z," + b"7" * 201 + b",1\n"
    assert _problems(translate.parse_shipments, data) == ["line 2: line_id: at most 200 characters"]
    data = b"order_id,carrier,tracking_number,sku,quantity\n9223372036854775808,ups,1Z,A,1\n"
    assert _problems(translate.parse_shipments, data) == [
        "line 2: order_id: at most 9223372036854775807"
    ]
