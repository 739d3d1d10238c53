"""The guide's shoal.conf: written, loaded back, built-in defaults untouched."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal import errors
from shoal.config import BACKEND, GUIDE_BACKEND, OPTIONS, Option, load_config, write_default
from tests.unit.config.test_guides import VI_SHOAL_CONF

SECRET = "691c3607-7ca3-433a-a0c0-5805cea8afa0"


def test_written_file_holds_the_guides_configuration(tmp_path: Path) -> None:
    path = write_default(tmp_path / "data" / "shoal.conf", secret_uuid=SECRET)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cfg = load_config(file=path, environ={})
    assert cfg.warnings == ()
    guide = load_config(file=_write(tmp_path / "guide.conf", VI_SHOAL_CONF), environ={})
    # every value the guide sets is the written file's value
    for s in guide.settings:
        if s.source.kind == "file":
            assert cfg.setting(s.section, s.name).value == s.value, s
    gs, be, lv = cfg.glance_store, cfg.cinder_backend(GUIDE_BACKEND), cfg.libvirt
    assert (gs.show_image_direct_url, gs.default_store, gs.rbd_store_chunk_size) == (True, "rbd", 8)
    assert (be.rbd_flatten_volume_from_snapshot, be.rbd_max_clone_depth) == (False, 5)
    assert (lv.images_type, lv.images_rbd_pool, lv.hw_disk_discard) == ("rbd", "vms", "unmap")
    assert not lv.injection_enabled and lv.inject_partition == -2
    assert be.rbd_secret_uuid == lv.rbd_secret_uuid == SECRET
    assert cfg.cinder.backup_driver_is_ceph
    assert cfg.shoal.admin_password and cfg.shoal.demo_password
    assert cfg.shoal.admin_password != cfg.shoal.demo_password


def test_every_written_line_comes_from_the_file_with_its_line(tmp_path: Path) -> None:
    path = write_default(tmp_path / "shoal.conf")
    lines = path.read_text().splitlines()
    cfg = load_config(file=path, environ={})
    from_file = [s for s in cfg.settings if s.source.kind == "file"]
    assert len(from_file) == sum(1 for ln in lines if ln and ln[0] not in "#[")
    for s in from_file:
        assert s.source.line is not None
        assert lines[s.source.line - 1].startswith(f"{s.source.name} = ")


def test_generated_secret_uuids_are_fresh_uuid4s(tmp_path: Path) -> None:
    a = load_config(file=write_default(tmp_path / "a.conf"), environ={})
    b = load_config(file=write_default(tmp_path / "b.conf"), environ={})
    ua, ub = a.libvirt.rbd_secret_uuid, b.libvirt.rbd_secret_uuid
    assert ua and ub and ua != ub and uuid.UUID(ua).version == 4
    assert a.cinder_backend("ceph").rbd_secret_uuid == ua


def test_built_in_defaults_stay_upstreams_after_writing(tmp_path: Path) -> None:
    write_default(tmp_path / "shoal.conf")
    cfg = load_config(environ={})
    assert cfg.glance_store.show_image_direct_url is False
    assert cfg.glance_store.default_store == "file"
    assert cfg.libvirt.images_type == "default"
    assert cfg.libvirt.images_rbd_pool == "rbd"


def test_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    path = write_default(tmp_path / "shoal.conf", secret_uuid=SECRET)
    path.write_text("[shoal]\n")
    with pytest.raises(errors.AlreadyExists, match="exists"):
        write_default(path)
    assert path.read_text() == "[shoal]\n"
    write_default(path, overwrite=True, ceph_conf="/srv/shoal/ceph.conf", data_dir="/srv/shoal")
    cfg = load_config(file=path, environ={})
    assert cfg.glance_store.rbd_store_ceph_conf == "/srv/shoal/ceph.conf"
    assert cfg.cinder.backup_ceph_conf == "/srv/shoal/ceph.conf"
    assert cfg.shoal.data_dir == "/srv/shoal"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_bad_secret_uuid_is_refused(tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidArgument, match="not a UUID"):
        write_default(tmp_path / "shoal.conf", secret_uuid="nope")
    assert not (tmp_path / "shoal.conf").exists()


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --- round trip: any valid value written as INI text loads back equal ----------------------

_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_./-$", min_size=1, max_size=12)


def _values(opt: Option) -> st.SearchStrategy[object]:
    if opt.name == "hashing_algorithm":  # checked against hashlib at load
        return st.sampled_from(["sha256", "sha512", "md5"])
    if opt.name == "auth_strategy":  # noauth is refused at load
        return st.just("keystone")
    if opt.name == "www_authenticate_uri":  # an http(s) URL
        return st.sampled_from(["http://keystone.test:5000", "https://k.test/identity/v3"])
    if opt.kind == "bool":
        return st.booleans()
    if opt.kind == "int":
        if opt.power_of_two:
            return st.sampled_from([1, 2, 4, 8, 16, 32])
        return st.integers(min_value=opt.minimum if opt.minimum is not None else -(2**31),
                           max_value=opt.maximum if opt.maximum is not None else 2**31)
    if opt.kind == "enum":
        return st.sampled_from(opt.choices)
    if opt.kind == "list":
        return st.lists(_TEXT, max_size=3).map(tuple)
    if opt.kind == "uuid":
        return st.uuids().map(str)
    return _TEXT


def _candidate(o: Option) -> bool:
    if o.section == "shoal":  # ports must differ: one port and the host suffice
        return o.name in ("host", "identity_port")
    if o.section == "keystone_authtoken":  # auth_url needs credentials: tested apart
        return o.name != "auth_url"
    return not o.removed and o.name not in ("disk_cachemodes", "enabled_backends")


_CANDIDATES = [o for o in OPTIONS if _candidate(o)]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40)
@given(st.data())
def test_round_trip_of_random_values(tmp_path: Path, data: st.DataObject) -> None:
    chosen = data.draw(st.lists(st.sampled_from(_CANDIDATES), min_size=1, max_size=12,
                                unique_by=lambda o: (o.section, o.name)))
    values = {(o.section, o.name): data.draw(_values(o)) for o in chosen}
    by_section: dict[str, list[str]] = {}
    for o in chosen:
        section = GUIDE_BACKEND if o.section == BACKEND else o.section
        text = o.format(values[(o.section, o.name)])
        by_section.setdefault(section, []).append(f"{o.name} = {text}")
    by_section.setdefault("DEFAULT", []).insert(0, "enabled_backends = ceph")
    text = "".join(f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in by_section.items())
    path = _write(tmp_path / "rt.conf", text)
    cfg = load_config(file=path, environ={})
    assert not [w for w in cfg.warnings if "unknown" in w], cfg.warnings
    for o in chosen:
        section = GUIDE_BACKEND if o.section == BACKEND else o.section
        assert cfg.setting(section, o.name).value == values[(o.section, o.name)], (o, text)
