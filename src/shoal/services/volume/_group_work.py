"""The durable tasks of generic volume groups (:mod:`._groups` records the work): the RBD
driver's per-volume calls for a whole group, as Cinder's generic group code makes them.

Every handler is resumable: it first removes or skips what an earlier attempt left.

===========================  ===============================  ============================
kind                         from → to                        on failure
===========================  ===============================  ============================
``group.delete``             deleting → (rows removed)        error_deleting (and volumes)
``group_snapshot.create``    creating → available             error (and its snapshots)
``group_snapshot.delete``    deleting → (rows removed)        error_deleting (and snaps)
===========================  ===============================  ============================
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

from sqlalchemy.orm import Session

from shoal.services.tasks import TaskContext, TaskInfo, TaskRunner
from shoal.services.volume._group_models import Group, GroupSnapshot
from shoal.services.volume._work import Hook, VolumeWork, delete_rows, register_resumable
from shoal.services.volume.driver import RbdVolumeDriver, SnapshotNotFound
from shoal.services.volume.models import Snapshot, Volume

__all__ = ["GROUP_KINDS", "GroupWork"]

log = logging.getLogger(__name__)

GROUP_KINDS: Final = ("group.delete", "group_snapshot.create", "group_snapshot.delete")


class GroupWork:
    """The group task handlers, registered next to ``volume_work``'s, over its drivers
    (``params["backend"]`` names one) and its clock."""

    def __init__(self, volume_work: VolumeWork) -> None:
        self._driver: Callable[[TaskContext], RbdVolumeDriver] = volume_work._driver
        self.now: Callable[[], Any] = volume_work.now

    def register(self, runner: TaskRunner) -> None:
        """Register every kind of :data:`GROUP_KINDS` with its handler and failure hook."""
        table: list[tuple[str, Callable[[TaskContext], None], Hook]] = [
            ("group.delete", self.delete_group, self._group_delete_failed),
            ("group_snapshot.create", self.create_group_snapshot,
             self._snapshots_failed("error")),
            ("group_snapshot.delete", self.delete_group_snapshot,
             self._snapshots_failed("error_deleting")),
        ]
        register_resumable(runner, table)

    # --- failure hooks ---------------------------------------------------------------------
    def _group_delete_failed(self, session: Session, task: TaskInfo, message: str) -> None:
        row = session.get(Group, task.resource.id)
        if row is not None:
            row.status = "error_deleting"
            row.updated_at = self.now()
        for volume_id in task.params.get("volumes", ()):
            vol = session.get(Volume, volume_id)
            if vol is not None and vol.status == "deleting":
                vol.status = "error_deleting"
                vol.updated_at = self.now()
        log.warning("group %s: delete failed: %s", task.resource.id, message)

    def _snapshots_failed(self, status: str) -> Hook:
        def hook(session: Session, task: TaskInfo, message: str) -> None:
            row = session.get(GroupSnapshot, task.resource.id)
            if row is not None:
                row.status = status
                row.updated_at = self.now()
            for _volume_id, snapshot_id in task.params.get("snapshots", ()):
                snap = session.get(Snapshot, snapshot_id)
                if snap is not None:
                    snap.status = status
                    snap.updated_at = self.now()
            log.warning("group snapshot %s: %s failed: %s", task.resource.id, task.kind,
                        message)
        return hook

    # --- handlers --------------------------------------------------------------------------
    def delete_group(self, ctx: TaskContext) -> None:
        """Remove each member volume's RBD image (a missing one is fine), then the rows."""
        driver = self._driver(ctx)
        volume_ids: list[str] = list(ctx.params["volumes"])
        for volume_id in volume_ids:
            ctx.check()
            driver.delete_volume(volume_id)
        with ctx.finish() as session:
            delete_rows(session, Volume, volume_ids)
            session.flush()
            delete_rows(session, Group, [ctx.resource.id])

    def create_group_snapshot(self, ctx: TaskContext) -> None:
        """Snapshot (and protect) each member volume's image as ``snapshot-<id>``; all
        become ``available`` together. A failure removes the ones already taken."""
        driver = self._driver(ctx)
        pairs = [(str(v), str(s)) for v, s in ctx.params["snapshots"]]
        if ctx.resumed:
            _discard_snapshots(driver, pairs)
        try:
            for volume_id, snapshot_id in pairs:
                ctx.check()
                driver.create_snapshot(volume_id, snapshot_id)
        except BaseException:
            _discard_snapshots(driver, pairs)
            raise
        with ctx.finish() as session:
            for _volume_id, snapshot_id in pairs:
                snap = session.get(Snapshot, snapshot_id)
                if snap is not None:
                    snap.status = "available"
                    snap.progress = "100%"
                    snap.updated_at = self.now()
            row = session.get(GroupSnapshot, ctx.resource.id)
            if row is not None:
                row.status = "available"
                row.updated_at = self.now()

    def delete_group_snapshot(self, ctx: TaskContext) -> None:
        """Remove each member snapshot (flattening clones that keep it busy), then rows."""
        driver = self._driver(ctx)
        pairs = [(str(v), str(s)) for v, s in ctx.params["snapshots"]]
        for volume_id, snapshot_id in pairs:
            ctx.check()
            with contextlib.suppress(SnapshotNotFound):
                driver.delete_snapshot(volume_id, snapshot_id)
        with ctx.finish() as session:
            delete_rows(session, Snapshot, [snapshot_id for _volume_id, snapshot_id in pairs])
            session.flush()
            delete_rows(session, GroupSnapshot, [ctx.resource.id])


def _discard_snapshots(driver: RbdVolumeDriver, pairs: Sequence[tuple[str, str]]) -> None:
    """Remove whatever a failed or interrupted group snapshot left (missing ones are fine)."""
    for volume_id, snapshot_id in pairs:
        try:
            driver.delete_snapshot(volume_id, snapshot_id)
        except SnapshotNotFound:
            pass
        except Exception:  # the original error matters more; the next attempt retries
            log.exception("snapshot %s: could not remove the partial snapshot", snapshot_id)
