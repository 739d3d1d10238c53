"""The same RBD benchmarks on the embedded engine and on real Ceph, side by side in one run.

    .venv/bin/python bench/bench_backends.py [--mib 256] [--ops 2000] [--rand-mib 256]
        [--diff-gib 1024] [--rounds 3] [--dir DIR] [--objectstore bluestore|memstore]
        [--ceph-conf CONF [--ceph-keyring KEYRING]] [--profile] [--json]

- embedded: :mod:`shoal.rbd` on :class:`shoal.objstore.local.LocalStore` in a temporary
  directory under ``--dir`` (default /var/tmp);
- Ceph: Debian's python ``rados``/``rbd`` (librbd 16) on a single-node cluster that the
  bench starts itself with ``scripts/ceph-dev up DIR --objectstore bluestore`` (one OSD on
  a sparse block file in a directory under ``--dir``, so on the same disk) and stops at the
  end; or, with ``--ceph-conf``, an already running cluster (left running).

Both run the very same code through librbd's API (``RBD().create/clone``, ``Image.write/
read/flush/create_snap/diff_iterate``), one request at a time from Python (queue depth 1):

- sequential 4 MiB writes (ending with a flush) and reads of ``--mib`` MiB, medians of
  ``--rounds`` rounds, the backends alternating;
- 4 KiB random writes and reads (IOPS) at the same ``--ops`` offsets of a prefilled
  ``--rand-mib`` MiB image: write-through (a fresh handle: ``rbd cache writethrough until
  flush``) and write-back (the handle flushed once first); the timed writes end with a
  flush, so the cached data is on the OSD / store;
- clone of a 1 GiB parent snapshot (median of 5 clones, in ms);
- ``diff_iterate`` since a snapshot of a sparse ``--diff-gib`` GiB image with 100 changed
  objects, extent by extent and ``whole_object`` (ms).

The table gives both figures and embedded ÷ Ceph of the figure shown; ``↑`` marks rows
where more is better, ``↓`` where less is; goals (issue 4): random 4 KiB write ≥ 2x,
sequential ≥ 1x (as speed ratios). ``--json`` prints the same as a JSON document.
``--profile`` runs the embedded side's timed I/O sections under cProfile and prints where
the time goes (stderr); its figures are then slower than without.

Units: sizes in MiB/GiB as named, throughput in MiB/s, IOPS in requests/s, times in ms.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

MiB = 1 << 20
GiB = 1 << 30
OBJ = 4 * MiB
BLOCK = 4096
REPO_ROOT = Path(__file__).resolve().parents[1]
CEPH_DEV = REPO_ROOT / "scripts" / "ceph-dev"
DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages"
CEPH_POOL = "shoal-bench"
CLIENT_TIMEOUT_S = 60


@dataclass(frozen=True)
class Params:
    """What to run: ``mib`` sequential MiB, ``ops`` random 4 KiB requests on a ``rand_mib``
    MiB image, a ``diff_gib`` GiB sparse image, ``rounds`` sequential rounds."""

    mib: int = 256
    ops: int = 2000
    rand_mib: int = 256
    diff_gib: int = 1024
    rounds: int = 3
    clones: int = 5
    diff_changed: int = 100


@dataclass
class Backend:
    """One side: an I/O context and the module holding ``RBD`` and ``Image``."""

    label: str
    ioctx: Any
    rbd: Any  # shoal.rbd or Debian's rbd module
    profile: bool = False
    profiles: dict[str, str] = field(default_factory=dict)

    def create(self, name: str, size: int) -> None:
        self.rbd.RBD().create(self.ioctx, name, size, order=22)

    def image(self, name: str) -> Any:
        return self.rbd.Image(self.ioctx, name)

    def timed(self, what: str, fn: Callable[[], object]) -> float:
        """Seconds ``fn`` takes; under cProfile (kept in ``profiles``) when asked."""
        if not self.profile:
            t0 = time.perf_counter()
            fn()
            return time.perf_counter() - t0
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.runcall(fn)
        took = time.perf_counter() - t0
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats("tottime").print_stats(14)
        self.profiles[what] = f"{what}: {took:.3f} s under cProfile\n{out.getvalue()}"
        return took


# --- workloads (the same code on both backends) ---------------------------------------------


def sequential(b: Backend, name: str, payload: bytes, count: int) -> tuple[float, float]:
    """(write s, read s) of ``count`` 4 MiB requests in order; the writes end with a flush."""
    b.create(name, count * OBJ)
    with b.image(name) as img:
        def write() -> None:
            for i in range(count):
                img.write(payload, i * OBJ)
            img.flush()

        def read() -> None:
            for i in range(count):
                img.read(i * OBJ, OBJ)

        return b.timed("sequential write", write), b.timed("sequential read", read)


def random_io(b: Backend, name: str, size: int, ops: int) -> dict[str, float]:
    """IOPS of 4 KiB writes (write-through, then write-back) and reads at random offsets."""
    b.create(name, size)
    chunk = os.urandom(OBJ)
    with b.image(name) as img:
        for offset in range(0, size, OBJ):
            img.write(chunk[: min(OBJ, size - offset)], offset)
        img.flush()
    block = os.urandom(BLOCK)
    out: dict[str, float] = {}
    for mode, seed in (("write_through", 7), ("write_back", 8)):
        rng = random.Random(seed)
        offsets = [rng.randrange(size // BLOCK) * BLOCK for _ in range(ops)]
        with b.image(name) as img:  # a fresh handle: write-through until its first flush
            if mode == "write_back":
                img.flush()

            def writes(img: Any = img, offsets: list[int] = offsets) -> None:
                for offset in offsets:
                    img.write(block, offset)
                img.flush()

            out[f"rand_write_{mode}_iops"] = ops / b.timed(f"random write, {mode}", writes)
    rng = random.Random(9)
    offsets = [rng.randrange(size // BLOCK) * BLOCK for _ in range(ops)]
    with b.image(name) as img:
        took = b.timed("random read", lambda: [img.read(o, BLOCK) for o in offsets])
    out["rand_read_iops"] = ops / took
    return out


def clone_ms(b: Backend, tag: str, clones: int) -> float:
    """Median ms of ``RBD().clone`` of a protected snapshot of a 1 GiB parent."""
    parent = f"parent-{tag}"
    b.create(parent, GiB)
    with b.image(parent) as img:
        img.write(b"x" * BLOCK, 0)
        img.create_snap("snap")
        img.protect_snap("snap")
    times = []
    for i in range(clones):
        t0 = time.perf_counter()
        b.rbd.RBD().clone(b.ioctx, parent, "snap", b.ioctx, f"child-{tag}-{i}")
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def diff_ms(b: Backend, size: int, changed: int) -> dict[str, float]:
    """Milliseconds of ``diff_iterate`` since a snapshot, ``changed`` objects written after it."""
    b.create("sparse", size)
    rng = random.Random(3)
    out: dict[str, float] = {}
    with b.image("sparse") as img:
        img.create_snap("base")
        for objectno in rng.sample(range(size // OBJ), changed):
            img.write(b"d" * BLOCK, objectno * OBJ + 8192)
        img.flush()
        for whole in (False, True):
            found: list[tuple[int, int, bool]] = []
            t0 = time.perf_counter()
            img.diff_iterate(0, size, "base", lambda o, n, e, found=found: found.append(
                (o, n, e)), whole_object=whole)
            took_ms = (time.perf_counter() - t0) * 1000
            out[f"diff_{'whole' if whole else 'extents'}_ms"] = took_ms
            # (shoal merges adjacent whole objects into one extent, librbd does not)
            objects = {n for o, length, _ in found
                       for n in range(o // OBJ, (o + length - 1) // OBJ + 1)}
            if len(objects) != changed:
                raise RuntimeError(f"{b.label}: diff found {len(objects)} objects, not {changed}")
    return out


def run_all(backends: list[Backend], p: Params) -> dict[str, dict[str, float]]:
    """Every figure for every backend (keyed by label); sequential rounds alternate."""
    payload = os.urandom(OBJ)
    count = max(1, p.mib // 4)
    seq: dict[str, list[tuple[float, float]]] = {b.label: [] for b in backends}
    for r in range(p.rounds):
        for b in backends if r % 2 == 0 else reversed(backends):
            os.sync()  # each from a clean page cache: the kernel throttles writers otherwise
            seq[b.label].append(sequential(b, f"seq-{r}", payload, count))
            b.rbd.RBD().remove(b.ioctx, f"seq-{r}")
    out: dict[str, dict[str, float]] = {}
    for b in backends:
        writes = statistics.median(w for w, _ in seq[b.label])
        reads = statistics.median(r for _, r in seq[b.label])
        figures = {"seq_write_mib_s": count * 4 / writes, "seq_read_mib_s": count * 4 / reads}
        figures.update(random_io(b, "rand", p.rand_mib * MiB, p.ops))
        figures["clone_1g_ms"] = clone_ms(b, "g", p.clones)
        figures.update(diff_ms(b, p.diff_gib * GiB, p.diff_changed))
        out[b.label] = figures
    return out


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    title: str
    unit: str
    higher_is_better: bool
    goal: float | None = None  # as a speed ratio (embedded faster = > 1)


ROWS = (
    Row("seq_write_mib_s", "sequential write 4 MiB", "MiB/s", True, 1.0),
    Row("seq_read_mib_s", "sequential read 4 MiB", "MiB/s", True, 1.0),
    Row("rand_write_write_through_iops", "random write 4 KiB, write-through", "IOPS", True, 2.0),
    Row("rand_write_write_back_iops", "random write 4 KiB, write-back", "IOPS", True, 2.0),
    Row("rand_read_iops", "random read 4 KiB", "IOPS", True),
    Row("clone_1g_ms", "clone, 1 GiB parent", "ms", False),
    Row("diff_extents_ms", "diff_iterate, 100 changed objects", "ms", False),
    Row("diff_whole_ms", "diff_iterate whole_object, 100 objects", "ms", False),
)


def compare(embedded: dict[str, float], ceph: dict[str, float]) -> list[dict[str, Any]]:
    """One dict per row: figures, ``ratio`` (embedded ÷ Ceph of the figure), ``speedup``
    (> 1: embedded faster) and whether the goal, if any, is met."""
    rows = []
    for row in ROWS:
        e, c = embedded[row.key], ceph[row.key]
        ratio = e / c if c else float("inf")
        speedup = ratio if row.higher_is_better else (1 / ratio if ratio else float("inf"))
        rows.append({**asdict(row), "embedded": e, "ceph": c, "ratio": ratio,
                     "speedup": speedup,
                     "goal_met": None if row.goal is None else speedup >= row.goal})
    return rows


def number(value: float) -> str:
    """A figure with 3-4 significant digits, no exponent."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


def render(rows: list[dict[str, Any]], header: str) -> str:
    lines = [header,
             f"{'':44} {'embedded':>10} {'ceph':>10} {'emb÷ceph':>9}  goal",
             "-" * 82]
    for r in rows:
        arrow = "↑" if r["higher_is_better"] else "↓"
        goal = ""
        if r["goal"] is not None:
            goal = f"≥{r['goal']:g}x {'met' if r['goal_met'] else 'MISSED'}"
        title = f"{r['title']} ({r['unit']} {arrow})"
        lines.append(f"{title:44} {number(r['embedded']):>10} {number(r['ceph']):>10} "
                     f"{r['ratio']:8.2f}x  {goal}")
    return "\n".join(lines)


# --- backends -------------------------------------------------------------------------------


def import_ceph() -> tuple[ModuleType, ModuleType]:
    """Debian's ``rados`` and ``rbd`` (dist-packages after site-packages)."""
    if DEBIAN_DIST_PACKAGES not in sys.path:
        sys.path.append(DEBIAN_DIST_PACKAGES)
    import rados
    import rbd

    return rados, rbd


@contextlib.contextmanager
def ceph_dev_cluster(base: Path, objectstore: str) -> Iterator[tuple[Path, Path | None, float]]:
    """``scripts/ceph-dev up`` in a new directory under ``base``; (conf, keyring, start s)."""
    directory = Path(tempfile.mkdtemp(prefix="shoal-bench-ceph-", dir=base))
    t0 = time.monotonic()
    try:
        proc = subprocess.run([str(CEPH_DEV), "up", str(directory), "--objectstore",
                               objectstore], capture_output=True, text=True, timeout=1800,
                              stdin=subprocess.DEVNULL, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"ceph-dev up failed:\n{proc.stderr[-3000:]}")
        values = dict(re.findall(r"^(CEPH_\w+)=(.*)$", proc.stdout, re.M))
        keyring = values.get("CEPH_KEYRING")
        yield (Path(values["CEPH_CONF"]), Path(keyring) if keyring else None,
               time.monotonic() - t0)
    finally:
        subprocess.run([str(CEPH_DEV), "down", str(directory)], capture_output=True,
                       timeout=300, stdin=subprocess.DEVNULL, check=False)
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def ceph_backend(conf: Path, keyring: Path | None) -> Iterator[Backend]:
    """A fresh RBD pool on the cluster (deleted afterwards) as a :class:`Backend`."""
    rados, rbd = import_ceph()
    options = {k: str(CLIENT_TIMEOUT_S) for k in (
        "client_mount_timeout", "rados_mon_op_timeout", "rados_osd_op_timeout")}
    if keyring is not None:
        options["keyring"] = str(keyring)
    cluster = rados.Rados(conffile=str(conf), rados_id="admin", conf=options)
    cluster.connect(timeout=CLIENT_TIMEOUT_S)
    pool = f"{CEPH_POOL}-{os.urandom(4).hex()}"
    try:
        cluster.create_pool(pool)
        try:
            with cluster.open_ioctx(pool) as ioctx:
                rbd.RBD().pool_init(ioctx, False)
                yield Backend("ceph", ioctx, rbd)
        finally:
            cluster.delete_pool(pool)
    finally:
        cluster.shutdown()


@contextlib.contextmanager
def embedded_backend(base: Path, label: str = "embedded",
                     profile: bool = False) -> Iterator[Backend]:
    """shoal's engine on a LocalStore in a new directory under ``base`` (removed after)."""
    import shoal.rbd
    from shoal.objstore.local import LocalStore

    root = Path(tempfile.mkdtemp(prefix="shoal-bench-store-", dir=base))
    store = LocalStore(root)
    try:
        store.create_pool("rbd", 64)
        yield Backend(label, store.open_ioctx("rbd"), shoal.rbd, profile=profile)
    finally:
        store.close()
        shutil.rmtree(root, ignore_errors=True)


def run(p: Params, base: Path, *, ceph_conf: Path | None = None,
        ceph_keyring: Path | None = None, objectstore: str = "bluestore",
        profile: bool = False, ceph: bool = True) -> dict[str, Any]:
    """Run everything; returns ``{"params", "ceph", "rows", "figures", "profiles"}``.

    ``ceph=False`` runs the embedded engine twice instead (both columns embedded: a check
    of the bench itself, without a cluster).
    """
    info: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        emb = stack.enter_context(embedded_backend(base, profile=profile))
        if not ceph:
            other = stack.enter_context(embedded_backend(base, label="ceph"))
            info = {"backend": "embedded (self-check)"}
        else:
            if ceph_conf is None:
                ceph_conf, ceph_keyring, startup = stack.enter_context(
                    ceph_dev_cluster(base, objectstore))
                info = {"objectstore": objectstore, "startup_s": startup, "started": True}
            else:
                info = {"conf": str(ceph_conf), "started": False}
            other = stack.enter_context(ceph_backend(ceph_conf, ceph_keyring))
        figures = run_all([emb, other], p)
    return {"params": asdict(p), "ceph": info,
            "rows": compare(figures["embedded"], figures["ceph"]),
            "figures": figures, "profiles": emb.profiles}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=256, help="sequential MiB (256 to 1024)")
    ap.add_argument("--ops", type=int, default=2000, help="random 4 KiB requests per test")
    ap.add_argument("--rand-mib", type=int, default=256, help="random I/O image MiB")
    ap.add_argument("--diff-gib", type=int, default=1024, help="sparse diff image GiB")
    ap.add_argument("--rounds", type=int, default=3, help="sequential rounds (median)")
    ap.add_argument("--dir", type=Path, default=Path("/var/tmp"),
                    help="where the store and the cluster live (same disk)")
    ap.add_argument("--objectstore", choices=("bluestore", "memstore"), default="bluestore")
    ap.add_argument("--ceph-conf", type=Path, help="use this running cluster instead")
    ap.add_argument("--ceph-keyring", type=Path)
    ap.add_argument("--profile", action="store_true", help="cProfile the embedded writes")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    p = Params(mib=args.mib, ops=args.ops, rand_mib=args.rand_mib, diff_gib=args.diff_gib,
               rounds=args.rounds)
    out = run(p, args.dir, ceph_conf=args.ceph_conf, ceph_keyring=args.ceph_keyring,
              objectstore=args.objectstore, profile=args.profile)
    for text in out["profiles"].values():
        print(text, file=sys.stderr)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    where = (f"Ceph 16 ceph-dev cluster, 1 {out['ceph']['objectstore']} OSD "
             f"(up in {out['ceph']['startup_s']:.1f} s)" if out["ceph"].get("started")
             else f"Ceph cluster {out['ceph'].get('conf')}")
    print(render(out["rows"], f"embedded (LocalStore in {args.dir}) vs {where}; "
                              f"{p.mib} MiB sequential x{p.rounds}, {p.ops} random ops on "
                              f"{p.rand_mib} MiB, diff on {p.diff_gib} GiB"))


if __name__ == "__main__":
    main()
