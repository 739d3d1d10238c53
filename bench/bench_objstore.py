"""Sequential 4 MiB writes and reads: the local object store vs plain files.

Both run side by side in one process on the same filesystem, alternating
which goes first, each write phase starting from a clean page cache (``sync``);
the figure is the ratio of medians (local ÷ plain), goal >= 0.9.

    .venv/bin/python bench/bench_objstore.py [--mib 1024] [--rounds 5] [--dir DIR]

Writes end with a flush (store.flush() / fsync of each file), so both sides
pay for getting the bytes to disk. Reads come from the page cache on both sides.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from shoal.objstore.local import LocalStore

OBJECT_BYTES = 4 << 20


def plain_write(d: Path, payload: bytes, count: int) -> None:
    fds = []
    for i in range(count):
        fd = os.open(d / f"f{i}", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        os.pwrite(fd, payload, 0)
        fds.append(fd)
    for fd in fds:
        os.fdatasync(fd)
        os.close(fd)


def plain_read(d: Path, count: int) -> int:
    total = 0
    for i in range(count):
        fd = os.open(d / f"f{i}", os.O_RDONLY)
        total += len(os.pread(fd, OBJECT_BYTES, 0))
        os.close(fd)
    return total


def store_write(store: LocalStore, payload: bytes, count: int) -> None:
    io = store.open_ioctx("bench")
    for i in range(count):
        io.write(f"rbd_data.bench.{i:016x}", payload, 0)
    store.flush()


def store_read(store: LocalStore, count: int) -> int:
    io = store.open_ioctx("bench")
    return sum(len(io.read(f"rbd_data.bench.{i:016x}", OBJECT_BYTES, 0)) for i in range(count))


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(mib: int, rounds: int, base: Path) -> dict[str, float]:
    count = max(1, mib // 4)
    payload = os.urandom(OBJECT_BYTES)
    res: dict[str, list[float]] = {k: [] for k in ("pw", "pr", "sw", "sr")}
    for r in range(rounds):
        pdir = base / f"plain{r}"
        pdir.mkdir()
        sdir = base / f"store{r}"
        store = LocalStore(sdir)
        store.create_pool("bench", 64)
        try:
            writes = [("pw", lambda: plain_write(pdir, payload, count)),  # noqa: B023
                      ("sw", lambda: store_write(store, payload, count))]  # noqa: B023
            # Alternate who goes first, and start each from a clean page cache: the
            # kernel throttles writers while earlier dirty pages are written back.
            for key, fn in writes if r % 2 == 0 else writes[::-1]:
                os.sync()
                res[key].append(timed(fn))
            res["pr"].append(timed(lambda: plain_read(pdir, count)))  # noqa: B023
            res["sr"].append(timed(lambda: store_read(store, count)))  # noqa: B023
        finally:
            store.close()
            shutil.rmtree(pdir)
            shutil.rmtree(sdir)
    med = {k: statistics.median(v) for k, v in res.items()}
    total_mib = count * 4
    return {
        "plain_write_mib_s": total_mib / med["pw"],
        "local_write_mib_s": total_mib / med["sw"],
        "plain_read_mib_s": total_mib / med["pr"],
        "local_read_mib_s": total_mib / med["sr"],
        "write_ratio": med["pw"] / med["sw"],
        "read_ratio": med["pr"] / med["sr"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=1024, help="data per round, MiB")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=None, help="where to write (default: /var/tmp)")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="shoal-bench-", dir=args.dir or "/var/tmp"))
    try:
        out = run(args.mib, args.rounds, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"sequential 4 MiB, {args.mib} MiB x {args.rounds} rounds (medians)")
    print(f"  write: plain {out['plain_write_mib_s']:8.0f} MiB/s   local "
          f"{out['local_write_mib_s']:8.0f} MiB/s   ratio {out['write_ratio']:.2f}")
    print(f"  read:  plain {out['plain_read_mib_s']:8.0f} MiB/s   local "
          f"{out['local_read_mib_s']:8.0f} MiB/s   ratio {out['read_ratio']:.2f}")


if __name__ == "__main__":
    main()
