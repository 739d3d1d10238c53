"""The behaviour every :class:`~shoal.objstore.ObjectStore` must show (librados semantics).

Subclass :class:`ObjectStoreContract` in a ``test_*.py`` module and provide a
``store`` fixture yielding a fresh, empty store::

    class TestMyStore(ObjectStoreContract):
        @pytest.fixture
        def store(self) -> Iterator[ObjectStore]:
            with MyStore() as s:
                yield s

Every test goes through the public interface only. Expected errors follow what
a Ceph OSD/monitor answers (``src/osd/PrimaryLogPG.cc``), mapped to
:mod:`shoal.errors`. NUL bytes in names are deliberately not pinned.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal import errors, limits
from shoal.objstore import (
    IoCtx,
    MethodFlags,
    ObjectContext,
    ObjectStore,
    WriteOp,
    lookup_method,
    register_method,
)

__all__ = ["ObjectStoreContract"]

POOL = "contract"

# --- object class methods used by the tests ---------------------------------
_TEST_CLASS = "shoal_contract"


def _write_then_read(ctx: ObjectContext, data: bytes) -> bytes:
    """WR: write ``data`` at 0 and return what a read in the same transaction sees."""
    ctx.write(data, 0)
    return ctx.read(0, len(data) + 16)


def _write_then_fail(ctx: ObjectContext, data: bytes) -> bytes:
    """WR: change data, xattrs and omap, then fail (nothing may stick)."""
    ctx.write(data, 0)
    ctx.set_xattr("from_class", data)
    ctx.omap_set({"from_class": data})
    raise errors.Canceled("failing on purpose after writing")


def _remove_then_fail(ctx: ObjectContext, data: bytes) -> bytes:
    """WR: remove the object, then fail (the object must survive)."""
    ctx.remove()
    raise errors.Canceled("failing on purpose after removing")


def _sneaky_write(ctx: ObjectContext, data: bytes) -> bytes:
    """RD: tries to write although it is registered read-only."""
    ctx.write(b"sneaky", 0)
    return b""


def _register_test_methods() -> None:
    """Register the test class once, even if this module is imported twice."""
    try:
        lookup_method(_TEST_CLASS, "write_then_read")
        return
    except (errors.NotSupported, errors.PermissionDenied):
        pass
    register_method(_TEST_CLASS, "write_then_read", MethodFlags.RD | MethodFlags.WR)(
        _write_then_read
    )
    register_method(_TEST_CLASS, "write_then_fail", MethodFlags.WR)(_write_then_fail)
    register_method(_TEST_CLASS, "remove_then_fail", MethodFlags.WR)(_remove_then_fail)
    register_method(_TEST_CLASS, "sneaky_write", MethodFlags.RD)(_sneaky_write)


_register_test_methods()


# --- helpers ------------------------------------------------------------------
Snapshot = tuple[bytes, dict[str, bytes], list[tuple[str, bytes]], int, float]


def snapshot(ioctx: IoCtx, oid: str) -> Snapshot:
    """Everything observable about an existing object."""
    st_ = ioctx.stat(oid)
    return (
        ioctx.read(oid, st_.size + 1),
        ioctx.get_xattrs(oid),
        list(ioctx.omap_iter(oid)),
        st_.version,
        st_.mtime,
    )


def list_all(ioctx: IoCtx, prefix: str = "", page: int = 1000) -> tuple[list[str], int]:
    """Every name with ``prefix``, following cursors; also returns the page count."""
    names: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        result = ioctx.list_objects(prefix, cursor, page)
        pages += 1
        assert len(result.names) <= page
        names.extend(result.names)
        if result.cursor is None:
            return names, pages
        cursor = result.cursor
        assert pages < 100_000, "listing does not terminate"


@contextmanager
def eager_thread_switching() -> Iterator[None]:
    """Make the interpreter switch threads very often, so races show up."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def run_threads(target: Callable[[int], None], count: int) -> None:
    """Run ``target(i)`` for i in range(count) in parallel; re-raise the first error."""
    with eager_thread_switching(), ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(target, i) for i in range(count)]
        for future in futures:
            future.result()


def assert_missing(ioctx: IoCtx, oid: str) -> None:
    with pytest.raises(errors.ObjectNotFound):
        ioctx.stat(oid)


ModelStep = tuple[str, int, int, bytes]  # kind, offset/size, length, data

_model_steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("write"), st.integers(0, 48), st.just(0), st.binary(min_size=1, max_size=16)
        ),
        st.tuples(st.just("write_full"), st.just(0), st.just(0), st.binary(max_size=40)),
        st.tuples(st.just("append"), st.just(0), st.just(0), st.binary(max_size=12)),
        st.tuples(st.just("trunc"), st.integers(0, 64), st.just(0), st.just(b"")),
        st.tuples(st.just("zero"), st.integers(0, 64), st.integers(0, 24), st.just(b"")),
        st.tuples(st.just("remove"), st.just(0), st.just(0), st.just(b"")),
    ),
    max_size=14,
)


def apply_model(
    model: bytearray | None, step: ModelStep, zero_truncates: bool = False
) -> bytearray | None:
    """The librados result of ``step`` on an object holding ``model`` (None: absent).

    ``zero_truncates``: a zero reaching the end truncates (see ``zero_truncates_at_end``).
    """
    kind, a, b, data = step
    if kind == "write_full":
        return bytearray(data)
    if kind == "remove":
        return None
    if kind == "zero":
        if model is not None:
            if zero_truncates and a < len(model) <= a + b:
                del model[a:]
            else:
                end = min(a + b, len(model))
                model[a:end] = bytes(max(0, end - a))
        return model
    buf = model if model is not None else bytearray()
    if kind == "append":
        buf.extend(data)
    elif kind == "trunc":
        del buf[a:]
        buf.extend(bytes(a - len(buf)))
    else:  # write
        buf.extend(bytes(max(0, a - len(buf))))
        buf[a : a + len(data)] = data
    return buf


def apply_store(ioctx: IoCtx, oid: str, step: ModelStep) -> None:
    kind, a, b, data = step
    if kind == "write":
        ioctx.write(oid, data, a)
    elif kind == "write_full":
        ioctx.write_full(oid, data)
    elif kind == "append":
        ioctx.append(oid, data)
    elif kind == "trunc":
        ioctx.trunc(oid, a)
    elif kind == "zero":
        ioctx.zero(oid, a, b)
    else:
        ioctx.remove_object(oid)


class ObjectStoreContract:
    """Base class of the object-store contract tests (not collected itself).

    Subclasses must define the ``store`` fixture (a fresh, empty ObjectStore).
    """

    #: Whether Python-registered object classes run (embedded only; Ceph runs its own).
    python_object_classes = True
    #: Ceph 16's OSD truncates an object to ``offset`` when a zero range reaches its
    #: end (``offset < size <= offset + length``); both backends do.
    zero_truncates_at_end = True

    @pytest.fixture
    def ioctx(self, store: ObjectStore) -> Iterator[IoCtx]:
        store.create_pool(POOL)
        with store.open_ioctx(POOL) as handle:
            yield handle

    # ======================================================================
    # pools
    # ======================================================================
    def test_create_pool_returns_info(self, store: ObjectStore) -> None:
        before = time.time()
        info = store.create_pool("p1", pg_num=8)
        assert info.name == "p1"
        assert info.pg_num == 8
        assert info.id >= 1
        assert before - 1 <= info.created <= time.time() + 1
        assert dict(info.applications) == {}

    def test_create_pool_default_pg_num(self, store: ObjectStore) -> None:
        assert store.create_pool("p1").pg_num == limits.pg_num_default

    def test_get_pool_by_name_and_id(self, store: ObjectStore) -> None:
        info = store.create_pool("p1")
        assert store.get_pool("p1").id == info.id
        assert store.get_pool(info.id).name == "p1"

    def test_get_missing_pool_raises(self, store: ObjectStore) -> None:
        with pytest.raises(errors.PoolNotFound):
            store.get_pool("nope")
        with pytest.raises(errors.PoolNotFound):
            store.get_pool(12345)

    def test_pool_ids_grow_and_are_never_reused(self, store: ObjectStore) -> None:
        a = store.create_pool("a")
        b = store.create_pool("b")
        assert b.id > a.id >= 1
        store.delete_pool("b")
        c = store.create_pool("c")
        b2 = store.create_pool("b")
        assert b.id < c.id < b2.id

    def test_list_pools_in_id_order(self, store: ObjectStore) -> None:
        assert store.list_pools() == []
        for name in ("zeta", "alpha", "mid"):
            store.create_pool(name)
        store.delete_pool("alpha")
        pools = store.list_pools()
        assert [p.name for p in pools] == ["zeta", "mid"]
        assert [p.id for p in pools] == sorted(p.id for p in pools)

    def test_create_duplicate_pool_raises(self, store: ObjectStore) -> None:
        store.create_pool("dup")
        with pytest.raises(errors.PoolExists) as exc:
            store.create_pool("dup")
        assert exc.value.errno == 17  # EEXIST
        assert len(store.list_pools()) == 1

    @pytest.mark.parametrize(
        ("pg_num", "error"),
        [(0, errors.InvalidArgument), (-1, errors.InvalidArgument),
         (limits.pg_num_max + 1, errors.OutOfRange)],
    )
    def test_create_pool_bad_pg_num(
        self, store: ObjectStore, pg_num: int, error: type[errors.ShoalError]
    ) -> None:
        with pytest.raises(error):
            store.create_pool("p", pg_num=pg_num)
        assert store.list_pools() == []

    @pytest.mark.parametrize("pg_num", [1, limits.pg_num_max])
    def test_create_pool_pg_num_bounds_accepted(self, store: ObjectStore, pg_num: int) -> None:
        assert store.create_pool("p", pg_num=pg_num).pg_num == pg_num

    @pytest.mark.parametrize(
        "name",
        ["", "a/b", "tab\there", "new\nline", "nul\x00", "x" * (limits.pool_name_bytes_max + 1)],
    )
    def test_create_pool_bad_name(self, store: ObjectStore, name: str) -> None:
        with pytest.raises(errors.InvalidArgument):
            store.create_pool(name)
        assert store.list_pools() == []

    @pytest.mark.parametrize(
        "name", ["\u9ec4", "with space", ".rgw.root", "x" * limits.pool_name_bytes_max]
    )
    def test_create_pool_odd_names_accepted(self, store: ObjectStore, name: str) -> None:
        store.create_pool(name)
        assert store.get_pool(name).name == name
        with store.open_ioctx(name) as ioctx:
            ioctx.write("o", b"data")
            assert ioctx.read("o") == b"data"

    def test_delete_missing_pool_raises(self, store: ObjectStore) -> None:
        with pytest.raises(errors.PoolNotFound):
            store.delete_pool("nope")

    def test_open_ioctx_missing_pool_raises(self, store: ObjectStore) -> None:
        with pytest.raises(errors.PoolNotFound):
            store.open_ioctx("nope")
        with pytest.raises(errors.PoolNotFound):
            store.open_ioctx(999)

    def test_open_ioctx_by_id_shares_objects(self, store: ObjectStore) -> None:
        info = store.create_pool("p")
        with store.open_ioctx("p") as by_name, store.open_ioctx(info.id) as by_id:
            assert (by_id.pool_name, by_id.pool_id) == ("p", info.id)
            by_name.write("o", b"x")
            assert by_id.read("o") == b"x"

    def test_ioctx_identity(self, store: ObjectStore, ioctx: IoCtx) -> None:
        assert ioctx.pool_name == POOL
        assert ioctx.pool_id == store.get_pool(POOL).id
        assert ioctx.get_namespace() == ""

    def test_delete_pool_drops_objects(self, store: ObjectStore, ioctx: IoCtx) -> None:
        ioctx.write("o", b"data")
        store.delete_pool(POOL)
        store.create_pool(POOL)
        with store.open_ioctx(POOL) as fresh:
            assert_missing(fresh, "o")
            assert list_all(fresh)[0] == []
        assert store.pool_stats(POOL).objects == 0

    def test_ioctx_on_deleted_pool_raises(self, store: ObjectStore, ioctx: IoCtx) -> None:
        ioctx.write("o", b"data")
        store.delete_pool(POOL)
        store.create_pool(POOL)  # same name, new pool: the old handle stays dead
        with pytest.raises(errors.PoolNotFound):
            ioctx.read("o")
        with pytest.raises(errors.PoolNotFound):
            ioctx.write("o", b"x")
        with pytest.raises(errors.PoolNotFound):
            ioctx.list_objects()
        with pytest.raises(errors.PoolNotFound):
            ioctx.operate("o", WriteOp().write(b"x"))

    def test_pool_application_enable_set_disable(self, store: ObjectStore) -> None:
        store.create_pool("p")
        info = store.set_pool_application("p", "rbd")
        assert {k: dict(v) for k, v in info.applications.items()} == {"rbd": {}}
        store.set_pool_application("p", "rbd", key="owner", value="cinder")
        info = store.set_pool_application("p", "rbd")  # enabling again keeps metadata
        assert dict(info.applications["rbd"]) == {"owner": "cinder"}
        assert dict(store.get_pool("p").applications["rbd"]) == {"owner": "cinder"}
        info = store.set_pool_application("p", "rbd", enabled=False)
        assert dict(info.applications) == {}
        assert dict(store.get_pool("p").applications) == {}

    def test_pool_application_key_needs_enabled_app(self, store: ObjectStore) -> None:
        store.create_pool("p")
        with pytest.raises(errors.NotFound):
            store.set_pool_application("p", "rbd", key="k", value="v")
        assert dict(store.get_pool("p").applications) == {}

    def test_pool_application_missing_pool(self, store: ObjectStore) -> None:
        with pytest.raises(errors.PoolNotFound):
            store.set_pool_application("nope", "rbd")

    def test_pool_stats(self, store: ObjectStore, ioctx: IoCtx) -> None:
        assert (store.pool_stats(POOL).stored_bytes, store.pool_stats(POOL).objects) == (0, 0)
        ioctx.write("a", b"12345")
        ioctx.write("b", b"xy", offset=8)  # sparse: logical size 10
        ioctx.set_xattr("c", "k", b"v")  # empty object
        ioctx.set_namespace("ns")
        ioctx.write("a", b"123")
        stats = store.pool_stats(POOL)
        assert (stats.stored_bytes, stats.objects) == (18, 4)
        ioctx.remove_object("a")
        ioctx.set_namespace("")
        ioctx.trunc("b", 4)
        stats = store.pool_stats(POOL)
        assert (stats.stored_bytes, stats.objects) == (9, 3)

    def test_pool_stats_missing_pool(self, store: ObjectStore) -> None:
        with pytest.raises(errors.PoolNotFound):
            store.pool_stats("nope")

    def test_flush_is_callable(self, store: ObjectStore, ioctx: IoCtx) -> None:
        ioctx.write("o", b"x")
        ioctx.flush()
        store.flush()
        assert ioctx.read("o") == b"x"

    # ======================================================================
    # data
    # ======================================================================
    def test_write_read_roundtrip(self, ioctx: IoCtx) -> None:
        payload = bytes(range(256)) * 4
        ioctx.write("o", payload)
        assert ioctx.read("o", len(payload)) == payload
        assert ioctx.stat("o").size == len(payload)

    def test_write_past_end_reads_zeros_in_gap(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"xy", offset=5)
        assert ioctx.read("o") == b"\x00" * 5 + b"xy"
        assert ioctx.stat("o").size == 7
        ioctx.write("o", b"z", offset=10)
        assert ioctx.read("o") == b"\x00" * 5 + b"xy\x00\x00\x00z"

    def test_overwrite_in_middle_keeps_size(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"abcdef")
        ioctx.write("o", b"XY", offset=2)
        assert ioctx.read("o") == b"abXYef"
        assert ioctx.stat("o").size == 6

    def test_write_full_replaces_data_only(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"a long original content")
        ioctx.set_xattr("o", "k", b"v")
        ioctx.omap_set("o", {"m": b"1"})
        ioctx.write_full("o", b"short")
        assert ioctx.read("o") == b"short"
        assert ioctx.stat("o").size == 5
        assert ioctx.get_xattr("o", "k") == b"v"
        assert ioctx.omap_get_vals_by_keys("o", ["m"]) == {"m": b"1"}

    def test_write_full_empty_creates_empty_object(self, ioctx: IoCtx) -> None:
        ioctx.write_full("o", b"")
        assert ioctx.stat("o").size == 0
        assert ioctx.read("o") == b""

    def test_append(self, ioctx: IoCtx) -> None:
        ioctx.append("o", b"a")  # creates
        ioctx.append("o", b"b")
        ioctx.write("o", b"c", offset=4)
        ioctx.append("o", b"d")
        assert ioctx.read("o") == b"ab\x00\x00cd"

    def test_read_short_past_end(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"0123456789")
        assert ioctx.read("o", 4, 8) == b"89"
        assert ioctx.read("o", 4, 10) == b""
        assert ioctx.read("o", 4, 1000) == b""
        assert ioctx.read("o", 3, 2) == b"234"
        assert ioctx.read("o") == b"0123456789"

    def test_read_empty_object(self, ioctx: IoCtx) -> None:
        ioctx.create("o")
        assert ioctx.read("o") == b""

    def test_read_missing_object(self, ioctx: IoCtx) -> None:
        with pytest.raises(errors.ObjectNotFound) as exc:
            ioctx.read("nope")
        assert exc.value.errno == 2  # ENOENT
        assert_missing(ioctx, "nope")

    def test_negative_extents_rejected(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"data")
        with pytest.raises(errors.InvalidArgument):
            ioctx.read("o", -1)
        with pytest.raises(errors.InvalidArgument):
            ioctx.read("o", 1, -1)
        with pytest.raises(errors.InvalidArgument):
            ioctx.write("o", b"x", -1)
        with pytest.raises(errors.InvalidArgument):
            ioctx.trunc("o", -1)
        with pytest.raises(errors.InvalidArgument):
            ioctx.zero("o", -1, 2)
        with pytest.raises(errors.InvalidArgument):
            ioctx.operate("o", WriteOp().zero(-3, 2))
        assert ioctx.read("o") == b"data"

    def test_object_size_limit(self, ioctx: IoCtx) -> None:
        top = limits.object_size_bytes_max
        with pytest.raises(errors.TooLarge):
            ioctx.write("o", b"xy", offset=top - 1)
        with pytest.raises(errors.TooLarge):
            ioctx.trunc("o", top + 1)
        with pytest.raises(errors.TooLarge):
            ioctx.operate("o", WriteOp().write(b"xy", top - 1))
        assert_missing(ioctx, "o")
        ioctx.write("o", b"x", offset=top - 1)  # exactly at the limit is fine
        assert ioctx.stat("o").size == top
        version = ioctx.stat("o").version
        with pytest.raises(errors.TooLarge):
            ioctx.append("o", b"y")
        with pytest.raises(errors.TooLarge):
            ioctx.operate("o", WriteOp().append(b"y"))
        assert ioctx.stat("o").size == top
        assert ioctx.stat("o").version == version
        assert ioctx.read("o", 2, top - 2) == b"\x00x"

    def test_stat(self, ioctx: IoCtx) -> None:
        before = time.time()
        ioctx.write("o", b"12345")
        after = time.time()
        st_ = ioctx.stat("o")
        assert st_.size == 5
        assert st_.version > 0
        assert before - 1 <= st_.mtime <= after + 1

    def test_mtime_moves_forward(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"1")
        first = ioctx.stat("o").mtime
        time.sleep(0.01)
        ioctx.write("o", b"2")
        assert ioctx.stat("o").mtime >= first

    def test_version_grows_with_every_mutation(self, ioctx: IoCtx) -> None:
        mutations: list[Callable[[], object]] = [
            lambda: ioctx.write("o", b"abc"),
            lambda: ioctx.write("o", b"d", 1),
            lambda: ioctx.write_full("o", b"full"),
            lambda: ioctx.append("o", b"+"),
            lambda: ioctx.trunc("o", 2),
            lambda: ioctx.trunc("o", 8),
            lambda: ioctx.zero("o", 0, 1),
            lambda: ioctx.set_xattr("o", "k", b"v"),
            lambda: ioctx.rm_xattr("o", "k"),
            lambda: ioctx.omap_set("o", {"a": b"1", "b": b"2"}),
            lambda: ioctx.omap_rm_keys("o", ["a"]),
            lambda: ioctx.omap_clear("o"),
            lambda: ioctx.operate("o", WriteOp().write(b"x").set_xattr("k", b"w")),
        ]
        if self.python_object_classes:
            mutations.append(lambda: ioctx.execute("o", _TEST_CLASS, "write_then_read", b"cls"))
        seen: list[int] = []
        for mutate in mutations:
            mutate()
            seen.append(ioctx.stat("o").version)
        assert seen == sorted(set(seen)), f"versions not strictly increasing: {seen}"

    def test_version_not_reused_after_remove_and_recreate(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"1")
        ioctx.write("o", b"2")
        old = ioctx.stat("o").version
        ioctx.remove_object("o")
        ioctx.write("o", b"1")
        assert ioctx.stat("o").version > old

    def test_reads_change_nothing(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"data")
        ioctx.set_xattr("o", "k", b"v")
        ioctx.omap_set("o", {"m": b"1"})
        before = snapshot(ioctx, "o")
        ioctx.read("o")
        ioctx.get_xattr("o", "k")
        ioctx.get_xattrs("o")
        ioctx.omap_get_vals("o")
        ioctx.omap_get_vals_by_keys("o", ["m"])
        ioctx.list_objects()
        ioctx.execute("o", "hello", "say_hello")
        assert snapshot(ioctx, "o") == before

    def test_trunc_shrink_and_grow(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"0123456789")
        ioctx.trunc("o", 4)
        assert ioctx.read("o") == b"0123"
        ioctx.trunc("o", 8)  # the cut bytes must not come back
        assert ioctx.read("o") == b"0123\x00\x00\x00\x00"
        assert ioctx.stat("o").size == 8
        ioctx.trunc("o", 0)
        assert ioctx.stat("o").size == 0
        assert ioctx.read("o") == b""

    def test_zero_inside(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"abcdefgh")
        ioctx.zero("o", 2, 3)
        assert ioctx.read("o") == b"ab\x00\x00\x00fgh"

    def test_zero_past_end_never_extends(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"abcdefgh")
        ioctx.zero("o", 6, 100)
        if self.zero_truncates_at_end:  # the OSD truncates to the offset
            assert ioctx.read("o") == b"abcdef"
            ioctx.zero("o", 4, 2)  # ends exactly at the end: truncates too
            assert ioctx.read("o") == b"abcd"
        else:
            assert ioctx.read("o") == b"abcdef\x00\x00"
            ioctx.trunc("o", 4)
            ioctx.zero("o", 4, 2)  # at the end: nothing to do
            assert ioctx.read("o") == b"abcd"
        ioctx.zero("o", 1, 1)  # inside: zeros
        assert ioctx.read("o") == b"a\x00cd"
        ioctx.zero("o", 50, 10)
        assert ioctx.stat("o").size == 4
        assert ioctx.read("o") == b"a\x00cd"

    def test_zero_missing_object_is_noop(self, ioctx: IoCtx) -> None:
        ioctx.zero("nope", 0, 10)
        assert_missing(ioctx, "nope")
        ioctx.operate("nope", WriteOp().zero(0, 10))
        assert_missing(ioctx, "nope")
        assert list_all(ioctx)[0] == []

    def test_remove(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"data")
        ioctx.set_xattr("o", "k", b"v")
        ioctx.omap_set("o", {"m": b"1"})
        ioctx.remove_object("o")
        assert_missing(ioctx, "o")
        assert list_all(ioctx)[0] == []
        ioctx.write("o", b"new")  # recreated: nothing of the old object remains
        assert ioctx.get_xattrs("o") == {}
        assert ioctx.omap_get_vals("o").items == []
        assert ioctx.read("o") == b"new"

    def test_remove_missing_raises(self, ioctx: IoCtx) -> None:
        with pytest.raises(errors.ObjectNotFound):
            ioctx.remove_object("nope")

    def test_create_exclusive(self, ioctx: IoCtx) -> None:
        ioctx.create("o")
        assert ioctx.stat("o").size == 0
        with pytest.raises(errors.AlreadyExists) as exc:
            ioctx.create("o")
        assert exc.value.errno == 17  # EEXIST
        ioctx.write("o", b"keep")
        ioctx.create("o", exclusive=False)
        assert ioctx.read("o") == b"keep"

    # ======================================================================
    # names and namespaces
    # ======================================================================
    @pytest.mark.parametrize(
        "name",
        [
            "with space",
            "a/b",
            "a/b/",
            "/leading",
            "../x",
            "..",
            ".",
            ".hidden",
            "rbd_data.1234.0000000000000000",
            "back\\slash",
            "percent%2Fescaped",
            "new\nline\ttab",
            "\u00fcnic\u00f6de \u9ec4",
            "fish \U0001f41f",
            "CON",
            "x" * limits.object_name_bytes_max,
            "\u00e9" * (limits.object_name_bytes_max // 2),
        ],
    )
    def test_odd_object_names(self, ioctx: IoCtx, name: str) -> None:
        ioctx.write(name, b"payload")
        ioctx.set_xattr(name, "k", b"v")
        ioctx.omap_set(name, {"m": b"1"})
        assert ioctx.read(name) == b"payload"
        assert ioctx.get_xattr(name, "k") == b"v"
        assert ioctx.omap_get_vals_by_keys(name, ["m"]) == {"m": b"1"}
        assert list_all(ioctx)[0] == [name]
        ioctx.remove_object(name)
        assert list_all(ioctx)[0] == []

    def test_names_are_case_sensitive_and_distinct(self, ioctx: IoCtx) -> None:
        names = ["a", "A", "a/", "a/b", "a.b", "a b", "a\u0301", "\u00e1"]
        for i, name in enumerate(names):
            ioctx.write(name, str(i).encode())
        for i, name in enumerate(names):
            assert ioctx.read(name) == str(i).encode()
        assert list_all(ioctx)[0] == sorted(names)

    @pytest.mark.parametrize(
        "name",
        [
            "",
            "x" * (limits.object_name_bytes_max + 1),
            "\u00e9" * (limits.object_name_bytes_max // 2) + "x",
        ],
    )
    def test_bad_object_names(self, ioctx: IoCtx, name: str) -> None:
        with pytest.raises(errors.InvalidArgument):
            ioctx.write(name, b"x")
        with pytest.raises(errors.InvalidArgument):
            ioctx.read(name)
        assert list_all(ioctx)[0] == []

    def test_namespaces_are_isolated(self, store: ObjectStore, ioctx: IoCtx) -> None:
        ioctx.write("o", b"default")
        with store.open_ioctx(POOL) as other:
            other.set_namespace("ns1")
            assert other.get_namespace() == "ns1"
            assert_missing(other, "o")
            other.write("o", b"ns1")
            other.write("only-ns1", b"x")
            other.set_xattr("o", "k", b"ns1")
            assert ioctx.read("o") == b"default"
            assert other.read("o") == b"ns1"
            with pytest.raises(errors.NoData):
                ioctx.get_xattr("o", "k")
            assert list_all(ioctx)[0] == ["o"]
            assert list_all(other)[0] == ["o", "only-ns1"]
            other.remove_object("o")
            assert ioctx.read("o") == b"default"
        ioctx.set_namespace("ns1")
        assert list_all(ioctx)[0] == ["only-ns1"]
        ioctx.set_namespace("")
        assert list_all(ioctx)[0] == ["o"]

    def test_namespace_too_long(self, ioctx: IoCtx) -> None:
        ioctx.set_namespace("n" * limits.namespace_bytes_max)
        with pytest.raises(errors.InvalidArgument):
            ioctx.set_namespace("n" * (limits.namespace_bytes_max + 1))

    # ======================================================================
    # listing
    # ======================================================================
    def test_list_empty_pool(self, ioctx: IoCtx) -> None:
        page = ioctx.list_objects()
        assert page.names == []
        assert page.cursor is None

    def test_list_sorted_with_prefix(self, ioctx: IoCtx) -> None:
        for name in ["rbd_data.b", "rbd_header.x", "rbd_data.a", "other", "rbd_id.y"]:
            ioctx.write(name, b"")
        assert list_all(ioctx)[0] == sorted(
            ["rbd_data.a", "rbd_data.b", "rbd_header.x", "other", "rbd_id.y"]
        )
        assert list_all(ioctx, "rbd_data.")[0] == ["rbd_data.a", "rbd_data.b"]
        assert list_all(ioctx, "nothing")[0] == []

    def test_list_pages_with_cursor(self, ioctx: IoCtx) -> None:
        wanted = [f"obj-{i:03d}" for i in range(25)]
        for name in reversed(wanted):
            ioctx.write(name, b"")
        ioctx.write("zzz-other", b"")
        first = ioctx.list_objects("obj-", None, 10)
        assert first.names == wanted[:10]
        assert first.cursor is not None
        names, pages = list_all(ioctx, "obj-", page=10)
        assert names == wanted
        assert pages >= 3
        names, pages = list_all(ioctx, page=7)
        assert names == [*wanted, "zzz-other"]
        assert pages >= 4

    def test_list_last_page_has_no_cursor(self, ioctx: IoCtx) -> None:
        for i in range(3):
            ioctx.write(f"o{i}", b"")
        page = ioctx.list_objects(max_entries=10)
        assert page.names == ["o0", "o1", "o2"]
        assert page.cursor is None

    # ======================================================================
    # xattrs
    # ======================================================================
    def test_xattrs_roundtrip_binary(self, ioctx: IoCtx) -> None:
        values = {
            "a": b"1",
            "empty": b"",
            "nul": b"\x00",
            "mixed": b"a\x00b",
            "all": bytes(range(256)),
            "big": b"\xff" * limits.xattr_value_bytes_max,
            "x" * limits.xattr_name_bytes_max: b"long name",
        }
        ioctx.write("o", b"")
        for name, value in values.items():
            ioctx.set_xattr("o", name, value)
        for name, value in values.items():
            assert ioctx.get_xattr("o", name) == value
        assert ioctx.get_xattrs("o") == values

    def test_set_xattr_overwrites_and_creates(self, ioctx: IoCtx) -> None:
        ioctx.set_xattr("o", "k", b"first")  # creates the object
        assert ioctx.stat("o").size == 0
        ioctx.set_xattr("o", "k", b"2")
        assert ioctx.get_xattr("o", "k") == b"2"

    def test_get_xattr_missing(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"")
        with pytest.raises(errors.NoData) as exc:
            ioctx.get_xattr("o", "nope")
        assert exc.value.errno == 61  # ENODATA
        with pytest.raises(errors.ObjectNotFound):
            ioctx.get_xattr("missing", "k")
        with pytest.raises(errors.ObjectNotFound):
            ioctx.get_xattrs("missing")

    def test_rm_xattr(self, ioctx: IoCtx) -> None:
        ioctx.set_xattr("o", "k", b"v")
        ioctx.set_xattr("o", "keep", b"v")
        ioctx.rm_xattr("o", "k")
        assert ioctx.get_xattrs("o") == {"keep": b"v"}
        ioctx.rm_xattr("o", "k")  # absent: succeeds, as the OSD only checks the object
        assert ioctx.get_xattrs("o") == {"keep": b"v"}
        with pytest.raises(errors.ObjectNotFound):
            ioctx.rm_xattr("missing", "k")
        assert_missing(ioctx, "missing")

    def test_trunc_of_missing_object_is_a_noop(self, ioctx: IoCtx) -> None:
        ioctx.trunc("ghost", 100)
        assert_missing(ioctx, "ghost")

    def test_read_length_zero_reads_whole_object(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"x" * 10000)
        assert ioctx.read("o", 0) == b"x" * 10000
        assert ioctx.read("o", 0, 9990) == b"x" * 10

    def test_xattr_limits(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"")
        too_long = "x" * (limits.xattr_name_bytes_max + 1)
        too_big = b"v" * (limits.xattr_value_bytes_max + 1)
        with pytest.raises(errors.InvalidArgument):
            ioctx.set_xattr("o", "", b"v")
        with pytest.raises(errors.NameTooLong):  # ENAMETOOLONG, as the OSD says
            ioctx.set_xattr("o", too_long, b"v")
        with pytest.raises(errors.InvalidArgument):
            ioctx.set_xattr("o", "k", too_big)
        with pytest.raises(errors.InvalidArgument):
            ioctx.operate("o", WriteOp().set_xattr("k", too_big))
        assert ioctx.get_xattrs("o") == {}

    # ======================================================================
    # omap
    # ======================================================================
    def test_omap_set_and_get_sorted(self, ioctx: IoCtx) -> None:
        items = {"b": b"2", "a": b"1", "c": b"\x00\xff", "a0": b""}
        ioctx.omap_set("o", items)  # creates the object
        assert ioctx.stat("o").size == 0
        page = ioctx.omap_get_vals("o")
        assert page.items == sorted(items.items())
        assert page.more is False
        ioctx.omap_set("o", {"a": b"new"})
        assert ioctx.omap_get_vals_by_keys("o", ["a"]) == {"a": b"new"}

    def test_omap_start_after_and_prefix(self, ioctx: IoCtx) -> None:
        ioctx.omap_set("o", {"1": b"aaa", "2": b"bbb", "3": b"ccc", "4": b"\x04" * 4})
        assert [k for k, _ in ioctx.omap_get_vals("o", start_after="2").items] == ["3", "4"]
        assert ioctx.omap_get_vals("o", filter_prefix="2").items == [("2", b"bbb")]
        assert ioctx.omap_get_vals("o", start_after="2", filter_prefix="2").items == []
        assert ioctx.omap_get_vals("o", start_after="0", filter_prefix="3").items == [("3", b"ccc")]
        assert ioctx.omap_get_vals("o", start_after="9").items == []

    def test_omap_paging_reports_more(self, ioctx: IoCtx) -> None:
        keys = [f"key.{i:02d}" for i in range(10)]
        ioctx.omap_set("o", {k: k.encode() for k in keys})
        ioctx.omap_set("o", {"zz": b"", "aa": b""})
        got: list[str] = []
        after = ""
        while True:
            page = ioctx.omap_get_vals("o", after, "key.", max_return=3)
            assert len(page.items) <= 3
            got.extend(k for k, _ in page.items)
            if not page.more:
                break
            assert len(page.items) == 3
            after = page.items[-1][0]
        assert got == keys
        exact = ioctx.omap_get_vals("o", "key.06", "key.", max_return=3)
        assert [k for k, _ in exact.items] == keys[7:]
        assert exact.more is False  # the next key, "zz", does not match the prefix
        assert ioctx.omap_get_vals("o", max_return=2).more is True

    def test_omap_iter_pages_over_request_limit(self, ioctx: IoCtx) -> None:
        count = limits.omap_entries_per_request_max + 300
        keys = [f"k{i:05d}" for i in range(count)]
        for start in range(0, count, limits.omap_entries_per_request_max):
            chunk = keys[start : start + limits.omap_entries_per_request_max]
            ioctx.omap_set("o", {k: k.encode() for k in chunk})
        assert [k for k, _ in ioctx.omap_iter("o")] == keys
        assert len(list(ioctx.omap_iter("o", "k0001"))) == 10

    def test_omap_by_keys_returns_present_only(self, ioctx: IoCtx) -> None:
        ioctx.omap_set("o", {"1": b"a", "2": b"b", "3": b"c"})
        assert ioctx.omap_get_vals_by_keys("o", ["3", "1", "nope"]) == {"1": b"a", "3": b"c"}
        assert ioctx.omap_get_vals_by_keys("o", []) == {}

    def test_omap_rm_keys_and_clear(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"data")
        ioctx.set_xattr("o", "x", b"1")
        ioctx.omap_set("o", {"1": b"a", "2": b"b", "3": b"c"})
        ioctx.omap_rm_keys("o", ["1", "absent"])
        assert ioctx.omap_get_vals("o").items == [("2", b"b"), ("3", b"c")]
        ioctx.omap_clear("o")
        assert ioctx.omap_get_vals("o").items == []
        assert ioctx.read("o") == b"data"  # clear leaves data and xattrs
        assert ioctx.get_xattrs("o") == {"x": b"1"}

    def test_omap_on_missing_object(self, ioctx: IoCtx) -> None:
        with pytest.raises(errors.ObjectNotFound):
            ioctx.omap_get_vals("missing")
        with pytest.raises(errors.ObjectNotFound):
            ioctx.omap_get_vals_by_keys("missing", ["k"])
        with pytest.raises(errors.ObjectNotFound):
            list(ioctx.omap_iter("missing"))
        with pytest.raises(errors.ObjectNotFound):
            ioctx.omap_rm_keys("missing", ["k"])
        with pytest.raises(errors.ObjectNotFound):
            ioctx.omap_clear("missing")
        assert_missing(ioctx, "missing")

    def test_omap_limits(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"")
        with pytest.raises(errors.InvalidArgument):
            ioctx.omap_get_vals("o", max_return=0)
        with pytest.raises(errors.InvalidArgument):
            ioctx.omap_get_vals("o", max_return=limits.omap_entries_per_request_max + 1)
        too_many = {f"k{i}": b"" for i in range(limits.omap_entries_per_request_max + 1)}
        with pytest.raises(errors.InvalidArgument):
            ioctx.omap_set("o", too_many)
        with pytest.raises(errors.InvalidArgument):
            ioctx.operate("o", WriteOp().omap_set(too_many))
        long_key = "k" * (limits.omap_key_bytes_max + 1)
        with pytest.raises(errors.InvalidArgument):
            ioctx.omap_set("o", {long_key: b""})
        with pytest.raises(errors.InvalidArgument):
            ioctx.operate("o", WriteOp().omap_set({long_key: b""}))
        assert ioctx.omap_get_vals("o").items == []

    # ======================================================================
    # compound operations
    # ======================================================================
    def test_operate_applies_steps_in_order(self, ioctx: IoCtx) -> None:
        ioctx.operate("o", WriteOp().create(exclusive=True))
        assert ioctx.read("o") == b""
        ioctx.operate("o", WriteOp().write_full(b"1").append(b"2"))
        assert ioctx.read("o") == b"12"
        ioctx.operate("o", WriteOp().write_full(b"12345").write(b"x", 2))
        assert ioctx.read("o") == b"12x45"
        ioctx.operate("o", WriteOp().write_full(b"12345").zero(2, 2))
        assert ioctx.read("o") == b"12\x00\x005"
        ioctx.operate("o", WriteOp().write_full(b"12345").truncate(2))
        assert ioctx.read("o") == b"12"
        ioctx.operate(
            "o",
            WriteOp()
            .set_xattr("a", b"1")
            .set_xattr("b", b"2")
            .rm_xattr("a")
            .omap_set({"k": b"v", "j": b"w"})
            .omap_rm_keys(["j"]),
        )
        assert ioctx.get_xattrs("o") == {"b": b"2"}
        assert ioctx.omap_get_vals("o").items == [("k", b"v")]
        ioctx.operate("o", WriteOp().omap_clear())
        assert ioctx.omap_get_vals("o").items == []
        ioctx.operate("o", WriteOp().remove())
        assert_missing(ioctx, "o")

    def test_operate_later_steps_see_earlier_ones(self, ioctx: IoCtx) -> None:
        ioctx.operate(
            "o",
            WriteOp()
            .set_xattr("lock", b"me")
            .assert_exists()
            .cmp_xattr("lock", "eq", b"me")
            .write(b"locked"),
        )
        assert ioctx.read("o") == b"locked"

    def test_operate_remove_then_write_starts_fresh(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"old data")
        ioctx.set_xattr("o", "k", b"v")
        ioctx.omap_set("o", {"m": b"1"})
        ioctx.operate("o", WriteOp().remove().write(b"new"))
        assert ioctx.read("o") == b"new"
        assert ioctx.get_xattrs("o") == {}
        assert ioctx.omap_get_vals("o").items == []

    def _prepare_victim(self, ioctx: IoCtx) -> tuple[int, int]:
        """An object with data, xattrs and omap; returns its last two versions."""
        ioctx.write("o", b"original")
        ioctx.set_xattr("o", "lock", b"me")
        first = ioctx.stat("o").version
        ioctx.omap_set("o", {"k1": b"v1"})
        return first, ioctx.stat("o").version

    @pytest.mark.parametrize(
        "failing",
        [
            "cmp_xattr",
            "assert_version_newer",
            "assert_version_older",
            "assert_exists",
            "create_exclusive",
        ],
    )
    def test_operate_is_all_or_nothing(self, ioctx: IoCtx, failing: str) -> None:
        first, current = self._prepare_victim(ioctx)
        tails: dict[str, tuple[WriteOp, type[errors.ShoalError]]] = {
            "cmp_xattr": (WriteOp().cmp_xattr("lock", "eq", b"someone-else"), errors.Canceled),
            "assert_version_newer": (WriteOp().assert_version(first), errors.OutOfRange),
            "assert_version_older": (WriteOp().assert_version(current + 10**9), errors.Overflow),
            "assert_exists": (WriteOp().remove().assert_exists(), errors.ObjectNotFound),
            "create_exclusive": (WriteOp().create(exclusive=True), errors.AlreadyExists),
        }
        tail, error = tails[failing]
        op = (
            WriteOp()
            .write(b"NEW", 2)
            .append(b"tail")
            .set_xattr("lock", b"x")
            .set_xattr("extra", b"y")
            .omap_set({"k2": b"v2"})
            .omap_rm_keys(["k1"])
        )
        op.steps.extend(tail.steps)
        before = snapshot(ioctx, "o")
        with pytest.raises(error):
            ioctx.operate("o", op)
        assert snapshot(ioctx, "o") == before

    def test_failed_operate_does_not_create(self, ioctx: IoCtx) -> None:
        op = WriteOp().write(b"x").set_xattr("a", b"1").cmp_xattr("lock", "eq", b"me")
        with pytest.raises(errors.Canceled):
            ioctx.operate("o", op)
        assert_missing(ioctx, "o")
        with pytest.raises(errors.ObjectNotFound):
            ioctx.operate("o", WriteOp().assert_exists().write(b"x"))
        assert_missing(ioctx, "o")

    def test_failed_remove_in_operate_keeps_object(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"keep")
        before = snapshot(ioctx, "o")
        with pytest.raises(errors.Canceled):
            ioctx.operate("o", WriteOp().remove().write(b"new").cmp_xattr("x", "eq", b"y"))
        with pytest.raises(errors.ObjectNotFound):
            ioctx.operate("o", WriteOp().remove().rm_xattr("x"))
        assert snapshot(ioctx, "o") == before

    def test_assert_version(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"1")
        v1 = ioctx.stat("o").version
        ioctx.operate("o", WriteOp().assert_version(v1).write(b"2"))
        v2 = ioctx.stat("o").version
        assert v2 > v1
        with pytest.raises(errors.OutOfRange) as newer:
            ioctx.operate("o", WriteOp().assert_version(v1).write(b"3"))
        assert newer.value.errno == 34  # ERANGE: object is newer than asserted
        with pytest.raises(errors.Overflow) as older:
            ioctx.operate("o", WriteOp().assert_version(v2 + 1).write(b"3"))
        assert older.value.errno == 75  # EOVERFLOW: object is older than asserted
        assert ioctx.read("o") == b"2"
        assert ioctx.stat("o").version == v2

    def test_assert_exists(self, ioctx: IoCtx) -> None:
        with pytest.raises(errors.ObjectNotFound):
            ioctx.operate("o", WriteOp().assert_exists())
        ioctx.write("o", b"x")
        ioctx.operate("o", WriteOp().assert_exists().append(b"y"))
        assert ioctx.read("o") == b"xy"

    @pytest.mark.parametrize(
        ("op", "value", "passes"),
        [
            ("eq", b"bbb", True),
            ("eq", b"bb", False),
            ("ne", b"bb", True),
            ("ne", b"bbb", False),
            ("gt", b"aaa", True),
            ("gt", b"bbb", False),
            ("gte", b"bbb", True),
            ("gte", b"ccc", False),
            ("lt", b"ccc", True),
            ("lt", b"bbb", False),
            ("lte", b"bbb", True),
            ("lte", b"aaa", False),
        ],
    )
    def test_cmp_xattr(self, ioctx: IoCtx, op: str, value: bytes, passes: bool) -> None:
        ioctx.set_xattr("o", "k", b"bbb")
        write = WriteOp().cmp_xattr("k", op, value).write(b"done")  # type: ignore[arg-type]
        if passes:
            ioctx.operate("o", write)
            assert ioctx.read("o") == b"done"
        else:
            with pytest.raises(errors.Canceled):
                ioctx.operate("o", write)
            assert ioctx.read("o") == b""

    def test_cmp_xattr_missing_xattr_is_empty(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"")
        ioctx.operate("o", WriteOp().cmp_xattr("absent", "eq", b"").write(b"1"))
        with pytest.raises(errors.Canceled):
            ioctx.operate("o", WriteOp().cmp_xattr("absent", "eq", b"x").write(b"2"))
        assert ioctx.read("o") == b"1"

    # ======================================================================
    # object classes
    # ======================================================================
    def test_say_hello(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"")
        assert ioctx.execute("o", "hello", "say_hello") == b"Hello, world!"
        assert ioctx.execute("o", "hello", "say_hello", b"shoal") == b"Hello, shoal!"

    def test_read_method_on_missing_object(self, ioctx: IoCtx) -> None:
        # The OSD answers ENOENT to any read-only op on a missing object.
        with pytest.raises(errors.ObjectNotFound):
            ioctx.execute("missing", "hello", "say_hello")
        assert_missing(ioctx, "missing")

    def test_record_hello(self, ioctx: IoCtx) -> None:
        assert ioctx.execute("o", "hello", "record_hello", b"shoal") == b""
        assert ioctx.read("o") == b"Hello, shoal!"
        version = ioctx.stat("o").version
        with pytest.raises(errors.AlreadyExists):
            ioctx.execute("o", "hello", "record_hello", b"again")
        assert ioctx.read("o") == b"Hello, shoal!"
        assert ioctx.stat("o").version == version

    def test_unknown_class_or_method(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"")
        # The OSD cannot load an unknown class: EPERM; an unknown method: EOPNOTSUPP.
        with pytest.raises(errors.PermissionDenied) as exc:
            ioctx.execute("o", "no_such_class", "say_hello")
        assert exc.value.errno == 1  # EPERM
        with pytest.raises(errors.NotSupported) as exc:
            ioctx.execute("o", "hello", "no_such_method")
        assert exc.value.errno == 95  # EOPNOTSUPP

    def test_class_method_reads_its_own_writes(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"0123456789")
        assert ioctx.execute("o", _TEST_CLASS, "write_then_read", b"ab") == b"ab23456789"
        assert ioctx.read("o") == b"ab23456789"

    def test_failing_class_method_changes_nothing(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"original")
        ioctx.omap_set("o", {"m": b"1"})
        before = snapshot(ioctx, "o")
        with pytest.raises(errors.Canceled):
            ioctx.execute("o", _TEST_CLASS, "write_then_fail", b"XX")
        with pytest.raises(errors.Canceled):
            ioctx.execute("o", _TEST_CLASS, "remove_then_fail")
        assert snapshot(ioctx, "o") == before
        with pytest.raises(errors.Canceled):
            ioctx.execute("new", _TEST_CLASS, "write_then_fail", b"XX")
        assert_missing(ioctx, "new")
        with pytest.raises(errors.InvalidArgument):
            ioctx.execute("new", "hello", "record_hello", b"")
        assert_missing(ioctx, "new")

    def test_read_only_method_cannot_write(self, ioctx: IoCtx) -> None:
        ioctx.write("o", b"original")
        before = snapshot(ioctx, "o")
        with pytest.raises(errors.ShoalError):
            ioctx.execute("o", _TEST_CLASS, "sneaky_write")
        assert snapshot(ioctx, "o") == before

    # ======================================================================
    # concurrency
    # ======================================================================
    def test_threads_writing_different_objects(self, ioctx: IoCtx) -> None:
        chunk = 64

        def worker(t: int) -> None:
            for i in range(20):
                ioctx.write(f"t{t}", bytes([t]) * chunk, offset=i * chunk)
                ioctx.set_xattr(f"t{t}", f"x{i}", bytes([i]))

        run_threads(worker, 8)
        for t in range(8):
            assert ioctx.read(f"t{t}", 20 * chunk) == bytes([t]) * (20 * chunk)
            assert len(ioctx.get_xattrs(f"t{t}")) == 20

    def test_threads_appending_to_one_object(self, ioctx: IoCtx) -> None:
        records = 20

        def worker(t: int) -> None:
            for i in range(records):
                ioctx.append("shared", f"[{t:02d}:{i:03d}]".encode())

        run_threads(worker, 8)
        data = ioctx.read("shared", 100_000)
        assert len(data) == 8 * records * 8
        got = sorted(data[i : i + 8] for i in range(0, len(data), 8))
        assert got == sorted(
            f"[{t:02d}:{i:03d}]".encode() for t in range(8) for i in range(records)
        )

    def test_compare_and_swap_is_atomic(self, ioctx: IoCtx) -> None:
        ioctx.set_xattr("ctr", "n", b"0")
        threads, increments = 4, 25

        def worker(_: int) -> None:
            done = 0
            while done < increments:
                current = ioctx.get_xattr("ctr", "n")
                new = str(int(current) + 1).encode()
                try:
                    ioctx.operate(
                        "ctr", WriteOp().cmp_xattr("n", "eq", current).set_xattr("n", new)
                    )
                except errors.Canceled:
                    continue
                done += 1

        run_threads(worker, threads)
        assert ioctx.get_xattr("ctr", "n") == str(threads * increments).encode()

    # ======================================================================
    # property: data operations against a bytearray model
    # ======================================================================
    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(steps=_model_steps)
    def test_data_ops_match_model(self, ioctx: IoCtx, steps: list[ModelStep]) -> None:
        oid = f"prop-{uuid.uuid4().hex}"
        model: bytearray | None = None
        for step in steps:
            if step[0] == "trunc" and model is None:
                apply_store(ioctx, oid, step)  # a no-op on a missing object
                with pytest.raises(errors.ObjectNotFound):
                    ioctx.stat(oid)
                continue
            if step[0] == "remove" and model is None:
                with pytest.raises(errors.ObjectNotFound):
                    apply_store(ioctx, oid, step)
                continue
            apply_store(ioctx, oid, step)
            model = apply_model(model, step, self.zero_truncates_at_end)
            self._check_model(ioctx, oid, model)

    @staticmethod
    def _check_model(ioctx: IoCtx, oid: str, model: bytearray | None) -> None:
        if model is None:
            assert_missing(ioctx, oid)
            return
        assert ioctx.stat(oid).size == len(model)
        assert ioctx.read(oid, len(model) + 8) == bytes(model)
        middle = len(model) // 2
        assert ioctx.read(oid, 5, middle) == bytes(model[middle : middle + 5])
