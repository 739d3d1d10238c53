"""The SHA-256 each backup records, and ``verify`` (issue 13, "Beyond upstream").

The expected digests are computed here from the modelled volume contents with the formula
the driver documents (block SHA-256s of 1 MiB, then SHA-256 over size, block size and the
block digests), independently of the driver's hasher; incrementals must reach the same
value from their diffs alone.
"""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shoal.rbd as rbd
from shoal import errors
from shoal.services.backup.driver import (
    DIGEST_BLOCK_BYTES,
    BackupNotFound,
    BackupStorageFull,
)
from shoal.services.backup.driver._digest import BlockDigests, BlockHasher
from tests.unit.services.backup.test_driver import (
    Cluster,
    Disk,
    chain_of_three,
    fail_base_writes,
    payload,
)
from tests.unit.services.backup.test_driver import cluster as cluster  # the fixture

MiB = 1 << 20
GiB = 1 << 30


def reference_blocks(data: bytes, block: int) -> bytes:
    return b"".join(hashlib.sha256(data[o:o + block]).digest()
                    for o in range(0, len(data), block))


def reference_sha256(size: int, blocks: bytes, block: int = DIGEST_BLOCK_BYTES) -> str:
    return hashlib.sha256(b"shoal-sha256-blocks-v1\0" + struct.pack(">QQ", size, block)
                          + blocks).hexdigest()


def disk_sha256(disk: Disk) -> str:
    blocks = b"".join(
        hashlib.sha256(disk.expected(o, min(DIGEST_BLOCK_BYTES, disk.size - o))).digest()
        for o in range(0, disk.size, DIGEST_BLOCK_BYTES))
    return reference_sha256(disk.size, blocks)


# --------------------------------------------------------------------------- the hasher

_ops = st.lists(st.tuples(st.sampled_from(["write", "zero", "resize"]),
                          st.integers(0, 200), st.integers(1, 70), st.integers(0, 255)),
                min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(size=st.integers(0, 160), first=_ops, second=_ops, block=st.sampled_from([1, 7, 16]))
def test_an_incremental_hash_equals_the_hash_of_the_whole(
        size: int, first: list[tuple[str, int, int, int]],
        second: list[tuple[str, int, int, int]], block: int) -> None:
    """Two rounds of changes (writes, zeroed ranges, resizes) on a byte model: hashing each
    round's changed pieces on the previous digests gives the digests of all the bytes."""
    model = bytearray(size)
    previous: BlockDigests | None = None
    for ops in (first, second):
        changed: dict[int, bytes | None] = {}  # offset -> byte (None: a zero record)
        for kind, offset, length, value in ops:
            if kind == "resize":  # a shrink discards the tail: a diff reports it as zeros
                changed.update(dict.fromkeys(range(offset, len(model))))
                model = model[:offset] + bytearray(max(0, offset - len(model)))
                continue
            for i in range(offset, min(offset + length, len(model))):
                model[i] = value if kind == "write" else 0
                changed[i] = bytes([value]) if kind == "write" else None
        hasher = (BlockHasher(len(model), block_bytes=block) if previous is None else
                  BlockHasher(len(model), previous=previous, block_bytes=block,
                              fill=lambda o, n, now=bytes(model): now[o:o + n]))
        if previous is None:  # a full backup streams every byte that may hold data
            changed = {i: bytes([b]) if b else None for i, b in enumerate(model)}
        for i in sorted(k for k in changed if k < len(model)):
            hasher.feed(i, changed[i], 1)
        digests = hasher.finish()
        assert digests.blocks == reference_blocks(bytes(model), block)
        assert digests.sha256() == reference_sha256(len(model), digests.blocks, block)
        previous = digests


def test_the_hasher_refuses_pieces_out_of_order() -> None:
    hasher = BlockHasher(100, block_bytes=10)
    hasher.feed(50, b"x", 1)
    with pytest.raises(errors.InvalidArgument, match="out of order"):
        hasher.feed(40, b"x", 1)
    with pytest.raises(errors.InvalidArgument, match="past 100"):
        hasher.feed(95, bytes(10), 10)


def test_stored_digests_parse_back_and_name_differing_ranges() -> None:
    a = BlockHasher(25, block_bytes=10)
    a.feed(0, b"a" * 25, 25)
    da = a.finish()
    assert BlockDigests.decode(da.encode()) == da
    b = BlockHasher(25, block_bytes=10)
    b.feed(0, b"a" * 12 + b"b" + b"a" * 12, 25)
    assert b.finish().differing(da) == [(10, 10)]
    with pytest.raises(errors.InvalidArgument):
        BlockDigests.decode(b"not a digest object at all")


# --------------------------------------------------------------------------- the driver


def test_each_backup_of_a_chain_records_the_volumes_sha256(cluster: Cluster) -> None:
    results, points = chain_of_three(cluster, cluster.driver())
    assert [r.sha256 for r in results] == [disk_sha256(d) for d in points]
    assert len(set(r.sha256 for r in results)) == 3
    # the full backup moved its data; the incrementals only their diffs
    assert results[0].data_bytes == 3 * MiB + 8192  # 5000 bytes land in two 4 KiB blocks
    assert 0 < results[1].data_bytes <= 3 * MiB + 8192
    driver = cluster.driver()
    for result in results:
        checked = driver.verify(result.ref())
        assert checked.ok and checked.computed == result.sha256 == checked.stored
        assert checked.restore_point == result.restore_point and checked.size_bytes == GiB


def test_a_snapshot_backup_records_the_snapshots_sha256(cluster: Cluster) -> None:
    cluster.create_volume("v")
    cluster.write("v", 10 * MiB + 5, payload(3 * MiB, 1))
    at_snap = cluster.disks["v"].copy()
    with rbd.Image(cluster.volumes, "volume-v") as img:
        img.create_snap("snapshot-s")
    cluster.write("v", 10 * MiB, payload(MiB, 2))
    result = cluster.driver().backup("b", "v", "volumes", snapshot_id="s", volume_size_gib=1)
    assert result.sha256 == disk_sha256(at_snap)
    assert cluster.driver().verify(result.ref()).ok


def test_verify_finds_a_flipped_byte_in_a_data_object(cluster: Cluster) -> None:
    """A byte flipped in the base image's object at 900 MiB (written without a snapshot
    context, as a disk fault would) shows in the restore points that read that object
    (B and C), not in A's, which predates it."""
    driver = cluster.driver()
    (a, b, c), _ = chain_of_three(cluster, driver)
    with rbd.Image(cluster.backups, "volume-v.backup.a", read_only=True) as img:
        prefix = str(img.stat()["block_name_prefix"])
    obj = f"{prefix}.{900 * MiB // (4 * MiB):016x}"
    data = bytearray(cluster.backups.read(obj, 0))
    data[1000] ^= 0x01
    cluster.backups.write_full(obj, bytes(data))
    assert driver.verify(a.ref()).ok
    for result in (b, c):
        checked = driver.verify(result.ref())
        assert not checked.ok and checked.stored == result.sha256 != checked.computed
        assert checked.differing == ((900 * MiB, MiB),)


def test_digests_go_with_the_backup(cluster: Cluster, monkeypatch: pytest.MonkeyPatch
                                    ) -> None:
    driver = cluster.driver()
    cluster.create_volume("v")
    cluster.write("v", 0, payload(12 * MiB, 1))
    a = driver.backup("a", "v", "volumes", volume_size_gib=1)
    assert cluster.backups.stat("backup.a.sha256").size == 24 + 1024 * 32
    # a failed incremental leaves no digests of its own; the parent's stay
    cluster.write("v", 0, payload(9 * MiB, 2))
    fail_base_writes(monkeypatch, after=1)
    with pytest.raises(BackupStorageFull):
        driver.backup("b", "v", "volumes", parent=a.ref(), volume_size_gib=1)
    monkeypatch.undo()
    with pytest.raises(errors.ObjectNotFound):
        cluster.backups.stat("backup.b.sha256")
    driver.delete_backup(a.ref())
    with pytest.raises(errors.ObjectNotFound):
        cluster.backups.stat("backup.a.sha256")
    with pytest.raises(BackupNotFound):
        driver.verify(a.ref())


def test_an_incremental_on_a_parent_without_digests_records_none(cluster: Cluster) -> None:
    driver = cluster.driver()
    cluster.create_volume("v")
    cluster.write("v", 0, payload(MiB, 1))
    a = driver.backup("a", "v", "volumes", volume_size_gib=1)
    cluster.backups.remove_object("backup.a.sha256")  # a backup from before digests
    cluster.write("v", 0, payload(MiB, 2))
    b = driver.backup("b", "v", "volumes", parent=a.ref(), volume_size_gib=1)
    assert b.sha256 is None
    checked = driver.verify(b.ref())
    assert checked.stored is None and not checked.ok
    assert checked.computed == disk_sha256(cluster.disks["v"])
