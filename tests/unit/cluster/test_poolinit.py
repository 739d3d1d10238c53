"""``rbd pool init`` semantics (librbd Pool::init + ValidatePoolRequest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal import errors
from shoal.cluster import EmbeddedSession, connect, rbd_pool_init
from shoal.objstore import ObjectStore


def _apps(admin: EmbeddedSession, pool: str) -> object:
    return admin.mon_command({"prefix": "osd pool application get", "pool": pool,
                              "format": "json"}).json()


def test_init_enables_rbd_and_validates(admin: EmbeddedSession) -> None:
    admin.create_pool("volumes")
    rbd_pool_init(admin, "volumes")
    assert _apps(admin, "volumes") == {"rbd": {}}
    with admin.open_ioctx("volumes") as io:
        assert io.read("rbd_info") == b"overwrite validated"
        version = io.stat("rbd_info").version
    rbd_pool_init(admin, "volumes")  # idempotent: nothing rewritten
    with admin.open_ioctx("volumes") as io:
        assert io.stat("rbd_info").version == version


def test_init_finishes_a_half_validated_pool(admin: EmbeddedSession) -> None:
    admin.create_pool("volumes")
    with admin.open_ioctx("volumes") as io:
        io.write_full("rbd_info", b"validate")
    rbd_pool_init(admin, "volumes")
    with admin.open_ioctx("volumes") as io:
        assert io.read("rbd_info") == b"overwrite validated"


def test_init_rewrites_foreign_content(admin: EmbeddedSession) -> None:
    admin.create_pool("volumes")
    with admin.open_ioctx("volumes") as io:
        io.write_full("rbd_info", b"x")
    rbd_pool_init(admin, "volumes")
    with admin.open_ioctx("volumes") as io:
        assert io.read("rbd_info") == b"overwrite validated"


def test_init_respects_another_application(admin: EmbeddedSession) -> None:
    admin.create_pool("objects")
    admin.mon_command({"prefix": "osd pool application enable", "pool": "objects",
                       "app": "rgw"}).check()
    with pytest.raises(errors.PermissionDenied, match="already has an enabled application"):
        rbd_pool_init(admin, "objects")
    rbd_pool_init(admin, "objects", force=True)
    assert _apps(admin, "objects") == {"rbd": {}, "rgw": {}}


def test_init_of_a_missing_pool(admin: EmbeddedSession) -> None:
    with pytest.raises(errors.PoolNotFound):
        rbd_pool_init(admin, "nope")


def test_init_needs_mon_write(admin: EmbeddedSession, data_dir: Path,
                              memory_store: ObjectStore) -> None:
    admin.create_pool("volumes")
    key = admin.mon_command({"prefix": "auth get-or-create-key", "entity": "client.c",
                             "caps": ["mon", "allow r", "osd", "allow rwx"]}).check()
    with connect(data_dir, "client.c", key=key.outbuf.decode(), store=memory_store) as s, (
        pytest.raises(errors.AuthenticationFailed, match="access denied")
    ):
        rbd_pool_init(s, "volumes")
