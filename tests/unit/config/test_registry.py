"""The option registry: upstream's defaults, types, help, and the typed views in step with it."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shoal import config
from shoal.cluster._conf import parse_bool as parse_ceph_bool
from shoal.config import BACKEND, OPTIONS, Option, load_config
from shoal.config._types import parse_oslo_bool

# (section, name): upstream's built-in default (SPEC.md and the upstream sources).
UPSTREAM_DEFAULTS: dict[tuple[str, str], object] = {
    ("glance_store", "stores"): ("file", "http"),
    ("glance_store", "default_store"): "file",
    ("glance_store", "rbd_store_chunk_size"): 8,
    ("glance_store", "rbd_store_pool"): "images",
    ("glance_store", "rbd_store_user"): None,
    ("glance_store", "rbd_store_ceph_conf"): "",
    ("glance_store", "rados_connect_timeout"): -1,
    ("glance_store", "rbd_thin_provisioning"): False,
    ("glance_store", "show_image_direct_url"): False,
    ("DEFAULT", "hashing_algorithm"): "sha512",
    ("DEFAULT", "enabled_backends"): None,
    ("DEFAULT", "backup_ceph_conf"): "/etc/ceph/ceph.conf",
    ("DEFAULT", "backup_ceph_user"): "cinder",
    ("DEFAULT", "backup_ceph_chunk_size"): 134217728,
    ("DEFAULT", "backup_ceph_pool"): "backups",
    ("DEFAULT", "backup_ceph_stripe_unit"): 0,
    ("DEFAULT", "backup_ceph_stripe_count"): 0,
    ("DEFAULT", "backup_ceph_image_journals"): False,
    ("DEFAULT", "backup_ceph_max_snapshots"): 0,
    ("DEFAULT", "restore_discard_excess_bytes"): True,
    (BACKEND, "volume_driver"): "cinder.volume.drivers.lvm.LVMVolumeDriver",
    (BACKEND, "rbd_cluster_name"): "ceph",
    (BACKEND, "rbd_pool"): "rbd",
    (BACKEND, "rbd_user"): None,
    (BACKEND, "rbd_ceph_conf"): "",
    (BACKEND, "rbd_flatten_volume_from_snapshot"): False,
    (BACKEND, "rbd_secret_uuid"): None,
    (BACKEND, "rbd_max_clone_depth"): 5,
    (BACKEND, "rbd_store_chunk_size"): 4,
    (BACKEND, "rados_connect_timeout"): -1,
    (BACKEND, "rados_connection_retries"): 3,
    (BACKEND, "rados_connection_interval"): 5,
    (BACKEND, "report_dynamic_total_capacity"): True,
    (BACKEND, "rbd_exclusive_cinder_pool"): True,
    (BACKEND, "enable_deferred_deletion"): False,
    (BACKEND, "deferred_deletion_delay"): 0,
    (BACKEND, "deferred_deletion_purge_interval"): 60,
    (BACKEND, "rbd_concurrent_flatten_operations"): 3,
    (BACKEND, "image_volume_cache_enabled"): False,
    ("libvirt", "images_type"): "default",
    ("libvirt", "images_rbd_pool"): "rbd",
    ("libvirt", "images_rbd_ceph_conf"): "",
    ("libvirt", "images_rbd_glance_store_name"): "",
    ("libvirt", "rbd_user"): None,
    ("libvirt", "rbd_secret_uuid"): None,
    ("libvirt", "rbd_connect_timeout"): 5,
    ("libvirt", "rbd_destroy_volume_retries"): 12,
    ("libvirt", "rbd_destroy_volume_retry_interval"): 5,
    ("libvirt", "inject_password"): False,
    ("libvirt", "inject_key"): False,
    ("libvirt", "inject_partition"): -2,
    ("libvirt", "hw_disk_discard"): None,
    ("libvirt", "disk_cachemodes"): (),
    ("workarounds", "never_download_image_if_on_rbd"): False,
    ("DEFAULT", "force_raw_images"): True,
    ("client", "rbd_cache"): True,
    ("client", "rbd_cache_writethrough_until_flush"): True,
    ("client", "rbd_concurrent_management_ops"): 10,
    ("client", "rbd_default_features"): "61",
    ("client", "rbd_default_order"): 22,
    ("shoal", "backend"): "embedded",
    ("shoal", "host"): "127.0.0.1",
    ("DEFAULT", "auth_strategy"): "keystone",
    ("keystone_authtoken", "www_authenticate_uri"): None,
    ("keystone_authtoken", "auth_url"): None,
    ("keystone_authtoken", "auth_type"): None,
    ("keystone_authtoken", "token_cache_time"): 300,
    ("keystone_authtoken", "http_connect_timeout"): None,
    ("keystone_authtoken", "http_request_max_retries"): 3,
    ("keystone_authtoken", "insecure"): False,
    ("keystone_authtoken", "memcached_servers"): None,
    ("keystone_authtoken", "service_token_roles"): ("service",),
    ("keystone_authtoken", "service_token_roles_required"): False,
}

_REGISTRY = {(o.section, o.name): o for o in OPTIONS}


@pytest.mark.parametrize(("key", "default"), UPSTREAM_DEFAULTS.items(), ids=str)
def test_default_is_upstreams(key: tuple[str, str], default: object) -> None:
    assert _REGISTRY[key].default == default


def test_every_option_has_help_and_a_consistent_type() -> None:
    assert len(_REGISTRY) == len(OPTIONS)  # no option registered twice
    for opt in OPTIONS:
        assert opt.help.strip(), opt
        if opt.kind == "enum":
            assert opt.choices and (opt.default is None or opt.default in opt.choices), opt
        if opt.kind == "int" and opt.default is not None:
            assert isinstance(opt.default, int), opt
            opt.parse(str(opt.default))  # within its own bounds
        if opt.kind == "bool":
            assert isinstance(opt.default, bool), opt


_VIEWS: list[tuple[type[object], str, str | None]] = [
    (config.GlanceStoreSection, "glance_store", None),
    (config.GlanceSection, "DEFAULT", "glance"),
    (config.CinderSection, "DEFAULT", "cinder"),
    (config.CinderBackendSection, BACKEND, None),
    (config.NovaSection, "DEFAULT", "nova"),
    (config.LibvirtSection, "libvirt", None),
    (config.WorkaroundsSection, "workarounds", None),
    (config.CephClientSection, "client", None),
    (config.ShoalSection, "shoal", None),
    (config.KeystoneAuthtokenSection, "keystone_authtoken", None),
]


@pytest.mark.parametrize(("view", "section", "service"), _VIEWS, ids=lambda v: str(v))
def test_typed_views_have_one_field_per_option(
        view: type[object], section: str, service: str | None) -> None:
    names = {f.name for f in dataclasses.fields(view)} - {"name"}  # type: ignore[arg-type]
    registered = {o.name for o in OPTIONS
                  if o.section == section and service in (None, o.service)}
    assert names == registered


def test_defaults_only_config_uses_every_default() -> None:
    cfg = load_config(environ={})
    assert cfg.sources == () and cfg.warnings == ()
    assert {s.source.kind for s in cfg.settings} == {"default"}
    assert cfg.cinder_backends == ()
    assert cfg.glance_store.stores == ("file", "http")
    assert cfg.libvirt.images_type == "default"
    assert cfg.shoal.ports == {"identity": 5000, "image": 9292, "volume": 8776, "compute": 8774}


# --- value types ---------------------------------------------------------------------------

_OSLO = {"true": True, "1": True, "on": True, "yes": True,
         "false": False, "0": False, "off": False, "no": False}


@given(st.sampled_from(sorted(_OSLO)), st.data())
def test_oslo_bool_spellings_any_case(word: str, data: st.DataObject) -> None:
    mixed = "".join(data.draw(st.sampled_from([c.lower(), c.upper()])) for c in word)
    assert parse_oslo_bool(f" {mixed} ") is _OSLO[word]


@pytest.mark.parametrize("text", ["", "ture", "2", "y", "t", "enabled"])
def test_oslo_bool_rejects_other_words(text: str) -> None:
    with pytest.raises(ValueError, match="not a boolean"):
        parse_oslo_bool(text)


@pytest.mark.parametrize(("text", "value"), [
    ("true", True), ("FALSE", False), ("1", True), ("0", False), ("20", True), ("-1", True)])
def test_ceph_bool(text: str, value: bool) -> None:
    assert parse_ceph_bool(text) is value


@pytest.mark.parametrize("text", ["yes", "on", "", "1.0"])
def test_ceph_bool_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ceph_bool(text)


def _opt(section: str, name: str) -> Option:
    return _REGISTRY[(section, name)]


@given(st.integers(min_value=0, max_value=40))
def test_chunk_size_is_a_power_of_two_mib_up_to_32(exponent_or_value: int) -> None:
    opt = _opt("glance_store", "rbd_store_chunk_size")
    ok = 1 <= exponent_or_value <= 32 and exponent_or_value & (exponent_or_value - 1) == 0
    if ok:
        assert opt.parse(str(exponent_or_value)) == exponent_or_value
    else:
        with pytest.raises(ValueError):
            opt.parse(str(exponent_or_value))


@given(st.integers(min_value=-(2**40), max_value=2**40))
def test_int_options_round_trip_within_bounds(value: int) -> None:
    for opt in OPTIONS:
        if opt.kind != "int" or opt.power_of_two:
            continue
        inside = ((opt.minimum is None or value >= opt.minimum)
                  and (opt.maximum is None or value <= opt.maximum))
        if inside:
            assert opt.parse(opt.format(value)) == value
        else:
            with pytest.raises(ValueError):
                opt.parse(opt.format(value))


@given(st.lists(st.text(alphabet="abcxyz_+-0123", min_size=1, max_size=8), max_size=5))
def test_list_round_trip(items: list[str]) -> None:
    opt = _opt("glance_store", "stores")
    assert opt.parse(opt.format(tuple(items))) == tuple(items)


@given(st.uuids())
def test_uuid_round_trip_any_case(value: object) -> None:
    opt = _opt("libvirt", "rbd_secret_uuid")
    assert opt.parse(str(value).upper()) == str(value)


def test_every_default_formats_and_parses_back() -> None:
    for opt in OPTIONS:
        if opt.default is None:
            continue
        assert opt.parse(opt.format(opt.default)) == opt.default, opt


@pytest.mark.parametrize(("text", "value"), [
    ("33554432", 32 << 20), ("32M", 32 << 20), ("32Mi", 32 << 20), ("32MiB", 32 << 20),
    ("4K", 4096), ("1G", 1 << 30), ("512B", 512), (" 64M ", 64 << 20)])
def test_ceph_sizes_take_binary_suffixes(text: str, value: int) -> None:
    assert _opt("client", "rbd_cache_size").parse(text) == value


@pytest.mark.parametrize("text", ["", "M", "32X", "32 MB", "3.5M", "32iB", "-"])
def test_ceph_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        _opt("client", "rbd_cache_size").parse(text)
