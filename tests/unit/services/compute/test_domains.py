"""The domain of a server (its guest description as Nova's libvirt driver builds it: disks
in vms, devices, volumes from their real connection_info) and the secret checks before a
guest starts, on the embedded cluster as ``shoal up`` provisions it."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shoal import config as shoal_config
from shoal import errors
from shoal.config import ShoalConfig
from shoal.services.compute import ServerRecord, VolumeAttached
from shoal.services.compute._domains import (
    ensure_host_secret,
    guest_description,
    guest_secret_check,
    user_key,
)
from shoal.services.compute.libvirt import (
    GuestSecretMismatch,
    GuestSecretMissing,
    InvalidGuest,
    LibvirtSettings,
    SecretConflict,
    SecretStore,
    cluster_monitors,
    domain_xml,
)
from shoal.services.volume.driver import RbdDriverOptions, RbdVolumeDriver
from tests.unit._guide_cluster import GuideCluster

SERVER = "9a8e2a44-2a5c-4c1c-9d3f-1f7a3c2b5e60"
SECRET = "457eb676-33da-42ec-9a8c-9293d545c337"
OTHER_SECRET = "0f6e1c2d-3b4a-4c5d-8e9f-a0b1c2d3e4f5"
VOL_A = "5b3c1a0e-7d4f-4e1b-8a6c-2f9e0d1c3b4a"
VOL_B = "6c4d2b1f-8e5a-4f2c-9b7d-3a0f1e2d4c5b"
HOST = "compute-1"
FLAVOR = {"flavorid": "1", "name": "m1.small", "memory_mb": 2048, "vcpus": 2, "root_gb": 20,
          "ephemeral_gb": 0, "swap": 0, "extra_specs": {}}


class Env(GuideCluster):
    """The guide's cluster, client.cinder's session and a volume driver as cinder."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.cinder = self.session("client.cinder")
        self.driver = RbdVolumeDriver(self.cinder, RbdDriverOptions(
            rbd_pool="volumes", rbd_user="cinder", rbd_secret_uuid=SECRET))
        self.cfg = guide_config(root)

    def connection(self, volume_id: str) -> dict[str, Any]:
        """A 1 GiB volume's real connection_info (the volume driver's)."""
        self.driver.create_volume(volume_id, 1)
        return self.driver.initialize_connection(volume_id, {"host": HOST})

    def settings(self) -> LibvirtSettings:
        return LibvirtSettings.from_config(self.cfg.libvirt, cluster_monitors(self.cinder))

    def cinder_key(self) -> str:
        reply = self.admin.mon_command({"prefix": "auth get-key", "entity": "client.cinder",
                                        "format": "json"}).json()
        assert isinstance(reply, dict)
        return str(reply["key"])


def guide_config(root: Path) -> ShoalConfig:
    """``shoal up``'s default configuration (the guide's [libvirt]: vms, cinder, unmap)."""
    path = shoal_config.write_default(root / "shoal.conf", secret_uuid=SECRET)
    return shoal_config.load_config(file=path)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    yield e
    e.close()


@pytest.fixture
def store(tmp_path: Path) -> SecretStore:
    return SecretStore(tmp_path / "compute")


def server(**changes: Any) -> ServerRecord:
    """An ACTIVE server booted from an image (the record the compute service shows)."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    base = ServerRecord(
        id=SERVER, name="vm1", project_id="p", user_id="u", status="ACTIVE",
        vm_state="active", task_state=None, power_state=1, flavor=FLAVOR,
        image_id="1c8a5f2e-0000-4000-8000-000000000001", host=HOST, node=HOST,
        availability_zone="nova", key_name=None, user_data=None, description=None,
        hostname="vm1", locked=False, locked_reason=None, config_drive="",
        access_ip_v4="", access_ip_v6="", reservation_id="r-1", launch_index=0,
        root_device_name="/dev/vda", metadata={}, created_at=now, updated_at=None,
        launched_at=now, terminated_at=None, deleted=False, fault=None, volumes=(),
        instance_name="instance-9a8e2a44")
    return dataclasses.replace(base, **changes)


def attached(volume_id: str, device: str) -> VolumeAttached:
    return VolumeAttached(volume_id, False, device, f"att-{volume_id[:8]}")


def disks(text: str) -> list[ET.Element]:
    return ET.fromstring(text).findall("./devices/disk")


def target(disk: ET.Element) -> str:
    found = disk.find("target")
    assert found is not None
    return str(found.get("dev"))


# --- guest description -----------------------------------------------------------------
def test_an_image_server_has_its_root_disk_in_vms_as_nova_writes_it(env: Env) -> None:
    text = domain_xml(guest_description(server(), {}), env.settings())
    root = ET.fromstring(text)
    assert root.findtext("name") == "instance-9a8e2a44" and root.findtext("uuid") == SERVER
    assert root.findtext("memory") == str(2048 * 1024) and root.findtext("vcpu") == "2"
    (disk,) = disks(text)
    assert (disk.get("type"), disk.get("device")) == ("network", "disk")
    driver = disk.find("driver")
    assert driver is not None and driver.attrib == {"type": "raw", "cache": "none",
                                                    "discard": "unmap"}
    source = disk.find("source")
    assert source is not None and source.attrib == {"protocol": "rbd",
                                                    "name": f"vms/{SERVER}_disk"}
    assert [h.attrib for h in source.findall("host")] == [{"name": "127.0.0.1",
                                                           "port": "6789"}]
    auth = disk.find("auth")
    secret = disk.find("auth/secret")
    assert auth is not None and auth.get("username") == "cinder"
    assert secret is not None and secret.attrib == {"type": "ceph", "uuid": SECRET}
    assert target(disk) == "vda"


def test_ephemeral_swap_and_volumes_in_novas_device_order(env: Env) -> None:
    flavor = {**FLAVOR, "ephemeral_gb": 1, "swap": 512}
    # shoal's attach reserved only vda: the first volume was recorded on /dev/vdb
    record = server(flavor=flavor, volumes=(attached(VOL_A, "/dev/vdb"),
                                            attached(VOL_B, "/dev/vde")))
    conns = {VOL_A: env.connection(VOL_A), VOL_B: env.connection(VOL_B)}
    guest = guest_description(record, conns)
    assert [d.name for d in guest.disks] == [f"{SERVER}_disk", f"{SERVER}_disk.local",
                                             f"{SERVER}_disk.swap"]
    assert [d.target_dev for d in guest.devices] == ["vda", "vdb", "vdc", "vdd", "vde"]
    text = domain_xml(guest, env.settings())
    found = disks(text)
    assert [s.get("name") for s in (d.find("source") for d in found) if s is not None] == [
        f"vms/{SERVER}_disk", f"vms/{SERVER}_disk.local", f"vms/{SERVER}_disk.swap",
        f"volumes/volume-{VOL_A}", f"volumes/volume-{VOL_B}"]
    assert [d.findtext("serial") for d in found[3:]] == [VOL_A, VOL_B]
    for volume in found[3:]:
        driver = volume.find("driver")
        assert driver is not None and driver.attrib == {"name": "qemu", "type": "raw",
                                                        "cache": "none", "discard": "unmap"}
        secret = volume.find("auth/secret")
        assert secret is not None and secret.get("uuid") == SECRET


def test_a_server_booted_from_a_volume_has_no_root_disk(env: Env) -> None:
    record = server(image_id=None, flavor={**FLAVOR, "swap": 256},
                    volumes=(attached(VOL_B, "/dev/vdb"), attached(VOL_A, "/dev/vda")))
    guest = guest_description(record, {VOL_A: env.connection(VOL_A),
                                       VOL_B: env.connection(VOL_B)})
    assert [d.name for d in guest.disks] == [f"{SERVER}_disk.swap"]
    assert [(v.volume_id, v.target_dev) for v in guest.volumes] == [(VOL_A, "vda"),
                                                                     (VOL_B, "vdc")]
    assert guest.disks[0].target_dev == "vdb"
    assert f"vms/{SERVER}_disk'" not in domain_xml(guest, env.settings())


@pytest.mark.parametrize(("changes", "words"), [
    ({"volumes": (attached(VOL_A, "/dev/vdb"),)}, f"volume {VOL_A} has no connection_info"),
    ({"flavor": {**FLAVOR, "memory_mb": "lots"}}, "memory_mb 'lots' is not a whole number"),
    ({"flavor": {**FLAVOR, "vcpus": 0}}, "at least 1"),
])
def test_bad_servers_say_what_is_wrong(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidGuest, match=words):
        guest_description(server(**changes), {})


# --- secrets ---------------------------------------------------------------------------
def test_the_key_of_rbd_user_from_the_cluster(env: Env) -> None:
    key = env.cinder_key()
    assert user_key(env.admin, "cinder") == (key, None)  # ceph auth get-key, as devstack
    keyring = env.keyrings["client.cinder"]
    assert user_key(env.cinder, "cinder", keyring=keyring) == (key, keyring)
    # client.cinder may not read keys, and its keyring is not in the data directory
    with pytest.raises(errors.PermissionDenied, match=r"auth get-key client\.cinder"):
        user_key(env.cinder, "cinder")
    own = env.data_dir / "ceph.client.cinder.keyring"
    own.write_bytes(keyring.read_bytes())
    assert user_key(env.cinder, "cinder") == (key, own)
    with pytest.raises(errors.NotFound, match=r"holds no key for client\.glance"):
        user_key(env.admin, "glance", keyring=keyring)


def test_no_secret_on_the_host_names_the_uuid_and_the_fix(env: Env, store: SecretStore
                                                          ) -> None:
    with pytest.raises(GuestSecretMissing) as caught:
        guest_secret_check(store, HOST, env.cfg, env.admin)
    message = caught.value.message
    assert f"Secret not found: no secret with matching uuid '{SECRET}'" in message
    assert f"compute host {HOST}" in message and "secret-define" in message
    assert "secret-set-value" in message and "client.cinder" in message
    assert env.cinder_key() not in message
    assert caught.value.errno == 2


def test_ensure_host_secret_defines_the_guides_secret_once(env: Env, store: SecretStore
                                                          ) -> None:
    key = env.cinder_key()
    assert ensure_host_secret(store, HOST, SECRET, key) is True
    (made,) = store.list_secrets(HOST)
    assert (made.uuid, made.usage_type, made.usage_id) == (SECRET, "ceph",
                                                           "client.cinder secret")
    guest_secret_check(store, HOST, env.cfg, env.admin)  # passes now
    guest_secret_check(store, HOST, env.cfg, env.cinder,
                       keyring=env.keyrings["client.cinder"])
    assert ensure_host_secret(store, HOST, SECRET, key) is False


def test_an_existing_secret_is_never_overwritten(env: Env, store: SecretStore) -> None:
    glance_key = user_key(env.admin, "glance")[0]
    assert ensure_host_secret(store, HOST, SECRET, glance_key) is True
    assert ensure_host_secret(store, HOST, SECRET, env.cinder_key()) is False
    with pytest.raises(GuestSecretMismatch) as caught:
        guest_secret_check(store, HOST, env.cfg, env.admin)
    assert SECRET in caught.value.message and "does not hold the key of client.cinder" in \
        caught.value.message
    # the guide's usage is held by SECRET: another UUID may not take it
    with pytest.raises(SecretConflict):
        ensure_host_secret(store, HOST, OTHER_SECRET, env.cinder_key())


def test_a_defined_secret_without_value_gets_the_key(env: Env, store: SecretStore) -> None:
    store.define(HOST, f"<secret><uuid>{SECRET}</uuid><usage type='ceph'>"
                       "<name>client.cinder secret</name></usage></secret>")
    with pytest.raises(GuestSecretMissing, match="holds no key"):
        guest_secret_check(store, HOST, env.cfg, env.admin)
    assert ensure_host_secret(store, HOST, SECRET, env.cinder_key()) is False
    guest_secret_check(store, HOST, env.cfg, env.admin)


def test_volume_secrets_are_checked_too(env: Env, store: SecretStore) -> None:
    ensure_host_secret(store, HOST, SECRET, env.cinder_key())
    conn = env.connection(VOL_A)
    guest_secret_check(store, HOST, env.cfg, env.admin, connections=[conn])
    other = {**conn, "data": {**conn["data"], "secret_uuid": OTHER_SECRET}}
    with pytest.raises(GuestSecretMissing, match=OTHER_SECRET):
        guest_secret_check(store, HOST, env.cfg, env.admin, connections=[other])


def test_half_set_auth_and_no_cephx(tmp_path: Path, env: Env, store: SecretStore) -> None:
    conf = tmp_path / "half.conf"
    conf.write_text("[libvirt]\nrbd_user = cinder\n")
    with pytest.raises(InvalidGuest, match="go together"):
        guest_secret_check(store, HOST, shoal_config.load_config(file=conf), env.admin)
    conf.write_text("[libvirt]\nimages_type = rbd\n")
    guest_secret_check(store, HOST, shoal_config.load_config(file=conf), env.admin)
