"""The JSON readers translators share (hub.values): what they accept, and the exact message
and path of what they refuse, which connectors' timelines show as they are."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hub.errors import TranslationError
from hub.values import (
    array_or_empty,
    code_key,
    json_array,
    json_object,
    json_objects,
    loads,
    nested,
    quantity,
    scalar_text,
)


def refused(reader, *args, **kwargs) -> tuple[str, str]:
    """The message of what ``reader`` refused (its path first, as a timeline shows it) and the
    path."""
    with pytest.raises(TranslationError) as caught:
        reader(*args, **kwargs)
    return caught.value.message, caught.value.path


def test_json_object_gives_the_object_itself_and_an_empty_one_for_null():
    billing = {"city": "Leeds"}
    assert json_object(billing, path="billing") is billing
    assert json_object(None, path="billing") == {}


@pytest.mark.parametrize(
    ("value", "kind"), [([], "list"), ("x", "str"), (0, "int"), (Decimal("1.5"), "Decimal")]
)
def test_json_object_refuses_anything_else_at_its_path(value, kind):
    assert refused(json_object, value, path="billing") == (
        f"billing: expected an object, got {kind}",
        "billing",
    )


def test_json_object_that_is_not_optional_refuses_null():
    assert refused(json_object, None, path="$", optional=False) == (
        "$: expected an object, got NoneType",
        "$",
    )
    assert json_object({}, path="$", optional=False) == {}


def test_json_objects_gives_the_array_itself_and_an_empty_one_for_null():
    items = loads(b'[{"sku": "MUG-1"}, {}]')
    assert json_objects(items, path="line_items") is items
    assert json_objects(None, path="line_items") == []
    assert json_objects([], path="line_items", optional=False) == []


def test_json_objects_refuses_a_non_array_and_names_the_entry_that_is_not_an_object():
    assert refused(json_objects, {"url": "x"}, path="line_items") == (
        "line_items: expected an array, got dict",
        "line_items",
    )
    assert refused(json_objects, None, path="orderItems", optional=False) == (
        "orderItems: expected an array, got NoneType",
        "orderItems",
    )
    assert refused(json_objects, [{}, {}, "MUG-1"], path="line_items") == (
        "line_items[2]: expected an object, got str",
        "line_items[2]",
    )
    # null as an entry is never an empty object, optional or not
    assert refused(json_objects, [None], path="fee_lines") == (
        "fee_lines[0]: expected an object, got NoneType",
        "fee_lines[0]",
    )


def test_json_array_leaves_its_entries_to_the_caller_but_refuses_a_non_array():
    mixed = [{"id": 1}, "odd", None]
    assert json_array(mixed, path="refunds") is mixed
    assert json_array(None, path="refunds") == []
    assert refused(json_array, {"id": 1}, path="refunds[0].line_items") == (
        "refunds[0].line_items: expected a JSON array, got dict",
        "refunds[0].line_items",
    )


@pytest.mark.parametrize("value", [None, {}, "activity", 3])
def test_array_or_empty_reads_anything_but_an_array_as_none(value):
    assert array_or_empty(value) == []
    kept = [1, "two"]
    assert array_or_empty(kept) is kept


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  1Z999AA1 ", "1Z999AA1"),
        (" ", None),
        (None, None),
        (42, "42"),
        (Decimal("4.50"), "4.50"),
        ({"code": "D"}, None),
        (["D"], None),
    ],
)
def test_scalar_text_trims_and_reads_an_object_or_array_as_no_text(value, expected):
    assert scalar_text(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(0, 0), (3, 3), (Decimal("2.0"), 2)])
def test_quantity_is_a_whole_non_negative_int(value, expected):
    got = quantity(value, path="line_items[0].quantity")
    assert got == expected and type(got) is int


@pytest.mark.parametrize(
    "value", [-1, True, Decimal("2.5"), Decimal("NaN"), "2", None, 2.0], ids=repr
)
def test_quantity_refuses_anything_else_with_the_value_it_saw(value):
    assert refused(quantity, value, path="line_items[0].quantity") == (
        f"line_items[0].quantity: not a quantity: {value!r}",
        "line_items[0].quantity",
    )


def test_nested_reads_down_through_objects():
    window = loads(b'{"window": {"ends": "2026-12-08T18:00:00", "begins": null}}')
    assert nested(window, "window", "ends") == "2026-12-08T18:00:00"
    assert nested(window, "window") == {"ends": "2026-12-08T18:00:00", "begins": None}
    assert nested(window) is window  # no keys: the value itself


@pytest.mark.parametrize(
    "data",
    [
        {"window": {"begins": "2026-12-08T09:00:00"}},  # the key is missing
        {"window": None},
        {"window": "2026-12-08"},  # a scalar where an object belongs
        {"window": [{"ends": "2026-12-08T18:00:00"}]},  # an array is not walked into
        None,
        "window",
    ],
    ids=repr,
)
def test_nested_is_none_where_a_step_is_missing_or_not_an_object(data):
    assert nested(data, "window", "ends") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1Z999AA10123456784", "1Z999AA10123456784"),
        (" 1z 999 aa1\t0123\n456784 ", "1Z999AA10123456784"),
        ("794843185271", "794843185271"),
        (794843185271, "794843185271"),
        (None, ""),
        ("", ""),
        ("  ", ""),
    ],
    ids=repr,
)
def test_code_key_drops_whitespace_and_upper_cases(value, expected):
    assert code_key(value) == expected
