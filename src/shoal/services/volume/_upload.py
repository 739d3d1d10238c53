"""``os-volume_upload_image``: a volume copied into a new Glance image, as a durable task.

The request (:meth:`VolumeUploads.start`) checks the volume (``available``, or ``in-use``
with ``force`` when ``enable_force_upload`` allows it), creates the image record through
the image service (``queued``, owned by the caller's project, with the custom properties of
the volume's ``volume_image_metadata`` minus Glance's core ones and ``os_glance*``), moves
the volume to ``uploading`` (``previous_status`` kept) and submits a ``volume.upload``
task in one transaction, and answers at once. A refusal leaves nothing behind (the image
record made before a refused transaction is deleted again).

The task (:class:`UploadWork`) copies the data from a temporary RBD snapshot
``upload-<image id>`` of the volume (a consistent point in time, even in-use):

- **in the cluster** when the image store lives on the volume's cluster (same fsid), the
  image is ``raw`` and a session that may write the store's pool and read the volumes is
  given: the snapshot is cloned into the store's pool as ``<image id>``, flattened, gets a
  protected ``snap``; its bytes are read once for ``checksum`` and ``os_hash_value``
  (Glance's digests), and the image becomes ``active`` at ``rbd://<fsid>/<pool>/<id>/snap``
  (Nova's ``direct_snapshot``);
- **streamed** otherwise: a ``raw`` image reads the snapshot straight into the image
  service's upload path; any other ``disk_format`` (qcow2, vmdk, vdi, vhd, vhdx, ploop) is
  exported to a sparse raw file in ``image_conversion_dir`` and converted with
  ``qemu-img convert -O <format>`` first, the converted file then uploaded.

The volume then returns to ``previous_status`` (``available`` or ``in-use``). On failure the
image record is deleted (as Cinder does), the clone and the temporary snapshot removed, and
the volume returns to its status as well. A ``shoal up`` killed mid-upload resumes the task at
the next start: the image service has put a ``saving`` image back to ``queued`` already, the
task removes what the earlier attempt left in RBD and copies again.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Protocol

from sqlalchemy.orm import Session

from shoal import errors
from shoal.cluster import Session as ClusterSession
from shoal.db import Database
from shoal.objstore import IoCtx
from shoal.rbd import RbdImage, is_zero
from shoal.rbd.backend import rbd_lib_for
from shoal.services.image.store import BackgroundDigests
from shoal.services.tasks import (
    ResourceRef,
    TaskContext,
    TaskInfo,
    TaskInterrupted,
    TaskRunner,
)
from shoal.services.volume import policy
from shoal.services.volume._rows import type_record, volume_record
from shoal.services.volume.driver import RbdVolumeDriver, volume_name
from shoal.services.volume.models import Volume
from shoal.services.volume.policy import CallerLike
from shoal.services.volume.records import VolumeRecord, VolumeTypeRecord

__all__ = [
    "UPLOAD_KIND",
    "ImageSink",
    "StoreTarget",
    "UploadRequest",
    "UploadStarted",
    "UploadWork",
    "VolumeUploads",
    "convert_raw",
    "export_sparse",
    "image_properties",
    "qemu_img",
    "temp_snapshot_name",
]

log = logging.getLogger(__name__)

UPLOAD_KIND: Final = "volume.upload"
#: Glance's core properties (Cinder's ``glance_core_properties``): not copied as properties.
GLANCE_CORE_PROPERTIES: Final = frozenset({
    "checksum", "container_format", "disk_format", "image_name", "image_id", "min_disk",
    "min_ram", "name", "size"})
#: Glance's reserved property namespace (never copied).
_RESERVED_PREFIX: Final = "os_glance"
#: ``disk_format`` → qemu-img's output format name (Cinder's mapping).
QEMU_FORMATS: Final[Mapping[str, str]] = {
    "qcow2": "qcow2", "vmdk": "vmdk", "vdi": "vdi", "vhd": "vpc", "vhdx": "vhdx",
    "ploop": "parallels"}
#: The chunk the volume is read in (bytes).
READ_BYTES: Final = 4 << 20
#: A conversion's wall-clock bound (seconds).
CONVERT_TIMEOUT_S: Final = 3600.0
_SNAP: Final = "snap"


def temp_snapshot_name(image_id: str) -> str:
    """The temporary RBD snapshot of the volume an upload to ``image_id`` reads."""
    return f"upload-{image_id}"


@dataclass(frozen=True)
class UploadRequest:
    """A checked ``os-volume_upload_image`` (see ``shoal.api.cinder.actions``)."""

    image_name: str
    force: bool = False
    disk_format: str = "raw"
    container_format: str = "bare"
    visibility: str = "private"
    protected: bool = False


@dataclass(frozen=True)
class UploadStarted:
    """What the action answers: the volume (``uploading``), its type and the new image."""

    volume: VolumeRecord
    volume_type: VolumeTypeRecord | None
    image_id: str
    image_name: str
    disk_format: str
    container_format: str
    visibility: str
    protected: bool
    updated_at: datetime | None


@dataclass(frozen=True)
class StoreTarget:
    """The image store as an in-cluster upload writes it: its cluster, pool, the features
    and order of its images, and the algorithm of ``os_hash_value``."""

    fsid: str
    pool: str
    features: int
    order: int
    hashing_algorithm: str


class ImageSink(Protocol):
    """The image service as uploads write it (in process, no HTTP hop)."""

    def create_image(self, caller: CallerLike, *, name: str, disk_format: str,
                     container_format: str, visibility: str, protected: bool,
                     properties: Mapping[str, str]) -> str:
        """A new ``queued`` image owned by ``caller``'s project; its id.

        Raises:
            errors.InvalidArgument: a format the image service does not accept (400).
            errors.PermissionDenied: ``caller`` may not create it (a public one: 403).
        """
        ...

    def image_status(self, image_id: str) -> str | None:
        """The image's status; None when it is gone."""
        ...

    def upload(self, image_id: str, project_id: str, user_id: str, data: Iterable[bytes],
               size: int | None) -> None:
        """Store ``data`` through the image service's upload path (``queued`` → ``active``)."""
        ...

    def activate(self, image_id: str, *, location: str, size: int, checksum: str,
                 hash_value: str, virtual_size: int) -> None:
        """Make a ``queued`` image ``active`` at ``location`` (data stored already).

        Raises:
            errors.Busy: the image is no longer ``queued`` (or is gone).
        """
        ...

    def discard(self, image_id: str) -> None:
        """Delete the image (record and data) unless it is ``active``; gone is fine."""
        ...

    def forget(self, session: Session, image_id: str) -> None:
        """Delete the image's record in ``session``'s transaction unless it is ``active``
        (for failure hooks; its data must be gone already)."""
        ...

    def target(self) -> StoreTarget:
        """The store, for in-cluster uploads."""
        ...


def _invalid_volume(reason: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(f"Invalid volume: {reason}")


def image_properties(metadata: Mapping[str, str]) -> dict[str, str]:
    """The properties an image uploaded from a volume gets: the volume's
    ``volume_image_metadata`` without Glance's core properties and ``os_glance*``."""
    return {k: v for k, v in metadata.items()
            if k not in GLANCE_CORE_PROPERTIES and not k.startswith(_RESERVED_PREFIX)}


class VolumeUploads:
    """The request side of ``os-volume_upload_image`` (see the module doc).

    ``backend_of(volume row)`` names the volume's backend section; ``force_allowed`` is
    ``enable_force_upload``.
    """

    def __init__(self, db: Database, runner: TaskRunner, sink: ImageSink,
                 backend_of: Callable[[Volume], str], now: Callable[[], datetime], *,
                 force_allowed: bool = False) -> None:
        self.db = db
        self.runner = runner
        self.sink = sink
        self.backend_of = backend_of
        self.now = now
        self.force_allowed = force_allowed

    def _expected(self, force: bool) -> tuple[str, ...]:
        return ("available", "in-use") if force and self.force_allowed else ("available",)

    def _check(self, row: Volume, volume_id: str, force: bool) -> None:
        expected = self._expected(force)
        if row.status not in expected:
            raise _invalid_volume(f"Volume {volume_id} status must be "
                                  f"{' or '.join(expected)}, but current status is: "
                                  f"{row.status}.")

    def start(self, caller: CallerLike, volume_id: str, request: UploadRequest
              ) -> UploadStarted:
        """Create the image and start copying the volume into it (see the module doc).

        Raises:
            NotFound: no such volume for the caller (404).
            PolicyNotAuthorized: the caller may not upload, or not publicly (403).
            InvalidArgument: the volume's status (in-use without an allowed ``force``), or
                a format the image service refuses (400).
        """
        with self.db.session(readonly=True) as session:
            row = session.get(Volume, volume_id)
            if row is None or not policy.may_see(caller, row.project_id):
                raise errors.NotFound(f"Volume {volume_id} could not be found.")
            policy.authorize(caller, "volume_extension:volume_actions:upload_image",
                             row.project_id)
            if request.visibility == "public":
                policy.authorize(caller, "volume:upload_public", row.project_id)
            self._check(row, volume_id, request.force)
            properties = image_properties({m.key: m.value for m in row.metadata_items
                                           if m.kind == "image"})
        image_id = self.sink.create_image(
            caller, name=request.image_name, disk_format=request.disk_format,
            container_format=request.container_format, visibility=request.visibility,
            protected=request.protected, properties=properties)
        try:
            return self._submit(caller, volume_id, image_id, request)
        except BaseException:
            self.sink.discard(image_id)
            raise

    def _submit(self, caller: CallerLike, volume_id: str, image_id: str,
                request: UploadRequest) -> UploadStarted:
        with self.db.session() as session:
            row = session.get(Volume, volume_id)
            if row is None:
                raise errors.NotFound(f"Volume {volume_id} could not be found.")
            self._check(row, volume_id, request.force)
            row.previous_status = row.status
            row.status = "uploading"
            row.updated_at = self.now()
            session.flush()
            self.runner.submit(UPLOAD_KIND, ResourceRef("volume", volume_id, row.project_id), {
                "backend": self.backend_of(row), "image_id": image_id,
                "disk_format": request.disk_format, "size": row.size,
                "project_id": caller.project_id or row.project_id,
                "user_id": caller.user_id}, session=session)
            vtype = row.volume_type
            return UploadStarted(
                volume=volume_record(row), volume_type=None if vtype is None
                else type_record(vtype), image_id=image_id, image_name=request.image_name,
                disk_format=request.disk_format, container_format=request.container_format,
                visibility=request.visibility, protected=request.protected,
                updated_at=row.updated_at)


@dataclass(frozen=True)
class UploadBackend:
    """One backend as uploads read it: its driver (fsid, pool) and the sessions to use.

    ``session`` reads the volume and makes the temporary snapshot (the backend's
    ``rbd_user``); ``clone_session`` (None: always stream) may also write the image
    store's pool (it clones there).
    """

    driver: RbdVolumeDriver
    session: ClusterSession
    clone_session: ClusterSession | None = None

    @property
    def pool(self) -> str:
        return self.driver.options.rbd_pool


class UploadWork:
    """The ``volume.upload`` task (see the module doc)."""

    def __init__(self, backends: Mapping[str, UploadBackend], sink: ImageSink,
                 conversion_dir: Path, now: Callable[[], datetime]) -> None:
        self.backends = dict(backends)
        self.sink = sink
        self.conversion_dir = conversion_dir
        self.now = now

    def register(self, runner: TaskRunner) -> None:
        """Register ``volume.upload`` (resumable) with its failure hook."""
        runner.register(UPLOAD_KIND, self.upload_volume, resumable=True,
                        on_failure=self._failed)

    def _failed(self, session: Session, task: TaskInfo, message: str) -> None:
        """Back to the status before the upload. The handler removed what it made; when
        it could not run (a task that gave up at recovery), its leftovers go here."""
        image_id = str(task.params.get("image_id"))
        backend = self.backends.get(str(task.params.get("backend")))
        if backend is not None:
            self._cleanup(backend, task.resource.id, image_id)
        self.sink.forget(session, image_id)
        _restore_status(session, task.resource.id, self.now())
        log.warning("volume %s: upload to image %s failed: %s", task.resource.id,
                    task.params.get("image_id"), message)

    def upload_volume(self, ctx: TaskContext) -> None:
        """Copy the volume into its image (see the module doc)."""
        volume_id = ctx.resource.id
        image_id: str = ctx.params["image_id"]
        disk_format: str = ctx.params["disk_format"]
        try:
            backend = self.backends[ctx.params["backend"]]
        except KeyError:
            raise ValueError(f"backend {ctx.params['backend']!r} is not enabled any more"
                             ) from None
        # resumed with the image active: the copy was done when the process died
        if not (ctx.resumed and self.sink.image_status(image_id) == "active"):
            self._copy(ctx, backend, volume_id, image_id, disk_format)
        self._drop_temp_snapshot(backend.session, backend.pool, volume_id, image_id)
        with ctx.finish() as session:
            _restore_status(session, volume_id, self.now())

    def _copy(self, ctx: TaskContext, backend: UploadBackend, volume_id: str, image_id: str,
              disk_format: str) -> None:
        """Copy the volume into the queued image one way or the other; on failure remove
        the image and what the copy made (an interruption keeps them: the task resumes)."""
        if ctx.resumed:
            self._cleanup(backend, volume_id, image_id)
        try:
            status = self.sink.image_status(image_id)
            if status != "queued":
                raise errors.Busy(f"image {image_id} is {status or 'gone'}, not queued: "
                                  "the upload stops")
            target = self.sink.target()
            if (disk_format == "raw" and backend.clone_session is not None
                    and target.fsid == backend.driver.fsid):
                self._clone(ctx, backend, volume_id, image_id, target)
            else:
                self._stream(ctx, backend, volume_id, image_id, disk_format)
        except BaseException as exc:
            if not isinstance(exc, TaskInterrupted):  # a restart resumes: keep the state
                self._cleanup(backend, volume_id, image_id)
                self.sink.discard(image_id)
            raise

    # --- the two ways ------------------------------------------------------------------
    def _clone(self, ctx: TaskContext, backend: UploadBackend, volume_id: str,
               image_id: str, target: StoreTarget) -> None:
        session = backend.clone_session
        assert session is not None
        snap = temp_snapshot_name(image_id)
        _make_temp_snapshot(backend.session, backend.pool, volume_id, snap)
        ctx.heartbeat(progress=0)
        with _ioctx(session, backend.pool) as vol_ioctx, \
                _ioctx(session, target.pool) as img_ioctx:
            lib = rbd_lib_for(vol_ioctx)
            lib.RBD().clone(vol_ioctx, volume_name(volume_id), snap, img_ioctx, image_id,
                            features=target.features, order=target.order)
            # the digests read the snapshot (the same bytes) while the flatten copies them
            with lib.Image(vol_ioctx, volume_name(volume_id), snapshot=snap,
                           read_only=True) as source, \
                    concurrent.futures.ThreadPoolExecutor(1) as pool:
                digests = pool.submit(_digests, source, target.hashing_algorithm)
                try:
                    with lib.Image(img_ioctx, image_id) as child:
                        child.flatten(on_progress=lambda done, total: ctx.heartbeat(
                            progress=min(99, done * 100 // total) if total else None))
                        child.create_snap(_SNAP)
                        child.protect_snap(_SNAP)
                finally:
                    size, checksum, hash_value = digests.result()
        self._drop_temp_snapshot(backend.session, backend.pool, volume_id, image_id)
        self.sink.activate(image_id, location=f"rbd://{target.fsid}/{target.pool}/"
                           f"{image_id}/{_SNAP}", size=size, checksum=checksum,
                           hash_value=hash_value, virtual_size=size)
        log.info("volume %s uploaded to image %s in the cluster (clone + flatten)",
                 volume_id, image_id)

    def _stream(self, ctx: TaskContext, backend: UploadBackend, volume_id: str,
                image_id: str, disk_format: str) -> None:
        snap = temp_snapshot_name(image_id)
        _make_temp_snapshot(backend.session, backend.pool, volume_id, snap)
        project_id, user_id = ctx.params["project_id"], ctx.params["user_id"]
        with _ioctx(backend.session, backend.pool) as ioctx:
            lib = rbd_lib_for(ioctx)
            with lib.Image(ioctx, volume_name(volume_id), snapshot=snap,
                           read_only=True) as img:
                size = int(img.size())
                if disk_format == "raw":
                    self.sink.upload(image_id, project_id, user_id,
                                     _read_all(img, size, _progress(ctx)), size)
                else:
                    with self._converted(ctx, img, size, disk_format) as path:
                        self.sink.upload(image_id, project_id, user_id, _file_chunks(path),
                                         path.stat().st_size)
        log.info("volume %s uploaded to image %s (streamed, %s)", volume_id, image_id,
                 disk_format)

    @contextlib.contextmanager
    def _converted(self, ctx: TaskContext, img: RbdImage, size: int, disk_format: str
                   ) -> Iterator[Path]:
        """The volume as a ``disk_format`` file in the conversion directory (removed at
        the end of the block, whatever happens)."""
        fmt = QEMU_FORMATS.get(disk_format)
        if fmt is None:
            raise errors.InvalidArgument(f"disk format {disk_format} cannot be written")
        self.conversion_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="shoal-upload-",
                                         dir=self.conversion_dir) as tmp:
            raw, out = Path(tmp) / "volume.raw", Path(tmp) / f"image.{disk_format}"
            export_sparse(_read_all(img, size, _progress(ctx)), raw, size)
            ctx.heartbeat()
            convert_raw(raw, out, fmt)
            raw.unlink()
            yield out

    # --- cleanup -----------------------------------------------------------------------
    def _cleanup(self, backend: UploadBackend, volume_id: str, image_id: str) -> None:
        """Remove what an earlier or failed attempt left: the clone in the store's pool
        (unless the image is active) and the temporary snapshot. Never raises."""
        try:
            if backend.clone_session is not None and self.sink.image_status(image_id) != \
                    "active":
                _remove_image(backend.clone_session, self.sink.target().pool, image_id)
            self._drop_temp_snapshot(backend.session, backend.pool, volume_id, image_id)
        except Exception:  # the original error matters more; a later attempt retries
            log.exception("volume %s: could not clean up the upload to %s", volume_id,
                          image_id)

    @staticmethod
    def _drop_temp_snapshot(session: ClusterSession, pool: str, volume_id: str,
                            image_id: str) -> None:
        with _ioctx(session, pool) as ioctx:
            lib = rbd_lib_for(ioctx)
            try:
                img = lib.Image(ioctx, volume_name(volume_id))
            except lib.ImageNotFound:
                return
            with img:
                _drop_snap(lib, img, temp_snapshot_name(image_id))


def _restore_status(session: Session, volume_id: str, now: datetime) -> None:
    row = session.get(Volume, volume_id)
    if row is not None and row.status == "uploading":
        row.status = row.previous_status or "available"
        row.previous_status = None
        row.updated_at = now


@contextlib.contextmanager
def _ioctx(session: ClusterSession, pool: str) -> Iterator[IoCtx]:
    ioctx = session.open_ioctx(pool)
    try:
        yield ioctx
    finally:
        ioctx.close()


def _make_temp_snapshot(session: ClusterSession, pool: str, volume_id: str, snap: str
                        ) -> None:
    """Snapshot the volume as ``snap`` and protect it (a leftover one is made afresh)."""
    with _ioctx(session, pool) as ioctx:
        lib = rbd_lib_for(ioctx)
        with lib.Image(ioctx, volume_name(volume_id)) as img:
            _drop_snap(lib, img, snap)
            img.create_snap(snap)
            img.protect_snap(snap)


def _drop_snap(lib: Any, img: RbdImage, snap: str) -> None:
    if not any(s["name"] == snap for s in img.list_snaps()):
        return
    with contextlib.suppress(lib.InvalidArgument):  # not protected
        img.unprotect_snap(snap)
    img.remove_snap(snap)


def _remove_image(session: ClusterSession, pool: str, name: str) -> None:
    """Remove image ``name`` of ``pool`` and its snapshots (absent: nothing to do)."""
    with _ioctx(session, pool) as ioctx:
        lib = rbd_lib_for(ioctx)
        try:
            img = lib.Image(ioctx, name)
        except lib.ImageNotFound:
            return
        with img:
            for snap in list(img.list_snaps()):
                _drop_snap(lib, img, str(snap["name"]))
        lib.RBD().remove(ioctx, name)
        log.info("removed the partial upload %s/%s", pool, name)


def _read_all(img: RbdImage, size: int, heartbeat: Callable[[int], None] | None = None
              ) -> Iterator[bytes]:
    """The image's bytes in :data:`READ_BYTES` pieces; ``heartbeat(percent)`` between
    them."""
    offset = 0
    while offset < size:
        want = min(READ_BYTES, size - offset)
        yield bytes(img.read(offset, want))
        offset += want
        if heartbeat is not None:
            heartbeat(min(99, offset * 100 // size))


def _digests(img: RbdImage, algorithm: str) -> tuple[int, str, str]:
    """(size, md5, ``algorithm`` digest) of the image's bytes, as Glance computes them
    (each digest in its own thread, overlapping the reads)."""
    size = int(img.size())
    md5 = hashlib.md5(usedforsecurity=False)
    multi = hashlib.new(algorithm)
    with BackgroundDigests((md5, multi)) as digests:
        for piece in _read_all(img, size):
            digests.update(piece)
        digests.finish()
    return size, md5.hexdigest(), multi.hexdigest()


def _progress(ctx: TaskContext) -> Callable[[int], None]:
    return lambda percent: ctx.heartbeat(progress=percent)


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while piece := f.read(READ_BYTES):
            yield piece


def export_sparse(data: Iterable[bytes], path: Path, size: int) -> None:
    """Write ``data`` to a new file at ``path`` of ``size`` bytes, leaving holes where a
    piece is all zeros (as ``rbd export`` does)."""
    with open(path, "wb") as f:
        offset = 0
        for piece in data:
            if not is_zero(piece):
                f.seek(offset)
                f.write(piece)
            offset += len(piece)
        f.truncate(size)


def convert_raw(src: Path, dst: Path, qemu_format: str) -> None:
    """``qemu-img convert -f raw -O qemu_format src dst`` (our own raw data).

    Raises: as :func:`qemu_img`.
    """
    qemu_img(["convert", "-q", "-f", "raw", "-O", qemu_format, str(src), str(dst)],
             what=f"qemu-img convert to {qemu_format}", paths=(src, dst))


def qemu_img(args: list[str], *, what: str, paths: Iterable[Path] = ()) -> str:
    """Run ``qemu-img args`` (a wall-clock bound of :data:`CONVERT_TIMEOUT_S`); its stdout.

    Raises:
        errors.Unavailable: qemu-img is missing or times out.
        errors.InvalidArgument: qemu-img fails (its last message, without our paths).
    """
    binary = shutil.which("qemu-img")
    if binary is None:
        raise errors.Unavailable("qemu-img is not installed (Debian package qemu-utils); "
                                 "it is needed to convert images")
    try:
        proc = subprocess.run([binary, *args], capture_output=True, text=True,
                              timeout=CONVERT_TIMEOUT_S, stdin=subprocess.DEVNULL,
                              check=False, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                                "LC_ALL": "C"})
    except subprocess.TimeoutExpired:
        raise errors.Unavailable(f"{what} did not finish within {CONVERT_TIMEOUT_S:.0f} s"
                                 ) from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [""])[-1].removeprefix("qemu-img: ")
        for path in paths:
            last = last.replace(str(path), "<image>")
        raise errors.InvalidArgument(f"{what} failed: {last or f'exit {proc.returncode}'}")
    return proc.stdout
