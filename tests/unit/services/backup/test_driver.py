"""The Ceph backup driver on the embedded engine: backups, restores and deletes.

The cluster is provisioned as ``shoal up`` does it; the driver reads and snapshots volumes
as ``client.cinder`` and writes the ``backups`` pool as ``client.cinder-backup``, each with
its keyring and the guide's caps. Volume contents are modelled as sparse write lists
(:class:`Disk`) and every restored volume is read back whole and compared byte for byte.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import shoal.rbd as rbd
from shoal import errors, limits
from shoal.objstore import IoCtx
from shoal.services.backup.driver import (
    FORCED_FULL_FROM_SNAPSHOT,
    FORCED_FULL_PARENT_SNAPSHOT_PRUNED,
    BackupAccessDenied,
    BackupExists,
    BackupInUse,
    BackupNotFound,
    BackupOptions,
    BackupRBDOperationFailed,
    BackupRef,
    BackupResult,
    BackupStorageFull,
    BackupUnavailable,
    CephBackupDriver,
    InvalidBackupRecord,
    RestoreTargetTooSmall,
    VolumeNotFound,
    VolumeSizeMismatch,
    backup_snaps,
)
from tests.unit._guide_cluster import GuideCluster

MiB = 1 << 20
GiB = 1 << 30
CHUNK = 1 * MiB
READ_PIECE = 64 * MiB


@dataclass
class Disk:
    """Expected contents of a volume: ``size`` bytes, zeros but for ``writes`` (in order)."""

    size: int
    writes: list[tuple[int, bytes]] = field(default_factory=list)

    def write(self, offset: int, data: bytes) -> None:
        self.writes.append((offset, data))

    def expected(self, offset: int, length: int) -> bytes:
        buf = bytearray(length)
        for w_off, data in self.writes:
            lo, hi = max(offset, w_off), min(offset + length, w_off + len(data))
            if lo < hi:
                buf[lo - offset:hi - offset] = data[lo - w_off:hi - w_off]
        return bytes(buf)

    def copy(self) -> Disk:
        return Disk(self.size, list(self.writes))


def payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


class Cluster(GuideCluster):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.cinder = self.session("client.cinder")
        self.backup_user = self.session("client.cinder-backup")
        self.volumes = self.admin.open_ioctx("volumes")
        self.backups = self.admin.open_ioctx("backups")
        self.disks: dict[str, Disk] = {}
        self._clock = itertools.count(1_700_000_000)

    def clock(self) -> float:
        return next(self._clock) + 0.25

    def driver(self, **options: Any) -> CephBackupDriver:
        opts = BackupOptions(chunk_size=options.pop("chunk_size", CHUNK), user="cinder-backup",
                             **options)
        return CephBackupDriver(self.cinder, self.backup_user, opts, clock=self.clock,
                                sleep=lambda s: None, busy_retry_interval_s=0)

    # --- volumes (as client.admin: the checks do not go through the driver) ------------
    def create_volume(self, vid: str, gib: int = 1) -> Disk:
        rbd.RBD().create(self.volumes, f"volume-{vid}", gib * GiB)
        self.disks[vid] = Disk(gib * GiB)
        return self.disks[vid]

    def write(self, vid: str, offset: int, data: bytes) -> None:
        with rbd.Image(self.volumes, f"volume-{vid}") as img:
            assert img.write(data, offset) == len(data)
        self.disks[vid].write(offset, data)

    def snaps(self, io: IoCtx, name: str) -> list[str]:
        with rbd.Image(io, name, read_only=True) as img:
            return [str(s["name"]) for s in img.list_snaps()]

    def backup_images(self) -> list[str]:
        return rbd.RBD().list(self.backups)

    def assert_volume(self, vid: str, disk: Disk) -> None:
        """The whole image ``volume-<vid>`` equals ``disk``, byte for byte."""
        with rbd.Image(self.volumes, f"volume-{vid}", read_only=True) as img:
            assert img.size() == disk.size
            for offset in range(0, disk.size, READ_PIECE):
                n = min(READ_PIECE, disk.size - offset)
                got, want = img.read(offset, n), disk.expected(offset, n)
                if got != want:
                    bad = next(i for i in range(n) if got[i] != want[i])
                    pytest.fail(f"volume-{vid} differs at byte {offset + bad}")

    def extents(self, io: IoCtx, name: str, snap: str | None = None,
                from_snap: str | None = None) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        with rbd.Image(io, name, snapshot=snap, read_only=True) as img:
            img.diff_iterate(0, img.size(), from_snap,
                             lambda o, n, e: found.append((o, n)) if e else None)
        return found


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    yield c
    c.close()


def chain_of_three(c: Cluster, driver: CephBackupDriver
                   ) -> tuple[list[BackupResult], list[Disk]]:
    """Volume ``v`` backed up full (A), then incrementally twice (B, C), changing between."""
    c.create_volume("v")
    c.write("v", 5 * MiB, payload(3 * MiB, 1))
    c.write("v", 700 * MiB + 123, payload(5000, 2))
    points = [c.disks["v"].copy()]
    a = driver.backup("a", "v", "volumes", volume_size_gib=1)
    c.write("v", 6 * MiB, payload(MiB, 3))             # overwrite inside the old data
    c.write("v", 900 * MiB, payload(2 * MiB + 7, 4))   # new data elsewhere
    points.append(c.disks["v"].copy())
    b = driver.backup("b", "v", "volumes", parent=a.ref(), volume_size_gib=1)
    c.write("v", 5 * MiB, bytes(MiB))                    # zeros over data
    c.write("v", 0, payload(4096, 5))
    points.append(c.disks["v"].copy())
    cc = driver.backup("c", "v", "volumes", parent=b.ref(), volume_size_gib=1)
    return [a, b, cc], points


# --------------------------------------------------------------------------- backup


def test_full_backup_makes_a_base_with_the_restore_point(cluster: Cluster) -> None:
    cluster.create_volume("v")
    cluster.write("v", 3 * MiB, payload(2 * MiB, 1))
    result = cluster.driver().backup("b1", "v", "volumes", volume_size_gib=1)
    snap = "backup.b1.snap.1700000000.25"
    assert result == BackupResult("b1", "v", "backups", {"base": "volume-v.backup.b1"},
                                  incremental=False, forced_full_reason=None, size_bytes=GiB,
                                  restore_point=snap, sha256=result.sha256,
                                  data_bytes=2 * MiB)  # the digest: test_driver_digest.py
    assert result.service_metadata_json() == '{"base": "volume-v.backup.b1"}'
    assert cluster.backup_images() == ["volume-v.backup.b1"]
    assert cluster.snaps(cluster.backups, "volume-v.backup.b1") == [snap]
    assert cluster.snaps(cluster.volumes, "volume-v") == [snap]
    with rbd.Image(cluster.backups, "volume-v.backup.b1", read_only=True) as base:
        assert base.size() == GiB
        assert rbd.feature_names(base.features()) == [
            "layering", "striping", "exclusive-lock", "object-map", "fast-diff"]
        assert base.read(3 * MiB, 2 * MiB) == payload(2 * MiB, 1)
    # only the data moved: the base holds the volume's extents and nothing else
    assert cluster.extents(cluster.backups, "volume-v.backup.b1", snap) == [
        (3 * MiB, MiB), (4 * MiB, MiB)]


def test_incremental_chain_of_three_moves_only_changes(cluster: Cluster) -> None:
    (a, b, c), _ = chain_of_three(cluster, cluster.driver())
    assert [r.incremental for r in (a, b, c)] == [False, True, True]
    assert {r.service_metadata["base"] for r in (a, b, c)} == {"volume-v.backup.a"}
    assert cluster.backup_images() == ["volume-v.backup.a"]
    points = [r.restore_point for r in (a, b, c)]
    assert cluster.snaps(cluster.backups, "volume-v.backup.a") == points
    assert cluster.snaps(cluster.volumes, "volume-v") == points  # max_snapshots 0 keeps all
    # B's snapshot differs from A's only where the volume changed in between
    assert cluster.extents(cluster.backups, "volume-v.backup.a", points[1], points[0]) == [
        (6 * MiB, MiB), (900 * MiB, 2 * MiB + 4096)]


def test_restore_each_point_to_a_new_volume(cluster: Cluster) -> None:
    driver = cluster.driver()
    results, points = chain_of_three(cluster, driver)
    cluster.write("v", 0, payload(MiB, 9))  # the source moves on; the backups must not
    for i, (result, disk) in enumerate(zip(results, points, strict=True)):
        vid = f"new{i}"
        cluster.create_volume(vid)
        restored = driver.restore(result.ref(), vid, "volumes", 1, volume_is_new=True)
        assert (restored.method, restored.restore_point, restored.diff_failed) == (
            "diff", result.restore_point, False)
        cluster.assert_volume(vid, disk)
        assert cluster.snaps(cluster.volumes, f"volume-{vid}") == []  # no backup snap left


def test_restore_to_an_empty_bigger_volume_keeps_its_size(cluster: Cluster) -> None:
    driver = cluster.driver()
    (_a, b, _c), points = chain_of_three(cluster, driver)
    cluster.create_volume("big", gib=2)
    assert driver.restore(b.ref(), "big", "volumes", 2, volume_is_new=True).method == "diff"
    want = points[1].copy()
    want.size = 2 * GiB  # import-diff alone would have cut it to 1 GiB
    cluster.assert_volume("big", want)


def test_restore_to_an_existing_bigger_volume_discards_the_excess(cluster: Cluster) -> None:
    driver = cluster.driver()
    (_a, b, _c), points = chain_of_three(cluster, driver)
    cluster.create_volume("old", gib=2)
    stale = [(0, b"\xff" * (8 * MiB)), (GiB - 5, b"\xee" * 4096), (GiB + 3 * MiB + 1, b"\xdd" * 99),
             (2 * GiB - 4096, b"\xcc" * 4096)]
    for offset, data in stale:
        cluster.write("old", offset, data)
    restored = driver.restore(b.ref(), "old", "volumes", 2, volume_is_new=False)
    assert (restored.method, restored.diff_failed) == ("full", False)  # it holds data
    want = points[1].copy()
    want.size = 2 * GiB
    cluster.assert_volume("old", want)  # old bytes in zero chunks and past 1 GiB: gone


def test_without_discard_the_excess_keeps_its_bytes(cluster: Cluster) -> None:
    driver = cluster.driver(restore_discard_excess_bytes=False)
    (a, _b, _c), points = chain_of_three(cluster, driver)
    cluster.create_volume("old", gib=2)
    cluster.write("old", 10 * MiB, b"\xff" * MiB)
    cluster.write("old", GiB + MiB, b"\xee" * MiB)
    assert driver.restore(a.ref(), "old", "volumes", 2, volume_is_new=False).method == "full"
    want = points[0].copy()
    want.size = 2 * GiB
    want.write(GiB + MiB, b"\xee" * MiB)
    cluster.assert_volume("old", want)


def test_restore_to_the_source_volume_is_a_full_copy(cluster: Cluster) -> None:
    driver = cluster.driver()
    (a, _b, _c), points = chain_of_three(cluster, driver)
    restored = driver.restore(a.ref(), "v", "volumes", 1, volume_is_new=False)
    assert restored.method == "full"
    cluster.assert_volume("v", points[0])
    # the volume's backup snapshots are untouched, and the chain goes on from C
    assert len(cluster.snaps(cluster.volumes, "volume-v")) == 3


def test_restore_refuses_a_smaller_volume(cluster: Cluster) -> None:
    driver = cluster.driver()
    cluster.create_volume("v", gib=2)
    cluster.write("v", GiB + 5, b"tail")
    result = driver.backup("b", "v", "volumes", volume_size_gib=2)
    cluster.create_volume("small")
    cluster.write("small", 0, b"keep me")
    with pytest.raises(RestoreTargetTooSmall, match="smaller than backup b") as info:
        driver.restore(result.ref(), "small", "volumes", 1, volume_is_new=False)
    assert info.value.http_status == 400
    cluster.assert_volume("small", cluster.disks["small"])


def test_restore_checks_the_volume_size(cluster: Cluster) -> None:
    driver = cluster.driver()
    cluster.create_volume("v")
    result = driver.backup("b", "v", "volumes", volume_size_gib=1)
    cluster.create_volume("w", gib=2)
    with pytest.raises(VolumeSizeMismatch):
        driver.restore(result.ref(), "w", "volumes", 3, volume_is_new=True)
    with pytest.raises(VolumeNotFound, match="volume-nope") as info:
        driver.restore(result.ref(), "nope", "volumes", 1, volume_is_new=True)
    assert info.value.http_status == 404


# --------------------------------------------------------------- max_snapshots, forced full


def test_max_snapshots_prunes_the_source_and_forces_a_full_backup(cluster: Cluster) -> None:
    driver = cluster.driver(max_snapshots=1)
    cluster.create_volume("v")
    cluster.write("v", 0, payload(MiB, 1))
    a = driver.backup("a", "v", "volumes", volume_size_gib=1)
    cluster.write("v", MiB, payload(MiB, 2))
    b = driver.backup("b", "v", "volumes", parent=a.ref(), volume_size_gib=1)
    assert b.incremental and b.forced_full_reason is None
    assert cluster.snaps(cluster.volumes, "volume-v") == [b.restore_point]  # A's pruned
    assert cluster.snaps(cluster.backups, "volume-v.backup.a") == [a.restore_point,
                                                                 b.restore_point]
    # B is deleted (as a user would), so the next incremental chains on A, whose
    # snapshot is gone from the volume: it becomes a full backup in its own base
    driver.delete_backup(b.ref())
    cluster.write("v", 2 * MiB, payload(MiB, 3))
    c = driver.backup("c", "v", "volumes", parent=a.ref(), volume_size_gib=1)
    assert (c.incremental, c.forced_full_reason) == (False, FORCED_FULL_PARENT_SNAPSHOT_PRUNED)
    assert c.service_metadata == {"base": "volume-v.backup.c"}
    assert cluster.snaps(cluster.backups, "volume-v.backup.c") == [c.restore_point]
    assert cluster.snaps(cluster.volumes, "volume-v") == [c.restore_point]
    cluster.create_volume("r")
    driver.restore(c.ref(), "r", "volumes", 1, volume_is_new=True)
    cluster.assert_volume("r", cluster.disks["v"])


def test_max_snapshots_keeps_the_newest(cluster: Cluster) -> None:
    driver = cluster.driver(max_snapshots=2)
    cluster.create_volume("v")
    parent = None
    names = []
    for i in range(4):
        cluster.write("v", i * MiB, payload(4096, i))
        result = driver.backup(f"b{i}", "v", "volumes", parent=parent, volume_size_gib=1)
        assert result.incremental == (i > 0)
        names.append(result.restore_point)
        parent = result.ref()
    assert cluster.snaps(cluster.volumes, "volume-v") == names[2:]
    assert cluster.snaps(cluster.backups, "volume-v.backup.b0") == names


def test_incremental_without_the_parents_snapshot_on_the_volume_fails(
        cluster: Cluster) -> None:
    driver = cluster.driver()  # max_snapshots 0: nothing is pruned, so this is not forced
    cluster.create_volume("v")
    a = driver.backup("a", "v", "volumes", volume_size_gib=1)
    with rbd.Image(cluster.volumes, "volume-v") as img:
        img.remove_snap(str(a.restore_point))
    with pytest.raises(BackupRBDOperationFailed, match="no longer has snapshot") as info:
        driver.backup("b", "v", "volumes", parent=a.ref(), volume_size_gib=1)
    assert info.value.http_status == 400
    assert cluster.snaps(cluster.volumes, "volume-v") == []
    assert cluster.snaps(cluster.backups, "volume-v.backup.a") == [a.restore_point]
    assert cluster.backup_images() == ["volume-v.backup.a"]


def test_incremental_needs_the_parents_restore_point(cluster: Cluster) -> None:
    driver = cluster.driver()
    cluster.create_volume("v")
    a = driver.backup("a", "v", "volumes", volume_size_gib=1)
    with rbd.Image(cluster.backups, "volume-v.backup.a") as img:
        img.remove_snap(str(a.restore_point))
    with pytest.raises(BackupRBDOperationFailed, match="can't find the snapshot of parent"):
        driver.backup("b", "v", "volumes", parent=a.ref(), volume_size_gib=1)
    gone = BackupRef("x", "v", {"base": "volume-v.backup.x"})
    with pytest.raises(BackupRBDOperationFailed, match="is not in pool 'backups'"):
        driver.backup("b", "v", "volumes", parent=gone, volume_size_gib=1)
    with pytest.raises(BackupRBDOperationFailed, match="of volume w"):
        driver.backup("b", "v", "volumes", parent=BackupRef("a", "w"), volume_size_gib=1)
    with pytest.raises(BackupRBDOperationFailed, match="parent's pool"):
        driver.backup("b", "v", "volumes", parent=a.ref(), volume_size_gib=1,
                      container="elsewhere")
    assert cluster.snaps(cluster.volumes, "volume-v") == [a.restore_point]
    assert cluster.backup_images() == ["volume-v.backup.a"]


def test_every_full_backup_gets_its_own_base(cluster: Cluster) -> None:
    """Cinder once made every backup of an RBD volume incremental on one shared base."""
    driver = cluster.driver()
    cluster.create_volume("v")
    cluster.write("v", 0, payload(MiB, 1))
    first = driver.backup("one", "v", "volumes", volume_size_gib=1)
    cluster.write("v", 4 * MiB, payload(MiB, 2))
    second = driver.backup("two", "v", "volumes", volume_size_gib=1)
    assert not first.incremental and not second.incremental
    assert cluster.backup_images() == ["volume-v.backup.one", "volume-v.backup.two"]
    assert cluster.snaps(cluster.backups, "volume-v.backup.two") == [second.restore_point]
    # the second base holds all the data, not a diff on the first
    assert cluster.extents(cluster.backups, "volume-v.backup.two", second.restore_point) == [
        (0, MiB), (4 * MiB, MiB)]
    assert driver.delete_backup(first.ref()).base_removed
    cluster.create_volume("r")
    driver.restore(second.ref(), "r", "volumes", 1, volume_is_new=True)
    cluster.assert_volume("r", cluster.disks["v"])


# ----------------------------------------------------------------------- snapshot backups


def test_a_snapshot_backup_is_a_full_copy_of_the_snapshot(cluster: Cluster) -> None:
    driver = cluster.driver()
    cluster.create_volume("v")
    cluster.write("v", 2 * MiB, payload(3 * MiB, 1))
    with rbd.Image(cluster.volumes, "volume-v") as img:
        img.create_snap("snapshot-s1")
    at_snapshot = cluster.disks["v"].copy()
    cluster.write("v", 2 * MiB, payload(MiB, 2))  # after the snapshot: not in the backup
    parent = driver.backup("full", "v", "volumes", volume_size_gib=1).ref()
    one = driver.backup("s-one", "v", "volumes", snapshot_id="s1", parent=parent,
                        volume_size_gib=1)
    assert (one.incremental, one.forced_full_reason, one.restore_point) == (
        False, FORCED_FULL_FROM_SNAPSHOT, None)
    two = driver.backup("s-two", "v", "volumes", snapshot_id="s1", volume_size_gib=1)
    assert two.forced_full_reason is None
    assert cluster.snaps(cluster.backups, "volume-v.backup.s-one") == []
    assert "volume-v.backup.s-two" in cluster.backup_images()  # no shared name to collide on
    assert cluster.snaps(cluster.volumes, "volume-v") == ["snapshot-s1", parent_snap(cluster)]
    for vid, result in (("r1", one), ("r2", two)):
        cluster.create_volume(vid)
        restored = driver.restore(result.ref(), vid, "volumes", 1, volume_is_new=True)
        assert (restored.method, restored.restore_point) == ("full", None)
        cluster.assert_volume(vid, at_snapshot)
    with pytest.raises(VolumeNotFound, match="no snapshot s9"):
        driver.backup("s-three", "v", "volumes", snapshot_id="s9", volume_size_gib=1)


def parent_snap(cluster: Cluster) -> str:
    return next(s for s in cluster.snaps(cluster.volumes, "volume-v") if s.startswith("backup."))


def test_sparse_restore_writes_every_chunk_at_its_offset(cluster: Cluster) -> None:
    """Bug 2155612: a restore that skipped zero chunks wrote the later chunks at the wrong
    offsets, and skipping zero chunks on a volume that was not new kept its old bytes."""
    driver = cluster.driver()
    cluster.create_volume("v")
    # chunks: data, written zeros, hole, data, hole ..., data ending mid-chunk
    cluster.write("v", 0, payload(CHUNK, 1))
    cluster.write("v", CHUNK, bytes(CHUNK))
    cluster.write("v", 3 * CHUNK + 17, payload(CHUNK - 17, 2))
    cluster.write("v", 40 * CHUNK, payload(CHUNK // 2, 3))
    with rbd.Image(cluster.volumes, "volume-v") as img:
        img.create_snap("snapshot-s")
    result = driver.backup("b", "v", "volumes", snapshot_id="s", volume_size_gib=1)
    # only the data chunks were written to the base
    assert cluster.extents(cluster.backups, "volume-v.backup.b") == [
        (0, CHUNK), (3 * CHUNK, CHUNK), (40 * CHUNK, CHUNK // 2)]
    cluster.create_volume("new")
    driver.restore(result.ref(), "new", "volumes", 1, volume_is_new=True)
    cluster.assert_volume("new", cluster.disks["v"])
    new_extents = cluster.extents(cluster.volumes, "volume-new")
    assert not any(o < 3 * CHUNK and o + n > CHUNK for o, n in new_extents)  # zeros skipped
    cluster.create_volume("dirty")
    cluster.write("dirty", 0, b"\xab" * (64 * CHUNK))
    driver.restore(result.ref(), "dirty", "volumes", 1, volume_is_new=False)
    cluster.assert_volume("dirty", cluster.disks["v"])


def test_a_new_volume_that_holds_data_gets_its_zero_chunks_written(cluster: Cluster) -> None:
    driver = cluster.driver()
    cluster.create_volume("v")
    cluster.write("v", 0, payload(CHUNK, 1))
    cluster.write("v", 2 * CHUNK, payload(CHUNK, 2))
    with rbd.Image(cluster.volumes, "volume-v") as img:
        img.create_snap("snapshot-s")
    result = driver.backup("b", "v", "volumes", snapshot_id="s", volume_size_gib=1)
    cluster.create_volume("new")
    cluster.write("new", 0, b"\xab" * (4 * CHUNK))  # e.g. a new volume cloned from an image
    restored = driver.restore(result.ref(), "new", "volumes", 1, volume_is_new=True)
    assert restored.method == "full"
    cluster.assert_volume("new", cluster.disks["v"])


def test_a_failed_diff_restore_falls_back_to_writing_every_chunk(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    import shoal.services.backup.driver._restore as restore_module

    driver = cluster.driver()
    cluster.create_volume("v")
    cluster.write("v", 0, payload(2 * CHUNK, 1))
    cluster.write("v", 5 * CHUNK, payload(CHUNK, 2))
    result = driver.backup("b", "v", "volumes", volume_size_gib=1)
    cluster.create_volume("new")

    def broken_pipe(src: Any, dest: Any, **kwargs: Any) -> None:
        dest.write(b"\x99" * CHUNK, 3 * CHUNK)  # a diff that went wrong half-way
        raise errors.ShoalError("the diff stream broke")

    monkeypatch.setattr(restore_module, "pipe_diff", broken_pipe)
    restored = driver.restore(result.ref(), "new", "volumes", 1, volume_is_new=True)
    assert (restored.method, restored.diff_failed) == ("full", True)
    cluster.assert_volume("new", cluster.disks["v"])  # chunk 3 zeroed though the volume is new


# ------------------------------------------------------------------------------- failures


def fail_base_writes(monkeypatch: pytest.MonkeyPatch, after: int) -> list[int]:
    """Make writes to backup base images fail with ENOSPC after ``after`` of them."""
    seen = [0]
    real = rbd.Image.write

    def write(self: rbd.Image, data: bytes, offset: int, fadvise_flags: int = 0) -> int:
        if ".backup." in self.get_name():
            seen[0] += 1
            if seen[0] > after:
                raise errors.NoSpace("pool 'backups' is full (injected)")
        return real(self, data, offset, fadvise_flags)

    monkeypatch.setattr(rbd.Image, "write", write)
    return seen


def test_a_failed_full_backup_leaves_nothing(cluster: Cluster,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    driver = cluster.driver()
    cluster.create_volume("v")
    cluster.write("v", 0, payload(12 * MiB, 1))
    seen = fail_base_writes(monkeypatch, after=2)
    with pytest.raises(BackupStorageFull, match="injected") as info:
        driver.backup("b", "v", "volumes", volume_size_gib=1, volume_metadata="{}")
    assert info.value.http_status == 413
    assert seen[0] == 3
    assert cluster.backup_images() == []
    assert cluster.snaps(cluster.volumes, "volume-v") == []
    with pytest.raises(errors.ObjectNotFound):
        cluster.backups.stat("backup.b.meta")


def test_a_failed_incremental_backup_leaves_the_parent_as_it_was(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    driver = cluster.driver()
    cluster.create_volume("v")
    cluster.write("v", 0, payload(MiB, 1))
    a = driver.backup("a", "v", "volumes", volume_size_gib=1)
    cluster.write("v", 0, payload(9 * MiB, 2))
    fail_base_writes(monkeypatch, after=1)
    with pytest.raises(BackupStorageFull):
        driver.backup("b", "v", "volumes", parent=a.ref(), volume_size_gib=1)
    monkeypatch.undo()
    assert cluster.backup_images() == ["volume-v.backup.a"]
    assert cluster.snaps(cluster.backups, "volume-v.backup.a") == [a.restore_point]
    assert cluster.snaps(cluster.volumes, "volume-v") == [a.restore_point]
    # the half-applied diff was rolled back: the base's head is A again
    assert cluster.extents(cluster.backups, "volume-v.backup.a", from_snap=a.restore_point) == []
    cluster.create_volume("r")
    driver.restore(a.ref(), "r", "volumes", 1, volume_is_new=True)
    cluster.assert_volume("r", Disk(GiB, [(0, payload(MiB, 1))]))
    # and the next try succeeds
    b = driver.backup("b", "v", "volumes", parent=a.ref(), volume_size_gib=1)
    assert b.incremental


def test_an_incremental_backup_repairs_a_base_head_left_dirty(cluster: Cluster) -> None:
    """An import cut short (the process died) leaves writes on the base's head; the next
    incremental must not build on them where the volume did not change."""
    driver = cluster.driver()
    cluster.create_volume("v")
    cluster.write("v", 0, payload(MiB, 1))
    a = driver.backup("a", "v", "volumes", volume_size_gib=1)
    with rbd.Image(cluster.backups, "volume-v.backup.a") as base:
        base.write(b"\xee" * 4096, 8192)       # where the volume keeps A's data
        base.write(b"\xee" * 4096, 100 * MiB)  # where the volume is a hole
    cluster.write("v", 50 * MiB, payload(4096, 2))
    b = driver.backup("b", "v", "volumes", parent=a.ref(), volume_size_gib=1)
    cluster.create_volume("r")
    driver.restore(b.ref(), "r", "volumes", 1, volume_is_new=True)
    cluster.assert_volume("r", cluster.disks["v"])


def test_a_failure_after_the_data_removes_the_new_restore_point(cluster: Cluster) -> None:
    driver = cluster.driver()
    cluster.create_volume("v")
    a = driver.backup("a", "v", "volumes", volume_size_gib=1, volume_metadata='{"a": 1}')
    cluster.backups.write_full("backup.b.meta", b"left by someone")
    with pytest.raises(BackupExists, match=r"backup\.b\.meta") as info:
        driver.backup("b", "v", "volumes", parent=a.ref(), volume_size_gib=1,
                      volume_metadata='{"b": 2}')
    assert info.value.http_status == 409
    assert cluster.snaps(cluster.backups, "volume-v.backup.a") == [a.restore_point]
    assert cluster.snaps(cluster.volumes, "volume-v") == [a.restore_point]
    assert cluster.backups.read("backup.b.meta", 0) == b"left by someone"


def test_a_backup_id_is_used_once(cluster: Cluster) -> None:
    driver = cluster.driver()
    cluster.create_volume("v")
    a = driver.backup("a", "v", "volumes", volume_size_gib=1)
    with pytest.raises(BackupExists):
        driver.backup("a", "v", "volumes", volume_size_gib=1)
    b = driver.backup("b", "v", "volumes", parent=a.ref(), volume_size_gib=1)
    with pytest.raises(BackupExists):
        driver.backup("b", "v", "volumes", parent=a.ref(), volume_size_gib=1)
    assert cluster.snaps(cluster.backups, "volume-v.backup.a") == [a.restore_point,
                                                                 b.restore_point]
    assert cluster.snaps(cluster.volumes, "volume-v") == [a.restore_point, b.restore_point]


def test_a_backup_user_without_caps_is_a_deployment_error(cluster: Cluster) -> None:
    cluster.create_volume("v")
    glance = cluster.session("client.glance")  # no caps on the backups pool
    driver = CephBackupDriver(cluster.cinder, glance, BackupOptions(chunk_size=CHUNK))
    with pytest.raises(BackupAccessDenied, match=r"client\.glance") as info:
        driver.backup("b", "v", "volumes", volume_size_gib=1)
    assert info.value.http_status == 503
    assert cluster.snaps(cluster.volumes, "volume-v") == []
    assert cluster.backup_images() == []


def test_missing_pools_and_volumes(cluster: Cluster) -> None:
    driver = cluster.driver()
    with pytest.raises(BackupUnavailable, match="volume pool 'nopool'") as info:
        driver.backup("b", "v", "nopool", volume_size_gib=1)
    assert info.value.http_status == 503
    with pytest.raises(VolumeNotFound, match="volumes/volume-v"):
        driver.backup("b", "v", "volumes", volume_size_gib=1)
    cluster.create_volume("v")
    with pytest.raises(BackupUnavailable, match="backup pool 'elsewhere'"):
        driver.backup("b", "v", "volumes", volume_size_gib=1, container="elsewhere")
    assert cluster.snaps(cluster.volumes, "volume-v") == []


def test_journaling_needs_ceph(cluster: Cluster) -> None:
    driver = cluster.driver(image_journals=True)
    with pytest.raises(BackupUnavailable, match="journaling"):
        driver.check_for_setup_error()
    cluster.create_volume("v")
    with pytest.raises(BackupUnavailable, match="journaling"):
        driver.backup("b", "v", "volumes", volume_size_gib=1)
    assert cluster.backup_images() == []
    assert cluster.snaps(cluster.volumes, "volume-v") == []
    cluster.driver().check_for_setup_error()


@pytest.mark.parametrize("kwargs", [
    {"backup_id": "B-upper"}, {"backup_id": ""}, {"volume_id": "v/../x"},
    {"backup_id": "x" * 65}, {"volume_size_gib": 0}, {"volume_size_gib": True},
    {"volume_pool": ""}, {"snapshot_id": "a.b"},
])
def test_bad_input_is_refused(cluster: Cluster, kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"backup_id": "b", "volume_id": "v", "volume_pool": "volumes",
                            "volume_size_gib": 1}
    args.update(kwargs)
    cluster.create_volume("v")
    with pytest.raises(errors.InvalidArgument) as info:
        cluster.driver().backup(args.pop("backup_id"), args.pop("volume_id"),
                                args.pop("volume_pool"), **args)
    assert info.value.http_status == 400
    assert cluster.backup_images() == []


def test_bad_options_are_refused() -> None:
    for kwargs in ({"chunk_size": 0}, {"chunk_size": 2 << 30}, {"max_snapshots": -1},
                   {"stripe_unit": -1}, {"pool": ""}):
        with pytest.raises(errors.InvalidArgument):
            BackupOptions(**kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- metadata


def test_volume_metadata_is_kept_and_restored(cluster: Cluster) -> None:
    driver = cluster.driver()
    cluster.create_volume("v")
    text = '{"version": 2, "volume-base-metadata": {"display_name": "vol \u00e9"}}'
    result = driver.backup("b", "v", "volumes", volume_size_gib=1, volume_metadata=text)
    assert cluster.backups.read("backup.b.meta", 0) == text.encode()
    cluster.create_volume("r")
    assert driver.restore(result.ref(), "r", "volumes", 1,
                          volume_is_new=True).volume_metadata == text
    assert driver.delete_backup(result.ref()).metadata_removed
    with pytest.raises(errors.ObjectNotFound):
        cluster.backups.stat("backup.b.meta")


# --------------------------------------------------------------------------------- delete


def test_delete_keeps_the_base_while_backup_snapshots_remain(cluster: Cluster) -> None:
    driver = cluster.driver()
    (a, b, c), points = chain_of_three(cluster, driver)
    base = "volume-v.backup.a"
    deleted = driver.delete_backup(b.ref())  # the middle one first
    assert deleted.base == base and not deleted.base_removed
    assert deleted.snapshots_removed == (b.restore_point,)
    assert cluster.snaps(cluster.backups, base) == [a.restore_point, c.restore_point]
    for vid, result, disk in (("ra", a, points[0]), ("rc", c, points[2])):
        cluster.create_volume(vid)
        driver.restore(result.ref(), vid, "volumes", 1, volume_is_new=True)
        cluster.assert_volume(vid, disk)
    assert not driver.delete_backup(c.ref()).base_removed
    assert cluster.snaps(cluster.backups, base) == [a.restore_point]
    last = driver.delete_backup(a.ref())
    assert last.base_removed and last.snapshots_removed == (a.restore_point,)
    assert cluster.backup_images() == []
    # the volume's snapshots stay (Cinder removes them with the volume)
    assert len(cluster.snaps(cluster.volumes, "volume-v")) == 3
    # a second delete finds nothing and does not fail
    assert driver.delete_backup(a.ref()) == type(last)(None, (), False, False)
    with pytest.raises(BackupNotFound):
        driver.restore(a.ref(), "ra", "volumes", 1, volume_is_new=False)


def test_delete_retries_a_busy_base(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    # each attempt on the busy base waits the lock-wait bound: 1 s here instead of 30
    monkeypatch.setattr(limits, "exclusive_lock_wait_s_max", 1.0)
    cluster.create_volume("v")
    result = cluster.driver().backup("b", "v", "volumes", volume_size_gib=1)
    holder = rbd.Image(cluster.admin.open_ioctx("backups"), "volume-v.backup.b")
    holder.write(b"x", 0)  # takes the exclusive lock: the base is busy
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            holder.close()

    driver = CephBackupDriver(cluster.cinder, cluster.backup_user,
                              BackupOptions(chunk_size=CHUNK), sleep=sleep)
    assert driver.delete_backup(result.ref()).base_removed
    assert waits == [5.0, 5.0]
    assert cluster.backup_images() == []


def test_delete_gives_up_on_a_base_that_stays_busy(cluster: Cluster,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # each attempt on the busy base waits the lock-wait bound: 1 s here instead of 30
    monkeypatch.setattr(limits, "exclusive_lock_wait_s_max", 1.0)
    cluster.create_volume("v")
    driver = cluster.driver()
    result = driver.backup("b", "v", "volumes", volume_size_gib=1, volume_metadata="m")
    with rbd.Image(cluster.admin.open_ioctx("backups"), "volume-v.backup.b") as holder:
        holder.write(b"x", 0)
        with pytest.raises(BackupInUse, match="busy") as info:
            driver.delete_backup(result.ref())
    assert info.value.http_status == 409
    assert cluster.backups.read("backup.b.meta", 0) == b"m"  # kept: the delete can be retried
    assert driver.delete_backup(result.ref()).base_removed


def test_delete_refuses_a_base_with_foreign_snapshots(cluster: Cluster) -> None:
    cluster.create_volume("v")
    driver = cluster.driver()
    result = driver.backup("b", "v", "volumes", volume_size_gib=1)
    with rbd.Image(cluster.backups, "volume-v.backup.b") as img:
        img.create_snap("someone-elses")
    with pytest.raises(BackupInUse, match="not backups"):
        driver.delete_backup(result.ref())
    assert cluster.snaps(cluster.backups, "volume-v.backup.b") == ["someone-elses"]


def test_delete_of_a_missing_pool_is_a_no_op(cluster: Cluster) -> None:
    result = cluster.driver().delete_backup(BackupRef("b", "v", container="gone"))
    assert (result.base, result.base_removed, result.metadata_removed) == (None, False, False)


# ------------------------------------------------------------------------- records, legacy


def test_backups_recorded_without_service_metadata(cluster: Cluster) -> None:
    driver = cluster.driver()
    cluster.create_volume("v")
    cluster.write("v", MiB, payload(MiB, 1))
    a = driver.backup("a", "v", "volumes", volume_size_gib=1)
    legacy = BackupRef("a", "v")  # finds volume-v.backup.a by its name
    b = driver.backup("b", "v", "volumes", parent=legacy, volume_size_gib=1)
    assert b.incremental and b.service_metadata == a.service_metadata
    cluster.create_volume("r")
    with pytest.raises(BackupNotFound, match="no base image"):  # b's base is named for a
        driver.restore(BackupRef("b", "v", container="backups"), "r", "volumes", 1,
                       volume_is_new=True)
    as_json = BackupRef("b", "v", b.service_metadata_json())
    assert driver.restore(as_json, "r", "volumes", 1, volume_is_new=False).method == "diff"
    cluster.assert_volume("r", cluster.disks["v"])


def test_the_legacy_shared_base(cluster: Cluster) -> None:
    driver = cluster.driver()
    cluster.create_volume("v")
    cluster.write("v", 0, payload(MiB, 1))
    a = driver.backup("a", "v", "volumes", volume_size_gib=1)
    rbd.RBD().rename(cluster.backups, "volume-v.backup.a", "volume-v.backup.base")
    cluster.create_volume("r")
    restored = driver.restore(BackupRef("a", "v"), "r", "volumes", 1, volume_is_new=True)
    assert restored.restore_point == a.restore_point
    cluster.assert_volume("r", cluster.disks["v"])
    assert driver.delete_backup(BackupRef("a", "v")).base == "volume-v.backup.base"
    assert cluster.backup_images() == []


def test_a_guessed_legacy_base_holding_nothing_of_the_backup_stays(cluster: Cluster) -> None:
    """A backup recorded without service_metadata (e.g. one that failed) whose own base is
    gone must not take the shared legacy base, another backup's data, with it."""
    driver = cluster.driver()
    cluster.create_volume("v")
    cluster.write("v", 0, payload(MiB, 1))
    with rbd.Image(cluster.volumes, "volume-v") as img:
        img.create_snap("snapshot-s")
    driver.backup("old", "v", "volumes", snapshot_id="s", volume_size_gib=1)
    rbd.RBD().rename(cluster.backups, "volume-v.backup.old", "volume-v.backup.base")
    cluster.backups.write_full("backup.failed.meta", b"{}")
    result = driver.delete_backup(BackupRef("failed", "v"))
    assert (result.base, result.base_removed, result.metadata_removed) == (
        "volume-v.backup.base", False, True)
    assert cluster.backup_images() == ["volume-v.backup.base"]
    cluster.create_volume("r")
    driver.restore(BackupRef("old", "v"), "r", "volumes", 1, volume_is_new=True)
    cluster.assert_volume("r", cluster.disks["v"])


@pytest.mark.parametrize("meta", ["not json", '{"other": 1}', '["base"]', {"base": ""}])
def test_a_bad_record_is_refused(cluster: Cluster, meta: Any) -> None:
    with pytest.raises(InvalidBackupRecord):
        cluster.driver().restore(BackupRef("b", "v", meta), "v", "volumes", 1,
                                 volume_is_new=False)


def test_a_missing_restore_point_is_not_replaced_by_the_head(cluster: Cluster) -> None:
    driver = cluster.driver()
    (a, b, _c), _ = chain_of_three(cluster, driver)
    with rbd.Image(cluster.backups, "volume-v.backup.a") as img:
        img.remove_snap(str(b.restore_point))
    cluster.create_volume("r")
    with pytest.raises(BackupNotFound, match="restore point of backup b"):
        driver.restore(b.ref(), "r", "volumes", 1, volume_is_new=True)
    assert cluster.extents(cluster.volumes, "volume-r") == []
    assert driver.restore(a.ref(), "r", "volumes", 1, volume_is_new=True).method == "diff"


# ------------------------------------------------------------------------- clones, snaps


def test_a_volume_cloned_from_an_image_backs_up_its_parents_data(cluster: Cluster) -> None:
    driver = cluster.driver()
    images = cluster.admin.open_ioctx("images")
    rbd.RBD().create(images, "img", 8 * MiB)
    with rbd.Image(images, "img") as img:
        img.write(payload(8 * MiB, 1), 0)
        img.create_snap("snap")
        img.protect_snap("snap")
    rbd.RBD().clone(images, "img", "snap", cluster.volumes, "volume-v")
    with rbd.Image(cluster.volumes, "volume-v") as vol:
        vol.resize(GiB)
        vol.write(b"own data", 3 * MiB)
    disk = Disk(GiB, [(0, payload(8 * MiB, 1)), (3 * MiB, b"own data")])
    result = driver.backup("b", "v", "volumes", volume_size_gib=1)
    cluster.create_volume("r")
    assert driver.restore(result.ref(), "r", "volumes", 1, volume_is_new=True).method == "diff"
    cluster.assert_volume("r", disk)


def test_backup_snapshot_names_parse_back() -> None:
    snaps = [{"id": 7, "name": "backup.b-2.snap.1700000001.5"},
             {"id": 3, "name": "backup.a.snap.999.0"},
             {"id": 4, "name": "snapshot-x"},
             {"id": 5, "name": "backup.UPPER.snap.1.0"}]
    assert [(s.backup_id, s.timestamp, s.snap_id) for s in backup_snaps(snaps)] == [
        ("a", "999.0", 3), ("b-2", "1700000001.5", 7)]
