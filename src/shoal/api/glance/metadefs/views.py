"""Metadata definitions (:mod:`.catalog`) rendered as Glance's JSON bodies.

Links are relative to the service root, like the image links: a namespace's ``self`` is
``/v2/metadefs/namespaces/{namespace}`` and its ``schema`` ``/v2/schemas/metadefs/namespace``;
objects carry ``self`` and ``schema`` too; collections carry ``first`` (namespaces) and
``schema``. Names in links are percent-encoded.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from shoal.api.glance.metadefs.catalog import RESOURCE_TYPES, Namespace
from shoal.services.image.records import as_utc

__all__ = [
    "NAMESPACES_PATH",
    "association_view",
    "associations_view",
    "namespace_path",
    "namespace_view",
    "namespaces_view",
    "object_view",
    "objects_view",
    "properties_view",
    "property_view",
    "resource_types_view",
    "select_namespaces",
    "tag_view",
    "tags_view",
]

NAMESPACES_PATH: Final = "/v2/metadefs/namespaces"
_SCHEMAS: Final = "/v2/schemas/metadefs"


def namespace_path(namespace: str, *parts: str) -> str:
    """``/v2/metadefs/namespaces/{namespace}[/part...]``, each name percent-encoded."""
    return "/".join([NAMESPACES_PATH, *(urllib.parse.quote(p, safe="") for p in
                                        (namespace, *parts))])


def _present(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}


def namespace_view(namespace: Namespace, *, full: bool = True) -> dict[str, Any]:
    """``GET /metadefs/namespaces/{ns}`` (``full``) or an item of the list (attributes
    and resource type associations only). Unset optional attributes are left out."""
    view: dict[str, Any] = _present({
        "namespace": namespace.namespace, "display_name": namespace.display_name,
        "description": namespace.description, "visibility": namespace.visibility,
        "protected": namespace.protected, "owner": namespace.owner,
        "created_at": namespace.created_at, "updated_at": namespace.updated_at,
    })
    if namespace.associations:
        view["resource_type_associations"] = associations_view(namespace)[
            "resource_type_associations"]
    if full:
        if namespace.properties:
            view["properties"] = {k: dict(v) for k, v in namespace.properties.items()}
        if namespace.objects:
            view["objects"] = [_object(namespace, item, links=False)
                               for item in namespace.objects.values()]
        if namespace.tags:
            view["tags"] = [{"name": name} for name in namespace.tags]
    view["self"] = namespace_path(namespace.namespace)
    view["schema"] = f"{_SCHEMAS}/namespace"
    return view


def select_namespaces(namespaces: Iterable[Namespace], *, visibility: str | None = None,
                      resource_types: Sequence[str] = ()) -> list[Namespace]:
    """The namespaces to list: with ``visibility`` if given, associated with one of
    ``resource_types`` if any; newest first, then by name (Glance's default order)."""
    chosen = [n for n in namespaces
              if (visibility is None or n.visibility == visibility)
              and (not resource_types or any(t in n.associations for t in resource_types))]
    chosen.sort(key=lambda n: n.namespace)
    chosen.sort(key=lambda n: n.created_at, reverse=True)
    return chosen


def namespaces_view(namespaces: Iterable[Namespace]) -> dict[str, Any]:
    """``GET /metadefs/namespaces`` (the caller picks and orders the namespaces)."""
    return {"namespaces": [namespace_view(n, full=False) for n in namespaces],
            "first": NAMESPACES_PATH, "schema": f"{_SCHEMAS}/namespaces"}


def association_view(association: Mapping[str, Any]) -> dict[str, Any]:
    """One resource type association."""
    return _present(association)


def associations_view(namespace: Namespace) -> dict[str, Any]:
    """``GET .../{ns}/resource_types``."""
    return {"resource_type_associations": [association_view(a) for a in
                                           namespace.associations.values()]}


def resource_types_view(created_at: datetime) -> dict[str, Any]:
    """``GET /metadefs/resource_types``: the known resource types (:data:`RESOURCE_TYPES`),
    all stamped ``created_at`` (when the catalog was first served)."""
    stamp = as_utc(created_at).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"resource_types": [{"name": name, "created_at": stamp, "updated_at": stamp}
                               for name in RESOURCE_TYPES]}


def property_view(name: str, definition: Mapping[str, Any]) -> dict[str, Any]:
    """One property definition with its name."""
    return {"name": name, **definition}


def properties_view(namespace: Namespace) -> dict[str, Any]:
    """``GET .../{ns}/properties``: definitions by name."""
    return {"properties": {k: dict(v) for k, v in namespace.properties.items()},
            "schema": f"{_SCHEMAS}/properties"}


def _object(namespace: Namespace, item: Mapping[str, Any], *, links: bool = True
            ) -> dict[str, Any]:
    view = _present(item)
    if links:
        view["self"] = namespace_path(namespace.namespace, "objects", str(item["name"]))
        view["schema"] = f"{_SCHEMAS}/object"
    return view


def object_view(namespace: Namespace, item: Mapping[str, Any]) -> dict[str, Any]:
    """One object, with ``self`` and ``schema``."""
    return _object(namespace, item)


def objects_view(namespace: Namespace) -> dict[str, Any]:
    """``GET .../{ns}/objects``."""
    return {"objects": [_object(namespace, item) for item in namespace.objects.values()],
            "schema": f"{_SCHEMAS}/objects"}


def tag_view(tag: Mapping[str, Any]) -> dict[str, Any]:
    """One tag (``name``, ``created_at``, ``updated_at``)."""
    return dict(tag)


def tags_view(tags: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``GET .../{ns}/tags`` and the answer of ``POST .../{ns}/tags``."""
    return {"tags": [tag_view(t) for t in tags]}
