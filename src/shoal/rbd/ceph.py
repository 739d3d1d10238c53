"""The Ceph backend of :mod:`shoal.rbd`: ``RBD`` and ``Image`` over real librbd.

Same names, signatures, return shapes and exceptions as the embedded engine (``shoal.rbd``),
so this module can stand where ``shoal.rbd`` stands (:func:`shoal.rbd.backend.rbd_lib_for`
picks one). I/O contexts are a shoal ``RadosIoCtx`` (its ``raw`` ``rados.Ioctx`` is used) or
a plain ``rados.Ioctx``. Errors from librbd/librados are raised as shoal.rbd's classes through
one table (:data:`shoal.rbd._ceph_errors.LIBRBD_ERRNO_TO_SHOAL`).

Ceph's Python bindings (Debian's python3-rados/python3-rbd) are imported on first use:
importing this module works without them; using it raises ``errors.Unavailable``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shoal.rbd import (
    FEATURE_DEEP_FLATTEN,
    FEATURE_EXCLUSIVE_LOCK,
    FEATURE_FAST_DIFF,
    FEATURE_JOURNALING,
    FEATURE_LAYERING,
    FEATURE_OBJECT_MAP,
    FEATURE_STRIPINGV2,
    FEATURES_DEFAULT,
    RBD_FEATURE_DATA_POOL,
    RBD_FEATURE_DEEP_FLATTEN,
    RBD_FEATURE_EXCLUSIVE_LOCK,
    RBD_FEATURE_FAST_DIFF,
    RBD_FEATURE_JOURNALING,
    RBD_FEATURE_LAYERING,
    RBD_FEATURE_MIGRATING,
    RBD_FEATURE_OBJECT_MAP,
    RBD_FEATURE_OPERATIONS,
    RBD_FEATURE_STRIPINGV2,
    RBD_FLAG_FAST_DIFF_INVALID,
    RBD_FLAG_OBJECT_MAP_INVALID,
    RBD_LOCK_MODE_EXCLUSIVE,
    RBD_LOCK_MODE_SHARED,
    ZERO_BLOCK_BYTES,
    ArgumentOutOfRange,
    DiffCallback,
    FunctionNotSupported,
    ImageBusy,
    ImageExists,
    ImageHasSnapshots,
    ImageNotFound,
    ImageOpener,
    InvalidArgument,
    NoSpace,
    OperationNotSupported,
    PermissionError,
    ProgressCallback,
    RbdFactory,
    RbdImage,
    RbdLib,
    RbdManager,
    RbdOptions,
    ReadOnlyImage,
    feature_names,
    features_from_conf,
    is_zero,
    nonzero_length,
    parse_features,
    rechunk,
)
from shoal.rbd._ceph_errors import CephIoCtx, bindings, raw_ioctx, translated
from shoal.rbd._ceph_image import CephImage, check_size

__all__ = [
    "FEATURES_DEFAULT",
    "FEATURE_DEEP_FLATTEN",
    "FEATURE_EXCLUSIVE_LOCK",
    "FEATURE_FAST_DIFF",
    "FEATURE_JOURNALING",
    "FEATURE_LAYERING",
    "FEATURE_OBJECT_MAP",
    "FEATURE_STRIPINGV2",
    "RBD",
    "RBD_FEATURE_DATA_POOL",
    "RBD_FEATURE_DEEP_FLATTEN",
    "RBD_FEATURE_EXCLUSIVE_LOCK",
    "RBD_FEATURE_FAST_DIFF",
    "RBD_FEATURE_JOURNALING",
    "RBD_FEATURE_LAYERING",
    "RBD_FEATURE_MIGRATING",
    "RBD_FEATURE_OBJECT_MAP",
    "RBD_FEATURE_OPERATIONS",
    "RBD_FEATURE_STRIPINGV2",
    "RBD_FLAG_FAST_DIFF_INVALID",
    "RBD_FLAG_OBJECT_MAP_INVALID",
    "RBD_LOCK_MODE_EXCLUSIVE",
    "RBD_LOCK_MODE_SHARED",
    "ZERO_BLOCK_BYTES",
    "ArgumentOutOfRange",
    "DiffCallback",
    "FunctionNotSupported",
    "Image",
    "ImageBusy",
    "ImageExists",
    "ImageHasSnapshots",
    "ImageNotFound",
    "ImageOpener",
    "InvalidArgument",
    "NoSpace",
    "OperationNotSupported",
    "PermissionError",
    "ProgressCallback",
    "RbdFactory",
    "RbdImage",
    "RbdLib",
    "RbdManager",
    "RbdOptions",
    "ReadOnlyImage",
    "feature_names",
    "features_from_conf",
    "is_zero",
    "nonzero_length",
    "parse_features",
    "rechunk",
]

#: The adapter's image class, under the embedded engine's name.
Image = CephImage

# Aliases: inside class RBD the method ``list`` shadows the builtin in annotations.
_Entries = list[dict[str, Any]]
_Names = list[str]


def _trash_entry(raw: dict[str, Any]) -> dict[str, Any]:
    """A trash entry as the embedded engine gives it: times as POSIX seconds (float)."""
    return {
        "id": str(raw["id"]),
        "name": str(raw["name"]),
        "source": str(raw["source"]),
        "deletion_time": raw["deletion_time"].replace(tzinfo=UTC).timestamp(),
        "deferment_end_time": raw["deferment_end_time"].replace(tzinfo=UTC).timestamp(),
    }


class RBD:
    """Stateless pool-level operations over librbd.

    ``options``: when given, its ``default_features``/``default_order``/stripe defaults are
    passed for arguments left as None (as the embedded engine does); when None, librbd's own
    configuration (the rados connection's ``rbd default ...``) decides, and ``options`` holds
    Ceph 16's defaults for callers that read them.
    """

    def __init__(self, options: RbdOptions | None = None) -> None:
        self._explicit = options is not None
        self.options = options or RbdOptions()

    def _defaults(self, features: int | None, order: int | None, stripe_unit: int | None,
                  stripe_count: int | None) -> dict[str, int | None]:
        if not self._explicit:
            return {"features": features, "order": order, "stripe_unit": stripe_unit,
                    "stripe_count": stripe_count}
        opts = self.options
        unit = opts.default_stripe_unit if stripe_unit is None else stripe_unit
        count = opts.default_stripe_count if stripe_count is None else stripe_count
        return {
            "features": opts.default_features if features is None else features,
            "order": opts.default_order if order in (None, 0) else order,
            "stripe_unit": unit or None,
            "stripe_count": count or None,
        }

    # --- create / clone ----------------------------------------------------------
    def create(
        self,
        ioctx: CephIoCtx,
        name: str,
        size: int,
        order: int | None = None,
        old_format: bool = False,
        features: int | None = None,
        stripe_unit: int | None = None,
        stripe_count: int | None = None,
        data_pool: str | None = None,
    ) -> None:
        """Create an empty image of ``size`` bytes.

        Raises ImageExists, InvalidArgument (name, size, order, striping, features).
        """
        check_size(size)
        _rados, rbd = bindings()
        kw = self._defaults(features, order, stripe_unit, stripe_count)
        with translated(f"create {name}"):
            rbd.RBD().create(raw_ioctx(ioctx), name, size, old_format=old_format,
                             data_pool=data_pool, **kw)

    def clone(
        self,
        p_ioctx: CephIoCtx,
        p_name: str,
        p_snapname: str,
        c_ioctx: CephIoCtx,
        c_name: str,
        features: int | None = None,
        order: int | None = None,
        stripe_unit: int | None = None,
        stripe_count: int | None = None,
        data_pool: str | None = None,
    ) -> None:
        """Clone a protected parent snapshot into a copy-on-write child.

        Raises ImageNotFound (parent or snapshot), InvalidArgument (snapshot not protected,
        no layering), ImageExists.
        """
        _rados, rbd = bindings()
        kw = self._defaults(features, order, stripe_unit, stripe_count)
        with translated(f"clone {p_name}@{p_snapname} to {c_name}"):
            rbd.RBD().clone(raw_ioctx(p_ioctx), p_name, p_snapname, raw_ioctx(c_ioctx), c_name,
                            data_pool=data_pool, **kw)

    # --- list / rename / remove -------------------------------------------------------
    def list(self, ioctx: CephIoCtx) -> _Names:
        """Image names in the pool, sorted."""
        _rados, rbd = bindings()
        with translated("list"):
            return sorted(str(n) for n in rbd.RBD().list(raw_ioctx(ioctx)))

    def list2(self, ioctx: CephIoCtx) -> _Entries:
        """[{id, name}] of the pool's images, sorted by name."""
        _rados, rbd = bindings()
        with translated("list"):
            entries = [{"id": str(e["id"]), "name": str(e["name"])}
                       for e in rbd.RBD().list2(raw_ioctx(ioctx))]
        return sorted(entries, key=lambda e: e["name"])

    def rename(self, ioctx: CephIoCtx, src: str, dest: str) -> None:
        _rados, rbd = bindings()
        with translated(f"rename {src} to {dest}"):
            rbd.RBD().rename(raw_ioctx(ioctx), src, dest)

    def remove(self, ioctx: CephIoCtx, name: str,
               on_progress: ProgressCallback | None = None) -> None:
        """Delete an image and its data.

        Raises ImageNotFound, ImageHasSnapshots, ImageBusy (open elsewhere / has watchers).
        """
        _rados, rbd = bindings()
        with translated(f"remove {name}"):
            rbd.RBD().remove(raw_ioctx(ioctx), name, on_progress=on_progress)

    # --- trash -------------------------------------------------------------------------
    def trash_move(self, ioctx: CephIoCtx, name: str, delay: int = 0) -> None:
        """Move an image to the trash; ``delay`` (seconds) defers its removal."""
        _rados, rbd = bindings()
        with translated(f"trash move {name}"):
            rbd.RBD().trash_move(raw_ioctx(ioctx), name, delay)

    def trash_list(self, ioctx: CephIoCtx) -> _Entries:
        """[{id, name, source, deletion_time, deferment_end_time}], times in POSIX seconds."""
        _rados, rbd = bindings()
        with translated("trash list"):
            entries = [_trash_entry(e) for e in rbd.RBD().trash_list(raw_ioctx(ioctx))]
        return sorted(entries, key=lambda e: e["id"])

    def trash_get(self, ioctx: CephIoCtx, image_id: str) -> dict[str, Any]:
        _rados, rbd = bindings()
        with translated(f"trash get {image_id}"):
            return _trash_entry(rbd.RBD().trash_get(raw_ioctx(ioctx), image_id))

    def trash_restore(self, ioctx: CephIoCtx, image_id: str, name: str | None = None) -> None:
        """Restore a trashed image under ``name`` (None: the name it had)."""
        _rados, rbd = bindings()
        if name is None:
            name = str(self.trash_get(ioctx, image_id)["name"])
        with translated(f"trash restore {image_id}"):
            rbd.RBD().trash_restore(raw_ioctx(ioctx), image_id, name)

    def trash_remove(self, ioctx: CephIoCtx, image_id: str, force: bool = False) -> None:
        """Delete a trashed image. PermissionError (EPERM) before its deferment ends unless
        ``force``; ImageHasSnapshots if it still has snapshots."""
        _rados, rbd = bindings()
        with translated(f"trash remove {image_id}"):
            rbd.RBD().trash_remove(raw_ioctx(ioctx), image_id, force)

    def trash_purge(self, ioctx: CephIoCtx, expire_ts: float | None = None) -> int:
        """Remove every trashed image whose deferment ended by ``expire_ts`` (None: now);
        returns how many left the trash."""
        _rados, rbd = bindings()
        before = {e["id"] for e in self.trash_list(ioctx)}
        # The binding takes a local-time datetime (it converts with time.mktime).
        expire = None if expire_ts is None else datetime.fromtimestamp(expire_ts)
        with translated("trash purge"):
            rbd.RBD().trash_purge(raw_ioctx(ioctx), expire)
        return len(before - {e["id"] for e in self.trash_list(ioctx)})

    # --- helpers ------------------------------------------------------------------------
    def image_id(self, ioctx: CephIoCtx, name: str) -> str:
        """The id of image ``name``; ImageNotFound if there is none."""
        with Image(ioctx, name, read_only=True) as img:
            return img.id()


def _conforms(rbd: RBD) -> RbdManager:
    """mypy checks here that the adapter's ``RBD`` is an :class:`RbdManager`."""
    return rbd
