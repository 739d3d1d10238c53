"""The volume backup service (Cinder's backup API over Ceph RBD).

- :class:`BackupService`: backups in the database (:mod:`._models`), Cinder's rules, the
  backup policy (:mod:`.policy`) and the ``backups``/``backup_gigabytes`` quotas (counted by
  :mod:`shoal.services.volume.quotas`); long operations as durable tasks
  (:class:`BackupWork`, registered on the deployment's task runner).
- :func:`create_volume_from_backup`: a new volume restored from a backup (Cinder's create
  with ``backup_id``, 3.47; :mod:`._from_backup`).
- :mod:`.driver`: Cinder's Ceph backup driver semantics over shoal's RBD layer.
"""

from __future__ import annotations

from shoal.services.backup._from_backup import (
    create_volume_from_backup as create_volume_from_backup,
)
from shoal.services.backup._service import BACKUP_SERVICE as BACKUP_SERVICE
from shoal.services.backup._service import BackupService as BackupService
from shoal.services.backup._service import BackupServiceOptions as BackupServiceOptions
from shoal.services.backup._work import BackupWork as BackupWork

__all__ = ["BACKUP_SERVICE", "BackupService", "BackupServiceOptions", "BackupWork",
           "create_volume_from_backup"]
