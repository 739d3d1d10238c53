"""A deterministic object-store workload, runnable as a child process or as a model.

``python _store_workload.py ROOT PREFIX SEED COUNT`` opens a LocalStore at ROOT
(pool ``crash``), runs COUNT operations on objects named PREFIX.* and prints
``ack N`` after operation N returned (flushing the store every 16 operations);
for a snapshot creation the line is ``ack N SNAP_ID``.

The workload uses self-managed snapshots the way librbd does: it allocates snap
ids, writes every object with the snap context of all its live snaps, rolls
objects back to snaps and removes snaps. Snaps are named in the operation list
by their ordinal in the run (0, 1, ...); the pool-wide ids come from the store
and are reported in the acks.

The same sequence applied to :class:`Model` gives the expected state after any
number of operations (the head of every object, and every object at each live
snap, kept as full copies), so a test can kill the child with SIGKILL and
check the store against the model.
"""

from __future__ import annotations

import contextlib
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Op = tuple[Any, ...]
ObjState = tuple[bytes, dict[str, bytes], dict[str, bytes]]
State = dict[str, ObjState]

#: At most this many snaps of one run are live at once.
MAX_LIVE_SNAPS = 4
OBJECTS = 6


def object_names(prefix: str) -> list[str]:
    return [f"{prefix}.{i}" for i in range(OBJECTS)]


def operations(prefix: str, seed: int, count: int) -> list[Op]:
    """The operation list for one run: ('kind', object name, args...).

    Snapshot operations: ``("snap", "", ordinal)``, ``("rmsnap", "", ordinal)``
    and ``("rollback", name, ordinal)``; only live snaps are removed or rolled
    back to.
    """
    rng = random.Random(seed)
    names = object_names(prefix)
    ops: list[Op] = []
    live: list[int] = []
    snaps = 0
    for i in range(count):
        name = rng.choice(names)
        r = rng.random()
        if r < 0.27:
            size = rng.choice([1, 100, 4096, 65536, 300_000])
            ops.append(("write", name, rng.randbytes(size), rng.randrange(0, 1 << 20)))
        elif r < 0.40:
            ops.append(("write_full", name, rng.randbytes(rng.choice([0, 10, 200_000]))))
        elif r < 0.48:
            ops.append(("trunc", name, rng.randrange(0, 1 << 20)))
        elif r < 0.56:
            ops.append(("zero", name, rng.randrange(0, 1 << 20), rng.randrange(1, 1 << 18)))
        elif r < 0.62:
            ops.append(("remove", name))
        elif r < 0.66 or (r < 0.69 and not live):
            if len(live) >= MAX_LIVE_SNAPS:
                ops.append(("rmsnap", "", live.pop(0)))
            else:
                ops.append(("snap", "", snaps))
                live.append(snaps)
                snaps += 1
        elif r < 0.69:
            ops.append(("rmsnap", "", live.pop(rng.randrange(len(live)))))
        elif r < 0.74 and live:
            ops.append(("rollback", name, rng.choice(live)))
        else:
            data = rng.randbytes(rng.choice([10, 5000, 150_000]))
            ops.append(("compound", name, data, rng.randrange(0, 1 << 19), i))
    return ops


@dataclass
class Obj:
    data: bytearray = field(default_factory=bytearray)
    xattrs: dict[str, bytes] = field(default_factory=dict)
    omap: dict[str, bytes] = field(default_factory=dict)

    def copy(self) -> Obj:
        return Obj(bytearray(self.data), dict(self.xattrs), dict(self.omap))


class Model:
    """Plain-Python semantics of the workload's operations."""

    def __init__(self) -> None:
        self.objects: dict[str, Obj] = {}
        self.snaps: dict[int, dict[str, Obj]] = {}  # live snap ordinal -> objects then

    def apply(self, op: Op) -> None:
        kind, name = op[0], op[1]
        obj = self.objects.get(name)
        if kind == "snap":
            self.snaps[op[2]] = {n: o.copy() for n, o in self.objects.items()}
            return
        if kind == "rmsnap":
            del self.snaps[op[2]]
            return
        if kind == "rollback":
            then = self.snaps[op[2]].get(name)
            if then is None:
                self.objects.pop(name, None)
            else:
                self.objects[name] = then.copy()
            return
        if kind == "remove":
            self.objects.pop(name, None)
            return
        if kind in ("zero", "trunc") and obj is None:
            return  # neither creates the object (Ceph semantics)
        if kind == "zero":
            assert obj is not None
            if op[2] < len(obj.data) <= op[2] + op[3]:  # reaching the end: truncates
                del obj.data[op[2]:]
                return
            end = min(op[2] + op[3], len(obj.data))
            if end > op[2]:
                obj.data[op[2] : end] = bytes(end - op[2])
            return
        if obj is None:
            obj = self.objects[name] = Obj()
        if kind in ("write", "compound"):
            data, off = op[2], op[3]
            if len(obj.data) < off:
                obj.data.extend(bytes(off - len(obj.data)))
            obj.data[off : off + len(data)] = data
            if kind == "compound":
                obj.xattrs["step"] = str(op[4]).encode()
                obj.omap[f"k{op[4] % 7}"] = str(op[4]).encode()
        elif kind == "write_full":
            obj.data = bytearray(op[2])
        elif kind == "trunc":
            size = op[2]
            if size <= len(obj.data):
                del obj.data[size:]
            else:
                obj.data.extend(bytes(size - len(obj.data)))

    @staticmethod
    def _state(objects: dict[str, Obj]) -> State:
        return {n: (bytes(o.data), dict(o.xattrs), dict(o.omap)) for n, o in objects.items()}

    def snapshot(self) -> State:
        """The heads."""
        return self._state(self.objects)

    def snap_states(self) -> dict[int, State]:
        """Every object at each live snap, by snap ordinal."""
        return {ordinal: self._state(objects) for ordinal, objects in self.snaps.items()}


class Runner:
    """Applies operations to a real IoCtx, tracking snap ids and the snap context."""

    def __init__(self, io: Any) -> None:
        self.io = io
        self.ids: dict[int, int] = {}  # snap ordinal -> snap id
        self.live: list[int] = []  # live snap ids
        self.seq = 0

    def run(self, op: Op) -> int | None:
        """Apply ``op``; returns the new snap id for a ``snap`` operation."""
        from shoal import errors
        from shoal.objstore import WriteOp

        io = self.io
        kind, name = op[0], op[1]
        if kind == "snap":
            snap_id = int(io.create_self_managed_snap())
            self.ids[op[2]] = snap_id
            self.live.append(snap_id)
            self.seq = snap_id
            io.set_self_managed_snap_write(self.live, self.seq)
            return snap_id
        if kind == "rmsnap":
            snap_id = self.ids[op[2]]
            io.remove_self_managed_snap(snap_id)
            self.live.remove(snap_id)
            io.set_self_managed_snap_write(self.live, self.seq)
        elif kind == "rollback":
            io.rollback_self_managed_snap(name, self.ids[op[2]])
        elif kind == "write":
            io.write(name, op[2], op[3])
        elif kind == "write_full":
            io.write_full(name, op[2])
        elif kind == "trunc":
            io.trunc(name, op[2])
        elif kind == "zero":
            io.zero(name, op[2], op[3])
        elif kind == "remove":
            with contextlib.suppress(errors.ObjectNotFound):
                io.remove_object(name)
        elif kind == "compound":
            step = str(op[4]).encode()
            io.operate(
                name,
                WriteOp()
                .write(op[2], op[3])
                .set_xattr("step", step)
                .omap_set({f"k{op[4] % 7}": step}),
            )
        return None


def main() -> None:
    from shoal.errors import PoolExists
    from shoal.objstore.local import LocalStore

    root, prefix, seed, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = LocalStore(Path(root))
    with contextlib.suppress(PoolExists):
        store.create_pool("crash", 16)
    runner = Runner(store.open_ioctx("crash"))
    print("ready", flush=True)
    for i, op in enumerate(operations(prefix, seed, count)):
        snap_id = runner.run(op)
        if i % 16 == 15:
            store.flush()
        print(f"ack {i}" if snap_id is None else f"ack {i} {snap_id}", flush=True)
    store.close()


if __name__ == "__main__":
    main()
