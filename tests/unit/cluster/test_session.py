"""Sessions: connecting (cephx), mon caps on commands, and the pool conveniences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shoal import errors
from shoal.cluster import EmbeddedSession, MonResult, connect, keys
from shoal.objstore import ObjectStore


def _user(admin: EmbeddedSession, name: str, *caps: str) -> str:
    """Create ``name`` with ``caps`` (service, text, ...) and return its key."""
    result = admin.mon_command(
        {"prefix": "auth get-or-create-key", "entity": name, "caps": list(caps)}
    ).check()
    return result.outbuf.decode()


def test_admin_connects_with_the_default_keyring(admin: EmbeddedSession) -> None:
    assert admin.entity == "client.admin"
    assert admin.get_fsid() == admin.layout.fsid()


def test_connect_with_an_explicit_key_or_keyring(
    admin: EmbeddedSession, data_dir: Path, memory_store: ObjectStore, tmp_path: Path
) -> None:
    key = _user(admin, "client.cinder", "mon", "allow r")
    with connect(data_dir, "client.cinder", key=key, store=memory_store) as s:
        assert s.entity == "client.cinder"
    keyring = tmp_path / "k"
    keyring.write_text(keys.format_keyring([keys.KeyringEntry("client.cinder", key)]))
    with connect(data_dir, "client.cinder", keyring=keyring, store=memory_store) as s:
        assert s.get_fsid() == admin.get_fsid()


def test_default_keyring_is_ceph_dot_name_dot_keyring(
    admin: EmbeddedSession, data_dir: Path, memory_store: ObjectStore
) -> None:
    key = _user(admin, "client.glance", "mon", "allow r")
    entry = keys.KeyringEntry("client.glance", key)
    (data_dir / "ceph.client.glance.keyring").write_text(keys.format_keyring([entry]))
    with connect(data_dir, "client.glance", store=memory_store) as s:
        assert s.entity == "client.glance"


def test_wrong_key_is_refused_at_connect(
    admin: EmbeddedSession, data_dir: Path, memory_store: ObjectStore
) -> None:
    _user(admin, "client.cinder", "mon", "allow r")
    with pytest.raises(errors.AuthenticationFailed) as info:
        connect(data_dir, "client.cinder", key=keys.generate_secret(), store=memory_store)
    assert info.value.errno == 13


def test_unknown_entity_is_refused_at_connect(
    admin: EmbeddedSession, data_dir: Path, memory_store: ObjectStore
) -> None:
    with pytest.raises(errors.AuthenticationFailed):
        connect(data_dir, "client.nobody", key=keys.generate_secret(), store=memory_store)


def test_missing_keyring(admin: EmbeddedSession, data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(errors.NotFound, match=r"unable to find a keyring for client\.x"):
        connect(data_dir, "client.x")
    other = tmp_path / "other.keyring"
    other.write_text(keys.format_keyring([keys.KeyringEntry("client.y", keys.generate_secret())]))
    # As librados: a keyring without the entity's key is EACCES, not ENOENT.
    with pytest.raises(errors.AuthenticationFailed, match=r"has no key for client\.x"):
        connect(data_dir, "client.x", keyring=other)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "cinder"}, errors.InvalidArgument, "bad entity name"),
        ({"name": "client.x", "key": "not base64!"}, errors.InvalidArgument, "bad cephx secret"),
    ],
)
def test_bad_identity(
    admin: EmbeddedSession, data_dir: Path, kwargs: dict[str, str],
    error: type[Exception], message: str,
) -> None:
    with pytest.raises(error, match=message):
        connect(data_dir, **kwargs)


def test_garbled_keyring(admin: EmbeddedSession, data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.keyring"
    bad.write_text("[client.x\n")
    with pytest.raises(errors.Unavailable, match=r"bad\.keyring") as info:  # EIO, as librados
        connect(data_dir, "client.x", keyring=bad)
    assert info.value.errno == 5


def test_mon_caps_gate_every_command(
    admin: EmbeddedSession, data_dir: Path, memory_store: ObjectStore
) -> None:
    key = _user(admin, "client.cinder", "mon", "allow r")
    with connect(data_dir, "client.cinder", key=key, store=memory_store) as cinder:
        assert cinder.mon_command({"prefix": "osd pool ls"}).ret == 0
        assert cinder.mon_command({"prefix": "df"}).ret == 0
        denied = cinder.mon_command({"prefix": "osd pool create", "pool": "x"})
        assert denied == MonResult(-13, b"", "access denied")
        assert cinder.mon_command(
            {"prefix": "auth get-or-create", "entity": "client.evil"}
        ).ret == -13
        assert cinder.mon_command({"prefix": "auth get", "entity": "client.admin"}).ret == -13


def test_caps_changes_apply_to_open_sessions(
    admin: EmbeddedSession, data_dir: Path, memory_store: ObjectStore
) -> None:
    key = _user(admin, "client.ops", "mon", "allow r")
    with connect(data_dir, "client.ops", key=key, store=memory_store) as ops:
        assert ops.mon_command({"prefix": "osd pool create", "pool": "p"}).ret == -13
        admin.mon_command({"prefix": "auth caps", "entity": "client.ops",
                           "caps": ["mon", "allow rw"]}).check()
        assert ops.mon_command({"prefix": "osd pool create", "pool": "p"}).ret == 0
        admin.mon_command({"prefix": "auth rm", "entity": "client.ops"}).check()
        assert ops.mon_command({"prefix": "osd pool ls"}).ret == -13


def test_commands_may_be_json_text(admin: EmbeddedSession) -> None:
    result = admin.mon_command(json.dumps({"prefix": "fsid", "format": "json"}))
    assert json.loads(result.outbuf) == {"fsid": admin.get_fsid()}


@pytest.mark.parametrize(
    ("cmd", "outs"),
    [
        ("{nope", "command is not valid JSON"),
        ("[1]", "command must be a JSON object"),
        ({"prefix": 3}, "command not known"),
        ({}, "command not known"),
        ({"prefix": "osd pool explode"}, "command not known"),
        ({"prefix": "fsid", "format": "xml"}, "unsupported format 'xml'"),
        ({"prefix": "osd pool create"}, "missing required parameter pool"),
    ],
)
def test_malformed_commands_are_einval(
    admin: EmbeddedSession, cmd: dict[str, object] | str, outs: str
) -> None:
    result = admin.mon_command(cmd)
    assert result.ret == -22
    assert outs in result.outs


def test_pool_conveniences_follow_librados(admin: EmbeddedSession) -> None:
    admin.create_pool("volumes")
    admin.create_pool("images", pg_num=8)
    with pytest.raises(errors.PoolExists):
        admin.create_pool("volumes")
    assert admin.list_pools() == ["volumes", "images"]
    assert admin.pool_exists("images") and not admin.pool_exists("vms")
    admin.delete_pool("images")
    with pytest.raises(errors.PoolNotFound):
        admin.delete_pool("images")
    with pytest.raises(errors.InvalidArgument, match="pg_num: -1 is less than 0"):
        admin.create_pool("bad", pg_num=-1)


def test_mon_result_helpers() -> None:
    assert MonResult(0, b"[1]", "").json() == [1]
    with pytest.raises(errors.PermissionDenied, match="nope"):
        MonResult(-1, b"", "nope").check()
    with pytest.raises(errors.NotFound, match="No such file"):
        MonResult(-2, b"", "").check()
    with pytest.raises(errors.InvalidArgument, match="not JSON"):
        MonResult(0, b"{", "").json()


def test_shutdown_is_idempotent_and_final(data_dir: Path, memory_store: ObjectStore) -> None:
    session = connect(data_dir, store=memory_store)
    session.shutdown()
    session.shutdown()
    with pytest.raises(errors.Unavailable):
        session.mon_command({"prefix": "fsid"})
    with pytest.raises(errors.Unavailable):
        session.open_ioctx("x")
    with pytest.raises(errors.Unavailable):
        session.get_fsid()


def test_open_ioctx_on_a_missing_pool(admin: EmbeddedSession) -> None:
    with pytest.raises(errors.PoolNotFound):
        admin.open_ioctx("nope")


def test_conf_get_reads_the_entity_section_then_client_then_global(
    admin: EmbeddedSession, data_dir: Path, memory_store: ObjectStore
) -> None:
    """As librados does: ``[client.NAME]``, ``[client]``, ``[global]``."""
    conf = admin.layout.conf_path
    conf.write_text(conf.read_text() + "[client]\nrbd default features = 3\nrbd_cache = 0\n"
                    "[client.glance]\nrbd_default_features = 1\n")
    key = _user(admin, "client.glance", "mon", "allow r")
    with connect(data_dir, "client.glance", key=key, store=memory_store) as glance:
        assert glance.conf_get("rbd_default_features") == "1"
        assert glance.conf_get("rbd_cache") == "0"
        assert glance.conf_get("fsid") == admin.get_fsid()
        assert glance.conf_get("rbd-cache") is None  # Ceph reads no dashes in ceph.conf
    assert admin.conf_get("rbd_default_features") == "3"
