"""Volumes from Glance images: which image locations can be cloned, and streaming
downloaded image data into a new volume."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from shoal import errors
from shoal.rbd import RbdImage, is_zero, rechunk
from shoal.services.rbd_location import BadStoreUri, parse_location
from shoal.services.volume.driver._backend import Backend, Pool
from shoal.services.volume.driver._chain import ParentRef
from shoal.services.volume.driver._errors import ImageUnacceptable

__all__ = ["Cloneable", "find_cloneable", "geometry", "write_stream"]

log = logging.getLogger("shoal.services.volume")

GiB = 1 << 30


@dataclass(frozen=True)
class Cloneable:
    """A snapshot a volume can be cloned from: where, its size (bytes), its stripe unit."""

    parent: ParentRef
    size: int
    stripe_unit: int


def geometry(pool: Pool, image: str, snap: str) -> tuple[int, int]:
    """(size in bytes, stripe unit in bytes) of ``image@snap`` in ``pool``.

    Raises:
        lib.ImageNotFound: no such image or snapshot.
    """
    with pool.open(image, snapshot=snap) as img:
        return int(img.size()), int(img.stripe_unit())


def find_cloneable(backend: Backend, url: str) -> Cloneable | None:
    """The snapshot at location ``url`` if a volume can be cloned from it (Cinder's
    ``_is_cloneable``): ``rbd://FSID/POOL/IMAGE/SNAP`` (four non-empty parts) with
    this cluster's fsid (compared case-insensitively), whose ``POOL/IMAGE@SNAP``
    opens read-only as the driver's user. None otherwise (the reason is logged)."""
    try:
        loc = parse_location(url)
    except BadStoreUri as exc:
        log.debug("location %r is not cloneable: %s", url, exc)
        return None
    if loc.fsid is None or loc.pool is None or loc.snapshot is None:
        log.debug("location %s has no fsid, pool and snapshot: not cloneable", url)
        return None
    if loc.fsid.lower() != backend.fsid:
        log.debug("location %s is on another cluster: not cloneable", url)
        return None
    try:
        with backend.pool(loc.pool) as pool:
            size, stripe_unit = geometry(pool, loc.image, loc.snapshot)
    except (errors.NotFound, errors.PermissionDenied) as exc:
        log.debug("location %s is not cloneable: %s", url, exc)
        return None
    return Cloneable(ParentRef(loc.pool, loc.image, loc.snapshot), size, stripe_unit)


def write_stream(img: RbdImage, data: Iterable[bytes], size: int, chunk_bytes: int) -> int:
    """Write ``data`` from offset 0 into a new (all-zero) image ``img`` of ``size``
    bytes in ``chunk_bytes`` chunks, skipping all-zero chunks; flush; return the
    bytes received.

    Raises:
        ImageUnacceptable: the data runs past ``size``.
    """
    offset = 0
    for chunk in rechunk(data, chunk_bytes):
        end = offset + len(chunk)
        if end > size:
            raise ImageUnacceptable(f"the image data is larger than the volume "
                                    f"({size / GiB:.2f} GiB)")
        if not is_zero(chunk):
            img.write(chunk, offset)
        offset = end
    img.flush()
    return offset
