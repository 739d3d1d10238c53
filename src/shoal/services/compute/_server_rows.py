"""Server rows: to records, the caller's view of them, list filters, instance actions."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from shoal import errors
from shoal.services.compute import policy
from shoal.services.compute._server_models import (
    InstanceAction,
    InstanceActionEvent,
    Server,
    ServerFault,
)
from shoal.services.compute._server_types import (
    FaultRecord,
    ServerQuery,
    ServerRecord,
    VolumeAttached,
    server_status,
)
from shoal.services.volume.policy import CallerLike

__all__ = ["SORT_KEYS", "ServerNotFound", "begin_action", "finish_event", "list_rows",
           "record", "start_event", "visible_row"]

#: Sort keys Nova accepts that shoal keeps (columns of the row).
SORT_KEYS: Final = ("access_ip_v4", "access_ip_v6", "availability_zone", "created_at",
                    "display_name", "host", "hostname", "image_ref", "launched_at",
                    "locked", "node", "power_state", "project_id", "task_state",
                    "terminated_at", "updated_at", "user_id", "uuid", "vm_state")
_COLUMN: Final = {"display_name": "name", "image_ref": "image_id", "uuid": "id",
                  "access_ip_v4": "access_ip_v4", "access_ip_v6": "access_ip_v6"}
#: status (as users filter on it) → vm_states that show it.
_STATUS_STATES: Final = {
    "BUILD": ("building",), "ACTIVE": ("active",), "SHUTOFF": ("stopped",),
    "PAUSED": ("paused",), "SUSPENDED": ("suspended",), "ERROR": ("error",),
    "DELETED": ("deleted",), "SOFT_DELETED": ("soft-delete",), "RESCUE": ("rescued",),
    "VERIFY_RESIZE": ("resized",), "SHELVED": ("shelved",),
    "SHELVED_OFFLOADED": ("shelved_offloaded",),
    "REBOOT": ("active", "stopped"), "HARD_REBOOT": ("active", "stopped"),
    "MIGRATING": ("active", "paused"), "RESIZE": ("active", "stopped"),
    "REBUILD": ("active", "stopped", "error"),
}


class ServerNotFound(errors.NotFound):
    """No such server for the caller (404, Nova's words)."""


def instance_name(row: Server) -> str:
    """libvirt's domain name of the server (Nova's ``instance-%08x`` of its row id; shoal
    has uuids only, so the first 8 hex digits of the uuid)."""
    return f"instance-{row.id.replace('-', '')[:8]}"


def record(row: Server) -> ServerRecord:
    """The record of ``row`` (its newest fault, if any)."""
    fault = row.faults[-1] if row.faults and row.vm_state in ("error", "deleted") else None
    volumes = tuple(VolumeAttached(b.volume_id, b.delete_on_termination, b.device_name,
                                   b.attachment_id, b.tag)
                    for b in row.block_devices
                    if b.destination_type == "volume" and b.volume_id)
    return ServerRecord(
        id=row.id, name=row.name, project_id=row.project_id, user_id=row.user_id,
        status=server_status(row.vm_state, row.task_state), vm_state=row.vm_state,
        task_state=row.task_state, power_state=row.power_state,
        flavor=json.loads(row.flavor), image_id=row.image_id, host=row.host, node=row.node,
        availability_zone=row.availability_zone, key_name=row.key_name,
        user_data=row.user_data, description=row.description, hostname=row.hostname,
        locked=row.locked, locked_reason=row.locked_reason, config_drive=row.config_drive,
        access_ip_v4=row.access_ip_v4, access_ip_v6=row.access_ip_v6,
        reservation_id=row.reservation_id, launch_index=row.launch_index,
        root_device_name=row.root_device_name,
        metadata={m.key: m.value for m in row.metadata_items},
        created_at=row.created_at, updated_at=row.updated_at, launched_at=row.launched_at,
        terminated_at=row.terminated_at, deleted=row.deleted_at is not None,
        fault=None if fault is None else FaultRecord(fault.code, fault.message,
                                                     fault.details, fault.created_at),
        volumes=volumes, instance_name=instance_name(row),
        pinned_availability_zone=row.pinned_availability_zone)


def visible_row(session: Session, caller: CallerLike, server_id: str, *,
                deleted: bool = False, lock: bool = False) -> Server:
    """The server the caller may see (its project, or any for an admin).

    Raises:
        ServerNotFound: absent, another project's, or deleted (unless ``deleted``).
    """
    stmt = select(Server).where(Server.id == server_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).one_or_none()
    if row is None or not policy.may_see(caller, row.project_id) or (
            row.deleted_at is not None and not deleted):
        raise ServerNotFound(f"Instance {server_id} could not be found.")
    return row


def _filtered(caller: CallerLike, query: ServerQuery) -> Select[Any]:
    stmt = select(Server)
    admin = policy.is_admin(caller)
    if not (admin and query.all_projects):
        stmt = stmt.where(Server.project_id == caller.project_id)
    elif query.project_id is not None:
        stmt = stmt.where(Server.project_id == query.project_id)
    if query.changes_since is not None:
        stmt = stmt.where(Server.updated_at >= query.changes_since)
    elif query.deleted and admin:
        stmt = stmt.where(Server.deleted_at.is_not(None))
    else:
        stmt = stmt.where(Server.deleted_at.is_(None))
    if query.changes_before is not None:
        stmt = stmt.where(Server.updated_at <= query.changes_before)
    if query.status is not None:
        states = _STATUS_STATES.get(query.status.upper())
        if states is None:
            return stmt.where(Server.id.is_(None))  # Nova: an unknown status lists nothing
        stmt = stmt.where(Server.vm_state.in_(states))
    if query.image is not None:
        stmt = stmt.where(Server.image_id == query.image)
    if query.host is not None and admin:
        stmt = stmt.where(Server.host == query.host)
    if query.availability_zone is not None:
        stmt = stmt.where(Server.availability_zone == query.availability_zone)
    if query.locked is not None:
        stmt = stmt.where(Server.locked.is_(query.locked))
    if query.user_id is not None:
        stmt = stmt.where(Server.user_id == query.user_id)
    return stmt


def _matches(row: Server, query: ServerQuery) -> bool:
    """The filters SQL does not do: ``name`` (a regular expression, as Nova), flavor,
    the task state of a status that needs one."""
    if query.name is not None:
        try:
            if re.search(query.name, row.name) is None:
                return False
        except re.error:
            if query.name not in row.name:
                return False
    if query.flavor is not None and json.loads(row.flavor).get("flavorid") != query.flavor:
        return False
    return not (query.status is not None
                and server_status(row.vm_state, row.task_state) != query.status.upper())


def _order(stmt: Select[Any], query: ServerQuery) -> Select[Any]:
    columns = []
    for i, key in enumerate(query.sort_keys):
        if key not in SORT_KEYS:
            raise errors.InvalidArgument(f"Invalid sort_key: {key}")
        direction = query.sort_dirs[i] if i < len(query.sort_dirs) else query.sort_dirs[-1]
        if direction not in ("asc", "desc"):
            raise errors.InvalidArgument(f"Invalid sort_dir: {direction}")
        column = getattr(Server, _COLUMN.get(key, key))
        columns.append(column.asc() if direction == "asc" else column.desc())
    columns.append(Server.id.asc())
    return stmt.order_by(*columns)


def list_rows(session: Session, caller: CallerLike, query: ServerQuery) -> list[Server]:
    """The rows ``query`` selects, sorted and paged (``marker``: the last id of the
    previous page; an unknown one is 400 "marker [X] not found" as Nova)."""
    rows: list[Server] = [r for r in session.scalars(_order(_filtered(caller, query), query))
                          if _matches(r, query)]
    if query.marker is not None:
        ids = [r.id for r in rows]
        if query.marker not in ids:
            raise errors.InvalidArgument(f"marker [{query.marker}] not found")
        rows = rows[ids.index(query.marker) + 1:]
    if query.limit is not None:
        rows = rows[:query.limit]
    return rows


def begin_action(session: Session, row: Server, caller: CallerLike, action: str,
                 request_id: str, now: datetime) -> InstanceAction:
    """Record that ``action`` was asked of the server (``os-instance-actions``)."""
    made = InstanceAction(server_id=row.id, action=action, request_id=request_id,
                          user_id=caller.user_id, project_id=row.project_id,
                          start_time=now, updated_at=now)
    session.add(made)
    return made


def start_event(session: Session, server_id: str, event: str, now: datetime,
                host: str | None) -> None:
    """Open ``event`` under the server's newest action."""
    action = session.scalars(select(InstanceAction).where(
        InstanceAction.server_id == server_id).order_by(InstanceAction.id.desc())
        .limit(1)).one_or_none()
    if action is None:
        return
    if any(e.event == event and e.finish_time is None for e in action.events):
        return  # a resumed task: the event is open already
    action.events.append(InstanceActionEvent(event=event, start_time=now, host=host))
    action.updated_at = now


def finish_event(session: Session, server_id: str, event: str, now: datetime, *,
                 error: str | None = None) -> None:
    """Close ``event`` (``Success``, or ``Error`` with ``error`` as its traceback) and the
    action with it; an error also becomes the action's message."""
    action = session.scalars(select(InstanceAction).where(
        InstanceAction.server_id == server_id).order_by(InstanceAction.id.desc())
        .limit(1)).one_or_none()
    if action is None:
        return
    for e in action.events:
        if e.event == event and e.finish_time is None:
            e.finish_time = now
            e.result = "Error" if error else "Success"
            e.traceback = error
    if error:
        action.message = "Error"
    action.finish_time = now
    action.updated_at = now


def add_fault(session: Session, row: Server, code: int, message: str, details: str,
              now: datetime) -> None:
    """Record why the server failed (Nova keeps the message to 255 characters)."""
    session.add(ServerFault(server_id=row.id, code=code, message=message[:255],
                            details=details, created_at=now))


def action_view(action: InstanceAction, *, events: bool, admin: bool) -> dict[str, Any]:
    """One instance action as Nova shows it (events with ``traceback`` for admins)."""
    out: dict[str, Any] = {
        "action": action.action, "instance_uuid": action.server_id,
        "request_id": action.request_id, "user_id": action.user_id,
        "project_id": action.project_id, "start_time": action.start_time,
        "message": action.message, "updated_at": action.updated_at}
    if events:
        out["events"] = [_event_view(e, admin) for e in action.events]
    return out


def _event_view(event: InstanceActionEvent, admin: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"event": event.event, "start_time": event.start_time,
                           "finish_time": event.finish_time, "result": event.result,
                           "host": event.host}
    if admin:
        out["traceback"] = event.traceback
    return out
