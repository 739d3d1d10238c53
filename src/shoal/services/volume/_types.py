"""Volume type administration (Cinder's ``types_manage``, ``types_extra_specs`` and
``volume_type_access``): listing with ``is_public``, update, delete, extra specs and the
projects a private type is shared with.

Creating a type is :meth:`VolumeService.create_type`. Reading is for every project reader
(a private type only where it is shared, or for admins); every change is admin-only.
Cinder's rules kept here:

- the default type (``default_volume_type``) can neither be deleted nor renamed;
- a type is not deleted while volumes use it, and its extra specs do not change then
  (``allow_inuse_volume_type_modification`` = False);
- access lists exist only for private types; adding a project twice is 409.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from shoal import errors
from shoal.db import Database
from shoal.services.volume import policy
from shoal.services.volume._groups import volume_type_in_groups
from shoal.services.volume._rows import type_record
from shoal.services.volume._service import VolumeOptions
from shoal.services.volume.models import Volume, VolumeType, VolumeTypeExtraSpec, VolumeTypeProject
from shoal.services.volume.policy import CallerLike
from shoal.services.volume.records import VolumeTypeRecord

__all__ = ["ALL_TYPES", "VolumeTypes"]

#: ``is_public`` of :meth:`VolumeTypes.list_types`: every type, public or not (admins).
ALL_TYPES: Final = "all"


def _shared_with(row: VolumeType, project_id: str | None) -> bool:
    return any(p.project_id == project_id for p in row.projects)


class VolumeTypes:
    """The volume types of one deployment (see the module docstring)."""

    def __init__(self, db: Database, options: VolumeOptions,
                 now: Callable[[], datetime]) -> None:
        self.db = db
        self.options = options
        self.now = now

    # --- reading ---------------------------------------------------------------------------
    def list_types(self, caller: CallerLike, is_public: bool | str = True
                   ) -> list[VolumeTypeRecord]:
        """The types, by name, as Cinder filters them.

        Non-admins always get the public types and the private ones shared with their
        project. For admins ``is_public`` True (the default) does the same, False gives
        only the private types, :data:`ALL_TYPES` every type.
        """
        policy.authorize(caller, "volume_extension:type_get")
        if not policy.is_admin(caller):
            is_public = True
        with self.db.session(readonly=True) as session:
            rows = session.execute(select(VolumeType).order_by(VolumeType.name)).scalars()
            if is_public == ALL_TYPES:
                return [type_record(r) for r in rows]
            if is_public is False:
                return [type_record(r) for r in rows if not r.is_public]
            return [type_record(r) for r in rows
                    if r.is_public or _shared_with(r, caller.project_id)]

    def _row(self, session: Session, caller: CallerLike, ref: str) -> VolumeType:
        """The type with id (or name) ``ref`` the caller may see."""
        row = session.get(VolumeType, ref)
        if row is None:
            row = session.execute(select(VolumeType).where(
                VolumeType.name == ref)).scalar_one_or_none()
        if row is None or not (row.is_public or policy.is_admin(caller)
                               or _shared_with(row, caller.project_id)):
            raise errors.NotFound(f"Volume type {ref} could not be found.")
        return row

    @staticmethod
    def _in_use(session: Session, row: VolumeType) -> bool:
        return session.execute(select(Volume.id).where(
            Volume.volume_type_id == row.id).limit(1)).first() is not None

    # --- update and delete -----------------------------------------------------------------
    def update(self, caller: CallerLike, ref: str, *, name: str | None = None,
               description: str | None = None, set_description: bool = False,
               is_public: bool | None = None) -> VolumeTypeRecord:
        """Rename a type, change its description (``set_description``: even to None) or
        its visibility.

        Raises:
            PolicyNotAuthorized: not an admin.
            NotFound: no such type.
            AlreadyExists: another type has ``name`` (409).
            InvalidArgument: renaming the default type.
        """
        policy.authorize(caller, "volume_extension:types_manage")
        with self.db.session() as session:
            row = self._row(session, caller, ref)
            if name is not None and name != row.name:
                if row.name == self.options.default_type:
                    raise errors.InvalidArgument("Invalid volume type: The default volume "
                                                 "type cannot be renamed.")
                taken = session.execute(select(VolumeType.id).where(
                    VolumeType.name == name)).first()
                if taken is not None:
                    raise errors.AlreadyExists(f"Volume Type {name} already exists.")
                row.name = name
            if set_description:
                row.description = description
            if is_public is not None:
                row.is_public = is_public
            row.updated_at = self.now()
            session.flush()
            return type_record(row)

    def delete(self, caller: CallerLike, ref: str) -> None:
        """Delete a type.

        Raises:
            PolicyNotAuthorized: not an admin.
            NotFound: no such type.
            InvalidArgument: it is the default type, or volumes use it (Cinder's 400s).
        """
        policy.authorize(caller, "volume_extension:types_manage")
        with self.db.session() as session:
            row = self._row(session, caller, ref)
            if row.name == self.options.default_type:
                raise errors.InvalidArgument("Default volume type can not be deleted.")
            if self._in_use(session, row) or volume_type_in_groups(session, row.id):
                raise errors.InvalidArgument(
                    f"Volume Type {row.id} deletion is not allowed with volumes present "
                    "with the type.")
            session.delete(row)

    # --- extra specs -----------------------------------------------------------------------
    def extra_specs(self, caller: CallerLike, ref: str) -> dict[str, str]:
        """A type's extra specs (every one for admins; the caller's view filters the rest)."""
        policy.authorize(caller, "volume_extension:types_extra_specs:index")
        with self.db.session(readonly=True) as session:
            return {s.key: s.value for s in self._row(session, caller, ref).extra_specs}

    def set_extra_specs(self, caller: CallerLike, ref: str, specs: Mapping[str, str]
                        ) -> dict[str, str]:
        """Add or replace the given extra specs (others stay); return what was set.

        Raises:
            PolicyNotAuthorized: not an admin.
            NotFound: no such type.
            InvalidArgument: volumes use the type.
        """
        policy.authorize(caller, "volume_extension:types_manage")
        with self.db.session() as session:
            row = self._row(session, caller, ref)
            self._refuse_in_use(session, row)
            current = {s.key: s for s in row.extra_specs}
            for key, value in specs.items():
                if key in current:
                    current[key].value = value
                else:
                    row.extra_specs.append(VolumeTypeExtraSpec(key=key, value=value))
            row.updated_at = self.now()
            session.flush()
            return dict(specs)

    def delete_extra_spec(self, caller: CallerLike, ref: str, key: str) -> None:
        """Remove one extra spec.

        Raises:
            PolicyNotAuthorized: not an admin.
            NotFound: no such type, or it has no such key.
            InvalidArgument: volumes use the type.
        """
        policy.authorize(caller, "volume_extension:types_manage")
        with self.db.session() as session:
            row = self._row(session, caller, ref)
            found = next((s for s in row.extra_specs if s.key == key), None)
            if found is None:
                raise errors.NotFound(f"Volume Type {row.id} has no extra specs with key "
                                      f"{key}.")
            self._refuse_in_use(session, row)
            row.extra_specs.remove(found)
            row.updated_at = self.now()

    def _refuse_in_use(self, session: Session, row: VolumeType) -> None:
        if self._in_use(session, row):
            raise errors.InvalidArgument("Volume Type is currently in use.")

    # --- access ----------------------------------------------------------------------------
    def access(self, caller: CallerLike, ref: str) -> list[str]:
        """The projects a private type is shared with.

        Raises:
            PolicyNotAuthorized: not an admin.
            NotFound: no such type, or it is public (Cinder has no list for those).
        """
        policy.authorize(caller, "volume_extension:volume_type_access")
        with self.db.session(readonly=True) as session:
            row = self._row(session, caller, ref)
            if row.is_public:
                raise errors.NotFound("Access list not available for public volume types.")
            return [p.project_id for p in row.projects]

    def set_access(self, caller: CallerLike, ref: str, project_id: str, *, add: bool) -> None:
        """Share a private type with ``project_id`` (``add``) or stop sharing it.

        Raises:
            PolicyNotAuthorized: not an admin.
            NotFound: no such type; removing a project it is not shared with.
            AlreadyExists: adding a project it is already shared with (409).
            InvalidArgument: the type is public.
        """
        action = "addProjectAccess" if add else "removeProjectAccess"
        policy.authorize(caller, f"volume_extension:volume_type_access:{action}")
        with self.db.session() as session:
            row = self._row(session, caller, ref)
            if row.is_public:
                raise errors.InvalidArgument("Invalid volume type: Type access modification "
                                             "is not applicable to public volume type.")
            found = next((p for p in row.projects if p.project_id == project_id), None)
            if add:
                if found is not None:
                    raise errors.AlreadyExists(f"Volume type access for {row.id} / "
                                               f"{project_id} combination already exists.")
                row.projects.append(VolumeTypeProject(project_id=project_id))
            else:
                if found is None:
                    raise errors.NotFound(f"Volume type access not found for {row.id} / "
                                          f"{project_id} combination.")
                row.projects.remove(found)
            row.updated_at = self.now()
