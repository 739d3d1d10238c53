"""Who may do what with compute resources: Nova's default policy (secure RBAC, project
scope), for the parts shoal serves so far.

Everyone who is logged in lists and shows flavors and their extra specs; only an admin
creates, updates and deletes flavors, edits extra specs, and reads or changes who may use
a private flavor. Key pairs belong to a user: everyone manages their own, and an admin
those of any user (Nova's ``(role:admin) or user_id:%(user_id)s``). A refused action is 403
with Nova's words.
"""

from __future__ import annotations

from typing import Final

from shoal.services.volume.policy import CallerLike, PolicyNotAuthorized, is_admin, may_see

__all__ = ["ADMIN_ACTIONS", "OWNER_ACTIONS", "authorize", "is_admin", "may_see"]

#: Actions only an admin may do.
ADMIN_ACTIONS: Final = frozenset({
    "os_compute_api:os-flavor-manage:create",
    "os_compute_api:os-flavor-manage:update",
    "os_compute_api:os-flavor-manage:delete",
    "os_compute_api:os-flavor-extra-specs:create",
    "os_compute_api:os-flavor-extra-specs:update",
    "os_compute_api:os-flavor-extra-specs:delete",
    "os_compute_api:os-flavor-access",
    "os_compute_api:os-flavor-access:add_tenant_access",
    "os_compute_api:os-flavor-access:remove_tenant_access",
})
#: Actions on a user's own resources (key pairs): the owner or an admin.
OWNER_ACTIONS: Final = frozenset({
    "os_compute_api:os-keypairs:index",
    "os_compute_api:os-keypairs:create",
    "os_compute_api:os-keypairs:show",
    "os_compute_api:os-keypairs:delete",
})


def authorize(caller: CallerLike, action: str, user_id: str | None = None) -> None:
    """Allow ``action`` (for the resources of ``user_id``, an owner action's target) or
    raise.

    Raises:
        PolicyNotAuthorized: the caller is no admin and ``action`` is an admin action, or
            an owner action on another user's resources (403).
        ValueError: ``action`` is not one this module knows, or an owner action came
            without its ``user_id`` (programming errors).
    """
    if action in OWNER_ACTIONS:
        if user_id is None:
            raise ValueError(f"compute policy action {action!r} needs the owner's user id")
        if caller.user_id == user_id:
            return
    elif action not in ADMIN_ACTIONS:
        raise ValueError(f"unknown compute policy action {action!r}")
    if not is_admin(caller):
        raise PolicyNotAuthorized(f"Policy doesn't allow {action} to be performed.")
