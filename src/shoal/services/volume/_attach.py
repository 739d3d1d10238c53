"""Attaching volumes: Cinder's attachments API (3.27+) and the older volume actions
(``os-reserve`` ... ``os-detach``, ``os-initialize_connection``), with the status changes
upstream makes.

RBD needs nothing prepared on the host: connecting is the driver's ``connection_info``
(monitors, pool/image, cephx user and libvirt secret) plus, as Cinder's volume manager
adds it, ``qos_specs``: the front-end QoS keys of the volume's type (None without), which
is recorded on the attachment with the connector it was made for. Every change here is one short
transaction; nothing runs as a task.

========================  ====================================  =========================
call                      attachment                            volume
========================  ====================================  =========================
create, no connector      reserved                              reserved
create / update with one  attaching (connection_info kept)      attaching
complete (3.44)           attached                              in-use
delete                    (removed)                             available, or in-use while
                                                                others remain attached
os-reserve/os-unreserve   —                                     attaching / available
os-attach                 attached (a new one)                  in-use
os-begin/roll_detaching   —                                     detaching / in-use
os-detach                 (removed)                             as delete
========================  ====================================  =========================
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from shoal import errors
from shoal.db import Database
from shoal.services.volume import policy
from shoal.services.volume._qos import front_end_specs
from shoal.services.volume._rows import attachment_record, volume_record
from shoal.services.volume.driver import RbdVolumeDriver
from shoal.services.volume.models import Attachment, Volume, VolumeMetadata
from shoal.services.volume.policy import CallerLike
from shoal.services.volume.records import AttachmentRecord, VolumeRecord

__all__ = ["VolumeAttachments"]

_LIVE = ("reserved", "attaching", "attached", "detaching")


def _invalid_volume(reason: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(f"Invalid volume: {reason}")


class VolumeAttachments:
    """Attachments of the volumes of one deployment.

    ``drivers`` maps a volume's ``host`` to its backend's driver (for connection info).
    """

    def __init__(self, db: Database, drivers: Mapping[str, RbdVolumeDriver],
                 now: Callable[[], datetime]) -> None:
        self.db = db
        self.drivers = dict(drivers)
        self.now = now

    # --- helpers ---------------------------------------------------------------------------
    def _volume(self, session: Session, caller: CallerLike, volume_id: str,
                action: str) -> Volume:
        row = session.get(Volume, volume_id)
        if row is None or not policy.may_see(caller, row.project_id):
            raise errors.NotFound(f"Volume {volume_id} could not be found.")
        policy.authorize(caller, action, row.project_id)
        return row

    def _attachment(self, session: Session, caller: CallerLike, attachment_id: str,
                    action: str) -> tuple[Attachment, Volume]:
        row = session.get(Attachment, attachment_id)
        volume = None if row is None else session.get(Volume, row.volume_id)
        if row is None or volume is None or not policy.may_see(caller, volume.project_id):
            raise errors.NotFound(f"Volume attachment could not be found with filter: "
                                  f"attachment_id = {attachment_id}.")
        policy.authorize(caller, action, volume.project_id)
        return row, volume

    def _connect(self, volume: Volume, connector: Mapping[str, Any]) -> dict[str, Any]:
        driver = self.drivers.get(volume.host or "")
        if driver is None:
            raise errors.Unavailable(f"volume {volume.id} lives on host {volume.host}, which "
                                     "is not an enabled backend of this deployment")
        info = driver.initialize_connection(volume.id, connector)
        info["data"]["access_mode"] = "ro" if _readonly(volume) else "rw"
        session = object_session(volume)
        info["data"]["qos_specs"] = None if session is None else front_end_specs(
            session, volume.volume_type_id, volume.size)
        return info

    def _settle(self, volume: Volume) -> None:
        """The volume's status from its live attachments (after one ended)."""
        live = [a for a in volume.attachments if a.status in _LIVE]
        if any(a.status == "attached" for a in live):
            volume.status = "in-use"
        elif live:
            volume.status = "reserved" if all(a.status == "reserved" for a in live) \
                else "attaching"
        else:
            volume.status = "available"
            _set_admin(volume, "attached_mode", None)
        volume.updated_at = self.now()

    def _reserve_check(self, volume: Volume) -> None:
        busy = any(a.status in _LIVE for a in volume.attachments)
        if volume.status == "available" or (volume.multiattach and volume.status in (
                "in-use", "reserved", "attaching")) or (volume.status == "in-use" and not busy):
            return
        raise _invalid_volume(f"Volume {volume.id} status must be available or in-use (with "
                              f"multiattach) to reserve, but the current status is: "
                              f"{volume.status}.")

    # --- the attachments API ---------------------------------------------------------------
    def create(self, caller: CallerLike, volume_id: str, instance_uuid: str, *,
               connector: Mapping[str, Any] | None = None, mode: str | None = None
               ) -> AttachmentRecord:
        """Reserve the volume for ``instance_uuid`` (and connect it when ``connector`` is
        given). ``mode`` None: ``ro`` when the volume is read-only, else ``rw``.

        Raises:
            InvalidArgument: the volume cannot be attached now (status, or a second
                attachment of a volume without multiattach).
        """
        with self.db.session() as session:
            volume = self._volume(session, caller, volume_id, "volume:attachment_create")
            self._reserve_check(volume)
            row = Attachment(id=str(uuid.uuid4()), volume_id=volume_id, status="reserved",
                             instance_uuid=instance_uuid,
                             attach_mode=mode or ("ro" if _readonly(volume) else "rw"),
                             created_at=self.now())
            if connector is not None:
                row.connector = json.dumps(dict(connector))
                row.connection_info = json.dumps(self._connect(volume, connector))
                row.attached_host = connector.get("host")
                row.status = "attaching"
            volume.attachments.append(row)
            self._settle(volume)
            session.flush()
            return attachment_record(row)

    def update(self, caller: CallerLike, attachment_id: str,
               connector: Mapping[str, Any]) -> AttachmentRecord:
        """Connect a reserved attachment (or refresh a connected one) for ``connector``."""
        with self.db.session() as session:
            row, volume = self._attachment(session, caller, attachment_id,
                                           "volume:attachment_update")
            if row.status not in ("reserved", "attaching", "attached"):
                raise errors.InvalidArgument(f"Invalid attachment: attachment "
                                             f"{attachment_id} is {row.status}")
            row.connector = json.dumps(dict(connector))
            row.connection_info = json.dumps(self._connect(volume, connector))
            row.attached_host = connector.get("host")
            if row.status == "reserved":
                row.status = "attaching"
            row.mountpoint = connector.get("mountpoint") or row.mountpoint
            row.updated_at = self.now()
            self._settle(volume)
            session.flush()
            return attachment_record(row)

    def complete(self, caller: CallerLike, attachment_id: str) -> None:
        """The host attached it: attachment ``attached``, volume ``in-use`` (3.44)."""
        with self.db.session() as session:
            row, volume = self._attachment(session, caller, attachment_id,
                                           "volume:attachment_complete")
            if row.connection_info is None:
                raise errors.InvalidArgument(f"Invalid attachment: attachment "
                                             f"{attachment_id} has no connection yet")
            row.status = "attached"
            row.attach_time = self.now()
            _set_admin(volume, "attached_mode", row.attach_mode)
            self._settle(volume)

    def delete(self, caller: CallerLike, attachment_id: str) -> AttachmentRecord:
        """End an attachment; returns it as it was (``detached``)."""
        with self.db.session() as session:
            row, volume = self._attachment(session, caller, attachment_id,
                                           "volume:attachment_delete")
            record = attachment_record(row)
            volume.attachments.remove(row)
            session.delete(row)
            session.flush()
            self._settle(volume)
            return record

    def get(self, caller: CallerLike, attachment_id: str) -> AttachmentRecord:
        """One attachment (404 when absent or another project's)."""
        with self.db.session(readonly=True) as session:
            row, _volume = self._attachment(session, caller, attachment_id,
                                            "volume:attachment_get")
            return attachment_record(row)

    def list(self, caller: CallerLike, *, all_projects: bool = False
             ) -> list[AttachmentRecord]:
        """The attachments of the caller's project's volumes (every project's for an admin
        asking), newest first."""
        policy.authorize(caller, "volume:attachment_get_all", caller.project_id)
        query = select(Attachment).join(Volume, Attachment.volume_id == Volume.id).order_by(
            Attachment.created_at.desc(), Attachment.id.desc())
        if not (all_projects and policy.is_admin(caller)):
            query = query.where(Volume.project_id == caller.project_id)
        with self.db.session(readonly=True) as session:
            return [attachment_record(r) for r in session.execute(query).scalars()]

    # --- the older volume actions ----------------------------------------------------------
    def reserve(self, caller: CallerLike, volume_id: str) -> None:
        """``os-reserve``: available → attaching."""
        with self.db.session() as session:
            volume = self._volume(session, caller, volume_id,
                                  "volume_extension:volume_actions:reserve")
            self._reserve_check(volume)
            volume.status = "attaching"
            volume.updated_at = self.now()

    def unreserve(self, caller: CallerLike, volume_id: str) -> None:
        """``os-unreserve``: attaching → available (in-use while attached elsewhere)."""
        with self.db.session() as session:
            volume = self._volume(session, caller, volume_id,
                                  "volume_extension:volume_actions:unreserve")
            if volume.status == "attaching":
                self._settle(volume)

    def begin_detaching(self, caller: CallerLike, volume_id: str) -> None:
        """``os-begin_detaching``: in-use → detaching."""
        with self.db.session() as session:
            volume = self._volume(session, caller, volume_id,
                                  "volume_extension:volume_actions:begin_detaching")
            if volume.status != "in-use":
                raise _invalid_volume(f"Unable to detach volume. Volume status must be "
                                      f"'in-use' and attach_status must be 'attached' to "
                                      f"detach. Currently: status: '{volume.status}'.")
            volume.status = "detaching"
            volume.updated_at = self.now()

    def roll_detaching(self, caller: CallerLike, volume_id: str) -> None:
        """``os-roll_detaching``: detaching → in-use."""
        with self.db.session() as session:
            volume = self._volume(session, caller, volume_id,
                                  "volume_extension:volume_actions:roll_detaching")
            if volume.status == "detaching":
                volume.status = "in-use"
                volume.updated_at = self.now()

    def attach(self, caller: CallerLike, volume_id: str, *, mountpoint: str,
               instance_uuid: str | None, host_name: str | None, mode: str) -> None:
        """``os-attach``: record an attached attachment; the volume is ``in-use``."""
        with self.db.session() as session:
            volume = self._volume(session, caller, volume_id,
                                  "volume_extension:volume_actions:attach")
            if volume.status not in ("attaching", "available", "reserved") and not (
                    volume.multiattach and volume.status == "in-use"):
                raise _invalid_volume(f"Volume {volume_id} status must be attaching to "
                                      f"attach, but the current status is: {volume.status}.")
            if mode == "rw" and _readonly(volume):
                raise _invalid_volume("Volume is read-only: attach it with mode ro")
            row = Attachment(id=str(uuid.uuid4()), volume_id=volume_id, status="attached",
                             instance_uuid=instance_uuid, attached_host=host_name,
                             mountpoint=mountpoint, attach_mode=mode, attach_time=self.now(),
                             created_at=self.now())
            volume.attachments.append(row)
            _set_admin(volume, "attached_mode", mode)
            self._settle(volume)

    def detach(self, caller: CallerLike, volume_id: str, attachment_id: str | None) -> None:
        """``os-detach``: end ``attachment_id`` (None: the volume's only one)."""
        with self.db.session() as session:
            volume = self._volume(session, caller, volume_id,
                                  "volume_extension:volume_actions:detach")
            live = [a for a in volume.attachments if a.status in _LIVE]
            if attachment_id is None:
                if len(live) != 1:
                    raise _invalid_volume("Detach volume failed: more than one attachment "
                                          "and no attachment_id given" if live else
                                          "Volume must be attached in order to detach.")
                row = live[0]
            else:
                found = [a for a in volume.attachments if a.id == attachment_id]
                if not found:
                    raise errors.NotFound(f"Volume attachment could not be found with filter:"
                                          f" attachment_id = {attachment_id}.")
                row = found[0]
            volume.attachments.remove(row)
            session.delete(row)
            session.flush()
            self._settle(volume)

    def initialize_connection(self, caller: CallerLike, volume_id: str,
                              connector: Mapping[str, Any]) -> dict[str, Any]:
        """``os-initialize_connection``: the driver's ``connection_info`` (200)."""
        with self.db.session(readonly=True) as session:
            volume = self._volume(session, caller, volume_id,
                                  "volume_extension:volume_actions:initialize_connection")
            return self._connect(volume, connector)

    def terminate_connection(self, caller: CallerLike, volume_id: str) -> None:
        """``os-terminate_connection``: nothing to undo for RBD (checks the caller only)."""
        with self.db.session(readonly=True) as session:
            self._volume(session, caller, volume_id,
                         "volume_extension:volume_actions:terminate_connection")

    def force_detach(self, caller: CallerLike, volume_id: str,
                     attachment_id: str | None) -> None:
        """``os-force_detach`` (admins): end one attachment, or all of them."""
        policy.authorize(caller, "volume_extension:volume_admin_actions:force_detach")
        with self.db.session() as session:
            volume = self._volume(session, caller, volume_id, "volume:get")
            for row in list(volume.attachments):
                if attachment_id is None or row.id == attachment_id:
                    volume.attachments.remove(row)
                    session.delete(row)
            session.flush()
            self._settle(volume)

    # --- flags -----------------------------------------------------------------------------
    def set_readonly(self, caller: CallerLike, volume_id: str, readonly: bool) -> None:
        """``os-update_readonly_flag``: the admin metadata ``readonly`` (only while
        available, as Cinder)."""
        with self.db.session() as session:
            volume = self._volume(session, caller, volume_id, "volume:update_readonly_flag")
            if volume.status != "available":
                raise _invalid_volume(f"Volume {volume_id} status must be available to update "
                                      f"readonly flag, but current status is: "
                                      f"{volume.status}.")
            _set_admin(volume, "readonly", "True" if readonly else "False")
            volume.updated_at = self.now()

    def volume(self, caller: CallerLike, volume_id: str) -> VolumeRecord:
        """The volume as it stands after an attachment change (for replies)."""
        with self.db.session(readonly=True) as session:
            return volume_record(self._volume(session, caller, volume_id, "volume:get"))


def _readonly(volume: Volume) -> bool:
    return any(m.kind == "admin" and m.key == "readonly" and m.value == "True"
               for m in volume.metadata_items)


def _set_admin(volume: Volume, key: str, value: str | None) -> None:
    """Set (or with None remove) one admin metadata item of ``volume``."""
    for item in list(volume.metadata_items):
        if item.kind == "admin" and item.key == key:
            if value is None:
                volume.metadata_items.remove(item)
            else:
                item.value = value
            return
    if value is not None:
        volume.metadata_items.append(VolumeMetadata(kind="admin", key=key, value=value))
