"""Volumes of servers, through the volume service's attachments API as Nova's compute
manager uses it: attachment create (the volume ``reserved``), update with this host's
connector (``attaching``, the RBD ``connection_info`` recorded), complete (``in-use``);
detach deletes the attachment (``available`` again).

- ``os-volume_attachments`` (:meth:`ServerVolumes.attach`, :meth:`detach`): the server
  must be settled in a state Nova allows (409 ``Cannot 'attach_volume' instance X while
  it is in vm_state building``); the device is the next free ``/dev/vdX``. A failure half
  way deletes the attachment again, so the volume is never left ``reserved``.
- Boot from volume (:meth:`prepare_boot`, run by the build task): a mapping whose source
  is an image, a snapshot or nothing gets its volume made by the volume service (as the
  server's user), tagged in its metadata with the server and the mapping so that a build
  resumed after a crash finds it instead of making a second one; then every volume mapping
  is attached in boot order.
- :meth:`release` (server deletion, failed builds): every attachment of the server is
  deleted (those without a mapping too: a crash between the attachment and its mapping),
  then the volumes of mappings with ``delete_on_termination`` are deleted.

Calls go to the volume service as the caller (the API's user) or, for tasks, as the
server's user with the ``member`` role, as Nova passes the user's context to Cinder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select

from shoal import errors
from shoal.cluster import Session
from shoal.db import Database
from shoal.rbd.backend import rbd_lib_for
from shoal.services._caller import Caller
from shoal.services.compute._server_models import BlockDeviceMapping, Server
from shoal.services.compute._server_rows import visible_row
from shoal.services.compute._server_types import VolumeAttached
from shoal.services.volume import VolumeAttachments, VolumeService, VolumeSource
from shoal.services.volume.policy import CallerLike, PolicyNotAuthorized

__all__ = ["ServerVolumes"]

log = logging.getLogger("shoal.services.compute")

#: vm_states a volume may be attached or detached in (Nova's ``check_instance_state``).
_ATTACHABLE: Final = frozenset({"active", "paused", "stopped", "suspended", "resized",
                                "shelved", "shelved_offloaded"})
#: Metadata keys naming the server and mapping a boot volume was made for.
SERVER_KEY: Final = "shoal:server"
MAPPING_KEY: Final = "shoal:bdm"
#: How long a build waits for a boot volume to be made (seconds; Nova's
#: ``block_device_allocate_retries`` 60 x ``_interval`` 3).
VOLUME_WAIT_S: Final = 180.0
_POLL_S: Final = 0.5


def _member(row: Server) -> Caller:
    return Caller(row.user_id, row.project_id, frozenset({"member", "reader"}))


def _local_devices(row: Server) -> set[str]:
    """The devices the server's own disks take, as Nova names them: the root ``vda``,
    then the flavor's ephemeral disk and swap (``vdb``, ``vdc``) when it has them."""
    flavor = json.loads(row.flavor)
    taken = {"/dev/vda"}
    for size in (int(flavor.get("ephemeral_gb") or 0), int(flavor.get("swap") or 0)):
        if size > 0:
            taken.add(_device(taken))
    return taken


def _device(used: set[str]) -> str:
    for letter in "bcdefghijklmnopqrstuvwxyz":
        name = f"/dev/vd{letter}"
        if name not in used:
            return name
    raise errors.InvalidArgument("No free disk device names for prefix 'vd'")


def _attached(bdm: BlockDeviceMapping) -> VolumeAttached:
    assert bdm.volume_id is not None
    return VolumeAttached(bdm.volume_id, bdm.delete_on_termination, bdm.device_name,
                          bdm.attachment_id, bdm.tag)


class ServerVolumes:
    """Attach and detach volumes of servers of this compute ``host``."""

    def __init__(self, db: Database, volumes: VolumeService, attachments: VolumeAttachments,
                 host: str, now: Callable[[], datetime], session: Session | None = None
                 ) -> None:
        #: the compute host's cluster session (its rbd_user): a swap copies the data
        self.session = session
        self.db = db
        self.volumes = volumes
        self.attachments = attachments
        self.host = host
        self.now = now

    def _connector(self, device: str | None) -> dict[str, object]:
        return {"platform": "x86_64", "os_type": "linux", "ip": "127.0.0.1",
                "host": self.host, "multipath": False, "do_local_attach": False,
                "mountpoint": device}

    def _connect(self, caller: CallerLike, volume_id: str, server_id: str,
                 device: str | None) -> str:
        """Attachment create + update + complete; the attachment's id. A failure after
        the create deletes the attachment again."""
        made = self.attachments.create(caller, volume_id, server_id)
        try:
            self.attachments.update(caller, made.id, self._connector(device))
            self.attachments.complete(caller, made.id)
        except BaseException:
            self._forget(caller, made.id)
            raise
        return made.id

    def _forget(self, caller: CallerLike, attachment_id: str) -> None:
        with contextlib.suppress(errors.NotFound):
            self.attachments.delete(caller, attachment_id)

    # --- os-volume_attachments ----------------------------------------------------------
    def attach(self, caller: CallerLike, server_id: str, volume_id: str, *,
               device: str | None = None, tag: str | None = None,
               delete_on_termination: bool = False) -> VolumeAttached:
        """Attach ``volume_id`` to the server (see the module doc).

        Raises:
            ServerNotFound: no such server for the caller (404).
            errors.Busy: the server's state does not allow it (409).
            errors.NotFound: no such volume for the caller (404).
            errors.InvalidArgument: the volume cannot be attached (400, the volume
                service's words), or already is to this server.
        """
        with self.db.session() as session:
            row = visible_row(session, caller, server_id)
            _check_state(row, "attach_volume")
            if any(b.volume_id == volume_id for b in row.block_devices):
                raise errors.InvalidArgument(
                    f"Invalid volume: volume {volume_id} is already attached to the "
                    f"instance {server_id}")
            used = {b.device_name for b in row.block_devices if b.device_name}
            used |= _local_devices(row)
        self.volumes.get_volume(caller, volume_id)  # 404 in the volume service's words
        name = device if device and device not in used else _device(used)
        attachment = self._connect(caller, volume_id, server_id, name)
        try:
            with self.db.session() as session:
                bdm = BlockDeviceMapping(
                    server_id=server_id, source_type="volume", destination_type="volume",
                    volume_id=volume_id, device_name=name, attachment_id=attachment,
                    delete_on_termination=delete_on_termination, tag=tag,
                    created_at=self.now())
                session.add(bdm)
                session.flush()
                return _attached(bdm)
        except BaseException:
            self._forget(caller, attachment)
            raise

    def detach(self, caller: CallerLike, server_id: str, volume_id: str) -> None:
        """Detach ``volume_id`` (404 ``volume_id not found``; the root volume: 400)."""
        with self.db.session() as session:
            row = visible_row(session, caller, server_id)
            _check_state(row, "detach_volume")
            bdm = next((b for b in row.block_devices if b.volume_id == volume_id), None)
            if bdm is None:
                raise errors.NotFound(f"volume_id not found: {volume_id}")
            if bdm.boot_index == 0:
                raise errors.InvalidArgument("Can't detach root device volume")
            attachment = bdm.attachment_id
        if attachment is not None:
            self._forget(caller, attachment)
        with self.db.session() as session:
            found = session.get(BlockDeviceMapping, bdm.id)
            if found is not None:
                session.delete(found)

    def listed(self, caller: CallerLike, server_id: str) -> list[VolumeAttached]:
        """The server's volumes, in the order they were attached."""
        with self.db.session(readonly=True) as session:
            row = visible_row(session, caller, server_id)
            return [_attached(b) for b in row.block_devices
                    if b.destination_type == "volume" and b.volume_id]

    def shown(self, caller: CallerLike, server_id: str, volume_id: str) -> VolumeAttached:
        """One volume of the server (404 ``Volume X is not attached to instance Y``)."""
        for item in self.listed(caller, server_id):
            if item.volume_id == volume_id:
                return item
        raise errors.NotFound(f"Volume {volume_id} is not attached to instance {server_id}")

    def swap(self, caller: CallerLike, server_id: str, old_id: str, new_id: str) -> None:
        """Replace attached volume ``old_id`` by ``new_id`` at the same device, its data
        copied first, as Nova's ``swap_volume`` (libvirt's block copy) does — what Cinder's
        volume migration asks of Nova; admins only. The old volume ends ``available``.

        Raises:
            PolicyNotAuthorized: not an admin (403).
            errors.NotFound: ``old_id`` is not attached to the server (404).
            errors.InvalidArgument: ``new_id`` is smaller, or cannot be attached (400).
        """
        if "admin" not in caller.roles:
            raise PolicyNotAuthorized("Policy doesn't allow os_compute_api:os-volumes-"
                                      "attachments:swap to be performed.")
        if self.session is None:
            raise errors.NotSupported("this compute host has no cluster session to copy "
                                      "volumes with")
        with self.db.session(readonly=True) as session:
            row = visible_row(session, caller, server_id)
            _check_state(row, "swap_volume")
            bdm = next((b for b in row.block_devices if b.volume_id == old_id), None)
            if bdm is None or bdm.attachment_id is None:
                raise errors.NotFound(f"volume_id not found: {old_id}")
            bdm_id, device, old_attachment = bdm.id, bdm.device_name, bdm.attachment_id
        old, new = (self.volumes.get_volume(caller, v) for v in (old_id, new_id))
        if new.size < old.size:
            raise errors.InvalidArgument(f"Invalid volume: volume {new_id} ({new.size} GiB) "
                                         f"is smaller than volume {old_id} ({old.size} GiB)")
        source = self.attachments.get(caller, old_attachment).connection_info
        made = self.attachments.create(caller, new_id, server_id)
        try:
            target = self.attachments.update(caller, made.id,
                                             self._connector(device)).connection_info
            _copy_volume(self.session, source, target)
            self.attachments.complete(caller, made.id)
        except BaseException:
            self._forget(caller, made.id)
            raise
        with self.db.session() as session:
            found = session.get_one(BlockDeviceMapping, bdm_id)
            found.volume_id, found.attachment_id = new_id, made.id
        self._forget(caller, old_attachment)

    # --- boot from volume (the build task) ----------------------------------------------
    def prepare_boot(self, server_id: str, heartbeat: Callable[[], None]) -> None:
        """Make the volumes the mappings ask for, then attach every volume mapping (each
        step idempotent, see the module doc)."""
        with self.db.session(readonly=True) as session:
            row = session.get_one(Server, server_id)
            caller = _member(row)
            wanted = [(b.id, b.source_type, b.volume_id, b.image_id, b.snapshot_id,
                       b.volume_size) for b in sorted(
                           row.block_devices,
                           key=lambda b: (b.boot_index is None, b.boot_index or 0, b.id))
                      if b.destination_type == "volume"]
        for bdm_id, source, volume_id, image_id, snapshot_id, size in wanted:
            if volume_id is None:
                volume_id = self._boot_volume(caller, server_id, bdm_id, source, image_id,
                                              snapshot_id, size)
            self._wait_available(caller, volume_id, server_id, heartbeat)
            self._attach_mapping(caller, server_id, bdm_id, volume_id)
            heartbeat()

    def _boot_volume(self, caller: Caller, server_id: str, bdm_id: int, source: str,
                     image_id: str | None, snapshot_id: str | None, size: int | None) -> str:
        mine = {SERVER_KEY: server_id, MAPPING_KEY: str(bdm_id)}
        found = [v for v in self.volumes.list_volumes(caller)
                 if all(v.metadata.get(k) == val for k, val in mine.items())]
        if found:
            volume_id = found[0].id
        else:
            made = self.volumes.create_volume(
                caller, size=size, name="", metadata=mine,
                source=VolumeSource(image_id=image_id if source == "image" else None,
                                    snapshot_id=snapshot_id if source == "snapshot"
                                    else None))
            volume_id = made.id
        with self.db.session() as session:
            bdm = session.get_one(BlockDeviceMapping, bdm_id)
            bdm.volume_id = volume_id
        return volume_id

    def _wait_available(self, caller: Caller, volume_id: str, server_id: str,
                        heartbeat: Callable[[], None]) -> None:
        deadline = time.monotonic() + VOLUME_WAIT_S
        while True:
            volume = self.volumes.get_volume(caller, volume_id)
            if volume.status == "available" or any(
                    a.instance_uuid == server_id for a in volume.attachments):
                return
            if volume.status == "error" or time.monotonic() > deadline:
                raise errors.InvalidArgument(
                    f"Volume {volume_id} did not finish being created even after we waited "
                    f"{int(VOLUME_WAIT_S)} seconds. And its status is {volume.status}.")
            heartbeat()
            time.sleep(_POLL_S)

    def _attach_mapping(self, caller: Caller, server_id: str, bdm_id: int,
                        volume_id: str) -> None:
        with self.db.session(readonly=True) as session:
            bdm = session.get_one(BlockDeviceMapping, bdm_id)
            if bdm.attachment_id is not None:
                return
            device = bdm.device_name or ("/dev/vda" if bdm.boot_index == 0 else None)
            used = {b.device_name for b in session.scalars(select(BlockDeviceMapping).where(
                BlockDeviceMapping.server_id == server_id)) if b.device_name}
            used |= _local_devices(session.get_one(Server, server_id))
        if device is None:
            device = _device(used)
        existing = [a for a in self.volumes.get_volume(caller, volume_id).attachments
                    if a.instance_uuid == server_id]
        attachment = existing[0].id if existing else self._connect(caller, volume_id,
                                                                    server_id, device)
        with self.db.session() as session:
            bdm = session.get_one(BlockDeviceMapping, bdm_id)
            bdm.attachment_id, bdm.device_name = attachment, device

    # --- release (delete, failed build) -------------------------------------------------
    def release(self, server_id: str) -> None:
        """Detach every volume of the server; delete those marked ``delete_on_termination``
        (a volume already gone is fine)."""
        with self.db.session(readonly=True) as session:
            row = session.get(Server, server_id)
            if row is None:
                return
            caller = _member(row)
            doomed = [b.volume_id for b in row.block_devices
                      if b.delete_on_termination and b.volume_id]
        for attachment in self.attachments.list(caller):
            if attachment.instance_uuid == server_id:
                self._forget(caller, attachment.id)
        for volume_id in doomed:
            try:
                self.volumes.delete_volume(caller, volume_id)
            except errors.NotFound:
                pass
            except errors.InvalidArgument as exc:  # deleting already, or attached elsewhere
                log.warning("server %s: volume %s not deleted: %s", server_id, volume_id, exc)


def _rbd_name(info: Mapping[str, Any] | None) -> tuple[str, str]:
    """(pool, image) of an RBD ``connection_info`` (``data.name`` = ``POOL/IMAGE``)."""
    data = (info or {}).get("data")
    name = data.get("name") if isinstance(data, Mapping) else None
    if not isinstance(name, str) or "/" not in name:
        raise errors.InvalidArgument(f"not an RBD connection: {info!r}")
    pool, image = name.split("/", 1)
    return pool, image


def _copy_volume(session: Session, source: Mapping[str, Any] | None,
                 target: Mapping[str, Any] | None) -> None:
    """Copy the data of the RBD image of ``source`` into that of ``target`` (their
    connections), extent by extent (holes stay holes), then flush."""
    (src_pool, src_name), (dst_pool, dst_name) = _rbd_name(source), _rbd_name(target)
    src_io, dst_io = session.open_ioctx(src_pool), session.open_ioctx(dst_pool)
    try:
        lib = rbd_lib_for(src_io)
        with lib.Image(src_io, src_name, read_only=True) as src, \
                lib.Image(dst_io, dst_name) as dst:
            extents: list[tuple[int, int]] = []
            src.diff_iterate(0, src.size(), None,
                             lambda off, n, exists: extents.append((off, n)) if exists
                             else None, include_parent=True, whole_object=False)
            for offset, length in extents:
                for at in range(offset, offset + length, _COPY_BYTES):
                    n = min(_COPY_BYTES, offset + length - at)
                    dst.write(bytes(src.read(at, n)), at)
            dst.flush()
    finally:
        src_io.close()
        dst_io.close()


#: Bytes a swap copies at a time.
_COPY_BYTES: Final = 4 << 20


def _check_state(row: Server, action: str) -> None:
    if row.task_state is not None or row.vm_state not in _ATTACHABLE:
        state = (f"task_state {row.task_state}" if row.task_state is not None
                 else f"vm_state {row.vm_state}")
        raise errors.Busy(f"Cannot '{action}' instance {row.id} while it is in {state}")



