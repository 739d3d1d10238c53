"""Interop of shoal's embedded engine and CLI with the real Ceph tools.

Streams cross between the two: ``shoal rbd export-diff`` output applied with the real
``rbd import-diff`` on the throwaway cluster and the other way round, raw and
``--export-format 2`` exports imported by the other side, and ``qemu-img`` reading an image
whose bytes came from shoal. Every check compares whole images byte for byte (``export``
output of each snapshot and of the head) and the snapshot lists.

The same history of writes, discards, resizes and snapshots (:func:`make_history`) is played
on a shoal image (through :mod:`shoal.rbd` on the CLI's data directory) and on a Ceph image
(through Debian's python ``rbd``): both engines have librbd's ``Image`` API. Images are a few
MiB (the OSDs are memstore).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shoal.cluster import connect
from shoal.rbd import RBD as ShoalRBD
from shoal.rbd import Image as ShoalImage
from shoal.rbd._diffstream import DiffReader, FromSnap, Size, ToSnap, Write, Zero
from tests.ceph.conftest import CephCluster, import_ceph_bindings
from tests.shoal_cli import shoal_command

KiB = 1 << 10
MiB = 1 << 20
#: librbd's ``rbd_discard_granularity_bytes`` (Ceph 16 default): discards of less than this
#: (or the unaligned ends of bigger ones) are skipped by librbd, not zeroed.
DISCARD_GRANULARITY = 64 * KiB
#: (from snapshot, to snapshot) of each diff that rebuilds the history; None = start / head.
SEGMENTS: tuple[tuple[str | None, str | None], ...] = (
    (None, "s1"), ("s1", "s2"), ("s2", "s3"), ("s3", None))
POINTS = ("@s1", "@s2", "@s3", "")  # every snapshot, then the head


def data(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def make_history(img: Any) -> None:
    """Writes, discards, resizes and three snapshots on a 12 MiB image of 4 MiB objects.

    ``img`` is a ``shoal.rbd.Image`` or a Ceph ``rbd.Image``. Discards are aligned to
    :data:`DISCARD_GRANULARITY`, so Ceph zeroes them as shoal does (see
    :func:`test_partial_discard_below_the_granularity`).
    """
    img.write(data(1, 6000), 0)
    img.write(data(2, 70_000), 5 * MiB)
    img.write(data(3, 10_000), 9 * MiB)
    img.create_snap("s1")
    img.write(data(4, 4096), 4096)  # overwrite inside an object that exists at s1
    img.discard(5 * MiB + DISCARD_GRANULARITY, DISCARD_GRANULARITY)  # a hole inside object 1
    img.discard(8 * MiB, 4 * MiB)  # all of object 2: removed
    img.resize(16 * MiB)
    img.write(data(5, 1234), 14 * MiB + 100)  # a new object past the old end
    img.create_snap("s2")
    img.resize(10 * MiB)  # object 3 dropped, object 2 cut
    img.write(data(6, 3000), 9 * MiB)
    img.write(bytes(8192), 2 * MiB)  # zeros written where nothing was
    img.create_snap("s3")
    img.write(data(7, 512), MiB + 3)  # unaligned, after the last snapshot


@dataclass
class Sides:
    """Both ends: the Ceph cluster (CLI and python bindings) and a shoal data directory.

    The pool has the same name on both sides, so an image spec means the same on each.
    """

    ceph: CephCluster
    rados: Any
    pool: str
    data_dir: Path
    tmp: Path

    def shoal(self, *args: str, stdin: bytes | None = None) -> bytes:
        """``shoal ARGS`` on the data directory; stdout; fails the test on a non-zero exit."""
        env = {**os.environ, "SHOAL_DATA_DIR": str(self.data_dir)}
        done = subprocess.run([*shoal_command(), *args], input=stdin, env=env,
                              capture_output=True, timeout=120, check=False)
        assert done.returncode == 0, (args, done.stderr.decode())
        return done.stdout

    def shoal_on_ceph(self, *args: str, stdin: bytes | None = None) -> bytes:
        """``shoal --backend ceph -c CONF ARGS`` as client.admin; stdout (must succeed)."""
        argv = [*shoal_command(), "--backend", "ceph", *self.ceph.cli_args(), *args]
        done = subprocess.run(argv, input=stdin, capture_output=True, timeout=120, check=False)
        assert done.returncode == 0, (args, done.stderr.decode())
        return done.stdout

    def rbd(self, *args: str, stdin: bytes | None = None) -> bytes:
        """The real ``rbd ARGS`` against the cluster as client.admin; stdout."""
        done = subprocess.run(["rbd", *self.ceph.cli_args(), *args], input=stdin,
                              capture_output=True, timeout=120, check=False)
        assert done.returncode == 0, (args, done.stderr.decode())
        return done.stdout

    def spec(self, name: str, at: str = "") -> str:
        return f"{self.pool}/{name}{at}"

    def qemu_spec(self, name: str, user: str = "admin", keyring: Path | None = None) -> str:
        """QEMU's ``rbd:POOL/IMAGE:id=USER:conf=...`` for an image of the pool."""
        spec = f"rbd:{self.pool}/{name}:id={user}:conf={self.ceph.conf}"
        keyring = keyring if keyring is not None else self.ceph.keyring
        if keyring is not None:
            spec += f":keyring={keyring}"
        return spec

    @contextmanager
    def shoal_image(self, name: str, size: int | None = None) -> Iterator[Any]:
        """Open (after creating it with ``size`` bytes, if given) a shoal image in-process."""
        session = connect(self.data_dir)
        try:
            io = session.open_ioctx(self.pool)
            if size is not None:
                ShoalRBD().create(io, name, size, order=22)
            with ShoalImage(io, name) as img:
                yield img
        finally:
            session.shutdown()

    @contextmanager
    def ceph_image(self, name: str, size: int | None = None) -> Iterator[Any]:
        """Open (after creating it with ``size`` bytes, if given) an image on the cluster."""
        _, rbd = import_ceph_bindings()
        with self.rados.open_ioctx(self.pool) as io:
            if size is not None:
                rbd.RBD().create(io, name, size, order=22)
            with rbd.Image(io, name) as img:
                yield img

    def shoal_export(self, name: str, at: str = "") -> bytes:
        return self.shoal("rbd", "export", "--no-progress", self.spec(name, at), "-")

    def ceph_export(self, name: str, at: str = "") -> bytes:
        return self.rbd("export", "--no-progress", self.spec(name, at), "-")

    def shoal_snaps(self, name: str) -> list[tuple[str, int, str]]:
        listed = json.loads(self.shoal("rbd", "snap", "ls", self.spec(name), "--format", "json"))
        return [(s["name"], s["size"], s["protected"]) for s in listed]

    def ceph_snaps(self, name: str) -> list[tuple[str, int, str]]:
        listed = json.loads(self.rbd("snap", "ls", self.spec(name), "--format", "json"))
        return [(s["name"], s["size"], s["protected"]) for s in listed]

    def assert_same_image(self, shoal_name: str, ceph_name: str,
                          points: tuple[str, ...] = POINTS) -> None:
        """Equal snapshot lists, and equal bytes at every snapshot and at the head."""
        assert self.shoal_snaps(shoal_name) == self.ceph_snaps(ceph_name)
        for at in points:
            shoal_bytes = self.shoal_export(shoal_name, at)
            ceph_bytes = self.ceph_export(ceph_name, at)
            assert len(shoal_bytes) == len(ceph_bytes), at
            assert shoal_bytes == ceph_bytes, (at, first_difference(shoal_bytes, ceph_bytes))


def first_difference(a: bytes, b: bytes) -> int | None:
    """Offset of the first 4 KiB block where ``a`` and ``b`` differ (for failure messages)."""
    for offset in range(0, max(len(a), len(b)), 4096):
        if a[offset: offset + 4096] != b[offset: offset + 4096]:
            return offset
    return None


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def diff_args(from_snap: str | None, whole_object: bool) -> list[str]:
    args = ["--no-progress"]
    if from_snap:
        args += ["--from-snap", from_snap]
    if whole_object:
        args.append("--whole-object")
    return args


def at_snap(snap: str | None) -> str:
    return f"@{snap}" if snap else ""


@pytest.fixture(scope="module")
def sides(ceph_cluster: CephCluster, rados_cluster: Any, ceph_pool: str,
          tmp_path_factory: pytest.TempPathFactory) -> Sides:
    tmp = tmp_path_factory.mktemp("interop")
    found = Sides(ceph_cluster, rados_cluster, ceph_pool, tmp / "shoal", tmp)
    found.shoal("ceph", "osd", "pool", "create", ceph_pool, "8")
    found.shoal("rbd", "pool", "init", ceph_pool)
    return found


@pytest.fixture
def shoal_history(sides: Sides) -> str:
    """A shoal image holding :func:`make_history`."""
    name = unique("shoal-hist")
    with sides.shoal_image(name, 12 * MiB) as img:
        make_history(img)
    return name


@pytest.fixture
def ceph_history(sides: Sides) -> str:
    """A Ceph image holding :func:`make_history`."""
    name = unique("ceph-hist")
    with sides.ceph_image(name, 12 * MiB) as img:
        make_history(img)
    return name


# --- diff streams -------------------------------------------------------------------------


@pytest.mark.parametrize("whole_object", [False, True], ids=["extents", "whole-object"])
def test_shoal_export_diff_applies_with_rbd_import_diff(
    sides: Sides, shoal_history: str, whole_object: bool
) -> None:
    target = unique("from-shoal")
    sides.rbd("create", "--size", "1M", sides.spec(target))
    for from_snap, to_snap in SEGMENTS:
        stream = sides.tmp / unique("shoal.diff")
        sides.shoal("rbd", "export-diff", *diff_args(from_snap, whole_object),
                    sides.spec(shoal_history, at_snap(to_snap)), str(stream))
        sides.rbd("import-diff", "--no-progress", str(stream), sides.spec(target))
    assert [s[0] for s in sides.ceph_snaps(target)] == ["s1", "s2", "s3"]
    sides.assert_same_image(shoal_history, target)

    # the full diff of the head alone rebuilds the head on a fresh image
    full = sides.shoal("rbd", "export-diff", *diff_args(None, whole_object),
                       sides.spec(shoal_history), "-")
    fresh = unique("from-shoal-full")
    sides.rbd("create", "--size", "1M", sides.spec(fresh))
    sides.rbd("import-diff", "--no-progress", "-", sides.spec(fresh), stdin=full)
    assert sides.ceph_export(fresh) == sides.shoal_export(shoal_history)
    assert sides.ceph_snaps(fresh) == []


@pytest.mark.parametrize("whole_object", [False, True], ids=["extents", "whole-object"])
def test_rbd_export_diff_applies_with_shoal_import_diff(
    sides: Sides, ceph_history: str, whole_object: bool
) -> None:
    target = unique("from-ceph")
    sides.shoal("rbd", "create", "--size", "1M", sides.spec(target))
    for from_snap, to_snap in SEGMENTS:
        stream = sides.tmp / unique("ceph.diff")
        sides.rbd("export-diff", *diff_args(from_snap, whole_object),
                  sides.spec(ceph_history, at_snap(to_snap)), str(stream))
        sides.shoal("rbd", "import-diff", "--no-progress", str(stream), sides.spec(target))
    assert [s[0] for s in sides.shoal_snaps(target)] == ["s1", "s2", "s3"]
    sides.assert_same_image(target, ceph_history)

    full = sides.rbd("export-diff", *diff_args(None, whole_object), sides.spec(ceph_history),
                     "-")
    fresh = unique("from-ceph-full")
    sides.shoal("rbd", "create", "--size", "1M", sides.spec(fresh))
    sides.shoal("rbd", "import-diff", "--no-progress", "-", sides.spec(fresh), stdin=full)
    assert sides.shoal_export(fresh) == sides.ceph_export(ceph_history)
    assert sides.shoal_snaps(fresh) == []


def records(stream: bytes) -> list[Any]:
    import io

    return list(DiffReader(io.BytesIO(stream)))


def covered(stream: bytes) -> list[tuple[int, int]]:
    """(offset, length) of every data record (``w`` and ``z``) of a diff stream."""
    out: list[tuple[int, int]] = []
    for record in records(stream):
        if isinstance(record, Write):
            out.append((record.offset, len(record.data)))
        elif isinstance(record, Zero):
            out.append((record.offset, record.length))
    return out


def metadata(stream: bytes) -> list[Any]:
    return [r for r in records(stream) if isinstance(r, FromSnap | ToSnap | Size)]


def test_same_history_gives_the_same_whole_object_streams(
    sides: Sides, shoal_history: str, ceph_history: str
) -> None:
    """With ``--whole-object`` both tools write byte-identical streams (and ``rbd diff``
    lists) for the same history.

    Both report every object touched since the start snapshot as one extent of the whole
    object (cut at the image end), read it and write it as ``w``, or as ``z`` where it was
    removed or reads as zeros.
    """
    for from_snap, to_snap in (*SEGMENTS, (None, None)):
        args = diff_args(from_snap, whole_object=True)
        ours = sides.shoal("rbd", "export-diff", *args,
                           sides.spec(shoal_history, at_snap(to_snap)), "-")
        theirs = sides.rbd("export-diff", *args, sides.spec(ceph_history, at_snap(to_snap)),
                           "-")
        assert ours == theirs, (from_snap, to_snap, covered(ours), covered(theirs))
        # and ``rbd diff --whole-object`` lists the same extents
        listed = ["diff", *args[1:], "--format", "json"]
        assert sides.shoal("rbd", *listed, sides.spec(shoal_history, at_snap(to_snap))) == \
            sides.rbd(*listed, sides.spec(ceph_history, at_snap(to_snap)))


def test_same_history_gives_equivalent_extent_streams(
    sides: Sides, shoal_history: str, ceph_history: str
) -> None:
    """Without ``--whole-object`` the streams carry the same metadata but may cut the data
    records differently; each still rebuilds the same image (the tests above).

    Legitimate differences (``diff_iterate`` extents are not specified byte for byte):
    - rbd reports an object that is new since the start snapshot (or, in a full diff, any
      object) as one extent from the object's start to its size on the OSD, zeros included
      (``w 4194304+1118576`` for 70,000 bytes written at 5 MiB); shoal reports the 4 KiB
      blocks that were written (``w 5242880+73728``);
    - for an object that existed at the start snapshot, rbd reports the byte ranges the OSD
      recorded as modified (``w 1048579+512``), shoal the 4 KiB blocks holding them
      (``w 1048576+4096``);
    - a removed object is ``z`` over its old size on the OSD for rbd, over the whole object
      for shoal; zeros written where the image read zeros already are a ``z`` record for rbd
      and no record at all for shoal (nothing changed).
    Both write records in increasing offset order, never overlapping, never crossing an
    object boundary.
    """
    for from_snap, to_snap in (*SEGMENTS, (None, None)):
        args = diff_args(from_snap, whole_object=False)
        ours = sides.shoal("rbd", "export-diff", *args,
                           sides.spec(shoal_history, at_snap(to_snap)), "-")
        theirs = sides.rbd("export-diff", *args, sides.spec(ceph_history, at_snap(to_snap)),
                           "-")
        assert metadata(ours) == metadata(theirs)
        for extents in (covered(ours), covered(theirs)):
            ends = [offset + length for offset, length in extents]
            assert all(end <= start for end, start in zip(ends, [o for o, _ in extents][1:],
                                                          strict=False))
            assert all(o // (4 * MiB) == (o + n - 1) // (4 * MiB) for o, n in extents)


def test_aligned_overwrites_give_identical_extent_streams(sides: Sides) -> None:
    """4 KiB-aligned overwrites of objects that exist at the start snapshot: both tools
    report exactly the written blocks, so the incremental streams are byte-identical."""
    shoal_name, ceph_name = unique("shoal-aligned"), unique("ceph-aligned")
    for opened in (sides.shoal_image(shoal_name, 8 * MiB), sides.ceph_image(ceph_name, 8 * MiB)):
        with opened as img:
            img.write(data(40, 4 * MiB), 0)
            img.write(data(41, 4 * MiB), 4 * MiB)
            img.create_snap("base")
            img.write(data(42, 8192), 12 * KiB)
            img.write(data(43, 4096), 4 * MiB + 64 * KiB)
            img.write(data(44, 3 * 4096), 8 * MiB - 3 * 4096)
            img.create_snap("next")
    args = diff_args("base", whole_object=False)
    ours = sides.shoal("rbd", "export-diff", *args, sides.spec(shoal_name, "@next"), "-")
    theirs = sides.rbd("export-diff", *args, sides.spec(ceph_name, "@next"), "-")
    assert covered(ours) == [(12 * KiB, 8192), (4 * MiB + 64 * KiB, 4096),
                             (8 * MiB - 3 * 4096, 3 * 4096)]
    assert ours == theirs


def diff_extents(img: Any, from_snap: str | None, whole_object: bool) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    img.diff_iterate(0, img.size(), from_snap, lambda o, n, _e: found.append((o, n)),
                     whole_object=whole_object)
    return found


def crossing(extents: list[tuple[int, int]], object_size: int = 4 * MiB) -> list[tuple[int, int]]:
    """The extents that cross an object boundary."""
    return [(o, n) for o, n in extents if o // object_size != (o + n - 1) // object_size]


def diff_iterate_both(sides: Sides) -> dict[str, dict[tuple[str | None, bool], Any]]:
    """diff_iterate extents on both engines after a write across the boundary of objects
    0 and 1 and writes to the neighbouring objects 2 and 3, since ``base`` and since the
    beginning, extent by extent and whole-object."""
    found: dict[str, dict[tuple[str | None, bool], Any]] = {}
    for side, opened in (("shoal", sides.shoal_image(unique("iterate"), 16 * MiB)),
                         ("ceph", sides.ceph_image(unique("iterate"), 16 * MiB))):
        with opened as img:
            img.create_snap("base")
            img.write(data(90, 4096), 4 * MiB - 2048)
            img.write(data(91, 100), 8 * MiB + 100)
            img.write(data(92, 100), 12 * MiB + 100)
            found[side] = {(since, whole): diff_extents(img, since, whole)
                           for since in ("base", None) for whole in (False, True)}
    return found


def test_diff_iterate_extents_stay_inside_one_object(sides: Sides) -> None:
    found = diff_iterate_both(sides)
    for key, extents in found["ceph"].items():
        assert extents and crossing(extents) == [], key  # librbd: one object per callback
    for key, extents in found["shoal"].items():
        assert crossing(extents) == [], (key, extents)


def test_diff_iterate_whole_object_reports_the_same_objects(sides: Sides) -> None:
    """Merged or not, both engines report the same changed objects, whole."""
    found = diff_iterate_both(sides)
    for key in found["ceph"]:
        covered_objects = {}
        for side in ("shoal", "ceph"):
            covered_objects[side] = {
                n for o, length in found[side][key]
                for n in range(o // (4 * MiB), (o + length - 1) // (4 * MiB) + 1)}
        assert covered_objects["shoal"] == covered_objects["ceph"] == {0, 1, 2, 3}, key
    assert found["ceph"][("base", True)] == [(n * 4 * MiB, 4 * MiB) for n in range(4)]


# --- raw and format-2 exports --------------------------------------------------------------


def test_raw_export_import_round_trips_both_ways(sides: Sides) -> None:
    content = data(50, MiB) + bytes(5 * MiB) + data(51, 100_001)  # not a multiple of 512
    source = sides.tmp / unique("disk.raw")
    source.write_bytes(content)

    # shoal import -> shoal export -> rbd import -> rbd export
    ours, theirs = unique("raw-shoal"), unique("raw-ceph")
    sides.shoal("rbd", "import", "--no-progress", str(source), sides.spec(ours))
    exported = sides.tmp / unique("shoal-export.raw")
    sides.shoal("rbd", "export", "--no-progress", sides.spec(ours), str(exported))
    assert exported.read_bytes() == content
    sides.rbd("import", "--no-progress", str(exported), sides.spec(theirs))
    assert json.loads(sides.rbd("info", sides.spec(theirs), "--format", "json"))[
        "size"] == len(content)
    assert sides.ceph_export(theirs) == content

    # rbd import -> rbd export (to stdout) -> shoal import (from stdin) -> shoal export
    back_ceph, back_shoal = unique("raw-ceph2"), unique("raw-shoal2")
    sides.rbd("import", "--no-progress", str(source), sides.spec(back_ceph))
    piped = sides.ceph_export(back_ceph)
    assert piped == content
    sides.shoal("rbd", "import", "--no-progress", "-", sides.spec(back_shoal), stdin=piped)
    assert json.loads(sides.shoal("rbd", "info", sides.spec(back_shoal), "--format", "json"))[
        "size"] == len(content)
    assert sides.shoal_export(back_shoal) == content


def test_export_format_2_from_shoal_imports_with_rbd(sides: Sides, shoal_history: str) -> None:
    sides.shoal("rbd", "snap", "protect", sides.spec(shoal_history, "@s2"))
    stream = sides.tmp / unique("shoal-v2.img")
    sides.shoal("rbd", "export", "--no-progress", "--export-format", "2",
                sides.spec(shoal_history), str(stream))
    target = unique("v2-into-ceph")
    sides.rbd("import", "--no-progress", "--export-format", "2", str(stream),
              sides.spec(target))
    assert [s[2] for s in sides.ceph_snaps(target)] == ["false", "true", "false"]
    sides.assert_same_image(shoal_history, target)


def ceph_v2_export(sides: Sides, name: str) -> bytes:
    sides.rbd("snap", "protect", sides.spec(name, "@s2"))
    return sides.rbd("export", "--no-progress", "--export-format", "2", sides.spec(name), "-")


#: What Ceph 16's ``rbd export --export-format 2`` writes for the snap-protected record:
#: tag ``p``, a declared length of 8, then a 1-byte flag (its reader reads the flag and
#: ignores the length).
CEPH_P_RECORD = b"p" + (8).to_bytes(8, "little")


def test_export_format_2_from_rbd_imports_with_shoal(sides: Sides, ceph_history: str) -> None:
    stream = ceph_v2_export(sides, ceph_history)
    assert stream.count(CEPH_P_RECORD) == 3  # one per snapshot: s1, s2, s3
    target = unique("v2-into-shoal")
    sides.shoal("rbd", "import", "--no-progress", "--export-format", "2", "-",
                sides.spec(target), stdin=stream)
    sides.assert_same_image(target, ceph_history)


def test_export_format_2_from_rbd_imports_with_shoal_once_p_says_1_byte(
    sides: Sides, ceph_history: str
) -> None:
    """Everything else in Ceph's format-2 export imports: with each ``p`` record's declared
    length rewritten from 8 to 1 (what shoal writes, and what ``rbd import`` also accepts),
    shoal rebuilds every snapshot and the head."""
    stream = ceph_v2_export(sides, ceph_history)
    fixed = b""
    rest = stream
    count = 0
    while (at := rest.find(CEPH_P_RECORD)) >= 0:
        # the flag byte, then the size record that follows it in Ceph's order (t, p, s)
        assert rest[at + 9: at + 11] in (b"\x00s", b"\x01s")
        fixed += rest[:at] + b"p" + (1).to_bytes(8, "little")
        rest = rest[at + 9:]
        count += 1
    fixed += rest
    assert count == 3
    target = unique("v2-into-shoal")
    sides.shoal("rbd", "import", "--no-progress", "--export-format", "2", "-",
                sides.spec(target), stdin=fixed)
    assert [s[2] for s in sides.shoal_snaps(target)] == ["false", "true", "false"]
    sides.assert_same_image(target, ceph_history)


# --- qemu-img -----------------------------------------------------------------------------


def qemu_img(*args: str) -> str:
    done = subprocess.run(["qemu-img", *args], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout


def test_qemu_img_reads_an_image_imported_from_a_shoal_export(sides: Sides) -> None:
    content = data(60, 3 * MiB) + bytes(2 * MiB) + data(61, 64 * KiB)
    ours, theirs = unique("qemu-shoal"), unique("qemu-ceph")
    sides.shoal("rbd", "import", "--no-progress", "-", sides.spec(ours), stdin=content)
    exported = sides.tmp / unique("for-qemu.raw")
    sides.shoal("rbd", "export", "--no-progress", sides.spec(ours), str(exported))
    sides.rbd("import", "--no-progress", str(exported), sides.spec(theirs))

    info = json.loads(qemu_img("info", "--output=json", sides.qemu_spec(theirs)))
    assert (info["format"], info["virtual-size"]) == ("raw", len(content))
    copy = sides.tmp / unique("from-qemu.raw")
    qemu_img("convert", "-f", "raw", "-O", "raw", sides.qemu_spec(theirs), str(copy))
    assert copy.read_bytes() == content


def test_qemu_img_reads_it_as_a_cinder_like_user(sides: Sides) -> None:
    """As the guide's ``client.cinder`` (its caps, for this pool): qemu-img opens the image
    read-write, which ``allow rwx pool=...`` permits."""
    content = data(62, MiB) + bytes(MiB) + data(63, 4096)
    ours, theirs = unique("qemu-cinder-shoal"), unique("qemu-cinder-ceph")
    sides.shoal("rbd", "import", "--no-progress", "-", sides.spec(ours), stdin=content)
    sides.rbd("import", "--no-progress", "-", sides.spec(theirs), stdin=sides.shoal_export(ours))
    user = unique("interop-cinder")
    keyring = sides.tmp / f"ceph.client.{user}.keyring"
    osd_caps = f"allow class-read object_prefix rbd_children, allow rwx pool={sides.pool}"
    sides.ceph.run("ceph", "auth", "get-or-create", f"client.{user}", "mon", "allow r",
                   "osd", osd_caps, "-o", str(keyring))
    try:
        spec = sides.qemu_spec(theirs, user=user, keyring=keyring)
        info = json.loads(qemu_img("info", "--output=json", spec))
        assert info["virtual-size"] == len(content)
        copy = sides.tmp / unique("cinder-copy.raw")
        qemu_img("convert", "-f", "raw", "-O", "raw", spec, str(copy))
        assert copy.read_bytes() == content
    finally:
        sides.ceph.run("ceph", "auth", "del", f"client.{user}")


def test_qcow2_converted_by_qemu_img_imports_into_shoal(sides: Sides) -> None:
    content = data(70, 2 * MiB) + bytes(3 * MiB) + data(71, MiB)
    source = sides.tmp / unique("guest.raw")
    source.write_bytes(content)
    qcow2 = sides.tmp / unique("guest.qcow2")
    qemu_img("convert", "-f", "raw", "-O", "qcow2", str(source), str(qcow2))
    assert json.loads(qemu_img("info", "--output=json", str(qcow2)))["format"] == "qcow2"

    raw = sides.tmp / unique("guest-back.raw")
    qemu_img("convert", "-f", "qcow2", "-O", "raw", str(qcow2), str(raw))
    ours = unique("qcow2-shoal")
    sides.shoal("rbd", "import", "--no-progress", str(raw), sides.spec(ours))
    assert sides.shoal_export(ours) == content

    # the same qcow2 written straight onto the cluster by qemu's rbd driver
    theirs = unique("qcow2-ceph")
    qemu_img("convert", "-f", "qcow2", "-O", "raw", str(qcow2), sides.qemu_spec(theirs))
    assert sides.ceph_export(theirs) == sides.shoal_export(ours)


# --- a documented difference ---------------------------------------------------------------


def test_partial_discard_below_the_granularity(sides: Sides) -> None:
    """A discard smaller than ``rbd_discard_granularity_bytes`` (64 KiB) is *skipped* by
    librbd (Ceph 16 defaults), so the old data stays readable, and shoal does the same;
    ``write_zeroes`` zeroes exact bytes on both. The diff streams carry zeros faithfully:
    import-diff ``z`` records are applied as zero writes on both sides.
    """
    payload = data(80, 64 * KiB)
    hole = (8 * KiB, 8 * KiB)
    results = {}
    for side, opened in (("shoal", sides.shoal_image(unique("discard"), 4 * MiB)),
                         ("ceph", sides.ceph_image(unique("discard"), 4 * MiB))):
        with opened as img:
            img.write(payload, 0)
            img.discard(*hole)
            skipped = img.read(0, len(payload))
            img.write_zeroes(*hole)
            results[side] = (skipped, img.read(0, len(payload)))
    zeroed = payload[: hole[0]] + bytes(hole[1]) + payload[sum(hole):]
    assert results["ceph"] == (payload, zeroed)
    assert results["shoal"] == results["ceph"]


def test_images_shoal_makes_on_ceph_are_ceph_images(sides: Sides) -> None:
    """``shoal --backend ceph rbd ...`` makes images, snapshots and clones on the cluster that
    the real ``rbd`` and qemu-img (as a cinder-like user) read as their own."""
    content = data(64, 2 * MiB) + bytes(MiB) + data(65, 8192)
    base, clone = unique("shoal-on-ceph"), unique("shoal-on-ceph-clone")
    sides.shoal_on_ceph("rbd", "import", "--no-progress", "-", sides.spec(base), stdin=content)
    sides.shoal_on_ceph("rbd", "snap", "create", sides.spec(base, "@gold"))
    sides.shoal_on_ceph("rbd", "snap", "protect", sides.spec(base, "@gold"))
    sides.shoal_on_ceph("rbd", "clone", sides.spec(base, "@gold"), sides.spec(clone))
    info = json.loads(sides.rbd("info", sides.spec(clone), "--format", "json"))
    assert info["parent"]["image"] == base and info["parent"]["snapshot"] == "gold"
    assert info["size"] == len(content)
    ours = json.loads(sides.shoal_on_ceph("rbd", "info", sides.spec(clone), "--format", "json"))
    assert {k: ours[k] for k in ("name", "size", "objects", "order", "features", "parent")} == {
        k: info[k] for k in ("name", "size", "objects", "order", "features", "parent")}
    assert sides.rbd("children", sides.spec(base, "@gold")).decode().split() == [
        sides.spec(clone)]
    user = unique("interop-cinder")
    keyring = sides.tmp / f"ceph.client.{user}.keyring"
    osd_caps = f"allow class-read object_prefix rbd_children, allow rwx pool={sides.pool}"
    sides.shoal_on_ceph("ceph", "auth", "get-or-create", f"client.{user}", "mon", "allow r",
                        "osd", osd_caps, "-o", str(keyring))
    try:
        copy = sides.tmp / unique("clone-copy.raw")
        spec = sides.qemu_spec(clone, user=user, keyring=keyring)
        qemu_img("convert", "-f", "raw", "-O", "raw", spec, str(copy))
        assert copy.read_bytes() == content
    finally:
        sides.shoal_on_ceph("ceph", "auth", "del", f"client.{user}")
    sides.shoal_on_ceph("rbd", "rm", "--no-progress", sides.spec(clone))
    sides.shoal_on_ceph("rbd", "snap", "unprotect", sides.spec(base, "@gold"))
    sides.shoal_on_ceph("rbd", "snap", "purge", "--no-progress", sides.spec(base))
    sides.shoal_on_ceph("rbd", "rm", "--no-progress", sides.spec(base))
    assert base not in sides.rbd("ls", sides.pool).decode().split()
