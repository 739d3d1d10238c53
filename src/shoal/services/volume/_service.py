"""``VolumeService``: volumes, snapshots and volume types kept in the database, their long
operations run as durable tasks (:mod:`._work`), Cinder's rules and policy enforced here.

Every method takes the caller (:class:`~.policy.CallerLike`) and enforces the policy itself:
a resource of another project is 404 for a non-admin, an action the caller's roles do not
allow is 403. Requests that start work (create, delete, extend, snapshot, revert) write the
resource in its transitional status and the task in one transaction and return at once; a
refusal (bad state 400, over quota 413, unknown source 404) leaves nothing behind.

Messages are Cinder's (``Invalid volume: ...``, ``Volume <id> could not be found.``).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from shoal import errors
from shoal._ids import is_uuid_like
from shoal._time import utcnow
from shoal.db import Database
from shoal.services.tasks import ResourceRef, TaskRunner
from shoal.services.volume import _messages as messages
from shoal.services.volume import policy, quotas
from shoal.services.volume._groups import check_group_member
from shoal.services.volume._rows import snapshot_record, type_record, volume_record
from shoal.services.volume._scheduler import backend_passes
from shoal.services.volume._upload import UploadRequest, UploadStarted, VolumeUploads
from shoal.services.volume._work import ImageData, ImageSource
from shoal.services.volume.models import (
    ServiceState,
    Snapshot,
    SnapshotMetadata,
    Volume,
    VolumeMetadata,
    VolumeType,
    VolumeTypeExtraSpec,
)
from shoal.services.volume.policy import CallerLike
from shoal.services.volume.records import SnapshotRecord, VolumeRecord, VolumeTypeRecord

__all__ = ["DEFAULT_TYPE_NAME", "Backend", "VolumeMaker", "VolumeOptions", "VolumeService",
           "VolumeSource"]

#: Cinder's default volume type, made at first start (``default_volume_type``).
DEFAULT_TYPE_NAME: Final = "__DEFAULT__"
#: Statuses a volume may be deleted from (Cinder's ``volume.api.API.delete``).
DELETABLE_STATUSES: Final = ("available", "error", "error_restoring", "error_extending",
                             "error_managing")
GiB: Final = 1 << 30


@dataclass(frozen=True)
class Backend:
    """One ``enabled_backends`` section: its name, ``volume_backend_name`` and host string.

    ``host`` is Cinder's ``HOST@SECTION#POOL`` (the pool is ``volume_backend_name``).
    ``capabilities`` are what its driver reports that does not change while it runs
    (``vendor_name``, ``storage_protocol``, ``multiattach``...: the driver's
    ``capabilities``); a type's extra specs are matched against them and
    ``volume_backend_name`` (:mod:`._scheduler`).
    """

    section: str
    backend_name: str
    host: str
    capabilities: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def reported(self) -> dict[str, Any]:
        """The capabilities the scheduler matches a type against (with
        ``volume_backend_name``, always this backend's)."""
        return {**self.capabilities, "volume_backend_name": self.backend_name}


@dataclass(frozen=True)
class VolumeOptions:
    """The deployment's volume settings (``cinder.conf``): backends in ``enabled_backends``
    order (the first is the default's), the availability zone, the default type, quotas."""

    backends: tuple[Backend, ...]
    availability_zone: str = "nova"
    default_type: str = DEFAULT_TYPE_NAME
    quota_defaults: quotas.QuotaDefaults = field(default_factory=quotas.QuotaDefaults)


@dataclass(frozen=True)
class VolumeSource:
    """Where a new volume's data comes from: at most one of the three ids (none: blank)."""

    image_id: str | None = None
    snapshot_id: str | None = None
    source_volid: str | None = None


#: What starts making a new volume's image when another service fills it (a volume made
#: from a backup): called instead of submitting ``volume.create``, in the create's
#: transaction, with the new row (``creating``, its quota taken) and its backend; it
#: submits its own task (and may refuse: the whole create is then rolled back).
VolumeMaker = Callable[[Session, Volume, Backend], None]


def _not_found(kind: str, ident: str) -> errors.NotFound:
    label = {"volume": "Volume", "snapshot": "Snapshot"}[kind]
    return errors.NotFound(f"{label} {ident} could not be found.")


def _invalid_volume(reason: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(f"Invalid volume: {reason}")


def _invalid_input(reason: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(f"Invalid input received: {reason}")


def _invalid_image(message: str) -> errors.InvalidArgument:
    """Cinder's ImageUnacceptable (400), worded as it is (no "Invalid input" prefix)."""
    return errors.InvalidArgument(message)


class VolumeService:
    """Volumes, snapshots and types of one deployment (see the module docstring).

    ``images`` reads Glance images without an HTTP hop; ``runner`` must have the handlers of
    :class:`~._work.VolumeWork` registered.
    """

    #: ``os-volume_upload_image`` (set by the deployment when an image service is there).
    uploads: VolumeUploads | None = None

    def __init__(self, db: Database, runner: TaskRunner, images: ImageSource,
                 options: VolumeOptions, now: Callable[[], datetime] = utcnow) -> None:
        if not options.backends:
            raise ValueError("the volume service needs at least one backend")
        self.db = db
        self.runner = runner
        self.images = images
        self.options = options
        self.now = now

    # --- volume types ----------------------------------------------------------------------
    def ensure_default_type(self) -> VolumeTypeRecord:
        """Make the default type if it is missing (first start); return it."""
        with self.db.session() as session:
            row = session.execute(select(VolumeType).where(
                VolumeType.name == self.options.default_type)).scalar_one_or_none()
            if row is None:
                row = VolumeType(id=str(uuid.uuid4()), name=self.options.default_type,
                                 description="Default Volume Type", is_public=True,
                                 created_at=self.now())
                session.add(row)
                session.flush()
            return type_record(row)

    def list_types(self, caller: CallerLike) -> list[VolumeTypeRecord]:
        """The types the caller may use: public ones, private ones shared with its project
        (every type for an admin), by name."""
        policy.authorize(caller, "volume_extension:type_get")
        with self.db.session(readonly=True) as session:
            rows = session.execute(select(VolumeType).order_by(VolumeType.name)).scalars()
            return [type_record(r) for r in rows if r.is_public or policy.is_admin(caller)
                    or any(p.project_id == caller.project_id for p in r.projects)]

    def get_type(self, caller: CallerLike, ref: str | None) -> VolumeTypeRecord:
        """The type with id or name ``ref`` (None: the default type); 404 if not visible."""
        policy.authorize(caller, "volume_extension:type_get")
        with self.db.session(readonly=True) as session:
            return type_record(self._type_by_ref(session, caller, ref))

    def resolve_image(self, caller: CallerLike, ref: str, kind: str) -> str:
        """The id of the image ``ref`` names (``kind`` ``id`` or ``name``), as Cinder does.

        Raises:
            InvalidArgument: no image has that name (400, Cinder's message).
            AlreadyExists: several do (409: use an id).
        """
        if kind == "id":
            return ref
        found = self.images.find_by_name(ref, caller.project_id)
        if not found:
            raise errors.InvalidArgument("Invalid image identifier or unable to access "
                                         "requested image.")
        if len(found) > 1:
            raise errors.AlreadyExists(f"Multiple matches found for '{ref}', use an ID to be "
                                       "more specific.")
        return found[0].id

    def _type_by_ref(self, session: Session, caller: CallerLike, ref: str | None) -> VolumeType:
        """The type named or identified by ``ref`` (None or empty: the default type)."""
        name = ref or self.options.default_type
        row = session.get(VolumeType, name)
        if row is None:
            row = session.execute(select(VolumeType).where(
                VolumeType.name == name)).scalar_one_or_none()
        visible = row is not None and (row.is_public or policy.is_admin(caller) or any(
            p.project_id == caller.project_id for p in row.projects))
        if row is None or not visible:
            if is_uuid_like(name):  # Cinder's get_by_name_or_id: a UUID is looked up as an id
                raise errors.NotFound(f"Volume type {name} could not be found.")
            raise errors.NotFound(f"Volume type with name {name} could not be found.")
        return row

    def _backends_for(self, vtype: VolumeType) -> list[Backend]:
        """The enabled backends that may hold a volume of ``vtype`` (Cinder's
        ``CapabilitiesFilter`` over its extra specs), in ``enabled_backends`` order, less
        those whose ``cinder-volume`` an admin disabled (or froze): Cinder's scheduler
        only weighs services that are up and enabled."""
        specs = {s.key: s.value for s in vtype.extra_specs}
        session = object_session(vtype)
        disabled = set() if session is None else _disabled_hosts(session)
        return [b for b in self.options.backends
                if b.host.partition("#")[0] not in disabled
                and backend_passes(b.reported(), specs)]

    # --- volumes: reading ------------------------------------------------------------------
    def _visible_volume(self, session: Session, caller: CallerLike, volume_id: str,
                        action: str) -> Volume:
        row = session.get(Volume, volume_id)
        if row is None or not policy.may_see(caller, row.project_id):
            raise _not_found("volume", volume_id)
        policy.authorize(caller, action, row.project_id)
        return row

    def get_volume(self, caller: CallerLike, volume_id: str) -> VolumeRecord:
        """One volume (404 when absent or another project's, for a non-admin)."""
        with self.db.session(readonly=True) as session:
            return volume_record(self._visible_volume(session, caller, volume_id,
                                                      "volume:get"))

    def list_volumes(self, caller: CallerLike, *, all_projects: bool = False,
                     project_id: str | None = None) -> list[VolumeRecord]:
        """The caller's project's volumes, newest first (admin with ``all_projects``: every
        project's, or ``project_id``'s). Filtering and paging: :mod:`shoal.api.cinder.query`.
        """
        policy.authorize(caller, "volume:get_all", caller.project_id)
        query = select(Volume).order_by(Volume.created_at.desc(), Volume.id.desc())
        if all_projects and policy.is_admin(caller):
            if project_id is not None:
                query = query.where(Volume.project_id == project_id)
        else:
            query = query.where(Volume.project_id == caller.project_id)
        with self.db.session(readonly=True) as session:
            return [volume_record(row) for row in session.execute(query).scalars()]

    # --- upload to image (:mod:`._upload`) ----------------------------------------------
    def upload_to_image(self, caller: CallerLike, volume_id: str, request: UploadRequest
                        ) -> UploadStarted:
        """``os-volume_upload_image``: create the image and start copying (202).

        Raises: as :meth:`._upload.VolumeUploads.start`; NotSupported (501) without an
        image service to write to.
        """
        if self.uploads is None:
            raise errors.NotSupported("Uploading a volume to an image needs the image "
                                      "service, which this deployment does not serve.")
        return self.uploads.start(caller, volume_id, request)

    def backend_section(self, row: Volume) -> str:
        """The ``enabled_backends`` section volume ``row`` lives on."""
        return self._backend_of(row).section

    # --- volumes: create -------------------------------------------------------------------
    def create_volume(
        self, caller: CallerLike, *, size: int | None, name: str | None = None,
        description: str | None = None, volume_type: str | None = None,
        availability_zone: str | None = None, metadata: Mapping[str, str] | None = None,
        source: VolumeSource = VolumeSource(), multiattach: bool = False,
        group_id: str | None = None, session: Session | None = None,
        maker: VolumeMaker | None = None,
    ) -> VolumeRecord:
        """Record a new volume in ``creating`` and start making it (202).

        ``size`` is GiB; it may be None when the volume copies a snapshot or a volume (it then
        has the source's size). The source must be visible to the caller and usable: a
        snapshot ``available``, a volume ``available`` or ``in-use``, an image ``active``
        and no larger than the volume (nor its ``min_disk``).

        The volume goes to the first enabled backend its type's extra specs pass
        (:mod:`._scheduler`). When none does, the volume is still made, in ``error`` without
        a host, with a user message saying so (Cinder's ``NoValidBackend`` after its
        scheduler ran); it takes quota until deleted.

        Raises:
            PolicyNotAuthorized: the caller may not create volumes (a reader).
            NotFound: the type, snapshot, volume or image does not exist for the caller.
            InvalidArgument: a size smaller than the source's, a source in the wrong state, an
                unknown availability zone, no size where one is needed.
            QuotaExceeded: over the project's ``volumes``/``gigabytes``/per-volume limits.

        ``group_id`` (3.13+) puts the volume in that group (:func:`._groups.check_group_member`);
        ``session``: record it in that transaction (a group's members all in one), else in
        a transaction of its own. ``maker`` (:data:`VolumeMaker`): another service makes
        the image (``source`` is then blank and ``size`` must be given); a volume no
        backend takes is in ``error`` and ``maker`` is not called.
        """
        project_id = caller.project_id
        if project_id is None:
            raise policy.PolicyNotAuthorized("Policy doesn't allow volume:create to be "
                                             "performed.")
        policy.authorize(caller, "volume:create", project_id)
        zone = availability_zone or self.options.availability_zone
        if zone != self.options.availability_zone:
            raise _invalid_input(f"Availability zone '{zone}' is invalid.")
        image = None if source.image_id is None else self.images.image(
            source.image_id, project_id, is_admin=policy.is_admin(caller))
        scope: contextlib.AbstractContextManager[Session] = (
            self.db.session() if session is None else contextlib.nullcontext(session))
        with scope as session:
            vtype = self._type_by_ref(session, caller, volume_type) if volume_type else (
                _inherited_type(session, source, image)
                or self._type_by_ref(session, caller, None))
            backends = self._backends_for(vtype)
            if group_id is not None:
                check_group_member(session, caller, group_id, vtype,
                                   type_given=volume_type is not None)
            size, task_source = self._source(session, caller, size, source, image)
            quotas.lock_project(session, project_id)
            quotas.check_volume(session, project_id, self.options.quota_defaults, size,
                                vtype.name)
            volume_id = str(uuid.uuid4())
            row = Volume(
                id=volume_id, project_id=project_id, user_id=caller.user_id, status="creating",
                size=size, name=name, description=description, availability_zone=zone,
                volume_type_id=vtype.id, snapshot_id=source.snapshot_id,
                source_volid=source.source_volid, image_id=source.image_id,
                bootable=False, multiattach=multiattach,
                host=backends[0].host if backends else None,
                use_quota=True, group_id=group_id, created_at=self.now())
            row.metadata_items = [VolumeMetadata(kind="user", key=k, value=v)
                                  for k, v in sorted((metadata or {}).items())]
            _inherit_image_metadata(session, row)
            session.add(row)
            session.flush()
            if not backends:
                self._unschedulable(session, row)
                return volume_record(row)
            backend = backends[0]
            if maker is not None:
                maker(session, row, backend)
                session.flush()
                return volume_record(row)
            self.runner.submit("volume.create", ResourceRef("volume", volume_id, project_id),
                               {"backend": backend.section, "size": size,
                                "source": task_source}, session=session)
            return volume_record(row)

    def _unschedulable(self, session: Session, row: Volume) -> None:
        """No enabled backend passes the volume's type: the volume stays, in ``error`` and
        without a host, and its project gets Cinder's user message (``schedule allocate
        volume: Could not find any available weighted backend.``), as Cinder's scheduler
        does with ``NoValidBackend``; its quota stays taken until it is deleted."""
        row.status = "error"
        messages.record(session, project_id=row.project_id, resource_uuid=row.id,
                        action=messages.SCHEDULE_ALLOCATE_VOLUME,
                        detail=messages.NO_BACKEND_AVAILABLE, now=self.now())

    def _source(self, session: Session, caller: CallerLike, size: int | None,
                source: VolumeSource, image: ImageData | None
                ) -> tuple[int, dict[str, str]]:
        """Check the new volume's source; return its size (GiB) and the task's source."""
        if source.snapshot_id is not None:
            snap = session.get(Snapshot, source.snapshot_id)
            if snap is None or not policy.may_see(caller, snap.project_id):
                raise _not_found("snapshot", source.snapshot_id)
            if snap.status != "available":
                raise errors.InvalidArgument("Invalid snapshot: Originating snapshot status "
                                             "must be one of 'available' values")
            if size is None:
                size = snap.volume_size
            if size < snap.volume_size:
                raise _invalid_input(
                    f"Volume size '{size}'GB cannot be smaller than the snapshot size "
                    f"{snap.volume_size}GB. They must be >= original snapshot size.")
            return size, {"kind": "snapshot", "id": snap.id, "volume_id": snap.volume_id}
        if source.source_volid is not None:
            src = session.get(Volume, source.source_volid)
            if src is None or not policy.may_see(caller, src.project_id):
                raise _not_found("volume", source.source_volid)
            if src.status not in ("available", "in-use"):
                raise _invalid_volume(
                    f"Unable to create a volume from an originating source volume when its "
                    f"status is {src.status}")
            if size is None:
                size = src.size
            if size < src.size:
                raise _invalid_input(
                    f"Volume size '{size}'GB cannot be smaller than original volume size "
                    f"{src.size}GB. They must be >= original volume size.")
            return size, {"kind": "volume", "id": src.id}
        if size is None:
            raise _invalid_input("Size of the volume must be given unless it is made from a "
                                 "snapshot or a volume")
        if image is not None:
            _check_image_fits(image, size)
            problem = self.images.unacceptable(image.id)
            if problem is not None:  # Cinder's ImageUnacceptable, here before any record
                raise _invalid_image(f"Image {image.id} is unacceptable: {problem}")
            return size, {"kind": "image", "id": image.id}
        return size, {"kind": "blank"}

    def add_volume_row(self, session: Session, caller: CallerLike, *, size: int,
                       name: str | None, description: str | None, status: str
                       ) -> tuple[Volume, Backend]:
        """Insert a volume of the default type in ``status``, its quota checked, for a
        service that makes the volume's image itself (a backup restore's new volume), in
        that service's transaction; the caller submits the task that makes the image.

        Raises:
            PolicyNotAuthorized: the caller may not create volumes.
            InvalidArgument: no enabled backend passes the default type's capabilities.
            QuotaExceeded: over the project's ``volumes``/``gigabytes`` limits.
        """
        project_id = caller.project_id
        if project_id is None:
            raise policy.PolicyNotAuthorized("Policy doesn't allow volume:create to be "
                                             "performed.")
        policy.authorize(caller, "volume:create", project_id)
        vtype = self._type_by_ref(session, caller, None)
        backends = self._backends_for(vtype)
        if not backends:
            raise errors.InvalidArgument(
                "No valid backend was found. No valid backends for a volume of the default "
                f"type {vtype.name}: no enabled backend passes its capabilities")
        backend = backends[0]
        quotas.lock_project(session, project_id)
        quotas.check_volume(session, project_id, self.options.quota_defaults, size, vtype.name)
        row = Volume(id=str(uuid.uuid4()), project_id=project_id, user_id=caller.user_id,
                     status=status, size=size, name=name, description=description,
                     availability_zone=self.options.availability_zone,
                     volume_type_id=vtype.id, bootable=False, multiattach=False,
                     host=backend.host, use_quota=True, created_at=self.now())
        session.add(row)
        session.flush()
        return row, backend

    # --- volumes: change -------------------------------------------------------------------
    def update_volume(self, caller: CallerLike, volume_id: str, *,
                      changes: Mapping[str, str | None]) -> VolumeRecord:
        """Set ``name`` and/or ``description`` (``changes`` holds only those keys)."""
        with self.db.session() as session:
            row = self._visible_volume(session, caller, volume_id, "volume:update")
            for key in ("name", "description"):
                if key in changes:
                    setattr(row, key, changes[key])
            row.updated_at = self.now()
            session.flush()
            return volume_record(row)

    def delete_volume(self, caller: CallerLike, volume_id: str, *, cascade: bool = False,
                      force: bool = False) -> None:
        """Start deleting a volume (202): its status must allow it (Cinder's rules).

        ``cascade`` deletes its snapshots first (they must not be busy); ``force`` (admins)
        deletes from any state but ``in-use`` with attachments.

        Raises:
            InvalidArgument: attached, migrating, has snapshots without ``cascade``, or a
                status other than those of :data:`DELETABLE_STATUSES` without ``force``.
        """
        with self.db.session() as session:
            row = self._visible_volume(session, caller, volume_id,
                                       "volume:force_delete" if force else "volume:delete")
            _refuse_if_frozen(session, row)
            attached = any(a.status != "detached" for a in row.attachments)
            if attached or row.group_id is not None or (
                    not force and row.status not in DELETABLE_STATUSES) or (
                    row.migration_status not in (None, "success", "error")):
                raise _invalid_volume(
                    "Volume status must be available or error or error_restoring or "
                    "error_extending or error_managing and must not be migrating, attached, "
                    "belong to a group, have snapshots, awaiting a transfer, or be "
                    "disassociated from snapshots after volume transfer.")
            snaps = list(session.execute(select(Snapshot).where(
                Snapshot.volume_id == volume_id)).scalars())
            if snaps and not cascade:
                raise _invalid_volume(
                    "Volume status must be available or error or error_restoring or "
                    "error_extending or error_managing and must not be migrating, attached, "
                    "belong to a group, have snapshots, awaiting a transfer, or be "
                    "disassociated from snapshots after volume transfer.")
            if any(s.status not in ("available", "error") for s in snaps):
                raise _invalid_volume("Snapshot of volume not in a valid state: it must be "
                                      "available or error to be deleted with the volume")
            if row.host is None:
                _delete_unscheduled(session, row)
                return
            if any(s.group_snapshot_id is not None for s in snaps):
                raise _invalid_volume("Snapshot of volume is part of a group snapshot: "
                                      "delete the group snapshot first")
            for snap in snaps:
                snap.status = "deleting"
                snap.updated_at = self.now()
            row.status = "deleting"
            row.updated_at = self.now()
            self.runner.submit("volume.delete",
                               ResourceRef("volume", volume_id, row.project_id),
                               {"backend": self._backend_of(row).section,
                                "cascade": [s.id for s in snaps]}, session=session)

    def _backend_of(self, row: Volume) -> Backend:
        for backend in self.options.backends:
            if backend.host == row.host:
                return backend
        raise errors.Unavailable(f"volume {row.id} lives on host {row.host}, which is not an "
                                 "enabled backend of this deployment")

    def extend_volume(self, caller: CallerLike, volume_id: str, new_size: int, *,
                      attached_allowed: bool = False) -> None:
        """Start growing a volume to ``new_size`` GiB (202).

        ``attached_allowed`` (microversion 3.42+) lets an ``in-use`` volume grow too.

        Raises:
            InvalidArgument: the volume is not ``available`` (or ``in-use`` when allowed), or
                ``new_size`` is not larger than its size.
            QuotaExceeded: the extra GiB exceed ``gigabytes`` or the per-volume limit.
        """
        with self.db.session() as session:
            row = self._visible_volume(session, caller, volume_id, "volume:extend")
            _refuse_if_frozen(session, row)
            allowed = ("available", "in-use") if attached_allowed else ("available",)
            if row.status not in allowed:
                wanted = " or ".join(f"'{s}'" for s in allowed)
                raise _invalid_volume(f"Volume {volume_id} status must be {wanted} to extend, "
                                      f"but current status is: {row.status}.")
            if new_size <= row.size:
                raise _invalid_input(f"New size for extend must be greater than current size. "
                                     f"(current: {row.size}, extended: {new_size}).")
            if row.use_quota:
                quotas.lock_project(session, row.project_id)
                vtype = row.volume_type
                quotas.check_volume(session, row.project_id, self.options.quota_defaults,
                                    new_size - row.size, None if vtype is None else vtype.name)
            row.previous_status = row.status
            row.status = "extending"
            row.updated_at = self.now()
            self.runner.submit("volume.extend", ResourceRef("volume", volume_id,
                                                            row.project_id),
                               {"backend": self._backend_of(row).section,
                                "new_size": new_size}, session=session)

    # --- volumes: retype -------------------------------------------------------------------
    def retype_volume(self, caller: CallerLike, volume_id: str, new_type: str, *,
                      migration_policy: str = "never") -> VolumeRecord:
        """``os-retype``: give the volume type ``new_type`` (a name or an id; 202).

        Cinder's rules, in its order: the type must exist (any type, private ones too);
        the volume's size must fit the type's ``provisioning:min_vol_size`` /
        ``max_vol_size``; a change of ``multiattach`` (``<is> True``) needs an
        ``available`` volume; the type's per-type quotas must take the volume and its
        snapshots; the volume must be ``available`` or ``in-use``, not migrating, of
        another type. Then the new type is scheduled (:mod:`._scheduler`): when the
        volume's backend still passes, only the type changes (and the ``multiattach`` flag;
        snapshots take their type from their volume), as the RBD driver's retype needs
        nothing done on the image. Not checked yet: front-end QoS changes of an ``in-use``
        volume and encryption changes (Cinder refuses the first, migrates for the second).

        Differences from Cinder: the answer is synchronous. Cinder answers 202 and its
        scheduler then puts the volume back to its status when no backend passes
        (``NoValidBackend``); here that is a 400 with the scheduler's reason, and the volume
        is untouched. A retype that needs a migration (another backend passes, policy
        ``on-demand``) is 501: shoal does not migrate volumes.

        Raises:
            NotFound: no such volume for the caller.
            InvalidArgument: no such type, a size outside the type's limits, a
                ``multiattach`` change of a volume that is not ``available``, the volume's
                status or type, no backend for the type, or a migration that
                ``migration_policy`` ``never`` forbids.
            QuotaExceeded: over ``volumes_T``, ``gigabytes_T`` or ``snapshots_T``.
            NotSupported: the retype needs a migration.
        """
        with self.db.session() as session:
            row = self._visible_volume(session, caller, volume_id, "volume:retype")
            vtype = self._retype_target(session, new_type)
            _check_type_size(vtype, row.size)
            specs = {s.key: s.value for s in vtype.extra_specs}
            to_multiattach = specs.get("multiattach", "False") == "<is> True"
            if to_multiattach != row.multiattach and row.status != "available":
                raise _invalid_input(
                    "Invalid volume_type passed, retypes affecting multiattach are only "
                    "allowed on available volumes, the specified volume however currently "
                    f"has a status of: {row.status}.")
            snaps = list(session.execute(select(Snapshot).where(
                Snapshot.volume_id == volume_id)).scalars())
            if row.use_quota:
                quotas.lock_project(session, row.project_id)
                quotas.check_type_move(
                    session, row.project_id, self.options.quota_defaults, vtype.name,
                    row.size, sum(s.volume_size for s in snaps if s.use_quota),
                    sum(1 for s in snaps if s.use_quota))
            if (row.status not in ("available", "in-use")
                    or row.migration_status not in (None, "deleting", "error", "success")
                    or row.volume_type_id == vtype.id):
                raise _invalid_volume(
                    "Retype needs volume to be in available or in-use state, not be part of "
                    "an active migration or a consistency group, requested type has to be "
                    "different that the one from the volume, and for in-use volumes "
                    "front-end qos specs cannot change.")
            self._retype_backend(row, vtype, migration_policy)
            row.volume_type_id = vtype.id
            row.volume_type = vtype
            row.multiattach = to_multiattach
            row.updated_at = self.now()
            session.flush()
            return volume_record(row)

    def _retype_target(self, session: Session, ref: str) -> VolumeType:
        """The type ``os-retype`` names (any type, as Cinder looks it up elevated)."""
        row = session.get(VolumeType, ref)
        if row is None:
            row = session.execute(select(VolumeType).where(
                VolumeType.name == ref)).scalar_one_or_none()
        if row is None:
            raise _invalid_input(f"Invalid volume_type passed: {ref}.")
        return row

    def _retype_backend(self, row: Volume, vtype: VolumeType, migration_policy: str) -> None:
        """Check that the volume may keep its backend under ``vtype`` (Cinder's
        ``find_retype_backend``, with the volume's own backend first)."""
        passing = self._backends_for(vtype)
        if not passing:
            raise errors.InvalidArgument(
                f"No valid backend was found. No valid backends for volume {row.id} with "
                f"type {vtype.name}")
        if any(b.host == row.host for b in passing):
            return
        if migration_policy == "never":
            raise errors.InvalidArgument(
                f"No valid backend was found. Current backend not valid for volume {row.id} "
                f"with type {vtype.name}, migration not allowed")
        raise errors.NotSupported(
            f"Retype of volume {row.id} to type {vtype.name} needs a migration to "
            f"{passing[0].host}, and volume migration is not served.")

    def set_bootable(self, caller: CallerLike, volume_id: str, bootable: bool) -> None:
        """``os-set_bootable``."""
        with self.db.session() as session:
            row = self._visible_volume(session, caller, volume_id, "volume:update")
            row.bootable = bootable
            row.updated_at = self.now()

    def reset_status(self, caller: CallerLike, volume_id: str, *, status: str | None,
                     attach_status: str | None, migration_status: str | None) -> None:
        """``os-reset_status`` (admins): set the statuses as given, nothing else."""
        policy.authorize(caller, "volume_extension:volume_admin_actions:reset_status")
        with self.db.session() as session:
            row = self._visible_volume(session, caller, volume_id, "volume:get")
            if status is not None:
                row.status = status
            if migration_status is not None:
                row.migration_status = None if migration_status == "none" \
                    else migration_status
            if attach_status == "detached":
                row.attachments.clear()
            row.updated_at = self.now()

    def reset_snapshot_status(self, caller: CallerLike, snapshot_id: str, status: str) -> None:
        """``os-reset_status`` of a snapshot (admins)."""
        policy.authorize(caller, "volume_extension:snapshot_admin_actions:reset_status")
        with self.db.session() as session:
            row = self._visible_snapshot(session, caller, snapshot_id, "volume:get_snapshot")
            row.status = status
            row.updated_at = self.now()

    # --- metadata --------------------------------------------------------------------------
    def metadata(self, caller: CallerLike, volume_id: str, kind: str = "user"
                 ) -> dict[str, str]:
        """A volume's metadata of ``kind`` (``user``; ``image``: volume_image_metadata)."""
        action = "volume:get_volume_metadata" if kind == "user" else \
            "volume_extension:volume_image_metadata:show"
        with self.db.session(readonly=True) as session:
            row = self._visible_volume(session, caller, volume_id, action)
            return {m.key: m.value for m in row.metadata_items if m.kind == kind}

    def set_metadata(self, caller: CallerLike, volume_id: str, values: Mapping[str, str], *,
                     replace: bool, kind: str = "user") -> dict[str, str]:
        """Merge ``values`` into (or with ``replace``, make them) the volume's metadata of
        ``kind``; returns the whole metadata of that kind after the change."""
        action = "volume:update_volume_metadata" if kind == "user" else \
            "volume_extension:volume_image_metadata:set"
        with self.db.session() as session:
            row = self._visible_volume(session, caller, volume_id, action)
            current = {m.key: m for m in row.metadata_items if m.kind == kind}
            if replace:
                for key, item in current.items():
                    if key not in values:
                        row.metadata_items.remove(item)
            for key, value in values.items():
                if key in current:
                    current[key].value = value
                else:
                    row.metadata_items.append(VolumeMetadata(kind=kind, key=key, value=value))
            row.updated_at = self.now()
            session.flush()
            return {m.key: m.value for m in row.metadata_items if m.kind == kind}

    def delete_metadata(self, caller: CallerLike, volume_id: str, key: str, *,
                        kind: str = "user") -> None:
        """Remove one key (404 when absent, with Cinder's message)."""
        action = "volume:delete_volume_metadata" if kind == "user" else \
            "volume_extension:volume_image_metadata:remove"
        with self.db.session() as session:
            row = self._visible_volume(session, caller, volume_id, action)
            found = [m for m in row.metadata_items if m.kind == kind and m.key == key]
            if not found:
                if kind == "image":
                    raise errors.NotFound(f"Glance metadata for volume/snapshot {volume_id} "
                                          "cannot be found.")
                raise errors.NotFound(f"Volume {volume_id} has no metadata with key {key}.")
            row.metadata_items.remove(found[0])
            row.updated_at = self.now()

    def snapshot_metadata(self, caller: CallerLike, snapshot_id: str) -> dict[str, str]:
        """A snapshot's metadata."""
        with self.db.session(readonly=True) as session:
            row = self._visible_snapshot(session, caller, snapshot_id,
                                         "volume:get_snapshot_metadata")
            return {m.key: m.value for m in row.metadata_items}

    def set_snapshot_metadata(self, caller: CallerLike, snapshot_id: str,
                              values: Mapping[str, str], *, replace: bool) -> dict[str, str]:
        """Merge (or replace) a snapshot's metadata; returns all of it after."""
        with self.db.session() as session:
            row = self._visible_snapshot(session, caller, snapshot_id,
                                         "volume:update_snapshot_metadata")
            current = {m.key: m for m in row.metadata_items}
            if replace:
                for key, item in current.items():
                    if key not in values:
                        row.metadata_items.remove(item)
            for key, value in values.items():
                if key in current:
                    current[key].value = value
                else:
                    row.metadata_items.append(SnapshotMetadata(key=key, value=value))
            session.flush()
            return {m.key: m.value for m in row.metadata_items}

    def delete_snapshot_metadata(self, caller: CallerLike, snapshot_id: str, key: str) -> None:
        """Remove one key of a snapshot's metadata (404 when absent)."""
        with self.db.session() as session:
            row = self._visible_snapshot(session, caller, snapshot_id,
                                         "volume:delete_snapshot_metadata")
            found = [m for m in row.metadata_items if m.key == key]
            if not found:
                raise errors.NotFound(f"Snapshot {snapshot_id} has no metadata with key "
                                      f"{key}.")
            row.metadata_items.remove(found[0])

    # --- snapshots -------------------------------------------------------------------------
    def create_snapshot(self, caller: CallerLike, volume_id: str, *, name: str | None = None,
                        description: str | None = None,
                        metadata: Mapping[str, str] | None = None,
                        force: bool = False) -> SnapshotRecord:
        """Record a snapshot of a volume in ``creating`` and start taking it (202).

        The volume must be ``available`` (or ``in-use`` with ``force``).

        Raises:
            NotFound: no such volume for the caller.
            InvalidArgument: the volume's status does not allow it.
            QuotaExceeded: over ``snapshots`` or ``gigabytes``.
        """
        with self.db.session() as session:
            vol = self._visible_volume(session, caller, volume_id, "volume:create_snapshot")
            _refuse_if_frozen(session, vol)
            allowed = ("available", "in-use") if force else ("available",)
            if vol.status not in allowed:
                raise _invalid_volume(f"Volume {volume_id} status must be available, but "
                                      f"current status is: {vol.status}.")
            project_id = vol.project_id
            quotas.lock_project(session, project_id)
            vtype = vol.volume_type
            quotas.check_snapshot(session, project_id, self.options.quota_defaults, vol.size,
                                  None if vtype is None else vtype.name)
            snap = Snapshot(
                id=str(uuid.uuid4()), volume_id=volume_id, project_id=project_id,
                user_id=caller.user_id, status="creating", volume_size=vol.size, name=name,
                description=description, progress="0%", use_quota=True,
                created_at=self.now())
            snap.metadata_items = [SnapshotMetadata(key=k, value=v)
                                   for k, v in sorted((metadata or {}).items())]
            session.add(snap)
            session.flush()
            self.runner.submit("snapshot.create",
                               ResourceRef("snapshot", snap.id, project_id),
                               {"backend": self._backend_of(vol).section,
                                "volume_id": volume_id}, session=session)
            return snapshot_record(snap, vol.availability_zone)

    def _visible_snapshot(self, session: Session, caller: CallerLike, snapshot_id: str,
                          action: str) -> Snapshot:
        row = session.get(Snapshot, snapshot_id)
        if row is None or not policy.may_see(caller, row.project_id):
            raise _not_found("snapshot", snapshot_id)
        policy.authorize(caller, action, row.project_id)
        return row

    def get_snapshot(self, caller: CallerLike, snapshot_id: str) -> SnapshotRecord:
        """One snapshot (404 when absent or another project's, for a non-admin)."""
        with self.db.session(readonly=True) as session:
            row = self._visible_snapshot(session, caller, snapshot_id, "volume:get_snapshot")
            vol = session.get(Volume, row.volume_id)
            return snapshot_record(row, None if vol is None else vol.availability_zone)

    def list_snapshots(self, caller: CallerLike, *, all_projects: bool = False
                       ) -> list[SnapshotRecord]:
        """The caller's project's snapshots (every project's for an admin asking), newest
        first."""
        policy.authorize(caller, "volume:get_all_snapshots", caller.project_id)
        query = select(Snapshot, Volume.availability_zone).join(
            Volume, Snapshot.volume_id == Volume.id).order_by(
            Snapshot.created_at.desc(), Snapshot.id.desc())
        if not (all_projects and policy.is_admin(caller)):
            query = query.where(Snapshot.project_id == caller.project_id)
        with self.db.session(readonly=True) as session:
            return [snapshot_record(snap, zone) for snap, zone in session.execute(query)]

    def update_snapshot(self, caller: CallerLike, snapshot_id: str, *,
                        changes: Mapping[str, str | None]) -> SnapshotRecord:
        """Set a snapshot's ``name`` and/or ``description``."""
        with self.db.session() as session:
            row = self._visible_snapshot(session, caller, snapshot_id,
                                         "volume:update_snapshot")
            for key in ("name", "description"):
                if key in changes:
                    setattr(row, key, changes[key])
            row.updated_at = self.now()
            session.flush()
            vol = session.get(Volume, row.volume_id)
            return snapshot_record(row, None if vol is None else vol.availability_zone)

    def project_limits(self, caller: CallerLike) -> tuple[dict[str, int], dict[str, int]]:
        """The caller's project's limits and usage (``GET /limits``)."""
        policy.authorize(caller, "limits_extension:used_limits", caller.project_id)
        project_id = caller.project_id or ""
        with self.db.session(readonly=True) as session:
            limits = quotas.limits_for(session, project_id, self.options.quota_defaults)
            usage = quotas.usage_for(session, project_id)
        in_use = {r: usage.in_use(r) for r in ("volumes", "gigabytes", "snapshots",
                                               "backups", "backup_gigabytes")}
        return limits, in_use

    def update_snapshot_status(self, caller: CallerLike, snapshot_id: str, status: str,
                               progress: str | None) -> None:
        """``os-update_snapshot_status``: the moves Cinder allows a driver to report
        (creating → available | error | creating, deleting → deleting | error_deleting)."""
        allowed = {"creating": ("available", "error", "creating"),
                   "deleting": ("deleting", "error_deleting")}
        with self.db.session() as session:
            row = self._visible_snapshot(session, caller, snapshot_id,
                                         "volume:update_snapshot_status")
            if status not in allowed.get(row.status, ()):
                raise errors.InvalidArgument(
                    f"Invalid snapshot: Snapshot status {row.status} not allowed for "
                    f"update_snapshot_status to {status}")
            row.status = status
            if progress is not None:
                row.progress = progress
            row.updated_at = self.now()

    def delete_snapshot(self, caller: CallerLike, snapshot_id: str, *,
                        force: bool = False) -> None:
        """Start deleting a snapshot (202); it must be ``available`` or ``error`` unless
        ``force`` (admins: ``os-force_delete``, any status)."""
        if force:
            policy.authorize(caller, "volume_extension:snapshot_admin_actions:force_delete")
        with self.db.session() as session:
            row = self._visible_snapshot(session, caller, snapshot_id,
                                         "volume:delete_snapshot")
            if not force and row.status not in ("available", "error", "error_deleting"):
                raise errors.InvalidArgument("Invalid snapshot: Volume Snapshot status must "
                                             "be available or error")
            if row.group_snapshot_id is not None:
                raise errors.InvalidArgument("Invalid snapshot: Snapshot must not be part of "
                                             "a group.")
            vol = session.get(Volume, row.volume_id)
            if vol is not None:
                _refuse_if_frozen(session, vol)
            if vol is None:  # its volume's row went first (a crash mid-cascade)
                session.delete(row)
                return
            row.status = "deleting"
            row.updated_at = self.now()
            self.runner.submit("snapshot.delete",
                               ResourceRef("snapshot", snapshot_id, row.project_id),
                               {"backend": self._backend_of(vol).section,
                                "volume_id": row.volume_id}, session=session)

    def revert_to_snapshot(self, caller: CallerLike, volume_id: str, snapshot_id: str) -> None:
        """Start rolling a volume back to its latest snapshot (3.40+; 202).

        Raises:
            InvalidArgument: the volume is not ``available``, the snapshot not ``available``
                or not the volume's latest, or the snapshot is larger than... (never: a
                volume never shrinks).
        """
        with self.db.session() as session:
            vol = self._visible_volume(session, caller, volume_id, "volume:revert_to_snapshot")
            snap = self._visible_snapshot(session, caller, snapshot_id, "volume:get_snapshot")
            if snap.volume_id != volume_id:
                raise _invalid_input(f"Snapshot {snapshot_id} is not a snapshot of volume "
                                     f"{volume_id}")
            latest = session.execute(select(Snapshot).where(
                Snapshot.volume_id == volume_id).order_by(
                Snapshot.created_at.desc(), Snapshot.id.desc()).limit(1)).scalar_one()
            if latest.id != snapshot_id:
                raise _invalid_input("Cannot revert volume to snapshot: the snapshot is not "
                                     "the volume's latest one")
            if vol.status != "available" or snap.status != "available":
                raise _invalid_volume(
                    f"Volume {volume_id} status must be available and snapshot {snapshot_id} "
                    f"available to revert, but they are {vol.status} and {snap.status}.")
            vol.status = "reverting"
            snap.status = "restoring"
            self.runner.submit("volume.revert", ResourceRef("volume", volume_id,
                                                            vol.project_id),
                               {"backend": self._backend_of(vol).section,
                                "snapshot_id": snapshot_id, "size": vol.size},
                               session=session)

    # --- admin -----------------------------------------------------------------------------
    def create_type(self, caller: CallerLike, name: str, *, description: str | None = None,
                    is_public: bool = True, extra_specs: Mapping[str, str] | None = None
                    ) -> VolumeTypeRecord:
        """A new volume type (admins; 409 when the name is taken)."""
        policy.authorize(caller, "volume_extension:types_manage")
        with self.db.session() as session:
            taken = session.execute(select(VolumeType).where(
                VolumeType.name == name)).scalar_one_or_none()
            if taken is not None:
                raise errors.AlreadyExists(f"Volume Type {name} already exists.")
            row = VolumeType(id=str(uuid.uuid4()), name=name, description=description,
                             is_public=is_public, created_at=self.now())
            row.extra_specs = [VolumeTypeExtraSpec(key=k, value=v)
                               for k, v in sorted((extra_specs or {}).items())]
            session.add(row)
            session.flush()
            return type_record(row)


def _delete_unscheduled(session: Session, row: Volume) -> None:
    """Delete a volume no backend ever held (it failed scheduling): only its rows, at
    once, as Cinder deletes a volume without a host; its user messages stay."""
    for snap in list(session.execute(select(Snapshot).where(
            Snapshot.volume_id == row.id)).scalars()):
        session.delete(snap)
    session.delete(row)


def _check_type_size(vtype: VolumeType, size: int) -> None:
    """A volume of ``size`` GiB against its type's ``provisioning:min_vol_size`` and
    ``provisioning:max_vol_size`` (GiB; absent or not a whole number: no bound). Cinder's
    messages."""
    specs = {s.key: s.value for s in vtype.extra_specs}
    low = specs.get("provisioning:min_vol_size", "").strip()
    if low.isdigit() and size < int(low):
        raise _invalid_input(f"Specified volume size of '{size}' is less than the minimum "
                             f"required size of '{low}' for volume type '{vtype.name}'.")
    high = specs.get("provisioning:max_vol_size", "").strip()
    if high.isdigit() and size > int(high):
        raise _invalid_input(f"Specified volume size of '{size}' is greater than the "
                             f"maximum allowable size of '{high}' for volume type "
                             f"'{vtype.name}'.")


def _inherit_image_metadata(session: Session, row: Volume) -> None:
    """A copy of a volume (or of a snapshot of one) is bootable and keeps the image
    properties when its source is, as Cinder copies ``volume_glance_metadata``."""
    source_id = row.source_volid
    if source_id is None and row.snapshot_id is not None:
        snap = session.get(Snapshot, row.snapshot_id)
        source_id = None if snap is None else snap.volume_id
    source = None if source_id is None else session.get(Volume, source_id)
    if source is None:
        return
    row.bootable = source.bootable
    row.image_id = source.image_id
    row.metadata_items.extend(VolumeMetadata(kind="image", key=m.key, value=m.value)
                              for m in source.metadata_items if m.kind == "image")


def _check_image_fits(image: ImageData, size: int) -> None:
    """Cinder's checks of an image against a new volume of ``size`` GiB."""
    if image.status != "active":
        raise _invalid_input(f"Image {image.id} is not active.")
    min_disk = int(image.properties.get("min_disk", "0") or 0)
    if min_disk > size:
        raise _invalid_input(f"Volume size {size}GB cannot be smaller than the image minDisk "
                             f"size {min_disk}GB.")
    wanted = image.virtual_size if image.virtual_size is not None else image.size
    if wanted is not None and wanted > size * GiB:
        image_gib = -(-wanted // GiB)
        raise _invalid_input(f"Size of specified image {image_gib}GB is larger than volume "
                             f"size {size}GB.")


def _disabled_hosts(session: Session) -> set[str]:
    """The ``HOST@BACKEND`` of every ``cinder-volume`` an admin disabled (a freeze
    disables too)."""
    return set(session.execute(select(ServiceState.host).where(
        ServiceState.binary == "cinder-volume", ServiceState.disabled.is_(True))).scalars())


def _refuse_if_frozen(session: Session, volume: Volume) -> None:
    """Refuse (400) to change a volume whose backend's ``cinder-volume`` is frozen, as
    Cinder does for delete, extend and snapshots while a backend is frozen for
    replication failover (the wording is shoal's)."""
    if volume.host is None:
        return
    host = volume.host.split("#", 1)[0]
    frozen = session.execute(select(ServiceState.frozen).where(
        ServiceState.binary == "cinder-volume", ServiceState.host == host)).scalar()
    if frozen:
        raise _invalid_input(f"Operation not allowed: volume {volume.id} lives on {host}, "
                             "whose volume service is frozen (thaw it first).")


def _inherited_type(session: Session, source: VolumeSource, image: ImageData | None
                    ) -> VolumeType | None:
    """The type a new volume given none takes from its source, as Cinder's create flow
    picks it: the snapshot's volume's type, the source volume's, or the type an image's
    ``cinder_img_volume_type`` property names (by name; an unknown name: none). None:
    the default type."""
    volume_id = source.source_volid
    if source.snapshot_id is not None:
        snap = session.get(Snapshot, source.snapshot_id)
        volume_id = None if snap is None else snap.volume_id
    if volume_id is not None:
        src = session.get(Volume, volume_id)
        return None if src is None else session.get(VolumeType, src.volume_type_id)
    name = None if image is None else image.properties.get("cinder_img_volume_type")
    if name:
        return session.execute(select(VolumeType).where(
            VolumeType.name == name)).scalar_one_or_none()
    return None
