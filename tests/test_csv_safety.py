"""Every CSV the hub writes is safe to open in a spreadsheet (OWASP, CSV injection): cells are
written through ``hub.values.csv_cell``, and nothing else in the code writes CSV."""

from __future__ import annotations

import ast
import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from hub.values import FORMULA_START, csv_cell, csv_text

ROOT = Path(__file__).resolve().parent.parent
#: the one module allowed to make a CSV writer
WRITER = ROOT / "hub" / "values.py"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+4420 7946 0000", "'+4420 7946 0000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-5", "'-5"),  # text from outside, even when it reads as a number
        ("Mug = cup", "Mug = cup"),
        ("'quoted", "'quoted"),
        ("", ""),
        (None, ""),
        (-3, -3),  # a number the hub holds is data
        (Decimal("-1.50"), Decimal("-1.50")),
        (12, 12),
        (True, "True"),
    ],
)
def test_csv_cell_quotes_text_that_starts_like_a_formula(value, cell):
    assert csv_cell(value) == cell


def test_every_formula_start_is_quoted():
    assert FORMULA_START == ("=", "+", "-", "@", "\t", "\r")
    for start in FORMULA_START:
        assert csv_cell(f"{start}x") == f"'{start}x"


def test_csv_text_reads_back_with_the_quote_and_numbers_as_written():
    text = csv_text(["sku", "=name"], [["=cmd|' /C calc'!A0", -2], [None, Decimal("3.10")]])
    assert list(csv.reader(io.StringIO(text))) == [
        ["sku", "'=name"],
        ["'=cmd|' /C calc'!A0", "-2"],
        ["", "3.10"],
    ]


def _writes_csv(tree: ast.AST) -> list[int]:
    """Lines that make a CSV writer (``csv.writer``, ``csv.DictWriter``, or either imported
    by name)."""
    found = []
    for node in ast.walk(tree):
        attribute = (
            isinstance(node, ast.Attribute)
            and node.attr in ("writer", "DictWriter")
            and isinstance(node.value, ast.Name)
            and node.value.id == "csv"
        )
        imported = (
            isinstance(node, ast.ImportFrom)
            and node.module == "csv"
            and bool({a.name for a in node.names} & {"writer", "DictWriter"})
        )
        if attribute or imported:
            found.append(node.lineno)
    return found


def test_no_csv_is_written_but_through_csv_text():
    offenders = []
    for package in ("hub", "connectors"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == WRITER or "tests" in path.relative_to(ROOT).parts:
                continue
            for line in _writes_csv(ast.parse(path.read_text(), str(path))):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert offenders == [], "write CSV with hub.values.csv_text (cells safe for spreadsheets)"


def test_the_scan_finds_a_writer():
    assert _writes_csv(ast.parse("import csv\nw = csv.writer(out)\n")) == [2]
    assert _writes_csv(ast.parse("from csv import DictWriter\n")) == [1]
