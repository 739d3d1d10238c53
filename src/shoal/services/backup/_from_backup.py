"""Volumes made from a backup: Cinder's ``POST /volumes`` with ``backup_id`` (3.47).

The new volume is recorded as any new volume is (:meth:`VolumeService.create_volume`: the
type asked for, else the default type, as Cinder does not take the backed-up volume's; the
availability zone, group, metadata, policy and the ``volumes``/``gigabytes`` quotas),
``creating``, of the size asked for (GiB; default: the backup's), at least the backup's.
Its data is the backup restored into it: the very work of a restore into a new volume
(:meth:`BackupWork.restore_backup`: the image made, the backup's data copied or
diff-restored, the backed-up volume's metadata and bootable flag applied), run as a task
kind of its own so that it ends as Cinder's create from a backup ends:

==========================  =====================================  ==========================
kind                        from → to                              on failure
==========================  =====================================  ==========================
``backup.create_volume``    the volume creating → available; the   the volume error (its
                            backup restoring → available           partial image removed);
                                                                   the backup available
==========================  =====================================  ==========================

Refusals, before anything is recorded: the backup absent or hidden from the caller (404
``Backup <id> could not be found.``), not ``available`` (400 ``Invalid backup: ...``), a
size below the backup's (400), and whatever refuses any new volume (a reader 403, an
unknown type 404, over quota 413...). A volume no backend takes is recorded in ``error``
(as any new volume) and the backup is left as it was.

A ``shoal up`` killed mid-restore resumes the task at the next start: the partial image
is removed and the restore made anew (:meth:`BackupWork.restore_backup` on a resumed
task); a task that gives up ends as a failure above.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from sqlalchemy.orm import Session

from shoal import errors
from shoal.services.backup._models import Backup
from shoal.services.backup._service import BackupService, _invalid_backup, _ref_params
from shoal.services.tasks import ResourceRef, TaskContext, TaskInfo
from shoal.services.volume import Backend
from shoal.services.volume._service import VolumeMaker
from shoal.services.volume._work import Hook, backend_driver, discard_partial_volume
from shoal.services.volume.models import Volume
from shoal.services.volume.policy import CallerLike
from shoal.services.volume.records import VolumeRecord

if TYPE_CHECKING:  # _work registers this module's kind: no import at run time
    from shoal.services.backup._work import BackupWork

__all__ = ["KIND", "VolumeFromBackupWork", "create_volume_from_backup"]

log = logging.getLogger(__name__)

#: The task kind that fills a volume made from a backup.
KIND: Final = "backup.create_volume"


def create_volume_from_backup(
    backups: BackupService, caller: CallerLike, backup_id: str, *, size: int | None,
    name: str | None = None, description: str | None = None, volume_type: str | None = None,
    availability_zone: str | None = None, metadata: Mapping[str, str] | None = None,
    multiattach: bool = False, group_id: str | None = None,
) -> VolumeRecord:
    """Record a new volume (``creating``) made from backup ``backup_id``, the backup
    ``restoring``, and the task that restores it, in one transaction (202).

    ``size`` is GiB (None: the backup's size); the other arguments are those of
    :meth:`VolumeService.create_volume`.

    Raises:
        NotFound: no such backup for the caller (or the type, the group...).
        InvalidArgument: the backup is not ``available``; ``size`` is below the backup's
            (or under 1 GiB); whatever refuses a new volume.
        PolicyNotAuthorized: the caller may not create volumes (a reader).
        QuotaExceeded: over the project's ``volumes``/``gigabytes`` limits.
    """
    with backups.db.session() as session:
        row = backups._visible(session, caller, backup_id, "backup:get")
        if row.status != "available":
            raise _invalid_backup("Originating backup status must be one of 'available' "
                                  "values")
        wanted = row.size if size is None else size
        if wanted < 1:  # an imported record of a 0 GiB backup, with no size asked
            raise errors.InvalidArgument(f"Invalid input received: Volume size '{wanted}' "
                                         "must be an integer and greater than 0")
        if wanted < row.size:
            raise errors.InvalidArgument(
                f"Invalid input received: Volume size {wanted}GB cannot be smaller than the "
                f"backup size {row.size}GB. It must be >= backup size.")
        return backups.volumes.create_volume(
            caller, size=wanted, name=name, description=description, volume_type=volume_type,
            availability_zone=availability_zone, metadata=metadata, multiattach=multiattach,
            group_id=group_id, session=session, maker=_restore_into(backups, row))


def _restore_into(backups: BackupService, row: Backup) -> VolumeMaker:
    """The :data:`~shoal.services.volume._service.VolumeMaker` that marks backup ``row``
    ``restoring`` and submits :data:`KIND` to restore it into the new volume."""
    def start(session: Session, vol: Volume, backend: Backend) -> None:
        section, pool = backups._backend_of(vol)
        assert section == backend.section, (section, backend.section)
        row.status = "restoring"
        row.updated_at = backups.now()
        backups.runner.submit(KIND, ResourceRef("backup", row.id, row.project_id), {
            "backend": section, "pool": pool, "volume_id": vol.id, "volume_size": vol.size,
            "volume_is_new": True, "ref": _ref_params(row)}, session=session)
    return start


class VolumeFromBackupWork:
    """The handler and failure hook of :data:`KIND`, over ``work``'s drivers (registered
    by :meth:`BackupWork.register` with its own kinds)."""

    def __init__(self, work: BackupWork) -> None:
        self.work = work

    def table(self) -> list[tuple[str, Callable[[TaskContext], None], Hook]]:
        """``(kind, handler, failure hook)`` rows for :func:`register_resumable`."""
        return [(KIND, self.create_volume, self._create_failed)]

    def create_volume(self, ctx: TaskContext) -> None:
        """Make the volume's image and restore the backup into it (a resumed task first
        removes what the cut-short attempt left); on a failure remove the partial image
        (an interruption leaves it to the resumed attempt) and let the failure go."""
        driver = backend_driver(self.work.volume_drivers, ctx.params["backend"])
        try:
            self.work.restore_backup(ctx)
        except Exception:
            discard_partial_volume(driver, ctx.params["volume_id"])
            raise

    def _create_failed(self, session: Session, task: TaskInfo, message: str) -> None:
        """The volume ``error``, the backup back to ``available`` (idempotent)."""
        backup = session.get(Backup, task.resource.id)
        if backup is not None and backup.status == "restoring":
            backup.status = "available"
            backup.updated_at = self.work.now()
        vol = session.get(Volume, task.params["volume_id"])
        if vol is not None and vol.status == "creating":
            vol.status = "error"
            vol.updated_at = self.work.now()
        log.warning("volume %s: create from backup %s failed: %s", task.params["volume_id"],
                    task.resource.id, message)
