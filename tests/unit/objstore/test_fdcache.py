"""FdCache.sync_all: every dirty file is synced, evicted ones included, in parallel; a
failed sync leaves the files dirty (the fault is injected: a disk that fails fdatasync)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from shoal.objstore._localfs import FdCache, pwrite_all


def _synced_inodes(monkeypatch: pytest.MonkeyPatch, fail: bool = False) -> list[int]:
    """Record the inode of every fdatasync (and fail them all if ``fail``)."""
    seen: list[int] = []
    lock = threading.Lock()
    real = os.fdatasync

    def fdatasync(fd: int) -> None:
        with lock:
            seen.append(os.fstat(fd).st_ino)
        if fail:
            raise OSError(5, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    return seen


def _write(cache: FdCache, path: Path) -> None:
    with cache.open(str(path), create=True) as fd:
        pwrite_all(fd, b"x" * 4096, 0)
    cache.mark_dirty(str(path))


def test_sync_all_syncs_evicted_and_open_files(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cache = FdCache(capacity=2)
    paths = [tmp_path / f"f{i}" for i in range(6)]
    for p in paths:
        _write(cache, p)
    inodes = [p.stat().st_ino for p in paths]
    paths[1].unlink()  # evicted, then removed: nothing to reopen, skipped
    cache.drop(str(paths[4]))  # dropped (before an unlink): no longer needs a sync
    seen = _synced_inodes(monkeypatch)
    cache.sync_all()
    # f0, f2 (evicted without waiting for the disk: reopened by path), f3, f5 (open).
    assert sorted(seen) == sorted(inodes[i] for i in (0, 2, 3, 5))
    seen.clear()
    cache.sync_all()
    assert seen == [], "a second flush has nothing left to sync"
    cache.close()


def test_a_failed_sync_keeps_the_files_dirty(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    cache = FdCache(capacity=8)
    paths = [tmp_path / f"f{i}" for i in range(4)]
    for p in paths:
        _write(cache, p)
    seen = _synced_inodes(monkeypatch, fail=True)
    with pytest.raises(OSError, match="Input/output"):
        cache.sync_all()
    monkeypatch.undo()
    seen = _synced_inodes(monkeypatch)
    cache.sync_all()
    assert sorted(seen) == sorted(p.stat().st_ino for p in paths)
    cache.close()
