"""Taking a backup: the RBD diff path (Cinder's ``_backup_rbd``) and the full copy of a
volume snapshot (``_full_backup``).

Both leave nothing behind when they fail: a base image they created is removed with its
snapshots, a restore point they added to a parent's base is removed, the snapshot they
took of the source volume is removed, and so is a metadata object they wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shoal import errors
from shoal.rbd import (
    FEATURE_EXCLUSIVE_LOCK,
    FEATURE_FAST_DIFF,
    FEATURE_JOURNALING,
    FEATURE_LAYERING,
    FEATURE_OBJECT_MAP,
    FEATURE_STRIPINGV2,
    RbdImage,
    feature_names,
)
from shoal.services.backup.driver._digest import (
    BlockHasher,
    read_digests,
    remove_digests,
    write_digests,
)
from shoal.services.backup.driver._errors import (
    BackupExists,
    BackupOperationError,
    BackupRBDOperationFailed,
    BackupUnavailable,
    VolumeNotFound,
)
from shoal.services.backup.driver._meta import remove_meta, write_meta
from shoal.services.backup.driver._names import (
    BackupSnap,
    backup_snaps,
    base_name,
    legacy_base_name,
    new_snap_name,
    snapshot_name,
    volume_name,
)
from shoal.services.backup.driver._options import BackupOptions
from shoal.services.backup.driver._plumbing import (
    Pool,
    image_exists,
    log,
    open_image,
    remove_image_quietly,
    remove_snap_quietly,
)
from shoal.services.backup.driver._transfer import (
    copy_chunks,
    pipe_diff,
    reset_head,
)
from shoal.services.backup.driver._types import (
    FORCED_FULL_FROM_SNAPSHOT,
    FORCED_FULL_PARENT_SNAPSHOT_PRUNED,
    BackupRef,
    BackupResult,
)

__all__ = ["BackupJob", "base_features", "only_snap_of", "prune_source_snaps"]


def base_features(options: BackupOptions) -> int:
    """Features of new base images (``_get_rbd_support``): layering, striping v2,
    exclusive-lock, object-map and fast-diff (so diffs of them are cheap), plus
    journaling with ``backup_ceph_image_journals``."""
    features = (FEATURE_LAYERING | FEATURE_STRIPINGV2 | FEATURE_EXCLUSIVE_LOCK
                | FEATURE_OBJECT_MAP | FEATURE_FAST_DIFF)
    if options.image_journals:
        features |= FEATURE_JOURNALING
    return features


def prune_source_snaps(source: RbdImage, keep: int, pool: str, volume: str) -> list[str]:
    """Remove the source's backup snapshots but the newest ``keep``; return the removed.

    Best effort: a snapshot that cannot be removed is logged and kept (the backup
    itself is complete).
    """
    assert keep > 0
    snaps = backup_snaps(source.list_snaps())
    removed = []
    for snap in snaps[:max(len(snaps) - keep, 0)]:
        try:
            source.remove_snap(snap.name)
        except errors.ShoalError as exc:
            log.warning("could not prune snapshot %s/%s@%s: %s", pool, volume, snap.name, exc)
            continue
        removed.append(snap.name)
    if removed:
        log.info("pruned %d backup snapshot(s) of %s/%s (backup_ceph_max_snapshots=%d)",
                 len(removed), pool, volume, keep)
    return removed


@dataclass
class BackupJob:
    """One backup: ``source`` is the volume pool as the volume user, ``target`` the
    backup pool as the backup user."""

    backup_id: str
    volume_id: str
    source: Pool
    target: Pool
    options: BackupOptions
    volume_metadata: str | None
    clock: Callable[[], float]

    # --- the RBD diff path ---------------------------------------------------------------
    def backup_rbd(self, parent: BackupRef | None) -> BackupResult:
        """Diff the volume into a base image (see :meth:`CephBackupDriver.backup`)."""
        volume = volume_name(self.volume_id)
        src = open_image(self.source, volume, missing=self._volume_missing)
        with src:
            base, from_snap, forced = self._plan(src, parent)
            new_snap = new_snap_name(self.backup_id, self.clock())
            made_base = made_snap = wrote_meta = wrote_digests = False
            try:
                if from_snap is None:
                    self._create_base(base, int(src.size()))
                    made_base = True
                src.create_snap(new_snap)
                made_snap = True
                with open_image(self.source, volume, snapshot=new_snap, read_only=True) as at, \
                        open_image(self.target, base) as dest:
                    size = int(at.size())
                    if from_snap is not None and reset_head(dest, from_snap):
                        log.warning("base image %s/%s had moved past %s (an earlier backup "
                                    "was cut short): rolled back", self.target.name, base,
                                    from_snap)
                    hasher = self._hasher(size, at, parent if from_snap is not None else None)
                    pipe_diff(at, dest, from_snap=from_snap, end_snap=new_snap,
                              observe=None if hasher is None else hasher.record)
                    digests = None if hasher is None else hasher.finish()  # may read ``at``
                if digests is not None:
                    write_digests(self.target.ioctx, self.backup_id, digests)
                    wrote_digests = True
                if self.volume_metadata is not None:
                    write_meta(self.target.ioctx, self.backup_id, self.volume_metadata)
                    wrote_meta = True
            except BaseException:
                # an incremental's base had no snapshot of this backup before (_plan checked)
                self._undo(base, made_base=made_base, parent_snap=from_snap,
                           wrote_meta=wrote_meta, wrote_digests=wrote_digests)
                if made_snap:
                    self._remove_source_snap(src, volume, new_snap)
                raise
            if self.options.max_snapshots > 0:
                prune_source_snaps(src, self.options.max_snapshots, self.source.name, volume)
        return BackupResult(self.backup_id, self.volume_id, self.target.name, {"base": base},
                            incremental=from_snap is not None, forced_full_reason=forced,
                            size_bytes=size, restore_point=new_snap,
                            sha256=None if digests is None else digests.sha256(),
                            data_bytes=0 if hasher is None else hasher.data_bytes)

    def _hasher(self, size: int, at: RbdImage, parent: BackupRef | None
                ) -> BlockHasher | None:
        """The hasher of a backup of ``size`` bytes (``at``: the volume at its new
        snapshot): a full one, or one that builds on ``parent``'s digests (None, so no
        digest, when the parent has none: a backup taken before shoal kept them)."""
        if parent is None:
            return BlockHasher(size)
        previous = read_digests(self.target.ioctx, parent.backup_id)
        if previous is None:
            log.warning("backup %s: parent backup %s has no block digests: this incremental "
                        "gets no SHA-256", self.backup_id, parent.backup_id)
            return None
        return BlockHasher(size, previous=previous, fill=at.read)

    def _plan(self, src: RbdImage, parent: BackupRef | None
              ) -> tuple[str, str | None, str | None]:
        """(base image, from-snapshot or None for a full diff, forced-full reason)."""
        own = base_name(self.volume_id, self.backup_id)
        if parent is None:
            return own, None, None
        on_source = [s for s in backup_snaps(src.list_snaps())
                     if s.backup_id == parent.backup_id]
        if not on_source and self.options.max_snapshots > 0:
            log.info("backup %s: the snapshot of parent backup %s was pruned from volume %s "
                     "(backup_ceph_max_snapshots=%d): taking a full backup",
                     self.backup_id, parent.backup_id, self.volume_id,
                     self.options.max_snapshots)
            return own, None, FORCED_FULL_PARENT_SNAPSHOT_PRUNED
        base = self._parent_base(parent)
        from_snap = self._restore_point_of(base, parent)
        if from_snap not in {s.name for s in on_source}:
            raise BackupRBDOperationFailed(
                f"volume {self.volume_id} no longer has snapshot {from_snap} of parent backup "
                f"{parent.backup_id}, so no incremental backup can be taken from it: take a "
                "full backup")
        return base, from_snap, None

    def _parent_base(self, parent: BackupRef) -> str:
        recorded = parent.recorded_base()
        names = [recorded] if recorded else [base_name(self.volume_id, parent.backup_id),
                                             legacy_base_name(self.volume_id)]
        for name in names:
            if image_exists(self.target, name):
                return name
        raise BackupRBDOperationFailed(
            f"the base image of parent backup {parent.backup_id} ({' or '.join(names)}) "
            f"is not in pool '{self.target.name}': take a full backup")

    def _restore_point_of(self, base: str, parent: BackupRef) -> str:
        with open_image(self.target, base, read_only=True) as img:
            snaps = backup_snaps(img.list_snaps())
        if any(s.backup_id == self.backup_id for s in snaps):
            raise BackupExists(f"base image {base} already holds a snapshot of backup "
                               f"{self.backup_id}")
        return only_snap_of(snaps, parent.backup_id, base, BackupRBDOperationFailed(
            f"can't find the snapshot of parent backup {parent.backup_id} on base image "
            f"{base}: take a full backup"))

    # --- the full copy of a snapshot ---------------------------------------------------
    def backup_snapshot(self, snapshot_id: str, parent: BackupRef | None) -> BackupResult:
        """Copy the snapshot into a new base image, chunk by chunk."""
        volume = volume_name(self.volume_id)
        snap = snapshot_name(snapshot_id)
        src = open_image(self.source, volume, snapshot=snap, read_only=True,
                         missing=lambda: VolumeNotFound(
                             f"volume {self.volume_id} has no snapshot {snapshot_id} "
                             f"(no RBD snapshot {self.source.name}/{volume}@{snap})"))
        base = base_name(self.volume_id, self.backup_id)
        with src:
            size = int(src.size())
            self._create_base(base, size)
            wrote_meta = wrote_digests = False
            hasher = BlockHasher(size)
            try:
                with open_image(self.target, base) as dest:
                    copy_chunks(src, dest, length=size, chunk_bytes=self.options.chunk_size,
                                skip_zero_chunks=True,  # the base is new: it reads as zeros
                                observe=hasher.feed)
                digests = hasher.finish()
                write_digests(self.target.ioctx, self.backup_id, digests)
                wrote_digests = True
                if self.volume_metadata is not None:
                    write_meta(self.target.ioctx, self.backup_id, self.volume_metadata)
                    wrote_meta = True
            except BaseException:
                self._undo(base, made_base=True, parent_snap=None, wrote_meta=wrote_meta,
                           wrote_digests=wrote_digests)
                raise
        return BackupResult(self.backup_id, self.volume_id, self.target.name, {"base": base},
                            incremental=False,
                            forced_full_reason=FORCED_FULL_FROM_SNAPSHOT if parent else None,
                            size_bytes=size, restore_point=None, sha256=digests.sha256(),
                            data_bytes=hasher.data_bytes)

    # --- helpers --------------------------------------------------------------------------
    def _create_base(self, name: str, size: int) -> None:
        opts = self.options
        features = base_features(opts)
        lib = self.target.lib
        try:
            lib.RBD().create(self.target.ioctx, name, size, old_format=False,
                             features=features, stripe_unit=opts.stripe_unit or None,
                             stripe_count=opts.stripe_count or None)
        except lib.ImageExists:
            raise BackupExists(f"base image {name} already exists in pool "
                               f"'{self.target.name}'") from None
        except errors.NotSupported as exc:
            raise BackupUnavailable(
                f"the backup pool '{self.target.name}' cannot hold images with the features "
                f"{', '.join(feature_names(features))} (backup_ceph_image_journals needs a "
                f"Ceph cluster): {exc}") from exc

    def _undo(self, base: str, *, made_base: bool, parent_snap: str | None,
              wrote_meta: bool, wrote_digests: bool) -> None:
        """Remove what this backup made in the backup pool (see the module doc): the base
        if it made it; else, for an incremental (from ``parent_snap``), its snapshot on
        the parent's base (there was none before: ``_plan`` checked), and the base's head
        goes back to ``parent_snap``. Never raises a ShoalError."""
        if made_base:
            remove_image_quietly(self.target, base)
        elif parent_snap is not None:
            for snap in self._own_snaps(base):
                remove_snap_quietly(self.target, base, snap.name)
            try:
                with open_image(self.target, base) as img:
                    reset_head(img, parent_snap)
            except errors.ShoalError as exc:
                log.warning("could not roll %s/%s back to %s: %s", self.target.name, base,
                            parent_snap, exc)
        for wrote, remove, what in ((wrote_meta, remove_meta, "metadata"),
                                    (wrote_digests, remove_digests, "digests")):
            if not wrote:
                continue
            try:
                remove(self.target.ioctx, self.backup_id)
            except errors.ShoalError as exc:
                log.warning("could not remove the %s of backup %s: %s", what,
                            self.backup_id, exc)

    def _remove_source_snap(self, src: RbdImage, volume: str, snap: str) -> None:
        """Remove the snapshot this backup took of the volume, through the handle that
        took it (it holds the volume's lock). Never raises a ShoalError."""
        try:
            src.remove_snap(snap)
        except errors.ShoalError as exc:
            log.warning("could not remove snapshot %s/%s@%s: %s", self.source.name, volume,
                        snap, exc)

    def _own_snaps(self, base: str) -> list[BackupSnap]:
        try:
            with open_image(self.target, base, read_only=True) as img:
                return [s for s in backup_snaps(img.list_snaps())
                        if s.backup_id == self.backup_id]
        except errors.ShoalError as exc:
            log.warning("could not list the snapshots of %s/%s: %s", self.target.name, base, exc)
            return []

    def _volume_missing(self) -> errors.ShoalError:
        return VolumeNotFound(f"volume {self.volume_id} has no RBD image "
                              f"{self.source.name}/{volume_name(self.volume_id)}")


def only_snap_of(snaps: list[BackupSnap], backup_id: str, base: str,
                 missing: errors.ShoalError) -> str:
    """The name of ``backup_id``'s one snapshot among ``snaps``; raise ``missing`` if
    there is none.

    Raises:
        BackupOperationError: there are several (a backup has at most one).
    """
    mine = [s.name for s in snaps if s.backup_id == backup_id]
    if not mine:
        raise missing
    if len(mine) > 1:
        raise BackupOperationError(f"backup {backup_id} has {len(mine)} snapshots on base "
                                   f"image {base}, not one: {', '.join(mine)}")
    return mine[0]
