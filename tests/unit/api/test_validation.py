"""The one JSON Schema path: each service's draft, formats and wording of the first error."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shoal.api import BadRequest
from shoal.api._validation import CINDER, GLANCE, KEYSTONE, Dialect

BOUNDED = {
    "type": "object",
    "properties": {
        "count": {"type": "integer", "minimum": 0, "maximum": 10},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3,
                 "uniqueItems": True},
        "id": {"type": "string", "format": "uuid"},
    },
    "required": ["count"],
    "additionalProperties": False,
}


def message(dialect: Dialect, instance: Any, schema: dict[str, Any] = BOUNDED) -> str:
    with pytest.raises(BadRequest) as caught:
        dialect.check(schema, instance, schema_name="thing")
    assert caught.value.http_status == 400
    return caught.value.message


@pytest.mark.parametrize(("instance", "reason"), [
    ({"count": -1}, "-1 is less than the minimum of 0"),
    ({"count": 11}, "11 is greater than the maximum of 10"),
    ({"count": 1, "tags": []}, "[] should be non-empty"),
    ({"count": 1, "tags": ["a", "b", "c", "d"]}, "['a', 'b', 'c', 'd'] is too long"),
    ({"count": 1, "tags": ["a", "a"]}, "['a', 'a'] has non-unique elements"),
])
def test_bounds_are_enforced_in_every_dialect(instance: dict[str, Any], reason: str) -> None:
    field = next(key for key in instance if key != "count" or len(instance) == 1)
    assert message(GLANCE, instance) == (
        f"Provided object does not match schema 'thing': {reason}")
    assert message(CINDER, instance) == (
        f"Invalid input for field/attribute {field}. Value: {instance[field]}. {reason}")
    assert message(KEYSTONE, instance) == f"Invalid input for field '{field}': {reason}"


def test_top_level_errors_are_the_reason_alone() -> None:
    assert message(CINDER, {}) == "'count' is a required property"
    assert message(KEYSTONE, {"count": 1, "x": 2}) == (
        "Additional properties are not allowed ('x' was unexpected)")
    assert message(GLANCE, []) == (
        "Provided object does not match schema 'thing': [] is not of type 'object'")


def test_keystone_names_the_whole_path() -> None:
    assert message(KEYSTONE, {"count": 1, "tags": [1]}) == (
        "Invalid input for field 'tags/0': 1 is not of type 'string'")
    assert message(CINDER, {"count": 1, "tags": [1]}) == (
        "Invalid input for field/attribute 0. Value: 1. 1 is not of type 'string'")


def test_formats_are_checked_by_cinder_and_keystone_only() -> None:
    bad = {"count": 1, "id": "nope"}
    assert GLANCE.problem(BOUNDED, bad) is None  # jsonschema.validate checks no format
    assert message(CINDER, bad) == (
        "Invalid input for field/attribute id. Value: nope. 'nope' is not a 'uuid'")
    assert message(KEYSTONE, bad) == "Invalid input for field 'id': 'nope' is not a 'uuid'"
    for dialect in (CINDER, KEYSTONE):
        assert dialect.problem(BOUNDED, {"count": 1,
                                         "id": "5E2A0B1C8D3F4A6B9C7D0E1F2A3B4C5D"}) is None
    stamp = {"type": "string", "format": "date-time"}
    assert KEYSTONE.problem(stamp, "2026-11-23T18:00:00Z") is None
    assert KEYSTONE.problem(stamp, "yesterday") == "'yesterday' is not a 'date-time'"


SIZE = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": 100}


def test_cinder_bounds_digit_strings_as_numbers() -> None:
    assert CINDER.problem(SIZE, "5") is None
    assert CINDER.problem(SIZE, "0") == "0 is less than the minimum of 1"
    assert CINDER.problem(SIZE, "101") == "101 is greater than the maximum of 100"
    assert CINDER.problem(SIZE, "9" * 5000) == "inf is greater than the maximum of 100"
    assert CINDER.problem(SIZE, "x") == "'x' does not match '^[0-9]+$'"
    assert GLANCE.problem({"minimum": 1}, "0") is None  # strings are no numbers elsewhere


def test_drafts_differ_on_whole_floats() -> None:
    integer = {"type": "integer"}
    assert CINDER.problem(integer, 2.0) == "2.0 is not of type 'integer'"  # draft 4
    assert GLANCE.problem(integer, 2.0) is None  # draft 2020-12
    assert GLANCE.problem({"enum": [0, 1]}, False) is not None  # bools are no integers


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(["count", "tags", "id", "x"]), inner,
                                      max_size=4),
                    max_leaves=8))
def test_any_document_gets_an_answer(instance: Any) -> None:
    for dialect in (GLANCE, CINDER, KEYSTONE):
        for schema in (BOUNDED, SIZE):
            problem = dialect.problem(schema, instance)
            assert problem is None or isinstance(problem, str)
