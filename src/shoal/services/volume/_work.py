"""The volume service's long operations, each a durable task (:mod:`shoal.services.tasks`).

The API writes the volume or snapshot in its transitional status and the task in one
transaction and answers 202; a worker runs the handler here, which calls the RBD driver and
moves the resource to its final status in the transaction that marks the task succeeded
(``ctx.finish()``). A failure moves it to its error status (the ``on_failure`` hooks), and
the handler removes what it made first, so no RBD image outlives a failed create.

Every handler is resumable (a ``shoal up`` killed mid-operation runs it again at the next
start): it first finds what an earlier attempt left and carries on from there.

===================  ===================================  ====================================
kind                 from → to                            on failure
===================  ===================================  ====================================
``volume.create``    creating → available                 error (the partial image removed)
``volume.delete``    deleting → (rows removed)            error_deleting (and its snapshots)
``volume.extend``    extending → available | in-use       error_extending (size unchanged)
``volume.revert``    reverting → available                error
``snapshot.create``  creating → available                 error (the partial snapshot removed)
``snapshot.delete``  deleting → (row removed)             error_deleting
===================  ===================================  ====================================
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeVar

from sqlalchemy.orm import Session

from shoal.services.tasks import TaskContext, TaskInfo, TaskRunner
from shoal.services.volume import _messages as messages
from shoal.services.volume.driver import (
    ImageUnacceptable,
    NotCloned,
    RbdVolumeDriver,
    SnapshotNotFound,
)
from shoal.services.volume.models import Snapshot, Volume, VolumeMetadata

__all__ = [
    "KINDS",
    "Hook",
    "ImageData",
    "ImageSource",
    "VolumeWork",
    "backend_driver",
    "delete_rows",
    "discard_partial_volume",
    "register_resumable",
]

log = logging.getLogger(__name__)

KINDS: Final = ("volume.create", "volume.delete", "volume.extend", "volume.revert",
                "snapshot.create", "snapshot.delete")
#: Glance's core properties copied into ``volume_image_metadata`` (with every custom one).
IMAGE_CORE_PROPERTIES: Final = ("checksum", "container_format", "disk_format", "min_disk",
                                "min_ram", "size")


@dataclass(frozen=True)
class ImageData:
    """What the volume service needs of a Glance image to make a volume of it.

    ``size`` is bytes (None: unknown); ``locations`` the URLs to try for a COW clone, in
    order (Glance's ``locations``, else ``direct_url``; empty when the image service shows
    none); ``properties`` every property to copy into ``volume_image_metadata``.
    """

    id: str
    name: str | None
    status: str
    disk_format: str | None
    size: int | None
    virtual_size: int | None
    locations: tuple[str, ...]
    properties: Mapping[str, str]


class ImageSource(Protocol):
    """The image service as the volume service reads it (no HTTP hop inside one process)."""

    def image(self, image_id: str, project_id: str | None, *, is_admin: bool = False
              ) -> ImageData:
        """The image as ``project_id`` may see it (``NotFound`` when absent or hidden from
        it); ``project_id`` None: as the volume service itself (no visibility check)."""
        ...

    def raw_data(self, image_id: str) -> Iterator[bytes]:
        """The image's bytes as raw (converted with qemu-img when it is not raw)."""
        ...

    def unacceptable(self, image_id: str) -> str | None:
        """Why the image cannot become a volume, read from its first bytes (a qcow2
        with a backing file: ``"fmt=qcow2 backed by: <name>"``), or None."""
        ...

    def find_by_name(self, name: str, project_id: str | None) -> list[ImageData]:
        """The active images named ``name`` that ``project_id`` may see."""
        ...


Hook = Callable[[Session, TaskInfo, str], None]

_Driver = TypeVar("_Driver")


def backend_driver(drivers: Mapping[str, _Driver], backend: str) -> _Driver:
    """The driver of ``backend`` (an ``enabled_backends`` section name) a task names.

    Raises:
        ValueError: the backend is not enabled any more (the task fails with this message).
    """
    try:
        return drivers[backend]
    except KeyError:
        raise ValueError(f"backend {backend!r} is not enabled any more") from None


def register_resumable(runner: TaskRunner,
                       table: Iterable[tuple[str, Callable[[TaskContext], None], Hook]]
                       ) -> None:
    """Register each ``(kind, handler, failure hook)`` of ``table`` as a resumable kind."""
    for kind, handler, hook in table:
        runner.register(kind, handler, resumable=True, on_failure=hook)


def delete_rows(session: Session, model: type[Any], ids: Iterable[str]) -> None:
    """Delete the rows of ``model`` with these primary keys; one already gone is skipped."""
    for row_id in ids:
        row = session.get(model, row_id)
        if row is not None:
            session.delete(row)


class VolumeWork:
    """The task handlers, registered on a runner, over the drivers of every backend.

    ``drivers`` maps a backend (an ``enabled_backends`` section name) to its driver; each
    task names its backend in ``params["backend"]``. ``now()`` gives the timezone-aware
    time the handlers stamp ``updated_at`` with.
    """

    def __init__(self, drivers: Mapping[str, RbdVolumeDriver], images: ImageSource,
                 now: Callable[[], Any]) -> None:
        self.drivers = dict(drivers)
        self.images = images
        self.now = now

    def _driver(self, ctx: TaskContext) -> RbdVolumeDriver:
        return backend_driver(self.drivers, ctx.params["backend"])

    def register(self, runner: TaskRunner) -> None:
        """Register every kind of :data:`KINDS` with its handler and failure hook."""
        table: list[tuple[str, Callable[[TaskContext], None], Hook]] = [
            ("volume.create", self.create_volume, self._volume_status("error")),
            ("volume.delete", self.delete_volume, self._delete_failed),
            ("volume.extend", self.extend_volume, self._extend_failed),
            ("volume.revert", self.revert_volume, self._volume_status("error")),
            ("snapshot.create", self.create_snapshot, self._snapshot_status("error")),
            ("snapshot.delete", self.delete_snapshot, self._snapshot_status("error_deleting")),
        ]
        register_resumable(runner, table)

    # --- failure hooks (in the failure's transaction; idempotent) -------------------------
    def _volume_status(self, status: str) -> Hook:
        def hook(session: Session, task: TaskInfo, message: str) -> None:
            row = session.get(Volume, task.resource.id)
            if row is not None:
                row.status = status
                row.updated_at = self.now()
            log.warning("volume %s: %s failed: %s", task.resource.id, task.kind, message)
        return hook

    def _snapshot_status(self, status: str) -> Hook:
        def hook(session: Session, task: TaskInfo, message: str) -> None:
            row = session.get(Snapshot, task.resource.id)
            if row is not None:
                row.status = status
                row.updated_at = self.now()
            log.warning("snapshot %s: %s failed: %s", task.resource.id, task.kind, message)
        return hook

    def _delete_failed(self, session: Session, task: TaskInfo, message: str) -> None:
        self._volume_status("error_deleting")(session, task, message)
        for snapshot_id in task.params.get("cascade", ()):
            snap = session.get(Snapshot, snapshot_id)
            if snap is not None and snap.status == "deleting":
                snap.status = "error_deleting"
                snap.updated_at = self.now()

    def _extend_failed(self, session: Session, task: TaskInfo, message: str) -> None:
        row = session.get(Volume, task.resource.id)
        if row is not None:
            row.status = "error_extending"
            row.updated_at = self.now()
        log.warning("volume %s: extend failed: %s", task.resource.id, message)

    # --- volumes ---------------------------------------------------------------------------
    def create_volume(self, ctx: TaskContext) -> None:
        """Make the volume's RBD image from its source (``params["source"]``).

        Sources: ``{"kind": "blank"}``, ``{"kind": "volume", "id": V}``, ``{"kind":
        "snapshot", "id": S, "volume_id": V}``, ``{"kind": "image", "id": I}``. An image is
        cloned copy-on-write when one of its locations allows, else its bytes are imported
        (converted to raw first when needed; zero chunks skipped) and an ``INFO`` user
        message tells why it was not cloned (:meth:`_tell_not_cloned`).
        """
        volume_id = ctx.resource.id
        size = int(ctx.params["size"])
        source: Mapping[str, Any] = ctx.params["source"]
        driver = self._driver(ctx)
        if ctx.resumed:
            discard_partial_volume(driver, volume_id)
        ctx.check()
        image: ImageData | None = None
        not_cloned: NotCloned | None = None
        try:
            kind = source["kind"]
            if kind == "blank":
                driver.create_volume(volume_id, size)
            elif kind == "volume":
                driver.create_cloned_volume(volume_id, size, source["id"])
            elif kind == "snapshot":
                driver.create_volume_from_snapshot(volume_id, size, source["volume_id"],
                                                   source["id"])
            elif kind == "image":
                image = self.images.image(source["id"], None)
                not_cloned = self._from_image(ctx, driver, volume_id, size, image)
            else:
                raise ValueError(f"unknown volume source {kind!r}")
        except BaseException:
            discard_partial_volume(driver, volume_id)
            raise
        with ctx.finish() as session:
            row = session.get(Volume, volume_id)
            if row is None:  # deleted meanwhile (force delete): nothing to show it on
                return
            row.status = "available"
            row.updated_at = self.now()
            if image is not None:
                row.bootable = True
                _set_image_metadata(row, image)
            if not_cloned is not None:
                self._tell_not_cloned(session, row, not_cloned)

    def _from_image(self, ctx: TaskContext, driver: RbdVolumeDriver, volume_id: str,
                    size: int, image: ImageData) -> NotCloned | None:
        """Clone the image into the volume, else copy its data; None if it was cloned,
        else why it was copied."""
        if image.status != "active":
            raise ImageUnacceptable(f"image {image.id} is {image.status}, not active")
        wanted = image.virtual_size if image.virtual_size is not None else image.size
        if wanted is not None and wanted > size << 30:
            raise ImageUnacceptable(
                f"image {image.id} is {wanted} bytes, larger than the volume ({size} GiB)")
        cloned = driver.clone_image(volume_id, size, image.locations, image.disk_format or "")
        if cloned is True:
            return None
        log.info("volume %s: image %s not cloned (%s: %s), copying its data", volume_id,
                 image.id, cloned.reason.value, cloned.detail)
        ctx.heartbeat(progress=0)
        driver.copy_image_to_volume(volume_id, size, self._counted(ctx, image))
        return cloned

    def _tell_not_cloned(self, session: Session, row: Volume, not_cloned: NotCloned) -> None:
        """The user message (``INFO``) of a volume whose image was copied, not cloned:
        action ``copy image to volume``, the detail of the reason (shoal's 901-905, see
        :mod:`._messages`)."""
        messages.record(session, project_id=row.project_id, resource_uuid=row.id,
                        action=messages.COPY_IMAGE_TO_VOLUME,
                        detail=messages.IMAGE_NOT_CLONED[not_cloned.reason.value],
                        now=self.now(), level="INFO")

    def _counted(self, ctx: TaskContext, image: ImageData) -> Iterable[bytes]:
        """The image's raw bytes, with a heartbeat (and progress) between pieces."""
        total = image.virtual_size or image.size or 0
        done = 0
        for piece in self.images.raw_data(image.id):
            done += len(piece)
            ctx.heartbeat(progress=min(99, done * 100 // total) if total else None)
            yield piece

    def delete_volume(self, ctx: TaskContext) -> None:
        """Remove the snapshots of ``params["cascade"]`` one by one, then the volume's RBD
        image (a missing one is fine), then the rows.

        Snapshots go first and in order, in this one task, as Cinder's cascade does: each
        removal may flatten the snapshot's clones, and the volume's removal must find no
        snapshot left.
        """
        driver = self._driver(ctx)
        volume_id = ctx.resource.id
        cascade: list[str] = list(ctx.params.get("cascade", ()))
        for snapshot_id in cascade:
            ctx.check()
            with contextlib.suppress(SnapshotNotFound):
                driver.delete_snapshot(volume_id, snapshot_id)
        driver.delete_volume(volume_id)
        with ctx.finish() as session:
            delete_rows(session, Snapshot, cascade)
            session.flush()
            delete_rows(session, Volume, [volume_id])

    def extend_volume(self, ctx: TaskContext) -> None:
        """Grow the image to ``params["new_size"]`` GiB, then the row (idempotent)."""
        new_size = int(ctx.params["new_size"])
        self._driver(ctx).extend_volume(ctx.resource.id, new_size)
        with ctx.finish() as session:
            row = session.get(Volume, ctx.resource.id)
            if row is not None:
                row.size = new_size
                row.status = row.previous_status or "available"
                row.previous_status = None
                row.updated_at = self.now()

    def revert_volume(self, ctx: TaskContext) -> None:
        """Roll the volume back to snapshot ``params["snapshot_id"]`` (its size included)."""
        snapshot_id = ctx.params["snapshot_id"]
        size = int(ctx.params["size"])
        self._driver(ctx).revert_to_snapshot(ctx.resource.id, snapshot_id, size_gib=size)
        with ctx.finish() as session:
            row = session.get(Volume, ctx.resource.id)
            if row is not None:
                row.status = "available"
                row.size = size
                row.updated_at = self.now()
            snap = session.get(Snapshot, snapshot_id)
            if snap is not None and snap.status == "restoring":
                snap.status = "available"

    # --- snapshots -------------------------------------------------------------------------
    def create_snapshot(self, ctx: TaskContext) -> None:
        """Snapshot (and protect) the volume's image as ``snapshot-<id>``."""
        snapshot_id = ctx.resource.id
        volume_id = ctx.params["volume_id"]
        driver = self._driver(ctx)
        if ctx.resumed:
            _discard_snapshot(driver, volume_id, snapshot_id)
        try:
            driver.create_snapshot(volume_id, snapshot_id)
        except BaseException:
            _discard_snapshot(driver, volume_id, snapshot_id)
            raise
        with ctx.finish() as session:
            row = session.get(Snapshot, snapshot_id)
            if row is not None:
                row.status = "available"
                row.progress = "100%"
                row.updated_at = self.now()

    def delete_snapshot(self, ctx: TaskContext) -> None:
        """Remove the RBD snapshot (flattening clones that keep it busy), then the row."""
        self._driver(ctx).delete_snapshot(ctx.params["volume_id"], ctx.resource.id)
        with ctx.finish() as session:
            row = session.get(Snapshot, ctx.resource.id)
            if row is not None:
                session.delete(row)


def discard_partial_volume(driver: RbdVolumeDriver, volume_id: str) -> None:
    """Remove whatever an interrupted or failed create left of ``volume_id`` (its RBD
    image; none is fine); an error is logged, not raised (the create's own error matters
    more, and the next attempt removes it again)."""
    try:
        driver.delete_volume(volume_id)
    except Exception:  # the original error matters more; the next attempt retries
        log.exception("volume %s: could not remove the partial image", volume_id)


def _discard_snapshot(driver: RbdVolumeDriver, volume_id: str, snapshot_id: str) -> None:
    """Remove whatever an interrupted or failed snapshot create left."""
    try:
        driver.delete_snapshot(volume_id, snapshot_id)
    except SnapshotNotFound:
        pass
    except Exception:
        log.exception("snapshot %s: could not remove the partial snapshot", snapshot_id)


def _set_image_metadata(row: Volume, image: ImageData) -> None:
    """Copy the image's properties into the volume's ``image`` metadata (replacing any)."""
    values: dict[str, str] = {"image_id": image.id}
    if image.name is not None:
        values["image_name"] = image.name
    values.update({k: str(v) for k, v in image.properties.items()})
    row.metadata_items = [m for m in row.metadata_items if m.kind != "image"]
    row.metadata_items.extend(VolumeMetadata(kind="image", key=k, value=v)
                              for k, v in sorted(values.items()))
    row.image_id = image.id

