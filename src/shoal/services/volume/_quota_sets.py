"""``os-quota-sets`` and ``os-quota-class-sets``: reading and setting projects' limits.

Resources and defaults are :mod:`.quotas`'s: the base ones plus ``volumes_T``,
``gigabytes_T`` and ``snapshots_T`` for every volume type ``T``. A project reader sees its
own project's quotas, an admin every project's (another project is 403, Cinder's policy);
only admins set or reset them. Setting a limit stores it in ``volume_quotas``; resetting
(``DELETE``) removes the project's own limits so the defaults apply again. The defaults are
the ``default`` quota class's limits where an admin set them (``os-quota-class-sets``), else
the configured ones.

As in Cinder, a new limit below what the project already uses is accepted unless the
request says ``skip_validation: false``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shoal import errors
from shoal.db import Database
from shoal.services.volume import policy, quotas
from shoal.services.volume._qos_models import QuotaClass
from shoal.services.volume.models import Quota, VolumeType
from shoal.services.volume.policy import CallerLike

__all__ = ["QuotaSet", "QuotaSets"]

#: Resources whose limit is no pool to be used up (never checked against usage).
_NOT_A_POOL: Final = ("per_volume_gigabytes",)
#: Most characters of a quota class name (Cinder's ``quota_class_name`` check).
CLASS_NAME_CHARS_MAX: Final = 255


@dataclass(frozen=True)
class QuotaSet:
    """A project's limits (resource → limit, -1 unlimited) and, when asked, its usage
    (resource → in use; counts, GiB for the gigabytes ones)."""

    project_id: str
    limits: Mapping[str, int]
    in_use: Mapping[str, int] | None = None


class _Limit(Protocol):
    """A stored limit (a project's or a quota class's)."""

    hard_limit: int


def _store_limits(session: Session, rows: Mapping[str, _Limit], limits: Mapping[str, int],
                  new_row: Callable[[str, int], object]) -> None:
    """Set each of ``limits`` on its row of ``rows`` (resource → row), or add the row
    ``new_row(resource, limit)`` makes; flush."""
    for resource, limit in limits.items():
        if resource in rows:
            rows[resource].hard_limit = limit
        else:
            session.add(new_row(resource, limit))
    session.flush()


class QuotaSets:
    """The quota sets of one deployment (see the module docstring)."""

    def __init__(self, db: Database, defaults: quotas.QuotaDefaults) -> None:
        self.db = db
        self.defaults = defaults

    @staticmethod
    def _type_names(session: Session) -> list[str]:
        return list(session.execute(select(VolumeType.name).order_by(VolumeType.name))
                    .scalars())

    def _quota_set(self, session: Session, project_id: str, *, usage: bool) -> QuotaSet:
        limits = quotas.limits_for(session, project_id, self.defaults,
                                   self._type_names(session))
        in_use = None
        if usage:
            counted = quotas.usage_for(session, project_id)
            in_use = {resource: counted.in_use(resource) for resource in limits}
        return QuotaSet(project_id, limits, in_use)

    def show(self, caller: CallerLike, project_id: str, *, usage: bool = False) -> QuotaSet:
        """``project_id``'s limits (and usage).

        Raises:
            PolicyNotAuthorized: a non-admin asking about another project.
        """
        policy.authorize(caller, "volume_extension:quotas:show", project_id)
        with self.db.session(readonly=True) as session:
            return self._quota_set(session, project_id, usage=usage)

    def _class_set(self, session: Session, set_id: str,
                   class_name: str = quotas.DEFAULT_QUOTA_CLASS) -> QuotaSet:
        return QuotaSet(set_id, quotas.class_limits(session, self.defaults,
                                                    self._type_names(session), class_name))

    def defaults_for(self, caller: CallerLike, project_id: str) -> QuotaSet:
        """The defaults (the ``default`` quota class over the configuration), as they
        would apply to ``project_id``."""
        policy.authorize(caller, "volume_extension:quotas:show", project_id)
        with self.db.session(readonly=True) as session:
            return self._class_set(session, project_id)

    def class_defaults(self, caller: CallerLike, class_name: str = "default") -> QuotaSet:
        """A quota class (admins): its own limits over the ``default`` class's over the
        configured defaults."""
        policy.authorize(caller, "volume_extension:quota_classes")
        with self.db.session(readonly=True) as session:
            return self._class_set(session, class_name, class_name)

    def update_class(self, caller: CallerLike, class_name: str, limits: Mapping[str, int]
                     ) -> QuotaSet:
        """Set some limits of the quota class ``class_name`` (``default``: every
        project's defaults); return all its limits after the change.

        ``limits`` values are -1 (unlimited) up to 2**31-1 (the API checks the range).

        Raises:
            PolicyNotAuthorized: not an admin.
            InvalidArgument: an unknown resource (``Bad key(s) in quota class set``) or a
                class name of more than 255 characters.
        """
        policy.authorize(caller, "volume_extension:quota_classes:update")
        if not 1 <= len(class_name) <= CLASS_NAME_CHARS_MAX:
            raise errors.InvalidArgument(
                f"Invalid input received: quota_class_name has {len(class_name)} characters, "
                f"it must be 1 to {CLASS_NAME_CHARS_MAX}.")
        with self.db.session() as session:
            current = self._class_set(session, class_name, class_name)
            bad = sorted(set(limits) - set(current.limits))
            if bad:
                raise errors.InvalidArgument(
                    f"Invalid input received: Bad key(s) in quota class set: {', '.join(bad)}")
            rows = {row.resource: row for row in session.execute(
                select(QuotaClass).where(QuotaClass.class_name == class_name)).scalars()}
            _store_limits(session, rows, limits, lambda resource, limit: QuotaClass(
                class_name=class_name, resource=resource, hard_limit=limit))
            return self._class_set(session, class_name, class_name)

    def update(self, caller: CallerLike, project_id: str, limits: Mapping[str, int], *,
               skip_validation: bool = True) -> QuotaSet:
        """Set some of ``project_id``'s limits; return every limit after the change.

        ``limits`` values are -1 (unlimited) up to 2**31-1
        (the API checks the range).

        Raises:
            PolicyNotAuthorized: not an admin.
            InvalidArgument: an unknown resource (``Bad key(s) in quota set``), or, without
                ``skip_validation``, a limit below the current usage.
        """
        policy.authorize(caller, "volume_extension:quotas:update", project_id)
        with self.db.session() as session:
            current = self._quota_set(session, project_id, usage=not skip_validation)
            bad = sorted(set(limits) - set(current.limits))
            if bad:
                raise errors.InvalidArgument(f"Bad key(s) in quota set: {','.join(bad)}")
            for resource, limit in limits.items():
                used = 0 if current.in_use is None else current.in_use.get(resource, 0)
                if resource not in _NOT_A_POOL and limit != -1 and limit < used:
                    raise errors.InvalidArgument(
                        f"Quota {resource} limit must be equal or greater than existing "
                        f"resources. Current usage is {used} and the requested limit is "
                        f"{limit}.")
            rows = {row.resource: row for row in session.execute(
                select(Quota).where(Quota.project_id == project_id)).scalars()}
            _store_limits(session, rows, limits, lambda resource, limit: Quota(
                project_id=project_id, resource=resource, hard_limit=limit))
            return self._quota_set(session, project_id, usage=False)

    def reset(self, caller: CallerLike, project_id: str) -> None:
        """Drop ``project_id``'s own limits: the defaults apply again (admins)."""
        policy.authorize(caller, "volume_extension:quotas:delete", project_id)
        with self.db.session() as session:
            session.execute(delete(Quota).where(Quota.project_id == project_id))

