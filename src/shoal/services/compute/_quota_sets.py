"""Compute quotas per project (Nova's ``os-quota-sets``): Nova's defaults, overridden per
project by admins, read by the project's members and admins, checked when servers are
made (:meth:`shoal.services.compute.Servers.create`).

- ``update`` (admins) refuses a limit below what the project uses unless ``force`` (400
  ``Quota limit 1 for instances must be greater than or equal to already used and reserved
  2.``), and a value below -1 (-1: unlimited).
- ``delete`` (admins) puts every resource back to its default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final

from sqlalchemy import delete, select

from shoal import errors
from shoal.db import Database
from shoal.services.compute import policy
from shoal.services.compute._quota_models import ComputeQuota
from shoal.services.volume.policy import CallerLike, PolicyNotAuthorized

__all__ = ["DEFAULTS", "ComputeQuotas"]

#: Nova's defaults (``[quota]``), in the order Nova lists them.
DEFAULTS: Final[Mapping[str, int]] = {
    "instances": 10, "cores": 20, "ram": 51200, "metadata_items": 128, "key_pairs": 100,
    "server_groups": 10, "server_group_members": 10, "injected_files": 5,
    "injected_file_content_bytes": 10240, "injected_file_path_bytes": 255}


class ComputeQuotas:
    """Quota limits of projects (see the module doc); ``usage(project)`` gives what a
    project uses (``instances``, ``cores``, ``ram``)."""

    def __init__(self, db: Database, usage: Callable[[str], Mapping[str, int]],
                 now: Callable[[], datetime]) -> None:
        self.db = db
        self.usage = usage
        self.now = now

    def defaults(self) -> dict[str, int]:
        return dict(DEFAULTS)

    def limits(self, project_id: str) -> dict[str, int]:
        """The project's limits (defaults with its overrides)."""
        with self.db.session(readonly=True) as session:
            rows = session.scalars(select(ComputeQuota).where(
                ComputeQuota.project_id == project_id))
            return {**DEFAULTS, **{r.resource: r.hard_limit for r in rows}}

    def show(self, caller: CallerLike, project_id: str) -> dict[str, int]:
        """The limits, for the project's members and admins (403 otherwise)."""
        if not policy.may_see(caller, project_id):
            raise PolicyNotAuthorized(
                "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.")
        return self.limits(project_id)

    def detail(self, caller: CallerLike, project_id: str) -> dict[str, dict[str, int]]:
        """``{resource: {limit, in_use, reserved}}``."""
        limits = self.show(caller, project_id)
        used = self.usage(project_id)
        return {k: {"limit": v, "in_use": int(used.get(k, 0)), "reserved": 0}
                for k, v in limits.items()}

    def update(self, caller: CallerLike, project_id: str, values: Mapping[str, int], *,
               force: bool = False) -> dict[str, int]:
        """Set limits (admins); the project's limits after.

        Raises:
            PolicyNotAuthorized: not an admin (403).
            errors.InvalidArgument: an unknown resource, a value below -1, or (without
                ``force``) below what the project uses.
        """
        if not policy.is_admin(caller):
            raise PolicyNotAuthorized(
                "Policy doesn't allow os_compute_api:os-quota-sets:update to be performed.")
        used = self.usage(project_id)
        for resource, value in values.items():
            if resource not in DEFAULTS:
                raise errors.InvalidArgument(f"Bad key(s) {resource} in quota_set")
            if value < -1:
                raise errors.InvalidArgument(
                    f"Quota limit {value} for {resource} must be -1 or greater.")
            in_use = int(used.get(resource, 0))
            if not force and value != -1 and value < in_use:
                raise errors.InvalidArgument(
                    f"Quota limit {value} for {resource} must be greater than or equal to "
                    f"already used and reserved {in_use}.")
        with self.db.session() as session:
            existing = {r.resource: r for r in session.scalars(select(ComputeQuota).where(
                ComputeQuota.project_id == project_id))}
            for resource, value in values.items():
                row = existing.get(resource)
                if row is None:
                    session.add(ComputeQuota(project_id=project_id, resource=resource,
                                             hard_limit=value, updated_at=self.now()))
                else:
                    row.hard_limit, row.updated_at = value, self.now()
        return self.limits(project_id)

    def delete(self, caller: CallerLike, project_id: str) -> None:
        """Back to the defaults (admins)."""
        if not policy.is_admin(caller):
            raise PolicyNotAuthorized(
                "Policy doesn't allow os_compute_api:os-quota-sets:delete to be performed.")
        with self.db.session() as session:
            session.execute(delete(ComputeQuota).where(ComputeQuota.project_id == project_id))
