"""The declared RBD interface: librbd's constant names and values, and backend selection
by what an I/O context says it is."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

import shoal.rbd
import shoal.rbd.ceph as ceph
from shoal import errors
from shoal.objstore.memory import MemoryStore
from shoal.rbd._ceph_errors import raw_ioctx
from shoal.rbd.backend import is_ceph_ioctx, rbd_lib_for

#: librbd's values (``rbd.pyx``, Ceph 16).
LIBRBD = {
    "RBD_FEATURE_LAYERING": 1,
    "RBD_FEATURE_STRIPINGV2": 2,
    "RBD_FEATURE_EXCLUSIVE_LOCK": 4,
    "RBD_FEATURE_OBJECT_MAP": 8,
    "RBD_FEATURE_FAST_DIFF": 16,
    "RBD_FEATURE_DEEP_FLATTEN": 32,
    "RBD_FEATURE_JOURNALING": 64,
    "RBD_FEATURE_DATA_POOL": 128,
    "RBD_FEATURE_OPERATIONS": 256,
    "RBD_FEATURE_MIGRATING": 512,
    "RBD_FLAG_OBJECT_MAP_INVALID": 1,
    "RBD_FLAG_FAST_DIFF_INVALID": 2,
    "RBD_LOCK_MODE_EXCLUSIVE": 0,
    "RBD_LOCK_MODE_SHARED": 1,
}


@pytest.mark.parametrize(("name", "value"), sorted(LIBRBD.items()))
def test_librbd_names_have_librbd_values_on_both_backends(name: str, value: int) -> None:
    assert getattr(shoal.rbd, name) == value
    assert getattr(ceph, name) == value
    assert name in shoal.rbd.__all__


def test_short_names_are_the_same_bits() -> None:
    for name in ("LAYERING", "STRIPINGV2", "EXCLUSIVE_LOCK", "OBJECT_MAP", "FAST_DIFF",
                 "DEEP_FLATTEN", "JOURNALING"):
        assert getattr(shoal.rbd, f"FEATURE_{name}") == getattr(shoal.rbd, f"RBD_FEATURE_{name}")


def test_values_match_the_installed_binding() -> None:
    """Where Ceph's binding is installed, its constants are the reference."""
    path = "/usr/lib/python3/dist-packages"
    added = path not in sys.path and Path(path).is_dir()
    if added:
        sys.path.append(path)
    try:
        rbd = importlib.import_module("rbd")
    except ImportError:
        pytest.skip("Ceph's python3-rbd is not installed")
    finally:
        if added:
            sys.path.remove(path)
    for name in LIBRBD:
        assert getattr(rbd, name) == getattr(shoal.rbd, name), name


def test_an_embedded_ioctx_says_it_is_embedded() -> None:
    store = MemoryStore()
    store.create_pool("rbd", 8)
    io = store.open_ioctx("rbd")
    assert io.backend == "embedded"
    assert not is_ceph_ioctx(io)
    assert rbd_lib_for(io) is shoal.rbd
    with pytest.raises(errors.InvalidArgument):
        rbd_lib_for(object())


def test_the_adapter_refuses_an_embedded_ioctx() -> None:
    store = MemoryStore()
    store.create_pool("rbd", 8)
    with pytest.raises(errors.InvalidArgument, match="Ceph I/O context"):
        raw_ioctx(store.open_ioctx("rbd"))


def test_all_matches_the_public_namespace() -> None:
    names = shoal.rbd.__all__
    assert len(names) == len(set(names))
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    public = {n for n, v in vars(shoal.rbd).items()
              if not n.startswith("_") and n != "annotations" and not isinstance(v, ModuleType)}
    assert public == set(names)
