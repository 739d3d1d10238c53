"""The Ceph backup driver on the embedded engine, side by side with plain-file references.

One run, three comparisons (issue 13), each against a reference measured in the same run
on the same filesystem (the data directory and the reference files share ``--dir``):

1. **Full backup** of a ``--size-gib`` volume (RBD image ``volumes/volume-<id>``) holding
   ``--data-gib`` of random data, vs ``cp --sparse=always --reflink=never`` of a sparse
   file with the same bytes at the same offsets, then ``fsync`` of the copy. Throughput is
   data bytes per second; goal: backup/cp >= 0.7. The backup is made durable by the
   driver itself (it flushes the base image: ``fdatasync`` in the embedded store).
2. **Incremental backup** (parent: the full one) after 1 % of the data changed, in 1 MiB
   pieces at random offsets inside random data pieces; goal: <= 3 % of the full backup's
   time.
3. **Restore** of the full backup into a new empty volume of the same size
   (``volume_is_new``), vs writing the same data bytes at the same offsets into a new
   sparse file, then ``fsync``; goal: restore/write >= 0.7. The restored volume is read
   back whole and hashed; a restore that differs from the volume at backup time fails
   the run (``RestoreMismatch``).

Layout: the data is ``data // 4 MiB`` pieces of 4 MiB (one RBD object each), piece ``i``
at offset ``i * stride``, where ``stride`` is ``size // pieces`` rounded down to 4 MiB
(10 GiB and 2 GiB: 512 pieces, one every 20 MiB, i.e. every fifth object).

    .venv/bin/python bench/bench_backup.py [--size-gib 10] [--data-gib 2] [--repeats 3]
        [--dir DIR] [--json]

Every repeat takes fresh backups (new ids; the previous ones deleted, with their snapshots
on the volume) and restores into a new volume. The reference and the driver run
alternately (even repeats: reference first), each after ``sync`` so that the other's dirty
pages are not written back during it; no cache is dropped. Figures are medians.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shoal.rbd as rbd
from shoal.cluster import EmbeddedSession, connect
from shoal.deploy import provision_cluster
from shoal.objstore import IoCtx
from shoal.services.backup.driver import BackupOptions, CephBackupDriver, backup_snaps

MiB = 1 << 20
GiB = 1 << 30
#: The data pieces (bytes): one RBD object each, at object-aligned offsets.
PIECE = 4 * MiB
#: The pieces of the 1 % change (bytes).
CHANGE = 1 * MiB
#: What the restored volume is read back in (bytes), to hash it.
READ_BYTES = 64 * MiB
VOLUME_POOL = "volumes"


class RestoreMismatch(AssertionError):
    """The restored volume does not hold the bytes of the volume at backup time."""


@dataclass
class Layout:
    """Where the data lies: ``count`` pieces of :data:`PIECE` bytes, piece ``i`` at
    ``i * stride``, in an image of ``size`` bytes."""

    size: int
    count: int
    stride: int

    @classmethod
    def plan(cls, size_gib: int, data_bytes: int) -> Layout:
        """The layout of ``data_bytes`` (rounded down to whole pieces, at least one) in a
        ``size_gib`` GiB volume.

        Raises:
            ValueError: the data does not fit in the volume.
        """
        size = size_gib * GiB
        count = max(1, data_bytes // PIECE)
        stride = size // count // PIECE * PIECE
        if stride < PIECE:
            raise ValueError(f"{count} pieces of 4 MiB do not fit in {size_gib} GiB")
        return cls(size, count, stride)

    @property
    def data_bytes(self) -> int:
        return self.count * PIECE

    def offsets(self) -> range:
        return range(0, self.count * self.stride, self.stride)

    def describe(self) -> str:
        return (f"{self.count} pieces of 4 MiB random data, one every "
                f"{self.stride // MiB} MiB from offset 0, in {self.size // GiB} GiB")


def _digest(blocks: Iterator[tuple[int, bytes]]) -> str:
    """SHA-256 of the non-zero :data:`PIECE`-sized blocks, each with its offset: equal for
    two images exactly when their bytes are (the zero blocks are implied)."""
    h = hashlib.sha256()
    for offset, block in blocks:
        if not rbd.is_zero(block):
            h.update(offset.to_bytes(8, "little"))
            h.update(block)
    return h.hexdigest()


def _image_blocks(img: rbd.Image) -> Iterator[tuple[int, bytes]]:
    """Every :data:`PIECE` of ``img``, read whole, holes included."""
    size = img.size()
    for offset in range(0, size, READ_BYTES):
        data = img.read(offset, min(READ_BYTES, size - offset))
        view = memoryview(data)
        for at in range(0, len(data), PIECE):
            yield offset + at, bytes(view[at:at + PIECE])


#: ``--cold``: drop the page cache before each timed step (root only): both sides then read
#: their source from the disk and write into an empty cache (a full cache makes whichever
#: writes first pay for the kernel's page reclaim, a bias of up to 3x measured here).
_COLD = {"on": False}
_DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def _timed(fn: Callable[[], object]) -> float:
    os.sync()  # the other side's dirty pages are not written back while this one runs
    if _COLD["on"]:
        _DROP_CACHES.write_text("3\n")
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def _side_by_side(reference: Callable[[], object], driver: Callable[[], object],
                  reference_first: bool) -> tuple[float, float]:
    """(reference seconds, driver seconds), each :func:`_timed`, in the order asked."""
    if reference_first:
        ref_s = _timed(reference)
        return ref_s, _timed(driver)
    driver_s = _timed(driver)
    return _timed(reference), driver_s


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Bench:
    """The embedded cluster (on disk, as ``shoal up`` provisions it), one volume holding
    the layout's data, a sparse file holding the same bytes, and the driver."""

    def __init__(self, base: Path, layout: Layout, seed: int = 13) -> None:
        self.base = base
        self.layout = layout
        self.rng = random.Random(seed)
        data_dir = base / "shoal"
        self.admin = connect(data_dir)
        self.sessions: list[EmbeddedSession] = [self.admin]
        keyrings = provision_cluster(self.admin, base / "keys").keyrings

        def session(entity: str) -> EmbeddedSession:
            s = connect(data_dir, name=entity, keyring=keyrings[entity])
            self.sessions.append(s)
            return s

        self.driver = CephBackupDriver(session("client.cinder"), session("client.cinder-backup"),
                                       BackupOptions(user="cinder-backup"))
        self.volumes: IoCtx = self.admin.open_ioctx(VOLUME_POOL)
        self.volume_id = str(uuid.uuid4())
        self.source = base / "source.img"
        self.restore_methods: set[str] = set()  # "diff" or "full", as the driver said
        # The volume's bytes, piece by piece (memory: the data size).
        self.pieces = [os.urandom(PIECE) for _ in range(layout.count)]
        rbd.RBD().create(self.volumes, f"volume-{self.volume_id}", layout.size)
        with rbd.Image(self.volumes, f"volume-{self.volume_id}") as img:
            for offset, piece in zip(layout.offsets(), self.pieces, strict=True):
                img.write(piece, offset)
            img.flush()
        self._write_file(self.source)

    def close(self) -> None:
        for s in self.sessions:
            s.shutdown()

    # --- references -----------------------------------------------------------------------
    def _write_file(self, path: Path) -> None:
        """The data into a new sparse file of the volume's size, at the layout's offsets,
        then fsync (the restore's reference)."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, self.layout.size)
            for offset, piece in zip(self.layout.offsets(), self.pieces, strict=True):
                os.pwrite(fd, piece, offset)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _cp(self, target: Path) -> None:
        """``cp --sparse=always`` of the source file, then fsync (the backup's reference)."""
        subprocess.run(["cp", "--sparse=always", "--reflink=never", str(self.source),
                        str(target)], check=True)
        _fsync(target)

    # --- the driver -----------------------------------------------------------------------
    def _change(self) -> None:
        """1 % of the data (at least one :data:`CHANGE` piece) rewritten with new random
        bytes, in :data:`CHANGE` pieces at random offsets inside distinct data pieces;
        the source file gets the same bytes."""
        count = max(1, self.layout.data_bytes // 100 // CHANGE)
        chosen = sorted(self.rng.sample(range(self.layout.count), min(count, self.layout.count)))
        fd = os.open(self.source, os.O_WRONLY)
        try:
            with rbd.Image(self.volumes, f"volume-{self.volume_id}") as img:
                for index in chosen:
                    at = self.rng.randrange(PIECE - CHANGE + 1)
                    new = os.urandom(CHANGE)
                    offset = index * self.layout.stride + at
                    img.write(new, offset)
                    os.pwrite(fd, new, offset)
                    old = self.pieces[index]
                    self.pieces[index] = old[:at] + new + old[at + CHANGE:]
                img.flush()
        finally:
            os.close(fd)

    def _expected(self) -> str:
        return _digest(zip(self.layout.offsets(), self.pieces, strict=True))

    def _restored(self, volume_id: str) -> str:
        with rbd.Image(self.volumes, f"volume-{volume_id}", read_only=True) as img:
            return _digest(_image_blocks(img))

    def _drop_volume_snaps(self) -> None:
        """Remove the backup snapshots the driver left on the volume (Cinder keeps them)."""
        with rbd.Image(self.volumes, f"volume-{self.volume_id}") as img:
            for snap in backup_snaps(img.list_snaps()):
                img.remove_snap(snap.name)

    def repeat(self, index: int) -> dict[str, float]:
        """One repeat: seconds of each timed step (``cp_s``, ``full_s``, ``incr_s``,
        ``write_s``, ``restore_s``).

        Raises:
            RestoreMismatch: the restored volume differs from the volume at backup time.
        """
        gib = self.layout.size // GiB
        copy = self.base / f"copy{index}.img"
        written = self.base / f"written{index}.img"
        restored_id = str(uuid.uuid4())
        expected = self._expected()
        took: dict[str, float] = {}
        result: dict[str, Any] = {}

        def full() -> None:
            result["full"] = self.driver.backup(str(uuid.uuid4()), self.volume_id, VOLUME_POOL,
                                                volume_size_gib=gib)

        def restore() -> None:
            done = self.driver.restore(result["full"].ref(), restored_id, VOLUME_POOL, gib,
                                       volume_is_new=True)
            self.restore_methods.add(done.method)

        reference_first = index % 2 == 0
        took["cp_s"], took["full_s"] = _side_by_side(lambda: self._cp(copy), full,
                                                     reference_first)
        copy.unlink()
        self._change()
        took["incr_s"] = _timed(lambda: result.update(incr=self.driver.backup(
            str(uuid.uuid4()), self.volume_id, VOLUME_POOL, parent=result["full"].ref(),
            volume_size_gib=gib)))
        if not result["incr"].incremental:
            raise RuntimeError(f"the incremental backup was taken full: {result['incr']}")
        rbd.RBD().create(self.volumes, f"volume-{restored_id}", self.layout.size)
        took["write_s"], took["restore_s"] = _side_by_side(
            lambda: self._write_file(written), restore, reference_first)
        written.unlink()
        got = self._restored(restored_id)
        if got != expected:
            raise RestoreMismatch(f"restored volume-{restored_id} hashes {got}, the volume "
                                  f"at backup time {expected}")
        rbd.RBD().remove(self.volumes, f"volume-{restored_id}")
        self.driver.delete_backup(result["incr"].ref())
        self.driver.delete_backup(result["full"].ref())
        self._drop_volume_snaps()
        return took


def run(size_gib: int, data_bytes: int, repeats: int, base: Path) -> dict[str, Any]:
    """Every figure of the module docstring: medians (seconds), throughputs of the data
    bytes (MiB/s), the ratios, the layout, and each repeat's seconds (``runs``)."""
    layout = Layout.plan(size_gib, data_bytes)
    bench = Bench(base, layout)
    try:
        runs = [bench.repeat(i) for i in range(repeats)]
        methods = ",".join(sorted(bench.restore_methods))
    finally:
        bench.close()
    med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    mib = layout.data_bytes / MiB
    return {
        "layout": layout.describe(),
        "data_mib": mib,
        "repeats": repeats,
        **med,
        "cp_mib_s": mib / med["cp_s"],
        "full_mib_s": mib / med["full_s"],
        "full_over_cp": med["cp_s"] / med["full_s"],
        "incr_over_full": med["incr_s"] / med["full_s"],
        "write_mib_s": mib / med["write_s"],
        "restore_mib_s": mib / med["restore_s"],
        "restore_over_write": med["write_s"] / med["restore_s"],
        "restore_method": methods,
        "runs": runs,
    }


def render(out: dict[str, Any]) -> str:
    """The figures as text, one line per comparison."""
    return "\n".join([
        f"{out['layout']}; medians of {out['repeats']}",
        f"full backup: cp {out['cp_mib_s']:7.1f} MiB/s  backup {out['full_mib_s']:7.1f} MiB/s"
        f"  ratio {out['full_over_cp']:.2f} (goal >= 0.7)",
        f"incremental (1 %): {out['incr_s']:.3f} s vs full {out['full_s']:.3f} s"
        f"  ratio {out['incr_over_full']:.3f} (goal <= 0.03)",
        f"restore: write {out['write_mib_s']:7.1f} MiB/s  restore "
        f"{out['restore_mib_s']:7.1f} MiB/s  ratio {out['restore_over_write']:.2f}"
        f" (goal >= 0.7; {out['restore_method']} restore, bytes verified)",
    ])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-gib", type=int, default=10, help="volume size, GiB")
    ap.add_argument("--data-gib", type=float, default=2.0,
                    help="random data in the volume, GiB (whole 4 MiB pieces)")
    ap.add_argument("--repeats", type=int, default=3, help="the median is reported")
    ap.add_argument("--dir", type=Path, default=None,
                    help="where the data directory and the reference files go "
                         "(default /var/tmp)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--cold", action="store_true",
                    help="drop the page cache before each timed step (needs root)")
    args = ap.parse_args()
    _COLD["on"] = args.cold
    base = Path(tempfile.mkdtemp(prefix="shoal-bench-backup-", dir=args.dir or "/var/tmp"))
    try:
        out = run(args.size_gib, int(args.data_gib * GiB), args.repeats, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(render(out))


if __name__ == "__main__":
    main()
