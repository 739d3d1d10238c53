"""Translating a shoal :class:`~shoal.objstore.WriteOp` onto one librados write op.

Every mutation step has a direct ``rados.WriteOp`` (or ``Ioctx.set_omap`` & co.)
counterpart, so a translated op is applied by the OSD all-or-nothing. Two
preconditions have no counterpart in the python binding of Ceph 16
(``rados_write_op_assert_exists`` and ``rados_write_op_cmpxattr`` are not
wrapped); they are evaluated client-side against a read of the object, and the
write op then carries ``assert_version(<the version read>)``, so the OSD refuses
it (ERANGE/EOVERFLOW) if the object changed in between and :func:`plan` is run
again. That keeps the whole op atomic. A precondition placed *after* mutations
in the same op is evaluated against the state those steps lead to (existence
and xattr values are all a precondition looks at, and both follow from the
steps).

Known binding quirks handled here:

- ``WriteOp.zero(offset, length)`` passes its arguments to librados swapped
  (pybind/rados in Ceph 16), so we call it as ``zero(length, offset)``.
- A ZERO with length 0 trips ``ceph_assert(op.extent.length)`` in the OSD and
  kills it (Ceph 16.2.15): we never send one; a zero of length 0 is a no-op.
- ``operate_write_op(mtime=0)`` stores mtime 0 (the epoch): we pass the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shoal import errors
from shoal.objstore._ops import (
    Step,
    apply_plain_mutation,
    check_version,
    check_xattr_cmp,
    object_not_found,
)

__all__ = ["EMULATED_PRECONDITIONS", "Precheck", "build_write_op", "precheck_steps"]

#: Steps evaluated client-side (no binding call exists for them).
EMULATED_PRECONDITIONS = frozenset({"assert_exists", "cmp_xattr"})

#: Python binding of Ceph 16: ``WriteOp.zero`` swaps offset and length on the way
#: to ``rados_write_op_zero`` (checked by tests/ceph/test_objstore_ceph.py).
ZERO_ARGS_SWAPPED = True


@dataclass(frozen=True)
class Precheck:
    """What the emulated preconditions saw: the object's version (0: absent)
    and the xattrs they read."""

    version: int
    xattrs: dict[str, bytes | None]


def needs_precheck(steps: list[Step]) -> bool:
    """Whether ``steps`` contain preconditions that must be evaluated client-side."""
    return any(step.kind in EMULATED_PRECONDITIONS for step in steps)


#: Steps that create the object when it is missing.
_CREATING = frozenset({"create", "write", "write_full", "append", "set_xattr", "omap_set"})


def precheck_steps(oid: str, steps: list[Step], seen: Precheck) -> None:
    """Evaluate every precondition of ``steps`` where it stands in the op.

    Starts from ``seen`` (the object before the op) and follows what the earlier
    steps do to the two things preconditions look at: whether the object exists
    and the value of each compared xattr. Raises what the step would raise
    (ObjectNotFound, Canceled, OutOfRange, Overflow, InvalidArgument).
    ``assert_version`` is checked only before the first mutation (afterwards the
    OSD checks it; the version a mutation leads to is not known here).
    """
    exists = seen.version > 0
    xattrs = dict(seen.xattrs)
    mutated = False
    for step in steps:
        a = step.args
        kind = step.kind
        if kind == "assert_exists":
            if not exists:
                raise object_not_found(oid)
        elif kind == "cmp_xattr":
            if not exists:
                raise object_not_found(oid)
            name, op, value = str(a[0]), str(a[1]), a[2]
            assert isinstance(value, bytes)
            check_xattr_cmp(name, op, xattrs.get(name) or b"", value)
        elif kind == "assert_version":
            if mutated:
                continue
            check_version(oid, seen.version, int(a[0]))  # type: ignore[call-overload]
        else:
            mutated = True
            if kind == "remove":
                exists = False
                xattrs = {name: None for name in xattrs}
            elif kind in _CREATING:
                exists = True
            if kind == "set_xattr":
                assert isinstance(a[1], bytes)
                xattrs[str(a[0])] = a[1]
            elif kind == "rm_xattr":
                xattrs[str(a[0])] = None


def build_write_op(
    raw_ioctx: Any, op: Any, steps: list[Step], seen: Precheck | None, rados: Any
) -> bool:
    """Fill the binding's ``op`` (a ``rados.WriteOp``) from ``steps``.

    ``seen`` (when preconditions were emulated) adds ``assert_version`` so that
    the OSD refuses the op if the object changed since it was read. Returns
    False when nothing at all would be sent (an op of no-op steps).
    """
    sent = False
    if seen is not None and seen.version > 0:
        op.assert_version(seen.version)
        sent = True
    for step in steps:
        if apply_plain_mutation(op, step):
            sent = True
            continue
        a = step.args
        match step.kind:
            case "assert_exists" | "cmp_xattr":
                continue  # evaluated client-side (see the module doc)
            case "assert_version":
                op.assert_version(int(a[0]))  # type: ignore[call-overload]
            case "create":
                op.new(
                    rados.LIBRADOS_CREATE_EXCLUSIVE if a[0] else rados.LIBRADOS_CREATE_IDEMPOTENT
                )
            case "zero":
                offset, length = a
                assert isinstance(offset, int) and isinstance(length, int)
                if length == 0:
                    continue  # never send: a zero-length ZERO aborts the OSD
                if ZERO_ARGS_SWAPPED:
                    op.zero(length, offset)
                else:
                    op.zero(offset, length)
            case "omap_set":
                items = a[0]
                assert isinstance(items, dict)
                keys = tuple(items)
                raw_ioctx.set_omap(op, keys, tuple(items[k] for k in keys))
            case "omap_rm_keys":
                assert isinstance(a[0], tuple)
                raw_ioctx.remove_omap_keys(op, tuple(str(k) for k in a[0]))
            case "omap_clear":
                raw_ioctx.clear_omap(op)
            case _:
                raise errors.InvalidArgument(f"unknown compound step {step.kind!r}")
        sent = True
    return sent
