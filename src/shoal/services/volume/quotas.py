"""Block-storage quotas per project, as Cinder's ``DbQuotaDriver`` counts them.

Resources (Cinder's names): ``volumes``, ``gigabytes``, ``snapshots``, ``backups``,
``backup_gigabytes``, ``per_volume_gigabytes``, and for each volume type ``T``
``volumes_T``, ``gigabytes_T``, ``snapshots_T``. A limit of -1 is unlimited. Defaults come
from ``cinder.conf`` (``quota_volumes`` = 10, ``quota_snapshots`` = 10, ``quota_gigabytes`` =
1000, ``quota_backups`` = 10, ``quota_backup_gigabytes`` = 1000, ``per_volume_size_limit`` =
-1), replaced by the ``default`` quota class's limits an admin set (``os-quota-class-sets``,
kept in ``volume_quota_classes``); an admin's ``os-quota-sets`` update stores a project's
own limit in ``volume_quotas``.

Usage is counted from the resources themselves (rows with ``use_quota``), never kept in a
separate counter that a crash could leave wrong: snapshots count their ``volume_size``
against ``gigabytes`` as in Cinder (``no_snapshot_gb_quota`` = False). A check and the insert
of the resource it admits run in one transaction holding the project's lock row
(:func:`lock_project`), so two requests cannot both take the last unit.

Over quota raises :class:`QuotaExceeded` (413, ``Retry-After: 0``; Cinder's body key
``overLimit``) with Cinder's message for the resource.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy import column, func, select, table
from sqlalchemy.orm import Session

from shoal import errors
from shoal.services.volume._group_models import Group
from shoal.services.volume._qos_models import QuotaClass
from shoal.services.volume.models import ProjectLock, Quota, Snapshot, Volume, VolumeType

__all__ = [
    "BASE_RESOURCES",
    "DEFAULT_QUOTA_CLASS",
    "TYPE_RESOURCES",
    "QuotaDefaults",
    "QuotaExceeded",
    "QuotaUsage",
    "backup_usage",
    "check_snapshot",
    "check_type_move",
    "check_volume",
    "class_limits",
    "limits_for",
    "lock_project",
    "usage_for",
]

#: Resources every project has (``os-quota-sets`` shows them all).
BASE_RESOURCES: Final = (
    "volumes", "gigabytes", "snapshots", "backups", "backup_gigabytes",
    "per_volume_gigabytes", "groups",
)
#: Prefixes of the per-volume-type resources (``volumes_<type name>``...).
TYPE_RESOURCES: Final = ("volumes", "gigabytes", "snapshots")
UNLIMITED: Final = -1
#: The quota class whose limits replace the configured defaults of every project.
DEFAULT_QUOTA_CLASS: Final = "default"


class QuotaExceeded(errors.ShoalError):
    """A request would take a project past one of its limits (Cinder's ``QuotaError``)."""

    errno = errno.EDQUOT
    http_status = 413
    safe = True
    headers: Mapping[str, str] = {"Retry-After": "0"}


@dataclass(frozen=True)
class QuotaDefaults:
    """The configured default limits (``cinder.conf [DEFAULT] quota_*``); -1: unlimited."""

    volumes: int = 10
    snapshots: int = 10
    gigabytes: int = 1000
    backups: int = 10
    backup_gigabytes: int = 1000
    per_volume_gigabytes: int = -1
    groups: int = 10

    def limit(self, resource: str) -> int:
        """The default of ``resource``; per-type resources default to unlimited (as Cinder)."""
        if resource in BASE_RESOURCES:
            return int(getattr(self, resource))
        return UNLIMITED


@dataclass(frozen=True)
class QuotaUsage:
    """What a project holds now: counts and GiB of the resources that use quota.

    ``by_type`` maps a volume type name to its ``(volumes, gigabytes, snapshots)``.
    """

    volumes: int
    gigabytes: int
    snapshots: int
    backups: int
    backup_gigabytes: int
    by_type: Mapping[str, tuple[int, int, int]]
    groups: int = 0

    def in_use(self, resource: str) -> int:
        """The usage of ``resource`` (0 for ``per_volume_gigabytes``, a limit, not a pool)."""
        if resource in ("volumes", "gigabytes", "snapshots", "backups", "backup_gigabytes",
                        "groups"):
            return int(getattr(self, resource))
        for index, prefix in enumerate(TYPE_RESOURCES):
            if resource.startswith(prefix + "_"):
                return self.by_type.get(resource[len(prefix) + 1:], (0, 0, 0))[index]
        return 0


def lock_project(session: Session, project_id: str) -> None:
    """Hold ``project_id``'s lock row until the transaction ends (made on first use).

    On PostgreSQL this is a row lock (``SELECT ... FOR UPDATE``); SQLite transactions that
    write already run one at a time (``BEGIN IMMEDIATE``).
    """
    found = session.execute(
        select(ProjectLock).where(ProjectLock.project_id == project_id).with_for_update()
    ).scalar_one_or_none()
    if found is None:
        session.add(ProjectLock(project_id=project_id))
        session.flush()


def class_limits(session: Session, defaults: QuotaDefaults, type_names: Iterable[str] = (),
                 class_name: str = DEFAULT_QUOTA_CLASS) -> dict[str, int]:
    """Every limit of the quota class ``class_name``: its own where set, else the
    ``default`` class's, else the configured default (Cinder's ``get_class_quotas``).

    Per-type resources are listed for each of ``type_names``; a class's limit of a
    resource not listed is left out.
    """
    resources = list(BASE_RESOURCES)
    resources += [f"{prefix}_{name}" for name in type_names for prefix in TYPE_RESOURCES]
    limits = {resource: defaults.limit(resource) for resource in resources}
    for name in dict.fromkeys((DEFAULT_QUOTA_CLASS, class_name)):
        rows = session.execute(select(QuotaClass).where(QuotaClass.class_name == name))
        for row in rows.scalars():
            if row.resource in limits:
                limits[row.resource] = row.hard_limit
    return limits


def limits_for(session: Session, project_id: str, defaults: QuotaDefaults,
               type_names: Iterable[str] = ()) -> dict[str, int]:
    """Every limit of ``project_id``: the project's own where set, else the ``default``
    quota class's (:func:`class_limits`).

    Per-type resources are listed for each of ``type_names``.
    """
    limits = class_limits(session, defaults, type_names)
    rows = session.execute(select(Quota).where(Quota.project_id == project_id)).scalars()
    for row in rows:
        limits[row.resource] = row.hard_limit
    return limits


def usage_for(session: Session, project_id: str) -> QuotaUsage:
    """Count ``project_id``'s volumes and snapshots that use quota, its groups and its
    backups."""
    volume_rows = session.execute(
        select(VolumeType.name, func.count(Volume.id), func.coalesce(func.sum(Volume.size), 0))
        .select_from(Volume).outerjoin(VolumeType, Volume.volume_type_id == VolumeType.id)
        .where(Volume.project_id == project_id, Volume.use_quota.is_(True))
        .group_by(VolumeType.name)
    ).all()
    snapshot_rows = session.execute(
        select(VolumeType.name, func.count(Snapshot.id),
               func.coalesce(func.sum(Snapshot.volume_size), 0))
        .select_from(Snapshot).join(Volume, Snapshot.volume_id == Volume.id)
        .outerjoin(VolumeType, Volume.volume_type_id == VolumeType.id)
        .where(Snapshot.project_id == project_id, Snapshot.use_quota.is_(True))
        .group_by(VolumeType.name)
    ).all()
    by_type: dict[str, list[int]] = {}
    volumes = gigabytes = snapshots = 0
    for name, count, size in volume_rows:
        volumes += count
        gigabytes += int(size)
        if name is not None:
            entry = by_type.setdefault(name, [0, 0, 0])
            entry[0] += count
            entry[1] += int(size)
    for name, count, size in snapshot_rows:
        snapshots += count
        gigabytes += int(size)
        if name is not None:
            entry = by_type.setdefault(name, [0, 0, 0])
            entry[1] += int(size)
            entry[2] += count
    groups = session.execute(select(func.count(Group.id)).where(
        Group.project_id == project_id)).scalar_one()
    backups, backup_gigabytes = backup_usage(session, project_id)
    return QuotaUsage(volumes=volumes, gigabytes=gigabytes, snapshots=snapshots,
                      backups=backups, backup_gigabytes=backup_gigabytes,
                      by_type={k: (v[0], v[1], v[2]) for k, v in by_type.items()},
                      groups=groups)


#: The backup service's table (``shoal.services.backup``), read by name: volumes never import
#: the backup service, which is built on them.
_BACKUPS = table("backup_backups", column("project_id"), column("size"))


def backup_usage(session: Session, project_id: str) -> tuple[int, int]:
    """``project_id``'s backups: how many, and their GiB (every row counts, as in Cinder)."""
    count, size = session.execute(
        select(func.count(), func.coalesce(func.sum(_BACKUPS.c.size), 0))
        .select_from(_BACKUPS).where(_BACKUPS.c.project_id == project_id)).one()
    return int(count), int(size)


def _over(limit: int, used: int, wanted: int) -> bool:
    return limit != UNLIMITED and used + wanted > limit


def _check_gigabytes(limits: Mapping[str, int], usage: QuotaUsage, resource: str,
                     size_gib: int) -> None:
    limit = limits.get(resource, UNLIMITED)
    used = usage.in_use(resource)
    if _over(limit, used, size_gib):
        raise QuotaExceeded(
            f"Requested volume or snapshot exceeds allowed "
            f"{resource} quota. Requested {size_gib}G, quota is {limit}G and {used}G has been "
            "consumed.")


def check_volume(session: Session, project_id: str, defaults: QuotaDefaults, size_gib: int,
                 type_name: str | None) -> None:
    """Refuse one more volume of ``size_gib`` GiB (of type ``type_name``) if over quota.

    Call it with the project locked (:func:`lock_project`), in the transaction that then
    inserts the volume.

    Raises:
        QuotaExceeded: ``per_volume_gigabytes``, ``gigabytes`` (and the type's), or
            ``volumes`` (and the type's) would be exceeded; the message is Cinder's.
    """
    types = () if type_name is None else (type_name,)
    limits = limits_for(session, project_id, defaults, types)
    per_volume = limits["per_volume_gigabytes"]
    if per_volume != UNLIMITED and size_gib > per_volume:
        raise QuotaExceeded(f"Requested volume size {size_gib}G is "
                            f"larger than maximum allowed limit {per_volume}G.")
    usage = usage_for(session, project_id)
    for resource in ("gigabytes", *(f"gigabytes_{t}" for t in types)):
        _check_gigabytes(limits, usage, resource, size_gib)
    for resource in ("volumes", *(f"volumes_{t}" for t in types)):
        if _over(limits[resource], usage.in_use(resource), 1):
            raise QuotaExceeded(
                f"Maximum number of volumes allowed ({limits[resource]}) "
                f"exceeded for quota '{resource}'.")


def check_snapshot(session: Session, project_id: str, defaults: QuotaDefaults, size_gib: int,
                   type_name: str | None) -> None:
    """Refuse one more snapshot of a ``size_gib`` GiB volume if over quota (see above).

    Raises:
        QuotaExceeded: ``gigabytes`` (and the type's) or ``snapshots`` (and the type's).
    """
    types = () if type_name is None else (type_name,)
    limits = limits_for(session, project_id, defaults, types)
    usage = usage_for(session, project_id)
    for resource in ("gigabytes", *(f"gigabytes_{t}" for t in types)):
        _check_gigabytes(limits, usage, resource, size_gib)
    for resource in ("snapshots", *(f"snapshots_{t}" for t in types)):
        if _over(limits[resource], usage.in_use(resource), 1):
            raise QuotaExceeded(
                f"Maximum number of snapshots allowed "
                f"({limits[resource]}) exceeded")


def check_type_move(session: Session, project_id: str, defaults: QuotaDefaults, type_name: str,
                    size_gib: int, snapshot_gib: int, snapshot_count: int) -> None:
    """Refuse moving a volume of ``size_gib`` GiB with ``snapshot_count`` snapshots
    (``snapshot_gib`` GiB together) to type ``type_name`` (a retype) if over that type's
    limits. Only the per-type resources are checked, as in Cinder: the project's totals do
    not change. The old type's usage drops by itself (usage is counted from the rows).

    Raises:
        QuotaExceeded: ``gigabytes_T`` (the volume's and its snapshots' GiB), ``volumes_T``
            or ``snapshots_T`` would be exceeded.
    """
    limits = limits_for(session, project_id, defaults, (type_name,))
    usage = usage_for(session, project_id)
    _check_gigabytes(limits, usage, f"gigabytes_{type_name}", size_gib + snapshot_gib)
    resource = f"volumes_{type_name}"
    if _over(limits[resource], usage.in_use(resource), 1):
        raise QuotaExceeded(f"Maximum number of volumes allowed ({limits[resource]}) "
                            f"exceeded for quota '{resource}'.")
    resource = f"snapshots_{type_name}"
    if _over(limits[resource], usage.in_use(resource), snapshot_count):
        raise QuotaExceeded(f"Maximum number of snapshots allowed ({limits[resource]}) "
                            "exceeded")
