"""Long operations run off the request path, durable across restarts. No HTTP here.

Image import, volume create/delete/extend, snapshots, backups and flattening all follow the
same pattern: the API writes the resource in a transitional status (``creating``, ``saving``
...) and a task in the same transaction, answers at once, and a worker thread does the work;
the handler moves the resource to its final status (``available``, ``active``) and a failure
moves it to its error status (``error``, ``killed``) through the kind's ``on_failure`` hook.
A restart never leaves a resource stuck: :meth:`TaskRunner.recover` resumes the interrupted
tasks that can resume and fails (with the hook) those that cannot.

Public interface::

    from shoal.services.tasks import ResourceRef, TaskContext, TaskRunner

    def create_volume(ctx: TaskContext) -> None:       # idempotent: it may run again
        for chunk in ...:
            ...; ctx.heartbeat(progress=percent)      # raises TaskInterrupted: let it go
        with ctx.finish() as session:                 # commits with "task succeeded"
            session.get(Volume, ctx.resource.id).status = "available"

    def volume_error(session, task, message) -> None:  # in the failure's transaction
        session.get(Volume, task.resource.id).status = "error"

    runner = TaskRunner(db, workers=4)
    runner.register("volume.create", create_volume, resumable=True, on_failure=volume_error)
    runner.recover(); runner.start()
    with db.session() as session:                     # the volume and its task commit together
        session.add(Volume(id=vid, status="creating", ...))
        task_id = runner.submit("volume.create", ResourceRef("volume", vid, project_id),
                                {"size": 1}, session=session)
    runner.get(task_id); runner.wait(task_id, timeout_s=60); runner.shutdown(wait_s=30)

States: ``pending`` → ``running`` → ``succeeded`` | ``failed`` (see :class:`TaskRunner`). The
table is ``tasks_tasks`` (:mod:`shoal.services.tasks.models`).
"""

from __future__ import annotations

from shoal.services.tasks._context import PROGRESS_WRITE_INTERVAL_S as PROGRESS_WRITE_INTERVAL_S
from shoal.services.tasks._context import TaskContext as TaskContext
from shoal.services.tasks._owner import owner_gone as owner_gone
from shoal.services.tasks._runner import DEFAULT_LEASE_S as DEFAULT_LEASE_S
from shoal.services.tasks._runner import DEFAULT_MAX_ATTEMPTS as DEFAULT_MAX_ATTEMPTS
from shoal.services.tasks._runner import DEFAULT_POLL_S as DEFAULT_POLL_S
from shoal.services.tasks._runner import DEFAULT_WORKERS as DEFAULT_WORKERS
from shoal.services.tasks._runner import WORKERS_MAX as WORKERS_MAX
from shoal.services.tasks._runner import TaskRunner as TaskRunner
from shoal.services.tasks._store import PARAMS_BYTES_MAX as PARAMS_BYTES_MAX
from shoal.services.tasks._types import FailureHook as FailureHook
from shoal.services.tasks._types import Handler as Handler
from shoal.services.tasks._types import RecoveryReport as RecoveryReport
from shoal.services.tasks._types import ResourceRef as ResourceRef
from shoal.services.tasks._types import TaskInfo as TaskInfo
from shoal.services.tasks._types import TaskInterrupted as TaskInterrupted
from shoal.services.tasks._types import TaskState as TaskState

__all__ = [
    "DEFAULT_LEASE_S",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_POLL_S",
    "DEFAULT_WORKERS",
    "PARAMS_BYTES_MAX",
    "PROGRESS_WRITE_INTERVAL_S",
    "WORKERS_MAX",
    "FailureHook",
    "Handler",
    "RecoveryReport",
    "ResourceRef",
    "TaskContext",
    "TaskInfo",
    "TaskInterrupted",
    "TaskRunner",
    "TaskState",
    "owner_gone",
]
