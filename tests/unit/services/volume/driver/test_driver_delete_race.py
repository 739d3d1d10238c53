"""Concurrent deletes of a parent and its clone leave nothing behind, however they
interleave (seen on Ceph, where ``shoal up`` deletes a clone chain's volumes at once)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import shoal.rbd as rbd
from shoal.services.volume.driver import DeleteOutcome, RbdVolumeDriver
from shoal.services.volume.driver._delete import Remover
from tests.unit.services.volume.driver.test_driver import Env


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Env, RbdVolumeDriver]]:
    """The embedded cluster and a driver on it, with volume ``b`` a clone of ``a``."""
    env = Env(tmp_path)
    try:
        drv = env.driver()
        drv.create_volume("a", 1)
        drv.create_cloned_volume("b", 1, "a")
        yield env, drv
    finally:
        env.close()


def test_clone_gone_before_its_parent_is_hidden(pair: tuple[Env, RbdVolumeDriver],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent saw the clone, then the clone went (its walk found the parent not yet
    hidden), then the parent was renamed: the rename's sweep removes it."""
    env, drv = pair
    rename = rbd.RBD.rename
    raced: list[DeleteOutcome] = []

    def late_rename(self: rbd.RBD, ioctx: Any, src: str, dest: str) -> None:
        if not raced:
            raced.append(drv.delete_volume("b"))
        rename(self, ioctx, src, dest)

    monkeypatch.setattr(rbd.RBD, "rename", late_rename)
    assert drv.delete_volume("a") is DeleteOutcome.REMOVED
    assert raced == [DeleteOutcome.REMOVED]
    assert env.images() == []


def test_parent_hidden_after_its_clone_read_its_name(pair: tuple[Env, RbdVolumeDriver],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The clone read its parent's name, then the parent was hidden (the clone still
    there), then the clone went: its walk finds the parent under the ``.deleted`` name."""
    env, drv = pair
    remove = Remover.remove
    raced: list[DeleteOutcome] = []

    def late_remove(self: Remover, pool: Any, name: str) -> DeleteOutcome:
        if name == "volume-b" and not raced:
            raced.append(drv.delete_volume("a"))
        return remove(self, pool, name)

    monkeypatch.setattr(Remover, "remove", late_remove)
    assert drv.delete_volume("b") is DeleteOutcome.REMOVED
    assert raced == [DeleteOutcome.HIDDEN]
    assert env.images() == []
