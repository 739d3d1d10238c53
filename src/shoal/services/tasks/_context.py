"""``TaskContext``: what a handler gets: its task, a heartbeat, and a finishing transaction."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from shoal.db import Database
from shoal.services.tasks import _store
from shoal.services.tasks._types import ResourceRef, TaskInfo, TaskInterrupted

__all__ = ["PROGRESS_WRITE_INTERVAL_S", "TaskContext"]

#: Shortest time between two progress writes of one task, seconds (heartbeat() is cheap to
#: call per chunk: in between it only checks for interruption).
PROGRESS_WRITE_INTERVAL_S = 1.0


class TaskContext:
    """The running task as its handler sees it.

    Attributes:
        db: the database (for the handler's own transactions).
        task_id, kind, resource: the task.
        params: the task's parameters, as a fresh copy of the stored JSON.
        attempt: 1 on the first run; higher when the task is resumed after an interruption
            (the handler then finds whatever the earlier attempt left and must carry on).
        resumable: whether the task was registered resumable.
    """

    def __init__(self, db: Database, info: TaskInfo, owner: str, *, resumable: bool) -> None:
        assert info.owner == owner and info.attempts >= 1
        self.db = db
        self.task_id = info.id
        self.kind = info.kind
        self.resource: ResourceRef = info.resource
        self.params: Mapping[str, Any] = dict(info.params)
        self.attempt = info.attempts
        self.resumable = resumable
        self.owner = owner
        self._lock = threading.Lock()
        self._interrupted: str | None = None
        self._finished = False
        self._progress: int | None = None
        self._progress_written_at = 0.0

    def __repr__(self) -> str:
        return f"TaskContext({self.kind} {self.task_id} attempt {self.attempt})"

    @property
    def resumed(self) -> bool:
        """True when an earlier attempt was interrupted (``attempt > 1``)."""
        return self.attempt > 1

    @property
    def interrupted(self) -> str | None:
        """Why the handler must stop (``"lost"`` or ``"shutdown"``), or None."""
        with self._lock:
            return self._interrupted

    @property
    def finished(self) -> bool:
        """True once :meth:`finish` committed (the task is ``succeeded``)."""
        return self._finished

    def interrupt(self, reason: str) -> None:
        """Ask the handler to stop (the runner calls this); the first reason sticks."""
        with self._lock:
            if self._interrupted is None:
                self._interrupted = reason

    def check(self) -> None:
        """Raise :class:`TaskInterrupted` if the handler must stop; otherwise nothing."""
        reason = self.interrupted
        if reason is not None:
            raise TaskInterrupted(self.task_id, reason)

    def heartbeat(self, progress: int | None = None) -> None:
        """Report being alive and, optionally, ``progress`` percent done (0..100).

        Call it between steps (every chunk is fine): progress reaches the database at most
        every :data:`PROGRESS_WRITE_INTERVAL_S` seconds. The claim itself is renewed by the
        runner whether or not the handler calls this.

        Raises:
            TaskInterrupted: the runner is shutting down (resumable tasks) or the task was
                taken over by another runner; stop and let it propagate.
            ValueError: ``progress`` outside 0..100.
        """
        self.check()
        if progress is None:
            return
        if not 0 <= progress <= 100:
            raise ValueError(f"progress is a percentage (0..100), not {progress}")
        now = time.monotonic()
        if progress == self._progress or now - self._progress_written_at < (
            PROGRESS_WRITE_INTERVAL_S
        ):
            return
        if not _store.record_progress(self.db, self.task_id, self.owner, self.attempt, progress):
            self.interrupt("lost")
            self.check()
        self._progress = progress
        self._progress_written_at = now

    @contextmanager
    def finish(self) -> Iterator[Session]:
        """A transaction that also marks the task ``succeeded`` when it commits.

        Do the handler's last write in it (e.g. the volume's status to ``available``): the
        resource and its task then change together, so an interruption can never leave a
        finished resource with an unfinished task (or the reverse). Optional: a handler that
        returns without it is marked succeeded afterwards, in a transaction of its own.

        Allowed during a shutdown (the work is done; finishing beats resuming).

        Raises:
            TaskInterrupted: the claim is no longer held (``"lost"``); everything written in
                the block is rolled back.
        """
        if self.interrupted == "lost":
            raise TaskInterrupted(self.task_id, "lost")
        with self.db.session() as session:
            yield session
            session.flush()
            if not _store.succeed(session, self.task_id, self.owner, self.attempt):
                self.interrupt("lost")
                raise TaskInterrupted(self.task_id, "lost")
        self._finished = True
