"""Tables of the volume service's admin parts added by migration 0008: QoS specs and their
keys, the QoS specs a volume type is associated with, volume type encryption, and quota
classes (Cinder's ``quality_of_service_specs``, ``volume_types.qos_specs_id``,
``encryption`` and ``quota_classes``).

Cinder keeps a QoS spec as a root row plus one child row per key (the name and the
consumer among them); here the spec is one row and each key one row of
``volume_qos_spec_keys``. Cinder's ``volume_types.qos_specs_id`` column is the row of
``volume_type_qos`` (a type has at most one spec: the type's id is the key). Rows that
belong to a volume type go with it (``ON DELETE CASCADE``), as Cinder deletes a type's
encryption with the type; a spec is only deleted once nothing is associated with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shoal.db import Base, UTCDateTime

__all__ = [
    "QOS_CONSUMERS",
    "QosSpecs",
    "QosSpecsKey",
    "QuotaClass",
    "VolumeTypeEncryption",
    "VolumeTypeQos",
]

#: Who applies a spec's limits (Cinder's ``QoSConsumerValues``): the hypervisor
#: (``front-end``), the backend (``back-end``, the default) or both.
QOS_CONSUMERS: Final = ("back-end", "front-end", "both")
#: Cinder's column lengths: names, keys and values 255, quota resources 300.
_STRING: Final = 255
_ID: Final = 36


class QosSpecs(Base):
    """A named set of QoS keys (``total_iops_sec``...) and who consumes them."""

    __tablename__ = "volume_qos_specs"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(_STRING), unique=True)
    consumer: Mapped[str] = mapped_column(String(_STRING))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    keys: Mapped[list[QosSpecsKey]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="QosSpecsKey.key")


class QosSpecsKey(Base):
    """One key of a QoS spec; ``value`` may be null (Cinder's set accepts null)."""

    __tablename__ = "volume_qos_spec_keys"
    __table_args__ = (UniqueConstraint("qos_specs_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    qos_specs_id: Mapped[str] = mapped_column(
        ForeignKey("volume_qos_specs.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(_STRING))
    value: Mapped[str | None] = mapped_column(String(_STRING), nullable=True)


class VolumeTypeQos(Base):
    """The QoS spec a volume type is associated with (at most one per type)."""

    __tablename__ = "volume_type_qos"

    volume_type_id: Mapped[str] = mapped_column(
        ForeignKey("volume_types.id", ondelete="CASCADE"), primary_key=True)
    qos_specs_id: Mapped[str] = mapped_column(ForeignKey("volume_qos_specs.id"), index=True)


class VolumeTypeEncryption(Base):
    """How volumes of a type are encrypted (one per type): the encryptor ``provider``
    (``luks``...), ``cipher``, ``key_size`` in bits, and where it runs
    (``control_location`` ``front-end`` or ``back-end``)."""

    __tablename__ = "volume_type_encryption"

    encryption_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    volume_type_id: Mapped[str] = mapped_column(
        ForeignKey("volume_types.id", ondelete="CASCADE"), unique=True)
    provider: Mapped[str] = mapped_column(String(_STRING))
    cipher: Mapped[str | None] = mapped_column(String(_STRING), nullable=True)
    key_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    control_location: Mapped[str] = mapped_column(String(_STRING))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class QuotaClass(Base):
    """A quota class's limit for one resource (``os-quota-class-sets``); the ``default``
    class's limits replace the configured defaults of every project. ``hard_limit`` -1 is
    unlimited."""

    __tablename__ = "volume_quota_classes"
    __table_args__ = (UniqueConstraint("class_name", "resource"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    class_name: Mapped[str] = mapped_column(String(_STRING), index=True)
    resource: Mapped[str] = mapped_column(String(300))
    hard_limit: Mapped[int] = mapped_column(BigInteger)
