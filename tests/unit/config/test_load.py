"""Loading: invalid values name option, section, file and line; provenance; warnings; precedence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal import errors
from shoal.config import ConfigInvalid, load_config


def conf(tmp_path: Path, text: str, name: str = "shoal.conf") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- invalid values -----------------------------------------------------------------------

BAD = [
    # (section, line, reason fragment)
    ("glance_store", "show_image_direct_url = Treu", "not a boolean"),
    ("glance_store", "rbd_store_chunk_size = -8", "below the minimum 1"),
    ("glance_store", "rbd_store_chunk_size = 3", "not a power of two"),
    ("glance_store", "rbd_store_chunk_size = 64", "above the maximum 32"),
    ("glance_store", "rbd_store_chunk_size = 8M", "not an integer"),
    ("glance_store", "rbd_store_chunk_size =", "empty"),
    ("glance_store", "default_store = ftp", "not one of"),
    ("DEFAULT", "backup_ceph_chunk_size = -1", "below the minimum 1"),
    ("DEFAULT", "backup_ceph_stripe_count = -1", "below the minimum 0"),
    ("DEFAULT", "restore_discard_excess_bytes = maybe", "not a boolean"),
    ("ceph", "rbd_flatten_volume_from_snapshot = nope", "not a boolean"),
    ("ceph", "rbd_store_chunk_size = 6", "not a power of two"),
    ("ceph", "rbd_secret_uuid = 691c3607-not-a-uuid", "not a UUID"),
    ("libvirt", "images_type = ceph", "not one of raw, flat, qcow2, lvm, rbd, ploop, default"),
    ("libvirt", "hw_disk_discard = trim", "not one of ignore, unmap"),
    ("libvirt", "inject_partition = -3", "below the minimum -2"),
    ("libvirt", "inject_key = 2", "not a boolean"),
    ("client", "rbd cache = yes", "not a boolean"),
    ("client", "rbd concurrent management ops = 0", "below the minimum 1"),
    ("shoal", "backend = lvm", "not one of embedded, ceph"),
    ("shoal", "identity_port = 70000", "above the maximum 65535"),
]


@pytest.mark.parametrize(("section", "line", "reason"), BAD, ids=lambda v: str(v))
def test_invalid_value_names_option_section_file_and_line(
        tmp_path: Path, section: str, line: str, reason: str) -> None:
    text = f"[DEFAULT]\nenabled_backends = ceph\n\n[{section}]\n# a comment\n{line}\n"
    path = conf(tmp_path, text)
    with pytest.raises(ConfigInvalid) as info:
        load_config(file=path, environ={})
    exc = info.value
    name = line.split("=")[0].strip()
    assert isinstance(exc, errors.InvalidArgument) and exc.errno == 22
    assert exc.message.startswith(f"{path}:6: [{section}] {name} = ")
    assert reason in exc.message
    assert (exc.path, exc.line, exc.section) == (path, 6, section)
    assert exc.option == name.replace(" ", "_")


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("[libvirt]\ndisk_cachemodes = file=directsync,network=fast\n", 2, "network=fast"),
    ("[shoal]\nimage_port = 8000\nvolume_port = 8000\n", 3, "same port as image_port"),
    ("[DEFAULT]\nhashing_algorithm = sha513\n", 2, "not a hash algorithm"),
])
def test_invalid_combinations_name_the_option(
        tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = conf(tmp_path, text)
    with pytest.raises(ConfigInvalid, match=fragment) as info:
        load_config(file=path, environ={})
    assert info.value.message.startswith(f"{path}:{line}: ")


def test_invalid_environment_override_names_the_variable() -> None:
    with pytest.raises(ConfigInvalid, match=r"environment SHOAL_BACKEND='rados' \(\[shoal\] "
                                            r"backend\): 'rados' is not one of embedded, ceph"):
        load_config(environ={"SHOAL_BACKEND": "rados"})


@pytest.mark.parametrize(("text", "fragment"), [
    ("rbd_pool = volumes\n", ":1: 'rbd_pool' is outside any section"),
    ("[DEFAULT]\njust some words\n", ":2: cannot parse 'just some words'"),
])
def test_malformed_file_names_the_line(tmp_path: Path, text: str, fragment: str) -> None:
    path = conf(tmp_path, text)
    with pytest.raises(errors.InvalidArgument, match=fragment):
        load_config(file=path, environ={})


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(errors.NotFound, match="does not exist"):
        load_config(file=tmp_path / "nope.conf", environ={})
    with pytest.raises(errors.NotFound, match="does not exist"):
        load_config(directory=tmp_path / "nope", environ={})
    with pytest.raises(errors.NotFound, match="holds none of"):
        load_config(directory=tmp_path, environ={})
    with pytest.raises(errors.InvalidArgument, match="is a directory"):
        load_config(file=tmp_path, environ={})
    with pytest.raises(errors.InvalidArgument, match="not both"):
        load_config(file=tmp_path / "a", directory=tmp_path, environ={})


# --- provenance and precedence ---------------------------------------------------------------

def test_provenance_is_file_line_section_and_spelling(tmp_path: Path) -> None:
    path = conf(tmp_path, "[glance_store]\n\nrbd_store_pool = pics\n[client]\nrbd cache = false\n")
    cfg = load_config(file=path, environ={})
    pool = cfg.setting("glance_store", "rbd_store_pool")
    assert (pool.value, str(pool.source)) == ("pics", f"{path}:3 [glance_store] rbd_store_pool")
    cache = cfg.setting("client", "rbd_cache")
    assert (cache.value, cache.source.line, cache.source.name) == (False, 5, "rbd cache")
    user = cfg.setting("glance_store", "rbd_store_user")
    assert (user.value, str(user.source)) == (None, "default")
    assert user.source.to_json() == {"kind": "default"}
    assert pool.source.to_json() == {"kind": "file", "path": str(path), "line": 3,
                                     "section": "glance_store", "name": "rbd_store_pool"}


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = conf(tmp_path, "[shoal]\nbackend = embedded\ndata_dir = /srv/a\n")
    cfg = load_config(file=path, environ={"SHOAL_BACKEND": "ceph"})
    assert cfg.shoal.backend == "ceph" and str(cfg.setting("shoal", "backend").source) == (
        "env SHOAL_BACKEND")
    assert cfg.shoal.data_dir == "/srv/a"
    cfg = load_config(file=path, environ={"SHOAL_DATA_DIR": "/srv/b"})
    assert (cfg.shoal.backend, cfg.shoal.data_dir) == ("embedded", "/srv/b")


def test_last_repeated_option_wins(tmp_path: Path) -> None:
    path = conf(tmp_path, "[libvirt]\nimages_rbd_pool = a\nimages_rbd_pool = b\n")
    setting = load_config(file=path, environ={}).setting("libvirt", "images_rbd_pool")
    assert (setting.value, setting.source.line) == ("b", 3)


def test_backend_falls_back_to_backend_defaults_then_default(tmp_path: Path) -> None:
    text = ("[DEFAULT]\nenabled_backends = fast, slow\nrbd_user = cinder\n"
            "[backend_defaults]\nrbd_max_clone_depth = 2\n"
            "[fast]\nvolume_driver = cinder.volume.drivers.rbd.RBDDriver\nrbd_pool = ssd\n"
            "[slow]\nvolume_driver = cinder.volume.drivers.rbd.RBDDriver\nrbd_pool = hdd\n"
            "rbd_max_clone_depth = 0\n")
    cfg = load_config(file=conf(tmp_path, text), environ={})
    assert cfg.warnings == ()
    assert cfg.cinder_backends == ("fast", "slow")
    fast, slow = cfg.cinder_backend("fast"), cfg.cinder_backend("slow")
    assert (fast.rbd_pool, fast.rbd_max_clone_depth, fast.rbd_user) == ("ssd", 2, "cinder")
    assert (slow.rbd_pool, slow.rbd_max_clone_depth, slow.rbd_user) == ("hdd", 0, "cinder")
    assert cfg.setting("fast", "rbd_max_clone_depth").source.section == "backend_defaults"
    with pytest.raises(errors.NotFound, match="no enabled cinder backend 'lvm'"):
        cfg.cinder_backend("lvm")


def test_ceph_client_falls_back_to_global(tmp_path: Path) -> None:
    text = "[global]\nfsid = EFDE9CA7-5B57-4ED6-AE01-8CB3BEFE5BAC\nrbd cache = false\n[client]\n"
    cfg = load_config(file=conf(tmp_path, text), environ={})
    assert cfg.ceph_client.fsid == "efde9ca7-5b57-4ed6-ae01-8cb3befe5bac"
    assert cfg.ceph_client.rbd_cache is False
    assert cfg.warnings == ()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=30)
@given(st.lists(st.sampled_from([" ", "_", "\t", "  "]), min_size=3, max_size=3))
def test_ceph_names_with_spaces_and_underscores_are_one(
        tmp_path: Path, seps: list[str]) -> None:
    name = f"rbd{seps[0]}cache{seps[1]}writethrough{seps[2]}until_flush"
    path = conf(tmp_path, f"[client]\n{name} = false\n")
    cfg = load_config(file=path, environ={})
    assert cfg.ceph_client.rbd_cache_writethrough_until_flush is False
    assert cfg.warnings == ()


@pytest.mark.parametrize("name", ["rbd-cache", "RBD_CACHE", "rbd__cache"])
def test_ceph_names_with_dashes_case_or_double_underscores_are_others(
        tmp_path: Path, name: str) -> None:
    """As in Ceph, which ignores them (dashes are equivalent on its command line only)."""
    path = conf(tmp_path, f"[client]\n{name} = false\n")
    cfg = load_config(file=path, environ={})
    assert cfg.ceph_client.rbd_cache is True
    assert cfg.warnings == (f"{path}:2: unknown option [client] {name}; ignored",)


def test_oslo_dialect_quotes_case_and_continuations(tmp_path: Path) -> None:
    text = ("[GLANCE_STORE]\nrbd_store_pool = \"images\"\nrbd_store_user: 'glance'\n"
            "stores = rbd,\n   file\n[libvirt]\nimages_rbd_pool = vms # not a comment here\n")
    cfg = load_config(file=conf(tmp_path, text), environ={})
    gs = cfg.glance_store
    assert (gs.rbd_store_pool, gs.rbd_store_user) == ("images", "glance")
    assert gs.stores == ("rbd", "file")
    assert cfg.libvirt.images_rbd_pool == "vms # not a comment here"


def test_ceph_dialect_inline_comments_and_quotes(tmp_path: Path) -> None:
    text = '[client]\nlog file = "/var/log/a b.log"  # quoted\nadmin socket = /run/x.asok ; why\n'
    cc = load_config(file=conf(tmp_path, text), environ={}).ceph_client
    assert (cc.log_file, cc.admin_socket) == ("/var/log/a b.log", "/run/x.asok")


# --- warnings -------------------------------------------------------------------------------

def test_unknown_options_and_sections_warn_and_do_not_fail(tmp_path: Path) -> None:
    text = ("[glance_store]\nrbd_store_pol = typo\n[database]\nconnection = sqlite://\n"
            "[client]\nrbd cahce = true\n[DEFAULT]\nenabled_backends = lvm\n"
            "[lvm]\nvolume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver\n")
    path = conf(tmp_path, text)
    cfg = load_config(file=path, environ={})
    assert cfg.glance_store.rbd_store_pool == "images"
    assert sorted(cfg.warnings) == sorted([
        f"{path}:2: unknown option [glance_store] rbd_store_pol; ignored",
        f"{path}:3: section [database] is not read by shoal; ignored",
        f"{path}:6: unknown option [client] rbd cahce; ignored",
        "backend [lvm] uses volume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver: shoal "
        "serves only cinder.volume.drivers.rbd.RBDDriver; this backend will not be served",
    ])


def test_removed_option_warns(tmp_path: Path) -> None:
    path = conf(tmp_path, "[libvirt]\nlive_migration_flag = VIR_MIGRATE_LIVE\n")
    cfg = load_config(file=path, environ={})
    assert len(cfg.warnings) == 1 and "live_migration_flag" in cfg.warnings[0]
    assert "ignored" in cfg.warnings[0]


def test_enabled_backend_without_section_warns(tmp_path: Path) -> None:
    cfg = load_config(file=conf(tmp_path, "[DEFAULT]\nenabled_backends = ceph\n"), environ={})
    assert any("no [ceph] section" in w for w in cfg.warnings)
    assert cfg.cinder_backend("ceph").rbd_pool == "rbd"


def test_real_files_hold_only_their_programs_options(tmp_path: Path) -> None:
    conf(tmp_path, "[DEFAULT]\nbind_port = 9292\nshow_image_direct_url = true\n"
                   "[glance_store]\nrbd_store_pool = images\n[keystone_authtoken]\nx = 1\n",
         "glance-api.conf")
    conf(tmp_path, "[glance_store]\nrbd_store_pool = elsewhere\n[libvirt]\nimages_type = rbd\n",
         "nova.conf")
    conf(tmp_path, "[global]\nfsid = 691c3607-7ca3-433a-a0c0-5805cea8afa0\nmon_host = 10.0.0.1\n"
                   "osd pool default size = 3\n[client]\nrbd cache = false\n"
                   "[osd]\nosd journal size = 1024\n[mon.a]\nhost = ceph1\n", "ceph.conf")
    cfg = load_config(directory=tmp_path, environ={})
    assert cfg.glance_store.rbd_store_pool == "images"  # nova.conf's [glance_store] is not Glance's
    assert cfg.glance_store.show_image_direct_url is True
    assert cfg.libvirt.images_type == "rbd"
    assert (cfg.ceph_client.mon_host, cfg.ceph_client.rbd_cache) == ("10.0.0.1", False)
    nova = tmp_path / "nova.conf"
    glance = tmp_path / "glance-api.conf"
    assert sorted(cfg.warnings) == sorted([
        f"{glance}:2: unknown option [DEFAULT] bind_port; ignored",
        f"{glance}:6: section [keystone_authtoken] is read from shoal.conf only (one service "
        "user for every API); ignored",
        f"{nova}:1: section [glance_store] is not read by shoal; ignored",
    ])


def test_real_files_win_over_a_shoal_conf_in_the_directory(tmp_path: Path) -> None:
    conf(tmp_path, "[shoal]\nhost = 127.0.0.2\n[libvirt]\nimages_rbd_pool = a\n")
    conf(tmp_path, "[libvirt]\nimages_rbd_pool = b\n", "nova.conf")
    cfg = load_config(directory=tmp_path, environ={})
    assert (cfg.shoal.host, cfg.libvirt.images_rbd_pool) == ("127.0.0.2", "b")
    assert cfg.setting("libvirt", "images_rbd_pool").source.path == tmp_path / "nova.conf"


def test_json_masks_secrets(tmp_path: Path) -> None:
    path = conf(tmp_path, "[shoal]\nadmin_password = hunter2\n")
    cfg = load_config(file=path, environ={})
    doc = cfg.to_json()
    row = next(o for o in doc["options"] if o["name"] == "admin_password")  # type: ignore[attr-defined]
    assert row["value"] == "****"
    assert "hunter2" not in str(doc)
    assert "hunter2" in str(cfg.to_json(show_secrets=True))
    assert cfg.shoal.admin_password == "hunter2"


def test_ceph_sections_of_shoal_conf_are_read_by_the_ceph_reader(tmp_path: Path) -> None:
    text = ("[shoal]\nbackend = embedded\n[client]\n# Ceph's comments, escapes, continuations\n"
            "log file = /var/log/a\\#1.log#inline\nadmin socket = /run/x\\\n.asok\n"
            "rbd cache = 0 ; integers are booleans to Ceph\n[libvirt]\nimages_rbd_pool = v#1\n")
    cfg = load_config(file=conf(tmp_path, text), environ={})
    cc = cfg.ceph_client
    assert (cc.log_file, cc.admin_socket, cc.rbd_cache) == ("/var/log/a#1.log", "/run/x.asok",
                                                            False)
    assert cfg.setting("client", "rbd_cache").source.line == 8
    assert cfg.libvirt.images_rbd_pool == "v#1"  # oslo.config: no inline comments


@pytest.mark.parametrize(("file", "text", "fragment"), [
    ("shoal.conf", "[shoal]\nbackend = embedded\n\n[client]\nrbd cache = \"on\n",
     ":5: the quoted value lacks its closing"),
    ("shoal.conf", "[client]\nrbd cache = yes\n", ":2: [client] rbd cache = 'yes': 'yes' is "
                                                  "not a boolean"),
    ("ceph.conf", "[global]\nfsid = x\n  [client]\n", ":3: cannot parse '[client]': a [section] "
                                                      "heading must start its line"),
])
def test_ceph_errors_name_the_file_and_line(tmp_path: Path, file: str, text: str,
                                            fragment: str) -> None:
    path = conf(tmp_path, text, file)
    with pytest.raises(errors.InvalidArgument, match=re.escape(f"{path}{fragment}")):
        if file == "ceph.conf":
            load_config(directory=tmp_path, environ={})
        else:
            load_config(file=path, environ={})
