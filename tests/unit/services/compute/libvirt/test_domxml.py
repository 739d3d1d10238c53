"""The domain XML of RBD-backed guests: every element and attribute upstream Nova's
libvirt driver writes, parsed back with xml.etree, and libvirt's own schema check
(``virt-xml-validate FILE domain``, Debian's libvirt-clients)."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from shoal import config as shoal_config
from shoal.services.compute.libvirt import (
    AttachedVolume,
    GuestDescription,
    ImageDisk,
    InvalidGuest,
    LibvirtSettings,
    Monitor,
    UnsupportedGuest,
    disk_xml,
    domain_element,
    domain_xml,
    parse_mon_host,
)
from tests._tools import needs_tool

SERVER = "9a8e2a44-2a5c-4c1c-9d3f-1f7a3c2b5e60"
VOLUME = "5b3c1a0e-7d4f-4e1b-8a6c-2f9e0d1c3b4a"
SECRET = "457eb676-33da-42ec-9a8c-9293d545c337"
MONITORS = (Monitor("10.0.0.1", 6789), Monitor("10.0.0.2", 6789), Monitor("fd00::3", 6789))

validator = needs_tool("virt-xml-validate", "xmllint",
                       fix="Debian's libvirt-clients and libxml2-utils: bash "
                           "scripts/system-packages")


def guide_settings(**changes: Any) -> LibvirtSettings:
    """The guide's [libvirt] section: vms pool, rbd_user cinder, discard unmap."""
    values: dict[str, Any] = {"images_rbd_pool": "vms", "rbd_user": "cinder",
                              "rbd_secret_uuid": SECRET, "hw_disk_discard": "unmap",
                              "monitors": MONITORS}
    values.update(changes)
    return LibvirtSettings(**values)


def connection(**data: Any) -> dict[str, Any]:
    """connection_info as shoal's volume API returns it (driver.initialize_connection)."""
    base: dict[str, Any] = {
        "name": f"volumes/volume-{VOLUME}", "hosts": ["127.0.0.1"], "ports": ["6789"],
        "cluster_name": "ceph", "auth_enabled": True, "auth_username": "cinder",
        "secret_type": "ceph", "secret_uuid": SECRET, "volume_id": VOLUME, "discard": True,
    }
    base.update(data)
    return {"driver_volume_type": "rbd", "data": base}


def guest(*, disks: tuple[ImageDisk, ...] | None = None,
          volumes: tuple[AttachedVolume, ...] = ()) -> GuestDescription:
    if disks is None:
        disks = (ImageDisk.of_server(SERVER, "disk", "vda"),
                 ImageDisk.of_server(SERVER, "disk.local", "vdb"),
                 ImageDisk.of_server(SERVER, "disk.swap", "vdc"))
    return GuestDescription(SERVER, "instance-00000001", memory_mib=2048, vcpus=2,
                            disks=disks, volumes=volumes)


def disks_of(root: ET.Element) -> list[ET.Element]:
    return root.findall("./devices/disk")


def one(parent: ET.Element, path: str) -> ET.Element:
    found = parent.findall(path)
    assert len(found) == 1, (path, ET.tostring(parent, encoding="unicode"))
    return found[0]


def test_guest_disks_are_rbd_network_disks_as_nova_writes_them() -> None:
    root = ET.fromstring(domain_xml(guest(), guide_settings()))
    assert root.tag == "domain" and root.attrib == {"type": "kvm"}
    assert one(root, "uuid").text == SERVER
    assert one(root, "name").text == "instance-00000001"
    assert one(root, "memory").text == str(2048 * 1024)  # KiB
    assert one(root, "vcpu").text == "2"
    names = [f"vms/{SERVER}_disk", f"vms/{SERVER}_disk.local", f"vms/{SERVER}_disk.swap"]
    disks = disks_of(root)
    assert len(disks) == 3
    for disk, name, dev in zip(disks, names, ["vda", "vdb", "vdc"], strict=True):
        assert disk.attrib == {"type": "network", "device": "disk"}
        # Nova's Rbd image backend sets no driver name
        assert one(disk, "driver").attrib == {"type": "raw", "cache": "none",
                                              "discard": "unmap"}
        source = one(disk, "source")
        assert source.attrib == {"protocol": "rbd", "name": name}
        assert [h.attrib for h in source.findall("host")] == [
            {"name": "10.0.0.1", "port": "6789"}, {"name": "10.0.0.2", "port": "6789"},
            {"name": "fd00::3", "port": "6789"}]
        auth = one(disk, "auth")
        assert auth.attrib == {"username": "cinder"}
        assert one(auth, "secret").attrib == {"type": "ceph", "uuid": SECRET}
        assert one(disk, "target").attrib == {"dev": dev, "bus": "virtio"}
        assert disk.find("serial") is None and disk.find("alias") is None
    assert root.find("./devices/controller") is None


def test_attached_volume_comes_from_its_connection_info() -> None:
    volume = AttachedVolume(VOLUME, connection(), "vdb")
    root = ET.fromstring(domain_xml(guest(disks=(ImageDisk.of_server(SERVER, "disk", "vda"),),
                                          volumes=(volume,)), guide_settings()))
    disk = disks_of(root)[1]
    assert disk.attrib == {"type": "network", "device": "disk"}
    assert one(disk, "driver").attrib == {"name": "qemu", "type": "raw", "cache": "none",
                                          "discard": "unmap"}
    assert one(disk, "alias").attrib == {"name": f"ua-{VOLUME}"}
    source = one(disk, "source")
    assert source.attrib == {"protocol": "rbd", "name": f"volumes/volume-{VOLUME}"}
    assert [h.attrib for h in source.findall("host")] == [{"name": "127.0.0.1",
                                                           "port": "6789"}]
    assert one(one(disk, "auth"), "secret").attrib == {"type": "ceph", "uuid": SECRET}
    assert one(disk, "auth").attrib == {"username": "cinder"}
    assert one(disk, "target").attrib == {"dev": "vdb", "bus": "virtio"}
    assert one(disk, "serial").text == VOLUME
    for absent in ("readonly", "shareable", "iotune", "blockio"):
        assert disk.find(absent) is None


def test_volume_options_from_the_connection() -> None:
    other = "0f6e1c2d-3b4a-4c5d-8e9f-a0b1c2d3e4f5"
    info = connection(discard=False, access_mode="ro", secret_uuid=other,
                      auth_username="volumes-user", logical_block_size="512",
                      physical_block_size="4096",
                      qos_specs={"total_iops_sec": "500", "read_bytes_sec": 1048576,
                                 "consumer": "front-end"})
    info["multiattach"] = True
    disk = ET.fromstring(disk_xml(AttachedVolume(VOLUME, info, "vdc"),
                                  guide_settings(cache_modes={"network": "writeback"})))
    # no discard unless the connection says so; a shareable disk has no cache
    assert one(disk, "driver").attrib == {"name": "qemu", "type": "raw", "cache": "none"}
    assert one(disk, "auth").attrib == {"username": "volumes-user"}
    assert one(one(disk, "auth"), "secret").attrib["uuid"] == other
    assert [(e.tag, e.text) for e in one(disk, "iotune")] == [
        ("read_bytes_sec", "1048576"), ("total_iops_sec", "500")]
    assert one(disk, "blockio").attrib == {"logical_block_size": "512",
                                           "physical_block_size": "4096"}
    assert disk.find("readonly") is not None and disk.find("shareable") is not None


def test_volume_auth_falls_back_to_novas_settings_as_upstream() -> None:
    settings = guide_settings()
    old = AttachedVolume(VOLUME, connection(secret_uuid=None, auth_username="x"), "vdb")
    auth = one(ET.fromstring(disk_xml(old, settings)), "auth")
    assert auth.attrib == {"username": "cinder"}  # nova.conf's user with nova.conf's secret
    assert one(auth, "secret").attrib == {"type": "ceph", "uuid": SECRET}
    no_auth = AttachedVolume(VOLUME, connection(auth_enabled=False), "vdb")
    assert one(ET.fromstring(disk_xml(no_auth, settings)), "auth").attrib["username"] == "cinder"
    bare = disk_xml(no_auth, LibvirtSettings(monitors=MONITORS))
    assert ET.fromstring(bare).find("auth") is None


def test_cache_and_discard_follow_the_configuration() -> None:
    settings = guide_settings(hw_disk_discard=None,
                              cache_modes={"network": "writeback", "file": "unsafe"})
    root = domain_element(guest(volumes=(AttachedVolume(VOLUME, connection(), "vdd"),)),
                          settings)
    drivers = [one(d, "driver").attrib for d in disks_of(root)]
    assert drivers[:3] == [{"type": "raw", "cache": "writeback"}] * 3
    assert drivers[3] == {"name": "qemu", "type": "raw", "cache": "writeback",
                          "discard": "unmap"}
    ignore = domain_element(guest(), guide_settings(hw_disk_discard="ignore"))
    assert {one(d, "driver").get("discard") for d in disks_of(ignore)} == {"ignore"}
    no_auth = domain_element(guest(), LibvirtSettings(images_rbd_pool="vms"))
    assert all(d.find("auth") is None for d in disks_of(no_auth))
    assert all(d.find("source/host") is None for d in disks_of(no_auth))


def test_scsi_disks_get_novas_virtio_scsi_controller_and_drive_units() -> None:
    root = domain_element(guest(disks=(ImageDisk.of_server(SERVER, "disk", "sda"),),
                                volumes=(AttachedVolume(VOLUME, connection(), "sdb"),)),
                          guide_settings())
    disks = disks_of(root)
    assert [one(d, "target").attrib for d in disks] == [{"dev": "sda", "bus": "scsi"},
                                                        {"dev": "sdb", "bus": "scsi"}]
    assert [one(d, "address").attrib for d in disks] == [
        {"type": "drive", "controller": "0", "unit": "0"},
        {"type": "drive", "controller": "0", "unit": "1"}]
    assert one(root, "devices/controller").attrib == {"type": "scsi", "index": "0",
                                                      "model": "virtio-scsi"}


def test_settings_from_the_guides_configuration(tmp_path: Path) -> None:
    path = shoal_config.write_default(tmp_path / "shoal.conf", secret_uuid=SECRET)
    cfg = shoal_config.load_config(file=path)
    settings = LibvirtSettings.from_config(cfg.libvirt, parse_mon_host("10.0.0.1,10.0.0.2"))
    assert (settings.images_type, settings.images_rbd_pool, settings.rbd_user,
            settings.rbd_secret_uuid, settings.hw_disk_discard) == (
        "rbd", "vms", "cinder", SECRET, "unmap")
    disk = disks_of(domain_element(guest(), settings))[0]
    assert one(disk, "source").get("name") == f"vms/{SERVER}_disk"
    assert [h.get("name") for h in disk.findall("source/host")] == ["10.0.0.1", "10.0.0.2"]


@pytest.mark.parametrize(("make", "error", "words"), [
    (lambda: domain_xml(guest(), guide_settings(images_type="default")), InvalidGuest,
     "images_type = default"),
    (lambda: domain_xml(guest(), guide_settings(virt_type="lxc")), UnsupportedGuest,
     "virt_type = lxc"),
    (lambda: domain_xml(guest(), guide_settings(rbd_secret_uuid=None)), InvalidGuest,
     "rbd_user and rbd_secret_uuid go together"),
    (lambda: disk_xml(AttachedVolume(VOLUME, {"driver_volume_type": "iscsi", "data": {}},
                                     "vdb"), guide_settings()), UnsupportedGuest, "'iscsi'"),
    (lambda: disk_xml(AttachedVolume(VOLUME, connection(name="volume-x"), "vdb"),
                      guide_settings()), InvalidGuest, "is not POOL/IMAGE"),
    (lambda: disk_xml(AttachedVolume(VOLUME, connection(access_mode="rx"), "vdb"),
                      guide_settings()), InvalidGuest, "access_mode 'rx'"),
    (lambda: disk_xml(AttachedVolume(VOLUME, connection(qos_specs={"total_iops_sec": "-1"}),
                                     "vdb"), guide_settings()), InvalidGuest, "whole number"),
    (lambda: disk_xml(AttachedVolume(VOLUME, connection(ports=["6789", "6789"]), "vdb"),
                      guide_settings()), InvalidGuest, "1 monitor hosts but 2 ports"),
    (lambda: disk_xml(AttachedVolume(VOLUME, connection(auth_username=None), "vdb"),
                      guide_settings()), InvalidGuest, "auth is enabled"),
    (lambda: AttachedVolume("vol-1", connection(), "vdb"), InvalidGuest, "not a UUID"),
    (lambda: ImageDisk.of_server(SERVER, "disk", "xvda"), InvalidGuest, "vdX, sdX or hdX"),
    (lambda: ImageDisk("a/b", "vda"), InvalidGuest, "holds '/'"),
    (lambda: ImageDisk("disk", "vda", bus="floppy"), InvalidGuest, "disk bus 'floppy'"),
    (lambda: guest(disks=(ImageDisk("a", "vda"), ImageDisk("b", "vda"))), InvalidGuest,
     "several devices on vda"),
    (lambda: GuestDescription(SERVER, "a/b", 1, 1), InvalidGuest, "domain name"),
    (lambda: GuestDescription(SERVER, "x", 0, 1), InvalidGuest, "at least 1"),
    (lambda: GuestDescription("nope", "x", 1, 1), InvalidGuest, "not a UUID"),
    (lambda: LibvirtSettings(cache_modes={"network": "fast"}), InvalidGuest, "cache mode"),
    (lambda: LibvirtSettings(hw_disk_discard="trim"), InvalidGuest, "hw_disk_discard"),
])
def test_bad_guests_and_settings_say_what_is_wrong(make: Any, error: type[Exception],
                                                   words: str) -> None:
    with pytest.raises(error) as caught:
        make()
    assert words in str(caught.value)


def test_errors_carry_4xx_or_501() -> None:
    assert InvalidGuest.http_status == 400 and UnsupportedGuest.http_status == 501


def _validate(tmp_path: Path, text: str, name: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"{name}.xml"
    path.write_text(text)
    return subprocess.run(["virt-xml-validate", str(path), "domain"], capture_output=True,
                          text=True, timeout=60, check=False)


@validator
def test_domain_xml_passes_libvirts_schema(tmp_path: Path) -> None:
    info = connection(access_mode="ro", qos_specs={"total_iops_sec": "100"},
                      logical_block_size="512")
    variants = {
        "own-disks": domain_xml(guest(), guide_settings()),
        "with-volumes": domain_xml(guest(volumes=(
            AttachedVolume(VOLUME, info, "vdd"),
            AttachedVolume("0f6e1c2d-3b4a-4c5d-8e9f-a0b1c2d3e4f5",
                           {**connection(), "multiattach": True}, "sda"))),
            guide_settings(cache_modes={"network": "writeback"})),
        "boot-from-volume": domain_xml(guest(disks=(), volumes=(
            AttachedVolume(VOLUME, connection(), "vda"),)), guide_settings()),
        "no-cephx-qemu": domain_xml(guest(), LibvirtSettings(virt_type="qemu",
                                                             hw_disk_discard="ignore")),
    }
    for name, text in variants.items():
        run = _validate(tmp_path, text, name)
        assert run.returncode == 0 and "validates" in run.stderr, (name, run.stderr, text)


@validator
def test_the_validator_does_refuse_a_broken_domain(tmp_path: Path) -> None:
    root = domain_element(guest(), guide_settings())
    one(disks_of(root)[0], "target").set("bus", "bogus")
    run = _validate(tmp_path, ET.tostring(root, encoding="unicode"), "broken")
    assert run.returncode != 0 and "fails to validate" in run.stderr + run.stdout
