"""The caps-checked IoCtx: which operation needs which OSD permission."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shoal import errors
from shoal.cluster import EmbeddedSession, connect
from shoal.objstore import IoCtx, ObjectStore, WriteOp

Op = Callable[[IoCtx], object]

READS: dict[str, Op] = {
    "read": lambda io: io.read("o"),
    "stat": lambda io: io.stat("o"),
    "get_xattr": lambda io: io.get_xattr("o", "a"),
    "get_xattrs": lambda io: io.get_xattrs("o"),
    "omap_get_vals": lambda io: io.omap_get_vals("o"),
    "omap_get_vals_by_keys": lambda io: io.omap_get_vals_by_keys("o", ["k"]),
    "omap_iter": lambda io: list(io.omap_iter("o")),
    "list_objects": lambda io: io.list_objects(),
    "list_snaps": lambda io: io.list_snaps("o"),
    "operate(assert_exists)": lambda io: io.operate("o", WriteOp().assert_exists()),
}
WRITES: dict[str, Op] = {
    "write": lambda io: io.write("o", b"x", 1),
    "write_full": lambda io: io.write_full("o", b"x"),
    "append": lambda io: io.append("o", b"x"),
    "trunc": lambda io: io.trunc("o", 1),
    "zero": lambda io: io.zero("o", 0, 1),
    "remove_object": lambda io: io.remove_object("o"),
    "create": lambda io: io.create("new", exclusive=False),
    "set_xattr": lambda io: io.set_xattr("o", "b", b"v"),
    "rm_xattr": lambda io: io.rm_xattr("o", "a"),
    "omap_set": lambda io: io.omap_set("o", {"k2": b"v"}),
    "omap_rm_keys": lambda io: io.omap_rm_keys("o", ["k"]),
    "omap_clear": lambda io: io.omap_clear("o"),
    "operate(write)": lambda io: io.operate("o", WriteOp().write(b"y", 0)),
}
READ_WRITES: dict[str, Op] = {
    "operate(cmp_xattr+write)": lambda io: io.operate(
        "o", WriteOp().cmp_xattr("a", "eq", b"1").write(b"z", 0)),
    "rollback_self_managed_snap": lambda io: io.rollback_self_managed_snap("o", 1),
}
CLASS_READS: dict[str, Op] = {"say_hello": lambda io: io.execute("o", "hello", "say_hello")}
CLASS_WRITES: dict[str, Op] = {
    "record_hello": lambda io: io.execute("fresh", "hello", "record_hello", b"x")}

#: entity -> osd caps on pool "p"
USERS = {
    "client.r": "allow r pool=p",
    "client.w": "allow w pool=p",
    "client.rw": "allow rw pool=p",
    "client.cr": "allow class-read pool=p",
    "client.cw": "allow class-write pool=p",
    "client.none": "allow rwx pool=other",
}
#: op group -> entities allowed to perform it
ALLOWED = {
    "read": {"client.r", "client.rw"},
    "write": {"client.w", "client.rw"},
    "read-write": {"client.rw"},
    "class-read": {"client.cr"},
    "class-write": {"client.cw"},
}
GROUPS = {"read": READS, "write": WRITES, "read-write": READ_WRITES,
          "class-read": CLASS_READS, "class-write": CLASS_WRITES}
CASES = [
    (group, name, user)
    for group, ops in GROUPS.items() for name in ops for user in USERS
]


@pytest.fixture
def sessions(
    admin: EmbeddedSession, data_dir: Path, memory_store: ObjectStore
) -> Iterator[dict[str, EmbeddedSession]]:
    admin.create_pool("p")
    admin.create_pool("other")
    opened = {}
    for name, osd in USERS.items():
        key = admin.mon_command({"prefix": "auth get-or-create-key", "entity": name,
                                 "caps": ["mon", "allow r", "osd", osd]}).check().outbuf
        opened[name] = connect(data_dir, name, key=key.decode(), store=memory_store)
    yield opened
    for session in opened.values():
        session.shutdown()


def _reset(admin: EmbeddedSession) -> None:
    with admin.open_ioctx("p") as io:
        for oid in ("o", "new", "fresh"):
            with contextlib.suppress(errors.ObjectNotFound):
                io.remove_object(oid)
        io.write_full("o", b"data")
        io.set_xattr("o", "a", b"1")
        io.omap_set("o", {"k": b"v"})


def _allowed(io: IoCtx, op: Op) -> bool:
    try:
        op(io)
    except errors.PermissionDenied:
        return False
    except errors.ShoalError:
        return True  # got past the caps check (e.g. ObjectNotFound)
    return True


@pytest.mark.parametrize(("group", "op_name", "user"), CASES)
def test_each_operation_needs_its_permission(
    admin: EmbeddedSession, sessions: dict[str, EmbeddedSession], group: str, op_name: str,
    user: str,
) -> None:
    _reset(admin)
    with sessions[user].open_ioctx("p") as io:
        assert _allowed(io, GROUPS[group][op_name]) == (user in ALLOWED[group])


def test_refusal_says_who_what_and_where(sessions: dict[str, EmbeddedSession]) -> None:
    with sessions["client.r"].open_ioctx("p") as io, pytest.raises(
        errors.PermissionDenied,
        match=r"client.r may not write object 'o' in pool 'p' \(osd caps\)",
    ):
        io.write_full("o", b"x")


def test_refusal_comes_before_existence(sessions: dict[str, EmbeddedSession]) -> None:
    with sessions["client.w"].open_ioctx("p") as io, pytest.raises(errors.PermissionDenied):
        io.read("missing")


def test_unknown_class_method_is_not_supported_before_caps(
    sessions: dict[str, EmbeddedSession],
) -> None:
    with sessions["client.none"].open_ioctx("p") as io, pytest.raises(errors.NotSupported):
        io.execute("o", "hello", "nope")


def test_snapshot_ids_need_pool_write(
    admin: EmbeddedSession, sessions: dict[str, EmbeddedSession]
) -> None:
    with sessions["client.rw"].open_ioctx("p") as io:
        snap = io.create_self_managed_snap()
        io.remove_self_managed_snap(snap)
    with sessions["client.r"].open_ioctx("p") as io, pytest.raises(errors.PermissionDenied):
        io.create_self_managed_snap()


def test_snap_state_goes_to_the_inner_handle(admin: EmbeddedSession) -> None:
    admin.create_pool("s")
    with admin.open_ioctx("s") as io:
        io.set_self_managed_snap_write([3, 5])
        assert io.get_snap_context().seq == 5
        io.set_read(5)
        assert io.get_read() == 5
        dup = io.dup()
        assert dup.pool_name == "s"
        dup.close()


def test_namespace_grants(admin: EmbeddedSession, data_dir: Path,
                          memory_store: ObjectStore) -> None:
    admin.create_pool("p")
    key = admin.mon_command({"prefix": "auth get-or-create-key", "entity": "client.ns",
                             "caps": ["osd", "allow rw pool=p namespace=tenant"]}).check()
    with connect(data_dir, "client.ns", key=key.outbuf.decode(), store=memory_store) as s:
        io = s.open_ioctx("p")
        with pytest.raises(errors.PermissionDenied, match="in pool 'p' \\(osd"):
            io.write_full("o", b"x")
        io.set_namespace("tenant")
        assert io.get_namespace() == "tenant"
        io.write_full("o", b"x")
        assert io.read("o") == b"x"
        dup = io.dup()
        dup.set_namespace("elsewhere")
        with pytest.raises(errors.PermissionDenied, match="namespace 'elsewhere'"):
            dup.read("o")


def test_object_prefix_grants_never_allow_listing(
    admin: EmbeddedSession, data_dir: Path, memory_store: ObjectStore
) -> None:
    admin.create_pool("p")
    with admin.open_ioctx("p") as io:
        io.write_full("rbd_children", b"")
    key = admin.mon_command({"prefix": "auth get-or-create-key", "entity": "client.op",
                             "caps": ["osd", "allow r object_prefix rbd_children"]}).check()
    with connect(data_dir, "client.op", key=key.outbuf.decode(), store=memory_store) as s:
        io = s.open_ioctx("p")
        assert io.read("rbd_children") == b""
        with pytest.raises(errors.PermissionDenied):
            io.read("rbd_info")
        with pytest.raises(errors.PermissionDenied, match="may not list"):
            io.list_objects()


def test_caps_are_checked_on_each_operation(
    admin: EmbeddedSession, sessions: dict[str, EmbeddedSession]
) -> None:
    _reset(admin)
    io = sessions["client.r"].open_ioctx("p")
    assert io.read("o") == b"data"
    admin.mon_command({"prefix": "auth caps", "entity": "client.r",
                       "caps": ["osd", "allow w pool=p"]}).check()
    with pytest.raises(errors.PermissionDenied):
        io.read("o")
    io.write_full("o", b"new")
    io.flush()
