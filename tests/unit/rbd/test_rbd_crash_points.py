"""Crash points replayed step by step: each kill lands between two store calls of one
RBD operation, at every step of it, on a copy of the same store.

These pin the sequences the random crash test (``test_rbd_crash``) found, or could
only find by luck, so that a regression shows on every run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shoal.objstore.local import LocalStore
from shoal.rbd import Image

from ._rbd_workload import OBJECT_SIZE, POOLS, Op, data_for
from .test_rbd_crash import run_child

OBJ = OBJECT_SIZE
FEATURES = 61  # layering, exclusive-lock, object-map, fast-diff, deep-flatten
#: No RBD operation of these tests makes more store mutations than this.
MAX_STEPS = 40


def new_store(root: Path) -> Path:
    with LocalStore(root) as store:
        for pool in POOLS:
            store.create_pool(pool, 8)
    return root


def head(root: Path, name: str = "a") -> bytes:
    with LocalStore(root) as store, Image(store.open_ioctx("rbd"), name, read_only=True) as img:
        return img.read(0, img.size())


def data_objects(root: Path, name: str = "a") -> list[int]:
    """Numbers of the image's data objects that exist in the store, at any size."""
    with LocalStore(root) as store:
        io = store.open_ioctx("rbd")
        with Image(io, name, read_only=True) as img:
            prefix = img.block_name_prefix() + "."
        names = io.list_objects(prefix, None, 10_000).names
    return sorted(int(n[len(prefix):], 16) for n in names)


def per_object(got: bytes, *allowed: bytes) -> bool:
    """Each object-sized piece of ``got`` equals that piece of one of ``allowed``
    (each fitted to ``len(got)``)."""
    fitted = [a[: len(got)] + bytes(max(0, len(got) - len(a))) for a in allowed]
    return all(
        any(got[i : i + OBJ] == a[i : i + OBJ] for a in fitted) for i in range(0, len(got), OBJ)
    )


def killed(root: Path, ops: list[Op], op_index: int, step: int) -> int:
    """Run ``ops``, dying after store mutation ``step`` of operation ``op_index``;
    returns the index of the last acknowledged operation."""
    last_ack, _ = run_child(root, ops, (op_index, step), None, f"step {step}")
    return last_ack


def test_rollback_after_an_interrupted_shrink_never_shows_pre_shrink_data(
    tmp_path: Path,
) -> None:
    """A shrink killed after its size update leaves objects past the new end. A
    snapshot then grow then write then rollback to that snapshot, killed at any
    step, must show only the data before or after the rollback (never what the
    shrink cut off), and the retried rollback ends at the snapshot's data."""
    small = OBJ + 100
    before_shrink = data_for(1, 3 * OBJ)
    # 1. find the step of the shrink that commits the size but leaves object 2
    setup: list[Op] = [
        ["create", "rbd", "a", 3 * OBJ, FEATURES],
        ["write", "rbd", "a", 0, 3 * OBJ, 1],
        ["resize", "rbd", "a", small],
    ]
    shrunk: Path | None = None
    for step in range(1, MAX_STEPS):
        root = new_store(tmp_path / f"shrink{step}")
        if killed(root, setup, 2, step) == 2:
            break  # the resize completed: no later step leaves leftovers
        if len(head(root)) == small and 2 in data_objects(root):
            shrunk = root
            break
    assert shrunk is not None, "no kill point of the shrink left object 2 behind"
    assert head(shrunk) == before_shrink[:small]

    # 2. snapshot, grow, write, then a rollback killed at every step in turn
    rest: list[Op] = [
        ["snap", "rbd", "a", "s"],
        ["resize", "rbd", "a", 3 * OBJ],
        ["write", "rbd", "a", OBJ, 2 * OBJ, 2],
        ["rollback", "rbd", "a", "s"],
    ]
    pre_rollback = before_shrink[:OBJ] + data_for(2, 2 * OBJ)
    target = before_shrink[:small]
    torn_seen = 0
    for step in range(1, MAX_STEPS):
        root = tmp_path / f"rollback{step}"
        shutil.copytree(shrunk, root)
        last_ack = killed(root, rest, 3, step)
        got = head(root)
        if last_ack == 3:
            assert got == target
            break
        assert last_ack == 2, last_ack
        assert len(got) in (3 * OBJ, small), len(got)
        assert per_object(got, pre_rollback, target), f"step {step}: data from neither side"
        torn_seen += got not in (pre_rollback, target)
        run_child(root, [["rollback", "rbd", "a", "s"]], None, None, "retry")
        assert head(root) == target, f"step {step}: the retried rollback"
        assert [n for n in data_objects(root) if n >= 2] == [], "objects past the end"
    else:
        pytest.fail("the rollback never completed within MAX_STEPS")
    assert torn_seen > 0, "no kill landed between the rollback's object steps"
