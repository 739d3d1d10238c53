"""The volume service of ``shoal up``: its backends from ``enabled_backends``, the image
service read in process, the task handlers registered before recovery."""

from __future__ import annotations

import contextlib
import json
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy.orm import Session as DbSession

from shoal import errors
from shoal._time import utcnow
from shoal.api.glance.query import is_visible
from shoal.cluster import Session
from shoal.config import ShoalConfig
from shoal.db import Database
from shoal.deploy._backups import backup_stack
from shoal.services._caller import Caller
from shoal.services.image import ImageRecord, ImageService
from shoal.services.image.models import Image
from shoal.services.image.records import Location
from shoal.services.image.store import InvalidImageData
from shoal.services.image.store.convert import (
    detect_format,
    prepare_upload,
    qcow2_backing_file,
)
from shoal.services.tasks import TaskRunner
from shoal.services.volume import (
    Backend,
    GroupWork,
    ImageData,
    QuotaSets,
    VolumeAdmin,
    VolumeAttachments,
    VolumeEncryption,
    VolumeGroups,
    VolumeMessages,
    VolumeOptions,
    VolumeQos,
    VolumeService,
    VolumeServices,
    VolumeTransfers,
    VolumeTypes,
    VolumeWork,
)
from shoal.services.volume._upload import (
    StoreTarget,
    UploadBackend,
    UploadWork,
    VolumeUploads,
    qemu_img,
)
from shoal.services.volume.driver import RbdDriverOptions, RbdVolumeDriver
from shoal.services.volume.policy import CallerLike
from shoal.services.volume.quotas import QuotaDefaults

__all__ = ["GlanceImages", "VolumeStack", "glance_images", "host_name", "quota_defaults",
           "volume_stack"]

#: Glance's core attributes copied into ``volume_image_metadata`` (Cinder's list).
_CORE_IMAGE_FIELDS = ("checksum", "container_format", "disk_format", "min_disk", "min_ram",
                      "size")
#: The image service acting for the volume service (activating, discarding its uploads).
_SERVICE_CALLER = Caller(user_id="cinder", project_id=None, roles=frozenset({"admin"}))
#: Formats converted to raw for a volume besides qcow2 (qemu-img's names), with the header
#: :func:`detect_format` must find. A vmdk must be one self-contained sparse file (a text
#: descriptor could name extents on this host).
_OTHER_FORMATS: Mapping[str, str] = {"vmdk": "vmdk", "vdi": "vdi", "vhd": "vpc",
                                     "vhdx": "vhdx"}
_VMDK_SPARSE_MAGIC = b"KDMV"


#: How much of a qcow2 image is read to find its backing file (qemu-img's default cluster).
_QCOW2_HEAD_BYTES = 64 * 1024


class GlanceImages:
    """The image service as the volume service reads it, in process.

    Locations are shown to the volume service only when Glance shows them
    (``show_image_direct_url`` / ``show_multiple_locations``): with both off Cinder gets
    none, cannot clone, and downloads (SPEC §6.2); the same happens here.
    """

    def __init__(self, images: ImageService, *, show_locations: bool,
                 conversion_dir: Path | None = None, disk_formats: Iterable[str] = (),
                 container_formats: Iterable[str] = ()) -> None:
        self.images = images
        self.show_locations = show_locations
        self.conversion_dir = conversion_dir or images.options.spool_dir
        self.disk_formats = tuple(disk_formats)
        self.container_formats = tuple(container_formats)

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
        """The image's bytes as raw: a non-raw image is spooled to ``conversion_dir`` and
        converted with qemu-img first (the files are removed when the iterator ends or is
        closed). A qcow2 with a backing file (or a data file, or encrypted), a vmdk made
        of a descriptor, or data that is not the declared format is refused (400), as
        Cinder refuses such images."""
        record = self.images.get(image_id)
        reader, _size = self.images.open_data(record)
        disk_format = record.disk_format
        if disk_format in (None, "raw", "iso"):
            yield from reader
            return
        self.conversion_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if disk_format == "qcow2":
            with prepare_upload(reader, disk_format="qcow2", spool_dir=self.conversion_dir,
                                size_max=None) as prepared:
                yield from prepared.chunks()
            return
        qemu_format = _OTHER_FORMATS.get(disk_format)
        if qemu_format is None:
            raise InvalidImageData(f"image {image_id} is {disk_format}: qemu-img cannot "
                                   "convert it into a volume")
        with tempfile.TemporaryDirectory(prefix="shoal-image-", dir=self.conversion_dir) as tmp:
            yield from _converted_other(reader, Path(tmp), disk_format, qemu_format)

    def unacceptable(self, image_id: str) -> str | None:
        """A qcow2 image's backing file, from its first cluster (64 KiB), as Cinder words
        it (``fmt=qcow2 backed by: <name>``); None for other images and self-contained
        qcow2."""
        record = self.images.get(image_id)
        if record.disk_format != "qcow2" or not record.locations:
            return None
        reader, _size = self.images.open_data(record, 0, _QCOW2_HEAD_BYTES)
        head = b"".join(reader)[:_QCOW2_HEAD_BYTES]
        backing = qcow2_backing_file(head)
        return None if backing is None else f"fmt=qcow2 backed by: {backing}"

    def find_by_name(self, name: str, project_id: str | None) -> list[ImageData]:
        memberships = self.images.memberships(project_id)
        return [_image_data(r, self.show_locations) for r in self.images.all()
                if r.name == name and r.status == "active"
                and is_visible(r, project_id=project_id, is_admin=False,
                               membership=memberships.get(r.id))]


    # --- uploads (ImageSink) ---------------------------------------------------------
    def create_image(self, caller: CallerLike, *, name: str, disk_format: str,
                     container_format: str, visibility: str, protected: bool,
                     properties: Mapping[str, str]) -> str:
        for what, value, allowed in (("disk_format", disk_format, self.disk_formats),
                                     ("container_format", container_format,
                                      self.container_formats)):
            if allowed and value not in allowed:
                raise errors.InvalidArgument(
                    f"Invalid value '{value}' for {what}: it is not one of "
                    f"{', '.join(allowed)}.")
        now = utcnow()
        record = ImageRecord(
            id=str(uuid.uuid4()), status="queued", created_at=now, updated_at=now, name=name,
            visibility=visibility, protected=protected, owner=caller.project_id,
            disk_format=disk_format, container_format=container_format,
            properties=dict(properties))
        roles = frozenset(r.lower() for r in caller.roles)
        return self.images.create(Caller(caller.user_id, caller.project_id, roles), record).id

    def image_status(self, image_id: str) -> str | None:
        try:
            return self.images.get(image_id).status
        except errors.NotFound:
            return None

    def upload(self, image_id: str, project_id: str, user_id: str, data: Iterable[bytes],
               size: int | None) -> None:
        caller = Caller(user_id, project_id, frozenset({"member"}))
        self.images.upload(caller, image_id, data, size)

    def activate(self, image_id: str, *, location: str, size: int, checksum: str | None,
                 hash_value: str | None, virtual_size: int) -> None:
        """Make a queued image active at ``location`` (no checksum: a location made by
        another service, as Nova's direct snapshots, which Glance does not hash)."""
        algo = self.images.options.hashing_algorithm if hash_value is not None else None

        def change(current: ImageRecord) -> ImageRecord:
            if current.status != "queued":
                raise errors.Busy(f"image {image_id} is {current.status}, not queued")
            return replace(current, status="active", size=size, checksum=checksum,
                           os_hash_algo=algo, os_hash_value=hash_value,
                           virtual_size=virtual_size, locations=(Location(location, {}),))

        try:
            self.images.update(_SERVICE_CALLER, image_id, change)
        except errors.NotFound:
            raise errors.Busy(f"image {image_id} was deleted during the upload") from None

    def discard(self, image_id: str) -> None:
        try:
            record = self.images.get(image_id)
            if record.status == "active":
                return
            if record.protected:
                self.images.update(_SERVICE_CALLER, image_id,
                                   lambda r: replace(r, protected=False))
            self.images.delete(_SERVICE_CALLER, image_id)
        except errors.NotFound:
            pass

    def forget(self, session: DbSession, image_id: str) -> None:
        row = session.get(Image, image_id)
        if row is not None and row.status != "active":
            session.delete(row)

    def target(self) -> StoreTarget:
        store = self.images.store
        return StoreTarget(fsid=store.fsid, pool=store.pool, features=store.features,
                           order=store.order,
                           hashing_algorithm=self.images.options.hashing_algorithm)


def _converted_other(data: Iterable[bytes], tmp: Path, disk_format: str, qemu_format: str
                     ) -> Iterator[bytes]:
    """The raw disk of a vmdk/vdi/vhd/vhdx image: spooled into ``tmp``, its header checked,
    refused with a backing file, converted with qemu-img (never probing the format)."""
    src, raw = tmp / f"image.{disk_format}", tmp / "image.raw"
    with open(src, "wb") as f:
        for piece in data:
            f.write(piece)
    found = detect_format(src)
    if found != qemu_format:
        raise InvalidImageData(f"image data is not a valid {disk_format}: it is {found}")
    with open(src, "rb") as f:
        magic = f.read(len(_VMDK_SPARSE_MAGIC))
    if qemu_format == "vmdk" and magic != _VMDK_SPARSE_MAGIC:
        raise InvalidImageData("image data is not a valid vmdk: only self-contained sparse "
                               "vmdk images are accepted (not a descriptor)")
    info = json.loads(qemu_img(["info", "--output=json", "-f", qemu_format, str(src)],
                               what="qemu-img info", paths=(src,)))
    if "backing-filename" in info or "full-backing-filename" in info:
        raise InvalidImageData(f"image data is not a valid {disk_format}: it has a backing "
                               "file (only self-contained images are accepted)")
    qemu_img(["convert", "-q", "-f", qemu_format, "-O", "raw", str(src), str(raw)],
             what="qemu-img convert", paths=(src, raw))
    src.unlink()
    with open(raw, "rb") as f:
        while piece := f.read(8 << 20):
            yield piece


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
                                    f"{host}#{section.reported_backend_name}",
                                    capabilities=drivers[name].capabilities))
        source = glance_images(cfg, images)
        conversion_dir = source.conversion_dir
        work = VolumeWork(drivers, source, utcnow)
        work.register(tasks)
        _upload_work(cfg, drivers, sessions, source, conversion_dir, session_for, tasks)
        GroupWork(work).register(tasks)
        cinder = cfg.cinder
        volume_options = VolumeOptions(
            backends=tuple(backends), availability_zone=cinder.storage_availability_zone,
            default_type=cinder.default_volume_type, quota_defaults=quota_defaults(cfg))
        service = VolumeService(db, tasks, source, volume_options)
        service.uploads = VolumeUploads(db, tasks, source, service.backend_section, utcnow,
                                        force_allowed=cinder.enable_force_upload)
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
            qos=VolumeQos(db, utcnow), encryption=VolumeEncryption(db, utcnow),
            groups=VolumeGroups(db, tasks, service, utcnow),
            backups=None if backups is None else backups.service)
    except BaseException:
        for session in sessions:
            session.shutdown()
        raise
    return VolumeStack(services, work, sessions)


def glance_images(cfg: ShoalConfig, images: ImageService) -> GlanceImages:
    """The image service as the volume and compute services read it, with the
    configuration's location visibility, conversion directory and formats."""
    glance = cfg.glance_store
    return GlanceImages(images, show_locations=glance.show_image_direct_url
                        or cfg.glance.show_multiple_locations,
                        conversion_dir=_conversion_dir(cfg, images),
                        disk_formats=cfg.image_format.disk_formats,
                        container_formats=cfg.image_format.container_formats)


def _conversion_dir(cfg: ShoalConfig, images: ImageService) -> Path:
    """``image_conversion_dir``; unset: ``conversion`` beside the image spool (in the data
    directory, as upstream's ``$state_path/conversion``). Leftovers of a crash are removed."""
    configured = cfg.cinder.image_conversion_dir
    path = Path(configured) if configured else images.options.spool_dir.parent / "conversion"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for leftover in path.glob("shoal-*"):
        with contextlib.suppress(OSError):
            if leftover.is_dir():
                for child in leftover.iterdir():
                    child.unlink()
                leftover.rmdir()
            else:
                leftover.unlink()
    return path


def _upload_work(cfg: ShoalConfig, drivers: Mapping[str, RbdVolumeDriver],
                 sessions: list[Session], sink: GlanceImages, conversion_dir: Path,
                 session_for: SessionFor, tasks: TaskRunner) -> None:
    """Register ``volume.upload``. In-cluster uploads clone as client.admin of the backend's
    cluster (the guide's client.cinder may not write ``images``, nor client.glance read
    ``volumes``); a backend whose admin session cannot be opened always streams."""
    backends: dict[str, UploadBackend] = {}
    for (name, driver), session in zip(drivers.items(), list(sessions), strict=True):
        clone: Session | None
        try:
            clone = session_for(None, cfg.cinder_backend(name).rbd_ceph_conf)
        except errors.ShoalError:
            clone = None
        if clone is not None:
            sessions.append(clone)
        backends[name] = UploadBackend(driver, session, clone)
    UploadWork(backends, sink, conversion_dir, utcnow).register(tasks)


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
