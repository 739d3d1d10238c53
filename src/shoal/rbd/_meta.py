"""Where the embedded engine keeps an image, by name: object names, the parent link, and
the name checks every operation makes (a leaf: the engine's other modules import it).

Object names follow librbd's format 2: ``rbd_id.<name>`` (name → id), ``rbd_header.<id>``,
``rbd_object_map.<id>[.<snap id>]`` and data objects ``<block name prefix>.<016x objectno>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shoal import errors, limits
from shoal.objstore import SNAP_HEAD, IoCtx
from shoal.rbd import _cls
from shoal.rbd._errors import ImageNotFound

__all__ = [
    "ParentSpec",
    "check_snap_name",
    "data_oid",
    "header_oid",
    "id_oid",
    "object_map_oid",
    "resolve_image_id",
]


def header_oid(image_id: str) -> str:
    return f"rbd_header.{image_id}"


def id_oid(name: str) -> str:
    return f"rbd_id.{name}"


def data_oid(prefix: str, objectno: int) -> str:
    return f"{prefix}.{objectno:016x}"


def object_map_oid(image_id: str, snap_id: int = SNAP_HEAD) -> str:
    if snap_id == SNAP_HEAD:
        return f"rbd_object_map.{image_id}"
    return f"rbd_object_map.{image_id}.{snap_id:016x}"


@dataclass(frozen=True)
class ParentSpec:
    """Where a clone's data comes from: pool, image id, snapshot id, overlap (bytes)."""

    pool_id: int
    pool_namespace: str
    image_id: str
    snap_id: int
    overlap: int

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> ParentSpec | None:
        if not doc:
            return None
        return cls(
            int(doc["pool_id"]),
            str(doc.get("pool_namespace", "")),
            str(doc["image_id"]),
            int(doc["snap_id"]),
            int(doc["overlap"]),
        )

    def as_doc(self) -> dict[str, Any]:
        return {
            "pool_id": self.pool_id,
            "pool_namespace": self.pool_namespace,
            "image_id": self.image_id,
            "snap_id": self.snap_id,
            "overlap": self.overlap,
        }

    def child_key(self) -> list[Any]:
        return [self.pool_id, self.pool_namespace, self.image_id, self.snap_id]


def resolve_image_id(io: IoCtx, name: str) -> str:
    """The id of image ``name``; ImageNotFound if none.

    The directory is the source of truth (an image is visible iff listed), so a
    ``rbd_id.<name>`` object left by an interrupted operation never makes an
    unlisted name openable.
    """
    try:
        return str(_cls.call(io, "rbd_directory", "dir_get_id", {"name": name}))
    except errors.NotFound:
        raise ImageNotFound(f"image {name!r} does not exist in pool {io.pool_name!r}") from None


def check_snap_name(name: str) -> None:
    if not name or "@" in name or "/" in name:
        raise errors.InvalidArgument(f"invalid snapshot name {name!r}")
    if len(name.encode()) > limits.snap_name_bytes_max:
        raise errors.InvalidArgument("snapshot name too long")
