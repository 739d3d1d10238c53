"""A deterministic RBD workload: planned from a plain-Python model, run in a child.

``python _rbd_workload.py ROOT OPS_JSON [OP STEP]`` opens the LocalStore at
ROOT (pools ``rbd`` and ``rbd2`` must exist), runs the operations listed in the
JSON file OPS_JSON and prints ``ack N M`` after operation N returned (M: the
mutating object-store calls made so far). An operation that raises prints
``error N <exception>`` and exits with status 3. With OP and STEP the process
SIGKILLs itself right after the STEP-th mutating store call (a write
transaction, a snap id allocation or removal) counted from the start of
operation OP: a kill at an exact, reproducible point between two steps of an
RBD operation (or of a later one, if OP makes fewer calls). Without them the
parent kills it at a random time. Finishing every operation prints ``done M``.

Operations are JSON lists naming images by pool and name (ids are the
engine's business); written data is generated from a seed, so an operation is
small to pass around:

- ``["create", pool, name, size, features]``
- ``["write", pool, name, offset, length, data_seed]``
- ``["discard", pool, name, offset, length]``
- ``["snap" | "protect" | "unprotect" | "rmsnap" | "rollback", pool, name, snap]``
- ``["clone", parent_pool, parent, snap, pool, name, features]``
- ``["flatten" | "remove" | "trash_move" | "trash_restore", pool, name]``
- ``["resize", pool, name, size]``
- ``["rename", pool, name, new_name]``

:class:`Model` gives what a user should see after any prefix of operations:
per image its size, features, head bytes, parent link, and per snapshot its
size, protection, parent link and bytes; and the images in each pool's trash.
:func:`plan` draws valid operations from a model (only ones librbd accepts in
that state), so the workload never fails by design. Rolling a clone back
to a snapshot from before a shrink or a flatten, and flattening while older
snapshots read the parent past the head's overlap, are in: as with librbd,
the snapshots hold the parent data they read (copy-ups beneath them).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

Op = list[Any]

POOLS = ("rbd", "rbd2")
NAMES = ("a", "b", "c", "d", "e", "f")
ORDER = 16
OBJECT_SIZE = 1 << ORDER
MAX_SIZE = 4 << 20
MAX_LIVE = 4  # live images per pool
MAX_SNAPS = 3  # per image

LAYERING, EXCLUSIVE_LOCK, OBJECT_MAP, FAST_DIFF, DEEP_FLATTEN = 1, 4, 8, 16, 32
FEATURE_SETS = (
    LAYERING | EXCLUSIVE_LOCK | OBJECT_MAP | FAST_DIFF | DEEP_FLATTEN,  # 61, the default
    LAYERING | EXCLUSIVE_LOCK | OBJECT_MAP | FAST_DIFF,  # no deep-flatten
    LAYERING | DEEP_FLATTEN,  # no lock, no object map
    LAYERING,
)


def data_for(seed: int, length: int) -> bytes:
    return random.Random(seed).randbytes(length)


# --- the model ---------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A parent link: the parent's pool and model uid, the snapshot name, the overlap."""

    pool: str
    uid: int
    snap: str
    overlap: int


@dataclass(frozen=True)
class Snap:
    name: str
    size: int
    data: bytes
    protected: bool
    parent: Link | None


@dataclass
class Img:
    uid: int  # creation order: a clone's uid is larger than its parent's
    features: int
    size: int
    data: bytes
    parent: Link | None = None
    snaps: list[Snap] = field(default_factory=list)
    next_snap: int = 0

    def copy(self) -> Img:
        return replace(self, snaps=list(self.snaps))

    def snap(self, name: str) -> Snap:
        return next(s for s in self.snaps if s.name == name)

    def set_snap(self, snap: Snap) -> None:
        self.snaps = [snap if s.name == snap.name else s for s in self.snaps]


class Model:
    """Plain-Python RBD: what a user sees after each operation."""

    def __init__(self) -> None:
        self.pools: dict[str, dict[str, Img]] = {p: {} for p in POOLS}
        self.trash: dict[str, dict[str, Img]] = {p: {} for p in POOLS}  # by name
        self.next_uid = 0

    def copy(self) -> Model:
        twin = Model()
        twin.pools = {p: {n: i.copy() for n, i in imgs.items()} for p, imgs in self.pools.items()}
        twin.trash = {p: {n: i.copy() for n, i in imgs.items()} for p, imgs in self.trash.items()}
        twin.next_uid = self.next_uid
        return twin

    def name_of(self, pool: str, uid: int) -> str:
        """The current name of live image ``uid`` (parents are never trashed)."""
        return next(n for n, i in self.pools[pool].items() if i.uid == uid)

    def children(self, pool: str, uid: int, snap: str) -> list[tuple[str, str, bool]]:
        """(pool, name, in trash) of every image linked to that snapshot (head or snaps)."""
        out = []
        for cpool in POOLS:
            for trashed, imgs in ((False, self.pools[cpool]), (True, self.trash[cpool])):
                for name, img in imgs.items():
                    links = [img.parent, *(s.parent for s in img.snaps)]
                    if any(lk and (lk.pool, lk.uid, lk.snap) == (pool, uid, snap)
                           for lk in links):
                        out.append((cpool, name, trashed))
        return sorted(out)

    def lonely_snaps(self) -> set[tuple[str, str, str]]:
        """(pool, image, snapshot) of protected snapshots without clones."""
        return {(p, n, s.name) for p in POOLS for n, i in self.pools[p].items()
                for s in i.snaps if s.protected and not self.children(p, i.uid, s.name)}

    def apply(self, op: Op) -> None:
        kind, pool = op[0], op[1]
        imgs = self.pools[pool]
        if kind == "create":
            _, _, name, size, features = op
            imgs[name] = Img(self.next_uid, features, size, bytes(size))
            self.next_uid += 1
        elif kind == "clone":
            _, ppool, pname, snap_name, cpool, cname, features = op
            parent = self.pools[ppool][pname]
            snap = parent.snap(snap_name)
            link = Link(ppool, parent.uid, snap_name, snap.size)
            self.pools[cpool][cname] = Img(self.next_uid, features, snap.size, snap.data, link)
            self.next_uid += 1
        elif kind == "trash_restore":
            imgs[op[2]] = self.trash[pool].pop(op[2])
        else:
            img = imgs[op[2]]
            self._apply_to(img, op)
            if kind == "remove":
                del imgs[op[2]]
            elif kind == "rename":
                imgs[op[3]] = imgs.pop(op[2])
            elif kind == "trash_move":
                self.trash[pool][op[2]] = imgs.pop(op[2])

    @staticmethod
    def _apply_to(img: Img, op: Op) -> None:
        kind = op[0]
        if kind == "write":
            off, length, seed = op[3], op[4], op[5]
            img.data = img.data[:off] + data_for(seed, length) + img.data[off + length :]
        elif kind == "discard":
            # librbd's granularity: 64 KiB granules = the objects here, so only an
            # object's piece that runs to its end is discarded (from any offset)
            off, end = op[3], op[3] + op[4]
            data = bytearray(img.data)
            for start in range(off // OBJECT_SIZE * OBJECT_SIZE, end, OBJECT_SIZE):
                lo, hi = max(off, start), min(end, start + OBJECT_SIZE)
                if hi == start + OBJECT_SIZE:
                    data[lo:hi] = bytes(hi - lo)
            img.data = bytes(data)
        elif kind == "snap":
            img.snaps.append(Snap(op[3], img.size, img.data, False, img.parent))
            img.next_snap += 1
        elif kind in ("protect", "unprotect"):
            img.set_snap(replace(img.snap(op[3]), protected=kind == "protect"))
        elif kind == "rmsnap":
            img.snaps = [s for s in img.snaps if s.name != op[3]]
        elif kind == "rollback":
            snap = img.snap(op[3])
            img.size, img.data = snap.size, snap.data
            if img.parent is not None:
                img.parent = replace(img.parent, overlap=min(img.parent.overlap, snap.size))
        elif kind == "flatten":
            img.parent = None
            if img.features & DEEP_FLATTEN:  # the snapshots are released too
                img.snaps = [replace(s, parent=None) for s in img.snaps]
        elif kind == "resize":
            size = op[3]
            if size < img.size:
                img.data = img.data[:size]
                if img.parent is not None:
                    img.parent = replace(img.parent, overlap=min(img.parent.overlap, size))
            else:
                img.data += bytes(size - img.size)
            img.size = size


# --- planning ------------------------------------------------------------------------


def _size(rng: random.Random) -> int:
    size = rng.randrange(1, MAX_SIZE // OBJECT_SIZE) * OBJECT_SIZE
    if rng.random() < 0.5:
        size -= rng.randrange(1, OBJECT_SIZE)  # an unaligned end
    return size


def _extent(rng: random.Random, size: int, lengths: tuple[int, ...]) -> tuple[int, int]:
    length = min(rng.choice(lengths), size)
    return rng.randrange(0, size - length + 1), length


def next_op(m: Model, rng: random.Random, focus: tuple[str, str] | None = None) -> Op | None:
    """One operation valid in state ``m`` (librbd would accept it); with ``focus``
    (pool, name) one on that live image (None if there is none)."""
    live = [(p, n, i) for p in POOLS for n, i in sorted(m.pools[p].items())
            if focus is None or (p, n) == focus]
    writable = [(p, n, i) for p, n, i in live if i.size > 0]

    def free_names(pool: str) -> list[str]:
        return [n for n in NAMES if n not in m.pools[pool]]

    def room(pool: str) -> bool:
        return len(m.pools[pool]) < MAX_LIVE and bool(free_names(pool))

    def create() -> Op:
        pool = rng.choice([p for p in POOLS if room(p)])
        return ["create", pool, rng.choice(free_names(pool)), _size(rng),
                rng.choice(FEATURE_SETS)]

    def write() -> Op:
        p, n, i = rng.choice(writable)
        off, length = _extent(rng, i.size, (1, 700, 5000, 70_000, 150_000, 300_000))
        return ["write", p, n, off, length, rng.randrange(1 << 30)]

    def discard() -> Op:
        p, n, i = rng.choice(writable)
        off, length = _extent(rng, i.size, (4096, OBJECT_SIZE, 200_000))
        if rng.random() < 0.5:  # whole objects
            off = off // OBJECT_SIZE * OBJECT_SIZE
            length = min(length, i.size - off)
        return ["discard", p, n, off, length]

    def snap() -> Op:
        p, n, i = rng.choice([x for x in live if len(x[2].snaps) < MAX_SNAPS])
        return ["snap", p, n, f"s{i.next_snap}"]

    def protect() -> Op:
        p, n, s = rng.choice(unprotected)
        return ["protect", p, n, s.name]

    def unprotect() -> Op:
        p, n, s = rng.choice(lonely)
        return ["unprotect", p, n, s.name]

    def rmsnap() -> Op:
        p, n, s = rng.choice(unprotected)
        return ["rmsnap", p, n, s.name]

    def rollback() -> Op:
        p, n, s = rng.choice(rollbackable)
        return ["rollback", p, n, s.name]

    def clone() -> Op:
        p, n, s = rng.choice(protected)
        pool = rng.choice([q for q in POOLS if room(q)])
        return ["clone", p, n, s.name, pool, rng.choice(free_names(pool)),
                rng.choice(FEATURE_SETS)]

    def flatten() -> Op:
        p, n, _ = rng.choice(clones)
        return ["flatten", p, n]

    def resize() -> Op:
        p, n, i = rng.choice(live)
        size = _size(rng)
        while size == i.size:
            size = _size(rng)
        return ["resize", p, n, size]

    def remove() -> Op:
        p, n, _ = rng.choice(bare)
        return ["remove", p, n]

    def rename() -> Op:
        p, n, _ = rng.choice([x for x in live if free_names(x[0])])
        return ["rename", p, n, rng.choice(free_names(p))]

    def trash_move() -> Op:
        p, n, _ = rng.choice([x for x in bare if x[1] not in m.trash[x[0]]])
        return ["trash_move", p, n]

    def trash_restore() -> Op:
        p, n = rng.choice(restorable)
        return ["trash_restore", p, n]

    snaps = [(p, n, s) for p, n, i in live for s in i.snaps]
    protected = [(p, n, s) for p, n, s in snaps if s.protected]
    unprotected = [(p, n, s) for p, n, s in snaps if not s.protected]
    lonely_names = m.lonely_snaps()
    lonely = [(p, n, s) for p, n, s in protected if (p, n, s.name) in lonely_names]
    rollbackable = [(p, n, s) for p, n, i in live for s in i.snaps]
    clones = [(p, n, i) for p, n, i in live if i.parent is not None]
    bare = [(p, n, i) for p, n, i in live if not i.snaps]  # removable / trashable
    restorable = [(p, n) for p in POOLS for n in m.trash[p]
                  if n not in m.pools[p] and len(m.pools[p]) < MAX_LIVE and focus is None]
    any_room = any(room(p) for p in POOLS)
    choices: list[tuple[float, Any]] = [
        (4.0 if len(live) < 3 else 1.5, create) if any_room and not focus else (0, None),
        (6.0, write) if writable else (0, None),
        (1.0, discard) if writable else (0, None),
        (2.5, snap) if any(len(i.snaps) < MAX_SNAPS for _, _, i in live) else (0, None),
        (2.0, protect) if unprotected else (0, None),
        (1.0, unprotect) if lonely else (0, None),
        (1.0, rmsnap) if unprotected else (0, None),
        (1.0, rollback) if rollbackable else (0, None),
        (3.0, clone) if protected and any_room else (0, None),
        (2.0, flatten) if clones else (0, None),
        (2.0, resize) if live else (0, None),
        (2.0, remove) if bare else (0, None),
        (1.0, rename) if any(free_names(p) for p, _, _ in live) else (0, None),
        (1.0, trash_move) if any(n not in m.trash[p] for p, n, _ in bare) else (0, None),
        (1.0, trash_restore) if restorable else (0, None),
    ]
    weights = [w for w, _ in choices]
    if not any(weights):
        return None
    _, make = rng.choices(choices, weights)[0]
    op: Op = make()
    return op


def plan(m: Model, seed: int, count: int, first: Sequence[Op] = ()) -> list[Op]:
    """``count`` operations valid one after the other from state ``m`` (not changed).

    ``first`` (operations valid in ``m``, in order) open the list: e.g. a retry
    of the operation a crash interrupted.
    """
    rng = random.Random(seed)
    scratch = m.copy()
    ops: list[Op] = []
    for op in first:
        ops.append(op)
        scratch.apply(op)
    while len(ops) < count:
        op = next_op(scratch, rng)
        assert op is not None
        scratch.apply(op)
        ops.append(op)
    return ops


def follow_ups(before: Model, now: Model, op: Op, applied: bool, seed: int) -> list[Op]:
    """What a user does next after a crash interrupted ``op`` (state ``now``).

    Not (fully) applied: run it again. Applied: use what it freed — unprotect
    the snapshots it left without clones, create an image under the name it
    freed (remove, rename, trash move). Then a few operations on the image it
    touched (write, discard, snapshot, rollback, resize, flatten, remove…),
    where leftovers of the crash would show.
    """
    rng = random.Random(seed)
    out: list[Op] = [op] if not applied else [
        ["unprotect", *snap] for snap in sorted(now.lonely_snaps() - before.lonely_snaps())
    ]
    freed = applied and op[0] in ("remove", "rename", "trash_move")
    if freed and len(now.pools[op[1]]) < MAX_LIVE:
        out.append(["create", op[1], op[2], _size(rng), rng.choice(FEATURE_SETS)])
    scratch = now.copy()
    for o in out:
        scratch.apply(o)
    focus = (op[1], op[2])
    if op[0] == "clone":
        focus = (op[4], op[5])
    elif op[0] == "rename" and applied:
        focus = (op[1], op[3])
    for _ in range(3):
        nxt = next_op(scratch, rng, focus)
        if nxt is None:
            break
        scratch.apply(nxt)
        out.append(nxt)
        if nxt[0] == "rename":
            focus = (nxt[1], nxt[3])
    return out


# --- running against the engine ------------------------------------------------------


def run(ios: dict[str, Any], op: Op) -> None:
    """Apply ``op`` with the embedded engine (one Image handle per operation)."""
    from shoal.rbd import RBD, Image

    rbd = RBD()
    kind, io = op[0], ios[op[1]]
    if kind == "create":
        rbd.create(io, op[2], op[3], order=ORDER, features=op[4])
    elif kind == "clone":
        rbd.clone(io, op[2], op[3], ios[op[4]], op[5], features=op[6])
    elif kind == "remove":
        rbd.remove(io, op[2])
    elif kind == "rename":
        rbd.rename(io, op[2], op[3])
    elif kind == "trash_move":
        rbd.trash_move(io, op[2])
    elif kind == "trash_restore":
        (image_id,) = [e["id"] for e in rbd.trash_list(io) if e["name"] == op[2]]
        rbd.trash_restore(io, image_id)
    else:
        with Image(io, op[2]) as img:
            if kind == "write":
                assert img.write(data_for(op[5], op[4]), op[3]) == op[4]
            elif kind == "discard":
                img.discard(op[3], op[4])
            elif kind == "snap":
                img.create_snap(op[3])
            elif kind == "protect":
                img.protect_snap(op[3])
            elif kind == "unprotect":
                img.unprotect_snap(op[3])
            elif kind == "rmsnap":
                img.remove_snap(op[3])
            elif kind == "rollback":
                img.rollback_to_snap(op[3])
            elif kind == "flatten":
                img.flatten()
            elif kind == "resize":
                img.resize(op[3])
            else:
                raise AssertionError(f"unknown operation {op!r}")


class _Mutations:
    """Counts mutating object-store calls; SIGKILLs the process after the n-th."""

    def __init__(self) -> None:
        self.count = 0
        self.crash_after = 0

    def bump(self) -> None:
        self.count += 1
        if self.count == self.crash_after:
            os.kill(os.getpid(), signal.SIGKILL)

    def install(self) -> None:
        from shoal.objstore.local import LocalIoCtx

        transact = LocalIoCtx._transact
        create_snap = LocalIoCtx.create_self_managed_snap
        remove_snap = LocalIoCtx.remove_self_managed_snap

        def counted_transact(io: Any, oid: str, mutate: bool, fn: Any) -> Any:
            try:
                return transact(io, oid, mutate, fn)
            finally:
                if mutate:
                    self.bump()

        def counted_create(io: Any) -> int:
            try:
                return create_snap(io)
            finally:
                self.bump()

        def counted_remove(io: Any, snap_id: int) -> None:
            try:
                remove_snap(io, snap_id)
            finally:
                self.bump()

        LocalIoCtx._transact = counted_transact  # type: ignore[method-assign]
        LocalIoCtx.create_self_managed_snap = counted_create  # type: ignore[method-assign]
        LocalIoCtx.remove_self_managed_snap = counted_remove  # type: ignore[method-assign]


def main() -> None:
    import shoal.rbd  # noqa: F401  (registers the object classes)
    from shoal.objstore.local import LocalStore

    root, ops_file = Path(sys.argv[1]), Path(sys.argv[2])
    crash_op, crash_step = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (-1, 0)
    mutations = _Mutations()
    mutations.install()
    ops: list[Op] = json.loads(ops_file.read_text())
    store = LocalStore(root)
    ios = {p: store.open_ioctx(p) for p in POOLS}
    print("ready", flush=True)
    for i, op in enumerate(ops):
        if i == crash_op:
            mutations.crash_after = mutations.count + crash_step
        try:
            run(ios, op)
        except Exception as exc:
            print(f"error {i} {type(exc).__name__}: {exc}", flush=True)
            os._exit(3)
        print(f"ack {i} {mutations.count}", flush=True)
    store.close()
    print(f"done {mutations.count}", flush=True)


if __name__ == "__main__":
    main()
