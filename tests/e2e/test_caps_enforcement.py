"""The guide's three users x four pools x read/write/class-read/class-write.

Users and caps are created by the guide's commands run through the ``shoal`` CLI
(see ``_guide.py``); each user then connects as a library session with the
keyring file written by ``ceph auth get-or-create ... -o``, on the data
directory's real (on-disk) object store.

The expected answers are written out, not computed: ``x`` in an OSD cap means
class-read + class-write, so ``allow rx pool=images`` lets client.cinder call
write-class methods there too (as on Ceph). Class calls on ``rbd_children`` are
allowed to every user in every pool by ``allow class-read object_prefix
rbd_children``, but only the class-read half.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shoal import errors
from shoal.cluster import EmbeddedSession, connect
from shoal.objstore import IoCtx
from tests.e2e._guide import POOLS, keyring_file, provision

USERS = ("client.cinder", "client.glance", "client.cinder-backup")
Y, N = True, False

#: (user, pool) -> (read, write, class-read, class-write) on an ordinary object
MATRIX: dict[tuple[str, str], tuple[bool, bool, bool, bool]] = {
    ("client.cinder", "volumes"): (Y, Y, Y, Y),
    ("client.cinder", "images"): (Y, N, Y, Y),
    ("client.cinder", "backups"): (N, N, N, N),
    ("client.cinder", "vms"): (Y, Y, Y, Y),
    ("client.glance", "volumes"): (N, N, N, N),
    ("client.glance", "images"): (Y, Y, Y, Y),
    ("client.glance", "backups"): (N, N, N, N),
    ("client.glance", "vms"): (N, N, N, N),
    ("client.cinder-backup", "volumes"): (N, N, N, N),
    ("client.cinder-backup", "images"): (N, N, N, N),
    ("client.cinder-backup", "backups"): (Y, Y, Y, Y),
    ("client.cinder-backup", "vms"): (N, N, N, N),
}

#: (user, pool) -> (class-read, class-write) on the object ``rbd_children``
RBD_CHILDREN: dict[tuple[str, str], tuple[bool, bool]] = {
    ("client.cinder", "volumes"): (Y, Y),
    ("client.cinder", "images"): (Y, Y),
    ("client.cinder", "backups"): (Y, N),
    ("client.cinder", "vms"): (Y, Y),
    ("client.glance", "volumes"): (Y, N),
    ("client.glance", "images"): (Y, Y),
    ("client.glance", "backups"): (Y, N),
    ("client.glance", "vms"): (Y, N),
    ("client.cinder-backup", "volumes"): (Y, N),
    ("client.cinder-backup", "images"): (Y, N),
    ("client.cinder-backup", "backups"): (Y, Y),
    ("client.cinder-backup", "vms"): (Y, N),
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("caps") / "data"
    provision(data_dir)
    with connect(data_dir) as admin:
        for pool in POOLS:
            with admin.open_ioctx(pool) as io:
                io.write_full("obj", b"existing")
                io.write_full("rbd_children", b"")
    return data_dir


@pytest.fixture(scope="module")
def sessions(cluster: Path) -> Iterator[dict[str, EmbeddedSession]]:
    opened = {user: connect(cluster, user, keyring=keyring_file(cluster, user))
              for user in USERS}
    yield opened
    for session in opened.values():
        session.shutdown()


def _allowed(action: Callable[[], object]) -> bool:
    """False if the caps refused ``action``; True if it got past them (even if it then
    failed for another reason, e.g. ``record_hello`` on an object that exists)."""
    try:
        action()
    except errors.PermissionDenied:
        return False
    except errors.ShoalError:
        return True
    return True


def _tag(user: str, pool: str, what: str) -> str:
    return f"{what}-{user}-{pool}"


def _probe(io: IoCtx, user: str, pool: str) -> tuple[bool, bool, bool, bool]:
    read = _allowed(lambda: io.read("obj"))
    write = _allowed(lambda: io.write_full(_tag(user, pool, "w"), b"x"))
    class_read = _allowed(lambda: io.execute("obj", "hello", "say_hello", b"caps"))
    class_write = _allowed(
        lambda: io.execute(_tag(user, pool, "hello"), "hello", "record_hello", b"caps"))
    return read, write, class_read, class_write


@pytest.mark.parametrize(("user", "pool"), list(MATRIX))
def test_matrix(sessions: dict[str, EmbeddedSession], user: str, pool: str) -> None:
    with sessions[user].open_ioctx(pool) as io:
        assert _probe(io, user, pool) == MATRIX[(user, pool)]


@pytest.mark.parametrize(("user", "pool"), list(RBD_CHILDREN))
def test_rbd_children(sessions: dict[str, EmbeddedSession], user: str, pool: str) -> None:
    with sessions[user].open_ioctx(pool) as io:
        class_read = _allowed(lambda: io.execute("rbd_children", "hello", "say_hello"))
        class_write = _allowed(
            lambda: io.execute("rbd_children", "hello", "record_hello", b"x"))
        assert (class_read, class_write) == RBD_CHILDREN[(user, pool)]
        read = _allowed(lambda: io.read("rbd_children"))
        assert read == MATRIX[(user, pool)][0]  # the object_prefix grant is class-read only


def test_allowed_operations_really_happen(sessions: dict[str, EmbeddedSession]) -> None:
    with sessions["client.cinder"].open_ioctx("volumes") as io:
        assert io.read("obj") == b"existing"
        assert io.execute("obj", "hello", "say_hello", b"you") == b"Hello, you!"
        assert io.read(_tag("client.cinder", "volumes", "hello")) == b"Hello, caps!"


def test_listing_needs_pool_read(sessions: dict[str, EmbeddedSession]) -> None:
    with sessions["client.glance"].open_ioctx("images") as io:
        assert "obj" in io.list_objects().names
    with sessions["client.glance"].open_ioctx("volumes") as io, pytest.raises(
        errors.PermissionDenied
    ):
        io.list_objects()
