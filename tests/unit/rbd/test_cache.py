"""The write-back cache: merging extents and overlaying reads, against a model."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shoal.rbd._cache import WriteCache

OBJ = 4096


@settings(max_examples=200, deadline=None)
@given(
    writes=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, OBJ - 1), st.integers(1, 700)),
        max_size=30,
    )
)
def test_overlay_matches_model(writes: list[tuple[int, int, int]]) -> None:
    cache = WriteCache(1 << 30)
    model = {n: bytearray(OBJ) for n in range(4)}
    touched = {n: bytearray(OBJ) for n in range(4)}  # 1 where written
    for i, (objectno, off, n) in enumerate(writes):
        n = min(n, OBJ - off)
        data = bytes([i % 255 + 1]) * n
        cache.add(objectno, off, data)
        model[objectno][off : off + n] = data
        touched[objectno][off : off + n] = b"\1" * n
    for objectno in range(4):
        base = b"\xee" * OBJ
        got = cache.overlay(objectno, 0, base)
        want = bytes(model[objectno][k] if touched[objectno][k] else 0xEE for k in range(OBJ))
        assert got == want
        assert cache.overlay(objectno, 100, base[:50]) == want[100:150]
    dirty = sum(sum(t) for t in touched.values())
    assert cache.dirty_bytes == dirty
    taken = dict(cache.take_all())
    for objectno, extents in taken.items():
        rebuilt = bytearray(OBJ)
        for off, data in extents:
            rebuilt[off : off + len(data)] = data
        assert rebuilt == model[objectno]
        starts = [off for off, _ in extents]
        ends = [off + len(d) for off, d in extents]
        assert all(e < s for e, s in zip(ends, starts[1:], strict=False))  # disjoint, not adjacent
    assert not cache and cache.dirty_bytes == 0


def test_limit() -> None:
    cache = WriteCache(100)
    cache.add(0, 0, b"x" * 100)
    assert not cache.over_limit()
    cache.add(1, 0, b"y")
    assert cache.over_limit()
