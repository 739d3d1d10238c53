"""The server tasks (durable, see :mod:`shoal.services.tasks`), each idempotent and so
resumable after a ``shoal up`` killed at any moment:

==================  ==========================================  =========================
kind                transition                                  on failure
==================  ==========================================  =========================
``server.build``    building/scheduling → spawning → active     error + fault (disks gone)
``server.delete``   task deleting → vm_state deleted (soft)     error + fault
``server.power``    stop/start/reboot/pause/... → its state     task cleared, event Error
==================  ==========================================  =========================

The disks are made and removed by a :class:`DiskMaker` (the guest disk driver of the
compute host). A server deleted while it builds: the build, once its disks exist, sees the
deletion and removes them again, so no disk outlives its server whichever task ends last.
There is no hypervisor here yet (issue 16): power states are the ones Nova would record.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, Protocol

from sqlalchemy.orm import Session

from shoal.services.compute._server_models import Server
from shoal.services.compute._server_rows import add_fault, finish_event, start_event
from shoal.services.compute._server_types import (
    NOSTATE,
    PAUSED,
    RUNNING,
    SHUTDOWN,
    SUSPENDED,
)
from shoal.services.compute._server_volumes import ServerVolumes
from shoal.services.tasks import TaskContext, TaskInfo, TaskInterrupted, TaskRunner

__all__ = ["DiskMaker", "ServerWork"]

log = logging.getLogger("shoal.services.compute")

_BUILD_EVENT: Final = "compute__do_build_and_run_instance"
_DELETE_EVENT: Final = "compute_terminate_instance"
#: power action → (vm_state after, power_state after, event name).
_POWER: Final[Mapping[str, tuple[str, int, str]]] = {
    "stop": ("stopped", SHUTDOWN, "compute_stop_instance"),
    "start": ("active", RUNNING, "compute_start_instance"),
    "reboot": ("active", RUNNING, "compute_reboot_instance"),
    "pause": ("paused", PAUSED, "compute_pause_instance"),
    "unpause": ("active", RUNNING, "compute_unpause_instance"),
    "suspend": ("suspended", SUSPENDED, "compute_suspend_instance"),
    "resume": ("active", RUNNING, "compute_resume_instance"),
}


class DiskMaker(Protocol):
    """The guest disks of the compute host (idempotent both ways)."""

    def create_for(self, server_id: str, image_id: str | None, flavor: Mapping[str, Any],
                   heartbeat: Callable[[], None]) -> None:
        """Make the server's disks for ``flavor`` (root from ``image_id``; None: none)."""
        ...

    def remove(self, server_id: str) -> list[str]:
        """Remove every disk of the server; the names removed."""
        ...


class ServerWork:
    """The handlers of the server tasks, over ``disks`` and (boot from volume, volumes
    detached at deletion) ``volumes``."""

    def __init__(self, disks: DiskMaker, now: Callable[[], datetime],
                 volumes: ServerVolumes | None = None,
                 secret_check: Callable[[str], None] | None = None) -> None:
        self.disks = disks
        self.now = now
        self.volumes = volumes
        #: checks the host's libvirt secrets before the server may run (raises the fault)
        self.secret_check = secret_check

    def register(self, tasks: TaskRunner) -> None:
        """Register the three kinds on ``tasks`` (before ``tasks.recover()``)."""
        tasks.register("server.build", self.build, resumable=True, on_failure=self._build_failed)
        tasks.register("server.delete", self.delete, resumable=True,
                       on_failure=self._delete_failed)
        tasks.register("server.power", self.power, resumable=True,
                       on_failure=self._power_failed)

    # --- build ------------------------------------------------------------------------
    def build(self, ctx: TaskContext) -> None:
        """Make the disks, then ACTIVE (see the module doc). Only short transactions of
        its own are held while other services (the volume service's, the image
        service's) are called: SQLite has one writer at a time."""
        server_id = ctx.resource.id
        with ctx.db.session() as session:
            row = session.get(Server, server_id)
            building = row is not None and row.deleted_at is None and \
                row.vm_state == "building"
            if row is not None and building:
                if row.task_state != "deleting":
                    row.task_state = "spawning"
                row.updated_at = self.now()
                start_event(session, server_id, _BUILD_EVENT, self.now(), row.host)
                image_id, flavor = row.image_id, json.loads(row.flavor)
        if not building:
            self._discard(server_id)  # deleted before (or while) an earlier run built
            return
        ctx.heartbeat()
        try:
            self.disks.create_for(server_id, image_id, flavor, ctx.heartbeat)
            if self.volumes is not None:
                self.volumes.prepare_boot(server_id, ctx.heartbeat)
            if self.secret_check is not None:
                self.secret_check(server_id)
        except TaskInterrupted:
            raise  # resumed later: keep what was made
        except Exception:
            self._release(server_id)
            raise
        while True:
            with ctx.db.session(readonly=True) as session:
                unwanted = _unwanted(session.get(Server, server_id))
            if unwanted:
                self._discard(server_id)  # deleted meanwhile: nothing may outlive it
                return
            try:
                with ctx.finish() as session:
                    row = session.get(Server, server_id, with_for_update=True)
                    if row is None or _unwanted(row):
                        raise _Changed  # rolled back; the loop discards
                    now = self.now()
                    row.vm_state, row.task_state, row.power_state = "active", None, RUNNING
                    row.launched_at = row.updated_at = now
                    finish_event(session, server_id, _BUILD_EVENT, now)
                return
            except _Changed:
                continue

    def _discard(self, server_id: str) -> None:
        """What a build made for a server that is no more (or no longer building)."""
        self._release(server_id)
        self.disks.remove(server_id)

    def _build_failed(self, session: Session, task: TaskInfo, message: str) -> None:
        row = session.get(Server, task.resource.id)
        try:
            self.disks.remove(task.resource.id)
        except Exception as exc:  # the fault says what was left; the delete retries
            log.warning("server %s: disks not removed after a failed build: %s",
                        task.resource.id, exc)
        if row is None or _unwanted(row):
            return  # deleted, being deleted, or failed otherwise meanwhile: its state stays
        now = self.now()
        row.vm_state, row.task_state, row.power_state = "error", None, NOSTATE
        row.updated_at = now
        add_fault(session, row, 500, message, message if len(message) > 255 else "", now)
        finish_event(session, row.id, _BUILD_EVENT, now, error=message)

    # --- delete -----------------------------------------------------------------------
    def delete(self, ctx: TaskContext) -> None:
        """Remove the disks, then soft-delete the row."""
        server_id = ctx.resource.id
        with ctx.db.session() as session:
            row = session.get(Server, server_id)
            gone = row is None or row.deleted_at is not None
            if row is not None and not gone:
                start_event(session, server_id, _DELETE_EVENT, self.now(), row.host)
        if gone:
            return
        ctx.heartbeat()
        if self.volumes is not None:
            self.volumes.release(server_id)
        self.disks.remove(server_id)
        with ctx.finish() as session:
            row = session.get(Server, server_id, with_for_update=True)
            if row is None or row.deleted_at is not None:
                return
            now = self.now()
            row.vm_state, row.task_state, row.power_state = "deleted", None, NOSTATE
            row.deleted_at = row.terminated_at = row.updated_at = now
            finish_event(session, server_id, _DELETE_EVENT, now)
        return None

    def _delete_failed(self, session: Session, task: TaskInfo, message: str) -> None:
        row = session.get(Server, task.resource.id)
        if row is None or row.deleted_at is not None:
            return
        now = self.now()
        row.vm_state, row.task_state = "error", None
        row.updated_at = now
        add_fault(session, row, 500, f"could not delete the server's disks: {message}", "",
                  now)
        finish_event(session, row.id, _DELETE_EVENT, now, error=message)

    # --- power ------------------------------------------------------------------------
    def power(self, ctx: TaskContext) -> None:
        """Move the server to the state of ``params["action"]``."""
        vm_state, power_state, event = _POWER[str(ctx.params["action"])]
        with ctx.finish() as session:
            row = session.get(Server, ctx.resource.id, with_for_update=True)
            if row is None or row.deleted_at is not None or row.task_state == "deleting":
                return
            now = self.now()
            start_event(session, row.id, event, now, row.host)
            row.vm_state, row.power_state, row.task_state = vm_state, power_state, None
            row.updated_at = now
            finish_event(session, row.id, event, now)

    def _power_failed(self, session: Session, task: TaskInfo, message: str) -> None:
        row = session.get(Server, task.resource.id)
        if row is None or row.task_state == "deleting":
            return
        row.task_state = None
        row.updated_at = self.now()
        event = _POWER.get(str(task.params.get("action")), ("", 0, "compute_power"))[2]
        finish_event(session, row.id, event, self.now(), error=message)

    def _release(self, server_id: str) -> None:
        """Detach the server's volumes after a failed build (best effort: the delete
        task releases them again)."""
        if self.volumes is None:
            return
        try:
            self.volumes.release(server_id)
        except Exception as exc:
            log.warning("server %s: volumes not released after a failed build: %s",
                        server_id, exc)



class _Changed(Exception):
    """The server changed under a finishing build (its transaction rolled back)."""


def _unwanted(row: Server | None) -> bool:
    """Whether a build's result is not wanted any more: the server is gone, being
    deleted, or no longer building (a failed delete put it in ERROR)."""
    return (row is None or row.deleted_at is not None or row.task_state == "deleting"
            or row.vm_state != "building")
