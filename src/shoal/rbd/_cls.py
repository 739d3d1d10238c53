"""The ``rbd`` and ``lock`` object classes of the embedded engine (after cls_rbd/cls_lock).

Image metadata lives in the omap of a few objects, each changed only through
these methods so that every change is atomic (one method call = one object
transaction) and is checked against the caller's class-read/class-write caps,
as on a Ceph OSD:

- ``rbd_header.<id>``: keys ``size``, ``order``, ``features``, ``object_prefix``,
  ``snap_seq``, ``stripe_unit``, ``stripe_count``, ``flags``, ``op_features``,
  ``create_timestamp``, ``access_timestamp``, ``modify_timestamp``, ``parent``,
  ``snapshot_<016x id>``, ``metadata_<key>``. Values are JSON.
- ``rbd_directory``: ``name_<name>`` → id and ``id_<id>`` → name.
- ``rbd_children`` (clone v1, in the child's pool): ``<parent spec>`` → child ids.
- ``rbd_trash``: ``id_<id>`` → trash spec.

Inputs and outputs are JSON documents (bytes).
"""

from __future__ import annotations

import json
import time
from typing import Any

from shoal import errors
from shoal.objstore import IoCtx, MethodFlags, ObjectContext, register_method
from shoal.rbd import _errors

__all__ = ["HEADER_KEYS", "call", "decode", "encode"]

RD = MethodFlags.RD
WR = MethodFlags.RD | MethodFlags.WR

HEADER_KEYS = (
    "size",
    "order",
    "features",
    "object_prefix",
    "snap_seq",
    "stripe_unit",
    "stripe_count",
    "flags",
    "op_features",
    "create_timestamp",
    "access_timestamp",
    "modify_timestamp",
    "parent",
)


def encode(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def decode(raw: bytes) -> Any:
    return json.loads(raw) if raw else None


def call(io: IoCtx, oid: str, method: str, doc: Any = None, cls: str = "rbd") -> Any:
    """Run ``cls.method`` on ``oid`` through ``io`` with a JSON input; decode the output.

    Generic errors come back as librbd's (ImageNotFound, ImageExists, ImageBusy).
    """
    try:
        return decode(io.execute(oid, cls, method, encode(doc) if doc is not None else b""))
    except errors.ShoalError as exc:
        for generic, specific in (
            (errors.NotFound, _errors.ImageNotFound),
            (errors.AlreadyExists, _errors.ImageExists),
            (errors.Busy, _errors.ImageBusy),
        ):
            if isinstance(exc, generic) and not isinstance(exc, specific):
                raise specific(exc.message) from exc
        raise


def _get(ctx: ObjectContext, key: str) -> Any:
    got = ctx.omap_get_vals_by_keys([key])
    return json.loads(got[key]) if key in got else None


def _set(ctx: ObjectContext, items: dict[str, Any]) -> None:
    ctx.omap_set({k: encode(v) for k, v in items.items()})


def _need_header(ctx: ObjectContext) -> None:
    if not ctx.exists():
        raise errors.NotFound(f"image header {ctx.oid} does not exist")


def _snap_key(snap_id: int) -> str:
    return f"snapshot_{snap_id:016x}"


# --- header ----------------------------------------------------------------------


@register_method("rbd", "create", WR)
def _create(ctx: ObjectContext, raw: bytes) -> bytes:
    """Create a header: {size, order, features, object_prefix, stripe_unit, stripe_count}."""
    doc = decode(raw)
    if ctx.exists():
        raise errors.AlreadyExists(f"{ctx.oid} exists")
    now = time.time()
    ctx.create(exclusive=True)
    _set(
        ctx,
        {
            "size": int(doc["size"]),
            "order": int(doc["order"]),
            "features": int(doc["features"]),
            "object_prefix": str(doc["object_prefix"]),
            "snap_seq": 0,
            "stripe_unit": int(doc.get("stripe_unit", 0)),
            "stripe_count": int(doc.get("stripe_count", 0)),
            "flags": 0,
            "op_features": 0,
            "create_timestamp": now,
            "access_timestamp": now,
            "modify_timestamp": now,
        },
    )
    if doc.get("parent"):
        _set(ctx, {"parent": doc["parent"]})
    return b""


@register_method("rbd", "get_header", RD)
def _get_header(ctx: ObjectContext, raw: bytes) -> bytes:
    """Everything about the image in one call: header keys, snaps, metadata."""
    _need_header(ctx)
    out: dict[str, Any] = {"snapshots": [], "metadata": {}}
    after = ""
    while True:
        page = ctx.omap_get_vals(after, "", 1024)
        for k, v in page.items:
            value = json.loads(v)
            if k.startswith("snapshot_"):
                out["snapshots"].append(value)
            elif k.startswith("metadata_"):
                out["metadata"][k[len("metadata_") :]] = value
            else:
                out[k] = value
        if not page.more:
            break
        after = page.items[-1][0]
    return encode(out)


@register_method("rbd", "set_size", WR)
def _set_size(ctx: ObjectContext, raw: bytes) -> bytes:
    """Set the size; the parent overlap shrinks with it and never grows."""
    _need_header(ctx)
    size = int(decode(raw)["size"])
    parent = _get(ctx, "parent")
    items: dict[str, Any] = {"size": size, "modify_timestamp": time.time()}
    if parent is not None and parent["overlap"] > size:
        parent["overlap"] = size
        items["parent"] = parent
    _set(ctx, items)
    return b""


@register_method("rbd", "set_features", WR)
def _set_features(ctx: ObjectContext, raw: bytes) -> bytes:
    _need_header(ctx)
    doc = decode(raw)
    features = int(_get(ctx, "features"))
    features = (features & ~int(doc["mask"])) | (int(doc["features"]) & int(doc["mask"]))
    _set(ctx, {"features": features})
    return b""


@register_method("rbd", "set_flags", WR)
def _set_flags(ctx: ObjectContext, raw: bytes) -> bytes:
    _need_header(ctx)
    doc = decode(raw)
    flags = int(_get(ctx, "flags") or 0)
    flags = (flags & ~int(doc["mask"])) | (int(doc["flags"]) & int(doc["mask"]))
    _set(ctx, {"flags": flags})
    return b""


@register_method("rbd", "snapshot_add", WR)
def _snapshot_add(ctx: ObjectContext, raw: bytes) -> bytes:
    """Record snapshot {id, name}; it captures size and parent as they are now."""
    _need_header(ctx)
    doc = decode(raw)
    snap_id, name = int(doc["id"]), str(doc["name"])
    for _k, v in ctx.omap_get_vals("", "snapshot_", 1024).items:
        if json.loads(v)["name"] == name:
            raise errors.AlreadyExists(f"snapshot {name!r} already exists")
    seq = int(_get(ctx, "snap_seq"))
    if snap_id <= seq:
        raise errors.OutOfRange(f"snap id {snap_id} <= snap_seq {seq}")
    record = {
        "id": snap_id,
        "name": name,
        "size": int(_get(ctx, "size")),
        "features": int(_get(ctx, "features")),
        "parent": _get(ctx, "parent"),
        "timestamp": time.time(),
        "protected": False,
        "flags": int(doc.get("flags", 0)),
    }
    _set(ctx, {_snap_key(snap_id): record, "snap_seq": snap_id})
    return b""


def _snapshot(ctx: ObjectContext, snap_id: int) -> dict[str, Any]:
    rec = _get(ctx, _snap_key(snap_id))
    if rec is None:
        raise errors.NotFound(f"snapshot id {snap_id} does not exist")
    assert isinstance(rec, dict)
    return rec


@register_method("rbd", "snapshot_remove", WR)
def _snapshot_remove(ctx: ObjectContext, raw: bytes) -> bytes:
    _need_header(ctx)
    snap_id = int(decode(raw)["id"])
    rec = _snapshot(ctx, snap_id)
    if rec["protected"]:
        raise errors.Busy(f"snapshot {rec['name']!r} is protected")
    ctx.omap_rm_keys([_snap_key(snap_id)])
    return b""


@register_method("rbd", "snapshot_rename", WR)
def _snapshot_rename(ctx: ObjectContext, raw: bytes) -> bytes:
    _need_header(ctx)
    doc = decode(raw)
    rec = _snapshot(ctx, int(doc["id"]))
    for _k, v in ctx.omap_get_vals("", "snapshot_", 1024).items:
        if json.loads(v)["name"] == doc["name"]:
            raise errors.AlreadyExists(f"snapshot {doc['name']!r} already exists")
    rec["name"] = str(doc["name"])
    _set(ctx, {_snap_key(rec["id"]): rec})
    return b""


@register_method("rbd", "set_protection_status", WR)
def _set_protection(ctx: ObjectContext, raw: bytes) -> bytes:
    _need_header(ctx)
    doc = decode(raw)
    rec = _snapshot(ctx, int(doc["id"]))
    rec["protected"] = bool(doc["protected"])
    _set(ctx, {_snap_key(rec["id"]): rec})
    return b""


@register_method("rbd", "remove_parent", WR)
def _remove_parent(ctx: ObjectContext, raw: bytes) -> bytes:
    """Detach from the parent; with {"snapshots": true} also every snapshot's link."""
    _need_header(ctx)
    doc = decode(raw) or {}
    ctx.omap_rm_keys(["parent"])
    if doc.get("snapshots"):
        for k, v in ctx.omap_get_vals("", "snapshot_", 1024).items:
            rec = json.loads(v)
            if rec.get("parent") is not None:
                rec["parent"] = None
                _set(ctx, {k: rec})
    return b""


@register_method("rbd", "metadata_set", WR)
def _metadata_set(ctx: ObjectContext, raw: bytes) -> bytes:
    _need_header(ctx)
    doc = decode(raw)
    _set(ctx, {f"metadata_{k}": str(v) for k, v in doc.items()})
    return b""


@register_method("rbd", "metadata_remove", WR)
def _metadata_remove(ctx: ObjectContext, raw: bytes) -> bytes:
    _need_header(ctx)
    key = f"metadata_{decode(raw)['key']}"
    if not ctx.omap_get_vals_by_keys([key]):
        raise errors.NotFound(f"no image metadata key {key[9:]!r}")
    ctx.omap_rm_keys([key])
    return b""


# --- directory -------------------------------------------------------------------


@register_method("rbd", "dir_add_image", WR)
def _dir_add(ctx: ObjectContext, raw: bytes) -> bytes:
    doc = decode(raw)
    name, image_id = str(doc["name"]), str(doc["id"])
    have = ctx.omap_get_vals_by_keys([f"name_{name}", f"id_{image_id}"]) if ctx.exists() else {}
    if have:
        raise errors.AlreadyExists(f"image {name!r} (id {image_id}) already exists")
    _set(ctx, {f"name_{name}": image_id, f"id_{image_id}": name})
    return b""


@register_method("rbd", "dir_remove_image", WR)
def _dir_remove(ctx: ObjectContext, raw: bytes) -> bytes:
    doc = decode(raw)
    name, image_id = str(doc["name"]), str(doc["id"])
    if not ctx.exists() or _get(ctx, f"name_{name}") != image_id:
        raise errors.NotFound(f"image {name!r} not in the directory")
    ctx.omap_rm_keys([f"name_{name}", f"id_{image_id}"])
    return b""


@register_method("rbd", "dir_rename_image", WR)
def _dir_rename(ctx: ObjectContext, raw: bytes) -> bytes:
    doc = decode(raw)
    src, dest, image_id = str(doc["src"]), str(doc["dest"]), str(doc["id"])
    if not ctx.exists() or _get(ctx, f"name_{src}") != image_id:
        raise errors.NotFound(f"image {src!r} not in the directory")
    if _get(ctx, f"name_{dest}") is not None:
        raise errors.AlreadyExists(f"image {dest!r} already exists")
    ctx.omap_rm_keys([f"name_{src}"])
    _set(ctx, {f"name_{dest}": image_id, f"id_{image_id}": dest})
    return b""


@register_method("rbd", "dir_list", RD)
def _dir_list(ctx: ObjectContext, raw: bytes) -> bytes:
    """{start_after, max} → [[name, id], …] in name order."""
    doc = decode(raw) or {}
    after = "name_" + str(doc.get("start_after", "")) if doc.get("start_after") else ""
    page = ctx.omap_get_vals(after, "name_", int(doc.get("max", 1024)))
    return encode({"images": [[k[5:], json.loads(v)] for k, v in page.items], "more": page.more})


@register_method("rbd", "dir_get_id", RD)
def _dir_get_id(ctx: ObjectContext, raw: bytes) -> bytes:
    name = str(decode(raw)["name"])
    image_id = _get(ctx, f"name_{name}")
    if image_id is None:
        raise errors.NotFound(f"image {name!r} does not exist")
    return encode(image_id)


@register_method("rbd", "dir_get_name", RD)
def _dir_get_name(ctx: ObjectContext, raw: bytes) -> bytes:
    image_id = str(decode(raw)["id"])
    name = _get(ctx, f"id_{image_id}")
    if name is None:
        raise errors.NotFound(f"image id {image_id} does not exist")
    return encode(name)


# --- clone v1 children --------------------------------------------------------------


def _child_key(spec: list[Any]) -> str:
    pool_id, namespace, image_id, snap_id = spec
    return f"{int(pool_id):016x}.{namespace}.{image_id}.{int(snap_id):016x}"


@register_method("rbd", "add_child", WR)
def _add_child(ctx: ObjectContext, raw: bytes) -> bytes:
    doc = decode(raw)
    key = _child_key(doc["parent"])
    children = (_get(ctx, key) if ctx.exists() else None) or []
    if doc["child"] in children:
        raise errors.AlreadyExists(f"child {doc['child']} already registered")
    _set(ctx, {key: sorted([*children, str(doc["child"])])})
    return b""


@register_method("rbd", "remove_child", WR)
def _remove_child(ctx: ObjectContext, raw: bytes) -> bytes:
    doc = decode(raw)
    key = _child_key(doc["parent"])
    children = (_get(ctx, key) if ctx.exists() else None) or []
    if doc["child"] not in children:
        raise errors.NotFound(f"child {doc['child']} not registered")
    rest = [c for c in children if c != doc["child"]]
    if rest:
        _set(ctx, {key: rest})
    else:
        ctx.omap_rm_keys([key])
    return b""


@register_method("rbd", "get_children", RD)
def _get_children(ctx: ObjectContext, raw: bytes) -> bytes:
    doc = decode(raw)
    return encode(_get(ctx, _child_key(doc["parent"])) or [])


# --- trash ---------------------------------------------------------------------------


@register_method("rbd", "trash_add", WR)
def _trash_add(ctx: ObjectContext, raw: bytes) -> bytes:
    doc = decode(raw)
    key = f"id_{doc['id']}"
    if ctx.exists() and ctx.omap_get_vals_by_keys([key]):
        raise errors.AlreadyExists(f"image id {doc['id']} already in the trash")
    _set(ctx, {key: doc["spec"]})
    return b""


@register_method("rbd", "trash_remove", WR)
def _trash_remove(ctx: ObjectContext, raw: bytes) -> bytes:
    key = f"id_{decode(raw)['id']}"
    if not ctx.exists() or not ctx.omap_get_vals_by_keys([key]):
        raise errors.NotFound("no such image in the trash")
    ctx.omap_rm_keys([key])
    return b""


@register_method("rbd", "trash_list", RD)
def _trash_list(ctx: ObjectContext, raw: bytes) -> bytes:
    items = ctx.omap_get_vals("", "id_", 1024).items
    return encode({k[3:]: json.loads(v) for k, v in items})


# --- exclusive lock (cls_lock) ----------------------------------------------------------

_LOCK_ATTR = "lock.rbd_lock"


@register_method("lock", "get_info", RD)
def _lock_info(ctx: ObjectContext, raw: bytes) -> bytes:
    try:
        return ctx.get_xattr(_LOCK_ATTR)
    except errors.NoData:
        return encode(None)


@register_method("lock", "lock", WR)
def _lock(ctx: ObjectContext, raw: bytes) -> bytes:
    """Take the lock for {owner…}; EBUSY if held by another owner (same owner: ok)."""
    _need_header(ctx)
    doc = decode(raw)
    try:
        held = json.loads(ctx.get_xattr(_LOCK_ATTR))
    except errors.NoData:
        held = None
    taken = held is not None and held["cookie"] != doc["cookie"]
    if taken and held["cookie"] != doc.get("break_cookie"):
        raise errors.Busy(f"image locked by {held.get('entity', '?')}")
    ctx.set_xattr(_LOCK_ATTR, encode(doc["owner"] | {"cookie": doc["cookie"]}))
    return b""


@register_method("lock", "unlock", WR)
def _unlock(ctx: ObjectContext, raw: bytes) -> bytes:
    _need_header(ctx)
    doc = decode(raw)
    try:
        held = json.loads(ctx.get_xattr(_LOCK_ATTR))
    except errors.NoData:
        raise errors.NotFound("image is not locked") from None
    if held["cookie"] != doc["cookie"]:
        raise errors.NotFound("lock held by another owner")
    ctx.rm_xattr(_LOCK_ATTR)
    return b""


# --- watchers (a read-write handle is open) ----------------------------------------------

_WATCH_ATTR = "rbd.watchers"


def _watchers(ctx: ObjectContext) -> dict[str, Any]:
    try:
        return dict(json.loads(ctx.get_xattr(_WATCH_ATTR)))
    except errors.NoData:
        return {}


@register_method("lock", "watch", WR)
def _watch(ctx: ObjectContext, raw: bytes) -> bytes:
    """Register {cookie, owner} as a watcher; drop the ``stale`` cookies given."""
    _need_header(ctx)
    doc = decode(raw)
    current = _watchers(ctx)
    for cookie in doc.get("stale", []):
        current.pop(cookie, None)
    current[doc["cookie"]] = doc["owner"]
    ctx.set_xattr(_WATCH_ATTR, encode(current))
    return b""


@register_method("lock", "unwatch", WR)
def _unwatch(ctx: ObjectContext, raw: bytes) -> bytes:
    if not ctx.exists():
        return b""
    current = _watchers(ctx)
    if current.pop(decode(raw)["cookie"], None) is not None:
        ctx.set_xattr(_WATCH_ATTR, encode(current))
    return b""


@register_method("lock", "list_watchers", RD)
def _list_watchers(ctx: ObjectContext, raw: bytes) -> bytes:
    if not ctx.exists():
        raise errors.NotFound("no such image")
    return encode(_watchers(ctx))
