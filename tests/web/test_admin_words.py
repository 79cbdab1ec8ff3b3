"""The console's words for the hub's codes (hub.web.admin.words): every table covers its
domain's list exactly, and codes the hub writes without a list (account health, order timeline
kinds) are found in its source, so a new code cannot reach a page bare."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hub.canonical import RETURN_REASONS, OrderStatus
from hub.connectors import TRACKING_STATUSES
from hub.intake import listing
from hub.jobs import account_health, outbox
from hub.orders.privacy import ERASED_EVENT
from hub.returns import store
from hub.web.admin import words

HUB = Path(words.__file__).parents[2]


@pytest.mark.parametrize(
    ("table", "codes"),
    [
        (words.ORDER_WORDS, [s.value for s in OrderStatus]),
        (words.TRACKING_WORDS, TRACKING_STATUSES),
        (words.DELIVERY_WORDS, listing.STATUSES),
        (words.JOB_WORDS, outbox.STATUSES),
        (words.RETURN_WORDS, store.STATUSES),
        (words.REASON_WORDS, RETURN_REASONS),
    ],
    ids=["orders", "tracking", "deliveries", "jobs", "returns", "reasons"],
)
def test_every_domain_code_reads_in_words(table, codes):
    assert set(table) == set(codes)
    assert all(said and "_" not in said for said in table.values())


def _status_literals(path: Path) -> set[str]:
    """Every text assigned to a name ``status`` in a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "status" for t in node.targets
        ):
            for value in ast.walk(node.value):
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.add(value.value)
    return found


def test_every_account_health_reads_in_words():
    given = _status_literals(Path(account_health.__file__))
    assert given >= {"ok", "credentials_refused"}  # the scan finds what the report gives
    assert given == set(words.ACCOUNT_WORDS)


def _timeline_kinds() -> tuple[set[str], set[str]]:
    """The kinds the hub writes on an order's timeline (``add_event(session, order, kind,
    ...)``, ``move(session, order, status, kind, ...)``): plain texts and f-string prefixes."""
    plain, prefixes = set(), set()
    for path in HUB.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            at = {"add_event": 2, "move": 3}.get(name or "")
            if at is None or len(node.args) <= at:
                continue
            kind = node.args[at]
            if isinstance(kind, ast.Constant) and isinstance(kind.value, str):
                plain.add(kind.value)
            elif isinstance(kind, ast.JoinedStr) and isinstance(kind.values[0], ast.Constant):
                prefixes.add(kind.values[0].value)
    return plain, prefixes


def test_every_order_timeline_kind_reads_in_words():
    plain, prefixes = _timeline_kinds()
    assert {"received", "shipped", "translation_failed"} <= plain  # the scan finds them
    assert prefixes == {"tracking_", "return_", "return_label_"}
    for kind in plain | {ERASED_EVENT}:
        assert kind in words.ORDER_EVENT_WORDS or kind in words.ORDER_WORDS, kind
    assert set(words.ORDER_EVENT_WORDS) <= plain | {ERASED_EVENT}  # no words for nothing


def test_order_timeline_words():
    assert words.order_event("shipped") == "Shipped"
    assert words.order_event("needs_attention") == "Needs attention"
    assert words.order_event("tracking_delivery_attempted") == "Parcel delivery attempted"
    assert words.order_event("return_authorised") == "Return: authorised"
    assert words.order_event("return_refund_queued") == "Return: refund queued"
    assert words.order_event("return_label_in_transit") == "Return parcel in transit"
    assert words.order_event("return_label_label_created") == "Return: label issued"
    assert words.order_event("customer_erased") == "Customer data erased"
    assert words.order_event("something_new") == "Something new"  # never a raw code


def test_every_return_code_reads_in_words():
    assert words.return_status("in_transit") == "In transit"
    assert words.label_status("label_created") == "Label issued"
    assert words.refund_status("done") == "Refunded"
    assert set(words.REFUND_WORDS) == {"queued", "done", "not_sent"}
    assert words.return_reason("size_too_small") == "Too small"
    assert words.return_event("label_out_for_delivery") == "Return parcel out for delivery"
    assert words.return_event("label_label_created") == "Label issued"
    assert words.return_event("refund_not_sent") == "Refund not sent"
    assert words.return_event("something_new") == "Something new"  # never a raw code


def test_other_codes_read_in_words():
    assert words.order_status("partially_shipped") == "Partly shipped"
    assert words.tracking_status("out_for_delivery") == "Out for delivery"
    assert words.delivery_status("processed") == "Processed"
    assert words.job_status("dead") == "Dead"
    assert words.account_status("credentials_refused") == "Credentials refused"
    assert words.order_status(None) == ""
