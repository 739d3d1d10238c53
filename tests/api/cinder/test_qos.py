"""``/qos-specs`` in process (httpx against the volume app): statuses, bodies, Cinder's
errors and policy, the type view's ``qos_specs_id``, the front-end specs in
``os-initialize_connection``; the bodies checked against Tempest's schemas when its venv
exists."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from typing import Any

import pytest

from tests.api.cinder.test_admin_routes import SCHEMAS, Api, api
from tests.unit.api.cinder.test_tempest_schemas import _VALIDATOR, _tempest_python

__all__ = ["api", "assert_tempest_schemas"]

QOS = f"{SCHEMAS}.qos"


def assert_tempest_schemas(bodies: Sequence[dict[str, Any]]) -> None:
    """Every body kept with :meth:`Api.check` fits Tempest's schema (skipped without
    Tempest's venv)."""
    python = _tempest_python()
    if python is None:
        pytest.skip("Tempest's venv is missing (bash scripts/tempest-venv, or "
                    "$SHOAL_TEMPEST_BIN)")
    done = subprocess.run([str(python), "-c", _VALIDATOR], input=json.dumps(list(bodies)),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    failures = {k: e for k, e in json.loads(done.stdout).items() if e is not None}
    assert failures == {}


def _type_id(api: Api, name: str) -> str:
    made = api("POST", "/types", json={"volume_type": {"name": name}})
    assert made.status_code == 200
    return str(made.json()["volume_type"]["id"])


def test_create_show_list_set_unset_delete(api: Api) -> None:
    made = api("POST", "/qos-specs", json={"qos_specs": {
        "name": " gold ", "consumer": "front-end", "read_iops_sec": "2000"}})
    assert made.status_code == 200
    body = api.check(made, "show_qos", module=QOS)
    spec = body["qos_specs"]
    assert (spec["name"], spec["consumer"], spec["specs"]) == (
        "gold", "front-end", {"read_iops_sec": "2000"})
    assert [link["rel"] for link in body["links"]] == ["self", "bookmark"]
    assert body["links"][0]["href"].endswith(f"/qos-specs/{spec['id']}")
    listed = api.check(api("GET", "/qos-specs"), "list_qos", module=QOS)["qos_specs"]
    assert listed == [spec]  # what Tempest's test_list_qos compares
    shown = api.check(api("GET", f"/qos-specs/{spec['id']}"), "show_qos", module=QOS)
    assert shown["qos_specs"] == spec

    put = api("PUT", f"/qos-specs/{spec['id']}", json={"qos_specs": {"iops_bytes": "500"}})
    assert api.check(put, "set_qos_key", module=QOS) == {"qos_specs": {"iops_bytes": "500"}}
    assert api("GET", f"/qos-specs/{spec['id']}").json()["qos_specs"]["specs"] == {
        "read_iops_sec": "2000", "iops_bytes": "500"}
    unset = api("PUT", f"/qos-specs/{spec['id']}/delete_keys", json={"keys": ["iops_bytes"]})
    assert unset.status_code == 202
    missing = api("PUT", f"/qos-specs/{spec['id']}/delete_keys", json={"keys": ["nope"]})
    assert missing.status_code == 404
    assert f"QoS spec {spec['id']} has no spec with key nope." in missing.text

    assert api("DELETE", f"/qos-specs/{spec['id']}?force=False").status_code == 202
    gone = api("GET", f"/qos-specs/{spec['id']}")
    assert gone.status_code == 404 and f"No such QoS spec {spec['id']}." in gone.text
    assert_tempest_schemas(api.bodies)


def test_consumers_and_refusals(api: Api) -> None:
    for consumer in ("front-end", "back-end", "both"):
        made = api("POST", "/qos-specs", json={"qos_specs": {"name": consumer,
                                                             "consumer": consumer}})
        assert made.json()["qos_specs"]["consumer"] == consumer
    assert api("POST", "/qos-specs", json={"qos_specs": {"name": "plain"}}).json()[
        "qos_specs"]["consumer"] == "back-end"
    duplicate = api("POST", "/qos-specs", json={"qos_specs": {"name": "plain"}})
    assert duplicate.status_code == 409 and "QoS Specs plain already exists." in duplicate.text
    for bad in ({"qos_specs": {"consumer": "both"}}, {"qos_specs": {"name": "  "}},
                {"qos_specs": {"name": "n" * 256}}, {"qos_specs": {"name": "x", "k": 1}},
                {"qos_specs": {"name": "x", "consumer": "nobody"}}, {"qos": {}}):
        assert api("POST", "/qos-specs", json=bad).status_code == 400, bad
    spec_id = api("GET", "/qos-specs").json()["qos_specs"][0]["id"]
    for bad_set in ({"qos_specs": {"k": 1}}, {"qos_specs": {"bad key!": "v"}}, {}):
        assert api("PUT", f"/qos-specs/{spec_id}", json=bad_set).status_code == 400, bad_set
    assert api("PUT", f"/qos-specs/{spec_id}/delete_keys", json={"keys": "k"}
               ).status_code == 400
    assert api("DELETE", f"/qos-specs/{spec_id}?force=maybe").status_code == 400
    assert api("GET", "/qos-specs/nope").status_code == 404
    for method, path in (("GET", "/qos-specs"), ("POST", "/qos-specs"),
                         ("GET", f"/qos-specs/{spec_id}"), ("DELETE", f"/qos-specs/{spec_id}"),
                         ("GET", f"/qos-specs/{spec_id}/associations")):
        refused = api(method, path, token="member-token", json={"qos_specs": {"name": "m"}})
        assert refused.status_code == 403, (method, path)


def test_associations_and_the_type_view(api: Api) -> None:
    spec = api("POST", "/qos-specs", json={"qos_specs": {"name": "gold"}}).json()["qos_specs"]
    other = api("POST", "/qos-specs", json={"qos_specs": {"name": "silver"}}).json()[
        "qos_specs"]
    one, two = _type_id(api, "t1"), _type_id(api, "t2")
    for type_id in (one, two):
        assert api("GET", f"/qos-specs/{spec['id']}/associate?vol_type_id={type_id}"
                   ).status_code == 202
    found = api("GET", f"/qos-specs/{spec['id']}/associations")
    assert api.check(found, "show_association_qos", module=QOS) == {"qos_associations": [
        {"association_type": "volume_type", "id": one, "name": "t1"},
        {"association_type": "volume_type", "id": two, "name": "t2"}]}
    assert api("GET", f"/types/{one}").json()["volume_type"]["qos_specs_id"] == spec["id"]
    listed = {t["id"]: t for t in api("GET", "/types").json()["volume_types"]}
    assert listed[two]["qos_specs_id"] == spec["id"]
    assert "qos_specs_id" not in api("GET", f"/types/{one}", token="member-token").json()[
        "volume_type"]
    taken = api("GET", f"/qos-specs/{other['id']}/associate?vol_type_id={one}")
    assert taken.status_code == 400 and "already associated with another qos specs" in taken.text
    assert api("GET", f"/qos-specs/{spec['id']}/associate").status_code == 400
    assert "Volume Type id must not be None." in api(
        "GET", f"/qos-specs/{spec['id']}/disassociate?vol_type_id=").text
    assert api("GET", f"/qos-specs/{spec['id']}/associate?vol_type_id=nope").status_code == 404
    in_use = api("DELETE", f"/qos-specs/{spec['id']}")
    assert in_use.status_code == 400 and "Qos specs still in use." in in_use.text
    assert api("GET", f"/qos-specs/{spec['id']}/disassociate?vol_type_id={one}"
               ).status_code == 202
    assert api("GET", f"/types/{one}").json()["volume_type"]["qos_specs_id"] is None
    assert api("GET", f"/qos-specs/{spec['id']}/disassociate_all").status_code == 202
    assert api("GET", f"/qos-specs/{spec['id']}/associations").json() == {
        "qos_associations": []}
    assert api("GET", f"/qos-specs/{spec['id']}/associate?vol_type_id={one}"
               ).status_code == 202
    assert api("DELETE", f"/qos-specs/{spec['id']}?force=True").status_code == 202
    assert api("GET", f"/types/{one}").json()["volume_type"]["qos_specs_id"] is None
    assert api("GET", "/extensions").json()["extensions"]
    aliases = {e["alias"] for e in api("GET", "/extensions").json()["extensions"]}
    assert {"qos-specs", "encryption"} <= aliases
    assert_tempest_schemas(api.bodies)
