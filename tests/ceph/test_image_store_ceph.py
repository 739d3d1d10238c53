"""The RBD image store on a real Ceph cluster, through librbd, as a glance-like cephx user.

A temporary pool stands for ``images`` and a temporary user gets the guide's glance caps on
it (``allow class-read object_prefix rbd_children, allow rwx pool=<it>``); a second pool
stands for any other pool. The real ``rbd`` tool checks what the store left behind.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shoal.cluster import BackendConfig, Session, open_session
from shoal.rbd import feature_names, parse_features
from shoal.services.image.store import (
    Duplicate,
    InUseByStore,
    RbdStore,
    SizeMismatch,
    StoreAccessDenied,
    convert,
)
from tests._tools import needs_tool
from tests.ceph.conftest import CephCluster, mon_command, temporary_pool

MiB = 1 << 20
IMAGE_OBJECT_PREFIXES = ("rbd_data.", "rbd_header.", "rbd_id.", "rbd_object_map.")


@dataclass
class Env:
    cluster: CephCluster
    rados: Any
    pool: str
    other: str
    session: Session

    def rbd(self, *args: str) -> Any:
        """``rbd ARGS --format json`` as client.admin, parsed."""
        out = self.cluster.run("rbd", *args, "--format", "json").stdout
        return json.loads(out) if out.strip() else None

    def store(self, **kwargs: Any) -> RbdStore:
        return RbdStore(self.session, pool=kwargs.pop("pool", self.pool), chunk_size_mib=1,
                        **kwargs)

    def image_objects(self) -> set[str]:
        ioctx = self.rados.open_ioctx(self.pool)
        try:
            return {o.key for o in ioctx.list_objects()
                    if o.key.startswith(IMAGE_OBJECT_PREFIXES)}
        finally:
            ioctx.close()


@pytest.fixture(scope="module")
def env(ceph_cluster: CephCluster, rados_cluster: Any,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with temporary_pool(rados_cluster, "image-store") as pool, \
            temporary_pool(rados_cluster, "image-store-other") as other:
        entity = f"client.shoal-glance-{uuid.uuid4().hex[:8]}"
        caps = ["mon", "allow r",
                "osd", f"allow class-read object_prefix rbd_children, allow rwx pool={pool}"]
        reply = json.loads(mon_command(rados_cluster, "auth get-or-create", entity=entity,
                                       caps=caps))
        keyring = tmp_path_factory.mktemp("glance") / "glance.keyring"
        keyring.write_text(f"[{entity}]\n\tkey = {reply[0]['key']}\n")
        config = BackendConfig(backend="ceph", ceph_conf=ceph_cluster.conf)
        session = open_session(config, name=entity, keyring=keyring)
        try:
            yield Env(ceph_cluster, rados_cluster, pool, other, session)
        finally:
            session.shutdown()
            mon_command(rados_cluster, "auth rm", entity=entity)


def payload(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


def read_all(store: RbdStore, location: str, offset: int = 0,
             length: int | None = None) -> bytes:
    reader, _ = store.get(location, offset, length)
    with reader:
        return b"".join(reader)


def name() -> str:
    return str(uuid.uuid4())


def test_add_stores_a_protected_snapshot(env: Env) -> None:
    store, image = env.store(), name()
    data = payload(2 * MiB + 99)
    result = store.add(image, pieces(data, 100_000), len(data))
    assert result.location == f"rbd://{env.rados.get_fsid()}/{env.pool}/{image}/snap"
    assert (result.size, result.order) == (len(data), 20)
    assert result.checksum == hashlib.md5(data).hexdigest()
    assert result.multihash == hashlib.sha512(data).hexdigest()
    snaps = env.rbd("snap", "ls", f"{env.pool}/{image}")
    assert [(s["name"], str(s["protected"]).lower()) for s in snaps] == [("snap", "true")]
    info = env.rbd("info", f"{env.pool}/{image}")
    assert info["size"] == len(data)
    assert info["order"] == 20
    configured = parse_features(env.rados.conf_get("rbd_default_features")) or 1
    assert info["features"] == feature_names(configured)  # glance: the conf's, else layering
    assert read_all(store, result.location) == data
    assert read_all(store, result.location, MiB - 5, 10) == data[MiB - 5:MiB + 5]
    assert store.get_size(result.location) == len(data)
    store.delete(result.location)
    assert image not in env.rbd("ls", env.pool)


def test_add_of_unknown_size_is_trimmed(env: Env) -> None:
    store, image = env.store(), name()
    data = payload(3 * MiB + 7, seed=2)
    result = store.add(image, pieces(data, 333_333), None)
    assert env.rbd("info", f"{env.pool}/{image}")["size"] == len(data)
    assert read_all(store, result.location) == data
    store.delete(result.location)


class ClientWentAway(ConnectionError):
    pass


@pytest.mark.parametrize("size", [3 * MiB, None])
def test_client_disconnect_leaves_nothing(env: Env, size: int | None) -> None:
    store, image = env.store(), name()
    before = env.image_objects()

    def broken() -> Iterator[bytes]:
        yield payload(2 * MiB + 3)
        raise ClientWentAway("client disconnected")

    with pytest.raises(ClientWentAway):
        store.add(image, broken(), size)
    assert image not in env.rbd("ls", env.pool)
    assert env.image_objects() == before


def test_size_mismatch_leaves_nothing(env: Env) -> None:
    store = env.store()
    before = env.image_objects()
    with pytest.raises(SizeMismatch):
        store.add(name(), [payload(MiB)], 2 * MiB)
    with pytest.raises(SizeMismatch):
        store.add(name(), [payload(3 * MiB)], 2 * MiB)
    assert env.image_objects() == before


def test_duplicate(env: Env) -> None:
    store, image = env.store(), name()
    first = store.add(image, [b"first"], 5)
    with pytest.raises(Duplicate):
        store.add(image, [b"second"], 6)
    assert read_all(store, first.location) == b"first"
    store.delete(first.location)


def test_thin_provisioning_writes_no_zero_objects(env: Env) -> None:
    store, image = env.store(thin_provisioning=True), name()
    data = payload(MiB) + bytes(2 * MiB) + payload(10)
    result = store.add(image, [data], len(data))
    prefix = env.rbd("info", f"{env.pool}/{image}")["block_name_prefix"]
    assert sum(1 for o in env.image_objects() if o.startswith(prefix + ".")) == 2
    assert result.checksum == hashlib.md5(data).hexdigest()
    assert read_all(store, result.location) == data
    store.delete(result.location)


def test_delete_with_a_clone_is_in_use(env: Env) -> None:
    store, image = env.store(), name()
    result = store.add(image, [payload(MiB)], MiB)
    env.cluster.run("rbd", "clone", f"{env.pool}/{image}@snap", f"{env.other}/child-{image}")
    with pytest.raises(InUseByStore, match="volumes or instance disks") as info:
        store.delete(result.location)
    assert info.value.http_status == 409
    snaps = env.rbd("snap", "ls", f"{env.pool}/{image}")
    assert [str(s["protected"]).lower() for s in snaps] == ["true"]
    env.cluster.run("rbd", "rm", f"{env.other}/child-{image}")
    store.delete(result.location)
    assert image not in env.rbd("ls", env.pool)


def test_delete_with_other_snapshots_moves_to_trash(env: Env) -> None:
    store, image = env.store(), name()
    result = store.add(image, [b"data"], 4)
    env.cluster.run("rbd", "snap", "create", f"{env.pool}/{image}@other")
    store.delete(result.location)
    assert image not in env.rbd("ls", env.pool)
    assert image in [e["name"] for e in env.rbd("trash", "ls", env.pool)]


def test_caps_refuse_other_pools(env: Env) -> None:
    with pytest.raises(StoreAccessDenied, match="not allowed to use pool") as info:
        env.store(pool=env.other).add(name(), [b"x"], 1)
    assert info.value.http_status == 503
    assert env.rbd("ls", env.other) == []
    image = name()
    env.cluster.run("rbd", "create", "--size", "1M", f"{env.other}/{image}")
    env.cluster.run("rbd", "snap", "create", f"{env.other}/{image}@snap")
    location = f"rbd://{env.rados.get_fsid()}/{env.other}/{image}/snap"
    with pytest.raises(StoreAccessDenied):
        env.store().get(location)
    with pytest.raises(StoreAccessDenied):
        env.store().delete(location)
    assert image in env.rbd("ls", env.other)


@needs_tool("qemu-img", fix="Debian's qemu-utils: bash scripts/system-packages")
def test_uploaded_qcow2_is_stored_raw(env: Env, tmp_path: Path) -> None:
    raw = payload(MiB + 512, seed=4) + bytes(MiB)
    (tmp_path / "disk.raw").write_bytes(raw)
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2",
                    str(tmp_path / "disk.raw"), str(tmp_path / "disk.qcow2")],
                   check=True, capture_output=True, timeout=60)
    qcow2 = (tmp_path / "disk.qcow2").read_bytes()
    store, image = env.store(thin_provisioning=True), name()
    with convert.prepare_upload(pieces(qcow2, 65536), disk_format="qcow2",
                                spool_dir=tmp_path) as prepared:
        result = store.add(image, prepared.chunks(MiB), prepared.size)
    assert result.size == len(raw)
    exported = tmp_path / "exported.raw"
    env.cluster.run("rbd", "export", f"{env.pool}/{image}@snap", str(exported))
    assert exported.read_bytes() == raw
    store.delete(result.location)
