"""The volume service's admin views of itself: ``os-services``, ``os-hosts``,
``capabilities`` and ``scheduler-stats`` (Cinder's semantics, admins only).

The services are the parts of this running deployment, not rows that heartbeat: one
``cinder-volume`` per enabled backend (host ``HOST@BACKEND``) and one ``cinder-scheduler``
(host ``HOST``), and ``cinder-backup`` (host ``HOST``) when the deployment serves backups
(``backup_host``; a listed backup service makes clients such as Rally's environment check
use backups). All answer in process, so their heartbeat (``updated_at``) is the time of
the request.

An admin's enable/disable/freeze/thaw is kept in ``volume_service_states``
(:class:`~.models.ServiceState`) and shown across restarts; a freeze also disables the
service (reason ``frozen``) and a thaw enables it, as Cinder's volume manager does. The
volume service acts on them: a disabled backend is not scheduled, a frozen one refuses
delete, extend and snapshots of its volumes (:mod:`._service`).

Each backend's capabilities and capacity come from its driver's ``get_volume_stats()``
(one cluster round trip per call; ``backend_state`` ``down`` when the cluster cannot be
asked).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shoal import errors
from shoal.db import Database
from shoal.services.volume import policy
from shoal.services.volume._service import Backend, VolumeOptions
from shoal.services.volume.models import ServiceState, Snapshot, Volume
from shoal.services.volume.policy import CallerLike
from shoal.services.volume.records import ServiceRecord

__all__ = [
    "SCHEDULER_BINARY",
    "VOLUME_BINARY",
    "HostUsage",
    "PoolStats",
    "StatsSource",
    "VolumeAdmin",
    "host_matches",
]

VOLUME_BINARY: Final = "cinder-volume"
SCHEDULER_BINARY: Final = "cinder-scheduler"
BACKUP_BINARY: Final = "cinder-backup"
#: Cinder's bound on ``disabled_reason`` (characters).
DISABLED_REASON_CHARS_MAX: Final = 255
#: The ``disabled_reason`` of a frozen volume service (Cinder's volume manager's).
FROZEN_REASON: Final = "frozen"


class StatsSource(Protocol):
    """What the admin views read of a backend's driver."""

    def get_volume_stats(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class PoolStats:
    """One scheduler pool (RBD: one per backend, named by ``volume_backend_name``).

    ``name`` is ``HOST@BACKEND#POOL``; ``stats`` the driver's; ``allocated_gib`` the GiB of
    the volumes placed on it; ``timestamp`` when the stats were read.
    """

    name: str
    backend: Backend
    stats: Mapping[str, Any]
    allocated_gib: int
    timestamp: datetime


@dataclass(frozen=True)
class HostUsage:
    """What one project (``(total)`` for all) holds on a volume host (``os-hosts/{host}``);
    GiB for the sizes."""

    project: str
    volume_count: int
    total_volume_gb: int
    snapshot_count: int
    total_snapshot_gb: int


def host_matches(service_host: str, wanted: str) -> bool:
    """Cinder's host filter: ``wanted`` names the host itself or a more general level of it
    (``HOST`` matches ``HOST@BACKEND`` and ``HOST@BACKEND#POOL``; ``HOST@BACKEND`` matches
    ``HOST@BACKEND#POOL``)."""
    if service_host == wanted:
        return True
    if "#" in wanted:
        return False
    return service_host.startswith(wanted + "#") or (
        "@" not in wanted and service_host.startswith(wanted + "@"))


def _volume_host(backend: Backend) -> str:
    """``HOST@BACKEND`` of a backend (its ``host`` without the pool)."""
    return backend.host.partition("#")[0]


class VolumeAdmin:
    """``os-services``, ``os-hosts``, ``capabilities`` and pools of one deployment.

    ``drivers`` maps each backend's section (:attr:`Backend.section`) to its driver;
    ``backup_host`` is the cinder-backup service's host (None: backups are not served).
    """

    def __init__(self, db: Database, options: VolumeOptions,
                 drivers: Mapping[str, StatsSource], now: Callable[[], datetime],
                 backup_host: str | None = None) -> None:
        missing = [b.section for b in options.backends if b.section not in drivers]
        if missing:
            raise ValueError(f"no driver for the backends {missing}")
        self.db = db
        self.options = options
        self.drivers = dict(drivers)
        self.now = now
        self.backup_host = backup_host
        self.started_at = now()

    # --- services --------------------------------------------------------------------------
    def _services(self, session: Session, *, with_state: bool) -> list[ServiceRecord]:
        """Every service of the deployment with the admin's changes applied; the volume
        services' ``backend_state`` read from their drivers when ``with_state``."""
        now = self.now()
        stored = {(row.binary, row.host): row
                  for row in session.execute(select(ServiceState)).scalars()}
        zone = self.options.availability_zone
        found: list[ServiceRecord] = []
        scheduler_host = _volume_host(self.options.backends[0]).partition("@")[0]
        parts: list[tuple[str, str, str | None]] = [(SCHEDULER_BINARY, scheduler_host, None)]
        parts += [(VOLUME_BINARY, _volume_host(b), b.section) for b in self.options.backends]
        if self.backup_host is not None:
            parts.append((BACKUP_BINARY, self.backup_host, None))
        for binary, host, section in parts:
            row = stored.get((binary, host))
            state = None
            if section is not None and with_state:
                state = str(self.drivers[section].get_volume_stats().get("backend_state",
                                                                         "down"))
            found.append(ServiceRecord(
                binary=binary, host=host, availability_zone=zone, created_at=self.started_at,
                updated_at=now, modified_at=None if row is None else row.modified_at,
                disabled=row is not None and row.disabled,
                disabled_reason=None if row is None else row.disabled_reason,
                frozen=row is not None and row.frozen,
                backend_state=state if state in ("up", "down") else None))
        return found

    def list_services(self, caller: CallerLike, *, host: str | None = None,
                      binary: str | None = None, with_state: bool = True
                      ) -> list[ServiceRecord]:
        """The services (``GET os-services``), filtered by ``host`` (Cinder's host match:
        :func:`host_matches`) and ``binary`` (exact).

        Raises:
            PolicyNotAuthorized: the caller is not an admin.
        """
        policy.authorize(caller, "volume_extension:services:index")
        with self.db.session(readonly=True) as session:
            services = self._services(session, with_state=with_state)
        return [s for s in services
                if (host is None or host_matches(s.host, host))
                and (binary is None or s.binary == binary)]

    def set_disabled(self, caller: CallerLike, host: str, binary: str, *, disabled: bool,
                     reason: str | None = None) -> ServiceRecord:
        """Enable or disable one service (``PUT os-services/enable|disable|
        disable-log-reason``); enabling clears the reason.

        Raises:
            PolicyNotAuthorized: the caller is not an admin.
            NotFound: no service ``binary`` on exactly ``host``.
            InvalidArgument: ``reason`` is empty or longer than 255 characters.
        """
        policy.authorize(caller, "volume_extension:services:update")
        if reason is not None and not (0 < len(reason.strip()) <= DISABLED_REASON_CHARS_MAX):
            raise errors.InvalidArgument("Disabled reason contains invalid characters or is "
                                         "too long")
        with self.db.session() as session:
            known = {(s.binary, s.host) for s in self._services(session, with_state=False)}
            if (binary, host) not in known:
                raise errors.NotFound(f"Service {binary} on host {host} could not be found.")
            row = self._state_row(session, binary, host)
            row.disabled = disabled
            row.disabled_reason = reason if disabled else None
            session.flush()
            return next(s for s in self._services(session, with_state=False)
                        if (s.binary, s.host) == (binary, host))

    def set_frozen(self, caller: CallerLike, host: str, *, frozen: bool) -> None:
        """Freeze or thaw the volume services of ``host`` (``PUT os-services/freeze|thaw``;
        ``host`` matched as :func:`host_matches` does). As Cinder's volume manager does,
        freezing also disables the service (reason ``frozen``) and thawing enables it.

        Raises:
            PolicyNotAuthorized: the caller is not an admin.
            InvalidArgument: no volume service on that host, or none of them is thawed
                (freeze) or frozen (thaw) (Cinder's 400s).
        """
        policy.authorize(caller, "volume_extension:services:update")
        with self.db.session() as session:
            services = [s for s in self._services(session, with_state=False)
                        if s.binary == VOLUME_BINARY and host_matches(s.host, host)]
            if not services:
                raise errors.InvalidArgument(f"Invalid input received: No service found with "
                                             f"host={host}")
            changing = [s.host for s in services if s.frozen != frozen]
            if not changing:
                raise errors.InvalidArgument(
                    f"Invalid input received: No service could be changed: frozen in "
                    f"{[s.host for s in services]} must be {not frozen} to failover.")
            for each in changing:
                row = self._state_row(session, VOLUME_BINARY, each)
                row.frozen = frozen
                row.disabled = frozen
                row.disabled_reason = FROZEN_REASON if frozen else ""

    def _state_row(self, session: Session, binary: str, host: str) -> ServiceState:
        """The admin's row of a service (made on first change), stamped now."""
        row = session.execute(select(ServiceState).where(
            ServiceState.binary == binary, ServiceState.host == host)).scalar_one_or_none()
        if row is None:
            row = ServiceState(binary=binary, host=host, disabled=False, frozen=False,
                               modified_at=self.now())
            session.add(row)
        row.modified_at = self.now()
        return row

    # --- backends --------------------------------------------------------------------------
    def _backend(self, host: str) -> Backend:
        for backend in self.options.backends:
            if _volume_host(backend) == host:
                return backend
        raise errors.NotFound(f"Service {host} could not be found.")

    def capabilities(self, caller: CallerLike, host: str) -> tuple[Backend, dict[str, Any]]:
        """The backend on ``host`` (``HOST@BACKEND``) and its driver's stats.

        Raises:
            PolicyNotAuthorized: the caller is not an admin.
            NotFound: no volume service on exactly that host.
        """
        policy.authorize(caller, "volume_extension:capabilities")
        backend = self._backend(host)
        return backend, self.drivers[backend.section].get_volume_stats()

    def pools(self, caller: CallerLike) -> list[PoolStats]:
        """Every backend's pool with its stats (``GET scheduler-stats/get_pools``).

        Raises:
            PolicyNotAuthorized: the caller is not an admin.
        """
        policy.authorize(caller, "scheduler_extension:scheduler_stats:get_pools")
        with self.db.session(readonly=True) as session:
            allocated = {host: int(size) for host, size in session.execute(
                select(Volume.host, func.coalesce(func.sum(Volume.size), 0))
                .group_by(Volume.host)).all()}
        found = []
        for backend in self.options.backends:
            stats = self.drivers[backend.section].get_volume_stats()
            found.append(PoolStats(name=backend.host, backend=backend, stats=stats,
                                   allocated_gib=int(allocated.get(backend.host, 0)),
                                   timestamp=self.now()))
        return found

    # --- os-hosts --------------------------------------------------------------------------
    def hosts(self, caller: CallerLike) -> list[ServiceRecord]:
        """The services as ``os-hosts`` lists them (admins)."""
        policy.authorize(caller, "volume_extension:hosts")
        with self.db.session(readonly=True) as session:
            return self._services(session, with_state=False)

    def host_usage(self, caller: CallerLike, host: str) -> list[HostUsage]:
        """What the projects hold on the volume host ``host`` (``HOST@BACKEND``): the total
        first, then one entry per project with volumes there.

        Raises:
            PolicyNotAuthorized: the caller is not an admin.
            NotFound: no volume service on exactly that host (Cinder: ``Host not found``).
        """
        policy.authorize(caller, "volume_extension:hosts")
        try:
            backend = self._backend(host)
        except errors.NotFound:
            raise errors.NotFound("Host not found") from None
        with self.db.session(readonly=True) as session:
            volumes = session.execute(
                select(Volume.project_id, func.count(Volume.id),
                       func.coalesce(func.sum(Volume.size), 0))
                .where(Volume.host == backend.host).group_by(Volume.project_id)).all()
            snapshots = dict(
                (project, (int(count), int(size))) for project, count, size in session.execute(
                    select(Snapshot.project_id, func.count(Snapshot.id),
                           func.coalesce(func.sum(Snapshot.volume_size), 0))
                    .join(Volume, Snapshot.volume_id == Volume.id)
                    .where(Volume.host == backend.host).group_by(Snapshot.project_id)).all())
        per_project = []
        for project, count, size in sorted(volumes):
            snap_count, snap_size = snapshots.get(project, (0, 0))
            per_project.append(HostUsage(project, int(count), int(size), snap_count,
                                         snap_size))
        total = HostUsage("(total)", sum(u.volume_count for u in per_project),
                          sum(u.total_volume_gb for u in per_project),
                          sum(u.snapshot_count for u in per_project),
                          sum(u.total_snapshot_gb for u in per_project))
        return [total, *per_project]
