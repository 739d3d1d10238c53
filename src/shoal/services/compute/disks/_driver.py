"""``GuestDisks``: a server's disks in ``images_rbd_pool``, as Nova's libvirt ``Rbd``
image backend makes and removes them.

- **root** ``<uuid>_disk``: a copy-on-write clone of the image's
  ``POOL/IMAGE@SNAP`` when the image is raw and one of its locations is an RBD
  snapshot of this cluster that the session may read (Nova's ``is_cloneable``,
  shared with the volume driver: :func:`~shoal.services.volume.driver.find_cloneable`),
  with the cluster's ``rbd_default_features`` and the parent's order; otherwise
  the image's raw data is downloaded into a new image (Nova's ``rbd import``),
  unless ``never_download_image_if_on_rbd`` (then :class:`DownloadRefused`).
  Then grown to the flavor's ``root_gb`` (never shrunk: :class:`FlavorTooSmall`).
- **ephemeral** ``<uuid>_disk.local`` and **swap** ``<uuid>_disk.swap``: empty
  images of the flavor's sizes (Nova formats them before importing; here the
  guest does: cloud-init's ``mounts`` module, ``mkswap``).
- **removal**: every ``<uuid>_disk*`` image, as ``_cleanup_rbd``, retried while busy.

Crash safety: a disk is complete once the image metadata key :data:`MADE_KEY`
(how it was made) is set, after its data and size. A create that finds a
complete disk keeps it; an incomplete clone of the right snapshot is finished;
any other incomplete disk (an import cut short) is removed and made again. A
create that fails removes the disks it made (or was finishing) before raising.

Differences from Nova (deliberate): no local ``_base`` file (the data streams
into the pool, all-zero chunks skipped); a disk is made at its final size
instead of imported then resized; ``images_rbd_glance_store_name`` (asking
Glance to copy the image into this cluster) is not done here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from shoal import errors
from shoal.cluster import Session
from shoal.rbd import FEATURE_LAYERING, RbdImage, features_from_conf
from shoal.services.compute.disks._errors import (
    DiskBusy,
    DiskImageUnacceptable,
    DownloadRefused,
)
from shoal.services.compute.disks._model import (
    DiskHow,
    DiskImage,
    DiskInfo,
    DiskOptions,
    DiskPlan,
    MadeDisk,
)
from shoal.services.compute.disks._names import (
    disk_names,
    ephemeral_name,
    root_name,
    swap_name,
)
from shoal.services.compute.disks._remove import destroy
from shoal.services.compute.disks._sizes import ephemeral_bytes, root_bytes, swap_bytes
from shoal.services.compute.disks._snapshot import DiskSnapshots
from shoal.services.volume.driver import (
    Backend,
    Cloneable,
    ImageUnacceptable,
    NotCloned,
    Pool,
    RbdDriverOptions,
    find_cloneable,
    write_stream,
)

__all__ = ["MADE_KEY", "GuestDisks"]

log = logging.getLogger("shoal.services.compute")

#: Image metadata key set on a disk once it is complete; its value is how it was made.
MADE_KEY = "shoal.disk_made"
_HOWS: dict[str, DiskHow] = {"clone": "clone", "import": "import", "blank": "blank"}


def _no_beat() -> None:
    """The default heartbeat: nothing."""


def _beating(pieces: Iterable[bytes], heartbeat: Callable[[], None]) -> Iterator[bytes]:
    """``pieces``, calling ``heartbeat()`` after each one."""
    for piece in pieces:
        yield piece
        heartbeat()


def _parent_spec(pool: Pool, img: RbdImage) -> str | None:
    """``pool/image@snap`` of open ``img``'s parent, None if it has none."""
    try:
        parent_pool, parent, snap = img.parent_info()
    except pool.lib.ImageNotFound:
        return None
    return f"{parent_pool}/{parent}@{snap}"


def _inspect(pool: Pool, name: str) -> DiskInfo | None:
    """The disk ``name`` as it is now, None if there is none."""
    try:
        with pool.open(name, read_only=True) as img:
            size = int(img.size())
            parent = _parent_spec(pool, img)
            made = dict(img.metadata_list()).get(MADE_KEY)
    except pool.lib.ImageNotFound:
        return None
    return DiskInfo(name, size, parent, _HOWS.get(made or ""))


def _check_server_id(server_id: str) -> None:
    if not isinstance(server_id, str) or not server_id:
        raise errors.InvalidArgument(f"a server id is a non-empty string, not {server_id!r}")


@dataclass(frozen=True)
class _RootSource:
    """Where a root disk's data comes from: a cloneable snapshot, or a download
    (``clone`` None) and why it is not cloned; ``base_bytes``: the data's size."""

    clone: Cloneable | None
    base_bytes: int
    refusal: str

    @property
    def parent_spec(self) -> str | None:
        if self.clone is None:
            return None
        ref = self.clone.parent
        return f"{ref.pool}/{ref.image}@{ref.snap}"


class GuestDisks:
    """A server's guest disks in ``options.pool``, over ``session``.

    ``session``: the compute service's cephx session (the guide's
    ``client.cinder``: rwx on ``vms`` and ``volumes``, rx on ``images``).
    New disks get the session's ``rbd_default_features`` (layering at least).
    Thread-safe as the session is; each call opens its own I/O contexts.

    Errors, beyond each method's own: ``BackendAccessDenied`` (503: the user's
    caps refuse a pool, e.g. a ``client.glance`` session writing ``vms``),
    ``BackendFull`` (413), ``BackendUnavailable`` (503: no such disks pool),
    ``errors.InvalidArgument`` (an empty server id, a negative size).
    """

    def __init__(self, session: Session, options: DiskOptions) -> None:
        features = features_from_conf(session.conf_get("rbd_default_features"))
        self._options = options
        self._backend = Backend(session, RbdDriverOptions(rbd_pool=options.pool),
                                features | FEATURE_LAYERING, service="compute")

    @property
    def options(self) -> DiskOptions:
        return self._options

    @property
    def features(self) -> int:
        """The RBD features new disks get."""
        return self._backend.features

    @property
    def snapshots(self) -> DiskSnapshots:
        """Snapshots of the root disks into images (:mod:`._snapshot`)."""
        return DiskSnapshots(self._backend)

    # --- create --------------------------------------------------------------------------
    def create(self, server_id: str, image: DiskImage | None, plan: DiskPlan, *,
               heartbeat: Callable[[], None] | None = None) -> list[MadeDisk]:
        """Make server ``server_id``'s disks for ``plan``: the root disk from ``image``
        (None: boot from volume, no root disk), then ephemeral and swap if the plan
        has them. Returns them in that order, including those a previous run of the
        same create left complete (kept as they are, grown to ``root_gb`` if smaller).

        ``heartbeat()`` is called after each piece of downloaded data and after each
        disk (a durable task renews its lease there; what it raises aborts the create).

        Sizes are checked before anything is made. On any failure, the disks this
        call made, and the incomplete ones it found, are removed; then it raises.

        Raises:
            FlavorTooSmall: ``root_gb`` is below the image's virtual size.
            DownloadRefused: not cloneable and ``never_download`` is set.
            DiskImageUnacceptable: the image's data is larger than the root disk.
            DiskBusy: an incomplete disk left by an earlier run stayed busy.
            errors.AlreadyExists: another create of the same server made a disk
                meanwhile (that disk is left alone).
        """
        _check_server_id(server_id)
        beat = heartbeat or _no_beat
        blanks = [(ephemeral_name(server_id), ephemeral_bytes(plan.ephemeral_gb)),
                  (swap_name(server_id), swap_bytes(plan.swap_mb))]
        made: list[MadeDisk] = []
        touched: list[str] = []  # disks this call made (or is finishing): removed on failure
        with self._backend.pool() as pool:
            try:
                if image is not None:
                    made.append(self._root(pool, root_name(server_id), image, plan.root_gb,
                                           beat, touched))
                    beat()
                for name, size in blanks:
                    if size > 0:
                        made.append(self._blank(pool, name, size, touched))
                        beat()
            except BaseException:
                for name in reversed(touched):
                    self._discard(pool, name)
                raise
        return made

    def _root(self, pool: Pool, name: str, image: DiskImage, root_gb: int,
              beat: Callable[[], None], touched: list[str]) -> MadeDisk:
        """The root disk ``name``: kept if complete, else cloned or downloaded (an
        incomplete clone of the same snapshot is finished, any other removed first)."""
        found = _inspect(pool, name)
        if found is not None and found.how is not None:
            log.info("root disk %s/%s is complete already (%s)", pool.name, name, found.how)
            size = self._finish(pool, name, root_bytes(root_gb, 0), found.how)
            return MadeDisk(name, size, found.parent, found.how)
        source = self._root_source(image)
        size = root_bytes(root_gb, source.base_bytes)
        if source.clone is None and self._options.never_download:
            raise DownloadRefused(
                f"image {image.id} cannot be cloned in this cluster ({source.refusal}), and "
                "[workarounds] never_download_image_if_on_rbd = true refuses to download "
                "and import it: store the image as raw in this cluster's RBD image store, "
                "or set never_download_image_if_on_rbd = false")
        reuse = found is not None and source.clone is not None \
            and found.parent == source.parent_spec
        if found is not None and not reuse:
            log.warning("root disk %s/%s is incomplete (an interrupted create): "
                        "removing it to make it again", pool.name, name)
            self._destroy(pool, name)
        how: DiskHow
        if source.clone is not None:
            if not reuse:
                self._clone(pool, source.clone, name)
            touched.append(name)
            how = "clone"
            log.info("root disk %s/%s cloned from %s", pool.name, name, source.parent_spec)
        else:
            log.info("image %s is not cloneable (%s): downloading it into %s/%s", image.id,
                     source.refusal, pool.name, name)
            self._create(pool, name, size)
            touched.append(name)
            self._write(pool, name, size, image, beat)
            how = "import"
        return MadeDisk(name, self._finish(pool, name, size, how), source.parent_spec, how)

    def _root_source(self, image: DiskImage) -> _RootSource:
        """The first cloneable location of a raw ``image`` (Nova tries them in order),
        else a download and why (the first location's refusal)."""
        if image.disk_format != "raw":
            shown = image.disk_format or "of no format"
            return _RootSource(None, image.virtual_bytes, f"the image is {shown}, not raw")
        first: NotCloned | None = None
        for url in image.locations:
            found = find_cloneable(self._backend, url)
            if not isinstance(found, NotCloned):
                return _RootSource(found, found.size, "")
            first = first or found
        refusal = "the image service shows no location" if first is None else (
            f"location {first.location}: {first.detail}")
        return _RootSource(None, image.virtual_bytes, refusal)

    def _clone(self, pool: Pool, source: Cloneable, name: str) -> None:
        """Clone ``source`` into ``name`` with the backend's features, the parent's order."""
        ref = source.parent
        with self._backend.pool(ref.pool) as parent_pool:
            pool.lib.RBD().clone(parent_pool.ioctx, ref.image, ref.snap, pool.ioctx, name,
                                 features=self.features)

    @staticmethod
    def _write(pool: Pool, name: str, size: int, image: DiskImage,
               beat: Callable[[], None]) -> None:
        """Write the image's raw data into new disk ``name`` of ``size`` bytes."""
        with pool.open(name) as img:
            try:
                write_stream(img, _beating(image.raw_data(), beat), size, 1 << img.order())
            except ImageUnacceptable as exc:
                raise DiskImageUnacceptable(
                    f"image {image.id}: its raw data is larger than the root disk "
                    f"({size} bytes; the image says {image.virtual_bytes})") from exc

    def _blank(self, pool: Pool, name: str, size: int, touched: list[str]) -> MadeDisk:
        """The empty disk ``name`` of ``size`` bytes: kept if complete, else made."""
        found = _inspect(pool, name)
        if found is not None and found.how is not None:
            return MadeDisk(name, found.size, found.parent, found.how)
        if found is not None:
            log.warning("disk %s/%s is incomplete (an interrupted create): making it again",
                        pool.name, name)
            self._destroy(pool, name)
        self._create(pool, name, size)
        touched.append(name)
        return MadeDisk(name, self._finish(pool, name, size, "blank"), None, "blank")

    def _create(self, pool: Pool, name: str, size: int) -> None:
        pool.lib.RBD().create(pool.ioctx, name, size, old_format=False,
                              features=self.features)

    @staticmethod
    def _finish(pool: Pool, name: str, size: int, how: DiskHow) -> int:
        """Grow ``name`` to ``size`` bytes if smaller, mark it complete; its size."""
        with pool.open(name) as img:
            if int(img.size()) < size:
                img.resize(size)
            img.metadata_set(MADE_KEY, how)
            return int(img.size())

    @staticmethod
    def _discard(pool: Pool, name: str) -> None:
        """Remove a disk of a failed create (one try; a failure is logged)."""
        try:
            pool.lib.RBD().remove(pool.ioctx, name)
        except pool.lib.ImageNotFound:
            pass
        except errors.ShoalError as exc:
            log.warning("could not remove disk %s/%s of a failed create: %s", pool.name, name,
                        exc)

    # --- remove -----------------------------------------------------------------------
    def remove(self, server_id: str) -> list[str]:
        """Remove every ``<server_id>_disk*`` image of the pool (snapshots first),
        retrying a busy one ``destroy_retries`` times ``destroy_retry_interval_s``
        apart. Returns the names removed, sorted ([] if there were none).

        Raises:
            DiskBusy: disks stayed busy (the others are removed; see its ``busy``
                and ``removed``).
        """
        _check_server_id(server_id)
        removed: list[str] = []
        busy: list[DiskBusy] = []
        with self._backend.pool() as pool:
            for name in disk_names(server_id, list(pool.lib.RBD().list(pool.ioctx))):
                try:
                    self._destroy(pool, name)
                except DiskBusy as exc:
                    busy.append(exc)
                    continue
                removed.append(name)
        if busy:
            raise DiskBusy("; ".join(exc.message for exc in busy),
                           busy=[n for exc in busy for n in exc.busy], removed=removed)
        log.info("removed the disks of server %s: %s", server_id, ", ".join(removed) or "none")
        return removed

    def _destroy(self, pool: Pool, name: str) -> None:
        destroy(pool, name, self._options.destroy_retries + 1,
                self._options.destroy_retry_interval_s, self._pause)

    def _pause(self) -> None:
        """Wait ``destroy_retry_interval_s`` between two tries at a busy disk."""
        if self._options.destroy_retry_interval_s > 0:
            time.sleep(self._options.destroy_retry_interval_s)

    # --- look ---------------------------------------------------------------------
    def disks(self, server_id: str) -> list[DiskInfo]:
        """The disks of server ``server_id`` in the pool, sorted by name, complete or
        not (:attr:`DiskInfo.complete`)."""
        _check_server_id(server_id)
        with self._backend.pool() as pool:
            names = disk_names(server_id, list(pool.lib.RBD().list(pool.ioctx)))
            found = [_inspect(pool, name) for name in names]
        return [disk for disk in found if disk is not None]
