"""The metadata definitions catalog: namespace documents and the changes to them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoal.api import BadRequest
from shoal.api.glance.metadefs import catalog as cat
from shoal.errors import AlreadyExists, NotFound, PermissionDenied, ShoalError

T0 = datetime(2026, 11, 23, 18, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 23, 19, 30, 5, tzinfo=UTC)


def _ns(**body: object) -> cat.Namespace:
    return cat.parse_namespace({"namespace": "OS::Tempest", **body}, project_id="p1", now=T0)


def test_create_defaults_and_stamps() -> None:
    ns = _ns()
    assert (ns.namespace, ns.owner, ns.visibility, ns.protected) == (
        "OS::Tempest", "p1", "private", False)
    assert ns.display_name is None and ns.description is None
    assert ns.created_at == ns.updated_at == "2026-11-23T18:00:00Z"
    assert not (ns.associations or ns.properties or ns.objects or ns.tags)


def test_create_with_nested_parts() -> None:
    ns = _ns(visibility="public", protected=True, owner="p9", display_name="T",
             resource_type_associations=[{"name": "OS::Glance::Image", "prefix": "hw_"}],
             properties={"cores": {"title": "Cores", "type": "integer", "minimum": 1}},
             objects=[{"name": "CPU", "required": ["cores"]}],
             tags=[{"name": "a"}, {"name": "b"}])
    assert (ns.visibility, ns.protected, ns.owner) == ("public", True, "p9")
    assert ns.associations["OS::Glance::Image"]["prefix"] == "hw_"
    assert ns.properties["cores"] == {"title": "Cores", "type": "integer", "minimum": 1}
    assert ns.objects["CPU"]["required"] == ["cores"]
    assert list(ns.tags) == ["a", "b"]


@pytest.mark.parametrize("body", [
    [], "x", {}, {"namespace": ""}, {"namespace": "a/b"}, {"namespace": "n" * 81},
    {"namespace": 5}, {"namespace": "n", "visibility": "shared"},
    {"namespace": "n", "protected": "yes"}, {"namespace": "n", "colour": "blue"},
    {"namespace": "n", "tags": [{"name": "a"}, {"name": "a"}]},
    {"namespace": "n", "properties": {"p": {"type": "string"}}},  # no title
    {"namespace": "n", "resource_type_associations": [{"prefix": "hw_"}]},
])
def test_bad_namespace_bodies_are_400(body: object) -> None:
    with pytest.raises(BadRequest):
        cat.parse_namespace(body, project_id="p1", now=T0)


def test_update_keeps_what_the_body_leaves_out_and_may_rename() -> None:
    ns = _ns(description="d", display_name="T", protected=True)
    new = cat.update_namespace(ns, {"namespace": "OS::Other", "visibility": "public",
                                    "protected": False}, T1)
    assert (new.namespace, new.visibility, new.protected) == ("OS::Other", "public", False)
    assert (new.description, new.display_name, new.owner) == ("d", "T", "p1")
    assert (new.created_at, new.updated_at) == (ns.created_at, "2026-11-23T19:30:05Z")
    with pytest.raises(BadRequest):
        cat.update_namespace(ns, {"visibility": "public"}, T1)  # the name is required


def test_policy() -> None:
    private, public = _ns(), _ns(visibility="public")
    assert cat.can_read(private, project_id="p1", is_admin=False)
    assert not cat.can_read(private, project_id="p2", is_admin=False)
    assert cat.can_read(private, project_id="p2", is_admin=True)
    assert cat.can_read(public, project_id=None, is_admin=False)
    cat.check_write(is_admin=True)
    with pytest.raises(PermissionDenied):
        cat.check_write(is_admin=False)
    cat.check_delete(private)
    with pytest.raises(PermissionDenied, match="protected"):
        cat.check_delete(_ns(protected=True))


def test_associations() -> None:
    ns, made = cat.add_association(_ns(), {"name": "OS::Nova::Flavor", "prefix": "hw:"}, T1)
    assert made == {"name": "OS::Nova::Flavor", "prefix": "hw:",
                    "created_at": "2026-11-23T19:30:05Z", "updated_at": "2026-11-23T19:30:05Z"}
    with pytest.raises(AlreadyExists):
        cat.add_association(ns, {"name": "OS::Nova::Flavor"}, T1)
    with pytest.raises(BadRequest):
        cat.add_association(ns, {"name": "x", "suffix": "y"}, T1)
    assert cat.remove_association(ns, "OS::Nova::Flavor", T1).associations == {}
    with pytest.raises(NotFound):
        cat.remove_association(ns, "OS::Cinder::Volume", T1)


def test_properties() -> None:
    enum = ["kvm", "qemu"]
    ns, made = cat.add_property(_ns(), {"name": "hv", "title": "HV", "type": "string",
                                        "enum": enum}, T1)
    assert made == {"title": "HV", "type": "string", "enum": enum}
    with pytest.raises(AlreadyExists):
        cat.add_property(ns, {"name": "hv", "title": "x", "type": "string"}, T1)
    for bad in ({"name": "p", "type": "string"}, {"name": "p", "title": "t", "type": "text"},
                {"title": "t", "type": "string"}):
        with pytest.raises(BadRequest):
            cat.add_property(ns, bad, T1)
    ns, name, item = cat.update_property(ns, "hv", {"name": "hv2", "title": "New",
                                                    "type": "string"}, T1)
    assert (name, item, list(ns.properties)) == ("hv2", {"title": "New", "type": "string"},
                                                 ["hv2"])
    with pytest.raises(NotFound):
        cat.update_property(ns, "hv", {"name": "hv", "title": "t", "type": "string"}, T1)
    ns, _ = cat.add_property(ns, {"name": "other", "title": "O", "type": "integer"}, T1)
    with pytest.raises(AlreadyExists):
        cat.update_property(ns, "hv2", {"name": "other", "title": "t", "type": "string"}, T1)
    gone = cat.remove_property(ns, "hv2", T1)
    assert list(gone.properties) == ["other"]
    with pytest.raises(NotFound):
        cat.remove_property(gone, "hv2", T1)


def test_objects_keep_their_creation_time_when_renamed() -> None:
    ns, made = cat.add_object(_ns(), {"name": "CPU", "description": "d"}, T0)
    assert made["created_at"] == "2026-11-23T18:00:00Z"
    ns, renamed = cat.update_object(ns, "CPU", {"name": "Topology"}, T1)
    assert (renamed["name"], renamed["created_at"], renamed["updated_at"]) == (
        "Topology", "2026-11-23T18:00:00Z", "2026-11-23T19:30:05Z")
    assert renamed["description"] is None  # PUT replaces the object
    assert list(ns.objects) == ["Topology"]
    with pytest.raises(AlreadyExists):
        cat.add_object(ns, {"name": "Topology"}, T1)
    with pytest.raises(BadRequest):  # a property of the object without a title
        cat.add_object(ns, {"name": "X", "properties": {"p": {"type": "string"}}}, T1)
    assert cat.remove_object(ns, "Topology", T1).objects == {}
    with pytest.raises(NotFound):
        cat.remove_object(ns, "CPU", T1)


def test_tags() -> None:
    ns, tag = cat.add_tag(_ns(), "one", T0)
    assert tag == {"name": "one", "created_at": "2026-11-23T18:00:00Z",
                   "updated_at": "2026-11-23T18:00:00Z"}
    with pytest.raises(AlreadyExists):
        cat.add_tag(ns, "one", T1)
    for bad in ("", "a/b", "t" * 256, None):
        with pytest.raises(BadRequest):
            cat.add_tag(ns, bad, T1)
    replaced, added = cat.replace_tags(ns, {"tags": [{"name": "a"}, {"name": "b"}]}, T1)
    assert list(replaced.tags) == ["a", "b"] and [t["name"] for t in added] == ["a", "b"]
    appended, _ = cat.replace_tags(ns, {"tags": [{"name": "a"}]}, T1, append=True)
    assert list(appended.tags) == ["one", "a"]
    with pytest.raises(AlreadyExists):
        cat.replace_tags(ns, {"tags": [{"name": "a"}, {"name": "a"}]}, T1)
    for bad_body in ({"tags": "a"}, [], {"tags": ["a"]}):
        with pytest.raises(BadRequest):
            cat.replace_tags(ns, bad_body, T1)
    renamed, tag = cat.update_tag(replaced, "a", {"name": "z"}, T1)
    assert list(renamed.tags) == ["b", "z"] and tag["name"] == "z"
    with pytest.raises(AlreadyExists):
        cat.update_tag(renamed, "b", {"name": "z"}, T1)
    with pytest.raises(NotFound):
        cat.update_tag(renamed, "a", {"name": "y"}, T1)
    assert list(cat.remove_tag(renamed, "b", T1).tags) == ["z"]
    with pytest.raises(NotFound):
        cat.remove_tag(renamed, "a", T1)
    assert cat.clear_tags(renamed, T1).tags == {}


def test_documents_round_trip_through_json() -> None:
    ns = _ns(visibility="public", resource_type_associations=[{"name": "OS::Glance::Image"}],
             properties={"p": {"title": "P", "type": "string"}},
             objects=[{"name": "O"}], tags=[{"name": "t"}])
    document = json.loads(json.dumps(ns.to_document()))
    assert cat.Namespace.from_document(document) == ns
    assert cat.Namespace.from_document({**document, "future_field": 1}) == ns


# --- arbitrary input: a 4xx or a result ------------------------------------------------------

_KEYS = st.sampled_from(["namespace", "name", "title", "type", "tags", "properties",
                         "objects", "resource_type_associations", "visibility", "protected",
                         "required", "enum", "prefix"]) | st.text(max_size=4)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False)
    | st.sampled_from(["string", "public", "OS::X", "a/b", ""]) | st.text(max_size=6),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(_KEYS, children, max_size=4),
    max_leaves=10,
)


def _client_error(exc: ShoalError) -> None:
    assert 400 <= exc.http_status < 500 and exc.message, exc


@settings(max_examples=300)
@given(_JSON, _JSON, st.text(max_size=5))
def test_bodies_never_crash(body: object, other: object, name: str) -> None:
    base = _ns(properties={"p": {"title": "P", "type": "string"}}, objects=[{"name": "o"}],
               tags=[{"name": "t"}], resource_type_associations=[{"name": "r"}])
    calls = [
        lambda: cat.parse_namespace(body, project_id="p1", now=T1),
        lambda: cat.update_namespace(base, body, T1),
        lambda: cat.add_association(base, body, T1),
        lambda: cat.add_property(base, body, T1),
        lambda: cat.update_property(base, "p", body, T1),
        lambda: cat.add_object(base, body, T1),
        lambda: cat.update_object(base, "o", other, T1),
        lambda: cat.replace_tags(base, body, T1),
        lambda: cat.update_tag(base, "t", other, T1),
        lambda: cat.add_tag(base, name, T1),
    ]
    for call in calls:
        try:
            result = call()
        except ShoalError as exc:
            _client_error(exc)
        else:
            namespace = result[0] if isinstance(result, tuple) else result
            json.dumps(namespace.to_document())  # storable


# --- the schemas' bounds, as Glance's jsonschema enforces them ---------------------------


@pytest.mark.parametrize(("definition", "reason"), [
    ({"minLength": -5}, "-5 is less than the minimum of 0"),
    ({"maxLength": -1}, "-1 is less than the minimum of 0"),
    ({"minItems": -1}, "-1 is less than the minimum of 0"),
    ({"maxItems": 1.5}, "1.5 is not of type 'integer'"),
    ({"uniqueItems": "yes"}, "'yes' is not of type 'boolean'"),
])
def test_property_bounds_are_400_in_glance_words(definition: dict[str, object],
                                                  reason: str) -> None:
    body = {"name": "p", "title": "P", "type": "string", **definition}
    with pytest.raises(BadRequest) as caught:
        cat.add_property(_ns(), body, T1)
    assert caught.value.message == f"Provided object does not match schema 'property': {reason}"
    with pytest.raises(BadRequest, match=f"schema 'namespace': {reason}"):
        _ns(properties={"p": {"title": "P", "type": "string", **definition}})


def test_a_property_with_zero_bounds_is_taken() -> None:
    body = {"name": "p", "title": "P", "type": "array", "minItems": 0, "maxItems": 0,
            "uniqueItems": True, "minLength": 0}
    _, definition = cat.add_property(_ns(), body, T1)
    assert definition["minItems"] == 0


def test_object_required_names_are_unique() -> None:
    with pytest.raises(BadRequest) as caught:
        cat.add_object(_ns(), {"name": "CPU", "required": ["a", "a"]}, T1)
    assert caught.value.message == (
        "Provided object does not match schema 'object': ['a', 'a'] has non-unique elements")
