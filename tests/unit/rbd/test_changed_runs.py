"""``changed_runs`` (the embedded diff's block compare) equals a block-by-block reference."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from shoal.rbd._diff import BLOCK, changed_runs


def _reference(new: bytes, old: bytes | None, start: int, n: int) -> list[tuple[int, int]]:
    """One block at a time, zero-padded, merged: what the fast compare must equal."""
    def block(data: bytes, lo: int, hi: int) -> bytes:
        return data[start + lo:start + hi].ljust(hi - lo, b"\0")

    runs: list[tuple[int, int]] = []
    for lo in range(0, n, BLOCK):
        hi = min(lo + BLOCK, n)
        other = bytes(hi - lo) if old is None else block(old, lo, hi)
        if block(new, lo, hi) != other:
            if runs and runs[-1][1] == lo:
                runs[-1] = (runs[-1][0], hi)
            else:
                runs.append((lo, hi))
    return runs


#: Objects built from 4 KiB-ish pieces: zero blocks, random ones, and ones whose first
#: byte is zero but not the rest (the case the first-byte screen must not get wrong).
_PIECES = st.sampled_from(["zero", "random", "zero-first", "tail"])


def _build(kinds: list[str], seed: int) -> bytes:
    out = bytearray()
    rnd = os.urandom(BLOCK * len(kinds) + 1)
    for i, kind in enumerate(kinds):
        chunk = bytearray(rnd[i * BLOCK:(i + 1) * BLOCK])
        if kind == "zero":
            chunk = bytearray(BLOCK)
        elif kind == "zero-first":
            chunk[0] = 0
        elif kind == "tail":
            chunk = bytearray(BLOCK)
            chunk[-1] = 1 + seed % 255
        out += chunk
    return bytes(out)


@settings(max_examples=300, deadline=None)
@given(kinds=st.lists(_PIECES, min_size=0, max_size=40),
       edits=st.lists(st.tuples(st.integers(0, 40 * BLOCK), st.integers(0, 255)), max_size=6),
       has_old=st.booleans(), cut_new=st.integers(0, 40 * BLOCK),
       start_blocks=st.integers(0, 3), extra=st.integers(0, 3 * BLOCK))
def test_matches_the_block_by_block_compare(kinds: list[str], edits: list[tuple[int, int]],
                                            has_old: bool, cut_new: int, start_blocks: int,
                                            extra: int) -> None:
    old = _build(kinds, 7)
    new = bytearray(old)
    for at, value in edits:
        if at < len(new):
            new[at] = value
    new_bytes = bytes(new[:max(cut_new, len(new) // 2)])  # shorter objects: zero tails
    start = start_blocks * BLOCK
    n = max(0, len(old) - start) + extra
    base = old if has_old else None
    assert changed_runs(new_bytes, base, start, n) == _reference(new_bytes, base, start, n)


def test_random_and_identical_objects() -> None:
    data = os.urandom(4 << 20)
    assert changed_runs(data, None, 0, len(data)) == [(0, len(data))]
    assert changed_runs(data, data, 0, len(data)) == []
    one = bytearray(data)
    one[5 * BLOCK + 17] ^= 0xFF
    assert changed_runs(bytes(one), data, 0, len(data)) == [(5 * BLOCK, 6 * BLOCK)]
    assert changed_runs(b"", None, 0, 3 * BLOCK + 5) == []
