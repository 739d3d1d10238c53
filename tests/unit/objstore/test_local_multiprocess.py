"""Several processes on one local store at once (the CLI next to a running server)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shoal.objstore.local import LocalStore

CHILD = r"""
import sys
from pathlib import Path
from shoal import errors
from shoal.objstore import WriteOp
from shoal.objstore.local import LocalStore

root, me, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
store = LocalStore(root)
io = store.open_ioctx("shared")
for i in range(rounds):
    # optimistic increment of a shared counter: read, then write iff unchanged
    while True:
        st = io.stat("counter")
        value = int(io.read("counter", 32, 0))
        op = WriteOp().assert_version(st.version).write_full(str(value + 1).encode())
        try:
            io.operate("counter", op)
            break
        except (errors.OutOfRange, errors.Overflow):
            continue
    # a page of 4 KiB that must never be seen half-written
    block = (me[0] * 4096).encode()
    io.write("torn", block, 4096 * (i % 8))
    io.omap_set("log", {f"{me}.{i:05d}": b"x"})
    data = io.read("torn", 8 * 4096, 0)
    for k in range(8):
        page = data[k * 4096 : (k + 1) * 4096]
        assert len(set(page)) <= 1, "torn 4 KiB page"
store.close()
print("ok")
"""


def test_concurrent_processes_increment_and_never_tear(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    try:
        store.create_pool("shared", 8)
        io = store.open_ioctx("shared")
        io.write_full("counter", b"0")
        io.write_full("torn", bytes(8 * 4096))
        rounds, procs = 150, 3
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        children = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, str(tmp_path), name, str(rounds)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
            for name in ("a", "b", "c")[:procs]
        ]
        for child in children:
            out, err = child.communicate(timeout=300)
            assert child.returncode == 0, err.decode()
            assert out.strip() == b"ok"
        assert int(io.read("counter")) == rounds * procs
        keys = [k for k, _ in io.omap_iter("log")]
        assert len(keys) == rounds * procs
        assert keys == sorted(keys)
    finally:
        store.close()


SNAP_CHILD = r"""
import random, sys
from pathlib import Path
from shoal import errors
from shoal.objstore.local import LocalStore

root, me, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rng = random.Random(me)
store = LocalStore(root)
io = store.open_ioctx("snappy")
names = [f"{me}.{k}" for k in range(6)]
head = {}           # name -> bytes (this process's objects only)
at = {}             # live snap id -> {name: bytes}

def check():
    for n in names:
        try:
            got = io.read(n, 0)
        except errors.ObjectNotFound:
            got = None
        assert got == head.get(n), (me, n)
    reader = io.dup()
    for snap_id, then in at.items():
        reader.set_read(snap_id)
        for n in names:
            try:
                got = reader.read(n, 0)
            except errors.ObjectNotFound:
                got = None
            assert got == then.get(n), (me, n, snap_id)

for i in range(rounds):
    r = rng.random()
    n = rng.choice(names)
    if r < 0.08 and len(at) < 4:
        snap_id = io.create_self_managed_snap()
        at[snap_id] = dict(head)
        io.set_self_managed_snap_write(sorted(at), snap_id)
    elif r < 0.14 and at:
        victim = rng.choice(sorted(at))
        io.remove_self_managed_snap(victim)
        del at[victim]
        io.set_self_managed_snap_write(sorted(at), io.get_snap_context().seq)
    elif r < 0.20 and at:
        snap_id = rng.choice(sorted(at))
        io.rollback_self_managed_snap(n, snap_id)
        if at[snap_id].get(n) is None:
            head.pop(n, None)
        else:
            head[n] = at[snap_id][n]
    elif r < 0.25 and n in head:
        io.remove_object(n)
        del head[n]
    else:
        data = rng.randbytes(rng.choice([10, 5000, 70000]))
        off = rng.randrange(0, 200000)
        io.write(n, data, off)
        old = bytearray(head.get(n, b""))
        old.extend(bytes(max(0, off - len(old))))
        old[off:off + len(data)] = data
        head[n] = bytes(old)
    if i % 25 == 24:
        check()
check()
store.close()
print("ok")
"""


def test_concurrent_processes_with_snapshots(tmp_path: Path) -> None:
    """Writers in several processes making clones, rolling back and trimming snaps
    (which locks many PGs at once) in the same PGs never see wrong data, never
    deadlock, and leave no stray data file behind."""
    store = LocalStore(tmp_path)
    try:
        store.create_pool("snappy", 4)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        children = [
            subprocess.Popen(
                [sys.executable, "-c", SNAP_CHILD, str(tmp_path), name, "200"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
            for name in ("a", "b", "c")
        ]
        for child in children:
            out, err = child.communicate(timeout=300)
            assert child.returncode == 0, err.decode()
            assert out.strip() == b"ok"
        assert store.scrub() == 0
    finally:
        store.close()
