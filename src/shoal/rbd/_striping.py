"""RBD data striping: where each image byte lives among the data objects.

An image is cut into objects of ``object_size = 1 << order`` bytes. With the
default layout, object ``n`` simply holds image bytes ``[n * object_size,
(n + 1) * object_size)``. With "fancy" striping (RBD feature ``striping v2``),
the image is cut into *stripe units* of ``stripe_unit`` bytes that are dealt
round-robin over a set of ``stripe_count`` objects::

    stripe unit index (block)    0  1  2  3 | 4  5  6  7 | ...
    object of the set            0  1  2  3 | 0  1  2  3 | ...

When every object of the set is full (``object_size / stripe_unit`` rows),
the next *object set* starts with objects ``stripe_count .. 2*stripe_count-1``.
One object set covers a *period* of ``object_size * stripe_count`` image bytes.

The arithmetic is the one of Ceph's file layouts (``Striper::file_to_extents``,
``Striper::extent_to_file``, ``Striper::get_num_objects``); all sizes and offsets
here are in bytes and all object numbers are zero-based.
"""

from __future__ import annotations

from dataclasses import dataclass

from shoal import errors, limits

__all__ = [
    "STRIPE_COUNT_MAX",
    "STRIPE_UNIT_MIN",
    "Layout",
    "ObjectExtent",
    "map_extent",
    "object_count",
    "object_image_extent",
    "object_to_image",
]

#: Smallest stripe unit accepted (bytes). librbd accepts any factor of the
#: object size; shoal refuses units below one 4 KiB block so that a single
#: request can never explode into millions of pieces.
STRIPE_UNIT_MIN = 4096
#: Ceph keeps ``stripe_count`` in a 32-bit field of ``file_layout_t``.
STRIPE_COUNT_MAX = (1 << 32) - 1


@dataclass(frozen=True, slots=True)
class Layout:
    """How an image is striped over its data objects.

    Attributes:
        order: log2 of the object size, ``limits.rbd_order_min`` ..
            ``limits.rbd_order_max`` (12..25, i.e. 4 KiB .. 32 MiB objects).
        stripe_unit: bytes written to one object before moving on to the next
            object of the set; a power of two dividing the object size.
        stripe_count: number of objects in an object set, at least 1.

    Build layouts with :meth:`make`, which also accepts librbd's "0 means
    default" convention. Direct construction validates the normalised values.
    """

    order: int
    stripe_unit: int
    stripe_count: int

    def __post_init__(self) -> None:
        _check_order(self.order)
        _check_stripe_unit(self.order, self.stripe_unit)
        _check_stripe_count(self.stripe_count)

    @classmethod
    def make(cls, order: int, stripe_unit: int = 0, stripe_count: int = 0) -> Layout:
        """Validate and normalise a layout the way ``rbd create`` does.

        ``stripe_unit == 0`` and ``stripe_count == 0`` together select the
        default layout (one object-sized stripe unit, one object per set).
        As in librbd (``validate_striping``), giving only one of the two is
        an error, and the stripe unit must be a factor of the object size
        (so at most the object size).

        Raises:
            errors.InvalidArgument: order out of range, only one of unit and
                count given, unit not a factor of the object size or below
                :data:`STRIPE_UNIT_MIN`, count above :data:`STRIPE_COUNT_MAX`.
        """
        _check_order(order)
        if stripe_unit < 0 or stripe_count < 0:
            raise errors.InvalidArgument(
                f"stripe unit and count must not be negative, got {stripe_unit} and {stripe_count}"
            )
        if (stripe_unit == 0) != (stripe_count == 0):
            raise errors.InvalidArgument(
                "must specify both (or neither) of stripe unit and stripe count, got "
                f"stripe_unit={stripe_unit} stripe_count={stripe_count}"
            )
        if stripe_unit == 0:
            return cls(order, 1 << order, 1)
        return cls(order, stripe_unit, stripe_count)

    @property
    def object_size(self) -> int:
        """Bytes per data object (``1 << order``)."""
        return 1 << self.order

    @property
    def is_default(self) -> bool:
        """True for the plain layout: one object-sized unit, one object per set."""
        return self.stripe_unit == self.object_size and self.stripe_count == 1

    @property
    def stripes_per_object(self) -> int:
        """Stripe units that fit in one object (rows of an object set)."""
        return self.object_size // self.stripe_unit

    @property
    def period(self) -> int:
        """Image bytes covered by one object set (``object_size * stripe_count``)."""
        return self.object_size * self.stripe_count


@dataclass(frozen=True, slots=True)
class ObjectExtent:
    """One contiguous piece of an image range, as it lands in one object.

    Attributes:
        objectno: data object number (zero-based).
        offset: byte offset inside the object.
        length: bytes (> 0).
        buffer_offset: where the piece starts within the caller's buffer, i.e.
            its image offset minus the start of the mapped range.
    """

    objectno: int
    offset: int
    length: int
    buffer_offset: int


def map_extent(layout: Layout, offset: int, length: int) -> list[ObjectExtent]:
    """Split the image range ``[offset, offset + length)`` into object pieces.

    Pieces come in image order and never overlap; consecutive pieces that
    continue the same object contiguously are merged (with ``stripe_count ==
    1`` an object's whole share of the range is one piece). An empty range
    gives ``[]``. The range is not checked against any image size.

    Raises:
        errors.InvalidArgument: negative offset or length.
    """
    _check_range("image", offset, length)
    su = _unit(layout)
    out: list[ObjectExtent] = []
    pos, end = offset, offset + length
    while pos < end:
        objectno, obj_off = _locate(layout, pos)
        piece = min(end - pos, su - pos % su)
        last = out[-1] if out else None
        if last is not None and last.objectno == objectno and last.offset + last.length == obj_off:
            out[-1] = ObjectExtent(objectno, last.offset, last.length + piece, last.buffer_offset)
        else:
            out.append(ObjectExtent(objectno, obj_off, piece, pos - offset))
        pos += piece
    return out


def object_count(layout: Layout, image_size: int) -> int:
    """Number of data objects an image of ``image_size`` bytes spans.

    This is one more than the highest object number holding any image byte
    (0 for an empty image). With fancy striping a partial last object set
    only uses the objects its stripe units reach (``Striper::get_num_objects``).

    Raises:
        errors.InvalidArgument: negative size.
    """
    if image_size < 0:
        raise errors.InvalidArgument(f"image size must not be negative, got {image_size}")
    periods, rest = divmod(image_size, layout.period)
    full = periods * layout.stripe_count
    if rest == 0:
        return full
    row = layout.stripe_unit * layout.stripe_count
    if rest >= row:
        return full + layout.stripe_count
    return full + -(-rest // layout.stripe_unit)


def object_to_image(
    layout: Layout, objectno: int, offset: int, length: int
) -> list[tuple[int, int]]:
    """Map bytes ``[offset, offset + length)`` of one object back to the image.

    Returns ``(image_offset, length)`` pieces in object order (which is also
    image order); pieces that are contiguous in the image are merged, so the
    default layout always gives a single piece. An empty range gives ``[]``.

    Raises:
        errors.InvalidArgument: negative object number, offset or length, or
            a range that does not fit inside one object.
    """
    if objectno < 0:
        raise errors.InvalidArgument(f"object number must not be negative, got {objectno}")
    _check_range("object", offset, length)
    if offset + length > layout.object_size:
        raise errors.InvalidArgument(
            f"object range {offset}~{length} exceeds the object size {layout.object_size}"
        )
    su, count = _unit(layout), layout.stripe_count
    objectset, stripepos = divmod(objectno, count)
    first_row = objectset * (layout.object_size // su)
    out: list[tuple[int, int]] = []
    pos, end = offset, offset + length
    while pos < end:
        row, in_unit = divmod(pos, su)
        blockno = (first_row + row) * count + stripepos
        img_off = blockno * su + in_unit
        piece = min(end - pos, su - in_unit)
        if out and out[-1][0] + out[-1][1] == img_off:
            out[-1] = (out[-1][0], out[-1][1] + piece)
        else:
            out.append((img_off, piece))
        pos += piece
    return out


def object_image_extent(
    layout: Layout, objectno: int, image_size: int | None = None
) -> list[tuple[int, int]]:
    """The image ranges held by object ``objectno``, as ``(offset, length)``.

    The default layout gives exactly one range, ``(objectno * object_size,
    object_size)``; fancy striping gives one range per stripe unit of the
    object, in object order. With ``image_size``, ranges are clipped to the
    image end and ranges entirely past it are dropped (possibly leaving
    ``[]``).

    Raises:
        errors.InvalidArgument: negative object number or image size.
    """
    ranges = object_to_image(layout, objectno, 0, layout.object_size)
    if image_size is None:
        return ranges
    if image_size < 0:
        raise errors.InvalidArgument(f"image size must not be negative, got {image_size}")
    return [(off, min(n, image_size - off)) for off, n in ranges if off < image_size]


def object_range(layout: Layout, offset: int, length: int) -> range:
    """The object numbers that may hold bytes of image range ``[offset, offset+length)``:
    those of the object sets it crosses (exact when ``stripe_count`` is 1, a superset
    otherwise). Empty for ``length`` 0."""
    if length <= 0:
        return range(0)
    set_bytes = layout.object_size * layout.stripe_count
    first, last = offset // set_bytes, (offset + length - 1) // set_bytes
    return range(first * layout.stripe_count, (last + 1) * layout.stripe_count)


def _unit(layout: Layout) -> int:
    """The stripe unit to compute with.

    With one object per set, consecutive units of an object are consecutive
    in the image too, so any unit maps exactly like an object-sized one; using
    the object size then keeps the number of loop steps per object at one.
    """
    return layout.object_size if layout.stripe_count == 1 else layout.stripe_unit


def _locate(layout: Layout, image_offset: int) -> tuple[int, int]:
    """(object number, offset inside it) holding image byte ``image_offset``."""
    su, count = _unit(layout), layout.stripe_count
    blockno, in_unit = divmod(image_offset, su)
    stripeno, stripepos = divmod(blockno, count)
    objectset, row = divmod(stripeno, layout.object_size // su)
    return objectset * count + stripepos, row * su + in_unit


def _check_range(what: str, offset: int, length: int) -> None:
    if offset < 0 or length < 0:
        raise errors.InvalidArgument(
            f"{what} offset and length must not be negative, got {offset}~{length}"
        )


def _check_order(order: int) -> None:
    if not limits.rbd_order_min <= order <= limits.rbd_order_max:
        raise errors.InvalidArgument(
            f"order must be in the range [{limits.rbd_order_min}, {limits.rbd_order_max}], "
            f"got {order}"
        )


def _check_stripe_unit(order: int, stripe_unit: int) -> None:
    object_size = 1 << order
    if stripe_unit <= 0 or stripe_unit > object_size or object_size % stripe_unit:
        raise errors.InvalidArgument(
            f"stripe unit {stripe_unit} is not a factor of the object size {object_size}"
        )
    if stripe_unit < STRIPE_UNIT_MIN:
        raise errors.InvalidArgument(
            f"stripe unit must be at least {STRIPE_UNIT_MIN} bytes, got {stripe_unit}"
        )


def _check_stripe_count(stripe_count: int) -> None:
    if not 1 <= stripe_count <= STRIPE_COUNT_MAX:
        raise errors.InvalidArgument(
            f"stripe count must be in the range [1, {STRIPE_COUNT_MAX}], got {stripe_count}"
        )
