"""RBD engine figures, each against a reference measured in the same run.

    .venv/bin/python bench/bench_rbd.py [--mib 512] [--ops 5000] [--dir DIR]

- sequential 4 MiB writes and reads through an image vs the same through a
  plain file on the same filesystem (ratio, goal >= 0.9);
- 4 KiB random writes and reads (IOPS; issue 4 compares them with real Ceph);
- clone time of a 1 GiB vs a 1 TiB sparse parent (goal: within 2x);
- diff_iterate of a 1 TiB sparse image with 100 changed objects since a
  snapshot (goal < 1 s).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shoal.objstore.local import LocalStore
from shoal.rbd import RBD, Image

MiB = 1 << 20
GiB = 1 << 30
TiB = 1 << 40
OBJ = 4 * MiB


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def seq_plain(path: Path, payload: bytes, count: int) -> tuple[float, float]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        def write() -> None:
            for i in range(count):
                os.pwrite(fd, payload, i * OBJ)
            os.fdatasync(fd)

        def read() -> None:
            for i in range(count):
                os.pread(fd, OBJ, i * OBJ)

        return timed(write), timed(read)
    finally:
        os.close(fd)


def seq_image(io: Any, name: str, payload: bytes, count: int) -> tuple[float, float]:
    RBD().create(io, name, count * OBJ)
    with Image(io, name) as img:
        def write() -> None:
            for i in range(count):
                img.write(payload, i * OBJ)
            img.flush()

        def read() -> None:
            for i in range(count):
                img.read(i * OBJ, OBJ)

        return timed(write), timed(read)


def random_io(io: Any, ops: int, size: int, name: str, writeback: bool) -> tuple[float, float]:
    """(write IOPS, read IOPS) of 4 KiB requests over a prefilled image.

    ``writeback``: flush once first, so ``rbd cache writethrough until flush``
    switches to write-back (as a guest that flushes does); the timed writes
    then include the final flush. Otherwise every write goes through.
    """
    RBD().create(io, name, size)
    rng = random.Random(7)
    block = os.urandom(4096)
    with Image(io, name) as img:
        chunk = os.urandom(OBJ)
        for off in range(0, size, OBJ):
            img.write(chunk, off)
        if writeback:
            img.flush()
        offsets = [rng.randrange(size // 4096) * 4096 for _ in range(ops)]

        def writes() -> None:
            for o in offsets:
                img.write(block, o)
            img.flush()

        tw = timed(writes)
        tr = timed(lambda: [img.read(o, 4096) for o in offsets])
    return ops / tw, ops / tr


def clone_time(io: Any, parent_size: int, tag: str) -> float:
    rbd = RBD()
    rbd.create(io, f"p-{tag}", parent_size)
    with Image(io, f"p-{tag}") as img:
        img.write(b"x" * 4096, 0)
        img.create_snap("snap")
        img.protect_snap("snap")
    return timed(lambda: rbd.clone(io, f"p-{tag}", "snap", io, f"c-{tag}"))


def diff_time(io: Any, changed: int) -> tuple[float, int]:
    RBD().create(io, "sparse", TiB)
    rng = random.Random(3)
    with Image(io, "sparse") as img:
        img.create_snap("base")
        for objectno in rng.sample(range(TiB // OBJ), changed):
            img.write(b"d" * 4096, objectno * OBJ + 8192)
        found: list[tuple[int, int, bool]] = []
        took = timed(
            lambda: img.diff_iterate(0, TiB, "base", lambda o, n, e: found.append((o, n, e)))
        )
    return took, len(found)


def run(mib: int, ops: int, base: Path, rounds: int = 3) -> dict[str, float]:
    count = max(1, mib // 4)
    payload = os.urandom(OBJ)
    pw: list[float] = []
    pr: list[float] = []
    iw: list[float] = []
    ir: list[float] = []
    for r in range(rounds):
        store = LocalStore(base / f"seq{r}")
        try:
            store.create_pool("rbd", 64)
            io = store.open_ioctx("rbd")
            # Alternate who goes first, each from a clean page cache (the kernel
            # throttles writers while earlier dirty pages are written back).
            for side in ("plain", "image") if r % 2 == 0 else ("image", "plain"):
                os.sync()
                if side == "plain":
                    a, b = seq_plain(base / f"plain{r}", payload, count)
                    pw.append(a)
                    pr.append(b)
                else:
                    c, d = seq_image(io, "seq", payload, count)
                    iw.append(c)
                    ir.append(d)
        finally:
            store.close()
            shutil.rmtree(base / f"seq{r}")
            os.unlink(base / f"plain{r}")
    store = LocalStore(base / "misc")
    try:
        store.create_pool("rbd", 64)
        io = store.open_ioctx("rbd")
        wiops, riops = random_io(io, ops, 256 * MiB, "rand-wt", False)
        wb_wiops, _ = random_io(io, ops, 256 * MiB, "rand-wb", True)
        small = statistics.median(clone_time(io, GiB, f"g{i}") for i in range(5))
        large = statistics.median(clone_time(io, TiB, f"t{i}") for i in range(5))
        dt, extents = diff_time(io, 100)
    finally:
        store.close()
    total = count * 4
    return {
        "plain_write_mib_s": total / statistics.median(pw),
        "image_write_mib_s": total / statistics.median(iw),
        "plain_read_mib_s": total / statistics.median(pr),
        "image_read_mib_s": total / statistics.median(ir),
        "write_ratio": statistics.median(pw) / statistics.median(iw),
        "read_ratio": statistics.median(pr) / statistics.median(ir),
        "rand_write_iops": wiops,
        "rand_read_iops": riops,
        "rand_write_iops_writeback": wb_wiops,
        "clone_1g_ms": small * 1000,
        "clone_1t_ms": large * 1000,
        "clone_ratio": large / small,
        "diff_1t_100_s": dt,
        "diff_extents": extents,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=512)
    ap.add_argument("--ops", type=int, default=5000)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="shoal-bench-rbd-", dir=args.dir or "/var/tmp"))
    try:
        out = run(args.mib, args.ops, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"sequential 4 MiB ({args.mib} MiB, medians of 3)")
    print(f"  write: file {out['plain_write_mib_s']:7.0f} MiB/s  image "
          f"{out['image_write_mib_s']:7.0f} MiB/s  ratio {out['write_ratio']:.2f}")
    print(f"  read:  file {out['plain_read_mib_s']:7.0f} MiB/s  image "
          f"{out['image_read_mib_s']:7.0f} MiB/s  ratio {out['read_ratio']:.2f}")
    print(f"random 4 KiB ({args.ops} ops, 256 MiB image): write-through write "
          f"{out['rand_write_iops']:.0f} IOPS, write-back write "
          f"{out['rand_write_iops_writeback']:.0f} IOPS, read {out['rand_read_iops']:.0f} IOPS")
    print(f"clone: 1 GiB parent {out['clone_1g_ms']:.1f} ms, 1 TiB parent "
          f"{out['clone_1t_ms']:.1f} ms, ratio {out['clone_ratio']:.2f}")
    print(f"diff of 1 TiB with 100 changed objects: {out['diff_1t_100_s']:.3f} s "
          f"({out['diff_extents']:.0f} extents)")


if __name__ == "__main__":
    main()
