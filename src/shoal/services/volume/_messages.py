"""User messages (``/v3/messages``, 3.3+): why an asynchronous operation failed.

The volume service writes them (:class:`~.models.Message`); here they are read and deleted.
A project's member reads and deletes its project's messages, an admin every project's; a
message of another project is 404 (``Message <id> could not be found.``). Messages past
their ``expires_at`` are no longer shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from shoal import errors
from shoal.db import Database
from shoal.services.volume import policy
from shoal.services.volume.models import Message
from shoal.services.volume.policy import CallerLike
from shoal.services.volume.records import as_utc

__all__ = ["MessageRecord", "VolumeMessages"]


@dataclass(frozen=True)
class MessageRecord:
    """One user message; ``expires_at`` is Cinder's ``guaranteed_until`` (None: kept)."""

    id: str
    project_id: str
    event_id: str
    message_level: str
    user_message: str
    created_at: datetime
    request_id: str | None = None
    resource_type: str | None = None
    resource_uuid: str | None = None
    expires_at: datetime | None = None


def _record(row: Message) -> MessageRecord:
    return MessageRecord(
        id=row.id, project_id=row.project_id, event_id=row.event_id,
        message_level=row.message_level, user_message=row.user_message,
        created_at=row.created_at, request_id=row.request_id,
        resource_type=row.resource_type, resource_uuid=row.resource_uuid,
        expires_at=row.expires_at)


class VolumeMessages:
    """The stored user messages of one deployment (see the module docstring)."""

    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self.db = db
        self.now = now

    def _live(self, row: Message) -> bool:
        return row.expires_at is None or as_utc(row.expires_at) > as_utc(self.now())

    def list_messages(self, caller: CallerLike) -> list[MessageRecord]:
        """The caller's project's messages (an admin's: every project's), oldest first."""
        policy.authorize(caller, "message:get_all", caller.project_id)
        query = select(Message).order_by(Message.created_at, Message.id)
        if not policy.is_admin(caller):
            query = query.where(Message.project_id == (caller.project_id or ""))
        with self.db.session(readonly=True) as session:
            return [_record(r) for r in session.execute(query).scalars() if self._live(r)]

    def _visible(self, caller: CallerLike, row: Message | None, message_id: str,
                 action: str) -> Message:
        if row is None or not self._live(row) or not policy.may_see(caller, row.project_id):
            raise errors.NotFound(f"Message {message_id} could not be found.")
        policy.authorize(caller, action, row.project_id)
        return row

    def get(self, caller: CallerLike, message_id: str) -> MessageRecord:
        """One message; 404 when missing, expired or of another project."""
        with self.db.session(readonly=True) as session:
            row = self._visible(caller, session.get(Message, message_id), message_id,
                                "message:get")
            return _record(row)

    def delete(self, caller: CallerLike, message_id: str) -> None:
        """Delete one message (members of its project, admins)."""
        with self.db.session() as session:
            row = self._visible(caller, session.get(Message, message_id), message_id,
                                "message:delete")
            session.delete(row)
