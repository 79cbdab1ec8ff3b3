"""marshmallow fields for values that end up in the tables, so that what a schema accepts the
database can store: ids that fit a BIGINT, whole numbers that fit an INTEGER, text no longer
than its column and free of what PostgreSQL refuses in text (NUL, lone surrogates), times
that exist in UTC. Request schemas at the edges (the API, warehouse feeds) build on these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import ValidationError, fields, validate

from hub.errors import TranslationError
from hub.values import utc

#: the largest id a BIGINT (PostgreSQL) or INTEGER (SQLite) primary key holds
MAX_ID = 2**63 - 1
#: the range of an INTEGER column on PostgreSQL
MIN_INT, MAX_INT = -(2**31), 2**31 - 1


class Whole(fields.Integer):
    """A JSON whole number (never a boolean, a string or a fraction) within ``min``..``max``
    (by default what an INTEGER column holds)."""

    def __init__(self, *, min: int = MIN_INT, max: int = MAX_INT, **kwargs: Any):
        between = f"a whole number from {min} to {max}"
        kwargs.setdefault("validate", validate.Range(min=min, max=max, error=between))
        kwargs["error_messages"] = {
            "invalid": "must be a whole number",
            "too_large": "too large",
            **kwargs.get("error_messages", {}),
        }
        super().__init__(strict=True, **kwargs)


class Id(Whole):
    """A row id: a whole number from 1 to :data:`MAX_ID`."""

    def __init__(self, **kwargs: Any):
        super().__init__(min=1, max=MAX_ID, **kwargs)


def clean_text(value: str) -> str | None:
    """Why a string cannot be stored as text, or None when it can."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (no lone surrogates)"
    return None


class Text(fields.String):
    """A string of at most ``max_length`` characters that every database can store as text.
    ``blank=False`` (the default) refuses an empty or all-space string. Leading and trailing
    space is removed."""

    default_error_messages = {"invalid": "must be a string", "blank": "must not be empty"}

    def __init__(self, max_length: int | None = None, *, blank: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_length, self.blank = max_length, blank

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        problem = clean_text(text)
        if problem:
            raise ValidationError(problem)
        if not text and not self.blank:
            raise self.make_error("blank")
        if self.max_length is not None and len(text) > self.max_length:
            raise ValidationError(f"at most {self.max_length} characters")
        return text


def column_length(attribute: Any) -> int | None:
    """The declared length of a mapped string column (``OrderRow.number`` -> 100)."""
    return getattr(attribute.property.columns[0].type, "length", None)


def column_text(attribute: Any, **kwargs: Any) -> Text:
    """A :class:`Text` sized to a mapped column."""
    return Text(column_length(attribute), **kwargs)


class UtcTime(fields.Field):
    """An ISO 8601 time (or a datetime), as an aware UTC datetime; a time with no offset is
    UTC. A time that does not exist in UTC (year 9999 with a negative offset) is refused."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime | None:
        if not isinstance(value, str | datetime):
            raise ValidationError("must be an ISO 8601 time")
        try:
            return utc(value)
        except TranslationError:
            raise ValidationError(f"not an ISO 8601 time: {value!r}") from None
        except OverflowError:
            raise ValidationError(f"{value!r} is beyond the last time UTC can hold") from None


def first_problem(exc: ValidationError, prefix: str = "") -> tuple[str, str, dict[str, list[str]]]:
    """A schema's refusal as (the first bad field's path, its message, every path's messages);
    an error of the whole body has the path ``body``."""
    problems = flatten(exc.messages, prefix)
    name, messages = next(iter(problems.items()), ("", ["invalid"]))
    return name or "body", messages[0], problems


def flatten(messages: Any, path: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error messages as ``{"parcels[0].carrier": [...]}``; errors of a
    whole object (``_schema``) go to its own path (``""`` for the body)."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                sub = path
            elif isinstance(key, int):
                sub = f"{path}[{key}]"
            else:
                sub = f"{path}.{key}" if path else str(key)
            for name, found in flatten(value, sub).items():
                out.setdefault(name, []).extend(found)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[path] = list(messages)
    elif isinstance(messages, list):
        for item in messages:
            for name, found in flatten(item, path).items():
                out.setdefault(name, []).extend(found)
    else:
        out[path] = [str(messages)]
    return out
