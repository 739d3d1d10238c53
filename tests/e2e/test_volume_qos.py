"""QoS specs, volume type encryption, the default quota class and freeze/thaw through the
real clients (``openstack``, ``cinder``) against ``shoal up``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e._cli import ok as _ok
from tests.e2e._cli import out_json as _json
from tests.e2e._volume_suite import _cinder
from tests.shoal_up import ShoalUp, openrc_env, openstack, run_client


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShoalUp]:
    with ShoalUp.start(tmp_path_factory.mktemp("volqos") / "data") as running:
        yield running


def test_qos_create_set_associate_show_delete(up: ShoalUp) -> None:
    _ok(openstack(up, "volume", "type", "create", "limited"))
    made = _json(openstack(up, "volume", "qos", "create", "--consumer", "front-end",
                           "--property", "read_iops_sec=2000", "-f", "json", "gold"))
    assert (made["name"], made["consumer"]) == ("gold", "front-end")
    _ok(openstack(up, "volume", "qos", "set", "--property", "total_bytes_sec=1000", "gold"))
    _ok(openstack(up, "volume", "qos", "associate", "gold", "limited"))
    shown = _json(openstack(up, "volume", "qos", "show", "-f", "json", "gold"))
    assert "limited" in str(shown["associations"]), shown
    assert "read_iops_sec" in str(shown["properties"]) and "total_bytes_sec" in str(
        shown["properties"]), shown
    listed = _json(openstack(up, "volume", "qos", "list", "-f", "json"))
    assert [q["Name"] for q in listed] == ["gold"]
    _ok(openstack(up, "volume", "qos", "unset", "--property", "total_bytes_sec", "gold"))
    assert "total_bytes_sec" not in str(_json(openstack(
        up, "volume", "qos", "show", "-f", "json", "gold"))["properties"])
    in_use = openstack(up, "volume", "qos", "delete", "gold")
    assert in_use.returncode != 0 and "in use" in (in_use.stderr + in_use.stdout).lower()
    type_id = _ok(openstack(up, "volume", "type", "show", "-f", "value", "-c", "id",
                            "limited")).strip()
    association = _cinder(up, "qos-get-association", made["id"])
    assert "limited" in association and type_id in association, association
    _ok(openstack(up, "volume", "qos", "disassociate", "--volume-type", "limited", "gold"))
    _ok(openstack(up, "volume", "qos", "delete", "gold"))
    assert _json(openstack(up, "volume", "qos", "list", "-f", "json")) == []
    refused = openstack(up, "volume", "qos", "list", cloud="shoal-demo")
    assert refused.returncode != 0 and "403" in refused.stderr + refused.stdout


def test_volume_type_encryption(up: ShoalUp) -> None:
    _ok(openstack(up, "volume", "type", "create", "--encryption-provider", "luks",
                  "--encryption-cipher", "aes-xts-plain64", "--encryption-key-size", "256",
                  "--encryption-control-location", "front-end", "secret"))
    shown = _json(openstack(up, "volume", "type", "show", "--encryption-type", "-f", "json",
                            "secret"))
    encryption = str(shown["encryption"])
    assert "luks" in encryption and "aes-xts-plain64" in encryption and "256" in encryption
    _ok(openstack(up, "volume", "type", "set", "--encryption-key-size", "512", "secret"))
    assert "512" in str(_json(openstack(up, "volume", "type", "show", "--encryption-type",
                                        "-f", "json", "secret"))["encryption"])
    _ok(openstack(up, "volume", "type", "unset", "--encryption-type", "secret"))
    after = _json(openstack(up, "volume", "type", "show", "--encryption-type", "-f", "json",
                            "secret"))
    assert "luks" not in str(after.get("encryption")), after
    _ok(openstack(up, "volume", "type", "delete", "secret"))


def test_default_quota_class_and_freeze_thaw(up: ShoalUp) -> None:
    _cinder(up, "quota-class-update", "--volumes", "12", "default")
    assert "| 12 " in _cinder(up, "quota-class-show", "default")
    demo_id = _ok(openstack(up, "project", "show", "-f", "value", "-c", "id", "demo")).strip()
    assert "| 12 " in _cinder(up, "quota-defaults", demo_id)
    _cinder(up, "quota-class-update", "--volumes", "10", "default")
    services = _json(openstack(up, "volume", "service", "list", "-f", "json"))
    host = next(s["Host"] for s in services if s["Binary"] == "cinder-volume")
    _cinder(up, "freeze-host", host)
    frozen = next(line for line in _cinder(up, "service-list", "--withreplication"
                                           ).splitlines() if "cinder-volume" in line)
    assert "True" in frozen and "disabled" in frozen, frozen  # Cinder disables it too
    again = run_client(up, "cinder", "freeze-host", host, cloud=None, env=openrc_env(up))
    assert again.returncode != 0 and "400" in again.stderr + again.stdout
    _cinder(up, "thaw-host", host)
    assert "disabled" not in _cinder(up, "service-list")
