"""``RbdVolumeDriver``: Cinder's RBD volume driver semantics, synchronous, no HTTP.

Volumes are RBD images ``volume-<id>`` in the backend's pool (``rbd_pool``),
object size ``rbd_store_chunk_size``; snapshots are protected RBD snapshots
``snapshot-<id>``. A volume cloned from a volume hangs on the source's
snapshot ``<new name>.clone_snap`` (flattened once ``rbd_max_clone_depth``
clones of clones are reached); a volume from a snapshot or a Glance image is a
copy-on-write clone of it. Deletion: see :mod:`._delete`.

Sizes given to the driver are whole GiB (Cinder's volume sizes); sizes it
reads from images are bytes. Every operation that creates a volume removes
what it made if it fails (nothing half-made stays behind).

Differences from Cinder 29 (deliberate fixes), beyond those of :mod:`._delete`:

- a new volume smaller than its source (volume, snapshot or image) is refused
  (``InvalidVolumeSize``/``ImageUnacceptable``, 400) before anything is made;
  Cinder's ``clone_image`` would shrink the clone to the volume's size;
- a volume from a snapshot or an image gets order
  ``log2(max(parent's stripe unit, rbd_store_chunk_size))`` (bug 1931004's fix);
- ``delete_snapshot`` of a snapshot whose volume was hidden as ``.deleted``
  deletes it there, and then removes the hidden volume if it was its last;
- ``revert_to_snapshot`` can grow the volume back to its recorded size.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from shoal import errors, limits
from shoal.cluster import Session
from shoal.rbd import FEATURE_LAYERING, RbdImage, features_from_conf, parse_features
from shoal.services.volume.driver._backend import Backend, Pool
from shoal.services.volume.driver._chain import ParentRef, clone_depth, flatten_children
from shoal.services.volume.driver._cluster import mon_addresses
from shoal.services.volume.driver._delete import DeleteOutcome, Remover
from shoal.services.volume.driver._errors import (
    ImageUnacceptable,
    InvalidVolumeSize,
    SnapshotExists,
    SnapshotIsBusy,
    SnapshotNotFound,
    VolumeBackendError,
    VolumeExists,
    VolumeNotFound,
)
from shoal.services.volume.driver._images import (
    CloneRefusal,
    NotCloned,
    find_cloneable,
    geometry,
    write_stream,
)
from shoal.services.volume.driver._names import (
    DELETED_SUFFIX,
    clone_snap_name,
    snapshot_name,
    volume_name,
)
from shoal.services.volume.driver._options import RbdDriverOptions
from shoal.services.volume.driver._stats import capabilities, volume_stats

__all__ = ["VOLUME_SIZE_GIB_MAX", "RbdVolumeDriver"]

log = logging.getLogger("shoal.services.volume")

GiB = 1 << 30
#: The largest volume accepted (GiB): the largest RBD image shoal accepts.
VOLUME_SIZE_GIB_MAX = limits.image_size_bytes_max // GiB


def _size_bytes(size_gib: int) -> int:
    if (not isinstance(size_gib, int) or isinstance(size_gib, bool)
            or not 1 <= size_gib <= VOLUME_SIZE_GIB_MAX):
        raise InvalidVolumeSize(
            f"a volume size is a whole number of GiB, 1..{VOLUME_SIZE_GIB_MAX}, not {size_gib!r}")
    return size_gib * GiB


def _gib_text(size_bytes: int) -> str:
    return f"{size_bytes / GiB:.2f} GiB"


class RbdVolumeDriver:
    """Cinder's ``RBDDriver`` over a session of the backend's cephx user.

    ``session``: a session as ``rbd_user`` (``client.cinder``; the guide's caps:
    rwx on volumes and vms, rx on images, ``mon 'allow r'``). ``options``: the
    backend's options (:meth:`RbdDriverOptions.from_config`).
    ``rbd_default_features`` (an int, "61" or "layering,...") the features of
    new volumes; None: the cluster configuration's ``rbd_default_features``
    (as Cinder's ``RADOSClient.features``); 0 means layering only.

    Stateless apart from the flatten throttle: thread-safe as the session is.
    Each operation opens its own I/O context.

    Errors: the classes of :mod:`shoal.services.volume.driver` (each with its HTTP
    status); a full cluster is ``BackendFull``, a caps refusal
    ``BackendAccessDenied``, a missing backend pool ``BackendUnavailable``, and
    ids that cannot name an image ``errors.InvalidArgument``, from every method.
    """

    def __init__(self, session: Session, options: RbdDriverOptions, *,
                 rbd_default_features: int | str | None = None) -> None:
        if rbd_default_features is None:
            features = features_from_conf(session.conf_get("rbd_default_features"))
        else:
            features = parse_features(rbd_default_features)
        self._backend = Backend(session, options, features or FEATURE_LAYERING)
        self._remover = Remover(self._backend)

    @property
    def options(self) -> RbdDriverOptions:
        return self._backend.options

    @property
    def features(self) -> int:
        """The RBD features new volumes get."""
        return self._backend.features

    @property
    def fsid(self) -> str:
        """The cluster's fsid (lower case)."""
        return self._backend.fsid

    # --- create -------------------------------------------------------------------------
    def create_volume(self, volume_id: str, size_gib: int) -> None:
        """Create an empty volume of ``size_gib`` GiB (reads as zeros).

        Raises:
            InvalidVolumeSize: not a whole number of GiB >= 1.
            VolumeExists: the volume's image exists.
        """
        name = volume_name(volume_id)
        size = _size_bytes(size_gib)
        with self._backend.pool() as pool:
            self._create(pool, name, size)

    def _create(self, pool: Pool, name: str, size: int) -> None:
        try:
            pool.lib.RBD().create(pool.ioctx, name, size, order=self.options.order,
                                  old_format=False, features=self.features)
        except pool.lib.ImageExists:
            raise VolumeExists(f"volume image {name} exists already") from None

    def create_cloned_volume(self, volume_id: str, size_gib: int, src_volume_id: str) -> None:
        """Create volume ``volume_id`` of ``size_gib`` GiB with the data of volume
        ``src_volume_id`` now.

        With ``rbd_max_clone_depth`` <= 0 a full copy; otherwise a clone of the
        new snapshot ``<new name>.clone_snap`` of the source, flattened (and the
        snapshot removed) if the source already has ``rbd_max_clone_depth``
        ancestors of that kind. Grows the new volume past the source's size.

        Raises:
            InvalidVolumeSize: a bad size, or smaller than the source.
            errors.InvalidArgument: the source and the new volume are the same.
            VolumeNotFound: no source volume.
            VolumeExists: the new volume's image exists.
        """
        dest = volume_name(volume_id)
        src = volume_name(src_volume_id)
        size = _size_bytes(size_gib)
        if dest == src:
            raise errors.InvalidArgument("a volume cannot be cloned into itself")
        with self._backend.pool() as pool:
            try:
                with pool.open(src, read_only=True) as img:
                    src_size = int(img.size())
            except pool.lib.ImageNotFound:
                raise VolumeNotFound(f"source volume {src_volume_id} does not exist") from None
            if size < src_size:
                raise InvalidVolumeSize(f"{size_gib} GiB is smaller than the source volume "
                                        f"({_gib_text(src_size)})")
            if pool.exists(dest):
                raise VolumeExists(f"volume image {dest} exists already")
            if self.options.rbd_max_clone_depth <= 0:
                self._copy(pool, src, dest, size)
            else:
                self._clone_volume(pool, src, dest, size)

    def _copy(self, pool: Pool, src: str, dest: str, size: int) -> None:
        try:
            with pool.open(src, read_only=True) as img:
                img.copy(pool.ioctx, dest, features=self.features, order=img.order())
            self._grow(pool, dest, size)
        except pool.lib.ImageExists:
            raise VolumeExists(f"volume image {dest} exists already") from None
        except BaseException:
            self._discard(pool, dest)
            raise

    def _clone_volume(self, pool: Pool, src: str, dest: str, size: int) -> None:
        snap = clone_snap_name(dest)
        with pool.open(src) as img:
            # ImageExists: left by an interrupted clone to the same name: reused
            with contextlib.suppress(pool.lib.ImageExists):
                img.create_snap(snap)
            try:
                img.protect_snap(snap)
            except pool.lib.ImageBusy:
                pass  # protected already
            except BaseException:
                self._drop_snap(pool, src, snap)
                raise
        try:
            pool.lib.RBD().clone(pool.ioctx, src, snap, pool.ioctx, dest,
                                 features=self.features)
        except BaseException as exc:
            self._drop_snap(pool, src, snap)
            if isinstance(exc, pool.lib.ImageExists):
                raise VolumeExists(f"volume image {dest} exists already") from None
            raise
        try:
            depth = clone_depth(pool, src)
            if depth >= self.options.rbd_max_clone_depth:
                log.info("%s has %d clone ancestors (rbd_max_clone_depth %d): flattening %s",
                         src, depth, self.options.rbd_max_clone_depth, dest)
                with pool.open(dest) as img:
                    self._backend.flatten(img)
                self._drop_snap(pool, src, snap, strict=True)
            self._grow(pool, dest, size)
        except BaseException:
            self._discard(pool, dest)
            self._drop_snap(pool, src, snap)
            raise

    def create_volume_from_snapshot(self, volume_id: str, size_gib: int, src_volume_id: str,
                                    snapshot_id: str) -> None:
        """Create volume ``volume_id`` of ``size_gib`` GiB from snapshot
        ``snapshot_id`` of volume ``src_volume_id``: a copy-on-write clone, flattened
        if ``rbd_flatten_volume_from_snapshot`` (at most
        ``rbd_concurrent_flatten_operations`` flattens run at once), grown past
        the snapshot's size.

        Raises:
            InvalidVolumeSize: a bad size, or smaller than the snapshot.
            SnapshotNotFound: no such volume or snapshot.
            VolumeExists: the new volume's image exists.
        """
        dest = volume_name(volume_id)
        src = volume_name(src_volume_id)
        snap = snapshot_name(snapshot_id)
        size = _size_bytes(size_gib)
        with self._backend.pool() as pool:
            try:
                snap_size, stripe_unit = geometry(pool, src, snap)
            except pool.lib.ImageNotFound:
                raise SnapshotNotFound(f"snapshot {snapshot_id} of volume {src_volume_id} "
                                       "does not exist") from None
            if size < snap_size:
                raise InvalidVolumeSize(f"{size_gib} GiB is smaller than the snapshot "
                                        f"({_gib_text(snap_size)})")
            self._clone_into(pool, ParentRef(pool.name, src, snap), stripe_unit, dest, size,
                             flatten=self.options.rbd_flatten_volume_from_snapshot)

    def _clone_into(self, pool: Pool, parent: ParentRef, stripe_unit: int, dest: str,
                    size: int, *, flatten: bool) -> None:
        """Clone ``parent`` (protected) into ``dest`` in the backend's pool with the
        order of bug 1931004's fix, then flatten it if asked and grow it to ``size``."""
        order = max(stripe_unit, self.options.chunk_bytes).bit_length() - 1
        if pool.exists(dest):
            raise VolumeExists(f"volume image {dest} exists already")
        with self._backend.pool(parent.pool) as parent_pool:
            try:
                pool.lib.RBD().clone(parent_pool.ioctx, parent.image, parent.snap, pool.ioctx,
                                     dest, features=self.features, order=order)
            except pool.lib.ImageExists:
                raise VolumeExists(f"volume image {dest} exists already") from None
        try:
            if flatten:
                with pool.open(dest) as img:
                    self._backend.flatten(img)
            self._grow(pool, dest, size)
        except BaseException:
            self._discard(pool, dest)
            raise

    # --- from images ----------------------------------------------------------------------
    def clone_image(self, volume_id: str, size_gib: int, image_locations: Iterable[str],
                    disk_format: str) -> Literal[True] | NotCloned:
        """Create volume ``volume_id`` as a copy-on-write clone of a Glance image, if one
        of its locations allows; True if it did, else why not.

        ``image_locations``: the image's location URLs in the order to try
        (Glance's ``locations``, else its ``direct_url``). A location qualifies if
        it is ``rbd://FSID/POOL/IMAGE/SNAP`` with this cluster's fsid, the image's
        ``disk_format`` is ``raw``, and ``POOL/IMAGE@SNAP`` opens read-only as the
        driver's user. The clone is grown to ``size_gib`` GiB.

        Returns a :class:`NotCloned` (false; nothing made) if nothing qualifies: the
        caller then downloads the image (:meth:`copy_image_to_volume`). Its reason:
        ``NOT_RAW`` (checked first), ``NO_LOCATION`` (no URL given), else the first
        location's refusal (:func:`~._images.find_cloneable`; the others are logged).

        Raises:
            InvalidVolumeSize: a bad size.
            ImageUnacceptable: the image is larger than the volume.
            VolumeExists: the volume's image exists.
        """
        dest = volume_name(volume_id)
        size = _size_bytes(size_gib)
        if disk_format != "raw":
            log.debug("image for volume %s is %s, not raw: not cloneable", volume_id,
                      disk_format)
            shown = disk_format or "of no format"
            return NotCloned(CloneRefusal.NOT_RAW, f"the image is {shown}, not raw")
        first: NotCloned | None = None
        for url in image_locations:
            found = find_cloneable(self._backend, url)
            if isinstance(found, NotCloned):
                if first is None:
                    first = found
                continue
            parent = found.parent
            if found.size > size:
                raise ImageUnacceptable(f"the image ({_gib_text(found.size)}) does not fit in "
                                        f"a volume of {size_gib} GiB")
            with self._backend.pool() as pool:
                self._clone_into(pool, parent, found.stripe_unit, dest, size, flatten=False)
            log.info("volume %s cloned from %s/%s@%s", volume_id, parent.pool, parent.image,
                     parent.snap)
            return True
        if first is None:  # (a NotCloned is false: test for None)
            return NotCloned(CloneRefusal.NO_LOCATION,
                             "the image service shows no location of the image")
        return first

    def copy_image_to_volume(self, volume_id: str, size_gib: int,
                             data: Iterable[bytes]) -> int:
        """Create volume ``volume_id`` of ``size_gib`` GiB holding ``data`` (raw bytes
        from offset 0; pieces of any size) and return the bytes received.

        Written in object-size chunks; all-zero chunks are skipped (the new
        volume reads as zeros there). The rest of the volume reads as zeros. On
        any failure, the data iterator's own included, the volume is removed.

        Raises:
            InvalidVolumeSize: a bad size.
            ImageUnacceptable: the data is longer than the volume.
            VolumeExists: the volume's image exists.
        """
        name = volume_name(volume_id)
        size = _size_bytes(size_gib)
        with self._backend.pool() as pool:
            self._create(pool, name, size)
            try:
                with pool.open(name) as img:
                    written = write_stream(img, data, size, self.options.chunk_bytes)
            except BaseException:
                self._discard(pool, name)
                raise
        return written

    # --- size ------------------------------------------------------------------------
    def extend_volume(self, volume_id: str, new_size_gib: int) -> None:
        """Grow volume ``volume_id`` to ``new_size_gib`` GiB (the same size: no-op).

        Raises:
            InvalidVolumeSize: a bad size, or smaller than the volume.
            VolumeNotFound: no such volume.
        """
        name = volume_name(volume_id)
        size = _size_bytes(new_size_gib)
        with self._backend.pool() as pool:
            try:
                img = pool.open(name)
            except pool.lib.ImageNotFound:
                raise VolumeNotFound(f"volume {volume_id} does not exist") from None
            with img:
                current = int(img.size())
                if size < current:
                    raise InvalidVolumeSize(f"cannot shrink volume {volume_id} from "
                                            f"{_gib_text(current)} to {new_size_gib} GiB")
                if size > current:
                    img.resize(size)

    # --- delete ------------------------------------------------------------------------
    def delete_volume(self, volume_id: str) -> DeleteOutcome:
        """Delete volume ``volume_id`` (see :mod:`._delete` for the algorithm).

        Returns what became of the image; a missing image is ``ABSENT`` (success).

        Raises:
            VolumeIsBusy: another client has the volume open (retry later).
        """
        name = volume_name(volume_id)
        with self._backend.pool() as pool:
            return self._remover.delete(pool, name)

    def purge_trash(self) -> int:
        """Remove trashed volumes whose deferment ended, and ``.deleted`` volumes
        nothing needs any more (see :meth:`Remover.purge`); returns how many
        trashed images were removed. Run it every ``deferred_deletion_purge_interval``
        seconds (it is cheap when there is nothing to do)."""
        with self._backend.pool() as pool:
            return self._remover.purge(pool)

    # --- snapshots ----------------------------------------------------------------------
    def create_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        """Snapshot volume ``volume_id`` as ``snapshot-<snapshot_id>``, protected.

        Raises:
            VolumeNotFound: no such volume.
            SnapshotExists: the snapshot exists.
        """
        name = volume_name(volume_id)
        snap = snapshot_name(snapshot_id)
        with self._backend.pool() as pool:
            try:
                img = pool.open(name)
            except pool.lib.ImageNotFound:
                raise VolumeNotFound(f"volume {volume_id} does not exist") from None
            with img:
                try:
                    img.create_snap(snap)
                except pool.lib.ImageExists:
                    raise SnapshotExists(f"snapshot {snapshot_id} of volume {volume_id} "
                                         "exists already") from None
                try:
                    img.protect_snap(snap)
                except BaseException:
                    try:
                        img.remove_snap(snap)
                    except errors.ShoalError as exc:
                        log.warning("could not remove half-made snapshot %s@%s: %s",
                                    name, snap, exc)
                    raise

    def delete_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        """Delete snapshot ``snapshot_id`` of volume ``volume_id``.

        Unprotecting a snapshot with clones flattens them first (at most
        ``rbd_concurrent_flatten_operations`` at once) and retries
        ``rados_connection_retries`` times. A snapshot (or volume) that does not
        exist counts as deleted. A snapshot of a volume kept as ``.deleted`` is
        deleted there, and the hidden volume with it if that was its last.

        Raises:
            SnapshotIsBusy: clones remain that could not be flattened.
        """
        name = volume_name(volume_id)
        snap = snapshot_name(snapshot_id)
        with self._backend.pool() as pool:
            for candidate in (name, name + DELETED_SUFFIX):
                try:
                    img = pool.open(candidate)
                except pool.lib.ImageNotFound:
                    continue
                with img:
                    self._unprotect(pool, img, candidate, snap, snapshot_id)
                    with contextlib.suppress(pool.lib.ImageNotFound):
                        img.remove_snap(snap)
                if candidate != name:
                    self._remover.sweep_hidden(pool, candidate)
                return
            log.info("volume %s does not exist: snapshot %s is gone with it", volume_id,
                     snapshot_id)

    def _unprotect(self, pool: Pool, img: RbdImage, name: str, snap: str, snapshot_id: str) -> None:
        retries = self._backend.attempts
        for attempt in range(retries + 1):
            try:
                img.unprotect_snap(snap)
                return
            except (pool.lib.InvalidArgument, pool.lib.ImageNotFound):
                return  # not protected, or gone
            except pool.lib.ImageBusy:
                if attempt == retries:
                    break
            log.info("snapshot %s@%s has clones: flattening them", name, snap)
            if not flatten_children(pool, name, [snap]):
                self._backend.pause()
        raise SnapshotIsBusy(f"snapshot {snapshot_id} has dependent volumes that could not "
                             "be flattened")

    def revert_to_snapshot(self, volume_id: str, snapshot_id: str,
                           size_gib: int | None = None) -> None:
        """Roll volume ``volume_id`` back to snapshot ``snapshot_id``: its data and size
        become the snapshot's; then, if ``size_gib`` (the volume's recorded size) is
        larger, it grows back to that (the grown part reads as zeros).

        Raises:
            VolumeNotFound: no such volume.
            SnapshotNotFound: no such snapshot.
            InvalidVolumeSize: a bad ``size_gib``.
        """
        name = volume_name(volume_id)
        snap = snapshot_name(snapshot_id)
        size = None if size_gib is None else _size_bytes(size_gib)
        with self._backend.pool() as pool:
            try:
                img = pool.open(name)
            except pool.lib.ImageNotFound:
                raise VolumeNotFound(f"volume {volume_id} does not exist") from None
            with img:
                if snap not in {str(s["name"]) for s in img.list_snaps()}:
                    raise SnapshotNotFound(f"snapshot {snapshot_id} of volume {volume_id} "
                                           "does not exist")
                img.rollback_to_snap(snap)
                if size is not None and int(img.size()) < size:
                    img.resize(size)

    # --- attach --------------------------------------------------------------------------
    def initialize_connection(self, volume_id: str,
                              connector: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The connection info Nova attaches volume ``volume_id`` with (the
        ``connector`` is not used: RBD needs nothing from the host)::

            {"driver_volume_type": "rbd", "data": {"name": "POOL/volume-ID",
             "hosts": [...], "ports": [...], "cluster_name": ..., "auth_enabled": ...,
             "auth_username": ..., "secret_type": "ceph", "secret_uuid": ...,
             "volume_id": ID, "discard": True}}

        ``hosts``/``ports`` (strings) are the monitors' of ``mon dump`` (the
        embedded cluster answers 127.0.0.1:6789). ``auth_enabled`` is whether
        ``rbd_user`` is set; ``secret_uuid`` is ``rbd_secret_uuid`` or the
        cluster's fsid. No ``keyring`` (Cinder adds one only for cinderlib).

        Raises:
            VolumeNotFound: no such volume.
            VolumeBackendError: the monitors' addresses cannot be read.
        """
        name = volume_name(volume_id)
        with self._backend.pool() as pool:
            if not pool.exists(name):
                raise VolumeNotFound(f"volume {volume_id} does not exist")
            pool_name = pool.name
        try:
            hosts, ports = mon_addresses(self._backend.session)
        except errors.ShoalError as exc:
            raise VolumeBackendError(f"cannot read the monitors' addresses: {exc}") from exc
        options = self.options
        return {
            "driver_volume_type": "rbd",
            "data": {
                "name": f"{pool_name}/{name}",
                "hosts": hosts,
                "ports": ports,
                "cluster_name": options.rbd_cluster_name,
                "auth_enabled": options.rbd_user is not None,
                "auth_username": options.rbd_user,
                "secret_type": "ceph",
                "secret_uuid": options.rbd_secret_uuid or self.fsid,
                "volume_id": volume_id,
                "discard": True,
            },
        }

    def terminate_connection(self, volume_id: str,
                             connector: Mapping[str, Any] | None = None) -> None:
        """Nothing to undo for RBD (the host's client just closes the image)."""
        volume_name(volume_id)

    # --- stats ------------------------------------------------------------------------------
    @property
    def capabilities(self) -> dict[str, Any]:
        """The stats that never change while the driver runs (no cluster round trip):
        what the scheduler matches volume types against (see :func:`~._stats.capabilities`).
        """
        return capabilities(self.options)

    def get_volume_stats(self) -> dict[str, Any]:
        """The backend's capabilities and capacity, as Cinder's scheduler reads them
        (see :func:`~._stats.volume_stats`). Never raises for the cluster's failures:
        capacities are then ``'unknown'`` and ``backend_state`` is ``'down'``."""
        return volume_stats(self._backend)

    # --- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _grow(pool: Pool, name: str, size: int) -> None:
        with pool.open(name) as img:
            if int(img.size()) < size:
                img.resize(size)

    @staticmethod
    def _discard(pool: Pool, name: str) -> None:
        """Remove a volume this operation made (on its failure); errors are logged."""
        try:
            pool.lib.RBD().remove(pool.ioctx, name)
        except pool.lib.ImageNotFound:
            pass
        except errors.ShoalError as exc:
            log.warning("could not remove half-made volume %s/%s: %s", pool.name, name, exc)

    @staticmethod
    def _drop_snap(pool: Pool, name: str, snap: str, *, strict: bool = False) -> None:
        """Unprotect and remove ``name@snap``; errors are logged (raised if ``strict``)."""
        try:
            with pool.open(name) as img:
                if not pool.remove_snap(img, snap):
                    raise errors.Busy(f"{name}@{snap} still has clones")
        except pool.lib.ImageNotFound:
            pass
        except errors.ShoalError as exc:
            if strict:
                raise
            log.warning("could not remove snapshot %s/%s@%s: %s", pool.name, name, snap, exc)
