"""RBD striping arithmetic (``shoal.rbd._striping``) against Ceph's file-layout rules."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoal import errors
from shoal.rbd._striping import (
    STRIPE_COUNT_MAX,
    Layout,
    ObjectExtent,
    map_extent,
    object_count,
    object_image_extent,
    object_range,
    object_to_image,
)

KiB = 1024
MiB = 1024 * KiB

DEFAULT = Layout.make(22)
FANCY = Layout.make(22, 64 * KiB, 4)  # period 16 MiB, 64 stripe units per object


def reference_locate(layout: Layout, image_offset: int) -> tuple[int, int]:
    """Byte-level reference, written from the layout definition: deal stripe
    units round-robin over the objects of a set, fill rows, then next set."""
    su, count = layout.stripe_unit, layout.stripe_count
    rows = layout.object_size // su
    unit = image_offset // su
    objectset = unit // (rows * count)
    within = unit % (rows * count)
    row, column = divmod(within, count)
    return objectset * count + column, row * su + image_offset % su


# --------------------------------------------------------------------- Layout


def test_make_defaults_to_one_object_sized_unit() -> None:
    assert Layout(22, 4 * MiB, 1) == DEFAULT
    assert DEFAULT.object_size == 4 * MiB
    assert DEFAULT.is_default
    assert DEFAULT.period == 4 * MiB
    assert DEFAULT.stripes_per_object == 1


def test_explicit_default_values_are_default() -> None:
    assert Layout.make(22, 4 * MiB, 1).is_default
    assert Layout.make(22, 4 * MiB, 1) == DEFAULT


def test_fancy_layout_properties() -> None:
    assert not FANCY.is_default
    assert FANCY.object_size == 4 * MiB
    assert FANCY.period == 16 * MiB
    assert FANCY.stripes_per_object == 64


def test_count_one_with_small_unit_is_not_default() -> None:
    # librbd sets the striping-v2 feature for it, even though it maps identically.
    assert not Layout.make(22, 64 * KiB, 1).is_default


@pytest.mark.parametrize("order", [12, 22, 25])
def test_order_bounds_accepted(order: int) -> None:
    assert Layout.make(order).object_size == 1 << order


@pytest.mark.parametrize("order", [0, 11, 26, 64, -1])
def test_order_out_of_range(order: int) -> None:
    with pytest.raises(errors.InvalidArgument, match="order"):
        Layout.make(order)


@pytest.mark.parametrize(("su", "count"), [(64 * KiB, 0), (0, 4)])
def test_unit_and_count_go_together(su: int, count: int) -> None:
    with pytest.raises(errors.InvalidArgument, match="both"):
        Layout.make(22, su, count)


@pytest.mark.parametrize("su", [3000, 12 * KiB, 8 * MiB, 4 * MiB + 4096])
def test_unit_must_divide_object_size(su: int) -> None:
    with pytest.raises(errors.InvalidArgument, match="factor"):
        Layout.make(22, su, 2)


@pytest.mark.parametrize("su", [1, 512, 2048])
def test_unit_below_minimum(su: int) -> None:
    with pytest.raises(errors.InvalidArgument, match="at least"):
        Layout.make(22, su, 2)


def test_negative_unit_or_count() -> None:
    with pytest.raises(errors.InvalidArgument, match="negative"):
        Layout.make(22, -4096, 2)
    with pytest.raises(errors.InvalidArgument, match="negative"):
        Layout.make(22, 4096, -2)


def test_count_bound() -> None:
    assert Layout.make(22, 64 * KiB, STRIPE_COUNT_MAX).stripe_count == STRIPE_COUNT_MAX
    with pytest.raises(errors.InvalidArgument, match="stripe count"):
        Layout.make(22, 64 * KiB, STRIPE_COUNT_MAX + 1)


def test_direct_construction_validates() -> None:
    with pytest.raises(errors.InvalidArgument):
        Layout(22, 0, 1)
    with pytest.raises(errors.InvalidArgument):
        Layout(22, 4 * MiB, 0)
    with pytest.raises(errors.InvalidArgument):
        Layout(30, 4096, 1)


def test_layout_is_frozen_and_hashable() -> None:
    assert len({DEFAULT, Layout.make(22), FANCY}) == 2
    with pytest.raises(AttributeError):
        DEFAULT.order = 12  # type: ignore[misc]


# ----------------------------------------------------------------- map_extent


def test_map_empty_range() -> None:
    assert map_extent(DEFAULT, 0, 0) == []
    assert map_extent(FANCY, 123456, 0) == []


def test_map_default_within_one_object() -> None:
    assert map_extent(DEFAULT, 4096, 8192) == [ObjectExtent(0, 4096, 8192, 0)]


def test_map_default_across_object_boundary() -> None:
    assert map_extent(DEFAULT, 4 * MiB - 1, 2) == [
        ObjectExtent(0, 4 * MiB - 1, 1, 0),
        ObjectExtent(1, 0, 1, 1),
    ]


def test_map_default_spanning_three_objects() -> None:
    assert map_extent(DEFAULT, 3 * MiB, 6 * MiB) == [
        ObjectExtent(0, 3 * MiB, 1 * MiB, 0),
        ObjectExtent(1, 0, 4 * MiB, 1 * MiB),
        ObjectExtent(2, 0, 1 * MiB, 5 * MiB),
    ]


def test_map_fancy_first_row() -> None:
    assert map_extent(FANCY, 0, 256 * KiB) == [
        ObjectExtent(0, 0, 64 * KiB, 0),
        ObjectExtent(1, 0, 64 * KiB, 64 * KiB),
        ObjectExtent(2, 0, 64 * KiB, 128 * KiB),
        ObjectExtent(3, 0, 64 * KiB, 192 * KiB),
    ]


def test_map_fancy_second_row_and_second_set() -> None:
    # The fifth stripe unit is the second unit of object 0.
    assert map_extent(FANCY, 256 * KiB, 64 * KiB) == [ObjectExtent(0, 64 * KiB, 64 * KiB, 0)]
    # The last unit of the first set is the last unit of object 3.
    assert map_extent(FANCY, 16 * MiB - 1, 1) == [ObjectExtent(3, 4 * MiB - 1, 1, 0)]
    # One period in, the next object set (objects 4..7) starts.
    assert map_extent(FANCY, 16 * MiB, 1) == [ObjectExtent(4, 0, 1, 0)]
    assert map_extent(FANCY, 16 * MiB + 3 * 64 * KiB + 5, 10) == [ObjectExtent(7, 5, 10, 0)]


def test_map_fancy_unaligned_range() -> None:
    assert map_extent(FANCY, 60 * KiB, 8 * KiB) == [
        ObjectExtent(0, 60 * KiB, 4 * KiB, 0),
        ObjectExtent(1, 0, 4 * KiB, 4 * KiB),
    ]


def test_map_count_one_merges_units_of_an_object() -> None:
    layout = Layout.make(22, 64 * KiB, 1)
    assert map_extent(layout, 3 * MiB, 6 * MiB) == map_extent(DEFAULT, 3 * MiB, 6 * MiB)


def test_map_negative_arguments() -> None:
    with pytest.raises(errors.InvalidArgument):
        map_extent(DEFAULT, -1, 10)
    with pytest.raises(errors.InvalidArgument):
        map_extent(DEFAULT, 0, -10)


def test_map_matches_byte_reference_on_small_layout() -> None:
    layout = Layout.make(13, 4096, 3)  # 8 KiB objects, 2 units each, sets of 3
    size = 3 * layout.period + 4096
    for ext in map_extent(layout, 0, size):
        for delta in (0, ext.length - 1):
            image = ext.buffer_offset + delta
            assert reference_locate(layout, image) == (ext.objectno, ext.offset + delta)


# --------------------------------------------------------------- object_count


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0, 0),
        (1, 1),
        (4 * MiB - 1, 1),
        (4 * MiB, 1),
        (4 * MiB + 1, 2),
        (10 * 4 * MiB, 10),
        (10 * 4 * MiB + 1, 11),
    ],
)
def test_object_count_default(size: int, expected: int) -> None:
    assert object_count(DEFAULT, size) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0, 0),
        (1, 1),
        (64 * KiB, 1),
        (64 * KiB + 1, 2),
        (192 * KiB + 1, 4),
        (256 * KiB, 4),
        (256 * KiB + 1, 4),  # a second row touches no new object
        (16 * MiB, 4),  # exactly one period
        (16 * MiB + 1, 5),
        (16 * MiB + 64 * KiB + 1, 6),
        (32 * MiB, 8),
    ],
)
def test_object_count_fancy(size: int, expected: int) -> None:
    assert object_count(FANCY, size) == expected


def test_object_count_negative() -> None:
    with pytest.raises(errors.InvalidArgument):
        object_count(DEFAULT, -1)


def test_object_count_1tib() -> None:
    assert object_count(DEFAULT, 1 << 40) == 262144


@settings(max_examples=300)
@given(
    order=st.integers(12, 16),
    su_shift=st.integers(0, 4),
    count=st.integers(1, 5),
    size=st.integers(0, 1 << 22),
)
def test_object_count_is_highest_object_plus_one(
    order: int, su_shift: int, count: int, size: int
) -> None:
    su = max(4096, (1 << order) >> su_shift)
    layout = Layout.make(order, su, count)
    expected = 0 if size == 0 else 1 + max(e.objectno for e in map_extent(layout, 0, size))
    assert object_count(layout, size) == expected


# ------------------------------------------------------------ object_to_image


def test_object_to_image_default() -> None:
    assert object_to_image(DEFAULT, 3, 0, 4 * MiB) == [(12 * MiB, 4 * MiB)]
    assert object_to_image(DEFAULT, 3, 100, 50) == [(12 * MiB + 100, 50)]
    assert object_to_image(DEFAULT, 0, 0, 0) == []


def test_object_to_image_fancy() -> None:
    assert object_to_image(FANCY, 1, 0, 128 * KiB) == [(64 * KiB, 64 * KiB), (320 * KiB, 64 * KiB)]
    assert object_to_image(FANCY, 5, 10, 5) == [(16 * MiB + 64 * KiB + 10, 5)]


def test_object_to_image_rejects_bad_ranges() -> None:
    with pytest.raises(errors.InvalidArgument):
        object_to_image(DEFAULT, -1, 0, 1)
    with pytest.raises(errors.InvalidArgument):
        object_to_image(DEFAULT, 0, -1, 1)
    with pytest.raises(errors.InvalidArgument):
        object_to_image(DEFAULT, 0, 0, -1)
    with pytest.raises(errors.InvalidArgument, match="object size"):
        object_to_image(DEFAULT, 0, 4 * MiB - 1, 2)


def test_object_image_extent_default_is_single_range() -> None:
    assert object_image_extent(DEFAULT, 0) == [(0, 4 * MiB)]
    assert object_image_extent(DEFAULT, 7) == [(28 * MiB, 4 * MiB)]


def test_object_image_extent_fancy_lists_every_unit() -> None:
    ranges = object_image_extent(FANCY, 6)
    assert len(ranges) == 64
    assert ranges[0] == (16 * MiB + 2 * 64 * KiB, 64 * KiB)
    assert ranges[1] == (16 * MiB + 6 * 64 * KiB, 64 * KiB)
    assert all(n == 64 * KiB for _, n in ranges)
    assert sum(n for _, n in ranges) == FANCY.object_size


def test_object_image_extent_clipped_to_image_size() -> None:
    assert object_image_extent(DEFAULT, 1, image_size=5 * MiB) == [(4 * MiB, 1 * MiB)]
    assert object_image_extent(DEFAULT, 2, image_size=5 * MiB) == []
    assert object_image_extent(FANCY, 0, image_size=64 * KiB + 1) == [(0, 64 * KiB)]
    assert object_image_extent(FANCY, 1, image_size=64 * KiB + 1) == [(64 * KiB, 1)]
    assert object_image_extent(FANCY, 0, image_size=256 * KiB + 10) == [
        (0, 64 * KiB),
        (256 * KiB, 10),
    ]
    with pytest.raises(errors.InvalidArgument):
        object_image_extent(DEFAULT, 0, image_size=-1)


def test_every_image_byte_belongs_to_exactly_one_object_range() -> None:
    layout = Layout.make(13, 4096, 3)
    size = 2 * layout.period
    covered: list[tuple[int, int]] = []
    for objectno in range(object_count(layout, size)):
        covered += object_image_extent(layout, objectno, image_size=size)
    covered.sort()
    pos = 0
    for off, n in covered:
        assert off == pos
        pos += n
    assert pos == size


# ------------------------------------------------------------ round trip


layouts = st.sampled_from(
    [
        DEFAULT,
        FANCY,
        Layout.make(22, 64 * KiB, 1),
        Layout.make(12),
        Layout.make(16, 4096, 7),
        Layout.make(25, 1 * MiB, 3),
    ]
)


@settings(max_examples=400)
@given(layout=layouts, data=st.data())
def test_map_then_inverse_round_trip(layout: Layout, data: st.DataObject) -> None:
    span = 3 * layout.period
    offset = data.draw(st.integers(0, span), label="offset")
    length = data.draw(st.integers(0, min(span, 4 * MiB)), label="length")
    pieces = map_extent(layout, offset, length)
    # Pieces tile the caller's buffer in order, without gaps or overlaps.
    pos = 0
    for piece in pieces:
        assert piece.length > 0
        assert piece.buffer_offset == pos
        assert piece.offset >= 0
        assert piece.offset + piece.length <= layout.object_size
        pos += piece.length
    assert pos == length
    # Each piece maps back to exactly the image bytes it came from.
    for piece in pieces:
        back = object_to_image(layout, piece.objectno, piece.offset, piece.length)
        assert back == [(offset + piece.buffer_offset, piece.length)]
    # No two pieces share object bytes.
    by_object: dict[int, list[tuple[int, int]]] = {}
    for piece in pieces:
        by_object.setdefault(piece.objectno, []).append((piece.offset, piece.length))
    for ranges in by_object.values():
        ranges.sort()
        for (a_off, a_len), (b_off, _) in itertools.pairwise(ranges):
            assert a_off + a_len <= b_off


@settings(max_examples=300)
@given(layout=layouts, data=st.data())
def test_inverse_then_map_round_trip(layout: Layout, data: st.DataObject) -> None:
    objectno = data.draw(st.integers(0, 4 * layout.stripe_count), label="objectno")
    offset = data.draw(st.integers(0, layout.object_size), label="offset")
    length = data.draw(st.integers(0, layout.object_size - offset), label="length")
    image_pieces = object_to_image(layout, objectno, offset, length)
    assert sum(n for _, n in image_pieces) == length
    pos = offset
    for img_off, n in image_pieces:
        assert map_extent(layout, img_off, n) == [ObjectExtent(objectno, pos, n, 0)]
        pos += n


@settings(max_examples=200)
@given(
    layout=layouts,
    image_offset=st.integers(0, 1 << 40),
)
def test_locate_matches_reference(layout: Layout, image_offset: int) -> None:
    (ext,) = map_extent(layout, image_offset, 1)
    assert (ext.objectno, ext.offset) == reference_locate(layout, image_offset)


@settings(max_examples=200, deadline=None)
@given(layout=st.sampled_from([DEFAULT, FANCY, Layout.make(16, 4 * KiB, 3), Layout.make(20)]),
       offset=st.integers(0, 64 * MiB), length=st.integers(0, 32 * MiB))
def test_object_range_holds_every_object_of_the_range(layout: Layout, offset: int,
                                                      length: int) -> None:
    """``object_range`` (what a windowed diff scans) covers every object ``map_extent``
    puts bytes of the range in, and is exact without striping."""
    touched = {e.objectno for e in map_extent(layout, offset, length)}
    near = object_range(layout, offset, length)
    assert touched <= set(near)
    if layout.stripe_count == 1:
        assert touched == set(near)
