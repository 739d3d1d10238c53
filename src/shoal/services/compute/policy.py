"""Who may do what with compute resources: Nova's default policy (secure RBAC, project
scope), for the parts shoal serves so far.

Everyone who is logged in lists and shows flavors and their extra specs; only an admin
creates, updates and deletes flavors, edits extra specs, and reads or changes who may use
a private flavor. A refused action is 403 with Nova's words.
"""

from __future__ import annotations

from typing import Final

from shoal.services.volume.policy import CallerLike, PolicyNotAuthorized, is_admin, may_see

__all__ = ["ADMIN_ACTIONS", "authorize", "is_admin", "may_see"]

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


def authorize(caller: CallerLike, action: str) -> None:
    """Allow ``action`` or raise.

    Raises:
        PolicyNotAuthorized: ``action`` is an admin action and the caller no admin (403).
        ValueError: ``action`` is not one this module knows (a programming error).
    """
    if action not in ADMIN_ACTIONS:
        raise ValueError(f"unknown compute policy action {action!r}")
    if not is_admin(caller):
        raise PolicyNotAuthorized(f"Policy doesn't allow {action} to be performed.")
