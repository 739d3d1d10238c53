"""The volume service of ``shoal up``: its backends from ``enabled_backends``, the image
service read in process, the task handlers registered before recovery."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from shoal import errors
from shoal._time import utcnow
from shoal.api.glance.query import is_visible
from shoal.cluster import Session
from shoal.config import ShoalConfig
from shoal.db import Database
from shoal.deploy._backups import backup_stack
from shoal.services.image import ImageRecord, ImageService
from shoal.services.tasks import TaskRunner
from shoal.services.volume import (
    Backend,
    ImageData,
    QuotaSets,
    VolumeAdmin,
    VolumeAttachments,
    VolumeMessages,
    VolumeOptions,
    VolumeService,
    VolumeServices,
    VolumeTransfers,
    VolumeTypes,
    VolumeWork,
)
from shoal.services.volume.driver import RbdDriverOptions, RbdVolumeDriver
from shoal.services.volume.quotas import QuotaDefaults

__all__ = ["GlanceImages", "VolumeStack", "quota_defaults", "volume_stack"]

#: Glance's core attributes copied into ``volume_image_metadata`` (Cinder's list).
_CORE_IMAGE_FIELDS = ("checksum", "container_format", "disk_format", "min_disk", "min_ram",
                      "size")


class GlanceImages:
    """The image service as the volume service reads it, in process.

    Locations are shown to the volume service only when Glance shows them
    (``show_image_direct_url`` / ``show_multiple_locations``): with both off Cinder gets
    none, cannot clone, and downloads (SPEC §6.2); the same happens here.
    """

    def __init__(self, images: ImageService, *, show_locations: bool) -> None:
        self.images = images
        self.show_locations = show_locations

    def _visible(self, image_id: str, project_id: str | None, is_admin: bool) -> ImageRecord:
        try:
            record = self.images.get(image_id)
        except errors.NotFound:
            raise errors.NotFound(f"Image {image_id} could not be found.") from None
        if project_id is None:
            return record
        membership = None
        if record.visibility == "shared" and not is_admin:
            membership = self.images.memberships(project_id).get(record.id)
        if not is_visible(record, project_id=project_id, is_admin=is_admin,
                          membership=membership):
            raise errors.NotFound(f"Image {image_id} could not be found.")
        return record

    def image(self, image_id: str, project_id: str | None, *, is_admin: bool = False
              ) -> ImageData:
        return _image_data(self._visible(image_id, project_id, is_admin), self.show_locations)

    def raw_data(self, image_id: str) -> Iterator[bytes]:
        record = self.images.get(image_id)
        if record.disk_format not in (None, "raw", "iso"):
            raise errors.NotSupported(
                f"image {image_id} is {record.disk_format}: converting it into a volume is "
                "not served yet (store it raw, or set [image_conversion] output_format = raw)")
        reader, _size = self.images.open_data(record)
        yield from reader

    def find_by_name(self, name: str, project_id: str | None) -> list[ImageData]:
        memberships = self.images.memberships(project_id)
        return [_image_data(r, self.show_locations) for r in self.images.all()
                if r.name == name and r.status == "active"
                and is_visible(r, project_id=project_id, is_admin=False,
                               membership=memberships.get(r.id))]


def _image_data(record: ImageRecord, show_locations: bool) -> ImageData:
    properties = {k: v for k, v in record.properties.items()}
    for name in _CORE_IMAGE_FIELDS:
        value = getattr(record, name)
        if value is not None:
            properties[name] = str(value)
    return ImageData(
        id=record.id, name=record.name, status=record.status, disk_format=record.disk_format,
        size=record.size, virtual_size=record.virtual_size,
        locations=tuple(loc.url for loc in record.locations) if show_locations else (),
        properties=properties)


@dataclass
class VolumeStack:
    """The volume service and what it holds open (one session per backend)."""

    services: VolumeServices
    work: VolumeWork
    sessions: list[Session] = field(default_factory=list)

    def close(self) -> None:
        """Shut the backends' sessions down."""
        for session in self.sessions:
            session.shutdown()
        self.sessions.clear()


#: ``session_for(user, ceph_conf)``: a session as a cephx user (None: client.admin).
SessionFor = Callable[[str | None, str], Session]


def volume_stack(cfg: ShoalConfig, db: Database, tasks: TaskRunner, images: ImageService,
                 session_for: SessionFor) -> VolumeStack | None:
    """Build the volume service over every RBD backend of ``enabled_backends`` and register
    its task handlers on ``tasks`` (call before ``tasks.recover()``); None without any
    backend (the volume API then answers nothing but its version documents).

    Raises:
        errors.InvalidArgument: a backend that is not RBD, or an option out of range.
        errors.ShoalError: a backend's cluster cannot be reached as its ``rbd_user``.
    """
    sections = cfg.cinder_backends
    if not sections:
        return None
    drivers: dict[str, RbdVolumeDriver] = {}
    backends: list[Backend] = []
    sessions: list[Session] = []
    by_backend: dict[str, Session] = {}
    try:
        for name in sections:
            section = cfg.cinder_backend(name)
            options = RbdDriverOptions.from_config(cfg, name)
            session = session_for(section.rbd_user, section.rbd_ceph_conf)
            sessions.append(session)
            by_backend[name] = session
            drivers[name] = RbdVolumeDriver(session, options)
            host = f"{section.backend_host or host_name()}@{name}"
            backends.append(Backend(name, section.reported_backend_name,
                                    f"{host}#{section.reported_backend_name}"))
        glance = cfg.glance_store
        source = GlanceImages(images, show_locations=glance.show_image_direct_url
                              or cfg.glance.show_multiple_locations)
        work = VolumeWork(drivers, source, utcnow)
        work.register(tasks)
        cinder = cfg.cinder
        volume_options = VolumeOptions(
            backends=tuple(backends), availability_zone=cinder.storage_availability_zone,
            default_type=cinder.default_volume_type, quota_defaults=quota_defaults(cfg))
        service = VolumeService(db, tasks, source, volume_options)
        service.ensure_default_type()
        backups = backup_stack(cfg, db, tasks, service, drivers, by_backend, session_for,
                               host_name())
        if backups is not None:
            sessions.append(backups.session)
        by_host = {b.host: drivers[b.section] for b in backends}
        services = VolumeServices(
            service, VolumeAttachments(db, by_host, utcnow),
            VolumeTransfers(db, volume_options.quota_defaults, utcnow),
            VolumeAdmin(db, volume_options, drivers, utcnow,
                        backup_host=None if backups is None else backups.host),
            VolumeTypes(db, volume_options, utcnow),
            QuotaSets(db, volume_options.quota_defaults), VolumeMessages(db, utcnow),
            None if backups is None else backups.service)
    except BaseException:
        for session in sessions:
            session.shutdown()
        raise
    return VolumeStack(services, work, sessions)


def quota_defaults(cfg: ShoalConfig) -> QuotaDefaults:
    """The default limits of cinder's ``[DEFAULT]`` (``quota_*``, ``per_volume_size_limit``)."""
    cinder = cfg.cinder
    return QuotaDefaults(volumes=cinder.quota_volumes, snapshots=cinder.quota_snapshots,
                         gigabytes=cinder.quota_gigabytes, backups=cinder.quota_backups,
                         backup_gigabytes=cinder.quota_backup_gigabytes,
                         per_volume_gigabytes=cinder.per_volume_size_limit)


def host_name() -> str:
    """Cinder's ``host`` default: this machine's short host name."""
    return socket.gethostname().split(".")[0] or "localhost"
