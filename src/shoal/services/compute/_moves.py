"""Servers moving between the compute hosts of one ``shoal up``: live migration, cold
migration, resize (confirm/revert) and evacuation, as Nova's conductor and compute
managers do them on shared RBD storage — the disks stay where they are (``vms/<uuid>_disk``
is the same RBD image, same id and objects, before and after); only the server's host
changes (and, for a resize, its flavor and root disk size).

====================  ==========================  =================================
action (API)          server                      migration status
====================  ==========================  =================================
``os-migrateLive``    MIGRATING → ACTIVE/PAUSED    accepted → running → completed
``migrate``           RESIZE → VERIFY_RESIZE       pre-migrating → finished
``resize``            RESIZE → VERIFY_RESIZE       pre-migrating → finished
``confirmResize``     → ACTIVE / SHUTOFF           confirmed
``revertResize``      REVERT_RESIZE → as before    reverted
``evacuate``          REBUILD → ACTIVE / SHUTOFF   accepted → done
====================  ==========================  =================================

Live migration, cold migration and evacuation are for admins (Nova's default policy);
evacuation needs the server's host down (its nova-compute forced down) — else 409
``Compute service of <host> is still in use.``. A resize grows the root disk after a
snapshot ``nova-resize`` of it, which a revert rolls back to and a confirm removes. Each
move runs as the durable task ``server.move`` (idempotent; a failure puts the migration
in ``error`` and leaves the server where it was, in ERROR after a failed evacuation).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from shoal import errors
from shoal.db import Database
from shoal.services.compute import policy
from shoal.services.compute._flavors import Flavors
from shoal.services.compute._host_models import Migration
from shoal.services.compute._hosts import ComputeHosts
from shoal.services.compute._server_models import Server
from shoal.services.compute._server_rows import (
    add_fault,
    begin_action,
    finish_event,
    start_event,
    visible_row,
)
from shoal.services.compute._server_types import RUNNING, SHUTDOWN
from shoal.services.compute._servers import GiB, QuotaExceeded, flavor_json
from shoal.services.compute.disks import DiskSnapshots
from shoal.services.tasks import ResourceRef, TaskContext, TaskInfo, TaskRunner
from shoal.services.volume.policy import CallerLike, PolicyNotAuthorized

__all__ = ["RESIZE_SNAP", "ServerMoves"]

RESIZE_SNAP: Final = "nova-resize"
#: migration type → (event, final migration status).
_EVENTS: Final[Mapping[str, tuple[str, str]]] = {
    "live-migration": ("compute_live_migration", "completed"),
    "migration": ("compute_finish_resize", "finished"),
    "resize": ("compute_finish_resize", "finished"),
    "evacuation": ("compute_rebuild_instance", "done"),
}


def _admin(caller: CallerLike, action: str) -> None:
    if not policy.is_admin(caller):
        raise PolicyNotAuthorized(f"Policy doesn't allow {action} to be performed.")


def _state_check(row: Server, action: str, states: frozenset[str]) -> None:
    if row.task_state is not None or row.vm_state not in states:
        state = (f"task_state {row.task_state}" if row.task_state is not None
                 else f"vm_state {row.vm_state}")
        raise errors.Busy(f"Cannot '{action}' instance {row.id} while it is in {state}")


class ServerMoves:
    """The moves of servers among ``hosts`` (see the module doc)."""

    def __init__(self, db: Database, tasks: TaskRunner, hosts: ComputeHosts, flavors: Flavors,
                 snapshots: DiskSnapshots, now: Callable[[], datetime]) -> None:
        self.db = db
        self.tasks = tasks
        self.hosts = hosts
        self.flavors = flavors
        self.snapshots = snapshots
        self.now = now
        #: ``quota(project) -> (limits, usage)``: a resize to a bigger flavor is checked
        self.quota: Callable[[str], tuple[Mapping[str, int], Mapping[str, int]]] | None = None

    def register(self, tasks: TaskRunner) -> None:
        tasks.register("server.move", self.work, resumable=True, on_failure=self._failed)

    # --- the API's part -----------------------------------------------------------------
    def _start(self, caller: CallerLike, server_id: str, *, action: str, kind: str,
               states: frozenset[str], task_state: str, status: str, request_id: str,
               dest: str | None = None, exclude_source: bool = True,
               new_flavor: Mapping[str, Any] | None = None,
               check: Callable[[Server], None] | None = None,
               params: Mapping[str, Any] | None = None) -> str:
        with self.db.session(readonly=True) as session:
            row = visible_row(session, caller, server_id)
            if row.locked and not policy.is_admin(caller):
                raise errors.Busy(f"Instance {row.id} is locked")
            _state_check(row, action, states)
            if check is not None:
                check(row)
            source = row.host or ""
        exclude = [source] if exclude_source else []
        try:
            target = self.hosts.pick(exclude=exclude, wanted=dest)
        except errors.InvalidArgument:
            if dest is not None or exclude_source is False or kind != "resize":
                raise
            target = self.hosts.pick(wanted=None)  # one host: resize in place
        with self.db.session() as session:
            row = visible_row(session, caller, server_id, lock=True)
            _state_check(row, action, states)
            now = self.now()
            migration = Migration(
                uuid=str(uuid.uuid4()), server_id=row.id, project_id=row.project_id,
                user_id=caller.user_id, migration_type=kind, status=status,
                source_compute=source, dest_compute=target, old_flavor=row.flavor,
                new_flavor=json.dumps(dict(new_flavor)) if new_flavor is not None else None,
                created_at=now, updated_at=now)
            session.add(migration)
            row.task_state = task_state
            row.updated_at = now
            begin_action(session, row, caller, action, request_id, now)
            self.tasks.submit("server.move", ResourceRef("server", row.id, row.project_id),
                              {"migration": migration.uuid, **(params or {})},
                              session=session)
            return migration.uuid

    def live_migrate(self, caller: CallerLike, server_id: str, host: str | None,
                     request_id: str) -> str:
        """Move a running (or paused) server to ``host`` (None: the scheduler's pick)."""
        _admin(caller, "os_compute_api:os-migrate-server:migrate_live")
        return self._start(caller, server_id, action="live-migration", kind="live-migration",
                           states=frozenset({"active", "paused"}), task_state="migrating",
                           status="accepted", request_id=request_id, dest=host)

    def migrate(self, caller: CallerLike, server_id: str, host: str | None,
                request_id: str) -> str:
        """Cold-migrate to another host; the server waits in VERIFY_RESIZE."""
        _admin(caller, "os_compute_api:os-migrate-server:migrate")
        return self._start(caller, server_id, action="migrate", kind="migration",
                           states=frozenset({"active", "stopped"}), task_state="resize_prep",
                           status="pre-migrating", request_id=request_id, dest=host)

    def resize(self, caller: CallerLike, server_id: str, flavor_ref: str,
               request_id: str) -> str:
        """Move to flavor ``flavor_ref`` (root disk grown; never shrunk)."""
        try:
            flavor = self.flavors.get(caller, flavor_ref.rstrip("/").rsplit("/", 1)[-1])
        except errors.NotFound:
            raise errors.InvalidArgument(f"Flavor {flavor_ref} could not be found.") from None
        new = json.loads(flavor_json(flavor))

        def check(row: Server) -> None:
            old = json.loads(row.flavor)
            if old["flavorid"] == new["flavorid"]:
                raise errors.InvalidArgument("When resizing, instances must change flavor!")
            booted_from_volume = not row.image_id
            if not booted_from_volume and new["root_gb"] < old["root_gb"]:
                raise errors.InvalidArgument("Resize error: Unable to resize disk down.")
            if not booted_from_volume and new["root_gb"] == 0 and old["root_gb"] != 0:
                raise errors.InvalidArgument("Resize to zero disk flavor is not allowed.")
            if self.quota is not None:
                self._check_resize_quota(row.project_id, old, new)

        return self._start(caller, server_id, action="resize", kind="resize",
                           states=frozenset({"active", "stopped"}), task_state="resize_prep",
                           status="pre-migrating", request_id=request_id, new_flavor=new,
                           check=check)

    def _check_resize_quota(self, project_id: str, old: Mapping[str, Any],
                            new: Mapping[str, Any]) -> None:
        """A bigger flavor must fit the project's ``cores`` and ``ram`` (Nova's 403)."""
        assert self.quota is not None
        limits, used = self.quota(project_id)
        for resource, key in (("cores", "vcpus"), ("ram", "memory_mb")):
            more = int(new[key]) - int(old[key])
            limit = limits.get(resource, -1)
            if more > 0 and limit >= 0 and used.get(resource, 0) + more > limit:
                raise QuotaExceeded(f"Quota exceeded for {resource}: Requested {more}, but "
                                    f"already used {used.get(resource, 0)} of {limit} "
                                    f"{resource}")

    def evacuate(self, caller: CallerLike, server_id: str, host: str | None,
                 request_id: str, *, stop: bool = False) -> str:
        """Rebuild the server on another host because its own is down (``stop``: it
        arrives stopped, as from microversion 2.95)."""
        _admin(caller, "os_compute_api:os-evacuate")

        def check(row: Server) -> None:
            if row.host is not None and self.hosts.is_up(row.host):
                raise errors.Busy(f"Compute service of {row.host} is still in use.")

        return self._start(caller, server_id, action="evacuate", kind="evacuation",
                           states=frozenset({"active", "stopped", "error"}),
                           task_state="rebuilding", status="accepted",
                           request_id=request_id, dest=host, check=check,
                           params={"stop": stop})

    def _resized(self, caller: CallerLike, server_id: str, action: str) -> Migration:
        with self.db.session(readonly=True) as session:
            row = visible_row(session, caller, server_id)
            _state_check(row, action, frozenset({"resized"}))
            found = session.scalars(select(Migration).where(
                Migration.server_id == server_id, Migration.status == "finished")
                .order_by(Migration.id.desc()).limit(1)).one_or_none()
            if found is None:
                raise errors.NotFound(f"Instance {server_id} has not been resized.")
            session.expunge(found)
            return found

    def confirm_resize(self, caller: CallerLike, server_id: str, request_id: str) -> None:
        """Keep the new host and flavor (the ``nova-resize`` snapshot goes)."""
        migration = self._resized(caller, server_id, "confirmResize")
        self.snapshots.drop(server_id, RESIZE_SNAP)
        with self.db.session() as session:
            row = visible_row(session, caller, server_id, lock=True)
            now = self.now()
            row.vm_state = "active" if row.power_state == RUNNING else "stopped"
            row.updated_at = now
            done = session.get_one(Migration, migration.id)
            done.status, done.updated_at = "confirmed", now
            begin_action(session, row, caller, "confirmResize", request_id, now)

    def revert_resize(self, caller: CallerLike, server_id: str, request_id: str) -> None:
        """Back to the old host and flavor (the root disk rolled back)."""
        migration = self._resized(caller, server_id, "revertResize")
        with self.db.session() as session:
            row = visible_row(session, caller, server_id, lock=True)
            now = self.now()
            row.task_state = "resize_reverting"
            row.updated_at = now
            begin_action(session, row, caller, "revertResize", request_id, now)
            self.tasks.submit("server.move", ResourceRef("server", row.id, row.project_id),
                              {"migration": migration.uuid, "revert": True}, session=session)

    # --- the task -----------------------------------------------------------------------
    def work(self, ctx: TaskContext) -> None:
        """Carry out the migration ``params["migration"]`` (or its revert)."""
        revert = bool(ctx.params.get("revert"))
        with ctx.db.session() as session:
            migration = session.scalars(select(Migration).where(
                Migration.uuid == ctx.params["migration"])).one()
            row = session.get_one(Server, ctx.resource.id)
            kind, source, dest = (migration.migration_type, migration.source_compute,
                                  migration.dest_compute or migration.source_compute)
            event = "compute_finish_revert_resize" if revert else _EVENTS[kind][0]
            start_event(session, row.id, event, self.now(), dest)
            if not revert and migration.status in ("accepted", "pre-migrating"):
                migration.status = "running" if kind == "live-migration" else "migrating"
                migration.updated_at = self.now()
            new_flavor = json.loads(migration.new_flavor) if migration.new_flavor else None
            old_flavor = json.loads(migration.old_flavor or row.flavor)
            has_disk = bool(row.image_id)
        ctx.heartbeat()
        if has_disk and kind == "resize" and new_flavor is not None:
            if revert:
                self.snapshots.rollback(ctx.resource.id, RESIZE_SNAP)
            else:
                self.snapshots.take(ctx.resource.id, RESIZE_SNAP)
                self.snapshots.grow(ctx.resource.id, int(new_flavor["root_gb"]) * GiB)
        with ctx.finish() as session:
            migration = session.scalars(select(Migration).where(
                Migration.uuid == ctx.params["migration"])).one()
            row = session.get_one(Server, ctx.resource.id, with_for_update=True)
            now = self.now()
            if revert:
                row.host = row.node = source
                row.flavor = json.dumps(old_flavor)
                row.vm_state = "active" if row.power_state == RUNNING else "stopped"
                migration.status = "reverted"
            else:
                row.host = row.node = dest
                if new_flavor is not None:
                    row.flavor = json.dumps(new_flavor)
                if kind in ("migration", "resize"):
                    row.vm_state = "resized"
                elif kind == "evacuation":
                    stopped = row.power_state == SHUTDOWN or bool(ctx.params.get("stop"))
                    row.vm_state = "stopped" if stopped else "active"
                    row.power_state = SHUTDOWN if stopped else RUNNING
                migration.status = _EVENTS[kind][1]
            row.task_state = None
            row.updated_at = migration.updated_at = now
            finish_event(session, row.id, event, now)

    def _failed(self, session: Session, task: TaskInfo, message: str) -> None:
        migration = session.scalars(select(Migration).where(
            Migration.uuid == task.params.get("migration"))).one_or_none()
        row = session.get(Server, task.resource.id)
        now = self.now()
        if migration is not None:
            migration.status = "error"
            migration.updated_at = now
        if row is None:
            return
        row.task_state = None
        row.updated_at = now
        if migration is not None and migration.migration_type == "evacuation":
            row.vm_state = "error"
            add_fault(session, row, 500, message, "", now)
        finish_event(session, row.id, "compute_move", now, error=message)

    # --- reading ------------------------------------------------------------------------
    def migrations(self, caller: CallerLike, *, server_id: str | None = None,
                   in_progress: bool = False) -> list[dict[str, Any]]:
        """The migrations (admins: every server's; ``server_id``: one server's, which its
        project may read), newest first, as plain values."""
        with self.db.session(readonly=True) as session:
            stmt = select(Migration).order_by(Migration.id.desc())
            if server_id is not None:
                visible_row(session, caller, server_id, deleted=True)
                stmt = stmt.where(Migration.server_id == server_id)
            else:
                _admin(caller, "os_compute_api:os-migrations:index")
            rows = list(session.scalars(stmt))
        done = {"completed", "finished", "confirmed", "reverted", "done", "error", "failed",
                "cancelled"}
        return [{"id": m.id, "uuid": m.uuid, "instance_uuid": m.server_id,
                 "migration_type": m.migration_type, "status": m.status,
                 "source_compute": m.source_compute, "dest_compute": m.dest_compute,
                 "source_node": m.source_compute, "dest_node": m.dest_compute,
                 "dest_host": "127.0.0.1", "old_instance_type_id": None,
                 "new_instance_type_id": None, "project_id": m.project_id,
                 "user_id": m.user_id, "created_at": m.created_at,
                 "updated_at": m.updated_at}
                for m in rows if not (in_progress and m.status in done)]
