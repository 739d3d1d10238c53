"""The task table's reads and guarded writes (no threads here; see ``_runner``).

Every write to a running task is a compare-and-set: it names the claim it expects
(``owner`` and ``attempts``, or for a take-over also ``heartbeat_at``) in its WHERE clause and
reports whether a row matched. Two runners (threads or processes, SQLite or PostgreSQL) can
therefore never both record an outcome for one claim, nor both take over one lapsed task.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, select, update
from sqlalchemy.orm import Session

from shoal._time import utcnow
from shoal.db import Database
from shoal.services.tasks._types import ResourceRef, TaskInfo, TaskState
from shoal.services.tasks.models import (
    ERROR_LENGTH_MAX,
    ID_LENGTH_MAX,
    KIND_LENGTH_MAX,
    Task,
    new_task_id,
)

__all__ = [
    "PARAMS_BYTES_MAX",
    "claim",
    "clip_error",
    "fail",
    "get",
    "has_pending",
    "insert",
    "load",
    "normalise_params",
    "purge",
    "record_progress",
    "release",
    "renew",
    "running",
    "succeed",
    "take_over",
    "tasks_for",
    "utcnow",
]

#: Largest ``params`` of a task, bytes of compact JSON.
PARAMS_BYTES_MAX = 64 * 1024
_CUT_MARK = " ... (cut)"


def clip_error(message: str) -> str:
    """``message`` cut to :data:`ERROR_LENGTH_MAX` characters (marked when cut)."""
    if len(message) <= ERROR_LENGTH_MAX:
        return message
    return message[: ERROR_LENGTH_MAX - len(_CUT_MARK)] + _CUT_MARK


def _check_name(what: str, value: object, length_max: int) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, not {value!r}")
    if len(value) > length_max:
        raise ValueError(f"{what} is at most {length_max} characters: {value[:80]!r}...")
    return value


def normalise_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` as the handler will see it on every run: a JSON round trip.

    Raises:
        ValueError: not a mapping with string keys, not JSON-serialisable (NaN included),
            or larger than :data:`PARAMS_BYTES_MAX`.
    """
    if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
        raise ValueError("task params must be a mapping with string keys")
    try:
        text = json.dumps(dict(params), allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"task params are not JSON-serialisable: {exc}") from exc
    if len(text.encode()) > PARAMS_BYTES_MAX:
        raise ValueError(f"task params exceed {PARAMS_BYTES_MAX} bytes of JSON")
    result = json.loads(text)
    assert isinstance(result, dict)
    return result


def insert(session: Session, kind: str, resource: ResourceRef, params: Mapping[str, Any]) -> str:
    """Add a ``pending`` task to ``session`` (committed with it); returns its id.

    Raises:
        ValueError: a bad kind, resource reference or params (see :func:`normalise_params`).
    """
    _check_name("task kind", kind, KIND_LENGTH_MAX)
    _check_name("resource type", resource.type, KIND_LENGTH_MAX)
    _check_name("resource id", resource.id, ID_LENGTH_MAX)
    if resource.project_id is not None:
        _check_name("project id", resource.project_id, ID_LENGTH_MAX)
    now = utcnow()
    task = Task(
        id=new_task_id(),
        kind=kind,
        resource_type=resource.type,
        resource_id=resource.id,
        project_id=resource.project_id,
        params=normalise_params(params),
        state=TaskState.PENDING.value,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    return task.id


def get(db: Database, task_id: str) -> TaskInfo | None:
    """The task ``task_id``, or None."""
    with db.session(readonly=True) as session:
        row = session.get(Task, task_id)
        return None if row is None else TaskInfo.from_row(row)


def tasks_for(db: Database, resource: ResourceRef) -> list[TaskInfo]:
    """Every task on ``resource`` (type and id), oldest first."""
    query = (
        select(Task)
        .where(Task.resource_type == resource.type, Task.resource_id == resource.id)
        .order_by(Task.created_at, Task.id)
    )
    with db.session(readonly=True) as session:
        return [TaskInfo.from_row(row) for row in session.scalars(query)]


def has_pending(db: Database, kinds: Collection[str]) -> bool:
    """Whether a ``pending`` task of one of ``kinds`` exists (a cheap read before claiming)."""
    if not kinds:
        return False
    query = select(Task.id).where(Task.state == "pending", Task.kind.in_(kinds)).limit(1)
    with db.session(readonly=True) as session:
        return session.scalars(query).first() is not None


def claim(db: Database, owner: str, kinds: Collection[str], limit: int) -> list[TaskInfo]:
    """Claim up to ``limit`` of the oldest ``pending`` tasks of ``kinds`` for ``owner``.

    Each claimed row becomes ``running``, owned by ``owner``, with a fresh heartbeat and
    ``attempts`` one higher. On PostgreSQL the candidates are locked ``FOR UPDATE SKIP
    LOCKED`` (concurrent claimers take different rows); on SQLite the write transaction is
    exclusive. Either way each row's UPDATE is guarded by ``state = 'pending'``.
    """
    if limit <= 0 or not kinds:
        return []
    query = (
        select(Task.id)
        .where(Task.state == "pending", Task.kind.in_(kinds))
        .order_by(Task.created_at, Task.id)
        .limit(limit)
    )
    if db.dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed: list[TaskInfo] = []
    with db.session() as session:
        now = utcnow()
        for task_id in list(session.scalars(query)):
            result = session.connection().execute(
                update(Task)
                .where(Task.id == task_id, Task.state == "pending")
                .values(
                    state="running",
                    owner=owner,
                    heartbeat_at=now,
                    attempts=Task.attempts + 1,
                    progress=None,
                    updated_at=now,
                )
            )
            if result.rowcount == 1:
                row = session.get(Task, task_id, populate_existing=True)
                assert row is not None and row.owner == owner
                claimed.append(TaskInfo.from_row(row))
    return claimed


def _held(task_id: str, owner: str, attempt: int) -> ColumnElement[bool]:
    return and_(
        Task.id == task_id,
        Task.state == "running",
        Task.owner == owner,
        Task.attempts == attempt,
    )


def renew(db: Database, owner: str, task_ids: Collection[str]) -> dict[str, tuple[str, int]]:
    """Renew ``owner``'s claims on ``task_ids``; returns the ones it still holds.

    The answer maps each held task id to its claim ``(owner, attempts)``; a task missing from
    it (or with another claim) was finished, released or taken over by someone else.
    """
    if not task_ids:
        return {}
    ids = list(task_ids)
    with db.session() as session:
        now = utcnow()
        session.connection().execute(
            update(Task)
            .where(Task.id.in_(ids), Task.state == "running", Task.owner == owner)
            .values(heartbeat_at=now)
        )
        rows = session.execute(
            select(Task.id, Task.owner, Task.attempts).where(
                Task.id.in_(ids), Task.state == "running", Task.owner == owner
            )
        )
        return {task_id: (str(row_owner), attempts) for task_id, row_owner, attempts in rows}


def record_progress(db: Database, task_id: str, owner: str, attempt: int, percent: int) -> bool:
    """Store ``percent`` done and renew the claim; False if the claim is no longer held."""
    with db.session() as session:
        now = utcnow()
        result = session.connection().execute(
            update(Task)
            .where(_held(task_id, owner, attempt))
            .values(progress=percent, heartbeat_at=now, updated_at=now)
        )
        return result.rowcount == 1


def succeed(session: Session, task_id: str, owner: str, attempt: int) -> bool:
    """Mark the held task ``succeeded`` in ``session``; False if the claim is not held."""
    now = utcnow()
    result = session.connection().execute(
        update(Task)
        .where(_held(task_id, owner, attempt))
        .values(state="succeeded", progress=100, heartbeat_at=None, updated_at=now)
    )
    return result.rowcount == 1


def fail(session: Session, task_id: str, owner: str, attempt: int, message: str) -> TaskInfo | None:
    """Mark the held task ``failed`` with ``message`` in ``session``; None if not held.

    Returns the failed task (for the on_failure hook, run in the same ``session``).
    """
    now = utcnow()
    result = session.connection().execute(
        update(Task)
        .where(_held(task_id, owner, attempt))
        .values(state="failed", error=clip_error(message), heartbeat_at=None, updated_at=now)
    )
    if result.rowcount != 1:
        return None
    row = session.get(Task, task_id, populate_existing=True)
    assert row is not None
    return TaskInfo.from_row(row)


def release(session: Session, task_id: str, owner: str, attempt: int) -> bool:
    """Give the held task back to the queue (``pending``, no owner); False if not held."""
    now = utcnow()
    result = session.connection().execute(
        update(Task)
        .where(_held(task_id, owner, attempt))
        .values(state="pending", owner=None, heartbeat_at=None, updated_at=now)
    )
    return result.rowcount == 1


def running(db: Database) -> list[TaskInfo]:
    """Every ``running`` task, oldest first."""
    query = select(Task).where(Task.state == "running").order_by(Task.created_at, Task.id)
    with db.session(readonly=True) as session:
        return [TaskInfo.from_row(row) for row in session.scalars(query)]


def take_over(session: Session, seen: TaskInfo, state: TaskState, error: str | None) -> bool:
    """Move a lapsed running task to ``state`` if its claim is still exactly as ``seen``.

    The guard compares owner, attempts and heartbeat: if the owner renewed meanwhile, or
    another runner took the task over first, nothing changes and the answer is False.
    """
    assert state in (TaskState.PENDING, TaskState.FAILED)
    heartbeat = (
        Task.heartbeat_at.is_(None)
        if seen.heartbeat_at is None
        else Task.heartbeat_at == seen.heartbeat_at
    )
    now = utcnow()
    values: dict[str, Any] = {"state": state.value, "heartbeat_at": None, "updated_at": now}
    if state is TaskState.PENDING:
        values["owner"] = None
    else:
        values["error"] = clip_error(error or "failed")
    result = session.connection().execute(
        update(Task)
        .where(
            Task.id == seen.id,
            Task.state == "running",
            Task.owner == seen.owner if seen.owner is not None else Task.owner.is_(None),
            Task.attempts == seen.attempts,
            heartbeat,
        )
        .values(**values)
    )
    return result.rowcount == 1


def load(session: Session, task_id: str) -> TaskInfo:
    """The task ``task_id`` as ``session`` sees it now (it must exist)."""
    row = session.get(Task, task_id, populate_existing=True)
    assert row is not None, task_id
    return TaskInfo.from_row(row)


def purge(db: Database, before: datetime) -> int:
    """Delete finished tasks last updated before ``before``; returns how many."""
    with db.session() as session:
        result = session.connection().execute(
            delete(Task).where(Task.state.in_(("succeeded", "failed")), Task.updated_at < before)
        )
        return result.rowcount
