"""The durable task record: one row per long operation (``tasks_tasks``).

A row is written ``pending`` by :meth:`TaskRunner.submit`, claimed ``running`` by one runner
(``owner``, ``heartbeat_at`` and ``attempts`` set by that claim), and ends ``succeeded`` or
``failed`` (``error`` says why). ``owner`` identifies the runner instance that holds the claim;
``attempts`` counts claims and doubles as the claim token: every update a runner makes to a
running task is guarded by ``state = 'running' AND owner = <me> AND attempts = <my claim>``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shoal.db import Base, UTCDateTime

__all__ = [
    "ERROR_LENGTH_MAX",
    "ID_LENGTH_MAX",
    "KIND_LENGTH_MAX",
    "OWNER_LENGTH_MAX",
    "STATES",
    "Task",
    "new_task_id",
]

#: Longest task, resource or project id (Keystone's and Cinder's ids: 36 or 32 characters).
ID_LENGTH_MAX = 64
#: Longest task kind or resource type ("volume.create", "image").
KIND_LENGTH_MAX = 64
#: Longest runner owner id (``host:key:pid:start:nonce``; host names are at most 64 bytes).
OWNER_LENGTH_MAX = 160
#: Longest stored error message, characters (longer ones are cut, with a marker).
ERROR_LENGTH_MAX = 4096
#: Every state a task can be in (the column's check constraint).
STATES = ("pending", "running", "succeeded", "failed")


def new_task_id() -> str:
    """A fresh task id: 32 lowercase hex digits (uuid4)."""
    return uuid.uuid4().hex


class Task(Base):
    """One long operation on one resource (see the module doc for the life cycle)."""

    __tablename__ = "tasks_tasks"
    __table_args__ = (
        CheckConstraint(f"state IN {STATES!r}", name="state"),
        CheckConstraint("attempts >= 0", name="attempts"),
        CheckConstraint("progress IS NULL OR (progress >= 0 AND progress <= 100)", name="progress"),
        Index("ix_tasks_tasks_state_kind", "state", "kind"),
        Index("ix_tasks_tasks_resource", "resource_type", "resource_id"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH_MAX), primary_key=True, default=new_task_id)
    #: What to do, e.g. ``volume.create``: the key its handler is registered under.
    kind: Mapped[str] = mapped_column(String(KIND_LENGTH_MAX))
    #: The resource the task works on (``volume``, ``image`` ...) and its id.
    resource_type: Mapped[str] = mapped_column(String(KIND_LENGTH_MAX))
    resource_id: Mapped[str] = mapped_column(String(ID_LENGTH_MAX))
    #: The project owning the resource; None for tasks on no project's behalf.
    project_id: Mapped[str | None] = mapped_column(String(ID_LENGTH_MAX), default=None)
    #: The handler's arguments: a JSON object.
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: One of :data:`STATES`.
    state: Mapped[str] = mapped_column(String(16), default="pending")
    #: How many times a runner claimed the task (1 on the first run, more when resumed).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Percent done (0..100) as last reported by the handler; None when never reported.
    progress: Mapped[int | None] = mapped_column(Integer, default=None)
    #: Why the task failed (``failed`` only), at most :data:`ERROR_LENGTH_MAX` characters.
    error: Mapped[str | None] = mapped_column(Text, default=None)
    #: The runner instance holding (or that last held) the claim.
    owner: Mapped[str | None] = mapped_column(String(OWNER_LENGTH_MAX), default=None, index=True)
    #: When the owner last renewed its claim; the claim lapses a lease after it.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
