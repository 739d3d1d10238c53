"""The embedded diff on the local store, which reads only the object ranges a clone's
``overlap`` leaves out (chunks of layered heads), reports exactly what comparing every
block of both versions reports."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shoal.rbd as rbd
from shoal.objstore.local import LocalStore
from shoal.rbd import _diff

KiB = 1 << 10
ORDER = 20  # 1 MiB objects: 16 chunks of 64 KiB each
SIZE = 4 << ORDER
Extent = tuple[int, int, bool]

#: One step: ("write", offset, length) | ("discard", offset, length) | ("snap", 0, 0);
#: mostly small writes, which leave heads layered over their clones with several runs
#: of chunks owned (a discard makes a head whole; only the newest clone has an overlap).
#: Offsets mostly inside objects 1 and 2 (the ones holding data at the first snapshot).
_OFFSET = st.one_of(
    st.builds(lambda obj, at: (obj << ORDER) + at, st.integers(1, 2),
              st.integers(0, (1 << ORDER) - 1)),
    st.integers(0, SIZE - 1))
_WRITE = st.tuples(st.just("write"), _OFFSET, st.integers(1, 100 * KiB))
_STEP = st.one_of(
    _WRITE, _WRITE, _WRITE, _WRITE,
    st.tuples(st.just("discard"), st.integers(0, SIZE - 1), st.integers(1, 1200 * KiB)),
    st.tuples(st.just("snap"), st.just(0), st.just(0)),
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    with LocalStore(tmp_path / "osd") as s:
        s.create_pool("rbd", 4)
        yield s


def _diff_of(img: rbd.Image, from_snap: str | None) -> list[Extent]:
    found: list[Extent] = []
    img.diff_iterate(0, img.size(), from_snap, lambda o, n, e: found.append((o, n, e)),
                     include_parent=True, whole_object=False)
    return found


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_STEP, min_size=1, max_size=20))
def test_diff_with_overlaps_equals_the_whole_compare(
        store: LocalStore, steps: list[tuple[str, int, int]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    io = store.open_ioctx("rbd")
    name = f"i{os.urandom(4).hex()}"
    rbd.RBD().create(io, name, SIZE, order=ORDER)
    snaps: list[str] = []
    with rbd.Image(io, name) as img:
        img.write(os.urandom(SIZE // 2), SIZE // 4)
        img.create_snap("s0")
        snaps.append("s0")
        for kind, offset, length in steps:
            length = min(length, SIZE - offset)
            if kind == "write":
                img.write(os.urandom(length), offset)
            elif kind == "discard":
                img.discard(offset, length)
            else:
                snaps.append(f"s{len(snaps)}")
                img.create_snap(snaps[-1])
        pairs = [(a, b) for i, a in enumerate(snaps) for b in [*snaps[i + 1:], None]]
        for from_snap, end_snap in pairs:
            img.set_snap(end_snap)
            fast = _diff_of(img, from_snap)
            with monkeypatch.context() as m:
                m.setattr(_diff, "_may_differ", lambda *a: None)  # compare whole objects
                whole = _diff_of(img, from_snap)
            assert fast == whole, f"{from_snap} -> {end_snap or 'head'}"


def test_a_small_write_after_a_snapshot_is_diffed_from_its_chunks(store: LocalStore) -> None:
    """After a snapshot, a 4 KiB write to a 1 MiB object: the diff reads one chunk of
    each version (64 KiB), not the object, and reports the block written."""
    io = store.open_ioctx("rbd")
    rbd.RBD().create(io, "one", SIZE, order=ORDER)
    with rbd.Image(io, "one") as img:
        img.write(os.urandom(1 << ORDER), 0)
        img.create_snap("s")
        img.write(b"x" * 4096, 200 * KiB)
        assert _diff._may_differ(img, 0, img._snap_by_name("s")["id"]) == [
            (192 * KiB, 256 * KiB)]
        assert _diff_of(img, "s") == [(200 * KiB, 4096, True)]
