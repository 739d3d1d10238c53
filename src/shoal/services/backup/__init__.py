"""The volume backup service (Cinder's backup API over Ceph RBD).

- :class:`BackupService`: backups in the database (:mod:`._models`), Cinder's rules, the
  backup policy (:mod:`.policy`) and the ``backups``/``backup_gigabytes`` quotas (counted by
  :mod:`shoal.services.volume.quotas`); long operations as durable tasks
  (:class:`BackupWork`, registered on the deployment's task runner).
- :class:`BackupChecks` (``BackupService.checks``): shoal's own check of a backup's stored
  data against the SHA-256 recorded with it, and a volume's backup chains.
- :func:`create_volume_from_backup`: a new volume restored from a backup (Cinder's create
  with ``backup_id``, 3.47; :mod:`._from_backup`).
- :mod:`.driver`: Cinder's Ceph backup driver semantics over shoal's RBD layer.
"""

from __future__ import annotations

from shoal.services.backup._checks import BackupChecks as BackupChecks
from shoal.services.backup._checks import ChainLink as ChainLink
from shoal.services.backup._checks import Verification as Verification
from shoal.services.backup._from_backup import (
    create_volume_from_backup as create_volume_from_backup,
)
from shoal.services.backup._service import BACKUP_SERVICE as BACKUP_SERVICE
from shoal.services.backup._service import BackupService as BackupService
from shoal.services.backup._service import BackupServiceOptions as BackupServiceOptions
from shoal.services.backup._work import BackupWork as BackupWork

__all__ = [
    "BACKUP_SERVICE",
    "BackupChecks",
    "BackupService",
    "BackupServiceOptions",
    "BackupWork",
    "ChainLink",
    "Verification",
    "create_volume_from_backup",
]
