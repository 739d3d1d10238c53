"""The cluster layer over real librados (``CephSession``), and its errors next to the embedded
backend's: each parity test runs on both and expects the same class, errno and reply."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shoal import errors
from shoal.cluster import BackendConfig, CephSession, Session, open_session, rbd_pool_init
from shoal.cluster.ceph import connect_ceph
from tests.ceph.conftest import CephCluster, mon_command
from tests.shoal_cli import shoal_command

WRONG_KEY = "AQBvaARrAAAAABAAq0GRxKVwU9Ev4I1Dqo5pVg=="
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _unique(hint: str) -> str:
    return f"shoal-{hint}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def ceph_config(ceph_cluster: CephCluster) -> BackendConfig:
    return BackendConfig(backend="ceph", ceph_conf=ceph_cluster.conf, keyring=ceph_cluster.keyring)


@pytest.fixture(params=["embedded", "ceph"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> BackendConfig:
    if request.param == "ceph":
        cfg: BackendConfig = request.getfixturevalue("ceph_config")
        return cfg
    return BackendConfig(backend="embedded", data_dir=tmp_path / "data")


@pytest.fixture
def admin(config: BackendConfig) -> Iterator[Session]:
    with open_session(config) as session:
        yield session


@pytest.fixture
def pool(admin: Session) -> Iterator[str]:
    """A new pool (not initialised for RBD), deleted afterwards."""
    name = _unique("cl")
    admin.create_pool(name, 8)
    yield name
    admin.mon_command({"prefix": "osd pool rm", "pool": name, "pool2": name,
                       "yes_i_really_really_mean_it": True})


# --- the Ceph session itself -----------------------------------------------------------


def test_connect_fsid_and_entity(ceph_config: BackendConfig, ceph_cluster: CephCluster) -> None:
    with open_session(ceph_config) as session:
        assert isinstance(session, CephSession)
        assert session.entity == "client.admin"
        fsid = session.get_fsid()
        assert UUID_RE.match(fsid)
        assert fsid == ceph_cluster.run("ceph", "fsid").stdout.strip()
        assert session.mon_command({"prefix": "fsid"}).outbuf.decode().strip() == fsid


def test_mon_command_passes_dicts_and_json_text_through(
        ceph_config: BackendConfig, rados_cluster: Any) -> None:
    with open_session(ceph_config) as session:
        as_dict = session.mon_command({"prefix": "osd pool ls", "format": "json"})
        as_text = session.mon_command('{"prefix": "osd pool ls", "format": "json"}')
        assert as_dict.ret == as_text.ret == 0
        assert json.loads(as_dict.outbuf) == json.loads(as_text.outbuf)
        assert json.loads(as_dict.outbuf) == json.loads(mon_command(rados_cluster, "osd pool ls"))
        with pytest.raises(errors.InvalidArgument):
            session.mon_command({"prefix": "osd pool ls", "bad": object()})


def test_shutdown_is_idempotent_and_final(config: BackendConfig) -> None:
    session = open_session(config)
    session.shutdown()
    session.shutdown()
    with pytest.raises(errors.Unavailable):
        session.get_fsid()
    with pytest.raises(errors.Unavailable):
        session.mon_command({"prefix": "fsid"})


def test_connect_times_out_when_no_monitor_answers(tmp_path: Path, ceph_cluster: CephCluster,
                                                   ceph_config: BackendConfig) -> None:
    dead = tmp_path / "ceph.conf"
    dead.write_text("[global]\nmon host = 127.0.0.1:1\n")
    keyring = ceph_cluster.conf.parent / "ceph.client.admin.keyring"
    started = time.monotonic()
    with pytest.raises(errors.TimedOut) as info:
        connect_ceph(dead, keyring=ceph_config.keyring or keyring, timeout_s=2)
    assert info.value.errno == 110
    assert time.monotonic() - started < 15


def test_connect_refuses_a_missing_conf(tmp_path: Path) -> None:
    with pytest.raises(errors.Unavailable, match="no such file"):
        open_session(BackendConfig(backend="ceph", ceph_conf=tmp_path / "nope.conf"))


def test_open_ioctx_is_a_rados_ioctx(ceph_config: BackendConfig, rados_cluster: Any) -> None:
    from shoal.objstore.rados import RadosIoCtx

    name = _unique("io")
    with open_session(ceph_config) as session:
        session.create_pool(name, 8)
        try:
            with session.open_ioctx(name) as io:
                assert isinstance(io, RadosIoCtx)
                assert io.raw.get_pool_name() == name == io.pool_name
                io.write_full("greeting", b"hello")
            with rados_cluster.open_ioctx(name) as raw:
                assert raw.read("greeting") == b"hello"
        finally:
            session.delete_pool(name)


def test_rbd_pool_init_uses_librbd(ceph_config: BackendConfig, rados_cluster: Any) -> None:
    name = _unique("init")
    with open_session(ceph_config) as session:
        session.create_pool(name, 8)
        try:
            rbd_pool_init(session, name)
            rbd_pool_init(session, name)  # idempotent
            with rados_cluster.open_ioctx(name) as ioctx:
                assert ioctx.read("rbd_info") == b"overwrite validated"
            apps = json.loads(mon_command(rados_cluster, "osd pool application get", pool=name))
            assert apps == {"rbd": {}}
        finally:
            session.delete_pool(name)


# --- the same errors on both backends -----------------------------------------------------


def test_pool_conveniences(admin: Session) -> None:
    name = _unique("conv")
    admin.create_pool(name, 8)
    try:
        assert admin.pool_exists(name)
        assert name in admin.list_pools()
        with pytest.raises(errors.PoolExists):
            admin.create_pool(name, 8)
    finally:
        admin.delete_pool(name)
    assert not admin.pool_exists(name)
    with pytest.raises(errors.PoolNotFound) as info:
        admin.delete_pool(name)
    assert info.value.errno == 2


def test_open_ioctx_on_a_missing_pool(admin: Session) -> None:
    with pytest.raises(errors.PoolNotFound) as info:
        admin.open_ioctx(_unique("missing"))
    assert info.value.errno == 2


def test_rbd_pool_init_errors(admin: Session, pool: str) -> None:
    with pytest.raises(errors.PoolNotFound):
        rbd_pool_init(admin, _unique("missing"))
    admin.mon_command({"prefix": "osd pool application enable", "pool": pool,
                       "app": "cephfs"}).check()
    with pytest.raises(errors.PermissionDenied, match="already has an enabled application"):
        rbd_pool_init(admin, pool)  # what `rbd pool init` reports as "different application"
    rbd_pool_init(admin, pool, force=True)
    apps = admin.mon_command({"prefix": "osd pool application get", "pool": pool,
                              "format": "json"}).json()
    assert apps == {"cephfs": {}, "rbd": {}}


def test_delete_without_the_confirmation(admin: Session, pool: str) -> None:
    for extra in ({}, {"pool2": pool}, {"pool2": "other", "yes_i_really_really_mean_it": True}):
        reply = admin.mon_command({"prefix": "osd pool delete", "pool": pool, **extra})
        assert reply.ret == -1, extra
        with pytest.raises(errors.PermissionDenied):
            reply.check()
    assert admin.pool_exists(pool)


def test_auth_errors(admin: Session) -> None:
    entity = f"client.{_unique('auth')}"
    missing = admin.mon_command({"prefix": "auth get", "entity": entity})
    assert missing == (-2, b"", f"failed to find {entity} in keyring")
    bad = admin.mon_command({"prefix": "auth get-or-create", "entity": entity,
                             "caps": ["osd", "allow rwx pool=a pool=b"]})
    assert bad == (-22, b"", "osd capability parse failed, stopped at 'pool=b' of "
                             "'allow rwx pool=a pool=b'")
    odd = admin.mon_command({"prefix": "auth get-or-create", "entity": entity,
                             "caps": ["osd"]})
    assert odd.ret == -22
    unknown = admin.mon_command({"prefix": "no such command"})
    assert unknown == (-22, b"", "command not known")


def _user(admin: Session, tmp_path: Path, caps: list[str]) -> tuple[str, Path]:
    entity = f"client.{_unique('user')}"
    reply = admin.mon_command({"prefix": "auth get-or-create", "entity": entity,
                               "caps": caps}).check()
    keyring = tmp_path / f"{entity}.keyring"
    keyring.write_bytes(reply.outbuf)
    return entity, keyring


def test_connect_errors(config: BackendConfig, admin: Session, tmp_path: Path) -> None:
    entity, keyring = _user(admin, tmp_path, ["mon", "allow r"])
    try:
        wrong = tmp_path / "wrong.keyring"
        wrong.write_text(f"[{entity}]\n\tkey = {WRONG_KEY}\n")
        other = tmp_path / "other.keyring"
        other.write_text(f"[client.someone-else]\n\tkey = {WRONG_KEY}\n")
        garbage = tmp_path / "garbage.keyring"
        garbage.write_text("this is not a keyring\n")
        cases: list[tuple[str, Path, type[errors.ShoalError], int]] = [
            (entity, wrong, errors.AuthenticationFailed, 13),
            ("client.nobody-at-all", wrong, errors.AuthenticationFailed, 13),
            (entity, other, errors.AuthenticationFailed, 13),
            (entity, tmp_path / "no-such.keyring", errors.NotFound, 2),
            (entity, garbage, errors.Unavailable, 5),
        ]
        for name, path, error, code in cases:
            with pytest.raises(error) as info:
                open_session(config, name=name, keyring=path).shutdown()
            assert info.value.errno == code, (name, path)
        with open_session(config, name=entity, keyring=keyring) as session:
            assert session.entity == entity
    finally:
        admin.mon_command({"prefix": "auth rm", "entity": entity})


def test_mon_caps_refusals(config: BackendConfig, admin: Session, tmp_path: Path) -> None:
    entity, keyring = _user(admin, tmp_path, ["mon", "allow r"])
    try:
        with open_session(config, name=entity, keyring=keyring) as session:
            assert session.mon_command({"prefix": "osd pool ls"}).ret == 0
            for cmd in ({"prefix": "osd pool create", "pool": "x"},
                        {"prefix": "auth ls"},
                        {"prefix": "auth get-or-create", "entity": "client.x"},
                        {"prefix": "osd pool application enable", "pool": "x", "app": "rbd"}):
                reply = session.mon_command(cmd)
                assert (reply.ret, reply.outs) == (-13, "access denied"), cmd
            with pytest.raises(errors.AuthenticationFailed):  # EACCES, as the reply says
                session.create_pool("x")
    finally:
        admin.mon_command({"prefix": "auth rm", "entity": entity})


# --- the CLI ------------------------------------------------------------------------------


def _shoal(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*shoal_command(), *args], capture_output=True, text=True, timeout=60,
                          check=False, env={**os.environ, **(env or {})},
                          stdin=subprocess.DEVNULL)


def test_cli_backend_from_the_environment(ceph_cluster: CephCluster) -> None:
    by_option = _shoal("--backend", "ceph", *ceph_cluster.cli_args(), "ceph", "fsid")
    by_env = _shoal(*ceph_cluster.cli_args(), "ceph", "fsid", env={"SHOAL_BACKEND": "ceph"})
    after = _shoal("ceph", "fsid", "--backend", "ceph", *ceph_cluster.cli_args())
    real = ceph_cluster.run("ceph", "fsid")
    assert by_option.stdout == by_env.stdout == after.stdout == real.stdout
    assert by_option.returncode == by_env.returncode == after.returncode == 0


def test_cli_json_output_matches_the_real_tool(ceph_cluster: CephCluster) -> None:
    args = ["osd", "pool", "ls", "-f", "json"]
    ours = _shoal("--backend", "ceph", *ceph_cluster.cli_args(), "ceph", *args)
    real = ceph_cluster.run("ceph", *args)
    assert (ours.returncode, ours.stdout) == (0, real.stdout)


@pytest.mark.parametrize("words", [
    "osd tree", "health detail", "osd pool autoscale-status", "mon dump", "osd dump -f json",
    "osd pool get device_health_metrics all", "osd pool frobnicate", "osd pool set",
])
def test_cli_commands_beyond_shoals_table(ceph_cluster: CephCluster, words: str) -> None:
    """Words shoal's table does not know go through the monitors' command descriptions:
    the same output, diagnostics and status as the real ``ceph``."""
    ours = _shoal("--backend", "ceph", *ceph_cluster.cli_args(), "ceph", *words.split())
    real = subprocess.run(["ceph", *ceph_cluster.cli_args(), *words.split()],
                          capture_output=True, text=True, timeout=60, check=False)
    assert (ours.returncode, ours.stdout, ours.stderr) == (
        real.returncode, real.stdout, real.stderr)


def test_cli_wrong_key_exits_13_like_ceph(ceph_cluster: CephCluster, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.keyring"
    wrong.write_text(f"[client.admin]\n\tkey = {WRONG_KEY}\n")
    args = ["-c", str(ceph_cluster.conf), "--keyring", str(wrong), "fsid"]
    ours = _shoal("--backend", "ceph", "ceph", *args)
    real = subprocess.run(["ceph", *args], capture_output=True, text=True, timeout=60,
                          check=False)
    assert ours.returncode == real.returncode == 13
    assert ours.stderr.splitlines()[-1] == real.stderr.splitlines()[-1]


def test_cli_rejects_an_unknown_backend() -> None:
    result = _shoal("--backend", "nope", "ceph", "fsid")
    assert result.returncode == 2
    assert "unknown backend 'nope'" in result.stderr
    inner = _shoal("ceph", "fsid", "--backend", "nope")
    assert inner.returncode == 22
    assert "unknown backend 'nope'" in inner.stderr


def test_cli_rbd_with_the_ceph_backend(ceph_cluster: CephCluster) -> None:
    # `shoal rbd` opens its sessions in cli/rbd.py: until that uses
    # GlobalOptions.backend_config(), it must refuse the Ceph backend rather than silently
    # use a data directory next to the ceph.conf; afterwards it answers as the real `rbd`.
    pool = _unique("missing")
    result = _shoal("--backend", "ceph", *ceph_cluster.cli_args(), "rbd", "pool", "init", pool)
    if "does not support --backend ceph" in result.stderr:
        assert result.returncode == 22
    else:
        real = subprocess.run(["rbd", *ceph_cluster.cli_args(), "pool", "init", pool],
                              capture_output=True, text=True, timeout=60, check=False)
        assert (result.returncode, result.stderr) == (real.returncode, real.stderr)
    assert not (ceph_cluster.conf.parent / "mon" / "mon.db").exists()
