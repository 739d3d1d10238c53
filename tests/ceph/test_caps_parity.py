"""The caps matrix (3 users x 4 pools x read/write/class-read/class-write) on both backends.

The same provisioning runs through the library on each backend: the guide's pools (``rbd pool
init`` each) and its three users with the guide's exact caps, each user's keyring written
from ``auth get-or-create``'s reply; then each user connects with its own keyring (as the
services do) and probes every pool. The answers must be the written-out ones of
``tests/e2e/test_caps_enforcement.py`` on both backends, and equal to each other.

On the shared Ceph cluster the pools and users get a unique suffix (the caps strings name
the renamed pools); pg_num is 8 to keep the OSD small.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shoal import errors
from shoal.cluster import BackendConfig, Session, open_session
from tests.ceph.conftest import CephCluster
from tests.e2e._guide import CAPS, POOLS, USERS
from tests.e2e.test_caps_enforcement import MATRIX, RBD_CHILDREN, _allowed, _probe

BACKENDS = ("embedded", "ceph")


@dataclass
class Provisioned:
    """A backend with the guide's pools and users, and a session per user."""

    config: BackendConfig
    names: dict[str, str]
    sessions: dict[str, Session] = field(default_factory=dict)
    answers: dict[str, dict[tuple[str, str], tuple[bool, ...]]] = field(default_factory=dict)

    def name(self, canonical: str) -> str:
        return self.names.get(canonical, canonical)


def _provision(config: BackendConfig, names: dict[str, str], keyrings: Path) -> None:
    def rename(text: str) -> str:
        for pool in POOLS:
            text = text.replace(f"pool={pool}", f"pool={names.get(pool, pool)}")
        return text

    with open_session(config) as admin:
        for pool in POOLS:
            admin.mon_command({"prefix": "osd pool create", "pool": names.get(pool, pool),
                               "pg_num": 8}).check()
            admin.rbd_pool_init(names.get(pool, pool))
            with admin.open_ioctx(names.get(pool, pool)) as io:
                io.write_full("obj", b"existing")
                io.write_full("rbd_children", b"")
        for user in USERS:
            reply = admin.mon_command({
                "prefix": "auth get-or-create", "entity": names.get(user, user),
                "caps": ["mon", "allow r", "osd", rename(CAPS[user])],
            }).check()
            (keyrings / f"{user}.keyring").write_bytes(reply.outbuf)


def _cleanup(config: BackendConfig, names: dict[str, str]) -> None:
    with open_session(config) as admin:
        for pool in POOLS:
            admin.mon_command({"prefix": "osd pool rm", "pool": names[pool],
                               "pool2": names[pool], "yes_i_really_really_mean_it": True})
        for user in USERS:
            admin.mon_command({"prefix": "auth rm", "entity": names[user]})


@pytest.fixture(scope="module", params=BACKENDS)
def provisioned(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provisioned]:
    keyrings = tmp_path_factory.mktemp(f"caps-{request.param}")
    if request.param == "ceph":
        cluster: CephCluster = request.getfixturevalue("ceph_cluster")
        config = BackendConfig(backend="ceph", ceph_conf=cluster.conf,
                               keyring=cluster.keyring)
        tag = uuid.uuid4().hex[:6]
        names = {name: f"{name}-{tag}" for name in (*POOLS, *USERS)}
    else:
        config = BackendConfig(backend="embedded", data_dir=keyrings / "data")
        names = {}
    _provision(config, names, keyrings)
    result = Provisioned(config, names)
    try:
        for user in USERS:
            result.sessions[user] = open_session(
                config, name=result.name(user), keyring=keyrings / f"{user}.keyring")
        yield result
    finally:
        for session in result.sessions.values():
            session.shutdown()
        if names:
            _cleanup(config, names)


def _matrix(p: Provisioned) -> dict[tuple[str, str], tuple[bool, ...]]:
    if "matrix" not in p.answers:
        answers: dict[tuple[str, str], tuple[bool, ...]] = {}
        for user, pool in MATRIX:
            with p.sessions[user].open_ioctx(p.name(pool)) as io:
                answers[(user, pool)] = _probe(io, p.name(user), p.name(pool))
        p.answers["matrix"] = answers
    return p.answers["matrix"]


def _rbd_children(p: Provisioned) -> dict[tuple[str, str], tuple[bool, ...]]:
    if "children" not in p.answers:
        answers: dict[tuple[str, str], tuple[bool, ...]] = {}
        for user, pool in RBD_CHILDREN:
            with p.sessions[user].open_ioctx(p.name(pool)) as io:
                answers[(user, pool)] = (
                    _allowed(lambda io=io: io.execute("rbd_children", "hello", "say_hello")),
                    _allowed(lambda io=io: io.execute(
                        "rbd_children", "hello", "record_hello", b"x")),
                    _allowed(lambda io=io: io.read("rbd_children")),
                )
        p.answers["children"] = answers
    return p.answers["children"]


def test_matrix(provisioned: Provisioned) -> None:
    assert _matrix(provisioned) == MATRIX


def test_rbd_children_matrix(provisioned: Provisioned) -> None:
    expected = {key: (*value, MATRIX[key][0]) for key, value in RBD_CHILDREN.items()}
    assert _rbd_children(provisioned) == expected


def test_allowed_operations_really_happen(provisioned: Provisioned) -> None:
    with provisioned.sessions["client.cinder"].open_ioctx(provisioned.name("volumes")) as io:
        assert io.read("obj") == b"existing"
        assert io.execute("obj", "hello", "say_hello", b"you") == b"Hello, you!"


def test_refusals_are_eperm(provisioned: Provisioned) -> None:
    """A caps refusal is EPERM (``PermissionDenied``) on both backends."""
    with provisioned.sessions["client.glance"].open_ioctx(provisioned.name("volumes")) as io:
        with pytest.raises(errors.PermissionDenied) as info:
            io.read("obj")
        assert info.value.errno == 1
        with pytest.raises(errors.PermissionDenied):
            io.write_full("obj", b"x")


def test_listing_needs_pool_read(provisioned: Provisioned, request: pytest.FixtureRequest,
                                 tmp_path: Path) -> None:
    with provisioned.sessions["client.glance"].open_ioctx(provisioned.name("images")) as io:
        assert "obj" in io.list_objects().names
    if provisioned.config.backend == "ceph":
        # Ceph's answer, from the real tool: `rados ls` without pool read caps is EPERM.
        cluster: CephCluster = request.getfixturevalue("ceph_cluster")
        keyring = tmp_path / "glance.keyring"
        with open_session(provisioned.config) as admin:
            reply = admin.mon_command(
                {"prefix": "auth get", "entity": provisioned.name("client.glance")})
        keyring.write_bytes(reply.check().outbuf)
        real = subprocess.run(
            ["rados", "-c", str(cluster.conf), "--name", provisioned.name("client.glance"),
             "--keyring", str(keyring), "-p", provisioned.name("volumes"), "ls"],
            capture_output=True, text=True, timeout=60, check=False)
        assert real.returncode == 1
        assert "Operation not permitted" in real.stderr
    with provisioned.sessions["client.glance"].open_ioctx(provisioned.name("volumes")) as io:
        try:
            names = io.list_objects().names
        except errors.PermissionDenied:
            return
    pytest.fail(f"listing without read caps returned {names}")


def test_mon_caps_refusal(provisioned: Provisioned) -> None:
    """mon 'allow r': reads work, changes are refused with EACCES "access denied"."""
    session = provisioned.sessions["client.cinder"]
    assert provisioned.name("volumes") in session.list_pools()
    refused = session.mon_command({"prefix": "osd pool create", "pool": "x", "pg_num": 8})
    assert (refused.ret, refused.outs) == (-13, "access denied")
    refused = session.mon_command({"prefix": "auth get-or-create", "entity": "client.x"})
    assert (refused.ret, refused.outs) == (-13, "access denied")
