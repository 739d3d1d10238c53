"""The RBD contract, run against Ceph's own ``rbd`` module (real librbd) on the throwaway cluster.

This is what proves the contract: every expectation in ``RbdContract`` holds on librbd. Each
test gets fresh pools (``ioctx2`` only when asked for), so nothing leaks between tests; the
pools get no application (``rbd pool init`` would cost a map change per pool, and librbd does
not need it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import pytest

from tests.ceph.conftest import import_ceph_bindings, temporary_pool
from tests.contract.rbd_contract import RbdContract


@contextmanager
def pool_ioctx(cluster: Any, hint: str) -> Iterator[Any]:
    """A ``rados.Ioctx`` on a fresh, empty pool, deleted afterwards."""
    with temporary_pool(cluster, hint, application=None) as pool, cluster.open_ioctx(pool) as io:
        yield io


class CephRbdLib:
    """Ceph's ``rbd`` module under the contract's names (``FEATURE_X`` is ``RBD_FEATURE_X``)."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        if name.startswith("FEATURE"):
            return getattr(self._module, "RBD_" + name)
        return getattr(self._module, name)


class TestCephRbd(RbdContract):
    @pytest.fixture
    def lib(self) -> CephRbdLib:
        return CephRbdLib(import_ceph_bindings()[1])

    @pytest.fixture
    def ioctx(self, rados_cluster: Any) -> Iterator[Any]:
        with pool_ioctx(rados_cluster, "rbd-contract") as io:
            yield io

    @pytest.fixture
    def ioctx2(self, rados_cluster: Any) -> Iterator[Any]:
        with pool_ioctx(rados_cluster, "rbd-contract2") as io:
            yield io
