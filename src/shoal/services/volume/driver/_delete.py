"""Deleting volumes (Cinder's ``_delete_volume``), with the parent clean-up and
the trash purge.

``delete(pool, name)``:

1. remove the Ceph backup driver's snapshots ``backup.*.snap.*``;
2. remove every ``*.clone_snap`` that no longer has a clone; if one still
   has, rename the volume ``<name>.deleted`` and stop (a "silent" volume,
   removed when its last clone goes; swept once more right after the rename, in
   case a concurrent delete removed that clone meanwhile);
3. remove the image. If it has snapshots, flatten the clones of all of them
   and try again; if snapshots still remain, move it to the trash. A busy
   image (another client has it open) is tried ``rados_connection_retries``
   times, ``rados_connection_interval`` seconds apart, then ``VolumeIsBusy``.
   With ``enable_deferred_deletion`` the image goes to the trash instead,
   removable after ``deferred_deletion_delay`` seconds;
4. if the volume was a clone of a volume (``<parent>@<name>.clone_snap``),
   walk up the chain: remove that snapshot, and remove a ``.deleted`` parent
   left with no snapshot, then its own parent's snapshot, and so on.

An image that does not exist counts as deleted. Differences from Cinder 29
(deliberate): step 4 also follows a plain successful removal (Cinder returns
early there and leaves the parent's ``.clone_snap`` and a ``.deleted`` parent
behind for good); step 2 drops ``.clone_snap`` snapshots without clones instead
of hiding the volume for them; the busy retry never moves an image that is
open elsewhere to the trash; and the purge also finishes the parent clean-up
of the clones it removes from the trash, and removes ``.deleted`` leftovers
whose clones are gone.
"""

from __future__ import annotations

import enum
import logging
import time

from shoal import errors, limits
from shoal.rbd import RbdImage
from shoal.services.volume.driver._backend import Backend, Pool
from shoal.services.volume.driver._chain import ParentRef, clone_parent, flatten_children
from shoal.services.volume.driver._errors import VolumeBackendError, VolumeIsBusy
from shoal.services.volume.driver._names import (
    CLONE_SNAP_SUFFIX,
    DELETED_SUFFIX,
    VOLUME_PREFIX,
    is_backup_snap,
)

__all__ = ["DeleteOutcome", "Remover"]

log = logging.getLogger("shoal.services.volume")


class DeleteOutcome(enum.StrEnum):
    """What ``delete_volume`` did with the volume's image."""

    #: there was no image: nothing to do.
    ABSENT = "absent"
    #: the image is gone.
    REMOVED = "removed"
    #: the image is in the pool's trash (it kept snapshots, or deferred deletion).
    TRASHED = "trashed"
    #: the image was renamed ``<name>.deleted``: clones of it still exist.
    HIDDEN = "hidden"


def _snap_names(img: RbdImage) -> list[str]:
    return [str(s["name"]) for s in img.list_snaps()]


class Remover:
    """The deletion algorithm of the module doc, over one :class:`Backend`."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    # --- delete -------------------------------------------------------------------
    def delete(self, pool: Pool, name: str) -> DeleteOutcome:
        """Delete volume image ``name`` (steps 1 to 4 of the module doc).

        Raises:
            VolumeIsBusy: the image stayed open by another client.
            VolumeBackendError: the ``.deleted`` name is taken.
        """
        try:
            img = pool.open(name)
        except pool.lib.ImageNotFound:
            log.info("volume %s/%s does not exist: nothing to delete", pool.name, name)
            return DeleteOutcome.ABSENT
        with img:
            for snap in _snap_names(img):
                if is_backup_snap(snap) and not pool.remove_snap(img, snap):
                    log.warning("backup snapshot %s@%s has clones: kept", name, snap)
            kept = [snap for snap in _snap_names(img)
                    if snap.endswith(CLONE_SNAP_SUFFIX) and not pool.remove_snap(img, snap)]
            parent = clone_parent(pool, img, name)
        if kept:
            return self._hide(pool, name)
        outcome = self.remove(pool, name)
        if outcome is not DeleteOutcome.ABSENT and parent is not None:
            self.release_parent(pool, parent)
        return outcome

    def _hide(self, pool: Pool, name: str) -> DeleteOutcome:
        """Rename ``name`` to ``<name>.deleted``, then sweep it at once: its last clone
        may have gone (a concurrent delete) after its snapshots were looked at, and that
        clone's parent walk may have looked for the old name."""
        hidden = name if name.endswith(DELETED_SUFFIX) else name + DELETED_SUFFIX
        if hidden != name:
            try:
                pool.lib.RBD().rename(pool.ioctx, name, hidden)
            except pool.lib.ImageExists:
                raise VolumeBackendError(
                    f"cannot hide volume {pool.name}/{name}: {hidden} exists") from None
        outcome = self.sweep_hidden(pool, hidden)
        if outcome is DeleteOutcome.HIDDEN:
            log.info("volume %s/%s has clones: kept as %s until they go", pool.name, name,
                     hidden)
        else:
            log.info("volume %s/%s: its last clone went while it was hidden: removed",
                     pool.name, name)
        return outcome

    def remove(self, pool: Pool, name: str) -> DeleteOutcome:
        """Step 3 of the module doc for image ``name``.

        Raises:
            VolumeIsBusy: the image stayed open by another client.
        """
        options = self._backend.options
        if options.enable_deferred_deletion:
            return self._trash(pool, name, options.deferred_deletion_delay)
        rbd = pool.lib.RBD()
        busy = False
        try:
            rbd.remove(pool.ioctx, name)
            return DeleteOutcome.REMOVED
        except pool.lib.ImageNotFound:
            return DeleteOutcome.ABSENT
        except pool.lib.ImageHasSnapshots:
            log.info("volume %s/%s has snapshots: flattening their clones", pool.name, name)
            try:
                with pool.open(name, read_only=True) as img:
                    snaps = _snap_names(img)
            except pool.lib.ImageNotFound:
                return DeleteOutcome.ABSENT
            flatten_children(pool, name, snaps)
        except pool.lib.ImageBusy:
            busy = True
        for _retry in range(self._backend.attempts):
            if busy:
                self._backend.pause()
            try:
                rbd.remove(pool.ioctx, name)
                return DeleteOutcome.REMOVED
            except pool.lib.ImageNotFound:
                return DeleteOutcome.ABSENT
            except pool.lib.ImageHasSnapshots:
                return self._trash(pool, name, 0)
            except pool.lib.ImageBusy:
                busy = True
        raise VolumeIsBusy(_busy_message(name))

    def _trash(self, pool: Pool, name: str, delay_s: int) -> DeleteOutcome:
        """Move image ``name`` to the trash (removable after ``delay_s`` seconds),
        unless another client has it open (then retry, and ``VolumeIsBusy``)."""
        attempts = self._backend.attempts
        for attempt in range(attempts):
            if not pool.in_use(name):
                try:
                    pool.lib.RBD().trash_move(pool.ioctx, name, delay_s)
                    log.info("volume %s/%s moved to the trash (removable in %d s)",
                             pool.name, name, delay_s)
                    return DeleteOutcome.TRASHED
                except pool.lib.ImageNotFound:
                    return DeleteOutcome.ABSENT
                except pool.lib.ImageBusy:
                    pass
            if attempt + 1 < attempts:
                self._backend.pause()
        raise VolumeIsBusy(_busy_message(name))

    # --- the parent chain -----------------------------------------------------------
    def release_parent(self, pool: Pool, ref: ParentRef) -> None:
        """Step 4 of the module doc, from parent snapshot ``ref`` upwards.

        Best effort: the volume is deleted already, so a failure here is logged
        and the walk stops (:meth:`purge` finishes it later).
        """
        steps = 0
        current: ParentRef | None = ref
        while current is not None and steps <= limits.clone_depth_max:
            steps += 1
            this = current
            try:
                current = self._release_one(pool, this)
            except errors.ShoalError as exc:
                log.warning("cleaning up parent %s/%s@%s failed: %s", this.pool, this.image,
                            this.snap, exc)
                return

    def _release_one(self, pool: Pool, ref: ParentRef) -> ParentRef | None:
        """Remove ``ref``'s snapshot; if that leaves a ``.deleted`` parent without
        snapshots, remove it and return its own parent snapshot to release next.

        The parent is looked for under ``ref``'s name, then as ``<name>.deleted``: a
        concurrent delete of the parent may have hidden it since ``ref`` was read."""
        name = ref.image
        try:
            img = pool.open(name)
        except pool.lib.ImageNotFound:
            if name.endswith(DELETED_SUFFIX):
                return None
            name += DELETED_SUFFIX
            try:
                img = pool.open(name)
            except pool.lib.ImageNotFound:
                return None
        with img:
            grandparent = clone_parent(pool, img, name)
            if not pool.remove_snap(img, ref.snap):
                log.info("%s/%s@%s still has clones (in the trash?): kept", pool.name,
                         name, ref.snap)
                return None
            left = _snap_names(img)
        if left or not name.endswith(DELETED_SUFFIX):
            return None
        if self.remove(pool, name) is not DeleteOutcome.REMOVED:
            return None  # trashed (or gone meanwhile): its parent's snapshot waits for the purge
        log.info("removed %s/%s, its last clone gone", pool.name, name)
        return grandparent

    # --- purge ----------------------------------------------------------------------
    def sweep_hidden(self, pool: Pool, name: str) -> DeleteOutcome:
        """Remove ``.deleted`` image ``name`` if nothing needs it any more: drop its
        ``.clone_snap`` snapshots without clones; with no snapshot left, remove it
        and release its parent. Returns HIDDEN if it stays."""
        try:
            img = pool.open(name)
        except pool.lib.ImageNotFound:
            return DeleteOutcome.ABSENT
        with img:
            for snap in _snap_names(img):
                if snap.endswith(CLONE_SNAP_SUFFIX):
                    pool.remove_snap(img, snap)
            left = _snap_names(img)
            parent = clone_parent(pool, img, name)
        if left:
            return DeleteOutcome.HIDDEN
        outcome = self.remove(pool, name)
        if outcome is DeleteOutcome.REMOVED and parent is not None:
            self.release_parent(pool, parent)
        return outcome

    def purge(self, pool: Pool) -> int:
        """Remove the volumes in the trash whose deferment has ended (releasing
        their parents), then sweep ``.deleted`` leftovers. Only images named
        ``volume-*`` are touched. Returns how many images left the trash."""
        rbd = pool.lib.RBD()
        now = time.time()
        removed = 0
        for entry in rbd.trash_list(pool.ioctx):
            name = str(entry["name"])
            if not name.startswith(VOLUME_PREFIX) or float(entry["deferment_end_time"]) > now:
                continue
            parent: ParentRef | None = None
            try:
                with pool.lib.Image(pool.ioctx, image_id=str(entry["id"]),
                                    read_only=True) as img:
                    parent = clone_parent(pool, img, name)
            except errors.ShoalError as exc:
                log.debug("trashed volume %s: no parent info: %s", name, exc)
            try:
                rbd.trash_remove(pool.ioctx, str(entry["id"]))
            except errors.PermissionDenied:
                continue  # EPERM: not expired (a clock step)
            except (pool.lib.ImageHasSnapshots, pool.lib.ImageBusy,
                    pool.lib.ImageNotFound) as exc:
                log.info("trashed volume %s stays: %s", name, exc)
                continue
            removed += 1
            log.info("purged volume %s/%s from the trash", pool.name, name)
            if parent is not None:
                self.release_parent(pool, parent)
        for name in rbd.list(pool.ioctx):
            if name.startswith(VOLUME_PREFIX) and name.endswith(DELETED_SUFFIX):
                try:
                    self.sweep_hidden(pool, name)
                except errors.ShoalError as exc:
                    log.warning("sweeping %s/%s failed: %s", pool.name, name, exc)
        return removed


def _busy_message(name: str) -> str:
    return (f"volume image {name} is in use: another client has it open. Detach it; if "
            "a client crashed, retry the delete after 30 seconds")
