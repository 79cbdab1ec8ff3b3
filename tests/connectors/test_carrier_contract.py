"""The carrier contract: one suite every registered carrier connector must pass.

Parametrised over what is installed: every connector of kind ``carrier`` that
``hub.connectors.registry()`` finds, and every recorded answer beside it
(``<package>/tests/payloads/*``) that has an expected file of the same stem in
``tests/expected/`` (written by hand: ``{"numbers": [...], "tracking": [...]}`` or
``{"numbers": [...], "raises": "AuthError"}``). Adding a carrier or a payload adds cases.
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

import pytest

from hub import errors
from hub.connectors import (
    TRACKING_STATUSES,
    Account,
    Capability,
    Connector,
    registry,
    tracking_to_json,
)

CARRIERS = sorted(name for name, cls in registry().items() if cls.kind == "carrier")


def _package(cls: type[Connector]) -> Path:
    return Path(inspect.getfile(cls)).parent


def _cases() -> list[tuple[str, Path, Path]]:
    found = []
    for name in CARRIERS:
        tests = _package(registry()[name]) / "tests"
        for payload in sorted((tests / "payloads").glob("*")):
            expected = tests / "expected" / f"{payload.stem}.json"
            if payload.suffix in (".json", ".xml") and expected.is_file():
                found.append((name, payload, expected))
    return found


CASES = _cases()


def test_the_built_in_carriers_are_registered_and_have_recorded_answers():
    assert {"royalmail", "dpd_uk", "evri", "dhl", "ups", "fedex"} <= set(CARRIERS)
    assert {name for name, _, _ in CASES} == set(CARRIERS)


@pytest.mark.parametrize("name", CARRIERS)
def test_a_carrier_declares_what_it_can_do(name):
    cls = registry()[name]
    assert cls.capabilities and cls.capabilities <= {
        Capability.TRACKING_POLL,
        Capability.TRACKING_WEBHOOK,
    }
    assert isinstance(cls.track_batch_size, int) and cls.track_batch_size >= 1
    translate = importlib.import_module(f"{cls.__module__}.translate")
    assert callable(getattr(translate, "read_tracking", None))
    url = cls(Account(name, name, "acme", {})).tracking_url("AB123456789GB")
    assert url is not None and url.startswith("https://") and "AB123456789GB" in url


@pytest.mark.parametrize(
    "name, payload, expected", CASES, ids=[f"{n}:{p.name}" for n, p, _ in CASES]
)
def test_every_recorded_answer_translates_to_the_expected_tracking(name, payload, expected):
    cls = registry()[name]
    translate = importlib.import_module(f"{cls.__module__}.translate")
    want = json.loads(expected.read_text())
    if "raises" in want:
        with pytest.raises(getattr(errors, want["raises"])):
            translate.read_tracking(payload.read_bytes(), want["numbers"])
        return
    got = translate.read_tracking(payload.read_bytes(), want["numbers"])
    assert [t.tracking_number for t in got] == want["numbers"]
    assert [tracking_to_json(t) for t in got] == want["tracking"]
    for t in got:
        assert t.status in TRACKING_STATUSES
        assert all(e.status in TRACKING_STATUSES for e in t.events)
        assert [e.at for e in t.events] == sorted(e.at for e in t.events), "oldest first"
        assert all(e.at.utcoffset() is not None and not e.at.utcoffset() for e in t.events)
