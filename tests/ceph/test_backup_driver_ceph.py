"""The Ceph backup driver on a real Ceph cluster, through librbd, as Cinder's cephx users.

Two temporary pools stand for ``volumes`` and ``backups``; a cinder-like user gets the
guide's caps on the first and a cinder-backup-like user on the second (``allow class-read
object_prefix rbd_children, allow rwx pool=<it>``). Volumes are written and read back as
client.admin with Ceph's own bindings, and the real ``rbd`` tool checks snapshots, features
and extents. Volumes are 1 GiB (thin); restored ones are compared byte for byte over every
extent ``rbd diff`` reports (the rest of an image reads as zeros by definition) and over
every byte the model expects to hold data.
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import shoal.rbd.ceph as ceph_rbd
from shoal import errors
from shoal.cluster import BackendConfig, Session, open_session
from shoal.services.backup.driver import (
    FORCED_FULL_PARENT_SNAPSHOT_PRUNED,
    BackupOptions,
    BackupResult,
    BackupStorageFull,
    CephBackupDriver,
)
from shoal.services.backup.driver._transfer import diff_records, diff_stream
from tests.ceph.conftest import CephCluster, import_ceph_bindings, mon_command, temporary_pool

MiB = 1 << 20
GiB = 1 << 30
CHUNK = MiB


def payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


@dataclass
class Disk:
    """Expected contents: zeros but for ``writes`` (applied in order)."""

    size: int
    writes: list[tuple[int, bytes]] = field(default_factory=list)

    def expected(self, offset: int, length: int) -> bytes:
        buf = bytearray(length)
        for w_off, data in self.writes:
            lo, hi = max(offset, w_off), min(offset + length, w_off + len(data))
            if lo < hi:
                buf[lo - offset:hi - offset] = data[lo - w_off:hi - w_off]
        return bytes(buf)

    def copy(self) -> Disk:
        return Disk(self.size, list(self.writes))


def _user(rados: Any, tmp: Path, hint: str, pool: str) -> tuple[str, Path]:
    entity = f"client.shoal-{hint}-{uuid.uuid4().hex[:8]}"
    caps = ["mon", "allow r",
            "osd", f"allow class-read object_prefix rbd_children, allow rwx pool={pool}"]
    reply = json.loads(mon_command(rados, "auth get-or-create", entity=entity, caps=caps))
    keyring = tmp / f"{hint}.keyring"
    keyring.write_text(f"[{entity}]\n\tkey = {reply[0]['key']}\n")
    return entity, keyring


@dataclass
class Env:
    cluster: CephCluster
    rados: Any
    volumes: str
    backups: str
    cinder: Session
    cinder_backup: Session
    disks: dict[str, Disk] = field(default_factory=dict)
    clock: Iterator[int] = field(default_factory=lambda: itertools.count(1_700_000_000))

    def driver(self, **options: Any) -> CephBackupDriver:
        user = self.cinder_backup.entity.removeprefix("client.")
        opts = BackupOptions(pool=self.backups, chunk_size=CHUNK, user=user, **options)
        return CephBackupDriver(self.cinder, self.cinder_backup, opts,
                                clock=lambda: next(self.clock) + 0.5, busy_retry_interval_s=0)

    def rbd(self, *args: str) -> Any:
        """``rbd ARGS --format json`` as client.admin, parsed."""
        out = self.cluster.run("rbd", *args, "--format", "json").stdout
        return json.loads(out) if out.strip() else None

    @contextmanager
    def image(self, pool: str, name: str) -> Iterator[Any]:
        """Image ``pool/name`` opened as client.admin with Ceph's own bindings."""
        _, rbd = import_ceph_bindings()
        with self.rados.open_ioctx(pool) as ioctx, rbd.Image(ioctx, name) as img:
            yield img

    def create_volume(self, vid: str, gib: int = 1) -> Disk:
        _, rbd = import_ceph_bindings()
        with self.rados.open_ioctx(self.volumes) as ioctx:
            rbd.RBD().create(ioctx, f"volume-{vid}", gib * GiB)
        self.disks[vid] = Disk(gib * GiB)
        return self.disks[vid]

    def write(self, vid: str, offset: int, data: bytes) -> None:
        with self.image(self.volumes, f"volume-{vid}") as img:
            img.write(data, offset)
        self.disks[vid].writes.append((offset, data))

    def snaps(self, pool: str, name: str) -> list[str]:
        return [s["name"] for s in self.rbd("snap", "ls", f"{pool}/{name}")]

    def images(self, pool: str) -> list[str]:
        return sorted(self.rbd("ls", pool) or [])

    def extents(self, spec: str, from_snap: str | None = None) -> list[tuple[int, int]]:
        args = ["diff", spec] + (["--from-snap", from_snap] if from_snap else [])
        return [(e["offset"], e["length"]) for e in self.rbd(*args) if e["exists"] == "true"]

    def assert_volume(self, vid: str, disk: Disk) -> None:
        spec = f"{self.volumes}/volume-{vid}"
        assert self.rbd("info", spec)["size"] == disk.size
        regions = self.extents(spec) + [(o, len(d)) for o, d in disk.writes]
        with self.image(self.volumes, f"volume-{vid}") as img:
            for offset, length in regions:
                got = img.read(offset, length)
                assert got == disk.expected(offset, length), f"{spec} differs in {offset}~{length}"


@pytest.fixture(scope="module")
def env(ceph_cluster: CephCluster, rados_cluster: Any,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("backup-keys")
    with temporary_pool(rados_cluster, "bk-volumes") as volumes, \
            temporary_pool(rados_cluster, "bk-backups") as backups:
        cinder, cinder_key = _user(rados_cluster, tmp, "cinder", volumes)
        backup, backup_key = _user(rados_cluster, tmp, "cinder-backup", backups)
        config = BackendConfig(backend="ceph", ceph_conf=ceph_cluster.conf)
        s1 = open_session(config, name=cinder, keyring=cinder_key)
        s2 = open_session(config, name=backup, keyring=backup_key)
        try:
            yield Env(ceph_cluster, rados_cluster, volumes, backups, s1, s2)
        finally:
            s1.shutdown()
            s2.shutdown()
            for entity in (cinder, backup):
                mon_command(rados_cluster, "auth rm", entity=entity)


def vid() -> str:
    return str(uuid.uuid4())


def chain(env: Env, driver: CephBackupDriver, volume: str
          ) -> tuple[list[BackupResult], list[Disk]]:
    env.create_volume(volume)
    env.write(volume, 5 * MiB, payload(3 * MiB, 1))
    env.write(volume, 700 * MiB + 123, payload(5000, 2))
    points = [env.disks[volume].copy()]
    a = driver.backup(vid(), volume, env.volumes, volume_size_gib=1)
    env.write(volume, 6 * MiB, payload(MiB, 3))
    env.write(volume, 900 * MiB, payload(2 * MiB + 7, 4))
    points.append(env.disks[volume].copy())
    b = driver.backup(vid(), volume, env.volumes, parent=a.ref(), volume_size_gib=1)
    env.write(volume, 5 * MiB, bytes(MiB))
    env.write(volume, 0, payload(4096, 5))
    points.append(env.disks[volume].copy())
    c = driver.backup(vid(), volume, env.volumes, parent=b.ref(), volume_size_gib=1)
    return [a, b, c], points


def test_chain_of_three_restores_each_point(env: Env) -> None:
    driver = env.driver()
    volume = vid()
    (a, b, c), points = chain(env, driver, volume)
    base = f"volume-{volume}.backup.{a.backup_id}"
    assert [r.incremental for r in (a, b, c)] == [False, True, True]
    assert {r.service_metadata["base"] for r in (a, b, c)} == {base}
    names = [r.restore_point for r in (a, b, c)]
    assert env.snaps(env.backups, base) == names
    assert env.snaps(env.volumes, f"volume-{volume}") == names
    info = env.rbd("info", f"{env.backups}/{base}")
    # librbd drops striping v2 with the default layout (the embedded engine keeps it)
    assert info["features"] == ["layering", "exclusive-lock", "object-map", "fast-diff"]
    # B's restore point differs from A's only where the volume changed in between
    changed = env.extents(f"{env.backups}/{base}@{b.restore_point}", str(a.restore_point))
    assert all(6 * MiB <= o < 7 * MiB or 900 * MiB <= o < 903 * MiB for o, _n in changed)
    for result, disk in zip((a, b, c), points, strict=True):
        target = vid()
        env.create_volume(target)
        restored = driver.restore(result.ref(), target, env.volumes, 1, volume_is_new=True)
        assert restored.method == "diff"
        env.assert_volume(target, disk)
        assert env.snaps(env.volumes, f"volume-{target}") == []
    # a full restore onto an existing, bigger volume discards what it held past the backup
    target = vid()
    env.create_volume(target, gib=2)
    env.write(target, 0, b"\xff" * (8 * MiB))
    env.write(target, GiB + 3 * MiB + 1, b"\xdd" * 99)
    restored = driver.restore(b.ref(), target, env.volumes, 2, volume_is_new=False)
    assert restored.method == "full"
    want = points[1].copy()
    want.size = 2 * GiB
    env.assert_volume(target, want)  # its extents include the old data's: all checked
    for result in (c, b, a):
        driver.delete_backup(result.ref())
    assert base not in env.images(env.backups)


def test_our_diff_stream_is_read_by_the_real_rbd_import_diff(env: Env) -> None:
    volume = vid()
    env.create_volume(volume)
    env.write(volume, MiB, payload(5 * MiB, 7))
    env.write(volume, 300 * MiB + 11, b"tail")
    target = f"copy-{volume}"
    env.cluster.run("rbd", "create", "--size", "1G", f"{env.volumes}/{target}")
    ioctx = env.cinder.open_ioctx(env.volumes)
    try:
        with ceph_rbd.Image(ioctx, f"volume-{volume}", read_only=True) as img:
            stream = diff_stream(diff_records(img, from_snap=None, end_snap="s1")).read()
    finally:
        ioctx.close()
    proc = subprocess.run(["rbd", *env.cluster.cli_args(), "import-diff", "-",
                           f"{env.volumes}/{target}"], input=stream, capture_output=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    assert env.snaps(env.volumes, target) == ["s1"]
    with env.image(env.volumes, target) as img:
        for offset, data in env.disks[volume].writes:
            assert img.read(offset, len(data)) == data
    assert env.extents(f"{env.volumes}/{target}") == \
        env.extents(f"{env.volumes}/volume-{volume}")
    env.cluster.run("rbd", "snap", "purge", f"{env.volumes}/{target}")


def test_max_snapshots_forces_a_full_backup(env: Env) -> None:
    driver = env.driver(max_snapshots=1)
    volume = vid()
    env.create_volume(volume)
    env.write(volume, 0, payload(MiB, 1))
    a = driver.backup(vid(), volume, env.volumes, volume_size_gib=1)
    env.write(volume, MiB, payload(MiB, 2))
    b = driver.backup(vid(), volume, env.volumes, parent=a.ref(), volume_size_gib=1)
    assert env.snaps(env.volumes, f"volume-{volume}") == [b.restore_point]
    driver.delete_backup(b.ref())
    c = driver.backup(vid(), volume, env.volumes, parent=a.ref(), volume_size_gib=1)
    assert (c.incremental, c.forced_full_reason) == (False, FORCED_FULL_PARENT_SNAPSHOT_PRUNED)
    assert c.service_metadata["base"] == f"volume-{volume}.backup.{c.backup_id}"
    assert env.snaps(env.volumes, f"volume-{volume}") == [c.restore_point]
    target = vid()
    env.create_volume(target)
    driver.restore(c.ref(), target, env.volumes, 1, volume_is_new=True)
    env.assert_volume(target, env.disks[volume])
    for result in (a, c):
        assert driver.delete_backup(result.ref()).base_removed


def test_a_failed_backup_leaves_nothing(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    driver = env.driver()
    volume = vid()
    env.create_volume(volume)
    env.write(volume, 0, payload(10 * MiB, 3))
    real = ceph_rbd.Image.write
    writes = [0]

    def write(self: Any, data: bytes, offset: int, fadvise_flags: int = 0) -> int:
        if ".backup." in self.get_name():
            writes[0] += 1
            if writes[0] > 1:
                raise errors.NoSpace("pool is full (injected)")
        return int(real(self, data, offset, fadvise_flags))

    monkeypatch.setattr(ceph_rbd.Image, "write", write)
    before = env.images(env.backups)
    backup_id = vid()
    with pytest.raises(BackupStorageFull, match="injected"):
        driver.backup(backup_id, volume, env.volumes, volume_size_gib=1, volume_metadata="{}")
    assert env.images(env.backups) == before
    assert env.snaps(env.volumes, f"volume-{volume}") == []
    objects = env.cluster.run("rados", "-p", env.backups, "ls").stdout.split()
    assert f"backup.{backup_id}.meta" not in objects


def test_delete_keeps_the_base_while_snapshots_remain(env: Env) -> None:
    driver = env.driver()
    volume = vid()
    (a, b, c), points = chain(env, driver, volume)
    base = f"volume-{volume}.backup.{a.backup_id}"
    assert not driver.delete_backup(b.ref()).base_removed
    assert env.snaps(env.backups, base) == [a.restore_point, c.restore_point]
    target = vid()
    env.create_volume(target)
    driver.restore(c.ref(), target, env.volumes, 1, volume_is_new=True)
    env.assert_volume(target, points[2])
    assert not driver.delete_backup(a.ref()).base_removed
    assert driver.delete_backup(c.ref()).base_removed
    assert base not in env.images(env.backups)


def test_snapshot_backup_and_sparse_restore_over_old_data(env: Env) -> None:
    driver = env.driver()
    volume = vid()
    env.create_volume(volume)
    obj = 4 * MiB  # librbd's extents are whole objects: make the zero chunks fill one
    env.write(volume, 0, payload(CHUNK, 1))
    env.write(volume, obj, bytes(obj))  # written zeros: data to Ceph, four zero chunks here
    env.write(volume, 2 * obj + 17, payload(CHUNK - 17, 2))
    env.cluster.run("rbd", "snap", "create", f"{env.volumes}/volume-{volume}@snapshot-s1")
    at_snapshot = env.disks[volume].copy()
    env.write(volume, 0, b"after" * 100)
    result = driver.backup(vid(), volume, env.volumes, snapshot_id="s1", volume_size_gib=1)
    assert result.restore_point is None
    base = result.service_metadata["base"]
    assert env.snaps(env.backups, base) == []
    extents = env.extents(f"{env.backups}/{base}")
    assert extents and not any(o < 2 * obj and o + n > obj for o, n in extents)  # not written
    target = vid()
    env.create_volume(target)
    env.write(target, 0, b"\xab" * (3 * obj))
    restored = driver.restore(result.ref(), target, env.volumes, 1, volume_is_new=False)
    assert restored.method == "full"
    env.assert_volume(target, at_snapshot)  # its extents include the old data's
    driver.delete_backup(result.ref())
    env.cluster.run("rbd", "snap", "rm", f"{env.volumes}/volume-{volume}@snapshot-s1")


def test_base_images_can_have_journals(env: Env) -> None:
    driver = env.driver(image_journals=True)
    driver.check_for_setup_error()
    volume = vid()
    env.create_volume(volume)
    env.write(volume, 0, b"journal me")
    result = driver.backup(vid(), volume, env.volumes, volume_size_gib=1)
    features = env.rbd("info", f"{env.backups}/{result.service_metadata['base']}")["features"]
    assert "journaling" in features
    target = vid()
    env.create_volume(target)
    driver.restore(result.ref(), target, env.volumes, 1, volume_is_new=True)
    env.assert_volume(target, env.disks[volume])
    assert driver.delete_backup(result.ref()).base_removed
