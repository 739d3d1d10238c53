"""Making an image of the embedded engine: ``RBD.create``/``clone`` and ``Image.copy``.

Ordered so that one atomic step commits: the header (and for a clone its
``rbd_children`` entry) first, then the ``rbd_directory`` entry, which commits; the
``rbd_id.<name>`` object follows. Leftovers of a create killed before its commit are
invisible (``RBD.purge_leftovers`` removes them).
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from shoal import errors, limits
from shoal.objstore import IoCtx
from shoal.rbd import _cls
from shoal.rbd._errors import ArgumentOutOfRange, ImageExists
from shoal.rbd._features import (
    FEATURE_FAST_DIFF,
    FEATURE_OBJECT_MAP,
    FEATURE_STRIPINGV2,
    check_features,
)
from shoal.rbd._meta import ParentSpec, header_oid, id_oid, object_map_oid
from shoal.rbd._objectmap import ObjectMap
from shoal.rbd._options import RbdOptions
from shoal.rbd._striping import Layout, object_count

__all__ = [
    "CHILDREN",
    "DIRECTORY",
    "check_image_name",
    "create_image",
    "lookup_id",
    "write_id_object",
]

DIRECTORY = "rbd_directory"
CHILDREN = "rbd_children"


def check_image_name(name: str) -> None:
    """librbd takes any non-empty name ('/' and '@' included: only the CLI's
    ``pool/image@snap`` spec gives them a meaning)."""
    if not isinstance(name, str) or not name:
        raise errors.InvalidArgument(f"invalid image name {name!r}: it must not be empty")
    if len(name.encode()) > limits.image_name_bytes_max:
        raise errors.InvalidArgument("image name too long")


def _new_image_id() -> str:
    return secrets.token_hex(6)


def lookup_id(ioctx: IoCtx, name: str) -> str | None:
    """The id the directory gives image ``name``, None if it lists no such image."""
    try:
        return str(_cls.call(ioctx, DIRECTORY, "dir_get_id", {"name": name}))
    except errors.NotFound:
        return None


def write_id_object(ioctx: IoCtx, name: str, image_id: str) -> None:
    """``rbd_id.<name>`` → id, as librbd lays it out (written after the directory
    entry commits; the directory stays the source of truth)."""
    ioctx.write_full(id_oid(name), image_id.encode())


def _discard_half_made(ioctx: IoCtx, image_id: str, parent: ParentSpec | None) -> None:
    for oid in (header_oid(image_id), object_map_oid(image_id)):
        with contextlib.suppress(errors.ObjectNotFound):
            ioctx.remove_object(oid)
    if parent is not None:
        with contextlib.suppress(errors.NotFound):
            _cls.call(ioctx, CHILDREN, "remove_child",
                      {"parent": parent.child_key(), "child": image_id})


def create_image(
    ioctx: IoCtx,
    options: RbdOptions,
    name: str,
    size: int,
    *,
    order: int | None = None,
    old_format: bool = False,
    features: int | None = None,
    stripe_unit: int | None = None,
    stripe_count: int | None = None,
    data_pool: str | None = None,
    parent: ParentSpec | None = None,
) -> str:
    """Create image ``name`` of ``size`` bytes (a clone of ``parent`` if given); return
    its id. What is None comes from ``options`` (order 0 too).

    Raises:
        ImageExists: the pool has an image ``name``.
        errors.InvalidArgument: name, size, striping or features.
        ArgumentOutOfRange: order outside ``limits.rbd_order_min..rbd_order_max``.
        errors.NotSupported: ``old_format``, ``data_pool``, unsupported features.
    """
    check_image_name(name)
    if old_format:
        raise errors.NotSupported("format 1 images are not supported")
    if data_pool:
        raise errors.NotSupported("separate data pools are not supported")
    if not isinstance(size, int) or not 0 <= size <= limits.image_size_bytes_max:
        raise errors.InvalidArgument(f"size must be 0..{limits.image_size_bytes_max} bytes")
    order = options.default_order if order in (None, 0) else order
    assert order is not None
    if not limits.rbd_order_min <= order <= limits.rbd_order_max:
        raise ArgumentOutOfRange(
            f"order must be {limits.rbd_order_min}..{limits.rbd_order_max}, got {order}"
        )
    su = options.default_stripe_unit if stripe_unit is None else stripe_unit
    sc = options.default_stripe_count if stripe_count is None else stripe_count
    layout = Layout.make(order, su, sc)
    feats = options.default_features if features is None else features
    if not layout.is_default:
        feats |= FEATURE_STRIPINGV2
    if feats & FEATURE_OBJECT_MAP:
        feats |= FEATURE_FAST_DIFF  # librbd turns fast-diff on with object-map
    check_features(feats)
    if lookup_id(ioctx, name) is not None:
        raise ImageExists(f"image {name!r} already exists")
    image_id = _new_image_id()
    doc: dict[str, Any] = {
        "size": size,
        "order": order,
        "features": feats,
        "object_prefix": f"rbd_data.{image_id}",
        "stripe_unit": layout.stripe_unit if not layout.is_default else 0,
        "stripe_count": layout.stripe_count if not layout.is_default else 0,
    }
    if parent is not None:
        doc["parent"] = parent.as_doc()
    _cls.call(ioctx, header_oid(image_id), "create", doc)
    if feats & FEATURE_OBJECT_MAP:
        ioctx.write_full(object_map_oid(image_id),
                         ObjectMap(object_count(layout, size)).encode())
    if parent is not None:
        _cls.call(ioctx, CHILDREN, "add_child",
                  {"parent": parent.child_key(), "child": image_id})
    try:
        _cls.call(ioctx, DIRECTORY, "dir_add_image", {"name": name, "id": image_id})
    except errors.AlreadyExists:
        _discard_half_made(ioctx, image_id, parent)
        raise ImageExists(f"image {name!r} already exists") from None
    write_id_object(ioctx, name, image_id)
    return image_id
