"""The compute hosts of one ``shoal up`` (``[shoal] compute_hosts``) and their services,
as Nova's ``os-services`` shows and changes them, and the scheduler's choice of a host.

Every host runs in the ``shoal up`` process, so a host is ``up`` unless an admin forced
its service down (``forced_down``, 2.11+, as one does before evacuating); it takes new
servers while ``enabled`` and up. ``nova-conductor`` and ``nova-scheduler`` run once, on
the first host, in the ``internal`` zone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import func, select

from shoal import errors
from shoal.db import Database
from shoal.services.compute import policy
from shoal.services.compute._host_models import ComputeService
from shoal.services.compute._server_models import Server
from shoal.services.volume.policy import CallerLike, PolicyNotAuthorized

__all__ = ["COMPUTE", "ComputeHosts", "NoValidHost", "ServiceRecord"]

COMPUTE: Final = "nova-compute"
_CONTROL: Final = ("nova-scheduler", "nova-conductor")


class NoValidHost(errors.InvalidArgument):
    """No host may take the server (Nova's ``No valid host was found.``)."""


@dataclass(frozen=True)
class ServiceRecord:
    """One service as ``os-services`` shows it (``id``: Nova's integer; ``uuid``: its id
    from 2.53)."""

    id: int
    uuid: str
    host: str
    binary: str
    zone: str
    disabled: bool
    disabled_reason: str | None
    forced_down: bool
    updated_at: datetime

    @property
    def state(self) -> str:
        return "down" if self.forced_down else "up"

    @property
    def status(self) -> str:
        return "disabled" if self.disabled else "enabled"


class ComputeHosts:
    """The hosts ``hosts`` (first one runs the control services) in zone ``zone``."""

    def __init__(self, db: Database, hosts: Sequence[str], zone: str,
                 now: Callable[[], datetime]) -> None:
        if not hosts:
            raise errors.InvalidArgument("at least one compute host is needed")
        self.db = db
        self.hosts = tuple(hosts)
        self.zone = zone
        self.now = now

    def ensure_services(self) -> None:
        """Record the services of every host (once; later starts keep their state)."""
        wanted = [(h, COMPUTE) for h in self.hosts] + [(self.hosts[0], b) for b in _CONTROL]
        with self.db.session() as session:
            have = {(s.host, s.binary) for s in session.scalars(select(ComputeService))}
            for host, binary in wanted:
                if (host, binary) not in have:
                    session.add(ComputeService(uuid=str(uuid.uuid4()), host=host,
                                               binary=binary, created_at=self.now()))

    def _record(self, row: ComputeService) -> ServiceRecord:
        return ServiceRecord(
            id=row.id, uuid=row.uuid, host=row.host, binary=row.binary,
            zone=self.zone if row.binary == COMPUTE else "internal", disabled=row.disabled,
            disabled_reason=row.disabled_reason, forced_down=row.forced_down,
            updated_at=row.updated_at or self.now())

    def services(self, *, host: str | None = None, binary: str | None = None
                 ) -> list[ServiceRecord]:
        """The services (this run's hosts only), by id; filtered on ``host``/``binary``."""
        with self.db.session(readonly=True) as session:
            rows = session.scalars(select(ComputeService).order_by(ComputeService.id))
            return [self._record(r) for r in rows
                    if r.host in self.hosts and host in (None, r.host)
                    and binary in (None, r.binary)]

    def update(self, caller: CallerLike, ident: str, *, disabled: bool | None = None,
               disabled_reason: str | None = None, forced_down: bool | None = None
               ) -> ServiceRecord:
        """Change a service (by uuid, or by ``host/binary``); admins only.

        Raises:
            PolicyNotAuthorized: not an admin (403).
            errors.NotFound: no such service (404 ``Service not found``).
            errors.InvalidArgument: forcing down a service other than nova-compute.
        """
        if not policy.is_admin(caller):
            raise PolicyNotAuthorized(
                "Policy doesn't allow os_compute_api:os-services:update to be performed.")
        with self.db.session() as session:
            stmt = select(ComputeService)
            if "/" in ident:
                host, binary = ident.split("/", 1)
                stmt = stmt.where(ComputeService.host == host, ComputeService.binary == binary)
            else:
                stmt = stmt.where(ComputeService.uuid == ident)
            row = session.scalars(stmt.with_for_update()).one_or_none()
            if row is None or row.host not in self.hosts:
                raise errors.NotFound(f"Service {ident} not found.")
            if forced_down is not None and row.binary != COMPUTE:
                raise errors.InvalidArgument("Updating a nova-compute service is the only "
                                             "supported force down operation.")
            if disabled is not None:
                row.disabled = disabled
                row.disabled_reason = disabled_reason if disabled else None
            elif disabled_reason is not None:
                raise errors.InvalidArgument("Specifying 'disabled_reason' with status "
                                             "'enabled' is invalid.")
            if forced_down is not None:
                row.forced_down = forced_down
            row.updated_at = self.now()
            session.flush()
            return self._record(row)

    def is_up(self, host: str) -> bool:
        """Whether ``host``'s nova-compute is up (not forced down)."""
        return any(s.host == host and s.state == "up"
                   for s in self.services(binary=COMPUTE))

    def pick(self, *, exclude: Sequence[str] = (), wanted: str | None = None) -> str:
        """The host a server goes to: ``wanted`` (an admin's choice; it must exist and be
        up), else the enabled, up host (not in ``exclude``) with the fewest servers.

        Raises:
            NoValidHost: none fits.
        """
        usable = [s for s in self.services(binary=COMPUTE) if s.state == "up"]
        if wanted is not None:
            if not any(s.host == wanted for s in usable) or wanted in exclude:
                raise NoValidHost(f"No valid host was found. Compute host {wanted} is not "
                                  "available.")
            return wanted
        hosts = [s.host for s in usable if not s.disabled and s.host not in exclude]
        if not hosts:
            raise NoValidHost("No valid host was found. There are not enough hosts "
                              "available.")
        with self.db.session(readonly=True) as session:
            load = dict(session.execute(
                select(Server.host, func.count()).where(Server.deleted_at.is_(None))
                .group_by(Server.host)).tuples().all())
        return min(hosts, key=lambda h: (load.get(h, 0), self.hosts.index(h)))
