"""Image sharing (``/v2/images/{id}/members``): request bodies and who may do what.

Only ``shared`` images have members (403 otherwise). The owning project (or an admin)
adds and removes members; a member project (or an admin) accepts or rejects the image,
and the owner may not; a member sees only its own membership, the owner and admins see
all. New members start ``pending``. A duplicate member (409) and the image's visibility
to the caller (404) are the caller's checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shoal.api._errors import BadRequest
from shoal.api.glance.errors import LimitExceeded
from shoal.api.glance.options import ImageApiOptions, quota_exceeded
from shoal.errors import PermissionDenied
from shoal.services.image.records import MEMBER_STATUSES, ImageRecord, MemberRecord

__all__ = [
    "MEMBER_ID_LENGTH_MAX",
    "check_add_member",
    "check_delete_member",
    "check_update_member",
    "parse_member_create",
    "parse_member_update",
    "visible_members",
]

#: Glance's member column holds 255 characters.
MEMBER_ID_LENGTH_MAX = 255


def parse_member_create(body: Any) -> str:
    """The member (project id) a ``POST .../members`` body names.

    Raises:
        BadRequest: not ``{"member": "<project id>"}`` with a non-empty id of at most
            255 characters (400).
    """
    if not isinstance(body, dict):
        raise BadRequest('Request body must be a JSON object: {"member": "<project id>"}.')
    if "member" not in body:
        raise BadRequest('Member to be added not specified: send {"member": "<project id>"}.')
    member = body["member"]
    if not isinstance(member, str) or not member.strip():
        raise BadRequest("Member can't be empty: give a project id.")
    if "\x00" in member:
        raise BadRequest("Member id must not contain a NUL character.")
    if len(member) > MEMBER_ID_LENGTH_MAX:
        raise BadRequest(f"Member id is longer than {MEMBER_ID_LENGTH_MAX} characters.")
    return member


def parse_member_update(body: Any) -> str:
    """The new status a ``PUT .../members/{member_id}`` body sets.

    Raises:
        BadRequest: not ``{"status": "pending"|"accepted"|"rejected"}`` (400).
    """
    if not isinstance(body, dict) or "status" not in body:
        raise BadRequest('Status not specified: send {"status": "accepted"} (or pending,'
                         " rejected).")
    status = body["status"]
    if status not in MEMBER_STATUSES:
        raise BadRequest(f'Incorrect request: status {status!r} must be "pending",'
                         ' "accepted" or "rejected".')
    return str(status)


def _require_shared(image: ImageRecord) -> None:
    if image.visibility != "shared":
        raise PermissionDenied("Only shared images have members.")


def check_add_member(
    image: ImageRecord,
    *,
    project_id: str | None,
    is_admin: bool,
    member_count: int,
    options: ImageApiOptions,
) -> None:
    """Allow adding one member to ``image``, which has ``member_count`` members now.

    Raises:
        PermissionDenied: the image is not shared, or the caller neither owns it nor is
            an admin (403).
        LimitExceeded: one more member would break ``image_member_quota`` (413).
    """
    _require_shared(image)
    if not is_admin and (image.owner is None or image.owner != project_id):
        raise PermissionDenied("You are not permitted to create image members for the image.")
    if quota_exceeded(options.image_member_quota, member_count + 1):
        raise LimitExceeded("members", member_count + 1, options.image_member_quota)


def check_update_member(
    image: ImageRecord, member_id: str, *, project_id: str | None, is_admin: bool
) -> None:
    """Allow changing the status of ``member_id``'s membership.

    Raises:
        PermissionDenied: the image is not shared, the caller is the owner, or the
            caller is another project than the member (403).
    """
    _require_shared(image)
    if is_admin:
        return
    if project_id is not None and project_id == image.owner:
        raise PermissionDenied("You are not permitted to modify 'status' on this image member.")
    if project_id != member_id:
        raise PermissionDenied("Only the member project may accept or reject a shared image.")


def check_delete_member(image: ImageRecord, *, project_id: str | None, is_admin: bool) -> None:
    """Allow removing a member of ``image``.

    Raises:
        PermissionDenied: the image is not shared, or the caller neither owns it nor is
            an admin (403).
    """
    _require_shared(image)
    if not is_admin and (image.owner is None or image.owner != project_id):
        raise PermissionDenied("You cannot delete image member.")


def visible_members(
    image: ImageRecord,
    members: Iterable[MemberRecord],
    *,
    project_id: str | None,
    is_admin: bool,
) -> list[MemberRecord]:
    """The memberships of ``image`` the caller may see (list and show).

    Raises:
        PermissionDenied: the image is not shared (403).
    """
    _require_shared(image)
    if is_admin or (project_id is not None and project_id == image.owner):
        return list(members)
    return [member for member in members if member.member_id == project_id]
