"""The row's two descriptions, the dataclass the crawl fills and the Arrow schema the files
carry, say the same thing: the same columns, and types that agree."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from archiver import items
from archiver.items import (
    COLUMNS,
    PARTITIONED_SCHEMA,
    SCHEMA,
    ListingEntry,
    column_fits,
    row_problem,
)

# Hints the profile gives the pipelines; they are never written (see items.py).
NOT_COLUMNS = {"date_order", "count_fields", "rejected", "stated"}


def arrow_type_for(hint: object) -> set[pa.DataType]:
    """The Arrow types a dataclass annotation may be stored as."""
    if isinstance(hint, types.UnionType):  # "X | None": the column is nullable X
        [hint] = [a for a in typing.get_args(hint) if a is not type(None)]
    base = hint
    origin = typing.get_origin(base) or base
    if origin is dict:
        _, value = typing.get_args(base)
        return {pa.map_(pa.string(), pa.string() if value is str else pa.int64())}
    return {
        str: {pa.string()},
        int: {pa.int64(), pa.int32()},
        datetime: {items.UTC_TIMESTAMP},
    }[origin]


def test_the_dataclass_and_the_schema_have_the_same_columns() -> None:
    fields = {f.name for f in dataclasses.fields(ListingEntry)} - NOT_COLUMNS
    assert fields == set(SCHEMA.names) == set(COLUMNS)


def test_each_columns_type_agrees_with_its_annotation() -> None:
    hints = typing.get_type_hints(ListingEntry)
    for field in SCHEMA:
        assert field.type in arrow_type_for(hints[field.name]), field.name


def test_non_nullable_columns_are_required_or_always_set() -> None:
    """A column the schema calls non-nullable has no None default in the dataclass, except
    the ones the pipelines always fill (entry_id) or drop the row without (title)."""
    defaults = {f.name: f.default for f in dataclasses.fields(ListingEntry)}
    always_filled = {"entry_id", "title", "source"}
    for field in SCHEMA:
        if not field.nullable and field.name not in always_filled:
            assert defaults[field.name] is dataclasses.MISSING, field.name


def test_the_partitioned_schema_leaves_out_only_the_partition_key() -> None:
    assert PARTITIONED_SCHEMA.names == [n for n in SCHEMA.names if n != "snapshot_id"]


GOOD = {
    "snapshot_id": "s", "source": "Blog", "entry_id": "0" * 16, "title": "T", "position": 1,
    "page_url": "https://a.example/", "fetched_at": datetime(2025, 1, 1, tzinfo=UTC),
    "page_time": datetime(2025, 1, 1, tzinfo=UTC),
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({}, None),
        ({"views": 2**63 - 1, "extra": {"a": "b"}, "counts": {"a": 0}}, None),
        ({"views": "many"}, "column 'views' (int64) cannot hold 'many'"),
        ({"views": True}, "column 'views' (int64) cannot hold True"),
        ({"views": 2**63}, "column 'views' (int64) cannot hold 9223372036854775808"),
        ({"position": 2**31}, "column 'position' (int32) cannot hold 2147483648"),
        ({"title": None}, "column 'title' cannot be null"),
        ({"fetched_at": datetime(2025, 1, 1)}, "column 'fetched_at' (timestamp) cannot hold"),
        ({"extra": {"a": 1}}, "column 'extra' (map_string) cannot hold {'a': 1}"),
        ({"counts": {"a": "1"}}, "column 'counts' (map_int64) cannot hold {'a': '1'}"),
        ({"url": b"https://a.example/"}, "column 'url' (string) cannot hold b'https://a"),
    ],
)
def test_a_row_of_the_wrong_type_is_named_before_it_is_written(change, problem) -> None:
    found = row_problem((GOOD | change).get)
    assert found == problem if problem is None else found.startswith(problem)


AWARE, NAIVE = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 1)


class Text(str):
    pass


@pytest.mark.parametrize(
    ("kind", "values", "fits"),
    [
        ("string", ["a", None, Text("b")], True),
        ("string", ["a", b"b"], False),
        ("int64", [1, None, 2**63 - 1], True),
        ("int64", [1, 1.5], False),
        ("int64", [True], False),
        ("int64", [2**63], False),
        ("int32", [2**31], False),
        ("timestamp", [AWARE, None], True),
        ("timestamp", [AWARE, NAIVE], False),
        ("map_string", [{"a": "b"}, None, {}], True),
        ("map_string", [{"a": 1}], False),
        ("map_int64", [{"a": 1}], True),
        ("map_int64", [{"a": 1.5}], False),
    ],
)
def test_a_column_fits_its_kind_only_when_every_value_does(kind, values, fits) -> None:
    assert column_fits(kind, values) is fits
