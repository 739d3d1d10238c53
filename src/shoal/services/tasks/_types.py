"""Value types of the task runner: states, resource references, task snapshots, reports."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from shoal.services.tasks.models import Task

if TYPE_CHECKING:
    from shoal.services.tasks._context import TaskContext

__all__ = [
    "FailureHook",
    "Handler",
    "RecoveryReport",
    "ResourceRef",
    "TaskInfo",
    "TaskInterrupted",
    "TaskState",
]


class TaskState(enum.StrEnum):
    """A task's state; ``succeeded`` and ``failed`` are final."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        """True for ``succeeded`` and ``failed`` (nothing changes the task any more)."""
        return self in (TaskState.SUCCEEDED, TaskState.FAILED)


@dataclass(frozen=True)
class ResourceRef:
    """The resource a task works on: ``ResourceRef("volume", volume_id, project_id)``."""

    type: str
    id: str
    project_id: str | None = None


@dataclass(frozen=True)
class TaskInfo:
    """A snapshot of a task record (see :mod:`shoal.services.tasks.models` for the fields).

    Times are timezone-aware UTC; ``progress`` is percent (0..100) or None.
    """

    id: str
    kind: str
    resource: ResourceRef
    params: Mapping[str, Any]
    state: TaskState
    attempts: int
    progress: int | None
    error: str | None
    owner: str | None
    heartbeat_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Task) -> TaskInfo:
        """The snapshot of an ORM row (params are copied, so the snapshot stays fixed)."""
        return cls(
            id=row.id,
            kind=row.kind,
            resource=ResourceRef(row.resource_type, row.resource_id, row.project_id),
            params=dict(row.params),
            state=TaskState(row.state),
            attempts=row.attempts,
            progress=row.progress,
            error=row.error,
            owner=row.owner,
            heartbeat_at=row.heartbeat_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class TaskInterrupted(BaseException):
    """Raised inside a handler (by ``ctx.heartbeat()``) when it must stop now.

    ``reason`` is ``"lost"`` (the claim lapsed and another runner took the task over: the
    handler's writes must stop) or ``"shutdown"`` (the runner is stopping; resumable tasks
    only: the task goes back to ``pending`` and a later runner resumes it).

    A BaseException, like :class:`asyncio.CancelledError`, so that a handler's
    ``except Exception`` does not swallow it. Handlers let it propagate.
    """

    def __init__(self, task_id: str, reason: str) -> None:
        super().__init__(f"task {task_id} interrupted: {reason}")
        self.task_id = task_id
        self.reason = reason


#: A task's work: gets the context, returns when done; raising fails the task.
Handler = Callable[["TaskContext"], None]
#: Runs when a task fails, in the transaction that records the failure: ``(session, task,
#: message)``. Typically sets the resource's status to ``error``. Must be idempotent.
FailureHook = Callable[[Session, TaskInfo, str], None]


@dataclass(frozen=True)
class RecoveryReport:
    """What :meth:`TaskRunner.recover` did: task ids given back to the queue, and failed."""

    resumed: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    #: Running tasks of dead owners whose kind this runner has no handler for (left as is).
    unknown: tuple[str, ...] = ()
