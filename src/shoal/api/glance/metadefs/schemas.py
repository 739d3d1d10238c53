"""The JSON schemas of Glance's metadata definitions (``/v2/schemas/metadefs/...``).

Metadata definitions ("metadefs") describe the properties an operator suggests for images,
volumes, flavors...: *namespaces* grouping *properties*, *objects* (named sets of
properties) and *tags*, each namespace associated with *resource types* (``OS::Glance::Image``
...). Glance serves a schema for each of them and for each collection; clients read them
without touching any metadefs data: glanceclient builds the arguments of its ``md-*``
commands from the ``namespace`` and ``resource_type`` schemas, and Tempest checks each
schema's ``name``.

=============================  ================================  ==========================
``GET /v2/schemas/metadefs/``  ``name`` of the body               items
=============================  ================================  ==========================
``namespace``                  ``namespace``                      one namespace
``namespaces``                 ``namespaces``                     a page of namespaces
``resource_type``              ``resource_type_association``      one association
``resource_types``             ``resource_type_associations``     a namespace's associations
``object``                     ``object``                         one object
``objects``                    ``objects``                        a page of objects
``property``                   ``property``                       one property definition
``properties``                 ``properties``                     a name → definition map
``tag``                        ``tag``                            one tag
``tags``                       ``tags``                           a page of tags
=============================  ================================  ==========================

:func:`metadefs_schema` answers one of these by its path name (None for any other name,
which the route answers with 404). Every array property has an ``items`` schema with a
``type`` and every property a ``type``: glanceclient turns each into a command-line
argument and reads both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

__all__ = ["METADEFS_SCHEMA_NAMES", "metadefs_schema"]

#: Longest namespace, object, property and resource type name (Glance's columns).
_NAME_MAX: Final = 80
#: Longest tag name.
_TAG_NAME_MAX: Final = 255
#: Longest namespace description.
_DESCRIPTION_MAX: Final = 500
#: JSON types a property definition may declare.
_PROPERTY_TYPES: Final = ("array", "boolean", "integer", "number", "object", "string", "null")


def _text(description: str, max_length: int | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "description": description, **extra}
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema


def _stamps() -> dict[str, Any]:
    return {
        "created_at": _text("When it was created (ISO 8601, UTC).", format="date-time",
                            readOnly=True),
        "updated_at": _text("When it last changed (ISO 8601, UTC).", format="date-time",
                            readOnly=True),
    }


def _links(*rels: str) -> list[dict[str, str]]:
    return [{"rel": rel, "href": "{" + key + "}"}
            for rel, key in (("self", "self"), ("describedby", "schema"),
                             ("first", "first"), ("next", "next"))
            if rel in rels]


def _property_definition() -> dict[str, Any]:
    """A property definition: a JSON-schema fragment with a title (what metadefs store)."""
    whole = {"type": "integer", "minimum": 0}
    return {
        "type": "object",
        "required": ["title", "type"],
        "properties": {
            "name": _text("The property's key, unique in its namespace.", _NAME_MAX),
            "title": _text("A human-readable name."),
            "description": _text("What the property means."),
            "type": {"type": "string", "description": "JSON type of the property's values.",
                     "enum": list(_PROPERTY_TYPES)},
            "operators": {"type": "array", "description": "Operators a value may use "
                          "(e.g. <in>, <all-in>) when matching hosts.",
                          "items": {"type": "string"}},
            "default": {"type": ["string", "number", "integer", "boolean", "array", "object",
                                 "null"],
                        "description": "Value suggested when none is given."},
            "readonly": {"type": "boolean",
                         "description": "When true, clients should not change the value."},
            "minimum": {"type": "number", "description": "Smallest allowed number."},
            "maximum": {"type": "number", "description": "Largest allowed number."},
            "enum": {"type": "array", "description": "The only allowed values.",
                     "items": {"type": "string"}},
            "pattern": _text("Regular expression string values must match.",
                             format="regex"),
            "minLength": {**whole, "description": "Fewest characters of a string."},
            "maxLength": {**whole, "description": "Most characters of a string."},
            "items": {"type": "object", "description": "Schema of the items of an array.",
                      "properties": {
                          "type": {"type": "string", "enum": list(_PROPERTY_TYPES)},
                          "enum": {"type": "array", "items": {"type": "string"}},
                      }},
            "uniqueItems": {"type": "boolean", "default": False,
                            "description": "When true, array items must differ."},
            "minItems": {**whole, "description": "Fewest items of an array."},
            "maxItems": {**whole, "description": "Most items of an array."},
            "additionalItems": {"type": "boolean",
                                "description": "Whether an array may hold items beyond "
                                               "those described."},
        },
    }


def _property_map() -> dict[str, Any]:
    return {"type": "object", "description": "Property definitions by name.",
            "additionalProperties": _property_definition()}


def _association_properties() -> dict[str, Any]:
    return {
        "name": _text("The resource type, e.g. OS::Glance::Image.", _NAME_MAX),
        "prefix": _text("Prefix the namespace's property names take on this resource "
                        "type (e.g. hw_ for image properties).", _NAME_MAX),
        "properties_target": _text("Where on the resource the properties apply (e.g. "
                                   "image or volume metadata).", _NAME_MAX),
        **_stamps(),
    }


def _tag_properties() -> dict[str, Any]:
    return {"name": _text("The tag.", _TAG_NAME_MAX), **_stamps()}


def _object_properties() -> dict[str, Any]:
    return {
        "name": _text("The object's name, unique in its namespace.", _NAME_MAX),
        "description": _text("What the object describes."),
        "required": {"type": "array", "description": "Names of the properties an instance "
                     "of the object must have (each once).", "items": {"type": "string"},
                     "uniqueItems": True},
        "properties": _property_map(),
        "schema": _text("The URL of the object schema.", readOnly=True),
        "self": _text("The object's URL.", readOnly=True),
        **_stamps(),
    }


def namespace_schema() -> dict[str, Any]:
    """``GET /v2/schemas/metadefs/namespace``."""
    return {
        "name": "namespace",
        "required": ["namespace"],
        "additionalProperties": False,
        "properties": {
            "namespace": _text("The namespace's unique name, e.g. OS::Compute::Libvirt.",
                               _NAME_MAX),
            "display_name": _text("A human-readable name.", _NAME_MAX),
            "description": _text("What the namespace is for.", _DESCRIPTION_MAX),
            "visibility": {"type": "string", "description": "Who may see the namespace.",
                           "enum": ["public", "private"]},
            "protected": {"type": "boolean",
                          "description": "When true the namespace cannot be deleted."},
            "owner": _text("The owning project's id.", 255),
            "resource_type_associations": {
                "type": "array", "description": "The resource types it applies to.",
                "items": {"type": "object", "properties": _association_properties()},
            },
            "properties": _property_map(),
            "objects": {"type": "array", "description": "The namespace's objects.",
                        "items": {"type": "object", "properties": _object_properties()}},
            "tags": {"type": "array", "description": "The namespace's tags.",
                     "items": {"type": "object", "properties": _tag_properties()}},
            "schema": _text("The URL of this schema.", readOnly=True),
            "self": _text("The namespace's URL.", readOnly=True),
            **_stamps(),
        },
        "links": _links("self", "describedby"),
    }


def _single(name: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"name": name, "required": required, "additionalProperties": False,
            "properties": properties}


def association_schema() -> dict[str, Any]:
    """``GET /v2/schemas/metadefs/resource_type``."""
    return _single("resource_type_association", _association_properties(), ["name"])


def object_schema() -> dict[str, Any]:
    """``GET /v2/schemas/metadefs/object``."""
    return {**_single("object", _object_properties(), ["name"]),
            "links": _links("self", "describedby")}


def property_schema() -> dict[str, Any]:
    """``GET /v2/schemas/metadefs/property``: a named property definition."""
    definition = _property_definition()
    return _single("property", definition["properties"], ["name", "title", "type"])


def tag_schema() -> dict[str, Any]:
    """``GET /v2/schemas/metadefs/tag``."""
    return _single("tag", _tag_properties(), ["name"])


def _page(name: str, item: dict[str, Any]) -> dict[str, Any]:
    """A collection's schema: the items under ``name`` and the paging links."""
    return {
        "name": name,
        "properties": {
            name: {"type": "array", "items": {"type": "object", **item}},
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": _links("first", "next", "describedby"),
    }


def _properties_page() -> dict[str, Any]:
    return {
        "name": "properties",
        "properties": {
            "properties": {**_property_map(), "description": "Property definitions by name."},
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": _links("first", "next", "describedby"),
    }


_SCHEMAS: Final[dict[str, Callable[[], dict[str, Any]]]] = {
    "namespace": namespace_schema,
    "namespaces": lambda: _page("namespaces", namespace_schema()),
    "resource_type": association_schema,
    "resource_types": lambda: _page("resource_type_associations", association_schema()),
    "object": object_schema,
    "objects": lambda: _page("objects", object_schema()),
    "property": property_schema,
    "properties": _properties_page,
    "tag": tag_schema,
    "tags": lambda: _page("tags", tag_schema()),
}

#: The names ``GET /v2/schemas/metadefs/{name}`` answers.
METADEFS_SCHEMA_NAMES: Final = tuple(_SCHEMAS)


def metadefs_schema(name: str) -> dict[str, Any] | None:
    """The body of ``GET /v2/schemas/metadefs/{name}`` (a fresh dict), None if unknown."""
    build = _SCHEMAS.get(name)
    return None if build is None else build()
