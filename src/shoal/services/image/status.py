"""The image status machine and which operations each status allows.

Transitions (Glance's ``glance.domain.Image``)::

    queued ─────► saving, uploading, importing, active, deleted
    saving ─────► active, killed, deleted, queued      (queued: a failed upload, retry)
    uploading ──► importing, queued, deleted
    importing ──► active, deleted, queued
    active ─────► deactivated, pending_delete, deleted
    deactivated ► active, deleted
    pending_delete ► deleted, active
    killed ─────► deleted
    deleted ────► (nothing)

Operations by status:

=============  ===============================================================
upload         ``PUT .../file``: queued only (queued → saving → active; a failed
               upload goes back to queued); otherwise 409 naming the transition.
               ``disk_format`` and ``container_format`` must be set (400).
download       ``GET .../file``: data streams from an active image (and from a
               deactivated one, for admins; others get 403); an image without
               data answers 204.
deactivate     active → deactivated; already deactivated: nothing to do; other
               statuses 403. Admin or the owning project (Glance's default policy).
reactivate     deactivated → active; already active: nothing to do; others 403.
delete         any status but deleted; a protected image is 403.
update         any status; formats change only while queued/importing and
               locations only while active/queued (see :mod:`.patch`).
=============  ===============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from shoal.errors import InvalidArgument, PermissionDenied
from shoal.services.image.errors import ImageConflict
from shoal.services.image.records import IMAGE_STATUSES, ImageRecord

__all__ = [
    "TRANSITIONS",
    "can_transition",
    "check_delete",
    "check_download",
    "check_stage",
    "check_transition",
    "check_upload",
    "deactivate",
    "reactivate",
]

TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    "queued": frozenset({"saving", "uploading", "importing", "active", "deleted"}),
    "saving": frozenset({"active", "killed", "deleted", "queued"}),
    "uploading": frozenset({"importing", "queued", "deleted"}),
    "importing": frozenset({"active", "deleted", "queued"}),
    "active": frozenset({"pending_delete", "deleted", "deactivated"}),
    "deactivated": frozenset({"active", "deleted"}),
    "pending_delete": frozenset({"deleted", "active"}),
    "killed": frozenset({"deleted"}),
    "deleted": frozenset(),
}
assert set(TRANSITIONS) == set(IMAGE_STATUSES)
assert all(targets <= set(IMAGE_STATUSES) for targets in TRANSITIONS.values())

#: Statuses whose entry needs the formats set (the image gets data).
_NEEDS_FORMATS: Final = frozenset({"saving", "active", "importing"})


def can_transition(current: str, target: str) -> bool:
    """Whether an image may go from status ``current`` to ``target``."""
    return target in TRANSITIONS[current]


def check_transition(image: ImageRecord, target: str) -> None:
    """Refuse a status change the machine does not allow.

    Raises:
        ImageConflict: ``image.status`` → ``target`` is not a transition (409).
        InvalidArgument: the image would get data without ``disk_format`` or
            ``container_format`` set (400).
    """
    if not can_transition(image.status, target):
        raise ImageConflict(
            f"Image status transition from {image.status} to {target} is not allowed."
        )
    if image.status in ("queued", "uploading") and target in _NEEDS_FORMATS:
        missing = [name for name in ("disk_format", "container_format")
                   if not getattr(image, name)]
        if missing:
            noun = "Property" if len(missing) == 1 else "Properties"
            raise InvalidArgument(f"{noun} {', '.join(missing)} must be set prior to saving data.")


def check_upload(image: ImageRecord) -> None:
    """Allow ``PUT /v2/images/{id}/file``: the image goes to ``saving``.

    Raises:
        ImageConflict: the image is not queued (409, e.g. "Image status transition
            from active to saving is not allowed.").
        InvalidArgument: ``disk_format`` or ``container_format`` is unset (400).
    """
    check_transition(image, "saving")


def check_stage(image: ImageRecord) -> None:
    """Allow ``PUT /v2/images/{id}/stage``: the image goes to ``uploading``.

    Raises:
        ImageConflict: the image is not queued (409).
    """
    check_transition(image, "uploading")


def check_download(image: ImageRecord, *, is_admin: bool) -> bool:
    """Whether ``GET /v2/images/{id}/file`` streams data (True) or answers 204 (False).

    An image has data when it is active (or deactivated) and has a location.

    Raises:
        PermissionDenied: the image is deactivated and the caller no admin (403).
    """
    if image.status == "deactivated" and not is_admin:
        raise PermissionDenied(
            "The requested image has been deactivated. Image data download is forbidden."
        )
    return image.status in ("active", "deactivated") and bool(image.locations)


def _check_owner_or_admin(image: ImageRecord, *, project_id: str | None,
                          is_admin: bool) -> None:
    if not is_admin and (image.owner is None or image.owner != project_id):
        raise PermissionDenied("You do not own this image.")


def deactivate(image: ImageRecord, *, project_id: str | None, is_admin: bool) -> str | None:
    """``POST .../actions/deactivate``: the new status, or None when nothing changes.

    Raises:
        PermissionDenied: neither admin nor owner, or the image is neither active nor
            deactivated (403, as upstream).
    """
    _check_owner_or_admin(image, project_id=project_id, is_admin=is_admin)
    if image.status == "deactivated":
        return None
    if image.status != "active":
        raise PermissionDenied(f"Not allowed to deactivate image in status '{image.status}'.")
    return "deactivated"


def reactivate(image: ImageRecord, *, project_id: str | None, is_admin: bool) -> str | None:
    """``POST .../actions/reactivate``: the new status, or None when nothing changes.

    Raises:
        PermissionDenied: neither admin nor owner, or the image is neither deactivated
            nor active (403, as upstream).
    """
    _check_owner_or_admin(image, project_id=project_id, is_admin=is_admin)
    if image.status == "active":
        return None
    if image.status != "deactivated":
        raise PermissionDenied(f"Not allowed to reactivate image in status '{image.status}'.")
    return "active"


def check_delete(image: ImageRecord, *, delayed_delete: bool = False) -> str:
    """``DELETE /v2/images/{id}``: the status the image ends in.

    ``pending_delete`` when ``delayed_delete`` is on, the image has data and its status
    allows it (active: a scrubber removes the data later), else ``deleted``.

    Raises:
        PermissionDenied: the image is protected (403).
        ImageConflict: the image is already deleted (409; callers normally answer
            404 before asking).
    """
    if image.protected:
        raise PermissionDenied(f"Image {image.id} is protected and cannot be deleted.")
    target = "deleted"
    if delayed_delete and image.locations and can_transition(image.status, "pending_delete"):
        target = "pending_delete"
    if not can_transition(image.status, target):
        raise ImageConflict(f"Image {image.id} cannot be deleted in status {image.status}.")
    return target
