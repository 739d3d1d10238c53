"""Flatten: copy into a clone everything it still reads from its parent, then detach."""

from __future__ import annotations

import contextlib

from shoal import errors
from shoal.objstore import IoCtx, WriteOp
from shoal.rbd import _cls
from shoal.rbd._blocks import nonzero_length
from shoal.rbd._engine import EngineImage
from shoal.rbd._features import FEATURE_DEEP_FLATTEN
from shoal.rbd._interface import ProgressCallback
from shoal.rbd._meta import ParentSpec, header_oid
from shoal.rbd._objectmap import ObjectState
from shoal.rbd._striping import object_count

__all__ = ["flatten"]


def flatten(img: EngineImage, on_progress: ProgressCallback | None = None) -> None:
    """Copy up every object the clone lacks inside the overlap, then remove the link.

    As librbd does, when the clone has snapshots the copies are written with an
    empty snap context, beneath the snapshots, so that they hold the data too
    (objects past the head's overlap that a snapshot still reads were copied
    up when the head shrank). With ``deep-flatten`` the snapshots are detached
    as well and the parent is released entirely; without it they keep their
    parent link (and the parent snapshot keeps this child until they are
    removed). Idempotent: a crash part-way leaves a consistent clone that a
    second flatten finishes.
    """
    spec = ParentSpec.from_doc(img._header().get("parent"))
    if spec is None:
        raise errors.InvalidArgument(f"image {img.get_name()!r} is not a clone")
    deep = bool(img.features() & FEATURE_DEEP_FLATTEN)
    beneath = bool(img._snapshots())
    copy_io = img._md.dup() if beneath else img._data
    count = object_count(img.layout, spec.overlap)
    if beneath:
        img._mark_in_snapshots(range(count))
    for objectno in range(count):
        _copy_up(img, spec, objectno, copy_io)
        if on_progress is not None:
            on_progress(objectno + 1, count)
    hdr = header_oid(img.id())
    _cls.call(img._md, hdr, "remove_parent", {"snapshots": deep})
    still_linked = not deep and any(
        s.get("parent") for s in img._snapshots().values()
    )
    if not still_linked:
        with contextlib.suppress(errors.NotFound):
            _cls.call(img.ioctx, "rbd_children", "remove_child",
                      {"parent": spec.child_key(), "child": img.id()})
    img.refresh()


def _copy_up(img: EngineImage, spec: ParentSpec, objectno: int, io: IoCtx) -> None:
    oid = img._oid(objectno)
    try:
        img._data.stat(oid)
        return  # the clone has its own copy
    except errors.ObjectNotFound:
        pass
    pieces = img._object_image_ranges(objectno, spec.overlap)
    blob = bytearray(img.layout.object_size)
    for obj_off, img_off, length in pieces:
        img._read_parent(spec, img_off, length, blob, obj_off)
    end = nonzero_length(blob)
    if end == 0:
        return  # the parent holds only zeros here: nothing to keep
    img._mark(objectno, ObjectState.EXISTS)
    with contextlib.suppress(errors.AlreadyExists):
        io.operate(oid, WriteOp().create(exclusive=True).write(bytes(blob[:end]), 0))
