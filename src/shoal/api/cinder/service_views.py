"""What the volume service says about itself: volume types, ``os-services``, limits
and availability zones, rendered as Cinder v3's bodies.

- Volume types (``/types``): ``id``, ``name``, ``is_public``, ``description``;
  ``extra_specs`` (admins: all; others: only :data:`USER_VISIBLE_EXTRA_SPECS`);
  ``qos_specs_id`` for admins; ``os-volume-type-access:is_public``. Create and update
  replies are Cinder's older view: every extra spec, no ``qos_specs_id``, and the
  access attribute only on create.
- ``os-services``: ``binary``, ``host``, ``zone``, ``status`` (enabled/disabled),
  ``state`` (up when the last heartbeat is at most ``service_down_time`` old),
  ``updated_at``, ``disabled_reason``; volume services add ``replication_status``,
  ``active_backend_id``, ``frozen``; ``cluster`` from 3.7; ``backend_state`` of volume
  services from 3.49 (``down`` when the backend reported nothing).
- ``/limits``: the five absolute limits and their usage; ``rate`` is always empty.
- ``/os-availability-zone``: ``zoneName`` and ``zoneState.available``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from shoal.api.cinder import microversions as mv
from shoal.api.cinder.options import USER_VISIBLE_EXTRA_SPECS, VolumeApiOptions
from shoal.api.cinder.viewcontext import ViewContext, cinder_time
from shoal.api.cinder.views import collection_links
from shoal.services.volume.records import ServiceRecord, VolumeTypeRecord, as_utc

__all__ = [
    "LIMIT_NAMES",
    "USAGE_NAMES",
    "VOLUME_BINARY",
    "availability_zones_body",
    "limits_body",
    "service_view",
    "services_body",
    "volume_type_body",
    "volume_type_view",
    "volume_types_body",
]

#: The binary name of volume services.
VOLUME_BINARY: Final = "cinder-volume"
#: Quota resource → the absolute limit's name.
LIMIT_NAMES: Final = {
    "gigabytes": "maxTotalVolumeGigabytes",
    "backup_gigabytes": "maxTotalBackupGigabytes",
    "volumes": "maxTotalVolumes",
    "snapshots": "maxTotalSnapshots",
    "backups": "maxTotalBackups",
}
#: Quota resource → the name of its usage.
USAGE_NAMES: Final = {
    "volumes": "totalVolumesUsed",
    "gigabytes": "totalGigabytesUsed",
    "snapshots": "totalSnapshotsUsed",
    "backups": "totalBackupsUsed",
    "backup_gigabytes": "totalBackupGigabytesUsed",
}
_TYPE_PURPOSES: Final = ("show", "create", "update")


# --- volume types ----------------------------------------------------------------------


def volume_type_view(
    volume_type: VolumeTypeRecord, ctx: ViewContext, *, purpose: str = "show"
) -> dict[str, Any]:
    """One volume type.

    Args:
        volume_type: the type.
        ctx: who the body is for.
        purpose: ``show`` (show and lists), ``create`` or ``update`` (their replies).

    Raises:
        ValueError: ``purpose`` is none of those (a programming error).
    """
    if purpose not in _TYPE_PURPOSES:
        raise ValueError(f"purpose must be one of {_TYPE_PURPOSES}, got {purpose!r}")
    view: dict[str, Any] = {
        "id": volume_type.id,
        "name": volume_type.name,
        "is_public": volume_type.is_public,
        "description": volume_type.description,
    }
    specs = dict(volume_type.extra_specs)
    if purpose == "show" and not ctx.is_admin:
        specs = {k: v for k, v in specs.items() if k in USER_VISIBLE_EXTRA_SPECS}
    view["extra_specs"] = specs
    if purpose == "show" and ctx.is_admin:
        view["qos_specs_id"] = volume_type.qos_specs_id
    if purpose != "update":
        view["os-volume-type-access:is_public"] = volume_type.is_public
    return view


def volume_type_body(
    volume_type: VolumeTypeRecord, ctx: ViewContext, *, purpose: str = "show"
) -> dict[str, Any]:
    """``{"volume_type": ...}`` (see :func:`volume_type_view`)."""
    return {"volume_type": volume_type_view(volume_type, ctx, purpose=purpose)}


def volume_types_body(
    volume_types: Sequence[VolumeTypeRecord],
    ctx: ViewContext,
    *,
    params: Sequence[tuple[str, str]] = (),
    limit: int,
) -> dict[str, Any]:
    """The body of ``GET /types``: the page and, when full, ``volume_type_links``."""
    body: dict[str, Any] = {
        "volume_types": [volume_type_view(t, ctx) for t in volume_types],
    }
    links = collection_links([t.id for t in volume_types], ctx, path="types",
                             params=params, limit=limit)
    if links:
        body["volume_type_links"] = links
    return body


# --- services --------------------------------------------------------------------------


def _last_seen(service: ServiceRecord, now: datetime) -> tuple[datetime | None, float]:
    """``(updated_at shown, seconds since the heartbeat or creation)``, by Cinder's
    rule: a later enable/disable (``modified_at``) is shown when it is more recent."""
    seen = service.updated_at or service.created_at
    age = abs((as_utc(now) - seen).total_seconds())
    shown = service.updated_at
    if service.modified_at is not None:
        modified_age = abs((as_utc(now) - service.modified_at).total_seconds())
        if age >= modified_age:
            shown = service.modified_at
    return shown, age


def service_view(
    service: ServiceRecord, ctx: ViewContext, *, now: datetime, options: VolumeApiOptions
) -> dict[str, Any]:
    """One entry of ``GET /os-services`` (admins only; the caller checks).

    ``now`` is the current time (aware or UTC); ``options.service_down_time`` seconds
    without a heartbeat make a service ``down``.
    """
    shown, age = _last_seen(service, now)
    view: dict[str, Any] = {
        "binary": service.binary,
        "host": service.host,
        "zone": service.availability_zone,
        "status": "disabled" if service.disabled else "enabled",
        "state": "up" if age <= options.service_down_time else "down",
        "updated_at": cinder_time(shown),
        "disabled_reason": service.disabled_reason,
    }
    if ctx.at_least(mv.CLUSTER_SUPPORT):
        view["cluster"] = service.cluster_name
    if service.binary == VOLUME_BINARY:
        view["replication_status"] = service.replication_status
        view["active_backend_id"] = service.active_backend_id
        view["frozen"] = service.frozen
        if ctx.at_least(mv.BACKEND_STATE_REPORT):
            view["backend_state"] = service.backend_state or "down"
    return view


def services_body(
    services: Iterable[ServiceRecord],
    ctx: ViewContext,
    *,
    now: datetime,
    options: VolumeApiOptions,
) -> dict[str, Any]:
    """The body of ``GET /os-services``."""
    return {"services": [service_view(s, ctx, now=now, options=options) for s in services]}


# --- limits and zones ------------------------------------------------------------------


def limits_body(limits: Mapping[str, int], in_use: Mapping[str, int]) -> dict[str, Any]:
    """The body of ``GET /limits`` for one project.

    Args:
        limits: quota resource (``volumes``, ``gigabytes``, ``snapshots``, ``backups``,
            ``backup_gigabytes``) → its limit; -1 is unlimited, a missing one too.
        in_use: quota resource → what the project uses (GiB for the gigabytes ones);
            missing ones are 0.
    """
    absolute: dict[str, int] = {}
    for resource, name in LIMIT_NAMES.items():
        absolute[name] = int(limits.get(resource, -1))
    for resource, name in USAGE_NAMES.items():
        absolute[name] = int(in_use.get(resource, 0))
    return {"limits": {"rate": [], "absolute": absolute}}


def availability_zones_body(zones: Iterable[tuple[str, bool]]) -> dict[str, Any]:
    """The body of ``GET /os-availability-zone``: ``(name, available)`` pairs."""
    return {"availabilityZoneInfo": [
        {"zoneName": name, "zoneState": {"available": available}} for name, available in zones
    ]}
