"""Every recorded USPS answer against its hand-written expectation (``expected/``), through
``translate.read_tracking`` as the generic carrier contract calls it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.carriers.usps import translate
from hub import errors
from hub.connectors import tracking_to_json

HERE = Path(__file__).parent
PAYLOADS = sorted(p for p in (HERE / "payloads").iterdir() if p.suffix in (".json", ".xml"))
SHARED = HERE.parents[3].parent / "shared" / "samples" / "carriers" / "usps"


def expected(payload: Path) -> dict:
    return json.loads((HERE / "expected" / f"{payload.stem}.json").read_text(encoding="utf-8"))


def test_there_are_payloads_of_both_shapes():
    assert {p.suffix for p in PAYLOADS} == {".json", ".xml"}


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.name)
def test_payload_reads_as_expected(payload: Path):
    want = expected(payload)
    body = payload.read_bytes()
    if "raises" in want:
        with pytest.raises(getattr(errors, want["raises"])):
            translate.read_tracking(body, want["numbers"])
        return
    got = translate.read_tracking(body, want["numbers"])
    assert [tracking_to_json(t) for t in got] == want["tracking"]


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.name)
def test_payload_is_listed_in_sources(payload: Path):
    assert f"`{payload.name}`" in (HERE / "payloads" / "SOURCES.md").read_text(encoding="utf-8")


def test_every_expected_file_has_its_payload():
    stems = {p.stem for p in PAYLOADS}
    assert {p.stem for p in (HERE / "expected").glob("*.json")} == stems


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared samples are not beside the repo")
def test_the_shared_samples_are_copied_byte_for_byte():
    for sample in SHARED.iterdir():
        assert (HERE / "payloads" / sample.name).read_bytes() == sample.read_bytes(), sample.name
