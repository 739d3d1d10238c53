"""A deterministic object-store workload, runnable as a child process or as a model.

``python _store_workload.py ROOT PREFIX SEED COUNT`` opens a LocalStore at ROOT
(pool ``crash``), runs COUNT operations on objects named PREFIX.* and prints
``ack N`` after operation N returned (flushing the store every 16 operations).

The same sequence applied to :class:`Model` gives the expected state after any
number of operations, so a test can kill the child with SIGKILL and check the
store against the model.
"""

from __future__ import annotations

import contextlib
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Op = tuple[Any, ...]


def operations(prefix: str, seed: int, count: int) -> list[Op]:
    """The operation list for one run: ('kind', object name, args...)."""
    rng = random.Random(seed)
    names = [f"{prefix}.{i}" for i in range(6)]
    ops: list[Op] = []
    for i in range(count):
        name = rng.choice(names)
        r = rng.random()
        if r < 0.30:
            size = rng.choice([1, 100, 4096, 65536, 300_000])
            ops.append(("write", name, rng.randbytes(size), rng.randrange(0, 1 << 20)))
        elif r < 0.45:
            ops.append(("write_full", name, rng.randbytes(rng.choice([0, 10, 200_000]))))
        elif r < 0.55:
            ops.append(("trunc", name, rng.randrange(0, 1 << 20)))
        elif r < 0.65:
            ops.append(("zero", name, rng.randrange(0, 1 << 20), rng.randrange(1, 1 << 18)))
        elif r < 0.72:
            ops.append(("remove", name))
        else:
            data = rng.randbytes(rng.choice([10, 5000, 150_000]))
            ops.append(("compound", name, data, rng.randrange(0, 1 << 19), i))
    return ops


@dataclass
class Obj:
    data: bytearray = field(default_factory=bytearray)
    xattrs: dict[str, bytes] = field(default_factory=dict)
    omap: dict[str, bytes] = field(default_factory=dict)


class Model:
    """Plain-Python semantics of the workload's operations."""

    def __init__(self) -> None:
        self.objects: dict[str, Obj] = {}

    def apply(self, op: Op) -> None:
        kind, name = op[0], op[1]
        obj = self.objects.get(name)
        if kind == "remove":
            self.objects.pop(name, None)
            return
        if kind == "zero":
            if obj is not None:
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

    def snapshot(self) -> dict[str, tuple[bytes, dict[str, bytes], dict[str, bytes]]]:
        return {
            n: (bytes(o.data), dict(o.xattrs), dict(o.omap)) for n, o in self.objects.items()
        }


def run_op(io: Any, op: Op) -> None:
    from shoal import errors
    from shoal.objstore import WriteOp

    kind, name = op[0], op[1]
    if kind == "write":
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


def main() -> None:
    from shoal.errors import PoolExists
    from shoal.objstore.local import LocalStore

    root, prefix, seed, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = LocalStore(Path(root))
    with contextlib.suppress(PoolExists):
        store.create_pool("crash", 16)
    io = store.open_ioctx("crash")
    print("ready", flush=True)
    for i, op in enumerate(operations(prefix, seed, count)):
        run_op(io, op)
        if i % 16 == 15:
            store.flush()
        print(f"ack {i}", flush=True)
    store.close()


if __name__ == "__main__":
    main()
