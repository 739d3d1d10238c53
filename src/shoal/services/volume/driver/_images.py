"""Volumes from Glance images: which image locations can be cloned, and streaming
downloaded image data into a new volume."""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from shoal import errors
from shoal.rbd import RbdImage, is_zero, rechunk
from shoal.services.rbd_location import BadStoreUri, parse_location
from shoal.services.volume.driver._backend import Backend, Pool
from shoal.services.volume.driver._chain import ParentRef
from shoal.services.volume.driver._errors import ImageUnacceptable

__all__ = ["CloneRefusal", "Cloneable", "NotCloned", "find_cloneable", "geometry",
           "write_stream"]

log = logging.getLogger("shoal.services.volume")

GiB = 1 << 30


@dataclass(frozen=True)
class Cloneable:
    """A snapshot a volume can be cloned from: where, its size (bytes), its stripe unit."""

    parent: ParentRef
    size: int
    stripe_unit: int


class CloneRefusal(enum.Enum):
    """Why an image could not be cloned copy-on-write (Cinder's ``_is_cloneable`` reasons).

    The values are stable: the volume service keys its user messages on them.
    """

    #: The image's ``disk_format`` is not ``raw`` (only raw images clone).
    NOT_RAW = "not_raw"
    #: The image service shows no location (Glance's ``show_image_direct_url`` is off).
    NO_LOCATION = "no_location"
    #: Every RBD location names another cluster's fsid.
    OTHER_CLUSTER = "other_cluster"
    #: The driver's cephx user may not read the image's pool.
    NO_ACCESS = "no_access"
    #: No image (or snapshot) at the location, or a location outside the RBD store
    #: (another store, a legacy ``rbd://IMAGE`` location, a malformed URL).
    NOT_IN_STORE = "not_in_store"


@dataclass(frozen=True)
class NotCloned:
    """An image that was not cloned, and why; false in a boolean context (so ``if
    driver.clone_image(...)`` reads as before). ``detail`` is for logs (it names the
    location and the error), ``location`` the URL it is about (None: none tried)."""

    reason: CloneRefusal
    detail: str
    location: str | None = None

    def __bool__(self) -> Literal[False]:
        return False


def geometry(pool: Pool, image: str, snap: str) -> tuple[int, int]:
    """(size in bytes, stripe unit in bytes) of ``image@snap`` in ``pool``.

    Raises:
        lib.ImageNotFound: no such image or snapshot.
    """
    with pool.open(image, snapshot=snap) as img:
        return int(img.size()), int(img.stripe_unit())


def find_cloneable(backend: Backend, url: str) -> Cloneable | NotCloned:
    """The snapshot at location ``url`` if a volume can be cloned from it (Cinder's
    ``_is_cloneable``): ``rbd://FSID/POOL/IMAGE/SNAP`` (four non-empty parts) with
    this cluster's fsid (compared case-insensitively), whose ``POOL/IMAGE@SNAP``
    opens read-only as the driver's user. Otherwise why not (also logged at debug):
    ``NOT_IN_STORE`` (not such a URL, or nothing there), ``OTHER_CLUSTER``,
    ``NO_ACCESS`` (the user's caps refuse the pool)."""
    refusal = _refusal(backend, url)
    if isinstance(refusal, NotCloned):
        log.debug("location %s is not cloneable: %s", url, refusal.detail)
    return refusal


def _refusal(backend: Backend, url: str) -> Cloneable | NotCloned:
    try:
        loc = parse_location(url)
    except BadStoreUri as exc:
        return NotCloned(CloneRefusal.NOT_IN_STORE, f"not an RBD location: {exc}", url)
    if loc.fsid is None or loc.pool is None or loc.snapshot is None:
        return NotCloned(CloneRefusal.NOT_IN_STORE, "no fsid, pool and snapshot", url)
    if loc.fsid.lower() != backend.fsid:
        return NotCloned(CloneRefusal.OTHER_CLUSTER,
                         f"on cluster {loc.fsid}, not {backend.fsid}", url)
    try:
        with backend.pool(loc.pool) as pool:
            size, stripe_unit = geometry(pool, loc.image, loc.snapshot)
    except errors.PermissionDenied as exc:
        return NotCloned(CloneRefusal.NO_ACCESS, str(exc), url)
    except errors.NotFound as exc:
        return NotCloned(CloneRefusal.NOT_IN_STORE, str(exc), url)
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
