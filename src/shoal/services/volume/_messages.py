"""User messages (``/v3/messages``, 3.3+): why an asynchronous operation failed.

The volume service writes them (:func:`record`, into :class:`~.models.Message`); here they
are also read and deleted. A project's member reads and deletes its project's messages, an
admin every project's; a message of another project is 404 (``Message <id> could not be
found.``). Messages past their ``expires_at`` (``message_ttl`` after they were written) are
no longer shown.

A message is Cinder's: an action (what was going on) and a detail (what happened), each an
id and a fixed text; ``event_id`` is ``VOLUME_<resource type>_<action id>_<detail id>`` and
``user_message`` ``"<action text>: <detail text>"``. The texts never hold data of the
request (Cinder's rule: nothing sensitive reaches the user).

Details with ids 900-999 are shoal's own (Cinder's count up from 001; its latest is 030),
all of level ``INFO``: the operation succeeded, but not the way the user may have expected.

=======  ======================================================  ==========================
detail   meaning                                                 written by
=======  ======================================================  ==========================
``901``  an image was copied, not cloned: not ``raw``            volume from an image
``902``  ... the image service shows no location                 (action ``005``, ``copy
         (``show_image_direct_url`` off)                         image to volume``, on the
``903``  ... it is in another Ceph cluster (fsid)                volume; the volume is
``904``  ... the volume service may not read the image's pool    ``available``)
``905``  ... it is not at its location in the image store
=======  ======================================================  ==========================
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from shoal import errors
from shoal.db import Database
from shoal.services.volume import policy
from shoal.services.volume.models import Message
from shoal.services.volume.policy import CallerLike
from shoal.services.volume.records import as_utc

__all__ = [
    "COPY_IMAGE_TO_VOLUME",
    "IMAGE_NOT_CLONED",
    "MESSAGE_TTL",
    "NO_BACKEND_AVAILABLE",
    "RESOURCE_VOLUME",
    "SCHEDULE_ALLOCATE_VOLUME",
    "Event",
    "MessageRecord",
    "VolumeMessages",
    "record",
    "user_message",
]

#: Cinder's ``message_ttl`` default (30 days): how long a message is guaranteed to be kept.
MESSAGE_TTL: Final = timedelta(seconds=2592000)
#: Cinder's ``Resource.VOLUME``.
RESOURCE_VOLUME: Final = "VOLUME"


@dataclass(frozen=True)
class Event:
    """One action or detail of a message: its id (three digits) and its fixed text."""

    id: str
    text: str


#: Cinder's actions.
SCHEDULE_ALLOCATE_VOLUME: Final = Event("001", "schedule allocate volume")
COPY_IMAGE_TO_VOLUME: Final = Event("005", "copy image to volume")
#: Cinder's detail of ``NoValidBackend``.
NO_BACKEND_AVAILABLE: Final = Event("003", "Could not find any available weighted backend.")
_NOT_CLONED: Final = "Image was not cloned (copy-on-write), its data was copied instead: "
#: shoal's details of a volume from an image that was copied, not cloned, by the reason the
#: RBD driver gives (:class:`~.driver.CloneRefusal` values).
IMAGE_NOT_CLONED: Final[Mapping[str, Event]] = {
    "not_raw": Event("901", _NOT_CLONED + "the image's disk format is not raw."),
    "no_location": Event("902", _NOT_CLONED + "the image service does not show the image's "
                                "location (Glance's show_image_direct_url is off)."),
    "other_cluster": Event("903", _NOT_CLONED + "the image is stored in another Ceph "
                                  "cluster."),
    "no_access": Event("904", _NOT_CLONED + "the volume service may not read the image's "
                              "pool."),
    "not_in_store": Event("905", _NOT_CLONED + "the image is not at its location in the "
                                 "image store."),
}


def user_message(action: Event, detail: Event) -> str:
    """The text a user reads: ``"<action text>: <detail text>"`` (Cinder's)."""
    return f"{action.text}: {detail.text}"


def record(session: Session, *, project_id: str, resource_uuid: str, action: Event,
           detail: Event, now: datetime, level: str = "ERROR",
           resource_type: str = RESOURCE_VOLUME, request_id: str | None = None) -> str:
    """Write one user message in ``session``'s transaction; return its id.

    ``level`` is ``ERROR`` (the operation failed), ``WARNING`` or ``INFO``; the message is
    kept until ``now`` + :data:`MESSAGE_TTL`.
    """
    if level not in ("ERROR", "WARNING", "INFO"):
        raise ValueError(f"unknown message level {level!r}")
    message_id = str(uuid.uuid4())
    session.add(Message(
        id=message_id, project_id=project_id, request_id=request_id,
        resource_type=resource_type, resource_uuid=resource_uuid,
        event_id=f"VOLUME_{resource_type}_{action.id}_{detail.id}", message_level=level,
        action_id=action.id, detail_id=detail.id, user_message=user_message(action, detail),
        created_at=now, expires_at=now + MESSAGE_TTL))
    return message_id


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
