"""Image tables: images, their free-form properties, tags, locations and members.

Ids are UUID strings in Glance's form (36 characters with dashes). A deleted image's row
is removed with its data (Glance keeps soft-deleted rows; nothing here reads them), so an
id is never reused while its RBD image exists.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shoal.db import Base, UTCDateTime

__all__ = ["Image", "ImageLocation", "ImageMember", "ImageProperty", "ImageTag",
           "MetadefNamespace"]

#: Lengths as Glance's schema: names 255, property values 65535 (Text here).
NAME_LENGTH_MAX = 255


class Image(Base):
    __tablename__ = "image_images"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(NAME_LENGTH_MAX), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(30), index=True)
    visibility: Mapped[str] = mapped_column(String(20), index=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    disk_format: Mapped[str | None] = mapped_column(String(20), nullable=True)
    container_format: Mapped[str | None] = mapped_column(String(20), nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    checksum: Mapped[str | None] = mapped_column(String(32), nullable=True)
    os_hash_algo: Mapped[str | None] = mapped_column(String(64), nullable=True)
    os_hash_value: Mapped[str | None] = mapped_column(String(128), nullable=True)
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The process uploading the data while status is ``saving`` (for recovery after a crash).
    upload_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)

    properties: Mapped[list[ImageProperty]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ImageProperty.name")
    tags: Mapped[list[ImageTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ImageTag.value")
    locations: Mapped[list[ImageLocation]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ImageLocation.id")
    members: Mapped[list[ImageMember]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ImageMember.member")


class ImageProperty(Base):
    __tablename__ = "image_properties"
    __table_args__ = (UniqueConstraint("image_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(
        ForeignKey("image_images.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH_MAX))
    value: Mapped[str] = mapped_column(Text)


class ImageTag(Base):
    __tablename__ = "image_tags"
    __table_args__ = (UniqueConstraint("image_id", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(
        ForeignKey("image_images.id", ondelete="CASCADE"), index=True)
    value: Mapped[str] = mapped_column(String(NAME_LENGTH_MAX))


class ImageLocation(Base):
    __tablename__ = "image_locations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(
        ForeignKey("image_images.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    #: JSON object (``{"store": "rbd"}`` ...), Glance's location metadata.
    meta: Mapped[str] = mapped_column(Text, default="{}")
    status: Mapped[str] = mapped_column(String(30), default="active")


class ImageMember(Base):
    __tablename__ = "image_members"
    __table_args__ = (UniqueConstraint("image_id", "member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(
        ForeignKey("image_images.id", ondelete="CASCADE"), index=True)
    member: Mapped[str] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MetadefNamespace(Base):
    """A Glance metadata-definitions namespace, kept whole as one JSON document (its
    properties, objects, tags and resource type associations)."""

    __tablename__ = "image_metadef_namespaces"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
