"""shoal's librbd adapter (``shoal.rbd.ceph``): the RBD contract, and what the CLI needs beyond it.

The contract runs with the adapter's ``RBD``/``Image`` and shoal.rbd's exception classes, so it
proves the adapter translates librbd faithfully; the tests below cover the embedded-engine
interface the contract does not (stat, timestamps, parent specs, trash entries, errors' errnos).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

import shoal.rbd
import shoal.rbd.ceph
from tests.ceph.test_rbd_contract_ceph import pool_ioctx
from tests.contract.rbd_contract import RbdContract

MiB = 1 << 20


class TestCephAdapterRbd(RbdContract):
    @pytest.fixture
    def lib(self) -> ModuleType:
        return shoal.rbd.ceph

    @pytest.fixture
    def ioctx(self, rados_cluster: Any) -> Iterator[Any]:
        with pool_ioctx(rados_cluster, "rbd-adapter") as io:
            yield io

    @pytest.fixture
    def ioctx2(self, rados_cluster: Any) -> Iterator[Any]:
        with pool_ioctx(rados_cluster, "rbd-adapter2") as io:
            yield io
