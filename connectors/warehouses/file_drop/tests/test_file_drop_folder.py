"""The exchange folder and the connector over it, without a database: settings, writing once
and atomically, claiming each incoming file once (also with pollers racing), stale claims,
and where a file ends up."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from connectors.warehouses.file_drop import FileDropConnector, settings
from connectors.warehouses.file_drop.client import (
    DropFolder,
    claim_name,
    parse_claim,
    write_atomic,
)
from connectors.warehouses.file_drop.tests.test_file_drop_translate import PAYLOADS, an_order
from hub.connectors import AccountSchema, StockCount, connector_class
from hub.connectors.accounts import parse_accounts
from hub.errors import ConfigError, PermanentError, RetryableError


def account_text(folder: Path | str, **keys) -> str:
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items())
    return f'[accounts.wh]\nconnector = "file_drop"\nfolder = "{folder}"\n{extra}'


def make(folder: Path, **keys) -> FileDropConnector:
    keys.setdefault("settle_seconds", 0)
    account = parse_accounts(account_text(folder, **keys), "t.toml", env={})["wh"]
    connector = connector_class("file_drop")(account)
    assert isinstance(connector, FileDropConnector)
    return connector


def drop(folder: Path, name: str, data: bytes | str, age: float = 60) -> Path:
    """A file as the warehouse leaves it, last written ``age`` seconds ago."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    os.utime(path, (time.time() - age, time.time() - age))
    return path


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


# -- settings -----------------------------------------------------------------------------


def test_settings_defaults(tmp_path):
    s = make(tmp_path).account.settings
    assert (s["orders_out"], s["stock_in"], s["shipments_in"], s["orders_sent"]) == (
        "orders",
        "stock",
        "shipments",
        "sent",
    )
    assert s["order_format"] == "json" and s["default_location"] is None
    assert (s["settle_seconds"], s["stale_claim_seconds"]) == (0, 900)


@pytest.mark.parametrize(
    ("keys", "named"),
    [
        ({"order_format": "xml"}, "order_format"),
        ({"stock_in": "../elsewhere"}, "stock_in"),
        ({"stock_in": "/abs"}, "stock_in"),
        ({"stock_in": "orders"}, "stock_in"),
        ({"shipments_in": "in/processing"}, "shipments_in"),
        ({"stale_claim_seconds": 5}, "stale_claim_seconds"),
        ({"default_location": ""}, "default_location"),
        ({"folder_name": "x"}, "folder_name"),
    ],
)
def test_settings_refuse_bad_keys_naming_them(tmp_path, keys, named):
    with pytest.raises(ConfigError, match=f"key {named}"):
        make(tmp_path, **keys)


def test_the_folder_is_required_and_absolute():
    with pytest.raises(ConfigError, match="key folder: Missing"):
        parse_accounts('[accounts.wh]\nconnector = "file_drop"\n', "t.toml", env={})
    with pytest.raises(ConfigError, match="key folder: an absolute path"):
        parse_accounts(account_text("3pl/acme"), "t.toml", env={})


def test_every_key_is_documented():
    for key in set(settings.FileDropSettings().fields) - set(AccountSchema().fields):
        assert f"``{key}``" in settings.__doc__, key


# -- writing ------------------------------------------------------------------------------


def test_write_atomic_leaves_the_whole_file_and_no_temporary_one(tmp_path):
    write_atomic(tmp_path / "out", "a.json", b"one")
    write_atomic(tmp_path / "out", "a.json", b"two")
    assert names(tmp_path / "out") == ["a.json"]
    assert (tmp_path / "out" / "a.json").read_bytes() == b"two"


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_release_writes_the_order_file_once_and_keeps_a_copy(tmp_path, fmt):
    connector = make(tmp_path, order_format=fmt)
    assert connector.release_order(an_order()) == f"order-12.{fmt}"
    written = (tmp_path / "orders" / f"order-12.{fmt}").read_bytes()
    assert (tmp_path / "sent" / f"order-12.{fmt}").read_bytes() == written
    # the warehouse takes the file away; a second release (a retried job) does not resend it
    (tmp_path / "orders" / f"order-12.{fmt}").unlink()
    assert connector.release_order(an_order(status="ready again")) == f"order-12.{fmt}"
    assert names(tmp_path / "orders") == []


def test_a_release_stopped_between_file_and_copy_is_finished_not_repeated(tmp_path):
    connector = make(tmp_path)
    connector.release_order(an_order())
    (tmp_path / "sent" / "order-12.json").unlink()
    before = (tmp_path / "orders" / "order-12.json").stat().st_mtime_ns
    connector.release_order(an_order())
    assert (tmp_path / "orders" / "order-12.json").stat().st_mtime_ns == before
    assert names(tmp_path / "sent") == ["order-12.json"]


def test_a_name_written_for_another_order_is_a_permanent_error(tmp_path):
    connector = make(tmp_path)
    connector.release_order(an_order())
    with pytest.raises(PermanentError, match=r"order-12\.json was written before for another"):
        connector.release_order(an_order(external_id="999"))


def test_cancel_writes_a_cancellation_file_once(tmp_path):
    connector = make(tmp_path, order_format="csv", orders_out="out/orders")
    connector.release_order(an_order())
    connector.cancel_order(an_order(status="cancelled"), "order-12.csv")
    connector.cancel_order(an_order(status="cancelled"), "order-12.csv")  # a retried job
    assert names(tmp_path / "out" / "orders") == ["cancel-12.csv", "order-12.csv"]
    text = (tmp_path / "out" / "orders" / "cancel-12.csv").read_text()
    assert text.splitlines()[1].startswith("12,#1001,shop-a,450789469,order-12.csv,")


def test_a_missing_folder_is_retried_not_created(tmp_path):
    connector = make(tmp_path / "not-mounted")
    with pytest.raises(RetryableError, match="not mounted"):
        connector.release_order(an_order())
    with pytest.raises(RetryableError):
        list(connector.poll({}))
    assert not (tmp_path / "not-mounted").exists()


# -- reading ------------------------------------------------------------------------------


def test_poll_yields_one_batch_per_file_stock_first_in_name_order(tmp_path):
    drop(tmp_path / "shipments", "a.csv", (PAYLOADS / "shipments.csv").read_bytes())
    drop(tmp_path / "stock", "2.json", (PAYLOADS / "stock_counts.json").read_bytes())
    drop(tmp_path / "stock", "1.csv", "sku,on_hand\nMUG-1,4\n")
    connector = make(tmp_path)
    batches = list(connector.poll({}))
    assert [b.ref for b in batches] == ["1.csv", "2.json", "a.csv"]
    assert batches[0].counts == [StockCount("MUG-1", 4, None)] and batches[0].shipments == []
    assert batches[2].counts == [] and [s["order_id"] for s in batches[2].shipments] == [12, 13]
    assert all(b.state is None for b in batches)
    for batch in batches:
        assert batch.handle.path.parent.name == "processing"
        assert parse_claim(batch.handle.path.name)[1] == batch.ref
    assert names(tmp_path / "stock") == ["processing"]
    for batch in batches:
        connector.finish(batch, None)
    assert names(tmp_path / "stock" / "done") == ["1.csv", "2.json"]
    assert names(tmp_path / "stock" / "processing") == []
    assert list(connector.poll({})) == []  # processed once


def test_poll_leaves_alone_what_is_not_a_finished_file_of_its_formats(tmp_path):
    for name in (".hidden.csv", "upload.csv.part", "x.tmp", "notes.txt", "stock.xlsx"):
        drop(tmp_path / "stock", name, "sku,on_hand\n")
    (tmp_path / "stock" / "sub.csv").mkdir()
    drop(tmp_path / "stock", "fresh.csv", "sku,on_hand\nMUG-1,1\n", age=0)
    assert list(make(tmp_path, settle_seconds=30).poll({})) == []
    assert "fresh.csv" in names(tmp_path / "stock")
    assert [b.ref for b in make(tmp_path, settle_seconds=0).poll({})] == ["fresh.csv"]


def test_a_file_that_cannot_be_read_goes_to_failed_with_its_reason(tmp_path):
    bad = "order_id,carrier,tracking_number,sku,quantity\n12,ups,1Z1,A,1\n12,pigeon,RM2,A,1\n"
    drop(tmp_path / "shipments", "bad.csv", bad)
    assert list(make(tmp_path).poll({})) == []
    assert names(tmp_path / "shipments" / "failed") == ["bad.csv", "bad.csv.error.txt"]
    error = (tmp_path / "shipments" / "failed" / "bad.csv.error.txt").read_text()
    assert error.startswith("bad.csv line 3: carrier: one of dhl, dpd, dpd_uk, evri")


def test_finish_keeps_a_reused_name_apart_and_writes_the_error_beside_it(tmp_path):
    connector = make(tmp_path)
    for _ in range(2):
        drop(tmp_path / "stock", "stock.csv", "sku,on_hand\nMUG-1,1\n")
        [batch] = connector.poll({})
        connector.finish(batch, "StockError: no")
    failed = names(tmp_path / "stock" / "failed")
    assert len(failed) == 4 and failed[2:] == ["stock.csv", "stock.csv.error.txt"]
    assert failed[0].startswith("stock.") and failed[0].endswith(".csv")
    assert failed[1] == failed[0] + ".error.txt"
    assert (tmp_path / "stock" / "failed" / failed[1]).read_text() == "StockError: no\n"


def test_claim_names_carry_the_time_and_the_name():
    at = 1_700_000_000.0
    claimed = claim_name("stock.2026.csv", at, "0123456789ab")
    assert claimed == "20231114T221320Z.0123456789ab.stock.2026.csv"
    assert parse_claim(claimed) == (at, "stock.2026.csv", 1)
    again = claim_name("stock.2026.csv", at, "0123456789ab", 2)
    assert again == "20231114T221320Z.0123456789ab-2.stock.2026.csv"
    assert parse_claim(again) == (at, "stock.2026.csv", 2)
    assert parse_claim("stock.csv") is None


def test_a_stale_claim_is_processed_again_and_a_fresh_one_is_not(tmp_path):
    processing = tmp_path / "stock" / "processing"
    drop(processing, claim_name("old.csv", time.time() - 1000, "a" * 12), "sku,on_hand\nA,1\n")
    drop(processing, claim_name("busy.csv", time.time() - 10, "b" * 12), "sku,on_hand\nB,1\n")
    connector = make(tmp_path, stale_claim_seconds=600)
    [batch] = connector.poll({})
    assert batch.ref == "old.csv" and batch.counts == [StockCount("A", 1, None)]
    assert parse_claim(batch.handle.path.name)[0] > time.time() - 5  # claimed anew
    connector.finish(batch, None)
    assert names(tmp_path / "stock" / "done") == ["old.csv"]
    assert len(names(processing)) == 1  # busy.csv is still its poller's


def test_a_slow_poller_whose_claim_was_taken_over_finishes_nothing(tmp_path):
    drop(tmp_path / "stock", "s.csv", "sku,on_hand\nA,1\n")
    clock = [time.time()]
    folder = DropFolder(tmp_path, settle_seconds=0, stale_claim_seconds=60, clock=lambda: clock[0])
    [slow] = folder.claims("stock", lambda n: True)
    clock[0] += 61
    [fast] = folder.claims("stock", lambda n: True)
    assert fast.name == "s.csv" and fast.path != slow.path
    assert folder.finish(slow, None) is None
    assert folder.finish(fast, None) == tmp_path / "stock" / "done" / "s.csv"


def test_pollers_racing_claim_each_file_exactly_once(tmp_path):
    for i in range(200):
        drop(tmp_path / "stock", f"s{i:03}.csv", f"sku,on_hand\nA,{i}\n")
    connectors = [make(tmp_path) for _ in range(8)]
    start = threading.Barrier(len(connectors))
    seen: list[list[str]] = [[] for _ in connectors]

    def poll(n: int) -> None:
        start.wait()
        for batch in connectors[n].poll({}):
            seen[n].append(batch.ref)
            connectors[n].finish(batch, None)

    threads = [threading.Thread(target=poll, args=(n,)) for n in range(len(connectors))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [ref for refs in seen for ref in refs]
    assert sorted(everything) == [f"s{i:03}.csv" for i in range(200)]
    assert len(names(tmp_path / "stock" / "done")) == 200
