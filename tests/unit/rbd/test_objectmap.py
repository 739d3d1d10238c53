"""The RBD object map (``shoal.rbd._objectmap``)."""

from __future__ import annotations

import contextlib
import struct
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from shoal import errors
from shoal.rbd import _objectmap
from shoal.rbd._objectmap import MAX_OBJECT_COUNT, ObjectMap, ObjectState

N, E, P, C = (
    ObjectState.NONEXISTENT,
    ObjectState.EXISTS,
    ObjectState.PENDING,
    ObjectState.EXISTS_CLEAN,
)


def make(states: list[ObjectState]) -> ObjectMap:
    omap = ObjectMap(len(states))
    for i, state in enumerate(states):
        omap[i] = state
    return omap


def entries(omap: ObjectMap) -> list[ObjectState]:
    return [omap[i] for i in range(omap.count)]


def encoded(count: int, data: bytes, version: int = 1, magic: bytes = b"SHOM") -> bytes:
    """Build an encoding by hand (with a correct checksum)."""
    count_field = struct.pack("<Q", count)
    crc = zlib.crc32(data, zlib.crc32(count_field))
    return magic + bytes([version]) + count_field + struct.pack("<I", crc) + data


# --------------------------------------------------------------------- basics


def test_states_match_ceph_values() -> None:
    assert [int(s) for s in (N, E, P, C)] == [0, 1, 2, 3]


def test_new_map_is_all_nonexistent() -> None:
    omap = ObjectMap(10)
    assert omap.count == 10
    assert entries(omap) == [N] * 10
    assert list(omap.iter_present()) == []
    assert ObjectMap().count == 0


def test_set_and_get_each_slot_of_a_byte() -> None:
    omap = ObjectMap(8)
    omap[0], omap[1], omap[2], omap[3] = E, P, C, E
    omap[5] = C
    assert entries(omap) == [E, P, C, E, N, C, N, N]
    omap[1] = N
    assert entries(omap) == [E, N, C, E, N, C, N, N]
    assert isinstance(omap[0], ObjectState)


def test_plain_ints_are_accepted_as_states() -> None:
    omap = ObjectMap(2)
    omap[1] = 3  # type: ignore[assignment]
    assert omap[1] is C


@pytest.mark.parametrize("index", [-1, 5, 100])
def test_index_out_of_range(index: int) -> None:
    omap = ObjectMap(5)
    with pytest.raises(IndexError):
        omap[index]
    with pytest.raises(IndexError):
        omap[index] = E


def test_invalid_state() -> None:
    omap = ObjectMap(5)
    with pytest.raises(ValueError):
        omap[0] = 4  # type: ignore[assignment]
    with pytest.raises(ValueError):
        omap[0] = -1  # type: ignore[assignment]


def test_count_bounds() -> None:
    with pytest.raises(errors.InvalidArgument):
        ObjectMap(-1)
    with pytest.raises(errors.InvalidArgument):
        ObjectMap(MAX_OBJECT_COUNT + 1)
    omap = ObjectMap(4)
    with pytest.raises(errors.InvalidArgument):
        omap.resize(MAX_OBJECT_COUNT + 1)
    with pytest.raises(errors.InvalidArgument):
        omap.resize(-1)
    assert omap.count == 4


def test_resize_grow_adds_nonexistent() -> None:
    omap = make([E, C, P])
    omap.resize(9)
    assert entries(omap) == [E, C, P] + [N] * 6


def test_resize_shrink_drops_tail_and_regrow_is_clean() -> None:
    omap = make([E, C, P, E, E, C, E])
    omap.resize(2)
    assert entries(omap) == [E, C]
    assert omap.encode() == make([E, C]).encode()
    omap.resize(7)
    assert entries(omap) == [E, C, N, N, N, N, N]
    omap.resize(0)
    assert omap.count == 0
    assert list(omap.iter_present()) == []


def test_mark_clean_turns_exists_into_clean_only() -> None:
    omap = make([E, N, P, C, E, E, N, P, E])
    omap.mark_clean()
    assert entries(omap) == [C, N, P, C, C, C, N, P, C]


def test_copy_is_independent() -> None:
    omap = make([E, N, P])
    other = omap.copy()
    assert other == omap
    other[0] = N
    other.resize(10)
    assert entries(omap) == [E, N, P]
    assert other != omap


def test_equality() -> None:
    assert make([E, N]) == make([E, N])
    assert make([E, N]) != make([E, N, N])
    assert make([E, N]) != make([C, N])
    assert ObjectMap(1) != "not a map"
    with pytest.raises(TypeError):
        hash(ObjectMap(1))


def test_repr_counts_present_entries() -> None:
    assert repr(make([E, N, C])) == "ObjectMap(count=3, present=2)"


# ---------------------------------------------------------------- iter_present


def test_iter_present_yields_non_nonexistent_in_order() -> None:
    omap = make([N, E, N, N, P, C, N, N, N, E])
    assert list(omap.iter_present()) == [(1, E), (4, P), (5, C), (9, E)]


def test_iter_present_range() -> None:
    omap = make([E] * 12)
    assert [n for n, _ in omap.iter_present(3, 6)] == [3, 4, 5]
    assert [n for n, _ in omap.iter_present(10)] == [10, 11]
    assert [n for n, _ in omap.iter_present(5, 100)] == list(range(5, 12))
    assert list(omap.iter_present(6, 3)) == []
    assert list(omap.iter_present(12)) == []
    with pytest.raises(IndexError):
        list(omap.iter_present(-1))
    with pytest.raises(IndexError):
        list(omap.iter_present(0, -1))


def test_iter_present_on_large_sparse_map_decodes_only_nonzero_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 1 TiB image at 4 MiB objects with 100 objects present: the Python-level
    work is per non-zero byte, never per object (timing-free check)."""
    count = 262144
    present = {i * 2621 + (i % 4) for i in range(100)}
    omap = ObjectMap(count)
    for n in present:
        omap[n] = E
    lookups = 0
    table = _objectmap._PRESENT_SLOTS

    class Counting(tuple[Any, ...]):
        def __getitem__(self, key: Any) -> Any:
            nonlocal lookups
            lookups += 1
            return table[key]

    monkeypatch.setattr(_objectmap, "_PRESENT_SLOTS", Counting(table))
    assert [n for n, _ in omap.iter_present()] == sorted(present)
    assert lookups == len({n // 4 for n in present}) <= 100


def test_iter_present_survives_changes_during_iteration() -> None:
    omap = make([E] * 40000)
    seen = []
    for n, _ in omap.iter_present():
        seen.append(n)
        if n == 0:
            omap[39999] = N  # beyond the chunk being yielded: not seen
        if n == 20000:
            omap.resize(30000)
    assert seen == list(range(30000))


def test_iter_present_past_first_zero_block() -> None:
    omap = ObjectMap(100_000)
    omap[0] = E
    omap[50_001] = C
    omap[99_999] = P
    assert list(omap.iter_present()) == [(0, E), (50_001, C), (99_999, P)]
    assert list(omap.iter_present(1)) == [(50_001, C), (99_999, P)]
    assert list(omap.iter_present(50_002, 99_999)) == []


# -------------------------------------------------------------------- encoding


def test_encoding_golden() -> None:
    omap = make([E, P, C, N, C])
    # Entries are packed MSB first: 01 10 11 00 | 11 (padding 000000).
    data = bytes([0b01101100, 0b11000000])
    assert omap.encode() == encoded(5, data)
    assert omap.encode()[:5] == b"SHOM\x01"


@pytest.mark.parametrize("states", [[], [E], [E, N, N, N], [C] * 5, [P, E] * 9])
def test_encode_decode_round_trip(states: list[ObjectState]) -> None:
    omap = make(states)
    again = ObjectMap.decode(omap.encode())
    assert again == omap
    assert entries(again) == states


def test_decode_accepts_bytearray_and_memoryview() -> None:
    raw = make([E, C]).encode()
    assert ObjectMap.decode(bytearray(raw)) == make([E, C])
    assert ObjectMap.decode(memoryview(raw)) == make([E, C])


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"", "shorter"),
        (b"SHOM\x01", "shorter"),
        (encoded(4, b"\x00", magic=b"XXXX"), "magic"),
        (encoded(4, b"\x00", version=2), "version"),
        (encoded(MAX_OBJECT_COUNT + 1, b""), "exceeds"),
        (encoded(5, b"\x00"), "data bytes"),
        (encoded(4, b"\x00\x00"), "data bytes"),
        (encoded(5, b"\x00\x01"), "past the last object"),
        (encoded(1, b"\x7f"), "past the last object"),
    ],
)
def test_decode_rejects_garbage(raw: bytes, match: str) -> None:
    with pytest.raises(errors.InvalidArgument, match=match):
        ObjectMap.decode(raw)


def test_decode_detects_every_single_bit_flip() -> None:
    raw = make([E, P, C, N, C, E, E]).encode()
    for bit in range(len(raw) * 8):
        flipped = bytearray(raw)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(errors.InvalidArgument):
            ObjectMap.decode(bytes(flipped))


@settings(max_examples=300)
@given(st.binary(max_size=64))
def test_decode_random_bytes_never_crashes(raw: bytes) -> None:
    with contextlib.suppress(errors.InvalidArgument):
        ObjectMap.decode(raw)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(list(ObjectState)), max_size=70))
def test_encode_round_trip_property(states: list[ObjectState]) -> None:
    omap = make(states)
    assert entries(ObjectMap.decode(omap.encode())) == states


# --------------------------------------------------------------- model test


class ObjectMapModel(RuleBasedStateMachine):
    """Drive an ObjectMap and a plain list with the same operations."""

    def __init__(self) -> None:
        super().__init__()
        self.omap = ObjectMap(0)
        self.model: list[ObjectState] = []

    @rule(count=st.integers(0, 5000))
    def resize(self, count: int) -> None:
        self.omap.resize(count)
        self.model = (self.model + [N] * count)[:count]

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data(), state=st.sampled_from(list(ObjectState)))
    def set_one(self, data: st.DataObject, state: ObjectState) -> None:
        n = data.draw(st.integers(0, len(self.model) - 1))
        self.omap[n] = state
        self.model[n] = state

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data(), state=st.sampled_from(list(ObjectState)))
    def set_run(self, data: st.DataObject, state: ObjectState) -> None:
        start = data.draw(st.integers(0, len(self.model) - 1))
        for n in range(start, min(start + 37, len(self.model))):
            self.omap[n] = state
            self.model[n] = state

    @rule()
    def mark_clean(self) -> None:
        self.omap.mark_clean()
        self.model = [C if s is E else s for s in self.model]

    @rule()
    def copy_and_reload(self) -> None:
        self.omap = ObjectMap.decode(self.omap.copy().encode())

    @rule(data=st.data())
    def iter_range(self, data: st.DataObject) -> None:
        start = data.draw(st.integers(0, len(self.model) + 5))
        end = data.draw(st.none() | st.integers(0, len(self.model) + 5))
        stop = len(self.model) if end is None else min(end, len(self.model))
        expected = [(n, s) for n, s in enumerate(self.model) if start <= n < stop and s is not N]
        assert list(self.omap.iter_present(start, end)) == expected

    @invariant()
    def same_entries(self) -> None:
        assert self.omap.count == len(self.model)
        assert entries(self.omap) == self.model
        assert list(self.omap.iter_present()) == [
            (n, s) for n, s in enumerate(self.model) if s is not N
        ]


ObjectMapModel.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_object_map_model = ObjectMapModel.TestCase


def test_patch_brings_a_stored_encoding_up_to_date() -> None:
    from shoal.rbd._objectmap import ObjectMap, ObjectState

    m = ObjectMap(1000)
    stored = bytearray(m.encode())
    for n, state in [
        (0, ObjectState.EXISTS),
        (999, ObjectState.PENDING),
        (517, ObjectState.EXISTS_CLEAN),
    ]:
        m[n] = state
        for at, piece in m.patch(n):
            stored[at : at + len(piece)] = piece
        assert bytes(stored) == m.encode()
        assert ObjectMap.decode(bytes(stored)) == m
