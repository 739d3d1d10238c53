"""The Cinder v3 microversions that change what the API accepts or answers.

Each constant is the first version with the behaviour (Cinder's
``cinder/api/microversions.py`` names, its ``rest_api_version_history``); compare with
the request's version: ``if version >= GROUP_VOLUME: ...``. Only the versions shoal's
pure API parts act on are listed.
"""

from __future__ import annotations

from typing import Final

from shoal.api._microversion import APIVersion
from shoal.errors import NotFound

__all__ = [
    "ATTACHMENT_CREATE_MODE_ARG",
    "BACKEND_STATE_REPORT",
    "BACKUP_AZ",
    "BACKUP_METADATA",
    "BACKUP_PROJECT",
    "BACKUP_PROJECT_USER_ID",
    "BACKUP_SORT_NAME",
    "BACKUP_UPDATE",
    "BASE_VERSION",
    "CLUSTER_SUPPORT",
    "ENCRYPTION_KEY_ID_IN_DETAILS",
    "EXTEND_IN_USE_VOLUME",
    "GROUP_SNAPSHOTS",
    "GROUP_VOLUME",
    "LIKE_FILTER",
    "LIMITS_ADMIN_FILTER",
    "NEW_ATTACH",
    "NEW_ATTACH_COMPLETION",
    "RESOURCE_FILTER",
    "SHARED_TARGETS_TRISTATE",
    "SNAPSHOT_IN_USE",
    "SNAPSHOT_LIST_METADATA_FILTER",
    "SNAPSHOT_LIST_USER_ID",
    "SNAPSHOT_SORT",
    "SUPPORT_COUNT_INFO",
    "SUPPORT_VOLUME_SCHEMA_CHANGES",
    "USE_QUOTA",
    "VOLUME_CLUSTER_NAME",
    "VOLUME_CREATE_FROM_BACKUP",
    "VOLUME_DETAIL_PROVIDER_ID",
    "VOLUME_LIST_BOOTABLE",
    "VOLUME_LIST_GLANCE_METADATA",
    "VOLUME_LIST_GROUP",
    "VOLUME_REVERT",
    "VOLUME_SHARED_TARGETS_AND_SERVICE_FIELDS",
    "VOLUME_SUMMARY",
    "VOLUME_SUMMARY_METADATA",
    "VOLUME_TIME_COMPARISON_FILTER",
    "VOLUME_TYPE_ID_IN_VOLUME_DETAIL",
    "require_version",
]

BASE_VERSION: Final = APIVersion(3, 0)
#: Boolean list filters (``bootable``...) accept only true/false/1/0/yes/no... (400 else).
VOLUME_LIST_BOOTABLE: Final = APIVersion(3, 2)
#: ``glance_metadata`` volume list filter.
VOLUME_LIST_GLANCE_METADATA: Final = APIVersion(3, 4)
#: Services show ``cluster``.
CLUSTER_SUPPORT: Final = APIVersion(3, 7)
#: ``PUT /backups/{id}``.
BACKUP_UPDATE: Final = APIVersion(3, 9)
#: ``group_id`` volume list filter.
VOLUME_LIST_GROUP: Final = APIVersion(3, 10)
#: Volumes show ``group_id``; create accepts it.
GROUP_VOLUME: Final = APIVersion(3, 13)
#: Snapshots show ``group_snapshot_id``.
GROUP_SNAPSHOTS: Final = APIVersion(3, 14)
#: Backups show ``os-backup-project-attr:project_id`` (admins).
BACKUP_PROJECT: Final = APIVersion(3, 18)
#: Volumes show ``provider_id`` (admins).
VOLUME_DETAIL_PROVIDER_ID: Final = APIVersion(3, 21)
#: ``metadata`` snapshot list filter.
SNAPSHOT_LIST_METADATA_FILTER: Final = APIVersion(3, 22)
#: ``sort=name`` sorts snapshots by name.
SNAPSHOT_SORT: Final = APIVersion(3, 30)
#: The attachments API (``/attachments``).
NEW_ATTACH: Final = APIVersion(3, 27)
#: Configured resource filters: non-admins get 400 for other filters (were dropped).
RESOURCE_FILTER: Final = APIVersion(3, 31)
#: ``key~=value`` (LIKE) filters for keys configured as ``key~``.
LIKE_FILTER: Final = APIVersion(3, 34)
#: ``sort=name`` sorts backups by name.
BACKUP_SORT_NAME: Final = APIVersion(3, 37)
#: Admins may ask for another project's limits (``?project_id=``).
LIMITS_ADMIN_FILTER: Final = APIVersion(3, 39)
#: The ``revert`` volume action.
VOLUME_REVERT: Final = APIVersion(3, 40)
#: ``GET /volumes/summary`` (3.12) and its ``metadata`` (3.36).
VOLUME_SUMMARY: Final = APIVersion(3, 12)
VOLUME_SUMMARY_METADATA: Final = APIVersion(3, 36)
#: ``os-extend`` of an ``in-use`` volume (3.42).
EXTEND_IN_USE_VOLUME: Final = APIVersion(3, 42)
#: Snapshots show ``user_id``.
SNAPSHOT_LIST_USER_ID: Final = APIVersion(3, 41)
#: Backups show and accept ``metadata``.
BACKUP_METADATA: Final = APIVersion(3, 43)
#: The ``os-complete`` attachment action.
NEW_ATTACH_COMPLETION: Final = APIVersion(3, 44)
#: ``with_count=true`` adds ``count`` to list bodies.
SUPPORT_COUNT_INFO: Final = APIVersion(3, 45)
#: Volume create accepts ``backup_id``.
VOLUME_CREATE_FROM_BACKUP: Final = APIVersion(3, 47)
#: Volumes show ``shared_targets`` and ``service_uuid``.
VOLUME_SHARED_TARGETS_AND_SERVICE_FIELDS: Final = APIVersion(3, 48)
#: Volume services show ``backend_state``.
BACKEND_STATE_REPORT: Final = APIVersion(3, 49)
#: Backup create accepts ``availability_zone``.
BACKUP_AZ: Final = APIVersion(3, 51)
#: Volume create and update refuse unknown keys; update needs at least one key.
SUPPORT_VOLUME_SCHEMA_CHANGES: Final = APIVersion(3, 53)
#: Attachment create accepts ``mode`` (``rw``/``ro``).
ATTACHMENT_CREATE_MODE_ARG: Final = APIVersion(3, 54)
#: Backups show ``user_id`` (admins).
BACKUP_PROJECT_USER_ID: Final = APIVersion(3, 56)
#: ``created_at`` / ``updated_at`` volume list filters (``gt:...,lt:...``).
VOLUME_TIME_COMPARISON_FILTER: Final = APIVersion(3, 60)
#: Volumes show ``cluster_name`` (admins).
VOLUME_CLUSTER_NAME: Final = APIVersion(3, 61)
#: Volumes show ``volume_type_id``.
VOLUME_TYPE_ID_IN_VOLUME_DETAIL: Final = APIVersion(3, 63)
#: Volumes and backups show ``encryption_key_id`` (when they have one).
ENCRYPTION_KEY_ID_IN_DETAILS: Final = APIVersion(3, 64)
#: Volumes and snapshots show ``consumes_quota``; it is a list filter.
USE_QUOTA: Final = APIVersion(3, 65)
#: Snapshots of in-use volumes need no ``force``; ``force=false`` is refused.
SNAPSHOT_IN_USE: Final = APIVersion(3, 66)
#: ``shared_targets`` may be null.
SHARED_TARGETS_TRISTATE: Final = APIVersion(3, 69)


def require_version(version: APIVersion, minimum: APIVersion) -> None:
    """Refuse a call that exists only from ``minimum`` on, as Cinder does.

    Raises:
        NotFound: ``version`` is older than ``minimum`` (404: at that version the
            resource or action does not exist).
    """
    if version < minimum:
        raise NotFound(
            f"The resource could not be found: it needs microversion {minimum} or later"
            f" (the request asked for {version})."
        )
