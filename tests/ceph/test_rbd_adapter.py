"""shoal's librbd adapter (``shoal.rbd.ceph``): the RBD contract, and what the CLI needs beyond it.

The contract runs with the adapter's ``RBD``/``Image`` and shoal.rbd's exception classes, so it
proves the adapter translates librbd faithfully; the tests below cover the embedded-engine
interface the contract does not (stat, timestamps, parent specs, trash entries, errors' errnos).
"""

from __future__ import annotations

import errno
import inspect
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import shoal.rbd
import shoal.rbd.ceph as ceph
from shoal import errors
from shoal.objstore import SNAP_HEAD
from shoal.objstore.local import LocalStore
from shoal.rbd._ceph_errors import to_shoal
from shoal.rbd.backend import rbd_lib_for
from tests._tools import missing_tool
from tests.ceph.conftest import import_ceph_bindings
from tests.ceph.test_rbd_contract_ceph import pool_ioctx
from tests.contract.rbd_contract import RbdContract

MiB = 1 << 20


class TestCephAdapterRbd(RbdContract):
    @pytest.fixture
    def lib(self) -> ModuleType:
        return ceph

    @pytest.fixture
    def ioctx(self, rados_cluster: Any) -> Iterator[Any]:
        with pool_ioctx(rados_cluster, "rbd-adapter") as io:
            yield io

    @pytest.fixture
    def ioctx2(self, rados_cluster: Any) -> Iterator[Any]:
        with pool_ioctx(rados_cluster, "rbd-adapter2") as io:
            yield io


# --- what the contract does not cover ----------------------------------------------------------

_LIBRBD_CLASSES = [
    ("PermissionError", errno.EPERM, shoal.rbd.PermissionError),
    ("ImageNotFound", errno.ENOENT, shoal.rbd.ImageNotFound),
    ("IOError", errno.EIO, errors.ShoalError),
    ("NoSpace", errno.ENOSPC, shoal.rbd.NoSpace),
    ("ImageExists", errno.EEXIST, shoal.rbd.ImageExists),
    ("InvalidArgument", errno.EINVAL, shoal.rbd.InvalidArgument),
    ("ReadOnlyImage", errno.EROFS, shoal.rbd.ReadOnlyImage),
    ("ImageBusy", errno.EBUSY, shoal.rbd.ImageBusy),
    ("ImageHasSnapshots", errno.ENOTEMPTY, shoal.rbd.ImageHasSnapshots),
    ("FunctionNotSupported", errno.ENOSYS, shoal.rbd.FunctionNotSupported),
    ("ArgumentOutOfRange", errno.EDOM, shoal.rbd.ArgumentOutOfRange),
    ("ConnectionShutdown", errno.ESHUTDOWN, errors.Unavailable),
    ("Timeout", errno.ETIMEDOUT, errors.TimedOut),
    ("OperationNotSupported", errno.EOPNOTSUPP, shoal.rbd.OperationNotSupported),
    ("OperationCanceled", errno.ECANCELED, errors.Canceled),
    ("DiskQuotaExceeded", errno.EDQUOT, errors.ShoalError),
]


@pytest.fixture
def io(rados_cluster: Any) -> Iterator[Any]:
    with pool_ioctx(rados_cluster, "rbd-adapter-extra") as ioctx:
        yield ioctx


@pytest.fixture
def embedded_io(tmp_path: Path) -> Iterator[Any]:
    with LocalStore(tmp_path / "osd") as store:
        store.create_pool("rbd", 8)
        yield store.open_ioctx("rbd")


@pytest.mark.parametrize(("name", "code", "expected"), _LIBRBD_CLASSES)
def test_every_librbd_exception_maps_with_its_errno(
    ceph_cluster: Any, name: str, code: int, expected: type[errors.ShoalError]
) -> None:
    _, rbd = import_ceph_bindings()  # ceph_cluster: skipped with the other Ceph tests
    librbd_exc = getattr(rbd, name)("boom", errno=code)
    assert librbd_exc.errno == code
    mapped = to_shoal(librbd_exc, "op")
    assert isinstance(mapped, expected)
    assert mapped.errno == code
    assert "op" in str(mapped)


def test_real_errors_are_translated_and_chained(io: Any) -> None:
    _, rbd = import_ceph_bindings()
    with pytest.raises(shoal.rbd.ImageNotFound) as info:
        ceph.Image(io, "nope")
    assert info.value.errno == errno.ENOENT
    assert isinstance(info.value.__cause__, rbd.ImageNotFound)


def test_callback_errors_pass_through(io: Any) -> None:
    ceph.RBD().create(io, "img", MiB)
    with ceph.Image(io, "img") as img:
        img.write(b"x", 0)

        def fail(offset: int, length: int, exists: bool) -> None:
            raise ValueError("from the callback")

        with pytest.raises(ValueError, match="from the callback"):
            img.diff_iterate(0, MiB, None, fail)


def test_missing_bindings_are_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rbd", None)  # makes `import rbd` raise ImportError
    with pytest.raises(errors.Unavailable, match="python3-rbd"):
        ceph.RBD().list(object())


def test_negative_sizes_are_invalid(io: Any) -> None:
    with pytest.raises(shoal.rbd.InvalidArgument):
        ceph.RBD().create(io, "neg", -1)
    ceph.RBD().create(io, "img", MiB)
    with ceph.Image(io, "img") as img, pytest.raises(shoal.rbd.InvalidArgument):
        img.resize(-1)
    assert ceph.RBD().list(io) == ["img"]


def test_closed_image_refuses_calls(io: Any) -> None:
    ceph.RBD().create(io, "img", MiB)
    img = ceph.Image(io, "img")
    img.close()
    img.close()  # idempotent
    with pytest.raises(shoal.rbd.InvalidArgument):
        img.size()
    with pytest.raises(shoal.rbd.InvalidArgument):
        ceph.Image(io, "img", image_id="abc")


#: The embedded engine's own sweep of what crashed operations leave in its pools (librbd
#: leaves such objects to administrators: ``rbd trash ls --all``, ``rados rm``).
EMBEDDED_ONLY = {"purge_leftovers", "trash_records"}


def test_public_interface_covers_the_embedded_engine() -> None:
    """Every public method of the embedded RBD/Image exists on the adapter and accepts the
    same parameters (by name, in order), so the CLI and services can call either."""
    for embedded_cls, adapter_cls in ((shoal.rbd.RBD, ceph.RBD), (shoal.rbd.Image, ceph.Image)):
        for name, member in inspect.getmembers(embedded_cls):
            if name.startswith("_") and name not in ("__init__", "__enter__", "__exit__"):
                continue
            if name in EMBEDDED_ONLY:
                continue
            assert hasattr(adapter_cls, name), f"{adapter_cls.__name__}.{name} missing"
            if not callable(member):
                continue
            want = list(inspect.signature(member).parameters)
            have = list(inspect.signature(getattr(adapter_cls, name)).parameters)
            assert have[: len(want)] == want, f"{name}: {have} vs {want}"
    assert set(shoal.rbd.__all__) <= set(ceph.__all__)
    for name in shoal.rbd.__all__:
        if name not in ("RBD", "Image"):
            assert getattr(ceph, name) is getattr(shoal.rbd, name), name


def _scenario(lib: Any, io: Any) -> dict[str, Any]:
    """The same operations on either backend; returns what the CLI reads."""
    rbd = lib.RBD()
    rbd.create(io, "parent", 8 * MiB)
    with lib.Image(io, "parent") as img:
        img.write(b"p" * 4096, 0)
        img.metadata_set("k", "v")
        img.create_snap("snap")
        img.protect_snap("snap")
        out: dict[str, Any] = {
            "stat": img.stat(),
            "snaps": list(img.list_snaps()),
            "owners": img.lock_get_owners(),
            "metadata": img.metadata_list(),
            "times": [img.create_timestamp(), img.access_timestamp(), img.modify_timestamp()],
            "layout": img.layout,
            "flags": img.flags(),
            "plain_parent": img.parent_spec(),
        }
        with pytest.raises(errors.NotFound):
            img.metadata_get("missing")
    rbd.clone(io, "parent", "snap", io, "child")
    with lib.Image(io, "parent", snapshot="snap") as at:
        out["children"] = at.list_children2()
        out["snap_id"] = at.snapshot_id()
    with lib.Image(io, "child") as child:
        out["parent_image_spec"] = child.get_parent_image_spec()
        out["parent_spec"] = child.parent_spec()
        out["parent_id"] = rbd.image_id(io, "parent")
    out["list2"] = rbd.list2(io)
    rbd.create(io, "gone", MiB)
    rbd.trash_move(io, "gone", 3600)
    out["trash"] = rbd.trash_list(io)
    out["purged"] = rbd.trash_purge(io)
    return out


def _shape(value: Any) -> Any:
    """Keys and types, not values."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_shape(v) for v in value]
    return type(value).__name__


def test_answers_have_the_embedded_engines_shapes(io: Any, embedded_io: Any) -> None:
    real = _scenario(ceph, io)
    local = _scenario(shoal.rbd, embedded_io)
    for key in real:
        assert _shape(real[key]) == _shape(local[key]), key
    assert real["stat"]["parent_pool"] == -1 and real["stat"]["parent_name"] == ""
    assert [s["protected"] for s in real["snaps"]] == [True]
    assert real["layout"] == local["layout"]
    assert len(real["owners"]) == 1 and real["purged"] == 0  # this handle wrote: it owns
    assert real["metadata"] == local["metadata"] == [("k", "v")]
    spec = real["parent_spec"]
    assert spec.pool_id == io.get_pool_id()
    assert spec.image_id == real["parent_id"] == real["parent_image_spec"]["image_id"]
    assert spec.snap_id == real["snap_id"] == real["snaps"][0]["id"]
    assert spec.overlap == 8 * MiB
    assert real["parent_image_spec"]["snap_name"] == "snap"
    assert real["plain_parent"] is None
    deleted = real["trash"][0]
    assert deleted["deferment_end_time"] - deleted["deletion_time"] == pytest.approx(3600, abs=2)
    assert abs(deleted["deletion_time"] - time.time()) < 300


def test_lock_owner_and_write_zeroes(io: Any) -> None:
    ceph.RBD().create(io, "img", MiB)
    with ceph.Image(io, "img") as img:
        assert img.lock_get_owners() == []
        img.write(b"x" * 100, 0)
        assert img.is_exclusive_lock_owner()
        [owner] = img.lock_get_owners()
        assert owner["mode"] == shoal.rbd.RBD_LOCK_MODE_EXCLUSIVE and owner["owner"]
        img.write_zeroes(10, 20)
        assert img.read(0, 40) == b"x" * 10 + bytes(20) + b"x" * 10


def test_explicit_options_supply_defaults(io: Any) -> None:
    opts = shoal.rbd.RbdOptions(default_features=shoal.rbd.FEATURE_LAYERING, default_order=20)
    ceph.RBD(opts).create(io, "mine", MiB)
    ceph.RBD().create(io, "librbds", MiB)
    with ceph.Image(io, "mine") as img:
        assert (img.features(), img.order()) == (shoal.rbd.FEATURE_LAYERING, 20)
    with ceph.Image(io, "librbds") as img:
        assert (img.features(), img.order()) == (shoal.rbd.FEATURES_DEFAULT, 22)


def test_rbd_lib_for_picks_the_backend(io: Any, embedded_io: Any) -> None:
    # shoal's RadosIoCtx says it is a Ceph one (``backend``); nothing is probed for ``raw``
    wrapped = pytest.importorskip("shoal.objstore.rados").RadosIoCtx(io)
    assert rbd_lib_for(io) is ceph
    assert rbd_lib_for(wrapped) is ceph
    assert rbd_lib_for(embedded_io) is shoal.rbd
    with pytest.raises(errors.InvalidArgument):
        rbd_lib_for(object())
    lib = rbd_lib_for(wrapped)
    lib.RBD().create(wrapped, "img", MiB)
    with lib.Image(wrapped, "img") as img:
        assert img.ioctx is wrapped
        img.write(b"via raw", 0)
    with lib.Image(io, "img", read_only=True) as img:
        assert img.read(0, 7) == b"via raw"
    assert lib.RBD().list(wrapped) == ["img"]


def test_trash_purge_counts_and_takes_a_posix_time(io: Any) -> None:
    rbd = ceph.RBD()
    for name in ("a", "b"):
        rbd.create(io, name, MiB)
        rbd.trash_move(io, name, 3600)
    assert rbd.trash_purge(io) == 0
    assert rbd.trash_purge(io, time.time() + 7200) == 2
    assert rbd.trash_list(io) == []


def test_shoal_rados_ioctx(io: Any) -> None:
    """With shoal's own RadosIoCtx the adapter uses its ``raw``."""
    try:
        from shoal.objstore import rados as rados_store
    except ImportError as exc:
        missing_tool(f"Debian's python3-rados ({exc})", "bash scripts/ceph-dev pth")
    wrapped = rados_store.RadosIoCtx(io)
    lib = rbd_lib_for(wrapped)
    assert lib is ceph
    lib.RBD().create(wrapped, "parent", MiB)
    with lib.Image(wrapped, "parent") as img:
        img.write(b"through RadosIoCtx", 0)
        img.create_snap("s")
        img.protect_snap("s")
    lib.RBD().clone(wrapped, "parent", "s", wrapped, "child")
    with lib.Image(wrapped, "child") as child:
        assert child.ioctx is wrapped
        assert child.read(0, 18) == b"through RadosIoCtx"
        assert child.parent_info() == (io.get_pool_name(), "parent", "s")


@pytest.mark.parametrize("backend", ["embedded", "ceph"])
def test_snapshot_navigation(backend: str, io: Any, embedded_io: Any) -> None:
    """set_snap / set_snap_by_id / snapshot_id / remove_snap_by_id read the same on both."""
    lib, ioctx = (shoal.rbd, embedded_io) if backend == "embedded" else (ceph, io)
    lib.RBD().create(ioctx, "img", MiB)
    with lib.Image(ioctx, "img") as img:
        img.write(b"old", 0)
        img.create_snap("a")
        img.write(b"new", 0)
        img.create_snap("b")
        ids = {s["name"]: s["id"] for s in img.list_snaps()}
        assert img.snapshot_id() == SNAP_HEAD
        img.set_snap("a")
        assert (img.snapshot_id(), img.read(0, 3)) == (ids["a"], b"old")
        with pytest.raises(errors.ReadOnly):  # exact class: contract test_set_snap_...
            img.write(b"x", 0)
        img.set_snap_by_id(ids["b"])
        assert (img.snapshot_id(), img.read(0, 3)) == (ids["b"], b"new")
        assert img.snap_get_timestamp(ids["b"]) <= datetime.now() + timedelta(minutes=5)
        img.set_snap(None)
        assert img.snapshot_id() == SNAP_HEAD
        img.write(b"head", 0)
        img.remove_snap_by_id(ids["a"])
        assert [s["name"] for s in img.list_snaps()] == ["b"]
        with pytest.raises(shoal.rbd.ImageNotFound):
            img.set_snap("a")
