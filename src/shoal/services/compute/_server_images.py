"""``createImage``: a server's root disk saved as a new image, as Nova does it.

- **Image-backed server**: the image record is made ``queued`` at once (the API answers
  202 with its id), the server's ``task_state`` goes ``image_snapshot`` →
  ``image_pending_upload`` → ``image_uploading`` → None, and the ``server.snapshot`` task
  snapshots the root disk, then either clones it straight into the images' pool (Nova's
  direct snapshot: flattened, ``snap`` protected, location ``rbd://fsid/images/<id>/snap``,
  so the new image is itself cloneable) or, when the disks' user may not write that pool
  (the guide's caps), streams it through the image service. A failure (or a restart that
  finds the image no longer ``queued``) deletes the unfinished image; the disk's snapshot
  is removed either way.
- **Volume-backed server**: a snapshot of the root volume (``force``, as the volume is
  in use) and an active image of no data whose ``block_device_mapping`` property names
  that snapshot (``bdm_v2``, ``root_device_name``), so that booting the image boots a
  volume made from the snapshot.

The image's properties are the request's metadata plus Nova's ``instance_uuid``,
``image_type`` (``snapshot``), ``base_image_ref``, ``user_id`` and the flavor's
``min_disk`` (GiB) and ``min_ram`` (MiB).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Final, Protocol

from sqlalchemy.orm import Session

from shoal import errors
from shoal.db import Database
from shoal.services.compute._server_models import Server
from shoal.services.compute._server_rows import (
    begin_action,
    finish_event,
    start_event,
    visible_row,
)
from shoal.services.compute._server_volumes import ServerVolumes
from shoal.services.compute.disks import DiskSnapshots
from shoal.services.tasks import (
    ResourceRef,
    TaskContext,
    TaskInfo,
    TaskInterrupted,
    TaskRunner,
)
from shoal.services.volume.policy import CallerLike

__all__ = ["ImageSink", "ServerImages"]

log = logging.getLogger("shoal.services.compute")

_EVENT: Final = "compute_snapshot_instance"
_SNAPSHOTTABLE: Final = frozenset({"active", "stopped", "paused", "suspended"})


class ImageSink(Protocol):
    """The image service as compute writes images (``GlanceImages`` is one)."""

    def create_image(self, caller: CallerLike, *, name: str, disk_format: str,
                     container_format: str, visibility: str, protected: bool,
                     properties: Mapping[str, str]) -> str: ...

    def image_status(self, image_id: str) -> str | None: ...

    def upload(self, image_id: str, project_id: str, user_id: str, data: Iterable[bytes],
               size: int | None) -> None: ...

    def activate(self, image_id: str, *, location: str, size: int, checksum: str | None,
                 hash_value: str | None, virtual_size: int) -> None: ...

    def discard(self, image_id: str) -> None: ...


class ServerImages:
    """``createImage`` and its task (see the module doc)."""

    def __init__(self, db: Database, tasks: TaskRunner, sink: ImageSink,
                 snapshots: DiskSnapshots, images_pool: str, now: Callable[[], datetime],
                 volumes: ServerVolumes | None = None) -> None:
        self.db = db
        self.tasks = tasks
        self.sink = sink
        self.snapshots = snapshots
        self.images_pool = images_pool
        self.now = now
        self.volumes = volumes

    def register(self, tasks: TaskRunner) -> None:
        tasks.register("server.snapshot", self.work, resumable=True,
                       on_failure=self._failed)

    # --- the API's part -----------------------------------------------------------------
    def create_image(self, caller: CallerLike, server_id: str, name: str,
                     metadata: Mapping[str, str], request_id: str) -> str:
        """Start saving the server as image ``name``; the new image's id.

        Raises:
            errors.Busy: the server's state does not allow it, or it is locked (409).
        """
        with self.db.session(readonly=True) as session:
            row = visible_row(session, caller, server_id)
            self._check(caller, row)
            flavor = json.loads(row.flavor)
            properties = {**dict(metadata), "instance_uuid": row.id,
                          "image_type": "snapshot", "base_image_ref": row.image_id or "",
                          "user_id": row.user_id,
                          "min_disk": str(flavor["root_gb"]),
                          "min_ram": str(flavor["memory_mb"])}
            root = next((b.volume_id for b in row.block_devices
                         if b.boot_index == 0 and b.destination_type == "volume"), "")
            project_id, user_id = row.project_id, row.user_id
        # the image (and a volume snapshot) are made in their services' own transactions,
        # none held here: SQLite has one writer at a time
        if root != "":
            return self._volume_backed(caller, project_id, user_id, name, properties, root)
        image_id = self.sink.create_image(
            caller, name=name, disk_format="raw", container_format="bare",
            visibility="private", protected=False, properties=properties)
        try:
            with self.db.session() as session:
                row = visible_row(session, caller, server_id, lock=True)
                self._check(caller, row)  # again: it may have changed meanwhile
                now = self.now()
                row.task_state = "image_snapshot"
                row.updated_at = now
                begin_action(session, row, caller, "createImage", request_id, now)
                self.tasks.submit("server.snapshot", ResourceRef("server", row.id,
                                                                 row.project_id),
                                  {"image_id": image_id}, session=session)
        except BaseException:
            self.sink.discard(image_id)
            raise
        return image_id

    @staticmethod
    def _check(caller: CallerLike, row: Server) -> None:
        if row.locked and "admin" not in caller.roles:
            raise errors.Busy(f"Instance {row.id} is locked")
        if row.task_state is not None or row.vm_state not in _SNAPSHOTTABLE:
            state = (f"task_state {row.task_state}" if row.task_state is not None
                     else f"vm_state {row.vm_state}")
            raise errors.Busy(f"Cannot 'createImage' instance {row.id} while it is in "
                              f"{state}")

    def _volume_backed(self, caller: CallerLike, project_id: str, user_id: str, name: str,
                       properties: dict[str, str], volume_id: str | None) -> str:
        if self.volumes is None or volume_id is None:
            raise errors.InvalidArgument("the server's root volume cannot be snapshotted: "
                                         "this deployment serves no volumes")
        snapshot = self.volumes.volumes.create_snapshot(
            caller, volume_id, name=f"snapshot for {name}", force=True)
        mapping = [{"boot_index": 0, "source_type": "snapshot", "destination_type": "volume",
                    "snapshot_id": snapshot.id, "volume_size": snapshot.volume_size,
                    "delete_on_termination": False, "device_name": "/dev/vda",
                    "tag": None, "volume_id": None, "image_id": None,
                    "no_device": None, "disk_bus": "virtio", "device_type": "disk"}]
        properties = {**properties, "block_device_mapping": json.dumps(mapping),
                      "bdm_v2": "True", "root_device_name": "/dev/vda"}
        image_id = self.sink.create_image(caller, name=name, disk_format="raw",
                                          container_format="bare", visibility="private",
                                          protected=False, properties=properties)
        self.sink.upload(image_id, project_id, user_id, [], 0)  # active, no data
        return image_id

    # --- the task -----------------------------------------------------------------------
    def _set_task(self, server_id: str, task_state: str) -> None:
        with self.db.session() as session:
            row = session.get(Server, server_id)
            if row is not None and row.task_state is not None:
                row.task_state = task_state
                row.updated_at = self.now()

    def work(self, ctx: TaskContext) -> None:
        """Snapshot, then clone into the images' pool or stream; the server settles."""
        server_id, image_id = ctx.resource.id, str(ctx.params["image_id"])
        with ctx.db.session() as session:
            row = session.get(Server, server_id)
            gone = row is None or row.deleted_at is not None
            if row is not None and not gone:
                start_event(session, server_id, _EVENT, self.now(), row.host)
                project_id, user_id = row.project_id, row.user_id
        if gone:  # the image service is called with no transaction of ours open
            self.sink.discard(image_id)
            return
        try:
            self._save(ctx, server_id, image_id, project_id, user_id)
        except TaskInterrupted:
            raise  # resumed later
        except Exception:
            self._clean(server_id, image_id)  # here, not in the failure hook: no DB lock held
            raise
        self.snapshots.drop(server_id, image_id)
        with ctx.finish() as session:
            row = session.get(Server, server_id, with_for_update=True)
            if row is not None and row.task_state in ("image_snapshot",
                                                      "image_pending_upload",
                                                      "image_uploading"):
                row.task_state = None
                row.updated_at = self.now()
            finish_event(session, server_id, _EVENT, self.now())
        return None

    def _save(self, ctx: TaskContext, server_id: str, image_id: str, project_id: str,
              user_id: str) -> None:
        if self.sink.image_status(image_id) != "queued":
            raise errors.InvalidArgument(f"image {image_id} is no longer queued (deleted, or "
                                         "an earlier upload was cut short)")
        size = self.snapshots.take(server_id, image_id)
        self._set_task(server_id, "image_pending_upload")
        ctx.heartbeat()
        location = self.snapshots.clone_into(server_id, image_id, self.images_pool,
                                             image_id, ctx.heartbeat)
        self._set_task(server_id, "image_uploading")
        if location is not None:
            self.sink.activate(image_id, location=location, size=size, checksum=None,
                               hash_value=None, virtual_size=size)
        else:
            self.sink.upload(image_id, project_id, user_id,
                             self.snapshots.read_snapshot(server_id, image_id, ctx.heartbeat),
                             size)

    def _clean(self, server_id: str, image_id: str) -> None:
        """Remove the unfinished image and the disk's snapshot (best effort, logged)."""
        try:
            self.sink.discard(image_id)
        except Exception as exc:
            log.warning("snapshot image %s not removed: %s", image_id, exc)
        try:
            self.snapshots.drop(server_id, image_id)
        except Exception as exc:
            log.warning("server %s: snapshot %s not removed: %s", server_id, image_id, exc)

    def _failed(self, session: Session, task: TaskInfo, message: str) -> None:
        row = session.get(Server, task.resource.id)
        if row is not None and row.task_state in ("image_snapshot", "image_pending_upload",
                                                  "image_uploading"):
            row.task_state = None
            row.updated_at = self.now()
        finish_event(session, task.resource.id, _EVENT, self.now(), error=message)
