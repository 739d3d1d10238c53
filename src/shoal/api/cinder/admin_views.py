"""Bodies of Cinder's admin and informational APIs: ``os-services`` updates,
``capabilities``, ``scheduler-stats/get_pools``, ``os-hosts``, ``extensions``,
``os-quota-sets`` / ``os-quota-class-sets``, type access and ``messages``.

- Service updates: ``host``, ``service`` and ``binary`` (both the binary), ``disabled``,
  ``status``; ``disabled_reason`` after enable (null) and disable-log-reason.
- Capabilities: the backend's stats as Cinder's capabilities view shows them, with the
  standard ``properties`` the driver supports (RBD: thin provisioning) and the namespace
  ``OS::Storage::Capabilities::<host>``.
- Pools: ``name`` (``HOST@BACKEND#POOL``); with ``detail`` the ``capabilities``: the
  stats plus ``pool_name``, ``allocated_capacity_gb`` (GiB of volumes placed there) and
  ``timestamp``.
- ``os-hosts``: one entry per enabled service (Cinder lists no disabled one); a host's
  usage as strings, the ``(total)`` entry first.
- Quota sets: resource → limit, or with usage → ``{limit, in_use, reserved}``
  (``reserved`` is always 0: shoal reserves nothing); ``id`` is the project (not in an
  update's reply).
- Messages (3.3+): ``guaranteed_until`` is ``expires_at``; ``resource_type`` and
  ``resource_uuid`` are left out when the message has none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from shoal.api.cinder.options import VolumeApiOptions
from shoal.api.cinder.viewcontext import ViewContext, cinder_time
from shoal.services.volume._admin import HostUsage, PoolStats
from shoal.services.volume._messages import MessageRecord
from shoal.services.volume._quota_sets import QuotaSet
from shoal.services.volume.records import ServiceRecord, as_utc

__all__ = [
    "BACKUP_EXTENSIONS",
    "EXTENSIONS",
    "capabilities_body",
    "extensions_body",
    "host_body",
    "hosts_body",
    "message_body",
    "messages_body",
    "pools_body",
    "quota_class_body",
    "quota_set_body",
    "service_update_body",
    "type_access_body",
]

#: The Cinder extensions shoal serves (at least in part): ``(alias, name, description)``.
#: Left out as not served: consistency groups and cgsnapshots, manage/unmanage, snapshot
#: actions, scheduler hints; backups are :data:`BACKUP_EXTENSIONS`.
EXTENSIONS: Final = (
    ("os-admin-actions", "AdminActions", "Reset status, force delete, force detach."),
    ("os-availability-zone", "AvailabilityZones", "The availability zones."),
    ("capabilities", "Capabilities", "A backend's capabilities."),
    ("os-extended-services", "ExtendedServices", "Services with a disabled reason."),
    ("os-extended-snapshot-attributes", "ExtendedSnapshotAttributes",
     "Project and progress of snapshots."),
    ("os-hosts", "Hosts", "The volume hosts and their usage."),
    ("qos-specs", "Qos_specs_manage", "QoS specs and their volume types."),
    ("os-quota-class-sets", "QuotaClasses", "Quota classes (the default one)."),
    ("os-quota-sets", "Quotas", "Projects' quotas."),
    ("scheduler-stats", "SchedulerStats", "The scheduler's pools and their capacity."),
    ("os-services", "Services", "The block storage services."),
    ("os-types-extra-specs", "TypesExtraSpecs", "Volume type extra specs."),
    ("os-types-manage", "TypesManage", "Creating, updating and deleting volume types."),
    ("os-used-limits", "UsedLimits", "Usage in the absolute limits."),
    ("os-volume-actions", "VolumeActions", "Attach, detach, extend and other volume "
     "actions."),
    ("os-vol-host-attr", "VolumeHostAttribute", "The host of a volume."),
    ("os-vol-image-meta", "VolumeImageMetadata", "The image metadata of a volume."),
    ("os-vol-mig-status-attr", "VolumeMigStatusAttribute", "The migration status of a "
     "volume."),
    ("os-vol-tenant-attr", "VolumeTenantAttribute", "The project of a volume."),
    ("os-volume-transfer", "VolumeTransfer", "Volume transfers between projects."),
    ("os-volume-type-access", "VolumeTypeAccess", "Private volume types and their "
     "projects."),
    ("encryption", "VolumeTypeEncryption", "Encryption of volume types."),
)
#: The extensions listed only when the deployment serves backups (Cinder's alias and name).
BACKUP_EXTENSIONS: Final = (
    ("backups", "Backups", "Volume backups: create, restore, export and import."),
)
#: ``updated`` of every extension (Cinder's own dates differ per extension; no client
#: reads them).
_EXTENSIONS_UPDATED: Final = "2013-01-01T00:00:00+00:00"
_NAMESPACE_ROOT: Final = "https://docs.openstack.org/volume/ext"
#: The standard capability properties, by the stats flag that enables them.
_STANDARD_PROPERTIES: Final = {
    "thin_provisioning_support": ("thin_provisioning", "Thin Provisioning",
                                  "Volumes are allocated as they are written."),
    "QoS_support": ("qos", "QoS", "The backend enforces QoS specs."),
}


def service_update_body(service: ServiceRecord, action: str) -> dict[str, Any]:
    """The reply of ``PUT os-services/enable|disable|disable-log-reason``."""
    body: dict[str, Any] = {
        "host": service.host,
        "service": service.binary,
        "disabled": service.disabled,
        "binary": service.binary,
        "status": "disabled" if service.disabled else "enabled",
    }
    if action in ("enable", "disable-log-reason"):
        body["disabled_reason"] = service.disabled_reason
    return body


def capabilities_body(host: str, stats: Mapping[str, Any]) -> dict[str, Any]:
    """The reply of ``GET capabilities/{host}`` from the backend's ``stats``."""
    properties = {}
    for flag, (name, title, description) in _STANDARD_PROPERTIES.items():
        if stats.get(flag):
            properties[name] = {"title": title, "description": description,
                                "type": "boolean"}
    return {
        "namespace": f"OS::Storage::Capabilities::{host}",
        "vendor_name": stats.get("vendor_name"),
        "volume_backend_name": stats.get("volume_backend_name"),
        "pool_name": None,
        "driver_version": stats.get("driver_version"),
        "storage_protocol": stats.get("storage_protocol"),
        "display_name": None,
        "description": None,
        "visibility": None,
        "replication_targets": [],
        "properties": properties,
    }


def pools_body(pools: Iterable[PoolStats], *, detail: bool) -> dict[str, Any]:
    """The reply of ``GET scheduler-stats/get_pools`` (``detail``: with capabilities)."""
    found = []
    for pool in pools:
        entry: dict[str, Any] = {"name": pool.name}
        if detail:
            capabilities = dict(pool.stats)
            capabilities["pool_name"] = pool.name.partition("#")[2]
            capabilities["allocated_capacity_gb"] = pool.allocated_gib
            capabilities["timestamp"] = cinder_time(pool.timestamp)
            entry["capabilities"] = capabilities
        found.append(entry)
    return {"pools": found}


def hosts_body(services: Iterable[ServiceRecord], *, now: datetime,
               options: VolumeApiOptions, zone: str | None = None,
               service: str | None = None) -> dict[str, Any]:
    """The reply of ``GET os-hosts``: the enabled services (of ``zone``, of the binary
    ``service``), ``available`` when heard from within ``service_down_time`` seconds."""
    hosts = []
    for each in services:
        if each.disabled or (zone and each.availability_zone != zone):
            continue
        if service is not None and each.binary != service:
            continue
        seen = each.updated_at or each.created_at
        alive = abs((as_utc(now) - seen).total_seconds()) <= options.service_down_time
        hosts.append({
            "host_name": each.host,
            "service": each.binary,
            "zone": each.availability_zone,
            "service-status": "available" if alive else "unavailable",
            "service-state": "enabled",
            "last-update": cinder_time(each.updated_at),
        })
    return {"hosts": hosts}


def host_body(host: str, usages: Sequence[HostUsage]) -> dict[str, Any]:
    """The reply of ``GET os-hosts/{host}``: one ``resource`` per usage, as strings."""
    return {"host": [{"resource": {
        "host": host,
        "project": usage.project,
        "volume_count": str(usage.volume_count),
        "total_volume_gb": str(usage.total_volume_gb),
        "snapshot_count": str(usage.snapshot_count),
        "total_snapshot_gb": str(usage.total_snapshot_gb),
    }} for usage in usages]}


def extensions_body(ctx: ViewContext, *, backups: bool = False) -> dict[str, Any]:
    """The reply of ``GET extensions``: :data:`EXTENSIONS`, and :data:`BACKUP_EXTENSIONS`
    when ``backups`` (the deployment serves backups)."""
    del ctx  # one list for every caller
    served = (*EXTENSIONS, *BACKUP_EXTENSIONS) if backups else EXTENSIONS
    return {"extensions": [
        {"alias": alias, "name": name, "description": description,
         "namespace": f"{_NAMESPACE_ROOT}/{alias}/api/v1.1",
         "updated": _EXTENSIONS_UPDATED, "links": []}
        for alias, name, description in served
    ]}


def _quota_values(quota_set: QuotaSet) -> dict[str, Any]:
    if quota_set.in_use is None:
        return dict(quota_set.limits)
    return {resource: {"limit": limit, "in_use": quota_set.in_use.get(resource, 0),
                       "reserved": 0}
            for resource, limit in quota_set.limits.items()}


def quota_set_body(quota_set: QuotaSet, *, with_id: bool = True) -> dict[str, Any]:
    """``{"quota_set": {...}}`` of ``os-quota-sets`` (``with_id`` False: an update's)."""
    values = _quota_values(quota_set)
    if with_id:
        values = {"id": quota_set.project_id, **values}
    return {"quota_set": values}


def quota_class_body(quota_set: QuotaSet, *, with_id: bool = True) -> dict[str, Any]:
    """``{"quota_class_set": {...}}`` of ``os-quota-class-sets/{class}`` (``with_id``
    False: an update's, without the class name)."""
    limits = dict(quota_set.limits)
    return {"quota_class_set": {"id": quota_set.project_id, **limits} if with_id else limits}


def type_access_body(type_id: str, projects: Iterable[str]) -> dict[str, Any]:
    """The reply of ``GET types/{id}/os-volume-type-access``."""
    return {"volume_type_access": [{"volume_type_id": type_id, "project_id": project}
                                   for project in projects]}


def _message_view(message: MessageRecord, ctx: ViewContext) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": message.id,
        "event_id": message.event_id,
        "user_message": message.user_message,
        "message_level": message.message_level,
        "created_at": cinder_time(message.created_at),
        "request_id": message.request_id or "",
        "links": ctx.links("messages", message.id),
    }
    if message.expires_at is not None:
        view["guaranteed_until"] = cinder_time(message.expires_at)
    if message.resource_type is not None:
        view["resource_type"] = message.resource_type
    if message.resource_uuid is not None:
        view["resource_uuid"] = message.resource_uuid
    return view


def message_body(message: MessageRecord, ctx: ViewContext) -> dict[str, Any]:
    """``{"message": {...}}``."""
    return {"message": _message_view(message, ctx)}


def messages_body(messages: Iterable[MessageRecord], ctx: ViewContext) -> dict[str, Any]:
    """``{"messages": [...]}``."""
    return {"messages": [_message_view(m, ctx) for m in messages]}
