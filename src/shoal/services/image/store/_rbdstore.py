"""The image store on RBD: glance_store's ``rbd`` driver, over shoal's RBD layer.

An image's data is an RBD image named after the image id in the store's pool
(``images``), with object size 2^order = the chunk size, and a protected
snapshot ``snap`` that volumes and instance disks are cloned from. Its
location is ``rbd://FSID/POOL/IMAGE/snap``. See :class:`RbdStore`.

Differences from glance_store 5.7's driver (deliberate fixes):

- the growth step of an upload of unknown size starts afresh for every upload;
- a failed upload, whatever stopped it (a size mismatch, a full pool, the
  client going away mid-stream), leaves no image behind;
- ``get`` honours ``offset`` and ``length`` (HTTP Range) and reads chunk-aligned;
- a location of another cluster (fsid) is not found rather than read or deleted
  in this one; a location whose snapshot is already gone still deletes the
  image (a retried delete finishes).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from shoal import errors, limits
from shoal.cluster import Session
from shoal.objstore import IoCtx
from shoal.rbd import (
    FEATURE_LAYERING,
    RbdImage,
    RbdLib,
    features_from_conf,
    is_zero,
    parse_features,
    rechunk,
)
from shoal.rbd.backend import rbd_lib_for
from shoal.services.image.store._digest import BackgroundDigests
from shoal.services.image.store._errors import (
    Duplicate,
    ImageTooLarge,
    InUseByStore,
    RangeNotSatisfiable,
    SizeMismatch,
    StorageFull,
    StoreAccessDenied,
    StoreNotFound,
    StoreUnavailable,
)
from shoal.services.rbd_location import StoreLocation, parse_location

__all__ = [
    "CHUNK_SIZE_MIB_DEFAULT",
    "CHUNK_SIZE_MIB_MAX",
    "GROW_STEP_BYTES_MAX",
    "IMAGE_SIZE_BYTES_MAX_DEFAULT",
    "SNAPSHOT_NAME",
    "AddResult",
    "ImageReader",
    "RbdStore",
    "configured_features",
]

log = logging.getLogger("shoal.services.image")

MiB = 1 << 20
GiB = 1 << 30
#: The snapshot every stored image gets, protected, for cloning.
SNAPSHOT_NAME = "snap"
#: ``rbd_store_chunk_size`` default (MiB).
CHUNK_SIZE_MIB_DEFAULT = 8
#: The largest chunk: the largest RBD object (order 25).
CHUNK_SIZE_MIB_MAX = limits.chunk_size_mib_max
#: An upload of unknown size grows the image by a step that doubles up to this.
GROW_STEP_BYTES_MAX = 8 * GiB
#: glance's ``image_size_cap`` default: the largest image stored (bytes).
IMAGE_SIZE_BYTES_MAX_DEFAULT = 1 << 40
assert CHUNK_SIZE_MIB_MAX * MiB <= GROW_STEP_BYTES_MAX
assert limits.image_size_bytes_max >= IMAGE_SIZE_BYTES_MAX_DEFAULT

ProgressCallback = Callable[[int], object]


@dataclass(frozen=True)
class AddResult:
    """What :meth:`RbdStore.add` stored.

    Attributes:
        location: ``rbd://FSID/POOL/IMAGE/snap``.
        size: bytes stored.
        checksum: MD5 of the data, hex (glance's ``checksum``).
        multihash: ``hash_algo`` digest of the data, hex (glance's ``os_hash_value``).
        hash_algo: the algorithm of ``multihash`` (glance's ``os_hash_algo``).
        order: the RBD image's order (object size 2^order bytes).
    """

    location: str
    size: int
    checksum: str
    multihash: str
    hash_algo: str
    order: int


def configured_features(session: Session) -> int:
    """``rbd_default_features`` of the session's cluster configuration.

    Ceph: the value the client's librados reads (Ceph's default is 61). Embedded:
    ``[client] rbd default features`` of the data directory's ceph.conf, else 61
    as on Ceph.

    Raises:
        errors.InvalidArgument: the configured value does not parse.
    """
    return features_from_conf(session.conf_get("rbd_default_features"))


def _new_hash(algo: str) -> Any:
    """A fresh ``hashlib`` object for ``algo`` (one with a fixed-length hex digest)."""
    try:
        digest = hashlib.new(algo)
        digest.hexdigest()
    except (ValueError, TypeError):
        raise errors.InvalidArgument(f"unsupported hashing algorithm {algo!r}") from None
    return digest


class RbdStore:
    """Images' data as RBD images in one pool (glance_store's ``rbd`` driver).

    ``session`` is a session of the store's cephx user (``client.glance``);
    ``pool`` the pool new images go to (``rbd_store_pool``); ``chunk_size_mib``
    (``rbd_store_chunk_size``, 1..32 MiB) both the size of each write and read
    and the image's object size (order = log2 of it, rounded down);
    ``thin_provisioning`` skips writing all-zero chunks (``rbd_thin_provisioning``);
    ``rbd_default_features`` (an int, "61", or "layering,...") the features of
    new images, None meaning the cluster's configured ``rbd_default_features``
    (see :func:`configured_features`); 0 means layering only, as glance does;
    ``image_size_max`` the largest image accepted (bytes; glance's ``image_size_cap``,
    1 TiB): a declared size past it is refused before anything is created.

    Stateless apart from its configuration: thread-safe as the session is. Each
    operation opens its own I/O context.

    Raises (constructor):
        errors.InvalidArgument: a chunk size out of range, or bad features.
    """

    def __init__(
        self,
        session: Session,
        *,
        pool: str = "images",
        chunk_size_mib: int = CHUNK_SIZE_MIB_DEFAULT,
        thin_provisioning: bool = False,
        rbd_default_features: int | str | None = None,
        image_size_max: int = IMAGE_SIZE_BYTES_MAX_DEFAULT,
    ) -> None:
        if (not isinstance(chunk_size_mib, int) or isinstance(chunk_size_mib, bool)
                or not 1 <= chunk_size_mib <= CHUNK_SIZE_MIB_MAX):
            raise errors.InvalidArgument(
                f"rbd_store_chunk_size must be 1..{CHUNK_SIZE_MIB_MAX} MiB, not {chunk_size_mib!r}")
        if not pool:
            raise errors.InvalidArgument("rbd_store_pool must not be empty")
        if not 0 < image_size_max <= limits.image_size_bytes_max:
            raise errors.InvalidArgument(
                f"image_size_max must be 1..{limits.image_size_bytes_max} bytes")
        self._session = session
        self.pool = pool
        self.chunk_bytes = chunk_size_mib * MiB
        self.order = self.chunk_bytes.bit_length() - 1
        self.thin_provisioning = thin_provisioning
        self.image_size_max = image_size_max
        features = (configured_features(session) if rbd_default_features is None
                    else parse_features(rbd_default_features))
        self.features = features or FEATURE_LAYERING
        self._fsid: str | None = None
        assert limits.rbd_order_min <= self.order <= limits.rbd_order_max

    @property
    def fsid(self) -> str:
        """The cluster's fsid (asked once)."""
        if self._fsid is None:
            self._fsid = self._session.get_fsid().lower()
        return self._fsid

    def location_for(self, image_id: str, pool: str | None = None) -> StoreLocation:
        """The location :meth:`add` gives an image stored as ``image_id``."""
        return StoreLocation(image=image_id, fsid=self.fsid, pool=pool or self.pool,
                             snapshot=SNAPSHOT_NAME)

    # --- add ----------------------------------------------------------------------------
    def add(
        self,
        image_id: str,
        data: Iterable[bytes],
        size: int | None,
        *,
        hashing_algo: str = "sha512",
        on_progress: ProgressCallback | None = None,
    ) -> AddResult:
        """Store ``data`` as image ``image_id``; return where and what was stored.

        ``data`` yields pieces of any size (bytes-like); they are written in
        chunk-size pieces. ``size`` is the byte count the client declared, or
        None if unknown: the image then grows as data arrives (by a step that
        starts at twice the chunk size and doubles up to 8 GiB) and is trimmed
        to the bytes received. ``on_progress(bytes_so_far)`` is called after each
        chunk; an exception it raises aborts the upload (e.g. the image record
        was deleted meanwhile). On success the image has a protected snapshot
        ``snap``. On any failure, the data iterator's own included, the image
        is removed again before the exception propagates.

        Raises:
            errors.InvalidArgument: a negative ``size``, an unknown ``hashing_algo``,
                or an image id librbd refuses.
            ImageTooLarge: ``size``, or the data of an unknown size, passes
                ``image_size_max``.
            SizeMismatch: the data ran past ``size``, or ended short of it.
            Duplicate: an image ``image_id`` is already stored.
            StorageFull: the cluster or the pool (quota) is full.
            StoreAccessDenied: the store's user may not write the pool.
            StoreUnavailable: the store's pool does not exist.
        """
        if size is not None and (not isinstance(size, int) or isinstance(size, bool)
                                 or size < 0):
            raise errors.InvalidArgument(f"image size must be None or >= 0, not {size!r}")
        if size is not None and size > self.image_size_max:
            raise ImageTooLarge(f"an image of {size} bytes is larger than the largest "
                                f"accepted ({self.image_size_max} bytes)")
        _check_image_id(image_id)
        md5 = hashlib.md5(usedforsecurity=False)
        multihash = _new_hash(hashing_algo)
        location = self.location_for(image_id).uri  # before anything exists: nothing to undo
        with self._ioctx(self.pool, missing_pool=_store_pool_missing) as ioctx, \
                self._translated(self.pool):
            lib = rbd_lib_for(ioctx)
            try:
                lib.RBD().create(ioctx, image_id, size or 0, order=self.order,
                                 old_format=False, features=self.features)
            except lib.ImageExists:
                raise Duplicate(f"image {image_id} is already stored in pool "
                                f"'{self.pool}'") from None
            try:
                with lib.Image(ioctx, image_id, entity=self._session.entity) as img, \
                        BackgroundDigests((md5, multihash)) as digests:
                    written = self._write_all(img, data, size, digests, on_progress)
                    digests.finish()
                    img.create_snap(SNAPSHOT_NAME)
                    img.protect_snap(SNAPSHOT_NAME)
            except BaseException:
                self._discard(lib, ioctx, image_id)
                raise
        return AddResult(location=location, size=written,
                         checksum=md5.hexdigest(), multihash=multihash.hexdigest(),
                         hash_algo=hashing_algo, order=self.order)

    def _write_all(
        self,
        img: RbdImage,
        data: Iterable[bytes],
        size: int | None,
        digests: BackgroundDigests,
        on_progress: ProgressCallback | None,
    ) -> int:
        """Write ``data`` from offset 0; return the bytes written (see :meth:`add`)."""
        capacity = size or 0
        grow_bytes = self.chunk_bytes  # per upload (glance keeps it across uploads)
        offset = 0
        for chunk in rechunk(data, self.chunk_bytes):
            end = offset + len(chunk)
            if size is not None and end > size:
                raise SizeMismatch(f"image data exceeds the declared size of {size} bytes")
            digests.update(bytes(chunk))
            if size is None and end > capacity:
                if end > self.image_size_max:
                    raise ImageTooLarge("the image data passes the largest image accepted "
                                        f"({self.image_size_max} bytes)")
                while end > capacity:
                    grow_bytes = min(grow_bytes * 2, GROW_STEP_BYTES_MAX)
                    capacity += grow_bytes
                capacity = min(capacity, self.image_size_max)  # still >= end
                img.resize(capacity)
            if not (self.thin_provisioning and is_zero(chunk)):
                done = img.write(chunk, offset)
                if done != len(chunk):
                    raise errors.ShoalError(f"short write: {done} of {len(chunk)} bytes "
                                            f"at offset {offset}")
            offset = end
            if on_progress is not None:
                on_progress(offset)
        if size is not None and offset != size:
            raise SizeMismatch(f"size mismatch: the image data is {offset} bytes, "
                               f"{size} bytes were declared")
        if size is None and capacity != offset:
            img.resize(offset)
        return offset

    def _discard(self, lib: RbdLib, ioctx: IoCtx, name: str) -> None:
        """Remove a half-made image (its snapshots first). Never raises a ShoalError: the
        error that made the image half-made is the one to report."""
        try:
            with lib.Image(ioctx, name, entity=self._session.entity) as img:
                for snap in list(img.list_snaps()):
                    if snap["protected"]:
                        img.unprotect_snap(str(snap["name"]))
                    img.remove_snap(str(snap["name"]))
            lib.RBD().remove(ioctx, name)
        except lib.ImageNotFound:
            pass
        except errors.ShoalError as exc:
            log.warning("could not remove the half-made image %s/%s: %s",
                        ioctx.pool_name, name, exc)

    # --- get ------------------------------------------------------------------------------
    def get(
        self, location: str | StoreLocation, offset: int = 0, length: int | None = None
    ) -> tuple[ImageReader, int]:
        """Open the image at ``location`` for reading; return ``(reader, image size)``.

        The reader yields the bytes ``[offset, offset + length)`` (None: to the end;
        a length past the end is cut there) in pieces of at most the chunk size,
        aligned to chunk boundaries, from the location's snapshot (opened
        read-only). Close it (or exhaust it, or use it in a ``with``) to release the
        image; ``reader.length`` is the number of bytes it yields.

        Raises:
            BadStoreUri: ``location`` does not parse.
            errors.InvalidArgument: a negative ``offset`` or ``length``.
            RangeNotSatisfiable: ``offset`` is past the end of the image.
            StoreNotFound: no such pool, image or snapshot, or another cluster's location.
            StoreAccessDenied: the store's user may not read the pool.
        """
        if offset < 0 or (length is not None and length < 0):
            raise errors.InvalidArgument(f"bad range: offset {offset}, length {length}")
        loc = self._resolve(location)
        pool = loc.pool or self.pool
        with self._translated(pool), contextlib.ExitStack() as stack:
            ioctx = stack.enter_context(self._ioctx(pool, missing_pool=_location_pool_missing))
            img = self._open_snapshot(ioctx, loc)
            stack.callback(img.close)
            image_bytes = int(img.size())
            if offset > image_bytes:
                raise RangeNotSatisfiable(
                    f"offset {offset} is past the end of the image ({image_bytes} bytes)")
            end = image_bytes if length is None else min(image_bytes, offset + length)
            resources = stack.pop_all()
        reader = ImageReader(img, offset, end, self.chunk_bytes, resources,
                             self._translated(pool))
        return reader, image_bytes

    def get_size(self, location: str | StoreLocation) -> int:
        """The size in bytes of the image at ``location`` (at its snapshot).

        Raises: as :meth:`get`.
        """
        loc = self._resolve(location)
        pool = loc.pool or self.pool
        with self._ioctx(pool, missing_pool=_location_pool_missing) as ioctx, \
                self._translated(pool):
            img = self._open_snapshot(ioctx, loc)
            with img:
                return int(img.size())

    def _open_snapshot(self, ioctx: IoCtx, loc: StoreLocation) -> RbdImage:
        lib = rbd_lib_for(ioctx)
        try:
            return lib.Image(ioctx, loc.image, snapshot=loc.snapshot, read_only=True)
        except lib.ImageNotFound:
            raise StoreNotFound(f"no image data at {loc.uri}") from None

    # --- delete -------------------------------------------------------------------------
    def delete(self, location: str | StoreLocation) -> None:
        """Delete the image at ``location``: unprotect and remove its snapshot, then the
        image. An image that still has other snapshots (or a snapshot whose clone-v2
        children keep it) moves to the pool's trash instead, to be purged once free.

        Raises:
            BadStoreUri: ``location`` does not parse.
            InUseByStore: clones of the image exist (volumes, instance disks), or the
                image is open elsewhere.
            StoreNotFound: no such pool or image, or another cluster's location.
            StoreAccessDenied: the store's user may not write the pool.
        """
        loc = self._resolve(location)
        pool = loc.pool or self.pool
        with self._ioctx(pool, missing_pool=_location_pool_missing) as ioctx, \
                self._translated(pool):
            lib = rbd_lib_for(ioctx)
            if loc.snapshot is not None:
                self._remove_snapshot(lib, ioctx, loc.image, loc.snapshot)
            self._remove_image(lib, ioctx, loc.image)

    def _remove_snapshot(self, lib: RbdLib, ioctx: IoCtx, name: str, snapshot: str) -> None:
        try:
            img = lib.Image(ioctx, name, entity=self._session.entity)
        except lib.ImageNotFound:
            raise StoreNotFound(f"image {name} does not exist in pool "
                                f"'{ioctx.pool_name}'") from None
        with img:
            try:
                img.unprotect_snap(snapshot)
            except lib.ImageBusy:
                raise InUseByStore(_in_use(name)) from None
            except lib.ImageNotFound:
                return  # the snapshot is gone already: a retried delete
            except lib.InvalidArgument:
                pass  # not protected
            try:
                img.remove_snap(snapshot)
            except lib.ImageBusy:
                raise InUseByStore(_in_use(name)) from None

    def _remove_image(self, lib: RbdLib, ioctx: IoCtx, name: str) -> None:
        try:
            lib.RBD().remove(ioctx, name)
        except lib.ImageNotFound:
            raise StoreNotFound(f"image {name} does not exist in pool "
                                f"'{ioctx.pool_name}'") from None
        except lib.ImageBusy:
            raise InUseByStore(f"image {name} is in use: it is open by another client; "
                               "try again later") from None
        except lib.ImageHasSnapshots:
            try:
                lib.RBD().trash_move(ioctx, name)
            except lib.ImageBusy:
                raise InUseByStore(_in_use(name)) from None
            except errors.NotSupported:
                raise InUseByStore(f"image {name} has snapshots and cannot be moved to "
                                   "the trash") from None
            log.info("image %s/%s has snapshots: moved to the trash", ioctx.pool_name, name)

    # --- helpers --------------------------------------------------------------------------
    def _resolve(self, location: str | StoreLocation) -> StoreLocation:
        loc = location if isinstance(location, StoreLocation) else parse_location(location)
        if loc.fsid is not None and loc.fsid.lower() != self.fsid:
            raise StoreNotFound(f"{loc.uri} is on another Ceph cluster (fsid {loc.fsid}; "
                                f"this store's cluster is {self.fsid})")
        return loc

    @contextlib.contextmanager
    def _ioctx(self, pool: str, *, missing_pool: Callable[[str], errors.ShoalError]
               ) -> Iterator[IoCtx]:
        try:
            ioctx = self._session.open_ioctx(pool)
        except errors.PoolNotFound:
            raise missing_pool(pool) from None
        try:
            yield ioctx
        finally:
            ioctx.close()

    def _translated(self, pool: str) -> _Translated:
        return _Translated(self._session.entity, pool)


class _Translated:
    """Re-raise a full cluster as :class:`StorageFull` and a caps refusal as
    :class:`StoreAccessDenied`; everything else passes unchanged."""

    def __init__(self, entity: str, pool: str) -> None:
        self._entity = entity
        self._pool = pool

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None or isinstance(exc, StorageFull | StoreAccessDenied):
            return
        if isinstance(exc, errors.NoSpace) or (
                isinstance(exc, errors.ShoalError) and exc.errno == errno.EDQUOT):
            raise StorageFull(f"image storage is full (pool '{self._pool}'): {exc}") from exc
        if isinstance(exc, errors.PermissionDenied):
            raise StoreAccessDenied(
                f"the image store's user {self._entity} is not allowed to use pool "
                f"'{self._pool}' (check its osd caps): {exc}") from exc


class ImageReader(Iterator[bytes]):
    """The bytes ``[offset, end)`` of an image, in chunk-aligned pieces (see
    :meth:`RbdStore.get`). Holds the image open until exhausted or closed."""

    def __init__(self, img: RbdImage, offset: int, end: int, chunk_bytes: int,
                 resources: contextlib.ExitStack, translated: _Translated) -> None:
        assert 0 <= offset <= end
        self._img = img
        self._pos = offset
        self._end = end
        self._chunk_bytes = chunk_bytes
        self._resources = resources
        self._translated = translated
        self.offset = offset
        self.length = end - offset

    def __iter__(self) -> ImageReader:
        return self

    def __next__(self) -> bytes:
        if self._pos >= self._end:
            self.close()
            raise StopIteration
        boundary = (self._pos // self._chunk_bytes + 1) * self._chunk_bytes
        want = min(boundary, self._end) - self._pos
        try:
            with self._translated:
                data = bytes(self._img.read(self._pos, want))
        except BaseException:
            self.close()
            raise
        if len(data) != want:
            self.close()
            raise errors.ShoalError(f"short read: {len(data)} of {want} bytes at {self._pos}")
        self._pos += want
        return data

    def close(self) -> None:
        """Release the image and its I/O context. Idempotent."""
        self._pos = self._end
        self._resources.close()

    def __enter__(self) -> ImageReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        if hasattr(self, "_resources"):
            self.close()


def _check_image_id(image_id: str) -> None:
    if not isinstance(image_id, str) or not image_id:
        raise errors.InvalidArgument(f"image id must be a non-empty string, not {image_id!r}")
    if len(image_id.encode()) > limits.image_name_bytes_max:
        raise errors.InvalidArgument("image id too long")


def _in_use(name: str) -> str:
    return (f"image {name} is in use: volumes or instance disks were cloned from it; "
            "delete them (or flatten them) first")


def _store_pool_missing(pool: str) -> errors.ShoalError:
    return StoreUnavailable(f"the image store's pool '{pool}' does not exist")


def _location_pool_missing(pool: str) -> errors.ShoalError:
    return StoreNotFound(f"pool '{pool}' does not exist")
