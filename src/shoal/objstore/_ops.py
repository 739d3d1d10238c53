"""Compound operations on one object, and the context they run against.

A :class:`WriteOp` is a list of steps (preconditions and mutations) applied to a
single object all-or-nothing, as a RADOS ``ObjectWriteOperation``. Steps are
plain data so that a Ceph adapter can translate them to librados calls; the
embedded stores interpret them with :func:`apply_steps` against an
:class:`ObjectContext` (a transactional view of one object).

Object classes (``execute``) are Python functions registered per class and
method with RD/WR flags, running against the same :class:`ObjectContext`.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from shoal import errors, limits
from shoal.objstore._types import ObjectStat, OmapPage

__all__ = [
    "ClassMethod",
    "CmpXattrOp",
    "MethodFlags",
    "ObjectContext",
    "PlainMutations",
    "Step",
    "WriteOp",
    "apply_plain_mutation",
    "apply_steps",
    "check_extent",
    "check_list_entries",
    "check_name",
    "check_omap_items",
    "check_omap_key",
    "check_omap_max_return",
    "check_range",
    "check_snap_id",
    "check_step",
    "check_version",
    "check_xattr",
    "check_xattr_cmp",
    "lookup_method",
    "object_not_found",
    "register_method",
]

CmpXattrOp = Literal["eq", "ne", "gt", "gte", "lt", "lte"]
_CMP: dict[str, Callable[[bytes, bytes], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def utf8_len(text: str, what: str) -> int:
    """Length of ``text`` in UTF-8 bytes; InvalidArgument if it is not valid UTF-8."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise errors.InvalidArgument(f"{what} is not valid UTF-8") from None


def check_name(oid: str) -> None:
    """Refuse empty names (EINVAL) and names longer than the limit (ENAMETOOLONG)."""
    if not isinstance(oid, str) or not oid:
        raise errors.InvalidArgument("object name must be a non-empty string")
    if utf8_len(oid, "object name") > limits.object_name_bytes_max:
        raise errors.NameTooLong(
            f"object name longer than {limits.object_name_bytes_max} bytes"
        )


def check_xattr(name: str, value: bytes | None = None) -> None:
    """Refuse xattr names/values out of bounds (EINVAL)."""
    if not name:
        raise errors.InvalidArgument("xattr name must not be empty")
    if utf8_len(name, "xattr name") > limits.xattr_name_bytes_max:
        # the OSD answers ENAMETOOLONG past osd_max_attr_name_len (checked on Ceph 16)
        raise errors.NameTooLong(f"xattr name longer than {limits.xattr_name_bytes_max} bytes")
    if value is not None and len(value) > limits.xattr_value_bytes_max:
        raise errors.InvalidArgument(
            f"xattr value longer than {limits.xattr_value_bytes_max} bytes"
        )


def check_omap_key(key: str, value: bytes | None = None) -> None:
    """Refuse omap keys/values out of bounds (EINVAL)."""
    if utf8_len(key, "omap key") > limits.omap_key_bytes_max:
        raise errors.InvalidArgument(f"omap key longer than {limits.omap_key_bytes_max} bytes")
    if value is not None and len(value) > limits.omap_value_bytes_max:
        raise errors.InvalidArgument(
            f"omap value longer than {limits.omap_value_bytes_max} bytes"
        )


def check_omap_items(items: Mapping[str, bytes]) -> None:
    """Refuse more than ``limits.omap_entries_per_request_max`` entries in one request,
    and keys/values out of bounds (EINVAL)."""
    if len(items) > limits.omap_entries_per_request_max:
        raise errors.InvalidArgument(
            f"at most {limits.omap_entries_per_request_max} omap entries per request"
        )
    for k, v in items.items():
        check_omap_key(k, v)


def check_omap_max_return(max_return: int) -> None:
    """Refuse an omap page size outside 1..``limits.omap_entries_per_request_max`` (EINVAL)."""
    if not 0 < max_return <= limits.omap_entries_per_request_max:
        raise errors.InvalidArgument(
            f"max_return must be 1..{limits.omap_entries_per_request_max}"
        )


def check_list_entries(max_entries: int) -> None:
    """Refuse a listing page size outside 1..``limits.list_page_entries_max`` (EINVAL)."""
    if not 0 < max_entries <= limits.list_page_entries_max:
        raise errors.InvalidArgument(f"max_entries must be 1..{limits.list_page_entries_max}")


def check_snap_id(snap_id: int) -> None:
    """Refuse a snap id that cannot name a snapshot (ids start at 1; EINVAL)."""
    if snap_id <= 0:
        raise errors.InvalidArgument(f"bad snap id {snap_id}")


def check_range(offset: int, length: int) -> None:
    """Refuse a negative offset or length, in bytes (EINVAL)."""
    if offset < 0 or length < 0:
        raise errors.InvalidArgument("offset and length must be >= 0")


def check_extent(offset: int, length: int) -> None:
    """Refuse negative extents and extents ending past the object size limit
    (``offset + length`` bytes > ``limits.object_size_bytes_max``: EFBIG)."""
    check_range(offset, length)
    if offset + length > limits.object_size_bytes_max:
        raise errors.TooLarge(
            f"object would exceed {limits.object_size_bytes_max} bytes (osd_max_object_size)"
        )


def object_not_found(oid: str) -> errors.ObjectNotFound:
    """The error for a missing object ``oid`` (ENOENT), worded alike by every store."""
    return errors.ObjectNotFound(f"object {oid!r} does not exist")


def check_version(oid: str, have: int, want: int) -> None:
    """librados ``assert_version``: ``oid`` is at version ``have`` (0: absent).

    Raises InvalidArgument for ``want`` 0, OutOfRange when the object is newer
    than ``want``, Overflow when it is older.
    """
    if want == 0:
        raise errors.InvalidArgument("assert_version needs a version > 0")
    if have > want:
        raise errors.OutOfRange(f"object {oid!r} is at version {have} > {want}")
    if have < want:
        raise errors.Overflow(f"object {oid!r} is at version {have} < {want}")


def check_xattr_cmp(name: str, op: str, have: bytes, value: bytes) -> None:
    """librados ``cmpxattr``: Canceled unless ``have <op> value`` (bytewise; a missing
    xattr compares as ``b""``). ``op`` is one of :data:`CmpXattrOp`."""
    if not _CMP[op](have, value):
        raise errors.Canceled(f"xattr {name!r} comparison {op} failed")


class ObjectContext(ABC):
    """A transactional view of one object, used by compound ops and classes.

    Reads see the effect of earlier mutations in the same transaction. Errors
    are :mod:`shoal.errors` instances; raising aborts the whole transaction.
    """

    oid: str

    @abstractmethod
    def exists(self) -> bool: ...

    @abstractmethod
    def stat(self) -> ObjectStat:
        """Raises ObjectNotFound."""

    @abstractmethod
    def read(self, offset: int, length: int) -> bytes:
        """Short read past the end. Raises ObjectNotFound."""

    @abstractmethod
    def create(self, exclusive: bool) -> None:
        """Create an empty object; with ``exclusive`` an existing one is EEXIST."""

    @abstractmethod
    def write(self, data: bytes, offset: int) -> None: ...

    @abstractmethod
    def write_full(self, data: bytes) -> None: ...

    @abstractmethod
    def truncate(self, size: int) -> None:
        """Cut or zero-extend to ``size``; a no-op on a missing object (as the OSD)."""

    @abstractmethod
    def zero(self, offset: int, length: int) -> None:
        """Zero a range inside the object; never extends it; no-op if absent.

        Known difference: the OSD (Ceph 16) truncates the object to ``offset``
        when the range reaches the end (``offset < size <= offset + length``);
        pinned in tests/ceph/test_objstore_ceph.py."""

    @abstractmethod
    def remove(self) -> None:
        """Raises ObjectNotFound."""

    @abstractmethod
    def get_xattr(self, name: str) -> bytes:
        """Raises ObjectNotFound, NoData."""

    @abstractmethod
    def get_xattrs(self) -> dict[str, bytes]: ...

    @abstractmethod
    def set_xattr(self, name: str, value: bytes) -> None: ...

    @abstractmethod
    def rm_xattr(self, name: str) -> None:
        """Raises ObjectNotFound; removing an absent xattr succeeds (as the OSD)."""

    @abstractmethod
    def omap_get_vals(self, start_after: str, filter_prefix: str, max_return: int) -> OmapPage: ...

    @abstractmethod
    def omap_get_vals_by_keys(self, keys: Iterable[str]) -> dict[str, bytes]: ...

    @abstractmethod
    def omap_set(self, items: Mapping[str, bytes]) -> None: ...

    @abstractmethod
    def omap_rm_keys(self, keys: Iterable[str]) -> None: ...

    @abstractmethod
    def omap_clear(self) -> None: ...

    def append(self, data: bytes) -> None:
        size = self.stat().size if self.exists() else 0
        self.write(data, size)


# --- compound operations --------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of a WriteOp: ``kind`` names an ObjectContext verb or a check."""

    kind: str
    args: tuple[object, ...] = ()
    reads: bool = False  # needs read access (caps 'r')


@dataclass
class WriteOp:
    """An all-or-nothing compound mutation of one object (a RADOS write op).

    Build it with the chained methods, then pass it to ``IoCtx.operate``::

        op = WriteOp().assert_exists().cmp_xattr("lock", "eq", b"me").write(b"x", 0)
    """

    steps: list[Step] = field(default_factory=list)

    def _add(self, kind: str, *args: object, reads: bool = False) -> WriteOp:
        self.steps.append(Step(kind, args, reads))
        return self

    # preconditions
    def assert_exists(self) -> WriteOp:
        """Fail with ObjectNotFound unless the object exists."""
        return self._add("assert_exists", reads=True)

    def assert_version(self, version: int) -> WriteOp:
        """Fail unless the object's version equals ``version``.

        Raises OutOfRange when the object is newer, Overflow when it is older
        (librados ``assert_version``).
        """
        return self._add("assert_version", version, reads=True)

    def cmp_xattr(self, name: str, op: CmpXattrOp, value: bytes) -> WriteOp:
        """Fail with Canceled unless ``xattr <op> value`` (a missing xattr is b"")."""
        if op not in _CMP:
            raise errors.InvalidArgument(f"unknown xattr comparison {op!r}")
        return self._add("cmp_xattr", name, op, value, reads=True)

    # mutations
    def create(self, exclusive: bool = True) -> WriteOp:
        return self._add("create", exclusive)

    def write(self, data: bytes, offset: int = 0) -> WriteOp:
        return self._add("write", bytes(data), offset)

    def write_full(self, data: bytes) -> WriteOp:
        return self._add("write_full", bytes(data))

    def append(self, data: bytes) -> WriteOp:
        return self._add("append", bytes(data))

    def truncate(self, size: int) -> WriteOp:
        return self._add("truncate", size)

    def zero(self, offset: int, length: int) -> WriteOp:
        return self._add("zero", offset, length)

    def remove(self) -> WriteOp:
        return self._add("remove")

    def set_xattr(self, name: str, value: bytes) -> WriteOp:
        return self._add("set_xattr", name, bytes(value))

    def rm_xattr(self, name: str) -> WriteOp:
        return self._add("rm_xattr", name)

    def omap_set(self, items: Mapping[str, bytes]) -> WriteOp:
        return self._add("omap_set", {k: bytes(v) for k, v in items.items()})

    def omap_rm_keys(self, keys: Iterable[str]) -> WriteOp:
        return self._add("omap_rm_keys", tuple(keys))

    def omap_clear(self) -> WriteOp:
        return self._add("omap_clear")

    @property
    def needs_read(self) -> bool:
        return any(s.reads for s in self.steps)

    @property
    def needs_write(self) -> bool:
        return any(not s.reads for s in self.steps)


class PlainMutations(Protocol):
    """The mutations an :class:`ObjectContext` and a librados ``WriteOp`` spell alike
    (same name, same arguments)."""

    def write(self, data: bytes, offset: int) -> object: ...
    def write_full(self, data: bytes) -> object: ...
    def append(self, data: bytes) -> object: ...
    def truncate(self, size: int) -> object: ...
    def remove(self) -> object: ...
    def set_xattr(self, name: str, value: bytes) -> object: ...
    def rm_xattr(self, name: str) -> object: ...


def apply_plain_mutation(target: PlainMutations, step: Step) -> bool:
    """Call ``step`` on ``target`` if it is one of :class:`PlainMutations`.

    Returns False (nothing called) for any other step: preconditions, ``create``,
    ``zero`` and the omap steps, which each target spells its own way.
    """
    a = step.args
    match step.kind:
        case "write":
            assert isinstance(a[0], bytes) and isinstance(a[1], int)
            target.write(a[0], a[1])
        case "write_full":
            assert isinstance(a[0], bytes)
            target.write_full(a[0])
        case "append":
            assert isinstance(a[0], bytes)
            target.append(a[0])
        case "truncate":
            assert isinstance(a[0], int)
            target.truncate(a[0])
        case "remove":
            target.remove()
        case "set_xattr":
            assert isinstance(a[1], bytes)
            target.set_xattr(str(a[0]), a[1])
        case "rm_xattr":
            target.rm_xattr(str(a[0]))
        case _:
            return False
    return True


def apply_steps(ctx: ObjectContext, steps: Iterable[Step]) -> None:
    """Run ``steps`` in order against ``ctx``; the caller commits or rolls back."""
    for step in steps:
        if apply_plain_mutation(ctx, step):
            continue
        a = step.args
        match step.kind:
            case "assert_exists":
                if not ctx.exists():
                    raise object_not_found(ctx.oid)
            case "assert_version":
                want = int(a[0])  # type: ignore[call-overload]
                check_version(ctx.oid, ctx.stat().version if ctx.exists() else 0, want)
            case "cmp_xattr":
                name, op, value = str(a[0]), str(a[1]), a[2]
                assert isinstance(value, bytes)
                if not ctx.exists():
                    raise object_not_found(ctx.oid)
                try:
                    have_value = ctx.get_xattr(name)
                except errors.NoData:
                    have_value = b""
                check_xattr_cmp(name, op, have_value, value)
            case "create":
                ctx.create(bool(a[0]))
            case "zero":
                assert isinstance(a[0], int) and isinstance(a[1], int)
                ctx.zero(a[0], a[1])
            case "omap_set":
                assert isinstance(a[0], dict)
                ctx.omap_set(a[0])
            case "omap_rm_keys":
                assert isinstance(a[0], tuple)
                ctx.omap_rm_keys(a[0])
            case "omap_clear":
                ctx.omap_clear()
            case _:
                raise errors.InvalidArgument(f"unknown compound step {step.kind!r}")


def check_step(step: Step) -> None:
    """Check one step's arguments against the bounds its direct call would check,
    before anything of the op runs (so a bad step fails the whole op up front)."""
    kind, args = step.kind, step.args
    if kind == "write":
        data, offset = args
        assert isinstance(data, bytes) and isinstance(offset, int)
        check_extent(offset, len(data))
    elif kind in ("write_full", "append"):
        data = args[0]
        assert isinstance(data, bytes)
        check_extent(0, len(data))
    elif kind == "truncate":
        size = args[0]
        assert isinstance(size, int)
        check_extent(size, 0)
    elif kind == "set_xattr":
        assert isinstance(args[1], bytes)
        check_xattr(str(args[0]), args[1])
    elif kind in ("rm_xattr", "cmp_xattr"):
        check_xattr(str(args[0]))
    elif kind == "omap_set":
        items = args[0]
        assert isinstance(items, dict)
        check_omap_items(items)
    elif kind == "omap_rm_keys":
        keys = args[0]
        assert isinstance(keys, tuple)
        for k in keys:
            check_omap_key(str(k))
    elif kind == "zero":
        offset, length = args
        assert isinstance(offset, int) and isinstance(length, int)
        check_range(offset, length)


# --- object classes ------------------------------------------------------------


class MethodFlags(enum.IntFlag):
    """Like Ceph's CLS_METHOD_RD / CLS_METHOD_WR."""

    RD = 1
    WR = 2


ClassFn = Callable[[ObjectContext, bytes], bytes]


@dataclass(frozen=True)
class ClassMethod:
    cls: str
    name: str
    flags: MethodFlags
    fn: ClassFn


_REGISTRY: dict[tuple[str, str], ClassMethod] = {}


def register_method(cls: str, name: str, flags: MethodFlags) -> Callable[[ClassFn], ClassFn]:
    """Decorator registering ``fn(ctx, input) -> output`` as ``cls.name``."""

    def deco(fn: ClassFn) -> ClassFn:
        key = (cls, name)
        assert key not in _REGISTRY, f"class method {cls}.{name} registered twice"
        _REGISTRY[key] = ClassMethod(cls, name, flags, fn)
        return fn

    return deco


def lookup_method(cls: str, name: str) -> ClassMethod:
    """The registered method, as the OSD finds it.

    Raises PermissionDenied (EPERM) for an unknown class (the OSD cannot load it)
    and NotSupported (EOPNOTSUPP) for an unknown method of a known class
    (both checked on Ceph 16).
    """
    _load_builtin_classes()
    try:
        return _REGISTRY[(cls, name)]
    except KeyError:
        pass
    if not any(known == cls for known, _ in _REGISTRY):
        raise errors.PermissionDenied(f"no object class {cls!r} (cannot be loaded)")
    raise errors.NotSupported(f"no object class method {cls}.{name}")


def _load_builtin_classes() -> None:
    from shoal.objstore import _cls_hello  # noqa: F401  (registers on import)
