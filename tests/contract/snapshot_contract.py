"""Self-managed snapshots every :class:`~shoal.objstore.ObjectStore` must support.

RADOS semantics (``src/osd/PrimaryLogPG.cc``: ``make_writeable``,
``find_object_context``, ``_rollback_to``, snap trimming), as librbd relies on
them. Mix :class:`SnapshotContract` into a test class that provides the
``store`` fixture (a fresh, empty store), next to ``ObjectStoreContract``::

    class TestMyStore(ObjectStoreContract, SnapshotContract):
        @pytest.fixture
        def store(self) -> Iterator[ObjectStore]: ...

Public interface only.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal import errors
from shoal.objstore import (
    SNAP_HEAD,
    CloneInfo,
    IoCtx,
    MethodFlags,
    ObjectContext,
    ObjectStore,
    SnapContext,
    SnapSet,
    WriteOp,
    lookup_method,
    register_method,
)

__all__ = ["SnapshotContract"]

POOL = "snapshots"

_SNAP_CLASS = "shoal_snap_contract"


def _read_everything(ctx: ObjectContext, data: bytes) -> bytes:
    """RD: the object's data followed by its xattr ``x`` (or b"-")."""
    try:
        x = ctx.get_xattr("x")
    except errors.NoData:
        x = b"-"
    return ctx.read(0, ctx.stat().size) + b"|" + x


def _overwrite(ctx: ObjectContext, data: bytes) -> bytes:
    """WR: replace the data."""
    ctx.write_full(data)
    return b""


def _register_snap_methods() -> None:
    try:
        lookup_method(_SNAP_CLASS, "read_everything")
        return
    except (errors.NotSupported, errors.PermissionDenied):
        pass
    register_method(_SNAP_CLASS, "read_everything", MethodFlags.RD)(_read_everything)
    register_method(_SNAP_CLASS, "overwrite", MethodFlags.WR)(_overwrite)


_register_snap_methods()


# --- helpers ------------------------------------------------------------------
State = tuple[bytes, dict[str, bytes], dict[str, bytes]]


def state_of(io: IoCtx, oid: str) -> State | None:
    """Data, xattrs and omap of ``oid`` as ``io`` reads it (None: ObjectNotFound)."""
    try:
        size = io.stat(oid).size
    except errors.ObjectNotFound:
        return None
    data = io.read(oid, size + 10)
    assert len(data) == size
    return data, io.get_xattrs(oid), dict(io.omap_iter(oid))


def reader(io: IoCtx, snap_id: int) -> IoCtx:
    """A new handle on ``io``'s pool and namespace reading at ``snap_id``."""
    other = io.dup()
    other.set_read(snap_id)
    return other


def at_snap(io: IoCtx, snap_id: int, oid: str) -> State | None:
    with reader(io, snap_id) as r:
        return state_of(r, oid)


def new_snap(io: IoCtx) -> int:
    """Allocate a snap and make ``io`` write with every snap it allocated so far."""
    snap_id = io.create_self_managed_snap()
    ctx = io.get_snap_context()
    io.set_self_managed_snap_write([*ctx.snaps, snap_id], snap_id)
    return snap_id


# --- the model of the property test ---------------------------------------------
@dataclass
class ModelObject:
    data: bytearray = field(default_factory=bytearray)
    xattrs: dict[str, bytes] = field(default_factory=dict)
    omap: dict[str, bytes] = field(default_factory=dict)

    def copy(self) -> ModelObject:
        return ModelObject(bytearray(self.data), dict(self.xattrs), dict(self.omap))

    def state(self) -> State:
        return bytes(self.data), dict(self.xattrs), dict(self.omap)


SnapStep = tuple[str, int, int, int, bytes]  # kind, object index, a, b, data

_snap_steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("write"), st.integers(0, 1), st.integers(0, 40), st.just(0),
            st.binary(min_size=1, max_size=12),
        ),
        st.tuples(
            st.just("write_full"), st.integers(0, 1), st.just(0), st.just(0),
            st.binary(max_size=30),
        ),
        st.tuples(
            st.just("trunc"), st.integers(0, 1), st.integers(0, 50), st.just(0), st.just(b"")
        ),
        st.tuples(
            st.just("zero"), st.integers(0, 1), st.integers(0, 40), st.integers(0, 20),
            st.just(b""),
        ),
        st.tuples(st.just("remove"), st.integers(0, 1), st.just(0), st.just(0), st.just(b"")),
        st.tuples(
            st.just("xattr"), st.integers(0, 1), st.integers(0, 2), st.just(0),
            st.binary(max_size=4),
        ),
        st.tuples(
            st.just("omap"), st.integers(0, 1), st.integers(0, 2), st.just(0),
            st.binary(max_size=4),
        ),
        st.tuples(st.just("snap"), st.just(0), st.just(0), st.just(0), st.just(b"")),
        st.tuples(st.just("snap"), st.just(0), st.just(0), st.just(0), st.just(b"")),
        # b=1: the writer keeps its old snap context (it has not heard of the removal)
        st.tuples(
            st.just("rmsnap"), st.just(0), st.integers(0, 7), st.integers(0, 1), st.just(b"")
        ),
        st.tuples(
            st.just("rmsnap"), st.just(0), st.integers(0, 7), st.integers(0, 1), st.just(b"")
        ),
        st.tuples(
            st.just("rollback"), st.integers(0, 1), st.integers(0, 7), st.just(0), st.just(b"")
        ),
    ),
    max_size=30,
)


class SnapshotContract:
    """Snapshot tests (not collected itself); needs the ``store`` fixture."""

    #: Whether Python-registered object classes run (embedded only; Ceph runs its own).
    python_object_classes = True
    #: Whether ``SnapSet.seq`` is exact (the Ceph adapter only knows a lower bound).
    snapset_seq_known = True
    #: Whether a zero reaching the end truncates (Ceph 16's OSD; see ObjectStoreContract).
    zero_truncates_at_end = True

    @pytest.fixture
    def snap_io(self, store: ObjectStore) -> Iterator[IoCtx]:
        store.create_pool(POOL)
        with store.open_ioctx(POOL) as handle:
            yield handle

    # ======================================================================
    # snap ids and handle state
    # ======================================================================
    def test_snap_ids_grow_per_pool_and_are_never_reused(self, store: ObjectStore) -> None:
        store.create_pool("a")
        store.create_pool("b")
        a, b = store.open_ioctx("a"), store.open_ioctx("b")
        assert [a.create_self_managed_snap() for _ in range(3)] == [1, 2, 3]
        assert b.create_self_managed_snap() == 1
        a.remove_self_managed_snap(3)
        assert a.create_self_managed_snap() == 4
        assert store.open_ioctx("a").create_self_managed_snap() == 5
        store.delete_pool("b")
        store.create_pool("b")
        assert store.open_ioctx("b").create_self_managed_snap() == 1

    def test_remove_snap_errors_and_idempotence(self, snap_io: IoCtx) -> None:
        with pytest.raises(errors.InvalidArgument):
            snap_io.remove_self_managed_snap(1)  # never allocated
        s1 = snap_io.create_self_managed_snap()
        for bad in (0, -5, s1 + 1):
            with pytest.raises(errors.InvalidArgument):
                snap_io.remove_self_managed_snap(bad)
        snap_io.remove_self_managed_snap(s1)
        snap_io.remove_self_managed_snap(s1)  # already removed: fine

    def test_snap_ops_on_deleted_pool(self, store: ObjectStore, snap_io: IoCtx) -> None:
        store.delete_pool(POOL)
        with pytest.raises(errors.PoolNotFound):
            snap_io.create_self_managed_snap()
        with pytest.raises(errors.PoolNotFound):
            snap_io.remove_self_managed_snap(1)

    def test_handle_snap_state(self, snap_io: IoCtx) -> None:
        assert snap_io.get_read() == SNAP_HEAD
        assert snap_io.get_snap_context() == SnapContext(0, ())
        snap_io.set_self_managed_snap_write([1, 3, 2])
        assert snap_io.get_snap_context() == SnapContext(3, (3, 2, 1))
        snap_io.set_self_managed_snap_write([1], 7)
        assert snap_io.get_snap_context() == SnapContext(7, (1,))
        for snaps, seq in (([2], 1), ([0], None), ([-1], 3)):
            with pytest.raises(errors.InvalidArgument):
                snap_io.set_self_managed_snap_write(snaps, seq)
        with pytest.raises(errors.InvalidArgument):
            snap_io.set_read(0)
        snap_io.set_read(4)
        assert snap_io.get_read() == 4
        snap_io.set_read(SNAP_HEAD)
        assert snap_io.get_read() == SNAP_HEAD

    def test_dup_copies_pool_and_namespace_but_not_snap_state(
        self, store: ObjectStore, snap_io: IoCtx
    ) -> None:
        snap_io.set_namespace("ns")
        s1 = new_snap(snap_io)
        snap_io.set_read(s1)
        twin = snap_io.dup()
        assert twin.pool_id == snap_io.pool_id
        assert twin.get_namespace() == "ns"
        assert twin.get_read() == SNAP_HEAD
        assert twin.get_snap_context() == SnapContext(0, ())
        twin.write_full("o", b"twin")  # the original would refuse: it reads a snap
        twin.set_namespace("other")
        twin.set_read(s1)
        assert snap_io.get_namespace() == "ns"
        snap_io.set_read(SNAP_HEAD)
        assert snap_io.read("o") == b"twin"
        assert snap_io.get_snap_context() == SnapContext(s1, (s1,))
        plain = store.open_ioctx(POOL)
        with pytest.raises(errors.ObjectNotFound):
            plain.read("o")  # default namespace

    # ======================================================================
    # clones
    # ======================================================================
    def test_write_after_snap_preserves_old_state(self, snap_io: IoCtx) -> None:
        snap_io.write_full("o", b"old data")
        snap_io.set_xattr("o", "x", b"old")
        snap_io.omap_set("o", {"k": b"old", "gone": b"1"})
        old_version = snap_io.stat("o").version
        s1 = new_snap(snap_io)
        snap_io.write("o", b"NEW", 12)
        snap_io.set_xattr("o", "x", b"new")
        snap_io.omap_rm_keys("o", ["gone"])
        snap_io.omap_set("o", {"k": b"new"})
        assert at_snap(snap_io, s1, "o") == (
            b"old data", {"x": b"old"}, {"gone": b"1", "k": b"old"}
        )
        assert state_of(snap_io, "o") == (
            b"old data\0\0\0\0NEW", {"x": b"new"}, {"k": b"new"}
        )
        with reader(snap_io, s1) as r:
            st_ = r.stat("o")
            assert st_.size == 8
            assert st_.version == old_version
            assert r.read("o", 3, 4) == b"dat"
            assert r.read("o", 0) == b"old data"
            assert r.get_xattr("o", "x") == b"old"
            with pytest.raises(errors.NoData):
                r.get_xattr("o", "nope")
            assert r.omap_get_vals_by_keys("o", ["k", "zz"]) == {"k": b"old"}
            page = r.omap_get_vals("o", "", "", 1)
            assert page.items == [("gone", b"1")] and page.more
            assert r.execute("o", "hello", "say_hello", b"snap") == b"Hello, snap!"
            if self.python_object_classes:
                assert r.execute("o", _SNAP_CLASS, "read_everything") == b"old data|old"
        if self.python_object_classes:
            assert snap_io.execute("o", _SNAP_CLASS, "read_everything") == (
                b"old data\0\0\0\0NEW|new"
            )
        assert snap_io.stat("o").version > old_version

    def test_only_the_first_write_after_a_snap_clones(self, snap_io: IoCtx) -> None:
        snap_io.write_full("o", b"v1")
        s1 = new_snap(snap_io)
        ss = snap_io.list_snaps("o")
        assert (ss.seq, ss.clones, ss.head_exists, ss.head_size) == (0, (), True, 2)
        snap_io.write_full("o", b"v2-longer")
        snap_io.write_full("o", b"v3")
        ss = snap_io.list_snaps("o")
        assert ss.seq == s1
        assert ss.clones == (CloneInfo(s1, (s1,), 2),)
        assert (ss.head_exists, ss.head_size) == (True, 2)
        assert at_snap(snap_io, s1, "o") == (b"v1", {}, {})
        s2 = new_snap(snap_io)
        snap_io.append("o", b"+")
        ss = snap_io.list_snaps("o")
        assert ss.seq == s2
        assert ss.clones == (CloneInfo(s1, (s1,), 2), CloneInfo(s2, (s2,), 2))
        assert at_snap(snap_io, s2, "o") == (b"v3", {}, {})
        assert snap_io.read("o") == b"v3+"

    def test_unwritten_object_reads_head_at_snap(self, snap_io: IoCtx) -> None:
        snap_io.write_full("o", b"same")
        s1 = new_snap(snap_io)
        snap_io.write_full("other", b"x")  # touches another object only
        assert at_snap(snap_io, s1, "o") == (b"same", {}, {})
        assert snap_io.list_snaps("o").clones == ()

    def test_object_created_after_snap_is_missing_at_it(self, snap_io: IoCtx) -> None:
        s1 = new_snap(snap_io)
        snap_io.write_full("o", b"new")
        assert at_snap(snap_io, s1, "o") is None
        with reader(snap_io, s1) as r:
            with pytest.raises(errors.ObjectNotFound):
                r.read("o")
            with pytest.raises(errors.ObjectNotFound):
                r.get_xattrs("o")
            with pytest.raises(errors.ObjectNotFound):
                r.omap_get_vals("o")
            with pytest.raises(errors.ObjectNotFound):
                r.execute("o", "hello", "say_hello")
        ss = snap_io.list_snaps("o")
        assert (ss.clones, ss.head_exists) == ((), True)
        if self.snapset_seq_known:
            assert ss.seq == s1
        s2 = new_snap(snap_io)
        snap_io.write_full("o", b"newer")
        assert at_snap(snap_io, s1, "o") is None
        assert at_snap(snap_io, s2, "o") == (b"new", {}, {})
        assert snap_io.list_snaps("o").clones == (CloneInfo(s2, (s2,), 3),)

    def test_removed_head_stays_readable_at_snap(self, snap_io: IoCtx) -> None:
        snap_io.write_full("o", b"keep me")
        snap_io.set_xattr("o", "x", b"1")
        snap_io.write_full("p", b"plain")
        s1 = new_snap(snap_io)
        snap_io.remove_object("o")
        with pytest.raises(errors.ObjectNotFound):
            snap_io.stat("o")
        assert at_snap(snap_io, s1, "o") == (b"keep me", {"x": b"1"}, {})
        assert snap_io.list_objects().names == ["p"]
        ss = snap_io.list_snaps("o")
        assert (ss.head_exists, ss.head_size) == (False, 0)
        assert ss.clones == (CloneInfo(s1, (s1,), 7),)
        with pytest.raises(errors.ObjectNotFound):
            snap_io.remove_object("o")
        # recreating it leaves the clone alone
        snap_io.write_full("o", b"again")
        assert at_snap(snap_io, s1, "o") == (b"keep me", {"x": b"1"}, {})
        assert state_of(snap_io, "o") == (b"again", {}, {})
        assert len(snap_io.list_snaps("o").clones) == 1

    def test_snap_context_with_several_snaps(self, snap_io: IoCtx) -> None:
        snap_io.write_full("o", b"base")
        s1 = new_snap(snap_io)
        s2 = new_snap(snap_io)
        s3 = new_snap(snap_io)
        assert snap_io.get_snap_context() == SnapContext(s3, (s3, s2, s1))
        snap_io.write_full("o", b"after three")
        assert snap_io.list_snaps("o").clones == (CloneInfo(s3, (s1, s2, s3), 4),)
        for s in (s1, s2, s3):
            assert at_snap(snap_io, s, "o") == (b"base", {}, {})
        assert snap_io.read("o") == b"after three"

    def test_snap_context_with_many_snaps(self, snap_io: IoCtx) -> None:
        snap_io.write_full("o", b"base")
        snaps = [snap_io.create_self_managed_snap() for _ in range(1200)]
        for s in snaps[::3]:
            snap_io.remove_self_managed_snap(s)
        snap_io.set_self_managed_snap_write(snaps)
        snap_io.write_full("o", b"later")
        live = tuple(s for i, s in enumerate(snaps) if i % 3)
        assert snap_io.list_snaps("o").clones == (CloneInfo(snaps[-1], live, 4),)
        assert at_snap(snap_io, live[0], "o") == (b"base", {}, {})
        assert at_snap(snap_io, snaps[0], "o") is None  # removed, not covered

    def test_snap_context_only_lists_snaps_newer_than_the_object(self, snap_io: IoCtx) -> None:
        snap_io.write_full("o", b"a")
        s1 = new_snap(snap_io)
        snap_io.write_full("o", b"b")
        s2 = new_snap(snap_io)
        snap_io.write_full("o", b"c")
        assert snap_io.list_snaps("o").clones == (
            CloneInfo(s1, (s1,), 1),
            CloneInfo(s2, (s2,), 1),
        )
        assert [at_snap(snap_io, s, "o") for s in (s1, s2)] == [(b"a", {}, {}), (b"b", {}, {})]

    def test_older_snap_context_writes_without_cloning(self, snap_io: IoCtx) -> None:
        snap_io.write_full("o", b"a")
        s1 = new_snap(snap_io)
        s2 = new_snap(snap_io)
        snap_io.write_full("o", b"b")  # clone s2 covering s1, s2
        stale = snap_io.dup()
        stale.set_self_managed_snap_write([s1])
        stale.write_full("o", b"c")
        ss = snap_io.list_snaps("o")
        assert ss.seq == s2
        assert ss.clones == (CloneInfo(s2, (s1, s2), 1),)
        assert snap_io.read("o") == b"c"

    def test_all_kinds_of_mutation_clone(self, snap_io: IoCtx) -> None:
        mutations = {
            "write": lambda io, o: io.write(o, b"Z", 1),
            "write_full": lambda io, o: io.write_full(o, b"Z"),
            "append": lambda io, o: io.append(o, b"Z"),
            "trunc": lambda io, o: io.trunc(o, 1),
            "zero": lambda io, o: io.zero(o, 0, 2),
            "set_xattr": lambda io, o: io.set_xattr(o, "y", b"Z"),
            "rm_xattr": lambda io, o: io.rm_xattr(o, "x"),
            "omap_set": lambda io, o: io.omap_set(o, {"z": b"Z"}),
            "omap_rm_keys": lambda io, o: io.omap_rm_keys(o, ["k"]),
            "omap_clear": lambda io, o: io.omap_clear(o),
            "remove": lambda io, o: io.remove_object(o),
            "create": lambda io, o: io.create(o, exclusive=False),
            "operate": lambda io, o: io.operate(o, WriteOp().write(b"Q", 0).set_xattr("x", b"Q")),
        }
        if self.python_object_classes:
            mutations["execute"] = lambda io, o: io.execute(o, _SNAP_CLASS, "overwrite", b"Q")
        original: State = (b"abcd", {"x": b"1"}, {"k": b"v"})
        for name in mutations:
            snap_io.write_full(name, original[0])
            snap_io.set_xattr(name, "x", b"1")
            snap_io.omap_set(name, {"k": b"v"})
        s1 = new_snap(snap_io)
        for name, mutate in mutations.items():
            mutate(snap_io, name)
            assert at_snap(snap_io, s1, name) == original, name
            assert snap_io.list_snaps(name).clones == (CloneInfo(s1, (s1,), 4),), name
            if name != "create":  # touches the object without changing it
                assert state_of(snap_io, name) != original, name

    def test_failed_mutation_makes_no_clone(self, snap_io: IoCtx) -> None:
        snap_io.write_full("o", b"orig")
        s1 = new_snap(snap_io)
        with pytest.raises(errors.Canceled):
            snap_io.operate(
                "o", WriteOp().write(b"XX", 0).cmp_xattr("nope", "eq", b"never")
            )
        ss = snap_io.list_snaps("o")
        assert (ss.seq, ss.clones) == (0, ())
        with pytest.raises(errors.AlreadyExists):
            snap_io.create("o", exclusive=True)
        assert snap_io.list_snaps("o").clones == ()
        assert at_snap(snap_io, s1, "o") == (b"orig", {}, {})
        with pytest.raises(errors.ObjectNotFound):
            snap_io.list_snaps("never")

    def test_snapshots_are_per_namespace_object(self, snap_io: IoCtx) -> None:
        other = snap_io.dup()
        other.set_namespace("ns")
        snap_io.write_full("o", b"default")
        other.write_full("o", b"in ns")
        s1 = new_snap(snap_io)
        other.set_self_managed_snap_write([s1])
        other.write_full("o", b"in ns, later")
        assert snap_io.list_snaps("o").clones == ()
        assert other.list_snaps("o").clones == (CloneInfo(s1, (s1,), 5),)
        assert at_snap(other, s1, "o") == (b"in ns", {}, {})
        assert at_snap(snap_io, s1, "o") == (b"default", {}, {})

    def test_large_sparse_object_clone(self, snap_io: IoCtx) -> None:
        block = bytes(range(256)) * 16
        snap_io.write("o", block, 0)
        snap_io.write("o", block, 3 << 20)
        s1 = new_snap(snap_io)
        snap_io.write("o", b"\xff" * 4096, 1 << 20)
        snap_io.zero("o", 0, 4096)
        with reader(snap_io, s1) as r:
            assert r.stat("o").size == (3 << 20) + 4096
            assert r.read("o", 4096, 0) == block
            assert r.read("o", 4096, 1 << 20) == bytes(4096)
            assert r.read("o", 4096, 3 << 20) == block
        assert snap_io.read("o", 4096, 0) == bytes(4096)
        assert snap_io.read("o", 4096, 1 << 20) == b"\xff" * 4096
        assert snap_io.read("o", 4096, 3 << 20) == block

    # ======================================================================
    # read-only handles
    # ======================================================================
    def test_mutations_through_a_snap_reader_are_read_only(self, snap_io: IoCtx) -> None:
        snap_io.write_full("o", b"data")
        s1 = new_snap(snap_io)
        r = reader(snap_io, s1)
        attempts = [
            lambda: r.write("o", b"x"),
            lambda: r.write_full("o", b"x"),
            lambda: r.append("o", b"x"),
            lambda: r.trunc("o", 1),
            lambda: r.zero("o", 0, 1),
            lambda: r.remove_object("o"),
            lambda: r.create("new"),
            lambda: r.set_xattr("o", "x", b"1"),
            lambda: r.rm_xattr("o", "x"),
            lambda: r.omap_set("o", {"k": b"v"}),
            lambda: r.omap_rm_keys("o", ["k"]),
            lambda: r.omap_clear("o"),
            lambda: r.operate("o", WriteOp().assert_exists()),
            lambda: r.rollback_self_managed_snap("o", s1),
            lambda: r.write("missing", b"x"),
        ]
        if self.python_object_classes:
            attempts.append(lambda: r.execute("o", _SNAP_CLASS, "overwrite", b"x"))
        for attempt in attempts:
            with pytest.raises(errors.ReadOnly) as exc:
                attempt()
            assert exc.value.errno == 30  # EROFS
        assert state_of(snap_io, "o") == (b"data", {}, {})
        assert snap_io.list_snaps("o").clones == ()
        assert_missing_at_head(snap_io, "new")
        assert_missing_at_head(snap_io, "missing")
        # reads and pool-level snap calls still work
        assert r.read("o") == b"data"
        assert r.execute("o", "hello", "say_hello") == b"Hello, world!"
        assert r.create_self_managed_snap() > s1
        r.set_read(SNAP_HEAD)
        r.write_full("o", b"writable again")
        assert snap_io.read("o") == b"writable again"

    # ======================================================================
    # rollback
    # ======================================================================
    def test_rollback_to_a_preserved_state(self, snap_io: IoCtx) -> None:
        snap_io.write_full("o", b"version one")
        snap_io.set_xattr("o", "x", b"1")
        snap_io.omap_set("o", {"a": b"1"})
        s1 = new_snap(snap_io)
        snap_io.write("o", b"TWO", 8)
        snap_io.write("o", b"tail", 100)
        snap_io.set_xattr("o", "y", b"2")
        snap_io.rm_xattr("o", "x")
        snap_io.omap_clear("o")
        snap_io.omap_set("o", {"b": b"2"})
        before = snap_io.stat("o").version
        snap_io.rollback_self_managed_snap("o", s1)
        assert state_of(snap_io, "o") == (b"version one", {"x": b"1"}, {"a": b"1"})
        assert snap_io.stat("o").version > before
        assert at_snap(snap_io, s1, "o") == (b"version one", {"x": b"1"}, {"a": b"1"})
        # the head is independent of the clone again
        snap_io.write("o", b"V", 0)
        assert snap_io.read("o") == b"Version one"
        assert at_snap(snap_io, s1, "o") == (b"version one", {"x": b"1"}, {"a": b"1"})
        assert snap_io.list_snaps("o").clones == (CloneInfo(s1, (s1,), 11),)

    def test_rollback_to_when_it_did_not_exist_removes_head(self, snap_io: IoCtx) -> None:
        s1 = new_snap(snap_io)
        snap_io.write_full("o", b"born after s1")
        snap_io.rollback_self_managed_snap("o", s1)
        with pytest.raises(errors.ObjectNotFound):
            snap_io.stat("o")
        with pytest.raises(errors.ObjectNotFound):
            snap_io.list_snaps("o")
        assert snap_io.list_objects().names == []

    def test_rollback_keeps_current_state_in_a_newer_snap(self, snap_io: IoCtx) -> None:
        snap_io.write_full("o", b"one")
        s1 = new_snap(snap_io)
        snap_io.write_full("o", b"two")
        s2 = new_snap(snap_io)
        snap_io.rollback_self_managed_snap("o", s1)
        assert snap_io.read("o") == b"one"
        assert at_snap(snap_io, s1, "o") == (b"one", {}, {})
        assert at_snap(snap_io, s2, "o") == (b"two", {}, {})
        snap_io.rollback_self_managed_snap("o", s2)
        assert snap_io.read("o") == b"two"
        assert snap_io.list_snaps("o").clones == (
            CloneInfo(s1, (s1,), 3),
            CloneInfo(s2, (s2,), 3),
        )

    def test_rollback_to_removed_head_state_and_missing_objects(self, snap_io: IoCtx) -> None:
        snap_io.write_full("o", b"was here")
        s1 = new_snap(snap_io)
        snap_io.remove_object("o")
        snap_io.rollback_self_managed_snap("o", s1)
        assert snap_io.read("o") == b"was here"
        # unchanged since the snap: nothing to restore, the head stays
        s2 = new_snap(snap_io)
        snap_io.rollback_self_managed_snap("o", s2)
        assert snap_io.read("o") == b"was here"
        # an object that never existed: nothing happens
        snap_io.rollback_self_managed_snap("never", s1)
        assert_missing_at_head(snap_io, "never")
        with pytest.raises(errors.ObjectNotFound):
            snap_io.list_snaps("never")
        with pytest.raises(errors.InvalidArgument):
            snap_io.rollback_self_managed_snap("o", 0)

    # ======================================================================
    # removing snaps
    # ======================================================================
    def test_removing_snaps_trims_clones(self, snap_io: IoCtx) -> None:
        snap_io.write_full("o", b"at s1")
        s1 = new_snap(snap_io)
        snap_io.write_full("o", b"at s2")  # clone s1: (s1)
        s2 = new_snap(snap_io)
        s3 = new_snap(snap_io)
        snap_io.write_full("o", b"head")  # clone s3: (s2, s3)
        assert snap_io.list_snaps("o").clones == (
            CloneInfo(s1, (s1,), 5),
            CloneInfo(s3, (s2, s3), 5),
        )
        snap_io.remove_self_managed_snap(s1)
        assert snap_io.list_snaps("o").clones == (CloneInfo(s3, (s2, s3), 5),)
        assert at_snap(snap_io, s2, "o") == (b"at s2", {}, {})
        assert at_snap(snap_io, s3, "o") == (b"at s2", {}, {})
        snap_io.remove_self_managed_snap(s3)
        assert snap_io.list_snaps("o").clones == (CloneInfo(s3, (s2,), 5),)
        assert at_snap(snap_io, s2, "o") == (b"at s2", {}, {})
        snap_io.remove_self_managed_snap(s2)
        ss = snap_io.list_snaps("o")
        assert (ss.seq, ss.clones, ss.head_exists) == (s3, (), True)
        assert snap_io.read("o") == b"head"

    def test_trimming_the_last_clone_of_a_removed_object_forgets_it(
        self, snap_io: IoCtx
    ) -> None:
        snap_io.write_full("o", b"x" * 5000)
        snap_io.omap_set("o", {"k": b"v"})
        s1 = new_snap(snap_io)
        snap_io.remove_object("o")
        snap_io.remove_self_managed_snap(s1)
        with pytest.raises(errors.ObjectNotFound):
            snap_io.list_snaps("o")
        snap_io.write_full("o", b"fresh")
        assert state_of(snap_io, "o") == (b"fresh", {}, {})

    def test_removed_snap_is_not_cloned_again(self, snap_io: IoCtx) -> None:
        snap_io.write_full("o", b"a")
        s1 = new_snap(snap_io)
        s2 = new_snap(snap_io)
        snap_io.remove_self_managed_snap(s1)
        # a writer that has not heard of the removal still lists s1
        assert s1 in snap_io.get_snap_context().snaps
        snap_io.write_full("o", b"b")
        assert snap_io.list_snaps("o").clones == (CloneInfo(s2, (s2,), 1),)
        snap_io.remove_self_managed_snap(s2)
        snap_io.write_full("p", b"p")
        s3 = snap_io.create_self_managed_snap()
        snap_io.remove_self_managed_snap(s3)
        snap_io.set_self_managed_snap_write([s3])
        snap_io.write_full("p", b"q")  # only removed snaps: no clone, seq moves on
        ss = snap_io.list_snaps("p")
        assert (ss.seq, ss.clones) == (s3, ())

    def test_remove_snap_trims_every_object_and_namespace(self, snap_io: IoCtx) -> None:
        ns = snap_io.dup()
        ns.set_namespace("ns")
        names = [f"obj{i}" for i in range(20)]
        for io in (snap_io, ns):
            for n in names:
                io.write_full(n, n.encode())
        s1 = new_snap(snap_io)
        s2 = new_snap(snap_io)
        ns.set_self_managed_snap_write([s1, s2])
        for io in (snap_io, ns):
            for n in names[::2]:
                io.write_full(n, b"changed")
        snap_io.remove_self_managed_snap(s2)
        for io in (snap_io, ns):
            for n in names[::2]:
                assert io.list_snaps(n).clones == (CloneInfo(s2, (s1,), len(n)),)
                assert at_snap(io, s1, n) == (n.encode(), {}, {})
        snap_io.remove_self_managed_snap(s1)
        for io in (snap_io, ns):
            for n in names:
                assert io.list_snaps(n).clones == ()
                assert io.read(n) == (b"changed" if n in names[::2] else n.encode())

    def test_clone_of_an_empty_object(self, snap_io: IoCtx) -> None:
        snap_io.create("o")
        snap_io.set_xattr("o", "x", b"1")
        s1 = new_snap(snap_io)
        snap_io.write_full("o", b"data")
        assert at_snap(snap_io, s1, "o") == (b"", {"x": b"1"}, {})
        assert snap_io.list_snaps("o").clones == (CloneInfo(s1, (s1,), 0),)
        snap_io.rollback_self_managed_snap("o", s1)
        assert state_of(snap_io, "o") == (b"", {"x": b"1"}, {})

    def test_snap_removal_racing_writers(self, snap_io: IoCtx) -> None:
        """Writers still carrying a snap while it is removed never leave a clone of it."""
        writers, objects, rounds = 4, 6, 30
        for t in range(writers):
            for k in range(objects):
                snap_io.write_full(f"w{t}.{k}", b"before")
        s1 = snap_io.create_self_managed_snap()
        start = threading.Barrier(writers + 1)

        def writer(t: int) -> None:
            io = snap_io.dup()
            io.set_self_managed_snap_write([s1])
            start.wait()
            for i in range(rounds):
                io.write_full(f"w{t}.{i % objects}", f"{t}:{i}".encode())

        with ThreadPoolExecutor(max_workers=writers) as pool:
            futures = [pool.submit(writer, t) for t in range(writers)]
            start.wait()
            snap_io.remove_self_managed_snap(s1)
            for future in futures:
                future.result()
        last = {k: max(i for i in range(rounds) if i % objects == k) for k in range(objects)}
        for t in range(writers):
            for k in range(objects):
                oid = f"w{t}.{k}"
                assert snap_io.read(oid) == f"{t}:{last[k]}".encode()
                assert snap_io.list_snaps(oid).clones == (), oid

    # ======================================================================
    # property: random histories against a model keeping full copies per snap
    # ======================================================================
    @settings(
        max_examples=80,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(steps=_snap_steps)
    def test_snapshot_histories_match_model(self, snap_io: IoCtx, steps: list[SnapStep]) -> None:
        tag = uuid.uuid4().hex
        io = snap_io.dup()
        oids = [f"{tag}.a", f"{tag}.b"]
        head: dict[str, ModelObject] = {}
        at: dict[int, dict[str, ModelObject]] = {}  # live snap -> objects then
        allocated: list[int] = []
        for kind, idx, a, b, data in steps:
            oid = oids[idx]
            obj = head.get(oid)
            if kind == "snap":
                snap_id = io.create_self_managed_snap()
                allocated.append(snap_id)
                at[snap_id] = {n: o.copy() for n, o in head.items()}
                io.set_self_managed_snap_write([*io.get_snap_context().snaps, snap_id], snap_id)
            elif kind == "rmsnap":
                if not at:
                    continue
                victim = sorted(at)[a % len(at)]
                io.remove_self_managed_snap(victim)
                del at[victim]
                if not b:
                    io.set_self_managed_snap_write(sorted(at), allocated[-1])
            elif kind == "rollback":
                if not allocated:
                    continue
                target = allocated[a % len(allocated)]
                if target not in at:
                    continue  # reading a removed snap is not pinned
                io.rollback_self_managed_snap(oid, target)
                then = at[target].get(oid)
                if then is None:
                    head.pop(oid, None)
                else:
                    head[oid] = then.copy()
            elif kind == "remove":
                if obj is None:
                    with pytest.raises(errors.ObjectNotFound):
                        io.remove_object(oid)
                    continue
                io.remove_object(oid)
                del head[oid]
            elif kind in ("trunc", "zero") and obj is None:
                if kind == "trunc":
                    io.trunc(oid, a)
                else:
                    io.zero(oid, a, b)
            else:
                obj = head.setdefault(oid, ModelObject())
                _apply_both(io, oid, obj, kind, a, b, data, self.zero_truncates_at_end)
            self._check(io, oids, head, at)

    @staticmethod
    def _check(
        io: IoCtx,
        oids: list[str],
        head: dict[str, ModelObject],
        at: dict[int, dict[str, ModelObject]],
    ) -> None:
        for oid in oids:
            want = head.get(oid)
            assert state_of(io, oid) == (want.state() if want else None), f"head of {oid}"
            for snap_id, objects in at.items():
                then = objects.get(oid)
                got = at_snap(io, snap_id, oid)
                assert got == (then.state() if then else None), f"{oid} at snap {snap_id}"
            try:
                ss = io.list_snaps(oid)
            except errors.ObjectNotFound:
                assert want is None
                continue
            assert ss.head_exists == (want is not None)
            covered = [s for c in ss.clones for s in c.snaps]
            assert len(covered) == len(set(covered))
            assert set(covered) <= set(at), "a clone covers a removed snap"
            assert all(c.snaps for c in ss.clones)
            _check_overlaps(oid, ss, want, at)


def _check_overlaps(oid: str, ss: SnapSet, head: ModelObject | None,
                    at: dict[int, dict[str, ModelObject]]) -> None:
    """Every range a clone's ``overlap`` names holds the same bytes in the clone and in
    the next newer version of the object (zeros past either's end)."""
    def data(version: ModelObject | None) -> bytes:
        return bytes(version.data) if version is not None else b""

    for i, clone in enumerate(ss.clones):
        if clone.overlap is None:
            continue
        mine = data(at[clone.snaps[0]].get(oid))
        nxt = ss.clones[i + 1] if i + 1 < len(ss.clones) else None
        newer = data(at[nxt.snaps[0]].get(oid) if nxt is not None else head)
        pos = 0
        for off, n in clone.overlap:
            assert off >= pos and n > 0, f"{oid}: overlap not ascending: {clone.overlap}"
            pos = off + n
            assert mine[off:pos].ljust(n, b"\0") == newer[off:pos].ljust(n, b"\0"), (
                f"{oid}: clone {clone.id} overlap [{off}, {pos}) differs from the next version")


def _apply_both(
    io: IoCtx,
    oid: str,
    obj: ModelObject,
    kind: str,
    a: int,
    b: int,
    data: bytes,
    zero_truncates: bool = False,
) -> None:
    """Apply a creating mutation to the store and to the model object.

    ``zero_truncates``: a zero reaching the end truncates (Ceph's OSD does).
    """
    buf = obj.data
    if kind == "write":
        io.write(oid, data, a)
        buf.extend(bytes(max(0, a - len(buf))))
        buf[a : a + len(data)] = data
    elif kind == "write_full":
        io.write_full(oid, data)
        obj.data = bytearray(data)
    elif kind == "trunc":
        io.trunc(oid, a)
        del buf[a:]
        buf.extend(bytes(a - len(buf)))
    elif kind == "zero":
        io.zero(oid, a, b)
        if zero_truncates and a < len(buf) <= a + b:
            del buf[a:]
        else:
            end = min(a + b, len(buf))
            buf[a:end] = bytes(max(0, end - a))
    elif kind == "xattr":
        io.set_xattr(oid, f"x{a}", data)
        obj.xattrs[f"x{a}"] = data
    elif kind == "omap":
        io.omap_set(oid, {f"k{a}": data})
        obj.omap[f"k{a}"] = data
    else:
        raise AssertionError(kind)


def assert_missing_at_head(io: IoCtx, oid: str) -> None:
    with pytest.raises(errors.ObjectNotFound):
        io.stat(oid)
