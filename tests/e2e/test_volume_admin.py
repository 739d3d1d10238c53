"""Cinder's admin and informational APIs through the real clients against ``shoal up``
(issue 12): service list, pools, quotas, volume type administration, messages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e._cli import ok as _ok
from tests.e2e._cli import out_json as _json
from tests.e2e._volume_suite import _cinder
from tests.shoal_up import ShoalUp, openstack


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShoalUp]:
    with ShoalUp.start(tmp_path_factory.mktemp("voladmin") / "data") as running:
        yield running


def test_service_list_and_pools(up: ShoalUp) -> None:
    services = _json(openstack(up, "volume", "service", "list", "-f", "json"))
    by_binary = {s["Binary"]: s for s in services}
    assert set(by_binary) == {"cinder-scheduler", "cinder-volume", "cinder-backup"}
    volume = by_binary["cinder-volume"]
    assert volume["Host"].endswith("@ceph")
    assert (volume["Status"], volume["State"]) == ("enabled", "up")
    listed = _cinder(up, "service-list")
    assert "cinder-volume" in listed and "| up " in listed
    assert "Backend State" in listed and "| up " in listed
    host = volume["Host"]
    _ok(openstack(up, "volume", "service", "set", "--disable", "--disable-reason", "maint",
                  host, "cinder-volume"))
    after = {s["Binary"]: s for s in _json(openstack(up, "volume", "service", "list",
                                                     "--long", "-f", "json"))}
    assert after["cinder-volume"]["Status"] == "disabled"
    assert after["cinder-volume"]["Disabled Reason"] == "maint"
    _ok(openstack(up, "volume", "service", "set", "--enable", host, "cinder-volume"))
    pools = _cinder(up, "get-pools", "--detail")
    assert f"{host}#ceph" in pools and "total_capacity_gb" in pools
    assert "free_capacity_gb" in pools and "allocated_capacity_gb" in pools
    refused = openstack(up, "volume", "service", "list", cloud="shoal-demo")
    assert refused.returncode != 0 and "403" in refused.stderr + refused.stdout


def test_quotas(up: ShoalUp) -> None:
    shown = _json(openstack(up, "quota", "show", "--volume", "-f", "json", "demo"))
    values = {row["Resource"]: row["Limit"] for row in shown} if isinstance(shown, list) \
        else shown
    assert values["volumes"] == 10 and values["gigabytes"] == 1000, shown
    _ok(openstack(up, "quota", "set", "--volumes", "4", "demo"))
    again = _json(openstack(up, "quota", "show", "--volume", "-f", "json", "demo"))
    values = {row["Resource"]: row["Limit"] for row in again} if isinstance(again, list) \
        else again
    assert values["volumes"] == 4, again
    demo_id = _ok(openstack(up, "project", "show", "-f", "value", "-c", "id", "demo")).strip()
    table = _cinder(up, "quota-show", demo_id)
    assert "| volumes " in table and "| 4 " in table
    usage = _cinder(up, "quota-usage", demo_id)
    assert "In_use" in usage
    refused = openstack(up, "quota", "set", "--volumes", "40", "demo", cloud="shoal-demo")
    assert refused.returncode != 0
    _cinder(up, "quota-delete", demo_id)
    assert "| 10 " in _cinder(up, "quota-show", demo_id)
    assert "| volumes " in _cinder(up, "quota-defaults", demo_id)


def test_volume_type_admin(up: ShoalUp) -> None:
    _ok(openstack(up, "volume", "type", "create", "--property", "volume_backend_name=ceph",
                  "--description", "fast disks", "fast"))
    _ok(openstack(up, "volume", "type", "set", "--property", "k=v", "--description", "d2",
                  "fast"))
    long = _json(openstack(up, "volume", "type", "list", "--long", "-f", "json"))
    fast = next(t for t in long if t["Name"] == "fast")
    assert fast["Description"] == "d2"
    assert "volume_backend_name" in str(fast["Properties"]) and "k" in str(fast["Properties"])
    _ok(openstack(up, "volume", "type", "unset", "--property", "k", "fast"))
    _cinder(up, "type-key", "fast", "set", "multiattach=<is> True")
    specs = _cinder(up, "extra-specs-list")
    assert "multiattach" in specs and "'k'" not in specs
    _cinder(up, "type-key", "fast", "unset", "multiattach")
    _ok(openstack(up, "volume", "type", "create", "--private", "--project", "demo", "secret"))
    demo = _ok(openstack(up, "volume", "type", "list", "-f", "value", "-c", "Name",
                         cloud="shoal-demo")).split()
    assert "secret" in demo and "fast" in demo
    admin_all = _ok(openstack(up, "volume", "type", "list", "-f", "value", "-c", "Name"))
    assert "secret" in admin_all.split()
    access = _cinder(up, "type-access-list", "--volume-type",
                     _ok(openstack(up, "volume", "type", "show", "-f", "value", "-c", "id",
                                   "secret")).strip())
    demo_id = _ok(openstack(up, "project", "show", "-f", "value", "-c", "id", "demo")).strip()
    assert demo_id in access
    _ok(openstack(up, "volume", "type", "unset", "--project", "demo", "secret"))
    demo = _ok(openstack(up, "volume", "type", "list", "-f", "value", "-c", "Name",
                         cloud="shoal-demo")).split()
    assert "secret" not in demo
    # a type in use cannot go; the default type never
    _ok(openstack(up, "volume", "create", "--size", "1", "--type", "fast", "typed"))
    refused = openstack(up, "volume", "type", "delete", "fast")
    assert refused.returncode != 0
    default = openstack(up, "volume", "type", "delete", "__DEFAULT__")
    assert default.returncode != 0
    _ok(openstack(up, "volume", "type", "delete", "secret"))
    names = _ok(openstack(up, "volume", "type", "list", "-f", "value", "-c", "Name")).split()
    assert "secret" not in names and "fast" in names


def test_messages_and_extensions(up: ShoalUp) -> None:
    assert "| User Message |" in _cinder(up, "message-list")  # none are written yet
    extensions = _ok(openstack(up, "extension", "list", "--volume", "-f", "value",
                               "-c", "Alias"))
    assert "os-quota-sets" in extensions.split()
