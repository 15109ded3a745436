"""The row's two descriptions, the dataclass the crawl fills and the Arrow schema the files
carry, say the same thing: the same columns, and types that agree."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime

import pyarrow as pa

from archiver import items
from archiver.items import COLUMNS, PARTITIONED_SCHEMA, SCHEMA, ListingEntry

# Hints the profile gives the pipelines; they are never written (see items.py).
NOT_COLUMNS = {"date_order", "count_fields", "rejected"}


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
