"""Who may see and change an image: Glance's default (secure RBAC) rules.

As Glance's policy layer wraps its image repository, :class:`ImageService` applies these
rules itself on every call that takes a :class:`~shoal.services.Caller`:

- **see** (``get_image``, ``download_image``, member calls): admins see everything;
  others see public and community images, images without owner, their project's own
  images and shared images their project is a member of (any member status). Deleted
  images are nobody's to see. An image the caller may not see is 404, as if it did not
  exist.
- **change** (``modify_image``, ``upload_image``, ``delete_image``, tags, deactivate and
  reactivate): the ``member`` role (``reader`` only reads) and, unless admin, the
  owning project. A visible image the caller may not change is 403.
- **publicize** (``publicize_image``) is for admins; the create and patch rules apply
  it to the requested visibility.
- **metadefs** (:class:`~shoal.services.image.MetadefStore`): a namespace is readable by
  admins, by everyone when public and by its owning project; only admins create, change
  or delete namespaces (Glance's ``get_metadef_*`` / ``modify_metadef_*`` defaults).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shoal import errors
from shoal.services._caller import Caller
from shoal.services.image.records import ImageRecord

__all__ = [
    "can_read_namespace",
    "can_see",
    "require_change",
    "require_namespace_write",
    "require_role",
    "require_visible",
]


def can_see(caller: Caller, image: ImageRecord, membership: str | None) -> bool:
    """Whether ``caller`` may see ``image`` at all.

    ``membership`` is the status of the caller's project's membership of the image
    (None: not a member; a pending or rejected membership still shows the image).
    """
    if image.status == "deleted":
        return False
    if caller.is_admin or image.owner is None or image.visibility in ("public", "community"):
        return True
    if caller.project_id is not None and image.owner == caller.project_id:
        return True
    return image.visibility == "shared" and membership is not None


def require_visible(caller: Caller, image: ImageRecord, membership: str | None) -> None:
    """Raise NotFound (404) unless ``caller`` may see ``image`` (see :func:`can_see`)."""
    if not can_see(caller, image, membership):
        raise errors.NotFound(f"No image found with ID {image.id}")


def require_role(caller: Caller, *roles: str) -> None:
    """Raise PermissionDenied (403) unless ``caller`` holds one of ``roles`` (admin does)."""
    if not caller.has_role(*roles):
        wanted = " or ".join(repr(r) for r in roles)
        raise errors.PermissionDenied(
            f"Policy does not allow this request: it needs the role {wanted} on the project."
        )


def require_change(caller: Caller, image: ImageRecord, what: str) -> None:
    """Raise PermissionDenied (403) unless ``caller`` may change ``image``: the ``member``
    role and the owning project (admins: any image). ``what`` names the action in the
    message ("modify", "delete", "upload data to").
    """
    require_role(caller, "member")
    if not caller.is_admin and image.owner != caller.project_id:
        raise errors.PermissionDenied(f"You are not permitted to {what} image {image.id}.")


def can_read_namespace(caller: Caller, document: Mapping[str, Any]) -> bool:
    """Whether ``caller`` may see the metadefs namespace ``document`` (its ``visibility``
    and ``owner`` keys); an unreadable namespace is 404 to them."""
    return (caller.is_admin or document.get("visibility") == "public"
            or (caller.project_id is not None and document.get("owner") == caller.project_id))


def require_namespace_write(caller: Caller) -> None:
    """Raise PermissionDenied (403) unless ``caller`` may change metadefs (admins)."""
    if not caller.is_admin:
        raise errors.PermissionDenied("Only admins may change metadata definitions.")
