"""QoS specs (Cinder's ``qos_specs_manage`` and ``cinder.volume.qos_specs``): named sets of
limits (``total_iops_sec``, ``read_bytes_sec``...) with a consumer, associated with volume
types. Admins only (every action, even reading).

Cinder's rules kept here:

- a spec's ``consumer`` is ``back-end`` (the default), ``front-end`` or ``both``; it is
  given among the keys (``consumer: front-end``) and kept apart from them;
- names are unique (a second spec of the same name is 409);
- a volume type has at most one spec: associating it with another is 400, with the same
  one again does nothing; disassociating a type that is not associated does nothing;
- a spec still associated is not deleted (400) unless ``force``, which disassociates it
  first;
- unsetting keys stops at the first key the spec lacks (404), the keys before it stay
  removed.

Front-end specs reach the hypervisor in the ``connection_info`` of an attachment
(:func:`front_end_specs`), with the per-GiB keys (``<key>_per_gb``) resolved for the
volume's size as Cinder's volume manager does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shoal import errors
from shoal.db import Database
from shoal.services.volume import policy
from shoal.services.volume._qos_models import (
    QOS_CONSUMERS,
    QosSpecs,
    QosSpecsKey,
    VolumeTypeQos,
)
from shoal.services.volume.models import VolumeType
from shoal.services.volume.policy import CallerLike

__all__ = [
    "DEFAULT_CONSUMER",
    "QosAssociation",
    "QosSpecsRecord",
    "VolumeQos",
    "front_end_specs",
    "type_by_id",
    "type_qos_ids",
]

#: The consumer of a spec created without one (Cinder's default).
DEFAULT_CONSUMER: Final = "back-end"
#: The key that names the consumer among a request's keys.
CONSUMER_KEY: Final = "consumer"
#: Most characters of a key and of a value (Cinder's ``validate_dictionary_string_length``).
SPEC_CHARS_MAX: Final = 255
#: The limits Cinder scales by the volume's size (``<key>_per_gb``, ``_per_gb_min``,
#: ``_max``).
PER_GB_KEYS: Final = ("read_iops_sec", "read_bytes_sec", "write_iops_sec",
                      "write_bytes_sec", "total_iops_sec", "total_bytes_sec")


@dataclass(frozen=True)
class QosSpecsRecord:
    """One QoS spec: its keys (a value may be None) and its consumer."""

    id: str
    name: str
    consumer: str
    specs: Mapping[str, str | None] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True)
class QosAssociation:
    """One entity a spec is associated with (always a volume type)."""

    id: str
    name: str
    association_type: str = "volume_type"


def _record(row: QosSpecs) -> QosSpecsRecord:
    return QosSpecsRecord(id=row.id, name=row.name, consumer=row.consumer,
                          specs={k.key: k.value for k in row.keys},
                          created_at=row.created_at)


def _invalid_specs(reason: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(f"Invalid qos specs: {reason}")


def _check_consumer(consumer: str | None) -> str:
    """``consumer`` if it is one of :data:`QOS_CONSUMERS`.

    Raises:
        InvalidArgument: anything else (Cinder's ``InvalidQoSSpecs``).
    """
    if consumer not in QOS_CONSUMERS:
        raise _invalid_specs(f"Valid consumer of QoS specs are: {', '.join(QOS_CONSUMERS)}")
    return consumer


def _check_lengths(specs: Mapping[str, str | None]) -> None:
    """Keys of 1-255 characters, values (when not None) of at most 255.

    Raises:
        InvalidArgument: a key or value out of bounds, or a value that is no string.
    """
    for key, value in specs.items():
        if not 1 <= len(key) <= SPEC_CHARS_MAX:
            raise errors.InvalidArgument(f"Invalid input received: Key \"{key}\" must be 1 to "
                                         f"{SPEC_CHARS_MAX} characters long.")
        if value is not None and (not isinstance(value, str) or len(value) > SPEC_CHARS_MAX):
            raise errors.InvalidArgument(
                f"Invalid input received: Value for key \"{key}\" must be a string of at "
                f"most {SPEC_CHARS_MAX} characters.")


def type_qos_ids(session: Session, type_ids: Collection[str]) -> dict[str, str]:
    """Volume type id → the id of its QoS spec, for the types of ``type_ids`` that have
    one."""
    if not type_ids:
        return {}
    rows = session.execute(select(VolumeTypeQos).where(
        VolumeTypeQos.volume_type_id.in_(list(type_ids)))).scalars()
    return {row.volume_type_id: row.qos_specs_id for row in rows}


def type_by_id(session: Session, type_id: str) -> VolumeType:
    """The volume type with id ``type_id`` (any visibility: the callers are admins).

    Raises:
        NotFound: no such type (Cinder's ``VolumeTypeNotFound``).
    """
    row = session.get(VolumeType, type_id)
    if row is None:
        raise errors.NotFound(f"Volume type {type_id} could not be found.")
    return row


def _per_gb(specs: dict[str, str | None], size_gib: int) -> None:
    """Replace each ``<key>_per_gb`` of ``specs`` by ``<key>`` = per-GiB value times size, at
    least ``<key>_per_gb_min`` and at most ``<key>_max`` (Cinder's rule; the two bounds
    are dropped with it).

    Raises:
        InvalidArgument: a value that is no integer.
    """
    for option in PER_GB_KEYS:
        per_gb = specs.pop(f"{option}_per_gb", None)
        if per_gb is None:
            continue
        try:
            minimum = int(specs.pop(f"{option}_per_gb_min", None) or 0)
            scaled = max(minimum, int(per_gb) * size_gib)
            maximum = specs.pop(f"{option}_max", None)
            specs[option] = str(min(scaled, int(maximum)) if maximum is not None else scaled)
        except ValueError:
            raise _invalid_specs(f"{option}_per_gb and its bounds must be integers") from None


def front_end_specs(session: Session, volume_type_id: str | None,
                    size_gib: int) -> dict[str, str | None] | None:
    """The keys of the type's QoS spec the hypervisor applies (consumer ``front-end`` or
    ``both``), per-GiB keys resolved for a volume of ``size_gib`` GiB; None when the type
    has no such spec (the ``qos_specs`` of ``connection_info['data']``)."""
    if volume_type_id is None:
        return None
    row = session.execute(select(QosSpecs).join(
        VolumeTypeQos, VolumeTypeQos.qos_specs_id == QosSpecs.id).where(
        VolumeTypeQos.volume_type_id == volume_type_id)).scalar_one_or_none()
    if row is None or row.consumer not in ("front-end", "both"):
        return None
    specs: dict[str, str | None] = {k.key: k.value for k in row.keys}
    _per_gb(specs, size_gib)
    return specs


class VolumeQos:
    """The QoS specs of one deployment (see the module docstring)."""

    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self.db = db
        self.now = now

    # --- reading ---------------------------------------------------------------------------
    @staticmethod
    def _row(session: Session, specs_id: str) -> QosSpecs:
        row = session.get(QosSpecs, specs_id)
        if row is None:
            raise errors.NotFound(f"No such QoS spec {specs_id}.")
        return row

    def list_specs(self, caller: CallerLike) -> list[QosSpecsRecord]:
        """Every spec, newest first.

        Raises:
            PolicyNotAuthorized: not an admin.
        """
        policy.authorize(caller, "volume_extension:qos_specs_manage:get_all")
        query = select(QosSpecs).order_by(QosSpecs.created_at.desc(), QosSpecs.id.desc())
        with self.db.session(readonly=True) as session:
            return [_record(row) for row in session.execute(query).scalars()]

    def get(self, caller: CallerLike, specs_id: str) -> QosSpecsRecord:
        """One spec.

        Raises:
            PolicyNotAuthorized: not an admin.
            NotFound: no such spec.
        """
        policy.authorize(caller, "volume_extension:qos_specs_manage:get")
        with self.db.session(readonly=True) as session:
            return _record(self._row(session, specs_id))

    def associations(self, caller: CallerLike, specs_id: str) -> list[QosAssociation]:
        """The volume types associated with a spec, by name.

        Raises:
            PolicyNotAuthorized: not an admin.
            NotFound: no such spec.
        """
        policy.authorize(caller, "volume_extension:qos_specs_manage:get_all")
        with self.db.session(readonly=True) as session:
            self._row(session, specs_id)
            rows = session.execute(
                select(VolumeType.id, VolumeType.name)
                .join(VolumeTypeQos, VolumeTypeQos.volume_type_id == VolumeType.id)
                .where(VolumeTypeQos.qos_specs_id == specs_id).order_by(VolumeType.name)).all()
        return [QosAssociation(id=type_id, name=name) for type_id, name in rows]

    # --- changes ---------------------------------------------------------------------------
    def create(self, caller: CallerLike, name: str, specs: Mapping[str, str | None]
               ) -> QosSpecsRecord:
        """A new spec named ``name`` with ``specs`` (``consumer`` among them, else
        :data:`DEFAULT_CONSUMER`).

        Raises:
            PolicyNotAuthorized: not an admin.
            InvalidArgument: an unknown consumer, a key or value too long.
            AlreadyExists: a spec has that name (409).
        """
        policy.authorize(caller, "volume_extension:qos_specs_manage:create")
        _check_lengths(specs)
        keys = dict(specs)
        consumer = _check_consumer(keys.pop(CONSUMER_KEY, None) or DEFAULT_CONSUMER)
        with self.db.session() as session:
            taken = session.execute(select(QosSpecs.id).where(QosSpecs.name == name)).first()
            if taken is not None:
                raise errors.AlreadyExists(f"QoS Specs {name} already exists.")
            row = QosSpecs(id=str(uuid.uuid4()), name=name, consumer=consumer,
                           created_at=self.now(),
                           keys=[QosSpecsKey(key=k, value=v) for k, v in keys.items()])
            session.add(row)
            session.flush()
            return _record(row)

    def set_keys(self, caller: CallerLike, specs_id: str,
                 specs: Mapping[str, str | None]) -> None:
        """Add or replace keys (``consumer`` changes the consumer); the others stay.

        Raises:
            PolicyNotAuthorized: not an admin.
            NotFound: no such spec.
            InvalidArgument: an unknown consumer, a key or value too long.
        """
        policy.authorize(caller, "volume_extension:qos_specs_manage:update")
        _check_lengths(specs)
        keys = dict(specs)
        with self.db.session() as session:
            row = self._row(session, specs_id)
            if CONSUMER_KEY in keys:
                row.consumer = _check_consumer(keys.pop(CONSUMER_KEY))
            current = {k.key: k for k in row.keys}
            for key, value in keys.items():
                if key in current:
                    current[key].value = value
                else:
                    row.keys.append(QosSpecsKey(key=key, value=value))
            row.updated_at = self.now()

    def unset_keys(self, caller: CallerLike, specs_id: str, keys: Sequence[str]) -> None:
        """Remove ``keys`` in order, up to the first one the spec lacks.

        Raises:
            PolicyNotAuthorized: not an admin.
            NotFound: no such spec, or it lacks one of ``keys`` (those before it are
                removed all the same, as in Cinder).
        """
        policy.authorize(caller, "volume_extension:qos_specs_manage:delete")
        missing = None
        with self.db.session() as session:
            row = self._row(session, specs_id)
            current = {k.key: k for k in row.keys}
            for key in keys:
                if key not in current:
                    missing = key
                    break
                row.keys.remove(current.pop(key))
            row.updated_at = self.now()
        if missing is not None:
            raise errors.NotFound(f"QoS spec {specs_id} has no spec with key {missing}.")

    def delete(self, caller: CallerLike, specs_id: str, *, force: bool = False) -> None:
        """Delete a spec (``force``: even while associated, disassociating it first).

        Raises:
            PolicyNotAuthorized: not an admin.
            NotFound: no such spec.
            InvalidArgument: it is associated and not ``force`` (``Qos specs still in
                use.``).
        """
        policy.authorize(caller, "volume_extension:qos_specs_manage:delete")
        with self.db.session() as session:
            row = self._row(session, specs_id)
            used = session.execute(select(VolumeTypeQos.volume_type_id).where(
                VolumeTypeQos.qos_specs_id == specs_id).limit(1)).first()
            if used is not None and not force:
                raise errors.InvalidArgument("Qos specs still in use.")
            session.execute(delete(VolumeTypeQos).where(VolumeTypeQos.qos_specs_id == specs_id))
            session.delete(row)

    def associate(self, caller: CallerLike, specs_id: str, type_id: str) -> None:
        """Associate a spec with the volume type ``type_id``.

        Raises:
            PolicyNotAuthorized: not an admin.
            NotFound: no such spec or type.
            InvalidArgument: the type is associated with another spec.
        """
        policy.authorize(caller, "volume_extension:qos_specs_manage:update")
        with self.db.session() as session:
            self._row(session, specs_id)
            vtype = type_by_id(session, type_id)
            found = session.get(VolumeTypeQos, type_id)
            if found is not None and found.qos_specs_id != specs_id:
                raise errors.InvalidArgument(
                    f"Invalid volume type: Type {type_id} is already associated with another "
                    f"qos specs: {found.qos_specs_id}")
            if found is None:
                session.add(VolumeTypeQos(volume_type_id=type_id, qos_specs_id=specs_id))
                vtype.updated_at = self.now()

    def disassociate(self, caller: CallerLike, specs_id: str, type_id: str) -> None:
        """End the association of a spec with ``type_id`` (none: nothing to do).

        Raises:
            PolicyNotAuthorized: not an admin.
            NotFound: no such spec or type.
        """
        policy.authorize(caller, "volume_extension:qos_specs_manage:update")
        with self.db.session() as session:
            self._row(session, specs_id)
            vtype = type_by_id(session, type_id)
            found = session.get(VolumeTypeQos, type_id)
            if found is not None and found.qos_specs_id == specs_id:
                session.delete(found)
                vtype.updated_at = self.now()

    def disassociate_all(self, caller: CallerLike, specs_id: str) -> None:
        """End every association of a spec.

        Raises:
            PolicyNotAuthorized: not an admin.
            NotFound: no such spec.
        """
        policy.authorize(caller, "volume_extension:qos_specs_manage:update")
        with self.db.session() as session:
            self._row(session, specs_id)
            session.execute(delete(VolumeTypeQos).where(VolumeTypeQos.qos_specs_id == specs_id))
