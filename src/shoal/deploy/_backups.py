"""The backup service of ``shoal up``: Cinder's Ceph backup driver over each volume backend,
writing ``backup_ceph_pool`` as ``backup_ceph_user`` (``client.cinder-backup``) and reading
the volumes with their backend's own session (``rbd_user``, ``client.cinder``): no other
cephx user is involved."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from shoal import errors
from shoal._time import utcnow
from shoal.cluster import Session
from shoal.config import ShoalConfig
from shoal.db import Database
from shoal.services.backup import (
    BackupChecks,
    BackupService,
    BackupServiceOptions,
    BackupWork,
)
from shoal.services.backup.driver import BackupOptions, CephBackupDriver
from shoal.services.tasks import TaskRunner
from shoal.services.volume import VolumeService
from shoal.services.volume.driver import RbdVolumeDriver

__all__ = ["BackupStack", "backup_stack"]

log = logging.getLogger(__name__)


@dataclass
class BackupStack:
    """The backup service, its host (as ``os-services`` lists cinder-backup) and the
    backup user's session (the caller shuts it down)."""

    service: BackupService
    host: str
    session: Session


def backup_stack(cfg: ShoalConfig, db: Database, tasks: TaskRunner, volumes: VolumeService,
                 drivers: Mapping[str, RbdVolumeDriver], sessions: Mapping[str, Session],
                 session_for: Callable[[str | None, str], Session], host: str
                 ) -> BackupStack | None:
    """Build the backup service when ``backup_driver`` is Cinder's Ceph driver and its pool
    opens, registering its task handlers on ``tasks`` (before ``tasks.recover()``); None
    otherwise (no backup routes, no cinder-backup service; the reason is logged).

    ``drivers`` and ``sessions`` map each volume backend section to its RBD driver and its
    ``rbd_user`` session.
    """
    cinder = cfg.cinder
    if not cinder.backup_driver_is_ceph:
        log.info("backup_driver is %s: backups are not served (shoal serves "
                 "cinder.backup.drivers.ceph)", cinder.backup_driver)
        return None
    options = BackupOptions.from_config(cinder)
    session = session_for(cinder.backup_ceph_user, cinder.backup_ceph_conf)
    try:
        backup_drivers = {name: CephBackupDriver(sessions[name], session, options)
                          for name in drivers}
        for driver in backup_drivers.values():
            driver.check_for_setup_error()
    except errors.ShoalError as exc:
        session.shutdown()
        log.warning("backups are not served: %s", exc)
        return None
    BackupWork(backup_drivers, drivers, utcnow).register(tasks)
    pools = {name: driver.options.rbd_pool for name, driver in drivers.items()}
    service = BackupService(db, tasks, volumes, BackupServiceOptions(
        host=host, availability_zone=cinder.storage_availability_zone,
        container=options.pool, volume_pools=pools))
    # any backend's driver verifies: a check reads only the backup pool, as the backup user
    for driver in list(backup_drivers.values())[:1]:
        service.checks = BackupChecks(db, driver.verify, utcnow)
    return BackupStack(service, host, session)
