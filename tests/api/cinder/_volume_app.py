"""The volume app the in-process route tests drive: every part of
:class:`~shoal.services.volume.VolumeServices` over one database, behind the fake token
validator of :mod:`tests.api.conftest`. The caller builds the volume service (and its task
runner); a runner nobody starts keeps the submitted tasks pending."""

from __future__ import annotations

from typing import Any

from shoal._time import utcnow
from shoal.api import ApiSettings, volume_app
from shoal.api.cinder.options import VolumeApiOptions
from shoal.api.cinder.routes import volume_routes
from shoal.db import Database
from shoal.services.backup import BackupService
from shoal.services.tasks import TaskRunner
from shoal.services.volume import (
    QuotaSets,
    VolumeAdmin,
    VolumeAttachments,
    VolumeEncryption,
    VolumeGroups,
    VolumeMessages,
    VolumeQos,
    VolumeService,
    VolumeServices,
    VolumeTransfers,
    VolumeTypes,
)
from shoal.services.volume._admin import StatsSource
from tests.api.conftest import TOKENS, FakeValidator

__all__ = ["in_process_volume_app"]


def in_process_volume_app(db: Database, runner: TaskRunner, volumes: VolumeService,
                    stats: StatsSource, *, backup_host: str | None = None,
                    backups: BackupService | None = None) -> Any:
    """The ASGI volume app over ``volumes`` (its options for every other part); ``stats``
    is the one backend's (section ``ceph``) statistics; ``backups`` serves ``/backups``
    (None: no backup service, as a deployment without one)."""
    options = volumes.options
    services = VolumeServices(
        volumes, VolumeAttachments(db, {}, utcnow),
        VolumeTransfers(db, options.quota_defaults, utcnow),
        VolumeAdmin(db, options, {"ceph": stats}, utcnow, backup_host=backup_host),
        VolumeTypes(db, options, utcnow), QuotaSets(db, options.quota_defaults),
        VolumeMessages(db, utcnow), qos=VolumeQos(db, utcnow),
        encryption=VolumeEncryption(db, utcnow),
        groups=VolumeGroups(db, runner, volumes, utcnow), backups=backups)
    routes = volume_routes(services, VolumeApiOptions(), options.quota_defaults)
    return volume_app(routes=routes, validator=FakeValidator(TOKENS), settings=ApiSettings())
