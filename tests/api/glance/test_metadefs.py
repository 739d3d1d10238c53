"""The metadefs catalog (namespaces, resource types, properties, objects, tags) in-process."""

from __future__ import annotations

import uuid

from tests.api.glance.conftest import Glance


def _namespace(glance: Glance, **extra: object) -> str:
    name = f"OS::Test::{uuid.uuid4().hex[:8]}"
    body = {"namespace": name, "display_name": "Test", "visibility": "public", **extra}
    response = glance.call("POST", "/metadefs/namespaces", as_="admin", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["namespace"] == name
    return name


def test_namespaces_crud_and_policy(glance: Glance) -> None:
    name = _namespace(glance)
    ns = f"/metadefs/namespaces/{name}"
    assert glance.call("GET", ns).status_code == 200
    assert glance.call("GET", ns, as_="other").status_code == 200
    listed = glance.call("GET", "/metadefs/namespaces")
    assert name in {n["namespace"] for n in listed.json()["namespaces"]}
    assert glance.call("POST", "/metadefs/namespaces",
                       json={"namespace": "OS::Nope"}).status_code == 403
    assert glance.call("PUT", ns, json={"namespace": name, "description": "d"}
                       ).status_code == 403
    updated = glance.call("PUT", ns, as_="admin",
                          json={"namespace": name, "description": "described"})
    assert updated.status_code == 200 and updated.json()["description"] == "described"
    assert glance.call("POST", "/metadefs/namespaces", as_="admin",
                       json={"namespace": name}).status_code == 409
    assert glance.call("POST", "/metadefs/namespaces", as_="admin",
                       json={"display_name": "no namespace"}).status_code == 400
    assert glance.call("DELETE", ns).status_code == 403
    assert glance.call("DELETE", ns, as_="admin").status_code == 204
    assert glance.call("GET", ns).status_code == 404


def test_private_and_protected_namespaces(glance: Glance) -> None:
    name = _namespace(glance, visibility="private", protected=True)
    ns = f"/metadefs/namespaces/{name}"
    assert glance.call("GET", ns, as_="other").status_code == 404
    assert name not in {n["namespace"] for n in glance.call(
        "GET", "/metadefs/namespaces", as_="other").json()["namespaces"]}
    assert glance.call("DELETE", ns, as_="admin").status_code == 403
    glance.call("PUT", ns, as_="admin", json={"namespace": name, "protected": False})
    assert glance.call("DELETE", ns, as_="admin").status_code == 204


def test_resource_types_and_associations(glance: Glance) -> None:
    types = glance.call("GET", "/metadefs/resource_types")
    assert types.status_code == 200
    assert "OS::Glance::Image" in {t["name"] for t in types.json()["resource_types"]}
    name = _namespace(glance)
    path = f"/metadefs/namespaces/{name}/resource_types"
    added = glance.call("POST", path, as_="admin",
                        json={"name": "OS::Glance::Image", "prefix": "hw_"})
    assert added.status_code == 201 and added.json()["name"] == "OS::Glance::Image"
    listed = glance.call("GET", path).json()["resource_type_associations"]
    assert [a["name"] for a in listed] == ["OS::Glance::Image"]
    picked = glance.call("GET", "/metadefs/namespaces?resource_types=OS::Glance::Image")
    assert name in {n["namespace"] for n in picked.json()["namespaces"]}
    assert glance.call("DELETE", path + "/OS::Glance::Image", as_="admin").status_code == 204
    assert glance.call("DELETE", path + "/OS::Glance::Image", as_="admin").status_code == 404


def test_properties(glance: Glance) -> None:
    path = f"/metadefs/namespaces/{_namespace(glance)}/properties"
    prop = {"name": "hw_cpu_cores", "title": "Cores", "type": "integer", "minimum": 1}
    added = glance.call("POST", path, as_="admin", json=prop)
    assert added.status_code == 201 and added.json()["name"] == "hw_cpu_cores"
    assert "hw_cpu_cores" in glance.call("GET", path).json()["properties"]
    assert glance.call("GET", path + "/hw_cpu_cores").json()["type"] == "integer"
    assert glance.call("GET", path + "/missing").status_code == 404
    changed = glance.call("PUT", path + "/hw_cpu_cores", as_="admin",
                          json={**prop, "title": "CPU cores"})
    assert changed.status_code == 200 and changed.json()["title"] == "CPU cores"
    assert glance.call("POST", path, as_="admin", json={"name": "x"}).status_code == 400
    assert glance.call("POST", path, json=prop).status_code == 403
    assert glance.call("DELETE", path + "/hw_cpu_cores", as_="admin").status_code == 204
    assert glance.call("GET", path + "/hw_cpu_cores").status_code == 404


def test_objects(glance: Glance) -> None:
    path = f"/metadefs/namespaces/{_namespace(glance)}/objects"
    obj = {"name": "CPU", "properties": {"cores": {"title": "Cores", "type": "integer"}}}
    added = glance.call("POST", path, as_="admin", json=obj)
    assert added.status_code == 201 and added.json()["name"] == "CPU"
    assert [o["name"] for o in glance.call("GET", path).json()["objects"]] == ["CPU"]
    assert glance.call("GET", path + "/CPU").status_code == 200
    changed = glance.call("PUT", path + "/CPU", as_="admin",
                          json={**obj, "description": "cpu"})
    assert changed.status_code == 200 and changed.json()["description"] == "cpu"
    assert glance.call("POST", path, as_="admin", json=obj).status_code == 409
    assert glance.call("DELETE", path + "/CPU", as_="admin").status_code == 204
    assert glance.call("GET", path + "/CPU").status_code == 404


def test_tags(glance: Glance) -> None:
    path = f"/metadefs/namespaces/{_namespace(glance)}/tags"
    created = glance.call("POST", path, as_="admin", json={"tags": [{"name": "a"}]})
    assert created.status_code == 201
    appended = glance.call("POST", path, as_="admin", json={"tags": [{"name": "b"}]},
                           headers={"X-Openstack-Append": "True"})
    assert appended.status_code == 201
    assert sorted(t["name"] for t in glance.call("GET", path).json()["tags"]) == ["a", "b"]
    assert glance.call("POST", path + "/c", as_="admin").status_code == 201
    assert glance.call("GET", path + "/c").json()["name"] == "c"
    renamed = glance.call("PUT", path + "/c", as_="admin", json={"name": "d"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "d"
    assert glance.call("GET", path + "/c").status_code == 404
    assert glance.call("DELETE", path + "/d", as_="admin").status_code == 204
    assert glance.call("POST", path + "/e").status_code == 403
    assert glance.call("DELETE", path, as_="admin").status_code == 204
    assert glance.call("GET", path).json()["tags"] == []


def test_unknown_namespace_is_404(glance: Glance) -> None:
    assert glance.call("GET", "/metadefs/namespaces/OS::Missing").status_code == 404
    assert glance.call("GET", "/metadefs/namespaces/OS::Missing/properties").status_code == 404
