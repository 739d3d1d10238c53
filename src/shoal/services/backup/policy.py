"""Who may do what with backups: Cinder's default backup policy (secure RBAC, project scope).

A project ``reader`` lists and shows its backups, a ``member`` creates, updates, deletes and
restores them, an ``admin`` also resets their status, force-deletes them, exports and imports
their records, checks their stored data (``backup:verify``, shoal's own), and sees every
project's. Visibility and the roles' order are the volume
service's (:mod:`shoal.services.volume.policy`): a backup of another project is 404 for a
non-admin, an action the roles do not allow is 403.
"""

from __future__ import annotations

from typing import Final

from shoal.services.volume.policy import CallerLike, PolicyNotAuthorized, is_admin, may_see

__all__ = [
    "ADMIN_ACTIONS",
    "MEMBER_ACTIONS",
    "READER_ACTIONS",
    "authorize",
    "is_admin",
    "may_see",
]

#: Actions a project ``reader`` may do on its project's backups.
READER_ACTIONS: Final = frozenset({"backup:get", "backup:get_all"})
#: Actions a project ``member`` may do.
MEMBER_ACTIONS: Final = READER_ACTIONS | frozenset({
    "backup:create", "backup:update", "backup:delete", "backup:restore",
})
#: Actions only an admin may do.
ADMIN_ACTIONS: Final = frozenset({
    "backup:backup-export", "backup:backup-import", "backup:backup_project_attribute",
    "volume_extension:backup_admin_actions:reset_status",
    "volume_extension:backup_admin_actions:force_delete",
    "backup:verify",  # shoal's own: reading a backup's data back to check it
})


def authorize(caller: CallerLike, action: str, project_id: str | None = None) -> None:
    """Allow ``action`` (on a backup of ``project_id``, if given) or raise.

    Raises:
        PolicyNotAuthorized: the caller's roles do not allow ``action`` (403).
        ValueError: ``action`` is not one this module knows (a programming error).
    """
    if action not in MEMBER_ACTIONS | ADMIN_ACTIONS:
        raise ValueError(f"unknown backup policy action {action!r}")
    if is_admin(caller):
        return
    roles = set(caller.roles)
    own = project_id is None or caller.project_id == project_id
    allowed = own and action not in ADMIN_ACTIONS and (
        (action in READER_ACTIONS and roles & {"reader", "member"})
        or (action in MEMBER_ACTIONS and "member" in roles))
    if not allowed:
        raise PolicyNotAuthorized(f"Policy doesn't allow {action} to be performed.")
