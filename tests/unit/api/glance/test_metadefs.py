"""The /v2/schemas/metadefs/... bodies (what Tempest and glanceclient read)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from shoal.api.glance.metadefs.schemas import METADEFS_SCHEMA_NAMES, metadefs_schema
from shoal.api.glance.schemas import schema_problem

#: Path name → the ``name`` in the body (what Tempest's MetadataSchemaTest asserts).
EXPECTED_NAMES = {
    "namespace": "namespace", "namespaces": "namespaces",
    "resource_type": "resource_type_association",
    "resource_types": "resource_type_associations",
    "object": "object", "objects": "objects", "property": "property",
    "properties": "properties", "tag": "tag", "tags": "tags",
}


@pytest.mark.parametrize("path_name", sorted(EXPECTED_NAMES))
def test_each_schema_carries_its_name(path_name: str) -> None:
    body = metadefs_schema(path_name)
    assert body is not None
    assert body["name"] == EXPECTED_NAMES[path_name]
    json.dumps(body)  # a JSON body


def test_the_served_names_and_unknown_ones() -> None:
    assert sorted(METADEFS_SCHEMA_NAMES) == sorted(EXPECTED_NAMES)
    for unknown in ("image", "", "namespace/", "NAMESPACE", "../image"):
        assert metadefs_schema(unknown) is None


def test_bodies_are_fresh() -> None:
    first = metadefs_schema("namespace")
    assert first is not None
    first["properties"].clear()
    again = metadefs_schema("namespace")
    assert again is not None and "visibility" in again["properties"]


def _arrays(schema: Any, where: str) -> Iterator[tuple[str, Any]]:
    if isinstance(schema, dict):
        if schema.get("type") == "array":
            yield where, schema
        for key, value in schema.items():
            yield from _arrays(value, f"{where}.{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _arrays(value, f"{where}[{index}]")


@pytest.mark.parametrize("path_name", sorted(EXPECTED_NAMES))
def test_glanceclient_can_build_arguments(path_name: str) -> None:
    """glanceclient reads ``type`` of each top-level property and of each array's items."""
    body = metadefs_schema(path_name)
    assert body is not None
    for name, prop in body["properties"].items():
        assert "type" in prop, f"{path_name}.{name}"
    for where, array in _arrays(body, path_name):
        assert isinstance(array.get("items"), dict) and "type" in array["items"], where


def test_namespace_schema_judges_bodies() -> None:
    schema = metadefs_schema("namespace")
    assert schema is not None
    good = {"namespace": "OS::Compute::Tempest", "display_name": "Tempest",
            "visibility": "public", "protected": True, "description": "d",
            "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "hw_"}]}
    assert schema_problem(schema, good) is None
    assert "required" in (schema_problem(schema, {"visibility": "public"}) or "")
    assert schema_problem(schema, {**good, "visibility": "shared"}) is not None
    assert schema_problem(schema, {**good, "namespace": "n" * 81}) is not None
    assert schema_problem(schema, {**good, "colour": "blue"}) is not None


def test_property_and_tag_schemas_judge_bodies() -> None:
    prop = metadefs_schema("property")
    tag = metadefs_schema("tag")
    assert prop is not None and tag is not None
    enum = ["xen", "qemu", "kvm"]
    assert schema_problem(prop, {"name": "hypervisor_type", "title": "Hypervisor",
                                 "type": "string", "enum": enum}) is None
    assert schema_problem(prop, {"name": "x", "title": "X", "type": "text"}) is not None
    assert schema_problem(prop, {"name": "x", "type": "string"}) is not None  # no title
    assert schema_problem(tag, {"name": "sample-tag1"}) is None
    assert schema_problem(tag, {"name": "t" * 256}) is not None
