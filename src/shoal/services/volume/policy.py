"""Who may do what with volumes, snapshots, types and quotas: Cinder's default policy.

Cinder's defaults since Xena (secure RBAC, project scope): a ``reader`` of a project reads its
resources, a ``member`` creates, changes and deletes them, an ``admin`` does everything in
every project (``all_tenants``, the admin-only fields, ``os-reset_status``,
``os-force_delete``, volume types, quota updates). Roles imply each other (admin ⇒ member ⇒
reader) when shoal issues the token; a remote Keystone's token lists the implied roles too.

A resource of another project is hidden from non-admins: not allowed to see it is 404
(:class:`NotVisible`), allowed to see but not to act is 403 (:class:`PolicyNotAuthorized`,
Cinder's message ``Policy doesn't allow <action> to be performed.``).
"""

from __future__ import annotations

import errno
from collections.abc import Collection
from typing import Final, Protocol

from shoal import errors

__all__ = [
    "ADMIN_ACTIONS",
    "MEMBER_ACTIONS",
    "READER_ACTIONS",
    "CallerLike",
    "PolicyNotAuthorized",
    "authorize",
    "is_admin",
    "may_see",
]


class CallerLike(Protocol):
    """What policy reads of a caller (``shoal.services.Caller`` has it)."""

    @property
    def user_id(self) -> str: ...

    @property
    def project_id(self) -> str | None: ...

    @property
    def roles(self) -> Collection[str]: ...


class PolicyNotAuthorized(errors.ShoalError):
    """The caller's roles do not allow the action (403)."""

    errno = errno.EPERM
    http_status = 403
    safe = True


#: Actions a project ``reader`` may do on its project's resources.
READER_ACTIONS: Final = frozenset({
    "volume:get", "volume:get_all", "volume:get_volume_metadata",
    "volume:get_snapshot", "volume:get_all_snapshots", "volume:get_snapshot_metadata",
    "volume:get_transfer", "volume:get_all_transfers", "volume_extension:quotas:show",
    "volume:attachment_get", "volume:attachment_get_all", "message:get", "message:get_all",
    "volume_extension:types_extra_specs:index", "volume_extension:type_get",
    "volume_extension:volume_image_metadata:show", "limits_extension:used_limits",
    "volume:summary", "group:get", "group:get_all", "group:get_group_snapshot",
    "group:get_all_group_snapshots",
})
#: Actions a project ``member`` may do (every reader action too).
MEMBER_ACTIONS: Final = READER_ACTIONS | frozenset({
    "volume:create", "volume:delete", "volume:update", "volume:extend",
    "volume:extend_attached_volume", "volume:revert_to_snapshot",
    "volume:create_volume_metadata", "volume:update_volume_metadata",
    "volume:delete_volume_metadata", "volume:create_snapshot", "volume:delete_snapshot",
    "volume:update_snapshot", "volume:update_snapshot_metadata",
    "volume:delete_snapshot_metadata", "volume:update_snapshot_status",
    "volume:create_transfer", "volume:accept_transfer",
    "volume:delete_transfer", "volume:attachment_create", "volume:attachment_update",
    "volume:attachment_delete", "volume:attachment_complete",
    "volume_extension:volume_actions:reserve", "volume_extension:volume_actions:unreserve",
    "volume_extension:volume_actions:attach", "volume_extension:volume_actions:detach",
    "volume_extension:volume_actions:begin_detaching",
    "volume_extension:volume_actions:roll_detaching",
    "volume_extension:volume_actions:initialize_connection",
    "volume_extension:volume_actions:terminate_connection",
    "volume_extension:volume_actions:upload_image", "volume:update_readonly_flag",
    "volume_extension:volume_image_metadata:set",
    "volume_extension:volume_image_metadata:remove", "message:delete", "volume:retype",
    "group:create", "group:update", "group:delete", "group:create_group_snapshot",
    "group:delete_group_snapshot", "group:update_group_snapshot",
})
#: Actions only an admin may do.
ADMIN_ACTIONS: Final = frozenset({
    "volume:force_delete", "volume_extension:volume_admin_actions:reset_status",
    "volume_extension:snapshot_admin_actions:reset_status",
    "volume_extension:snapshot_admin_actions:force_delete",
    "volume_extension:volume_admin_actions:force_delete",
    "volume_extension:volume_admin_actions:force_detach",
    "volume_extension:types_manage", "volume_extension:volume_type_access:addProjectAccess",
    "volume_extension:volume_type_access:removeProjectAccess",
    "volume_extension:quotas:update", "volume_extension:quotas:delete",
    "volume_extension:quota_classes", "volume_extension:volume_type_access",
    "volume:get_all_tenants", "volume_extension:services:index",
    "volume_extension:services:update", "volume_extension:capabilities",
    "scheduler_extension:scheduler_stats:get_pools", "volume_extension:hosts",
    "volume_extension:volume_host_attribute", "volume:upload_public",
    "volume_extension:qos_specs_manage:create", "volume_extension:qos_specs_manage:get",
    "volume_extension:qos_specs_manage:get_all", "volume_extension:qos_specs_manage:update",
    "volume_extension:qos_specs_manage:delete",
    "volume_extension:volume_type_encryption:create",
    "volume_extension:volume_type_encryption:get",
    "volume_extension:volume_type_encryption:update",
    "volume_extension:volume_type_encryption:delete",
    "volume_extension:quota_classes:update",
    "group:group_types:create", "group:group_types:update", "group:group_types:delete",
    "group:access_group_types_specs", "group:group_types_specs:get",
    "group:group_types_specs:get_all", "group:group_types_specs:create",
    "group:group_types_specs:update", "group:group_types_specs:delete", "group:reset_status",
    "group:reset_group_snapshot_status",
})


def is_admin(caller: CallerLike) -> bool:
    """Whether the caller holds the ``admin`` role."""
    return "admin" in caller.roles


def may_see(caller: CallerLike, project_id: str) -> bool:
    """Whether a resource of ``project_id`` is visible to the caller (own project, or admin)."""
    return is_admin(caller) or caller.project_id == project_id


def authorize(caller: CallerLike, action: str, project_id: str | None = None) -> None:
    """Allow ``action`` (on a resource of ``project_id``, if given) or raise.

    The caller must be able to see the resource first (callers check :func:`may_see` and
    answer 404 themselves); here a reader attempting a member action, or anyone but an admin
    an admin action, is refused.

    Raises:
        PolicyNotAuthorized: the caller's roles do not allow ``action``.
        ValueError: ``action`` is not one this module knows (a programming error).
    """
    if action not in READER_ACTIONS | MEMBER_ACTIONS | ADMIN_ACTIONS:
        raise ValueError(f"unknown policy action {action!r}")
    if is_admin(caller):
        return
    own = project_id is None or caller.project_id == project_id
    roles = set(caller.roles)
    allowed = own and (
        (action in READER_ACTIONS and roles & {"reader", "member"})
        or (action in MEMBER_ACTIONS and "member" in roles)
    )
    if not allowed:
        raise PolicyNotAuthorized(f"Policy doesn't allow {action} to be performed.")
