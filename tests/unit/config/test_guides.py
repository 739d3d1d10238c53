"""The two guides' configuration snippets, pasted verbatim, load as the guides mean them.

The snippets are copied line for line from the guides (the Vietnamese guide's
cinder.conf/glance-api.conf/ceph.conf/nova.conf blocks, and the appendix's
older spellings). Only the ``[section]`` headers are added where the guide's
text names the section in prose ("Cấu hình tại Section [glance_store]").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.config import load_config

GUIDE_UUID = "691c3607-7ca3-433a-a0c0-5805cea8afa0"
APPENDIX_UUID = "457eb676-33da-42ec-9a8c-9293d545c337"

# --- the Vietnamese guide, section 5 -------------------------------------------------

VI_CINDER_DEFAULT = """\
enabled_backends = ceph

glance_api_version = 2
"""
VI_CINDER_BACKEND = """\
volume_driver = cinder.volume.drivers.rbd.RBDDriver
volume_backend_name = ceph
rbd_pool = volumes
rbd_ceph_conf = /etc/ceph/ceph.conf
rbd_flatten_volume_from_snapshot = false
rbd_max_clone_depth = 5
rbd_store_chunk_size = 4
rados_connect_timeout = -1
rbd_user = cinder
rbd_secret_uuid = 691c3607-7ca3-433a-a0c0-5805cea8afa0
"""
VI_BACKUP = """\
backup_driver = cinder.backup.drivers.ceph
backup_ceph_user = cinder-backup
backup_ceph_conf = /etc/ceph/ceph.conf
backup_ceph_chunk_size = 134217728
backup_ceph_pool = backups
backup_ceph_stripe_unit = 0
backup_ceph_stripe_count = 0
restore_discard_excess_bytes = true
"""
VI_GLANCE_STORE = """\
show_image_direct_url = True

stores = rbd
default_store = rbd
rbd_store_chunk_size = 8
rbd_store_pool = images
rbd_store_user = glance
rbd_store_ceph_conf = /etc/ceph/ceph.conf
"""
VI_CEPH_CLIENT = """\
rbd cache = true
rbd cache writethrough until flush = true
rbd concurrent management ops = 20
admin socket = /var/run/ceph/guests/$cluster-$type.$id.$pid.$cctid.asok
log file = /var/log/ceph/qemu-guest-$pid.log
"""
VI_NOVA_LIBVIRT = """\
images_type = rbd
images_rbd_pool = vms
images_rbd_ceph_conf = /etc/ceph/ceph.conf
rbd_user = cinder
rbd_secret_uuid = 691c3607-7ca3-433a-a0c0-5805cea8afa0
inject_password = false
inject_key = false
inject_partition = -2
hw_disk_discard = unmap
"""

#: The whole guide as one shoal.conf.
VI_SHOAL_CONF = (
    f"[DEFAULT]\n{VI_CINDER_DEFAULT}{VI_BACKUP}\n[ceph]\n{VI_CINDER_BACKEND}\n"
    f"[glance_store]\n{VI_GLANCE_STORE}\n[client]\n{VI_CEPH_CLIENT}\n"
    f"[libvirt]\n{VI_NOVA_LIBVIRT}"
)

# --- the appendix (older spellings, options in [DEFAULT]) ------------------------------

APPENDIX_GLANCE = """\
default_store=rbd
rbd_store_user=glance
rbd_store_pool=images
"""
APPENDIX_GLANCE_COW = "show_image_direct_url=True\n"
APPENDIX_CINDER = """\
volume_driver=cinder.volume.drivers.rbd.RBDDriver
rbd_pool=volumes
rbd_ceph_conf=/etc/ceph/ceph.conf
rbd_flatten_volume_from_snapshot=false
rbd_max_clone_depth=5
glance_api_version=2
"""
APPENDIX_CINDER_AUTH = """\
rbd_user=cinder
rbd_secret_uuid=457eb676-33da-42ec-9a8c-9293d545c337
"""
APPENDIX_BACKUP = """\
backup_driver=cinder.backup.drivers.ceph
backup_ceph_conf=/etc/ceph/ceph.conf
backup_ceph_user=cinder-backup
backup_ceph_chunk_size=134217728
backup_ceph_pool=backups
backup_ceph_stripe_unit=0
backup_ceph_stripe_count=0
restore_discard_excess_bytes=true
"""
APPENDIX_NOVA = """\
libvirt_images_type=rbd
libvirt_images_rbd_pool=volumes
libvirt_images_rbd_ceph_conf=/etc/ceph/ceph.conf
rbd_user=cinder
rbd_secret_uuid=457eb676-33da-42ec-9a8c-9293d545c337
"""
APPENDIX_NOVA_INJECT = """\
libvirt_inject_password=false
libvirt_inject_key=false
libvirt_inject_partition=-2
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_vietnamese_guide_as_one_shoal_conf(tmp_path: Path) -> None:
    cfg = load_config(file=write(tmp_path / "shoal.conf", VI_SHOAL_CONF), environ={})
    assert cfg.warnings == ()
    gs = cfg.glance_store
    assert (gs.show_image_direct_url, gs.stores, gs.default_store) == (True, ("rbd",), "rbd")
    assert (gs.rbd_store_chunk_size, gs.rbd_order, gs.rbd_store_pool, gs.rbd_store_user) == (
        8, 23, "images", "glance")
    assert gs.rbd_store_ceph_conf == "/etc/ceph/ceph.conf"
    assert cfg.cinder_backends == ("ceph",)
    be = cfg.cinder_backend("ceph")
    assert be.is_rbd and be.reported_backend_name == "ceph"
    assert (be.rbd_pool, be.rbd_user, be.rbd_secret_uuid) == ("volumes", "cinder", GUIDE_UUID)
    assert (be.rbd_flatten_volume_from_snapshot, be.rbd_max_clone_depth) == (False, 5)
    assert (be.rbd_store_chunk_size, be.rbd_order, be.rados_connect_timeout) == (4, 22, -1)
    cd = cfg.cinder
    assert cd.backup_driver_is_ceph and cd.glance_api_version == 2
    assert (cd.backup_ceph_user, cd.backup_ceph_pool, cd.backup_ceph_chunk_size) == (
        "cinder-backup", "backups", 128 * 1024 * 1024)
    assert (cd.backup_ceph_stripe_unit, cd.backup_ceph_stripe_count) == (0, 0)
    assert cd.restore_discard_excess_bytes is True
    cc = cfg.ceph_client
    assert (cc.rbd_cache, cc.rbd_cache_writethrough_until_flush) == (True, True)
    assert cc.rbd_concurrent_management_ops == 20
    assert cc.admin_socket == "/var/run/ceph/guests/$cluster-$type.$id.$pid.$cctid.asok"
    assert cc.log_file == "/var/log/ceph/qemu-guest-$pid.log"
    lv = cfg.libvirt
    assert (lv.images_type, lv.images_rbd_pool, lv.rbd_user) == ("rbd", "vms", "cinder")
    assert (lv.rbd_secret_uuid, lv.hw_disk_discard) == (GUIDE_UUID, "unmap")
    assert (lv.inject_password, lv.inject_key, lv.inject_partition) == (False, False, -2)
    assert not lv.injection_enabled


def test_vietnamese_guide_as_the_real_files(tmp_path: Path) -> None:
    write(tmp_path / "cinder.conf",
          f"[DEFAULT]\n{VI_CINDER_DEFAULT}{VI_BACKUP}\n[ceph]\n{VI_CINDER_BACKEND}")
    write(tmp_path / "glance-api.conf", f"[glance_store]\n{VI_GLANCE_STORE}")
    write(tmp_path / "ceph.conf", f"[client]\n{VI_CEPH_CLIENT}")
    write(tmp_path / "nova.conf", f"[libvirt]\n{VI_NOVA_LIBVIRT}")
    cfg = load_config(directory=tmp_path, environ={})
    assert cfg.warnings == ()
    assert sorted(p.name for p in cfg.sources) == [
        "ceph.conf", "cinder.conf", "glance-api.conf", "nova.conf"]
    assert cfg.glance_store.rbd_store_chunk_size == 8
    assert cfg.cinder_backend("ceph").rbd_store_chunk_size == 4
    assert cfg.libvirt.images_rbd_pool == "vms"
    assert cfg.ceph_client.rbd_concurrent_management_ops == 20
    src = cfg.setting("client", "rbd_concurrent_management_ops").source
    assert (src.path, src.line, src.name) == (
        tmp_path / "ceph.conf", 4, "rbd concurrent management ops")


def test_appendix_snippets_in_the_real_files_with_older_spellings(tmp_path: Path) -> None:
    write(tmp_path / "glance-api.conf", f"[DEFAULT]\n{APPENDIX_GLANCE}{APPENDIX_GLANCE_COW}")
    write(tmp_path / "cinder.conf",
          f"[DEFAULT]\n{APPENDIX_CINDER}{APPENDIX_CINDER_AUTH}{APPENDIX_BACKUP}")
    write(tmp_path / "nova.conf", f"[DEFAULT]\n{APPENDIX_NOVA}{APPENDIX_NOVA_INJECT}")
    cfg = load_config(directory=tmp_path, environ={})
    gs = cfg.glance_store
    assert (gs.default_store, gs.rbd_store_user, gs.rbd_store_pool) == ("rbd", "glance", "images")
    assert gs.show_image_direct_url is True
    # the pre-Ocata layout: driver options in cinder.conf's [DEFAULT]
    assert cfg.cinder_backends == ("DEFAULT",)
    be = cfg.cinder_backend("DEFAULT")
    assert (be.is_rbd, be.rbd_pool, be.rbd_user, be.rbd_secret_uuid) == (
        True, "volumes", "cinder", APPENDIX_UUID)
    assert cfg.cinder.backup_driver_is_ceph
    lv = cfg.libvirt
    assert (lv.images_type, lv.images_rbd_pool, lv.rbd_user) == ("rbd", "volumes", "cinder")
    assert lv.images_rbd_ceph_conf == "/etc/ceph/ceph.conf"
    assert (lv.inject_password, lv.inject_key, lv.inject_partition) == (False, False, -2)
    renamed = [w for w in cfg.warnings if "old spelling" in w]
    assert len(renamed) == 6, cfg.warnings  # the six libvirt_* names
    assert any("enabled_backends" in w and "DEFAULT" in w for w in cfg.warnings)
    assert any("not among stores" in w for w in cfg.warnings)  # current glance needs stores
    assert not [w for w in cfg.warnings if "unknown" in w or "not read" in w], cfg.warnings


@pytest.mark.parametrize("snippet", [VI_CINDER_BACKEND, APPENDIX_CINDER + APPENDIX_CINDER_AUTH])
def test_cinder_backend_snippets_load_in_a_named_backend_section(
        tmp_path: Path, snippet: str) -> None:
    text = f"[DEFAULT]\nenabled_backends = ceph\n[ceph]\n{snippet}"
    cfg = load_config(file=write(tmp_path / "shoal.conf", text), environ={})
    assert cfg.cinder_backend("ceph").rbd_pool == "volumes"
    assert cfg.cinder_backend("ceph").rbd_flatten_volume_from_snapshot is False
    # glance_api_version is a [DEFAULT] option: in a backend section it is unknown
    assert [w.rsplit(": ", 1)[-1] for w in cfg.warnings] == (
        ["unknown option [ceph] glance_api_version; ignored"]
        if "glance_api_version" in snippet else [])
