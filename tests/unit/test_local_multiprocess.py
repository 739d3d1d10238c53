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
