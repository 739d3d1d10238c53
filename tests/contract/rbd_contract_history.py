"""What a clone's snapshots keep through shrink, flatten, discard and rollback.

Written to librbd's behaviour (checked by hand on Ceph 16.2.15, and by the Ceph
subclass): when a clone has snapshots, librbd copies the parent's data into an
object *beneath* the snapshots before the head changes it (a write, a discard,
a shrink cutting into the overlap, a flatten), so each snapshot physically holds
the parent data it reads. Hence a rollback brings that data back even after the
head's overlap shrank or the parent link was removed, and a deep flatten after
a shrink leaves the older snapshots reading what they read before.

Same fixtures as :mod:`rbd_contract` (``lib``, ``ioctx``).
"""

from __future__ import annotations

from typing import Any

MiB = 1 << 20
SIZE = 8 * MiB
ORDER = 20  # 1 MiB objects: 8 of them


def pattern(seed: int, length: int) -> bytes:
    block = bytes((seed * 7 + i) % 251 for i in range(4096))
    return (block * (length // 4096 + 1))[:length]


PARENT = pattern(1, SIZE)


class CloneHistoryContract:
    def parent(self, lib: Any, io: Any) -> None:
        lib.RBD().create(io, "p", SIZE, order=ORDER, features=lib.FEATURE_LAYERING)
        with lib.Image(io, "p") as img:
            img.write(PARENT, 0)
            img.create_snap("s")
            img.protect_snap("s")

    def clone(self, lib: Any, io: Any, name: str, deep: bool) -> None:
        features = lib.FEATURE_LAYERING | (lib.FEATURE_DEEP_FLATTEN if deep else 0)
        lib.RBD().clone(io, "p", "s", io, name, features=features)

    def read_snap(self, lib: Any, io: Any, name: str, snap: str) -> bytes:
        with lib.Image(io, name, snapshot=snap, read_only=True) as img:
            return bytes(img.read(0, img.size()))

    def test_rollback_after_a_shrink_brings_back_parent_data(self, lib: Any, ioctx: Any) -> None:
        self.parent(lib, ioctx)
        for deep in (False, True):
            name = f"c{int(deep)}"
            self.clone(lib, ioctx, name, deep)
            with lib.Image(ioctx, name) as img:
                img.create_snap("s1")
                img.resize(4 * MiB + 100)
                assert img.overlap() == 4 * MiB + 100
                img.resize(SIZE)
                cut = 4 * MiB + 100
                assert img.read(0, SIZE) == PARENT[:cut] + bytes(SIZE - cut)
                img.rollback_to_snap("s1")
                assert img.size() == SIZE
                assert img.overlap() == 4 * MiB + 100, "a rollback does not grow the overlap"
                assert img.read(0, SIZE) == PARENT

    def test_rollback_after_a_flatten_brings_back_parent_data(self, lib: Any, ioctx: Any) -> None:
        self.parent(lib, ioctx)
        for deep in (False, True):
            name = f"c{int(deep)}"
            self.clone(lib, ioctx, name, deep)
            with lib.Image(ioctx, name) as img:
                img.create_snap("s1")
                img.write(b"x" * 10, 0)
                img.flatten()
                img.rollback_to_snap("s1")
                assert img.read(0, SIZE) == PARENT

    def test_flatten_after_a_shrink_keeps_older_snapshots_whole(
        self, lib: Any, ioctx: Any
    ) -> None:
        self.parent(lib, ioctx)
        for deep in (False, True):
            name = f"c{int(deep)}"
            self.clone(lib, ioctx, name, deep)
            with lib.Image(ioctx, name) as img:
                img.create_snap("s0")
                img.resize(4 * MiB)
                img.resize(SIZE)
                img.create_snap("s1")  # overlap 4 MiB: reads zeros past it
                img.flatten()
                assert img.read(0, SIZE) == PARENT[: 4 * MiB] + bytes(4 * MiB)
            assert self.read_snap(lib, ioctx, name, "s0") == PARENT
            assert self.read_snap(lib, ioctx, name, "s1") == PARENT[: 4 * MiB] + bytes(4 * MiB)
            with lib.Image(ioctx, name) as img:
                img.resize(2 * MiB)
                img.resize(SIZE)
                assert img.read(0, SIZE) == PARENT[: 2 * MiB] + bytes(6 * MiB)
            assert self.read_snap(lib, ioctx, name, "s0") == PARENT

    def test_rollback_after_a_discard_brings_back_parent_data(
        self, lib: Any, ioctx: Any
    ) -> None:
        self.parent(lib, ioctx)
        self.clone(lib, ioctx, "c", False)
        with lib.Image(ioctx, "c") as img:
            img.create_snap("s1")
            img.discard(MiB, 2 * MiB)  # whole objects inside the overlap
            img.discard(5 * MiB + 7, 1000)  # a piece
            assert img.read(MiB, 2 * MiB) == bytes(2 * MiB)
            img.flatten()
            img.rollback_to_snap("s1")
            assert img.read(0, SIZE) == PARENT

    def test_shrink_then_grow_reads_zeros_with_fancy_striping(
        self, lib: Any, ioctx: Any
    ) -> None:
        """Striping v2 spreads the bytes past a new end over the objects of the last
        object set; a shrink must clear them there too."""
        lib.RBD().create(ioctx, "f", SIZE, order=ORDER, stripe_unit=64 * 1024, stripe_count=4)
        cut = 3 * MiB + 12345
        with lib.Image(ioctx, "f") as img:
            img.write(PARENT, 0)
            img.resize(cut)
            img.resize(SIZE)
            assert img.read(0, SIZE) == PARENT[:cut] + bytes(SIZE - cut)
            img.create_snap("s")
            img.resize(MiB + 1)
            img.resize(SIZE)
            assert img.read(0, SIZE) == PARENT[: MiB + 1] + bytes(SIZE - MiB - 1)
        assert self.read_snap(lib, ioctx, "f", "s") == PARENT[:cut] + bytes(SIZE - cut)
