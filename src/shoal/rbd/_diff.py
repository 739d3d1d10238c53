"""``diff_iterate``: which extents changed between a snapshot and the image.

Fast path (``fast-diff`` with valid object maps): the object maps of the end
point and of every snapshot after ``from_snapshot`` say which objects may have
changed (a map marks EXISTS what was written in the interval it closes), so the
cost follows the number of objects that exist, not the image size. The objects
found are then compared block by block (4 KiB) to report exact extents.

Slow path (no usable object map): every object in the range is examined.

Only the objects holding bytes of the asked range are read (a caller walking a large image
window by window reads each object once).
"""

from __future__ import annotations

import re

from shoal import errors
from shoal.objstore import SNAP_HEAD, IoCtx
from shoal.rbd._blocks import is_zero
from shoal.rbd._engine import EngineImage
from shoal.rbd._features import FEATURE_FAST_DIFF
from shoal.rbd._interface import DiffCallback
from shoal.rbd._objectmap import ObjectMap, ObjectState
from shoal.rbd._striping import object_count, object_range, object_to_image

__all__ = ["changed_runs", "diff_iterate"]

BLOCK = 4096
Extent = tuple[int, int, bool]


def diff_iterate(
    img: EngineImage,
    offset: int,
    length: int,
    from_snapshot: str | None,
    cb: DiffCallback,
    include_parent: bool,
    whole_object: bool,
) -> None:
    length = img._clip(offset, length)
    end = offset + length
    from_id = None
    if from_snapshot is not None:
        from_id = int(img._snap_by_name(from_snapshot)["id"])
        if img.snapshot_id() != SNAP_HEAD and from_id >= img.snapshot_id():
            raise errors.InvalidArgument("from_snapshot must be older than the open snapshot")
    changes = _object_changes(img, from_id, offset, end)
    extents: list[Extent] = []
    for objectno, exists in sorted(changes.items()):
        if _touches(img, objectno, offset, end):  # only the objects the range covers are read
            extents.extend(_object_extents(img, objectno, exists, from_id, whole_object))
    if include_parent and from_id is None:
        extents.extend(_parent_extents(img, changes, whole_object, offset, end))
    layout = img.layout
    unit = layout.stripe_unit if layout.stripe_count > 1 else layout.object_size
    for off, n, exists in _split(_merge(_clip(extents, offset, end)), unit):
        cb(off, n, exists)


def _object_changes(img: EngineImage, from_id: int | None, lo: int, hi: int
                    ) -> dict[int, bool]:
    """objectno → exists-at-end, for the objects of ``[lo, hi)`` that may differ from
    ``from_id`` (only the object sets the range crosses are looked at: a caller walking
    a large image window by window scans each map entry once)."""
    end_id = img.snapshot_id()
    count = object_count(img.layout, img.size())
    near = object_range(img.layout, lo, hi - lo)
    first, stop = near.start, min(near.stop, count)
    maps = _maps(img, from_id, end_id) if img.features() & FEATURE_FAST_DIFF else None
    if maps is None:
        return _slow_changes(img, from_id, [n for n in range(first, stop)
                                            if _touches(img, n, lo, hi)])
    from_map, interval_maps, end_map = maps
    out: dict[int, bool] = {}
    for objectno, state in end_map.iter_present(first, min(stop, end_map.count)):
        if state == ObjectState.PENDING:
            continue
        if (
            from_map is None
            or not _exists(from_map, objectno)
            or any(_dirty(m, objectno) for m in interval_maps)
        ):
            out[objectno] = True
    if from_map is not None:
        for objectno, _state in from_map.iter_present(first, min(stop, from_map.count)):
            if objectno not in out and not _exists(end_map, objectno):
                out[objectno] = False
    return out


def _dirty(m: ObjectMap, objectno: int) -> bool:
    """Written during the interval the map closes."""
    return objectno < m.count and m[objectno] == ObjectState.EXISTS


def _exists(m: ObjectMap, objectno: int) -> bool:
    return objectno < m.count and m[objectno] in (ObjectState.EXISTS, ObjectState.EXISTS_CLEAN)


def _maps(
    img: EngineImage, from_id: int | None, end_id: int
) -> tuple[ObjectMap | None, list[ObjectMap], ObjectMap] | None:
    end_map = img._snap_object_map(end_id)
    if end_map is None:
        return None
    from_map = None
    if from_id is not None:
        from_map = img._snap_object_map(from_id)
        if from_map is None:
            return None
    interval: list[ObjectMap] = []
    for snap_id in sorted(img._snapshots()):
        if (from_id is None or snap_id > from_id) and (end_id == SNAP_HEAD or snap_id < end_id):
            m = img._snap_object_map(snap_id)
            if m is None:
                return None
            interval.append(m)
    interval.append(end_map)
    return from_map, interval, end_map


def _slow_changes(img: EngineImage, from_id: int | None, objects: list[int]
                  ) -> dict[int, bool]:
    out: dict[int, bool] = {}
    for objectno in objects:
        at_end = _read_object(img, objectno, img.snapshot_id())
        at_from = _read_object(img, objectno, from_id) if from_id is not None else None
        if at_end is not None and at_end != at_from:
            out[objectno] = True
        elif at_end is None and at_from is not None:
            out[objectno] = False
    return out


def _read_object(img: EngineImage, objectno: int, snap_id: int) -> bytes | None:
    io: IoCtx = img._md.dup()
    io.set_read(snap_id)
    try:
        return io.read(img._oid(objectno), 0)
    except errors.ObjectNotFound:
        return None


def _image_ranges(img: EngineImage, objectno: int) -> list[tuple[int, int, int]]:
    """(object offset, image offset, length) pieces of one object."""
    return img._object_image_ranges(objectno, img.size())


def _object_extents(
    img: EngineImage, objectno: int, exists: bool, from_id: int | None, whole_object: bool
) -> list[Extent]:
    pieces = _image_ranges(img, objectno)
    if whole_object or not exists:
        return [(img_off, n, exists) for _o, img_off, n in pieces]
    hint = _may_differ(img, objectno, from_id) if from_id is not None else None
    if hint is not None and from_id is not None:
        return _hinted_extents(img, objectno, from_id, pieces, hint)
    new = _read_object(img, objectno, img.snapshot_id()) or b""
    old = (_read_object(img, objectno, from_id) or b"") if from_id is not None else None
    return [(img_off + lo, hi - lo, True)
            for obj_off, img_off, n in pieces
            for lo, hi in changed_runs(new, old, obj_off, n)]


def _hinted_extents(img: EngineImage, objectno: int, from_id: int,
                    pieces: list[tuple[int, int, int]], hint: list[tuple[int, int]]
                    ) -> list[Extent]:
    """As :func:`_object_extents`, reading only the object ranges ``hint`` says may differ
    (widened to the 4 KiB blocks of each piece, so the extents are the same)."""
    oid = img._oid(objectno)
    new_io: IoCtx = img._md.dup()
    new_io.set_read(img.snapshot_id())
    old_io: IoCtx = img._md.dup()
    old_io.set_read(from_id)
    out: list[Extent] = []
    for obj_off, img_off, n in pieces:
        for lo, hi in hint:
            a = obj_off + max(0, lo - obj_off) // BLOCK * BLOCK
            b = min(obj_off + n, hi)
            if a >= b:
                continue
            new = _read_range(new_io, oid, a, b - a)
            old = _read_range(old_io, oid, a, b - a)
            out.extend((img_off + a - obj_off + r_lo, r_hi - r_lo, True)
                       for r_lo, r_hi in changed_runs(new, old, 0, b - a))
    return out


def _read_range(io: IoCtx, oid: str, offset: int, length: int) -> bytes:
    """``length`` bytes of ``oid`` at ``offset`` (short past its end; empty if absent)."""
    try:
        return io.read(oid, length, offset)
    except errors.ObjectNotFound:
        return b""


def _may_differ(img: EngineImage, objectno: int, from_id: int) -> list[tuple[int, int]] | None:
    """Object byte ranges ``[lo, hi)`` outside of which the object at the open snapshot is
    known to equal it at ``from_id``, from the clones' ``overlap`` (RADOS
    ``clone_overlap``: what a clone shares with the next newer version); None when the
    store does not say (then the whole object is compared)."""
    io: IoCtx = img._md.dup()
    try:
        snapset = io.list_snaps(img._oid(objectno))
    except errors.ObjectNotFound:
        return None
    end_id = img.snapshot_id()
    newer = [c for c in snapset.clones if c.id >= from_id]
    if not newer or from_id not in newer[0].snaps:
        return None  # not read from a clone at from_id
    if end_id != SNAP_HEAD and end_id <= snapset.seq:  # the end is read from a clone too
        end = next((c for c in newer if c.id >= end_id), None)
        if end is None or end_id not in end.snaps:
            return None
        newer = [c for c in newer if c.id < end.id]
    chain = newer
    if not chain:
        return None
    same: list[tuple[int, int]] | None = None
    for clone in chain:
        if clone.overlap is None:
            return None
        ranges = [(off, off + n) for off, n in clone.overlap]
        same = ranges if same is None else _intersect(same, ranges)
    return _complement(same or [], img.layout.object_size)


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The intersection of two ascending lists of disjoint ``[lo, hi)`` ranges."""
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _complement(ranges: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """``[0, size)`` less the ascending disjoint ``ranges``."""
    out: list[tuple[int, int]] = []
    pos = 0
    for lo, hi in ranges:
        if lo > pos:
            out.append((pos, min(lo, size)))
        pos = max(pos, hi)
    if pos < size:
        out.append((pos, size))
    return [(lo, hi) for lo, hi in out if lo < hi]


def _window(data: bytes, start: int, n: int) -> bytes:
    """``data[start:start+n]``, zero-padded to ``n`` bytes (an object reads as zeros past
    its end). No copy when the window is all of ``data``."""
    piece = data[start:start + n]
    return piece if len(piece) == n else piece + bytes(n - len(piece))


def changed_runs(new: bytes, old: bytes | None, start: int, n: int) -> list[tuple[int, int]]:
    """The 4 KiB blocks of ``new[start:start+n]`` that differ from ``old`` (None: from
    zeros), as merged ``[lo, hi)`` byte ranges relative to ``start`` (the last block may be
    short: ``hi <= n``). Bytes past either object's end read as zeros.

    Cost: the C-level compares of bytes, not a Python step per block: a block whose first
    byte differs (from zero, or from ``old``'s) has changed; the rest (runs of candidates
    found with one regular expression) are compared a run at a time, halving a run only
    when it holds a change. Random data costs one strided slice; an object of which one
    block changed, about ``2 * log2(blocks)`` compares.
    """
    a = _window(new, start, n)
    b = None if old is None else _window(old, start, n)
    if b is not None and a == b:
        return []
    count = -(-n // BLOCK)
    if b is None:
        firsts = a[::BLOCK]
    else:
        firsts = (int.from_bytes(a[::BLOCK], "little")
                  ^ int.from_bytes(b[::BLOCK], "little")).to_bytes(count, "little")
    view = memoryview(a)

    def same(i: int, j: int) -> bool:
        lo, hi = i * BLOCK, min(j * BLOCK, n)
        return is_zero(view[lo:hi]) if b is None else a[lo:hi] == b[lo:hi]

    changed: list[tuple[int, int]] = []  # block index runs, in order

    def add(i: int, j: int) -> None:
        if changed and changed[-1][1] == i:
            changed[-1] = (changed[-1][0], j)
        else:
            changed.append((i, j))

    def resolve(i: int, j: int) -> None:
        if same(i, j):
            return
        if j - i == 1:
            add(i, j)
            return
        mid = (i + j) // 2
        resolve(i, mid)
        resolve(mid, j)

    pos = 0
    for match in _CANDIDATES.finditer(firsts):
        if match.start() > pos:
            add(pos, match.start())
        resolve(match.start(), match.end())
        pos = match.end()
    if pos < count:
        add(pos, count)
    return [(i * BLOCK, min(j * BLOCK, n)) for i, j in changed]


#: Runs of blocks whose first byte gives no verdict (zero, or equal to ``old``'s).
_CANDIDATES = re.compile(b"\x00+")


def _touches(img: EngineImage, objectno: int, lo: int, hi: int) -> bool:
    """Whether object ``objectno`` holds bytes of image range ``[lo, hi)``."""
    return any(img_off < hi and img_off + n > lo for _o, img_off, n in _image_ranges(img, objectno))


def _parent_extents(img: EngineImage, child: dict[int, bool], whole_object: bool, lo: int,
                    hi: int) -> list[Extent]:
    """The parent's data in ``[lo, hi)`` inside the overlap, where the clone has no object
    of its own."""
    spec = img.parent_spec()
    if spec is None or spec.overlap == 0:
        return []
    top = min(spec.overlap, img.size(), hi)
    if lo >= top:
        return []
    parent = img._parent_image(spec)
    found: list[Extent] = []

    def collect(off: int, n: int, exists: bool) -> None:
        if exists:
            found.append((off, n, True))

    parent.diff_iterate(lo, top - lo, None, collect, True, whole_object)
    own = _child_objects(img, child)
    out: list[Extent] = []
    for off, n, exists in found:
        for lo, hi in _subtract(off, off + n, own, img):
            out.append((lo, hi - lo, exists))
    return out


def _child_objects(img: EngineImage, changes: dict[int, bool]) -> set[int]:
    """Objects the clone holds itself (which hide the parent's data)."""
    own = {n for n, exists in changes.items() if exists}
    io: IoCtx = img._md.dup()
    io.set_read(img.snapshot_id())
    count = object_count(img.layout, img.size())
    prefix = img.block_name_prefix() + "."
    if img.snapshot_id() == SNAP_HEAD:
        cursor: str | None = None
        while True:
            page = io.list_objects(prefix, cursor, 1000)
            own.update(int(o[len(prefix):], 16) for o in page.names)
            cursor = page.cursor
            if cursor is None:
                return own
    for objectno in range(count):
        try:
            io.stat(img._oid(objectno))
            own.add(objectno)
        except errors.ObjectNotFound:
            pass
    return own


def _subtract(lo: int, hi: int, own: set[int], img: EngineImage) -> list[tuple[int, int]]:
    """Parts of image range [lo, hi) not stored in the clone's own objects."""
    covered: list[tuple[int, int]] = []
    for objectno in own:
        for img_off, n in object_to_image(img.layout, objectno, 0, img.layout.object_size):
            covered.append((img_off, img_off + n))
    covered.sort()
    out = []
    pos = lo
    for c_lo, c_hi in covered:
        if c_hi <= pos or c_lo >= hi:
            continue
        if c_lo > pos:
            out.append((pos, c_lo))
        pos = max(pos, c_hi)
    if pos < hi:
        out.append((pos, hi))
    return out


def _clip(extents: list[Extent], lo: int, hi: int) -> list[Extent]:
    out = []
    for off, n, exists in extents:
        a, b = max(off, lo), min(off + n, hi)
        if a < b:
            out.append((a, b - a, exists))
    return out


def _merge(extents: list[Extent]) -> list[Extent]:
    out: list[Extent] = []
    for off, n, exists in sorted(extents):
        if out and out[-1][2] == exists and out[-1][0] + out[-1][1] >= off:
            p_off, p_n, _ = out[-1]
            out[-1] = (p_off, max(p_off + p_n, off + n) - p_off, exists)
        else:
            out.append((off, n, exists))
    return out


def _split(extents: list[Extent], unit: int) -> list[Extent]:
    """Cut extents at every multiple of ``unit`` (bytes): as librbd calls back
    once per object, no extent spans two objects."""
    out: list[Extent] = []
    for off, n, exists in extents:
        end = off + n
        while off < end:
            cut = min(end, (off // unit + 1) * unit)
            out.append((off, cut - off, exists))
            off = cut
    return out
