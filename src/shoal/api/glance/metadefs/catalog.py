"""Glance's metadata definitions catalog (``/v2/metadefs/...``): the rules, no storage.

A *namespace* is one document holding everything defined in it: its attributes, its
resource type associations, property definitions, objects and tags. The image service
stores each namespace whole (:meth:`Namespace.to_document` / :meth:`Namespace.from_document`,
a JSON-ready dict) under its unique name and runs the functions here on it; every change is
a new :class:`Namespace` to save in place of the old one (or under its new name).

=====================================================  ==========================  =======
request                                                function                    answer
=====================================================  ==========================  =======
``POST /metadefs/namespaces``                          :func:`parse_namespace`     201
``PUT /metadefs/namespaces/{ns}``                      :func:`update_namespace`    200
``DELETE /metadefs/namespaces/{ns}``                   :func:`check_delete`        204
``POST .../{ns}/resource_types``                       :func:`add_association`     201
``DELETE .../{ns}/resource_types/{name}``              :func:`remove_association`  204
``POST .../{ns}/properties``                           :func:`add_property`        201
``PUT .../{ns}/properties/{name}``                     :func:`update_property`     200
``DELETE .../{ns}/properties/{name}``                  :func:`remove_property`     204
``POST .../{ns}/objects``                              :func:`add_object`          201
``PUT .../{ns}/objects/{name}``                        :func:`update_object`       200
``DELETE .../{ns}/objects/{name}``                     :func:`remove_object`       204
``POST .../{ns}/tags`` (``{"tags": [...]}``)           :func:`replace_tags`        201
``POST .../{ns}/tags/{name}`` (no body)                :func:`add_tag`             201
``PUT .../{ns}/tags/{name}``                           :func:`update_tag`          200
``DELETE .../{ns}/tags/{name}`` / ``.../tags``         :func:`remove_tag` / clear  204
=====================================================  ==========================  =======

Policy (Glance's defaults): anyone reads public namespaces, a project reads its own
(:func:`can_read`; any other is 404), only admins write (:func:`check_write`, 403).
A protected namespace cannot be deleted (403); a duplicate name in a namespace is 409, a
missing one 404; a body that does not fit its schema (:mod:`.metadefs`) is 400. A duplicate
namespace name is the storage's check (409). Names are 1..80 characters (tags 1..255)
without ``/``, so that each can be addressed in a URL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from shoal.api._errors import BadRequest
from shoal.api.glance.metadefs.schemas import metadefs_schema
from shoal.api.glance.schemas import schema_problem, schema_refusal
from shoal.errors import AlreadyExists, NotFound, PermissionDenied
from shoal.services.image.records import as_utc

__all__ = [
    "RESOURCE_TYPES",
    "Namespace",
    "add_association",
    "add_object",
    "add_property",
    "add_tag",
    "can_read",
    "check_delete",
    "check_write",
    "clear_tags",
    "parse_namespace",
    "remove_association",
    "remove_object",
    "remove_property",
    "remove_tag",
    "replace_tags",
    "update_namespace",
    "update_object",
    "update_property",
    "update_tag",
]

#: The resource types ``GET /v2/metadefs/resource_types`` lists (those Glance's own
#: catalog associates namespaces with). Associating another name is allowed too.
RESOURCE_TYPES: Final = (
    "OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Flavor", "OS::Nova::Aggregate",
    "OS::Nova::Server",
)
_NAMESPACE_FIELDS: Final = ("display_name", "description", "visibility", "protected", "owner")


def _stamp(now: datetime) -> str:
    return as_utc(now).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass(frozen=True)
class Namespace:
    """One namespace and everything in it (treat the dicts as read-only).

    Attributes:
        namespace: the unique name.
        owner: the owning project's id.
        visibility: ``public`` or ``private``.
        associations: resource type name → ``{name, prefix, properties_target,
            created_at, updated_at}`` (prefix and target may be absent).
        properties: property name → its definition (``title``, ``type``, ...; no name).
        objects: object name → ``{name, description, required, properties, created_at,
            updated_at}``.
        tags: tag name → ``{name, created_at, updated_at}``.
        created_at, updated_at: ISO 8601 UTC, like ``2026-11-23T18:00:00Z``.
    """

    namespace: str
    owner: str
    visibility: str = "private"
    protected: bool = False
    display_name: str | None = None
    description: str | None = None
    associations: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    properties: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    objects: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    tags: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""

    def to_document(self) -> dict[str, Any]:
        """A JSON-ready dict to store; :meth:`from_document` reads it back."""
        document = dataclasses.asdict(self)
        for key in ("associations", "properties", "objects", "tags"):
            document[key] = {k: dict(v) for k, v in getattr(self, key).items()}
        return document

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Namespace:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in document.items() if k in names})

    def touched(self, now: datetime, **changes: Any) -> Namespace:
        """This namespace with ``changes`` and ``updated_at`` = ``now``."""
        return dataclasses.replace(self, updated_at=_stamp(now), **changes)


# --- policy -----------------------------------------------------------------------------


def can_read(namespace: Namespace, *, project_id: str | None, is_admin: bool) -> bool:
    """Whether the caller may see ``namespace`` (else it is 404 to them)."""
    return is_admin or namespace.visibility == "public" or namespace.owner == project_id


def check_write(*, is_admin: bool) -> None:
    """Raises PermissionDenied (403) unless the caller is an admin."""
    if not is_admin:
        raise PermissionDenied("Only admins may change metadata definitions.")


def check_delete(namespace: Namespace) -> None:
    """Raises PermissionDenied (403) when ``namespace`` is protected."""
    if namespace.protected:
        raise PermissionDenied(f"Namespace {namespace.namespace} is protected and cannot be "
                               f"deleted: set protected to false first.")


# --- bodies -----------------------------------------------------------------------------


def _fit(schema_name: str, body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise BadRequest(f"The {what} must be a JSON object.")
    schema = metadefs_schema(schema_name)
    assert schema is not None
    problem = schema_problem(schema, body)
    if problem is not None:
        raise schema_refusal(schema["name"], problem)
    return dict(body)


def _name(value: Any, what: str, longest: int = 80) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= longest or "/" in value:
        raise BadRequest(f"A {what} name must be 1 to {longest} characters without '/'.")
    return value


def _without(body: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in keys}


def parse_namespace(body: Any, *, project_id: str | None, now: datetime) -> Namespace:
    """The namespace a ``POST /metadefs/namespaces`` body describes, with what it nests.

    ``visibility`` defaults to private, ``protected`` to false, ``owner`` to the caller's
    project. Nested ``resource_type_associations``, ``properties``, ``objects`` and ``tags``
    are created with it.

    Raises:
        BadRequest: the body does not fit the namespace schema or a nested part its own;
            a name repeats (400).
    """
    fields = _fit("namespace", body, "namespace")
    stamp = _stamp(now)
    namespace = Namespace(
        namespace=_name(fields["namespace"], "namespace"),
        owner=fields.get("owner") or project_id or "",
        visibility=fields.get("visibility", "private"),
        protected=bool(fields.get("protected", False)),
        display_name=fields.get("display_name"),
        description=fields.get("description"),
        created_at=stamp, updated_at=stamp,
    )
    try:
        for association in fields.get("resource_type_associations", ()):
            namespace = add_association(namespace, association, now)[0]
        for name, definition in fields.get("properties", {}).items():
            namespace = add_property(namespace, {**definition, "name": name}, now)[0]
        for item in fields.get("objects", ()):
            namespace = add_object(namespace, item, now)[0]
        for tag in fields.get("tags", ()):
            namespace = add_tag(namespace, tag.get("name") if isinstance(tag, Mapping)
                                else None, now)[0]
    except AlreadyExists as exc:
        raise BadRequest(str(exc)) from exc
    return namespace


def update_namespace(namespace: Namespace, body: Any, now: datetime) -> Namespace:
    """``namespace`` with the attributes a ``PUT`` body gives (it may rename it).

    Attributes the body leaves out keep their values; nested parts are not touched here.

    Raises:
        BadRequest: the body does not fit the namespace schema (400).
    """
    fields = _fit("namespace", body, "namespace")
    changes: dict[str, Any] = {k: fields[k] for k in _NAMESPACE_FIELDS if k in fields}
    changes["namespace"] = _name(fields["namespace"], "namespace")
    if "protected" in changes:
        changes["protected"] = bool(changes["protected"])
    return namespace.touched(now, **changes)


# --- nested parts ---------------------------------------------------------------------------


def _added(items: Mapping[str, Mapping[str, Any]], name: str, item: Mapping[str, Any],
           what: str, namespace: str) -> dict[str, Mapping[str, Any]]:
    if name in items:
        raise AlreadyExists(f"A {what} named {name} already exists in namespace {namespace}.")
    return {**items, name: item}


def _found(items: Mapping[str, Mapping[str, Any]], name: str, what: str,
           namespace: str) -> Mapping[str, Any]:
    if name not in items:
        raise NotFound(f"No {what} named {name} in namespace {namespace}.")
    return items[name]


def _renamed(items: Mapping[str, Mapping[str, Any]], old: str, new: str,
             item: Mapping[str, Any], what: str, namespace: str
             ) -> dict[str, Mapping[str, Any]]:
    _found(items, old, what, namespace)
    rest = {k: v for k, v in items.items() if k != old}
    return _added(rest, new, item, what, namespace)


def add_association(namespace: Namespace, body: Any, now: datetime
                    ) -> tuple[Namespace, Mapping[str, Any]]:
    """``namespace`` associated with a resource type; (namespace, the association).

    Raises:
        BadRequest: bad body (400). AlreadyExists: already associated (409).
    """
    fields = _fit("resource_type", body, "resource type association")
    name = _name(fields.get("name"), "resource type")
    stamp = _stamp(now)
    association = {**_without(fields, "created_at", "updated_at"), "created_at": stamp,
                   "updated_at": stamp}
    associations = _added(namespace.associations, name, association, "resource type",
                          namespace.namespace)
    return namespace.touched(now, associations=associations), association


def remove_association(namespace: Namespace, name: str, now: datetime) -> Namespace:
    """Raises NotFound (404) when ``name`` is not associated."""
    _found(namespace.associations, name, "resource type", namespace.namespace)
    rest = {k: v for k, v in namespace.associations.items() if k != name}
    return namespace.touched(now, associations=rest)


def _property_body(body: Any) -> tuple[str, dict[str, Any]]:
    fields = _fit("property", body, "property")
    return _name(fields["name"], "property"), _without(fields, "name")


def add_property(namespace: Namespace, body: Any, now: datetime
                 ) -> tuple[Namespace, Mapping[str, Any]]:
    """``namespace`` with a new property definition; (namespace, its definition).

    Raises:
        BadRequest: the body lacks ``name``, ``title`` or ``type`` or is otherwise bad (400).
        AlreadyExists: the name is taken (409).
    """
    name, definition = _property_body(body)
    properties = _added(namespace.properties, name, definition, "property",
                        namespace.namespace)
    return namespace.touched(now, properties=properties), definition


def update_property(namespace: Namespace, name: str, body: Any, now: datetime
                    ) -> tuple[Namespace, str, Mapping[str, Any]]:
    """The definition replaced by the body (which may rename it); (namespace, name, it).

    Raises:
        NotFound: no such property (404). BadRequest (400). AlreadyExists: renamed onto
            another property (409).
    """
    new_name, definition = _property_body(body)
    properties = _renamed(namespace.properties, name, new_name, definition, "property",
                          namespace.namespace)
    return namespace.touched(now, properties=properties), new_name, definition


def remove_property(namespace: Namespace, name: str, now: datetime) -> Namespace:
    """Raises NotFound (404) for a missing property."""
    _found(namespace.properties, name, "property", namespace.namespace)
    rest = {k: v for k, v in namespace.properties.items() if k != name}
    return namespace.touched(now, properties=rest)


def _object_body(body: Any, created_at: str, now: datetime) -> tuple[str, dict[str, Any]]:
    fields = _fit("object", body, "object")
    name = _name(fields["name"], "object")
    for key, definition in fields.get("properties", {}).items():
        _property_body({**definition, "name": key})
    item = {"name": name, "description": fields.get("description"),
            "required": list(fields.get("required", [])),
            "properties": dict(fields.get("properties", {})),
            "created_at": created_at, "updated_at": _stamp(now)}
    return name, item


def add_object(namespace: Namespace, body: Any, now: datetime
               ) -> tuple[Namespace, Mapping[str, Any]]:
    """``namespace`` with a new object; (namespace, the object).

    Raises:
        BadRequest (400). AlreadyExists: the name is taken (409).
    """
    name, item = _object_body(body, _stamp(now), now)
    objects = _added(namespace.objects, name, item, "object", namespace.namespace)
    return namespace.touched(now, objects=objects), item


def update_object(namespace: Namespace, name: str, body: Any, now: datetime
                  ) -> tuple[Namespace, Mapping[str, Any]]:
    """The object replaced by the body (which may rename it); (namespace, the object).

    Raises:
        NotFound (404). BadRequest (400). AlreadyExists: renamed onto another object (409).
    """
    old = _found(namespace.objects, name, "object", namespace.namespace)
    new_name, item = _object_body(body, str(old.get("created_at", "")), now)
    objects = _renamed(namespace.objects, name, new_name, item, "object",
                       namespace.namespace)
    return namespace.touched(now, objects=objects), item


def remove_object(namespace: Namespace, name: str, now: datetime) -> Namespace:
    """Raises NotFound (404) for a missing object."""
    _found(namespace.objects, name, "object", namespace.namespace)
    rest = {k: v for k, v in namespace.objects.items() if k != name}
    return namespace.touched(now, objects=rest)


def _tag(name: Any, created_at: str, now: datetime) -> dict[str, Any]:
    return {"name": _name(name, "tag", 255), "created_at": created_at,
            "updated_at": _stamp(now)}


def add_tag(namespace: Namespace, name: Any, now: datetime
            ) -> tuple[Namespace, Mapping[str, Any]]:
    """``namespace`` with tag ``name``; (namespace, the tag).

    Raises:
        BadRequest: a bad name (400). AlreadyExists: the tag exists (409).
    """
    tag = _tag(name, _stamp(now), now)
    tags = _added(namespace.tags, tag["name"], tag, "tag", namespace.namespace)
    return namespace.touched(now, tags=tags), tag


def replace_tags(namespace: Namespace, body: Any, now: datetime, *, append: bool = False
                 ) -> tuple[Namespace, list[Mapping[str, Any]]]:
    """The tags of a ``{"tags": [{"name": ...}, ...]}`` body, in place of the old ones
    (added to them with ``append``, Glance's ``X-Openstack-Append: True``).

    Raises:
        BadRequest: a bad body or name (400). AlreadyExists: a name repeats (409).
    """
    if not isinstance(body, Mapping) or not isinstance(body.get("tags"), list):
        raise BadRequest('The body must be {"tags": [{"name": ...}, ...]}.')
    result = dataclasses.replace(namespace, tags=dict(namespace.tags) if append else {})
    added = []
    for item in body["tags"]:
        if not isinstance(item, Mapping):
            raise BadRequest('Each tag must be {"name": ...}.')
        result, tag = add_tag(result, item.get("name"), now)
        added.append(tag)
    return result, added


def update_tag(namespace: Namespace, name: str, body: Any, now: datetime
               ) -> tuple[Namespace, Mapping[str, Any]]:
    """Tag ``name`` renamed as the body says; (namespace, the tag).

    Raises:
        NotFound (404). BadRequest (400). AlreadyExists: the new name exists (409).
    """
    old = _found(namespace.tags, name, "tag", namespace.namespace)
    fields = _fit("tag", body, "tag")
    tag = _tag(fields.get("name"), str(old.get("created_at", "")), now)
    tags = _renamed(namespace.tags, name, tag["name"], tag, "tag", namespace.namespace)
    return namespace.touched(now, tags=tags), tag


def remove_tag(namespace: Namespace, name: str, now: datetime) -> Namespace:
    """Raises NotFound (404) for a missing tag."""
    _found(namespace.tags, name, "tag", namespace.namespace)
    return namespace.touched(now, tags={k: v for k, v in namespace.tags.items() if k != name})


def clear_tags(namespace: Namespace, now: datetime) -> Namespace:
    """``namespace`` without tags (``DELETE .../tags``)."""
    return namespace.touched(now, tags={})
