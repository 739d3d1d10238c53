"""Generic volume groups (Cinder v3 3.11+): group types and their specs, groups of volumes,
group snapshots, and their durable tasks.

Cinder's rules kept here (``cinder/group/api.py``):

- group types and specs are admin-only to change; everyone reads the public types (admins
  every type); a type still used by a group is not deleted (400);
- a group has one group type, at least one volume type, and lives on the one backend its
  volume types select; its volumes all have one of those types; ``groups`` is a quota;
- ``add_volumes``/``remove_volumes`` (comma-separated ids) accept only volumes of the
  group's project, types and backend, in ``available``/``in-use`` (removal also from
  ``error``/``error_deleting``); a member volume cannot be deleted alone, nor a member
  snapshot of a group snapshot;
- a group with volumes is deleted only with ``delete-volumes`` (none attached, none with
  snapshots), never while it has group snapshots; a group snapshot is deleted from
  ``available``/``error`` unless a group is being made from it.

The RBD driver has no group objects (Cinder's generic group code): a group is rows only and
is ``available`` once made; a group snapshot is one RBD snapshot per member volume, taken by
one ``group_snapshot.create`` task; a group is deleted by one ``group.delete`` task removing
its volumes' images one by one. A group made from a source gets its member volumes through
:meth:`VolumeService.create_volume` and their own ``volume.create`` tasks, recorded in the
group's transaction. The tasks are :class:`~._group_work.GroupWork`'s.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from shoal import errors
from shoal.db import Database
from shoal.services._records import as_utc
from shoal.services.tasks import ResourceRef, TaskRunner
from shoal.services.volume import policy, quotas
from shoal.services.volume._group_models import (
    Group,
    GroupSnapshot,
    GroupType,
    GroupTypeSpec,
    GroupVolumeType,
)
from shoal.services.volume.models import Snapshot, Volume, VolumeType
from shoal.services.volume.policy import CallerLike

if TYPE_CHECKING:
    from shoal.services.volume._service import VolumeService

__all__ = [
    "GROUP_SNAPSHOT_STATUSES",
    "GROUP_STATUSES",
    "GroupRecord",
    "GroupSnapshotRecord",
    "GroupTypeRecord",
    "VolumeGroups",
    "check_group_member",
    "volume_type_in_groups",
]

#: Cinder's ``GroupStatus`` and ``GroupSnapshotStatus`` values (``reset_status`` takes them).
GROUP_STATUSES: Final = ("error", "available", "creating", "deleting", "deleted", "updating",
                         "in-use", "error_deleting")
GROUP_SNAPSHOT_STATUSES: Final = ("error", "available", "creating", "deleting", "deleted",
                                  "updating", "error_deleting")
#: Member volume statuses ``remove_volumes`` / ``add_volumes`` accept.
REMOVABLE_STATUSES: Final = ("available", "in-use", "error", "error_deleting")
ADDABLE_STATUSES: Final = ("available", "in-use")
#: Member volume statuses a group delete accepts (the others have work in flight).
DELETABLE_MEMBER_STATUSES: Final = ("available", "error", "error_deleting", "error_restoring",
                                    "error_extending", "error_managing")
#: Keyword arguments of a new member's ``VolumeSource`` (``snapshot_id`` or ``source_volid``).
VolumeSourceArgs = dict[str, str]


@dataclass(frozen=True)
class GroupTypeRecord:
    """One group type; ``specs`` are its ``group_specs`` (values may be None)."""

    id: str
    name: str
    description: str | None
    is_public: bool
    specs: Mapping[str, str | None] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True)
class GroupRecord:
    """One group: its type, volume types (ids, in the order given) and member volumes."""

    id: str
    project_id: str
    user_id: str
    status: str
    name: str | None
    description: str | None
    availability_zone: str
    group_type_id: str
    volume_type_ids: tuple[str, ...]
    volume_ids: tuple[str, ...]
    created_at: datetime
    host: str | None = None
    group_snapshot_id: str | None = None
    source_group_id: str | None = None
    replication_status: str = "disabled"


@dataclass(frozen=True)
class GroupSnapshotRecord:
    """One group snapshot and the ids of its member snapshots."""

    id: str
    group_id: str
    project_id: str
    user_id: str
    status: str
    name: str | None
    description: str | None
    group_type_id: str
    created_at: datetime
    snapshot_ids: tuple[str, ...] = ()


def _type_record(row: GroupType) -> GroupTypeRecord:
    return GroupTypeRecord(id=row.id, name=row.name, description=row.description,
                           is_public=row.is_public,
                           specs={s.key: s.value for s in row.specs},
                           created_at=as_utc(row.created_at))


def _members(session: Session, group_id: str) -> list[Volume]:
    return list(session.execute(select(Volume).where(Volume.group_id == group_id).order_by(
        Volume.created_at, Volume.id)).scalars())


def _group_record(session: Session, row: Group) -> GroupRecord:
    return GroupRecord(
        id=row.id, project_id=row.project_id, user_id=row.user_id, status=row.status,
        name=row.name, description=row.description, availability_zone=row.availability_zone,
        group_type_id=row.group_type_id,
        volume_type_ids=tuple(t.volume_type_id for t in row.volume_types),
        volume_ids=tuple(v.id for v in _members(session, row.id)),
        created_at=as_utc(row.created_at), host=row.host,
        group_snapshot_id=row.group_snapshot_id, source_group_id=row.source_group_id,
        replication_status=row.replication_status)


def _member_snapshots(session: Session, group_snapshot_id: str) -> list[Snapshot]:
    return list(session.execute(select(Snapshot).where(
        Snapshot.group_snapshot_id == group_snapshot_id).order_by(Snapshot.id)).scalars())


def _snapshot_record(session: Session, row: GroupSnapshot) -> GroupSnapshotRecord:
    return GroupSnapshotRecord(
        id=row.id, group_id=row.group_id, project_id=row.project_id, user_id=row.user_id,
        status=row.status, name=row.name, description=row.description,
        group_type_id=row.group_type_id, created_at=as_utc(row.created_at),
        snapshot_ids=tuple(s.id for s in _member_snapshots(session, row.id)))


def _invalid_group(reason: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(f"Invalid group: {reason}")


def _invalid_volume(reason: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(f"Invalid volume: {reason}")


def _visible_group(session: Session, caller: CallerLike, group_id: str, action: str) -> Group:
    row = session.get(Group, group_id)
    if row is None or not policy.may_see(caller, row.project_id):
        raise errors.NotFound(f"Group {group_id} could not be found.")
    policy.authorize(caller, action, row.project_id)
    return row


def check_group_member(session: Session, caller: CallerLike, group_id: str,
                       volume_type: VolumeType, *, type_given: bool) -> Group:
    """The group a new volume joins (``POST /volumes`` with ``group_id``), checked as Cinder
    does: visible to the caller, and the volume's type one of the group's.

    ``type_given`` is False when the request named no type (Cinder then refuses: a volume
    in a group needs its type).

    Raises:
        NotFound: no such group for the caller.
        InvalidArgument: the group is being deleted, no type given, or a type the group
            does not support.
    """
    group = _visible_group(session, caller, group_id, "group:get")
    if group.status in ("deleting", "error_deleting"):
        raise _invalid_group(f"Group {group_id} is being deleted: no volume may join it.")
    if not type_given:
        raise errors.InvalidArgument("Invalid input received: volume_type must be provided "
                                     "when creating a volume in a group.")
    if volume_type.id not in {t.volume_type_id for t in group.volume_types}:
        raise errors.InvalidArgument(
            f"Invalid input received: Invalid volume_type provided: {volume_type.id} "
            "(requested type must be supported by this group).")
    return group


def volume_type_in_groups(session: Session, volume_type_id: str) -> bool:
    """Whether a group lists the volume type (Cinder then refuses to delete the type)."""
    return session.execute(select(GroupVolumeType.id).where(
        GroupVolumeType.volume_type_id == volume_type_id).limit(1)).first() is not None


class VolumeGroups:
    """Group types, groups and group snapshots of one deployment (module docstring).

    ``volumes`` makes and checks the member volumes; ``default_group_type`` is cinder's
    ``default_group_type`` (None: ``GET /group_types/default`` is 404, as upstream).
    """

    def __init__(self, db: Database, runner: TaskRunner, volumes: VolumeService,
                 now: Callable[[], datetime], default_group_type: str | None = None) -> None:
        self.db = db
        self.runner = runner
        self.volumes = volumes
        self.now = now
        self.default_group_type = default_group_type

    # --- group types -----------------------------------------------------------------------
    def _type_row(self, session: Session, caller: CallerLike, ref: str, *,
                  by_name: bool = False) -> GroupType:
        """The group type with id ``ref`` (or, ``by_name``, name) the caller may see."""
        row = session.get(GroupType, ref)
        if row is None and by_name:
            row = session.execute(select(GroupType).where(
                GroupType.name == ref)).scalar_one_or_none()
        if row is None or not (row.is_public or policy.is_admin(caller)):
            raise errors.NotFound(f"Group type {ref} could not be found.")
        return row

    def create_type(self, caller: CallerLike, name: str, *, description: str | None = None,
                    is_public: bool = True, specs: Mapping[str, str | None] | None = None
                    ) -> GroupTypeRecord:
        """A new group type (admins; 409 when the name is taken)."""
        policy.authorize(caller, "group:group_types:create")
        with self.db.session() as session:
            if session.execute(select(GroupType.id).where(GroupType.name == name)).first():
                raise errors.AlreadyExists(f"Group Type {name} already exists.")
            row = GroupType(id=str(uuid.uuid4()), name=name, description=description,
                            is_public=is_public, created_at=self.now())
            row.specs = [GroupTypeSpec(key=k, value=v) for k, v in sorted((specs or {}).items())]
            session.add(row)
            session.flush()
            return _type_record(row)

    def list_types(self, caller: CallerLike, is_public: bool | None = True
                   ) -> list[GroupTypeRecord]:
        """The group types, oldest first. Non-admins get the public ones whatever
        ``is_public`` says; for admins True gives the public ones, False the private ones,
        None every type."""
        if not policy.is_admin(caller):
            is_public = True
        query = select(GroupType).order_by(GroupType.created_at, GroupType.id)
        if is_public is not None:
            query = query.where(GroupType.is_public == is_public)
        with self.db.session(readonly=True) as session:
            return [_type_record(r) for r in session.execute(query).scalars()]

    def get_type(self, caller: CallerLike, type_id: str) -> GroupTypeRecord:
        """One group type by id (404 when absent or private, for a non-admin)."""
        with self.db.session(readonly=True) as session:
            return _type_record(self._type_row(session, caller, type_id))

    def get_default_type(self, caller: CallerLike) -> GroupTypeRecord:
        """The type named by ``default_group_type``.

        Raises:
            NotFound: none is configured, or no type has that name.
        """
        name = self.default_group_type
        with self.db.session(readonly=True) as session:
            row = None if name is None else session.execute(select(GroupType).where(
                GroupType.name == name)).scalar_one_or_none()
            if row is None:
                raise errors.NotFound("Default group type can not be found.")
            return _type_record(row)

    def update_type(self, caller: CallerLike, type_id: str, *, name: str | None = None,
                    description: str | None = None, is_public: bool | None = None
                    ) -> GroupTypeRecord:
        """Rename a group type, change its description or visibility (admins).

        Raises:
            NotFound: no such type. AlreadyExists: another type has ``name`` (409).
            InvalidArgument: nothing to change, or an empty name.
        """
        policy.authorize(caller, "group:group_types:update")
        if name is not None and not name.strip():
            raise errors.InvalidArgument("Group type name can not be empty.")
        if name is None and description is None and is_public is None:
            raise errors.InvalidArgument("Specify group type name, description or a "
                                         "combination thereof.")
        with self.db.session() as session:
            row = self._type_row(session, caller, type_id)
            if name is not None and name != row.name:
                if session.execute(select(GroupType.id).where(GroupType.name == name)).first():
                    raise errors.AlreadyExists(f"Group Type {name} already exists.")
                row.name = name
            if description is not None:
                row.description = description
            if is_public is not None:
                row.is_public = is_public
            row.updated_at = self.now()
            session.flush()
            return _type_record(row)

    def delete_type(self, caller: CallerLike, type_id: str) -> None:
        """Delete a group type (admins); 400 while a group has it."""
        policy.authorize(caller, "group:group_types:delete")
        with self.db.session() as session:
            row = self._type_row(session, caller, type_id)
            if session.execute(select(Group.id).where(
                    Group.group_type_id == row.id).limit(1)).first() is not None:
                raise errors.InvalidArgument("Target group type is still in use.")
            session.delete(row)

    # --- group specs -----------------------------------------------------------------------
    def specs(self, caller: CallerLike, type_id: str) -> dict[str, str | None]:
        """A group type's specs (admins)."""
        policy.authorize(caller, "group:group_types_specs:get_all")
        return dict(self.get_type(caller, type_id).specs)

    def spec(self, caller: CallerLike, type_id: str, key: str) -> str | None:
        """One spec's value (admins; 404 with Cinder's message when the key is absent)."""
        policy.authorize(caller, "group:group_types_specs:get")
        found = self.get_type(caller, type_id).specs
        if key not in found:
            raise errors.NotFound(f"Group Type {type_id} has no extra spec with key {key}.")
        return found[key]

    def set_specs(self, caller: CallerLike, type_id: str, values: Mapping[str, str | None],
                  *, action: str = "group:group_types_specs:create") -> None:
        """Create or update the specs of ``values`` (the others stay)."""
        policy.authorize(caller, action)
        with self.db.session() as session:
            row = self._type_row(session, caller, type_id)
            current = {s.key: s for s in row.specs}
            for key, value in values.items():
                if key in current:
                    current[key].value = value
                else:
                    row.specs.append(GroupTypeSpec(key=key, value=value))
            row.updated_at = self.now()

    def delete_spec(self, caller: CallerLike, type_id: str, key: str) -> None:
        """Remove one spec (admins; 404 when absent)."""
        policy.authorize(caller, "group:group_types_specs:delete")
        with self.db.session() as session:
            row = self._type_row(session, caller, type_id)
            found = [s for s in row.specs if s.key == key]
            if not found:
                raise errors.NotFound(f"Group Type {type_id} has no specs with key {key}.")
            row.specs.remove(found[0])

    # --- groups: reading -------------------------------------------------------------------
    def get_group(self, caller: CallerLike, group_id: str) -> GroupRecord:
        """One group (404 when absent or another project's, for a non-admin)."""
        with self.db.session(readonly=True) as session:
            return _group_record(session, _visible_group(session, caller, group_id,
                                                         "group:get"))

    def list_groups(self, caller: CallerLike, *, all_projects: bool = False
                    ) -> list[GroupRecord]:
        """The caller's project's groups (every project's for an admin asking), newest
        first. Filtering and paging are the API's."""
        policy.authorize(caller, "group:get_all", caller.project_id)
        query = select(Group).order_by(Group.created_at.desc(), Group.id.desc())
        if not (all_projects and policy.is_admin(caller)):
            query = query.where(Group.project_id == caller.project_id)
        with self.db.session(readonly=True) as session:
            return [_group_record(session, r) for r in session.execute(query).scalars()]

    # --- groups: create --------------------------------------------------------------------
    def _check_group_quota(self, session: Session, project_id: str) -> None:
        """Refuse one more group of ``project_id`` past its ``groups`` limit (Cinder's
        ``GroupLimitExceeded``); locks the project until the transaction ends."""
        quotas.lock_project(session, project_id)
        limit = quotas.limits_for(session, project_id, self.volumes.options.quota_defaults)[
            "groups"]
        used = quotas.usage_for(session, project_id).in_use("groups")
        if limit != quotas.UNLIMITED and used + 1 > limit:
            raise quotas.QuotaExceeded(f"Maximum number of groups allowed ({limit}) exceeded")

    def create_group(self, caller: CallerLike, *, group_type: str,
                     volume_types: Sequence[str], name: str | None = None,
                     description: str | None = None, availability_zone: str | None = None
                     ) -> GroupRecord:
        """A new group of ``group_type`` (id or name) for volumes of ``volume_types`` (ids
        or names), ``available`` at once (the RBD driver keeps no group state).

        Raises:
            NotFound: an unknown group type or volume type.
            InvalidArgument: an unknown zone, or types on different backends.
            QuotaExceeded: over the project's ``groups``.
        """
        project_id = caller.project_id
        policy.authorize(caller, "group:create", project_id)
        assert project_id is not None  # authorize refuses a caller without a project
        zone = availability_zone or self.volumes.options.availability_zone
        if zone != self.volumes.options.availability_zone:
            raise errors.InvalidArgument(
                f"Invalid input received: Availability zone '{zone}' is invalid.")
        with self.db.session() as session:
            gtype = self._type_row(session, caller, group_type, by_name=True)
            vtypes = [self.volumes._type_by_ref(session, caller, ref) for ref in volume_types]
            # the first backend that passes each type's capabilities filter (as a volume
            # of that type is scheduled); a type no backend passes has no host
            first = [self.volumes._backends_for(t)[:1] for t in vtypes]
            if not all(first):
                raise _invalid_group("No valid host to create group: no enabled backend "
                                     "passes the capabilities of its volume types.")
            hosts = {backends[0].host for backends in first}
            if len(hosts) != 1:
                raise _invalid_group("No valid host to create group: its volume types "
                                     "select different backends.")
            self._check_group_quota(session, project_id)
            row = Group(id=str(uuid.uuid4()), project_id=project_id, user_id=caller.user_id,
                        status="available", name=name, description=description,
                        availability_zone=zone, group_type_id=gtype.id, host=hosts.pop(),
                        replication_status="disabled", created_at=self.now())
            row.volume_types = [GroupVolumeType(volume_type_id=t.id) for t in vtypes]
            session.add(row)
            session.flush()
            return _group_record(session, row)

    def create_group_from_source(self, caller: CallerLike, *, name: str | None = None,
                                 description: str | None = None,
                                 group_snapshot_id: str | None = None,
                                 source_group_id: str | None = None) -> GroupRecord:
        """A new group (3.14+) with a copy of each volume of ``source_group_id``, or a
        volume from each snapshot of ``group_snapshot_id`` (exactly one is given).

        The group (``available``) and every member volume (``creating``, recorded by
        :meth:`VolumeService.create_volume` with its own ``volume.create`` task) commit in
        one transaction: a refusal of any member leaves nothing behind.

        Raises:
            NotFound: no such source. InvalidArgument: an empty source, a source snapshot
                or volume in the wrong state. QuotaExceeded: over ``groups`` or volumes.
        """
        project_id = caller.project_id
        policy.authorize(caller, "group:create", project_id)
        assert project_id is not None
        if (group_snapshot_id is None) == (source_group_id is None):
            raise errors.InvalidArgument("Invalid input received: give exactly one of "
                                         "group_snapshot_id and source_group_id.")
        from shoal.services.volume._service import VolumeSource  # _service imports this

        with self.db.session() as session:
            origin_id, members = self._sources(session, caller, group_snapshot_id,
                                               source_group_id)
            origin = session.get(Group, origin_id)
            assert origin is not None
            self._check_group_quota(session, project_id)
            row = Group(id=str(uuid.uuid4()), project_id=project_id, user_id=caller.user_id,
                        status="available", name=name, description=description,
                        availability_zone=origin.availability_zone,
                        group_type_id=origin.group_type_id, host=origin.host,
                        group_snapshot_id=group_snapshot_id, source_group_id=source_group_id,
                        replication_status="disabled", created_at=self.now())
            row.volume_types = [GroupVolumeType(volume_type_id=t.volume_type_id)
                                for t in origin.volume_types]
            session.add(row)
            session.flush()
            for size, type_id, source in members:
                self.volumes.create_volume(caller, size=size, volume_type=type_id,
                                           source=VolumeSource(**source), group_id=row.id,
                                           session=session)
            return _group_record(session, row)

    def _sources(self, session: Session, caller: CallerLike, group_snapshot_id: str | None,
                 source_group_id: str | None
                 ) -> tuple[str, list[tuple[int, str | None, VolumeSourceArgs]]]:
        """The group the source belongs to, and per new member: its size (GiB), type id
        and what to copy."""
        if group_snapshot_id is not None:
            gsnap = session.get(GroupSnapshot, group_snapshot_id)
            if gsnap is None or not policy.may_see(caller, gsnap.project_id):
                raise errors.NotFound(f"GroupSnapshot {group_snapshot_id} could not be found.")
            policy.authorize(caller, "group:get_group_snapshot", gsnap.project_id)
            snaps = _member_snapshots(session, gsnap.id)
            if not snaps:
                raise _invalid_group("Group snapshot is empty. No group will be created.")
            members: list[tuple[int, str | None, VolumeSourceArgs]] = []
            for snap in snaps:
                vol = session.get(Volume, snap.volume_id)
                members.append((snap.volume_size, None if vol is None else vol.volume_type_id,
                                {"snapshot_id": snap.id}))
            return gsnap.group_id, members
        assert source_group_id is not None
        source = _visible_group(session, caller, source_group_id, "group:get")
        vols = _members(session, source.id)
        if not vols:
            raise _invalid_group("Source Group is empty. No group will be created.")
        return source.id, [(v.size, v.volume_type_id, {"source_volid": v.id}) for v in vols]

    # --- groups: change --------------------------------------------------------------------
    def update_group(self, caller: CallerLike, group_id: str, *, name: str | None = None,
                     description: str | None = None, add_volumes: str | None = None,
                     remove_volumes: str | None = None) -> None:
        """Rename, describe, add and remove volumes (comma-separated ids), as Cinder checks
        them (module docstring); membership changes at once (no driver work for RBD).

        Raises:
            NotFound: no such group. InvalidArgument: nothing valid to change, a volume in
                both lists, a volume that may not join or leave, the group not
                ``available`` while volumes change.
        """
        with self.db.session() as session:
            row = _visible_group(session, caller, group_id, "group:update")
            name = None if name == row.name else name
            description = None if description == row.description else description
            adding = _id_list(add_volumes)
            removing = _id_list(remove_volumes)
            both = [v for v in adding if v in removing]
            if both:
                raise _invalid_volume(f"UUIDs {both} are in both add and remove volume list.")
            members = {v.id: v for v in _members(session, row.id)}
            to_remove = self._removable(row, members, removing)
            to_add = self._addable(session, caller, row, members, adding)
            if name is None and description is None and not to_add and not to_remove:
                raise _invalid_group(f"Cannot update group {group_id} because no valid name, "
                                     "description, add_volumes, or remove_volumes were "
                                     "provided.")
            if (to_add or to_remove) and row.status != "available":
                raise _invalid_group("Group status must be available.")
            if name is not None:
                row.name = name
            if description is not None:
                row.description = description
            for vol in to_remove:
                vol.group_id = None
            for vol in to_add:
                vol.group_id = row.id
            row.status = "available"
            row.updated_at = self.now()

    @staticmethod
    def _removable(group: Group, members: Mapping[str, Volume], removing: Sequence[str]
                   ) -> list[Volume]:
        out: list[Volume] = []
        for volume_id in removing:
            vol = members.get(volume_id)
            if vol is None:
                raise _invalid_volume(f"Cannot remove volume {volume_id} from group "
                                      f"{group.id} because it is not in the group.")
            if vol.status not in REMOVABLE_STATUSES:
                raise _invalid_volume(
                    f"Cannot remove volume {volume_id} from group {group.id} because volume "
                    f"is in an invalid state: {vol.status}. Valid states are: "
                    f"{REMOVABLE_STATUSES}.")
            out.append(vol)
        return out

    @staticmethod
    def _addable(session: Session, caller: CallerLike, group: Group,
                 members: Mapping[str, Volume], adding: Sequence[str]) -> list[Volume]:
        out: list[Volume] = []
        cannot = "Cannot add volume {} to group " + group.id + " because "
        for volume_id in (v for v in adding if v not in members):
            vol = session.get(Volume, volume_id)
            if vol is None or not policy.may_see(caller, vol.project_id):
                raise _invalid_volume(cannot.format(volume_id) + "volume cannot be found.")
            if vol.group_id is not None:
                raise _invalid_volume(cannot.format(volume_id)
                                      + f"it is already in group {vol.group_id}.")
            if vol.project_id != group.project_id:
                raise _invalid_volume(cannot.format(volume_id)
                                      + "they belong to different projects.")
            if vol.volume_type_id is None:
                raise _invalid_volume(cannot.format(volume_id) + "it has no volume type.")
            if vol.volume_type_id not in {t.volume_type_id for t in group.volume_types}:
                raise _invalid_volume(cannot.format(volume_id) + f"volume type "
                                      f"{vol.volume_type_id} is not supported by the group.")
            if vol.status not in ADDABLE_STATUSES:
                raise _invalid_volume(
                    cannot.format(volume_id) + f"volume is in an invalid state: "
                    f"{vol.status}. Valid states are: {ADDABLE_STATUSES}.")
            if vol.host != group.host:
                raise _invalid_volume("Volume is not local to this node.")
            out.append(vol)
        return out

    def reset_group_status(self, caller: CallerLike, group_id: str, status: str) -> None:
        """``reset_status`` (3.20+, admins): set the status, nothing else."""
        policy.authorize(caller, "group:reset_status")
        if status not in GROUP_SNAPSHOT_STATUSES:
            raise errors.InvalidArgument(
                f"Group status: {status} is invalid, valid statuses are: "
                f"{GROUP_SNAPSHOT_STATUSES}.")
        with self.db.session() as session:
            row = _visible_group(session, caller, group_id, "group:get")
            row.status = status
            row.updated_at = self.now()

    def _mark_deleting(self, rows: Sequence[Volume | Snapshot | Group | GroupSnapshot]
                       ) -> None:
        """Set each row ``deleting`` (a delete task then removes them), stamped now."""
        for row in rows:
            row.status = "deleting"
            row.updated_at = self.now()

    def delete_group(self, caller: CallerLike, group_id: str, *,
                     delete_volumes: bool = False) -> None:
        """Delete a group (202): at once when it has no volumes, else (``delete_volumes``)
        its volumes go ``deleting`` and one ``group.delete`` task removes them and it.

        Raises:
            NotFound: no such group. InvalidArgument: see the module docstring.
        """
        with self.db.session() as session:
            row = _visible_group(session, caller, group_id, "group:delete")
            if row.status == "deleting":
                raise _invalid_group(f"Group {group_id} is already being deleted.")
            if not delete_volumes and row.status not in ("available", "error"):
                raise _invalid_group(f"Group status must be available or error, but current "
                                     f"status is: {row.status}")
            if session.execute(select(GroupSnapshot.id).where(
                    GroupSnapshot.group_id == row.id).limit(1)).first() is not None:
                raise _invalid_group("Group has existing snapshots.")
            if session.execute(select(Group.id).where(
                    Group.source_group_id == row.id,
                    Group.status == "creating").limit(1)).first() is not None:
                raise _invalid_group(f"Cannot delete group {group_id}: it is the source for "
                                     "an ongoing group creation.")
            members = _members(session, row.id)
            if members and not delete_volumes:
                raise _invalid_group(f"Group {group_id} still contains volumes. The "
                                     "delete-volumes flag is required to delete it.")
            self._check_deletable_members(session, row, members)
            if not members:
                session.delete(row)
                return
            self._mark_deleting([*members, row])
            self.runner.submit("group.delete", ResourceRef("group", row.id, row.project_id),
                               {"backend": self.volumes._backend_of(members[0]).section,
                                "volumes": [v.id for v in members]}, session=session)

    @staticmethod
    def _check_deletable_members(session: Session, group: Group, members: Sequence[Volume]
                                 ) -> None:
        for vol in members:
            if any(a.status != "detached" for a in vol.attachments):
                raise _invalid_group(f"Volume in group {group.id} is attached. Need to "
                                     "detach first.")
            if session.execute(select(Snapshot.id).where(
                    Snapshot.volume_id == vol.id).limit(1)).first() is not None:
                raise _invalid_group("Volume in group still has dependent snapshots.")
            if vol.status not in DELETABLE_MEMBER_STATUSES:
                raise _invalid_group(f"Volume {vol.id} in group {group.id} is {vol.status}: "
                                     "wait for its operation to end.")

    # --- group snapshots -------------------------------------------------------------------
    def _visible_snapshot(self, session: Session, caller: CallerLike, group_snapshot_id: str,
                          action: str) -> GroupSnapshot:
        row = session.get(GroupSnapshot, group_snapshot_id)
        if row is None or not policy.may_see(caller, row.project_id):
            raise errors.NotFound(f"GroupSnapshot {group_snapshot_id} could not be found.")
        policy.authorize(caller, action, row.project_id)
        return row

    def create_group_snapshot(self, caller: CallerLike, group_id: str, *,
                              name: str | None = None, description: str | None = None
                              ) -> GroupSnapshotRecord:
        """Record a group snapshot and one snapshot per member volume in ``creating``, and
        start taking them (202; one ``group_snapshot.create`` task).

        Raises:
            NotFound: no such group. InvalidArgument: a member volume not ``available`` or
                ``in-use``. QuotaExceeded: over ``snapshots``/``gigabytes``.
        """
        with self.db.session() as session:
            group = _visible_group(session, caller, group_id, "group:create_group_snapshot")
            members = _members(session, group.id)
            row = GroupSnapshot(id=str(uuid.uuid4()), group_id=group.id,
                                project_id=group.project_id, user_id=caller.user_id,
                                status="creating", name=name, description=description,
                                group_type_id=group.group_type_id, created_at=self.now())
            session.add(row)
            quotas.lock_project(session, group.project_id)
            pairs: list[list[str]] = []
            for vol in members:
                if vol.status not in ("available", "in-use"):
                    raise _invalid_volume(f"Volume {vol.id} status must be available or "
                                          f"in-use, but current status is: {vol.status}.")
                vtype = vol.volume_type
                quotas.check_snapshot(session, group.project_id,
                                      self.volumes.options.quota_defaults, vol.size,
                                      None if vtype is None else vtype.name)
                snap = Snapshot(id=str(uuid.uuid4()), volume_id=vol.id,
                                project_id=group.project_id, user_id=caller.user_id,
                                status="creating", volume_size=vol.size, name=name,
                                description=description, progress="0%", use_quota=True,
                                group_snapshot_id=row.id, created_at=self.now())
                session.add(snap)
                session.flush()
                pairs.append([vol.id, snap.id])
            session.flush()
            if not pairs:
                row.status = "available"
            else:
                self.runner.submit(
                    "group_snapshot.create", ResourceRef("group_snapshot", row.id,
                                                         row.project_id),
                    {"backend": self.volumes._backend_of(members[0]).section,
                     "snapshots": pairs}, session=session)
            return _snapshot_record(session, row)

    def get_group_snapshot(self, caller: CallerLike, group_snapshot_id: str
                           ) -> GroupSnapshotRecord:
        """One group snapshot (404 when absent or another project's, for a non-admin)."""
        with self.db.session(readonly=True) as session:
            return _snapshot_record(session, self._visible_snapshot(
                session, caller, group_snapshot_id, "group:get_group_snapshot"))

    def list_group_snapshots(self, caller: CallerLike, *, all_projects: bool = False
                             ) -> list[GroupSnapshotRecord]:
        """The caller's project's group snapshots (every project's for an admin asking),
        newest first."""
        policy.authorize(caller, "group:get_all_group_snapshots", caller.project_id)
        query = select(GroupSnapshot).order_by(GroupSnapshot.created_at.desc(),
                                               GroupSnapshot.id.desc())
        if not (all_projects and policy.is_admin(caller)):
            query = query.where(GroupSnapshot.project_id == caller.project_id)
        with self.db.session(readonly=True) as session:
            return [_snapshot_record(session, r) for r in session.execute(query).scalars()]

    def reset_group_snapshot_status(self, caller: CallerLike, group_snapshot_id: str,
                                    status: str) -> None:
        """``reset_status`` (3.19+, admins)."""
        policy.authorize(caller, "group:reset_group_snapshot_status")
        if status not in GROUP_SNAPSHOT_STATUSES:
            raise errors.InvalidArgument(
                f"Group snapshot status: {status} is invalid, valid statuses are: "
                f"{GROUP_SNAPSHOT_STATUSES}.")
        with self.db.session() as session:
            row = self._visible_snapshot(session, caller, group_snapshot_id,
                                         "group:get_group_snapshot")
            row.status = status
            row.updated_at = self.now()

    def delete_group_snapshot(self, caller: CallerLike, group_snapshot_id: str) -> None:
        """Start deleting a group snapshot and its member snapshots (202).

        Raises:
            InvalidArgument: not ``available``/``error``, or a group is being made from it.
        """
        with self.db.session() as session:
            row = self._visible_snapshot(session, caller, group_snapshot_id,
                                         "group:delete_group_snapshot")
            busy = session.execute(select(Group.id).where(
                Group.group_snapshot_id == row.id, Group.status == "creating").limit(1)
            ).first() is not None
            if row.status not in ("available", "error") or busy:
                raise errors.InvalidArgument(
                    "Invalid group snapshot: GroupSnapshot status must be available or "
                    "error, and no Group can be currently using it as source for its "
                    "creation.")
            snaps = _member_snapshots(session, row.id)
            if not snaps:
                session.delete(row)
                return
            self._mark_deleting([*snaps, row])
            vol = session.get(Volume, snaps[0].volume_id)
            assert vol is not None  # a volume with snapshots is never deleted
            self.runner.submit(
                "group_snapshot.delete", ResourceRef("group_snapshot", row.id, row.project_id),
                {"backend": self.volumes._backend_of(vol).section,
                 "snapshots": [[s.volume_id, s.id] for s in snaps]}, session=session)


def _id_list(text: str | None) -> list[str]:
    """Cinder's comma-separated id lists (``"a,b,"``); None or empty: none."""
    return [] if not text else [part for part in text.strip(",").split(",") if part]
