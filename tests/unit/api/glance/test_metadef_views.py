"""Metadata definitions rendered as Glance's bodies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from shoal.api.glance.metadefs import catalog as cat
from shoal.api.glance.metadefs import views as mv

T0 = datetime(2026, 11, 23, 18, 0, 0, tzinfo=UTC)


def _ns(name: str = "OS::Tempest", **body: object) -> cat.Namespace:
    return cat.parse_namespace({"namespace": name, **body}, project_id="p1", now=T0)


def test_namespace_views_full_and_listed() -> None:
    ns = _ns(visibility="public", description="d",
             resource_type_associations=[{"name": "OS::Glance::Image", "prefix": "hw_"}],
             properties={"p": {"title": "P", "type": "string"}},
             objects=[{"name": "O"}], tags=[{"name": "t"}])
    full = mv.namespace_view(ns)
    assert full["namespace"] == "OS::Tempest" and full["visibility"] == "public"
    assert full["protected"] is False and full["owner"] == "p1"
    assert "display_name" not in full  # unset attributes are left out
    assert full["self"] == "/v2/metadefs/namespaces/OS%3A%3ATempest"
    assert full["schema"] == "/v2/schemas/metadefs/namespace"
    assert full["resource_type_associations"][0]["prefix"] == "hw_"
    assert full["properties"] == {"p": {"title": "P", "type": "string"}}
    assert [o["name"] for o in full["objects"]] == ["O"]
    assert "self" not in full["objects"][0] and "description" not in full["objects"][0]
    assert full["tags"] == [{"name": "t"}]
    listed = mv.namespace_view(ns, full=False)
    assert "properties" not in listed and "objects" not in listed and "tags" not in listed
    assert listed["resource_type_associations"] == full["resource_type_associations"]
    page = mv.namespaces_view([ns])
    assert page["namespaces"] == [listed]
    assert (page["first"], page["schema"]) == ("/v2/metadefs/namespaces",
                                               "/v2/schemas/metadefs/namespaces")


def test_select_namespaces_filters_and_orders() -> None:
    old = _ns("b-old")
    newer = replace(_ns("a-new", visibility="public"), created_at="2026-11-24T00:00:00Z")
    tied = replace(_ns("c-tied", resource_type_associations=[{"name": "OS::Nova::Flavor"}]),
                   created_at="2026-11-24T00:00:00Z")
    every = [old, tied, newer]
    assert [n.namespace for n in mv.select_namespaces(every)] == ["a-new", "c-tied", "b-old"]
    assert [n.namespace for n in mv.select_namespaces(every, visibility="public")] == [
        "a-new"]
    chosen = mv.select_namespaces(every, resource_types=["OS::Nova::Flavor", "X"])
    assert [n.namespace for n in chosen] == ["c-tied"]


def test_parts() -> None:
    ns = _ns("OS::X")
    ns, item = cat.add_object(ns, {"name": "a b"}, T0)
    assert mv.object_view(ns, item)["self"] == (
        "/v2/metadefs/namespaces/OS%3A%3AX/objects/a%20b")
    assert mv.objects_view(ns)["objects"][0]["schema"] == "/v2/schemas/metadefs/object"
    ns, definition = cat.add_property(ns, {"name": "p", "title": "P", "type": "string"}, T0)
    assert mv.property_view("p", definition) == {"name": "p", "title": "P", "type": "string"}
    assert mv.properties_view(ns)["properties"] == {"p": {"title": "P", "type": "string"}}
    ns, tag = cat.add_tag(ns, "t", T0)
    assert mv.tags_view(ns.tags.values()) == {"tags": [tag]}
    ns, association = cat.add_association(ns, {"name": "OS::Glance::Image"}, T0)
    assert mv.associations_view(ns) == {"resource_type_associations": [association]}


def test_resource_types() -> None:
    body = mv.resource_types_view(T0)
    names = [t["name"] for t in body["resource_types"]]
    assert names[0] == "OS::Glance::Image" and "OS::Cinder::Volume" in names
    assert body["resource_types"][0]["created_at"] == "2026-11-23T18:00:00Z"
