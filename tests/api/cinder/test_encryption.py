"""``/types/{id}/encryption`` in process: the calls Tempest's
``test_volume_type_encryption_create_get_update_delete`` makes, Cinder's refusals (in use,
twice, unknown type) and policy; the bodies checked against Tempest's schemas."""

from __future__ import annotations

from tests.api.cinder.test_admin_routes import SCHEMAS, Api, api
from tests.api.cinder.test_qos import assert_tempest_schemas

__all__ = ["api"]

ENCRYPTION = f"{SCHEMAS}.encryption_types"
PROJECT = "p-encrypted"
LUKS = {"provider": "LuksEncryptor", "key_size": 256, "cipher": "aes-xts-plain64",
        "control_location": "front-end"}


def _type_id(api: Api, name: str = "secret") -> str:
    return str(api("POST", "/types", json={"volume_type": {"name": name}}).json()[
        "volume_type"]["id"])


def test_create_show_update_delete(api: Api) -> None:
    type_id = _type_id(api)
    base = f"/types/{type_id}/encryption"
    empty = api("GET", base)
    assert api.check(empty, "show_encryption_type", module=ENCRYPTION) == {}
    made = api("POST", base, json={"encryption": {**LUKS, "key_size": "256"}})
    assert made.status_code == 200
    created = api.check(made, "create_encryption_type", module=ENCRYPTION)["encryption"]
    assert created == {**LUKS, "volume_type_id": type_id,
                       "encryption_id": created["encryption_id"]}
    shown = api.check(api("GET", base), "show_encryption_type", module=ENCRYPTION)
    assert {k: shown[k] for k in LUKS} == LUKS
    assert (shown["deleted"], shown["deleted_at"], shown["updated_at"]) == (False, None, None)
    again = api("POST", base, json={"encryption": LUKS})
    assert again.status_code == 400 and "already exists" in again.text

    changes = {"key_size": 128, "provider": "SomeProvider", "control_location": "back-end"}
    put = api("PUT", f"{base}/{created['encryption_id']}", json={"encryption": changes})
    assert api.check(put, "update_encryption_type", module=ENCRYPTION) == {
        "encryption": changes}
    shown = api("GET", base).json()
    assert {k: shown[k] for k in changes} == changes and shown["cipher"] == LUKS["cipher"]
    item = api("GET", f"{base}/cipher")
    assert api.check(item, "show_encryption_specs_item", module=ENCRYPTION) == {
        "cipher": "aes-xts-plain64"}
    assert api("GET", f"{base}/nope").status_code == 404

    assert api("DELETE", f"{base}/{created['encryption_id']}").status_code == 202
    assert api("GET", base).json() == {}
    assert api("DELETE", f"{base}/{created['encryption_id']}").status_code == 404
    assert_tempest_schemas(api.bodies)


def test_refusals_and_policy(api: Api) -> None:
    type_id = _type_id(api)
    base = f"/types/{type_id}/encryption"
    for bad in ({"encryption": {"provider": "luks"}},
                {"encryption": {**LUKS, "control_location": "anywhere"}},
                {"encryption": {**LUKS, "key_size": "big"}},
                {"encryption": {**LUKS, "key_size": -1}}, {"other": {}}):
        assert api("POST", base, json=bad).status_code == 400, bad
    assert api("GET", "/types/nope/encryption").status_code == 404
    assert api("POST", "/types/nope/encryption", json={"encryption": LUKS}).status_code == 404
    assert api("GET", base, token="member-token").status_code == 403
    assert api("POST", base, json={"encryption": LUKS}, token="member-token"
               ).status_code == 403
    assert api("POST", base, json={"encryption": LUKS}).status_code == 200
    api.add_volume(PROJECT, 1, "secret")
    for method, path in (("PUT", f"{base}/x"), ("DELETE", f"{base}/x")):
        used = api(method, path, json={"encryption": {"key_size": 512}})
        assert used.status_code == 400 and "Volume type in use." in used.text, method
    other = _type_id(api, "other")
    api.add_volume(PROJECT, 1, "other")
    used = api("POST", f"/types/{other}/encryption", json={"encryption": LUKS})
    assert used.status_code == 400
    assert "Cannot create encryption specs. Volume type in use." in used.text
