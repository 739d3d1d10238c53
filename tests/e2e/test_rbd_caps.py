"""RBD operations under the guide's cephx users: what each may do to which pool.

The cluster is provisioned with the guide's own commands (real ``shoal`` processes);
the services then connect as ``client.glance`` / ``client.cinder`` with their
keyrings and use the RBD engine through caps-checked handles, as on Ceph.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import shoal.rbd as rbd
from shoal.cluster import EmbeddedSession, connect
from tests.e2e._guide import keyring_file, provision

MiB = 1 << 20


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("rbdcaps") / "data"
    for result in provision(data_dir):
        assert result.returncode == 0, result.stderr
    return data_dir


def session(data_dir: Path, entity: str) -> EmbeddedSession:
    return connect(data_dir, name=entity, keyring=keyring_file(data_dir, entity))


@pytest.fixture(scope="module")
def glance(cluster: Path) -> Iterator[EmbeddedSession]:
    s = session(cluster, "client.glance")
    yield s
    s.shutdown()


@pytest.fixture(scope="module")
def cinder(cluster: Path) -> Iterator[EmbeddedSession]:
    s = session(cluster, "client.cinder")
    yield s
    s.shutdown()


@pytest.fixture(scope="module")
def image(glance: EmbeddedSession) -> str:
    """An image in ``images`` stored as glance does: data, snapshot ``snap``, protected."""
    io = glance.open_ioctx("images")
    rbd.RBD().create(io, "img-1", 8 * MiB, order=23, features=rbd.FEATURE_LAYERING)
    with rbd.Image(io, "img-1") as img:
        img.write(b"G" * MiB, 0)
        img.create_snap("snap")
        img.protect_snap("snap")
    return "img-1"


def test_glance_cannot_touch_volumes(glance: EmbeddedSession) -> None:
    io = glance.open_ioctx("volumes")
    with pytest.raises(rbd.PermissionError):
        rbd.RBD().create(io, "nope", MiB)
    with pytest.raises(rbd.PermissionError):
        rbd.RBD().list(io)


def test_cinder_reads_images_but_cannot_write_them(cinder: EmbeddedSession, image: str) -> None:
    io = cinder.open_ioctx("images")
    assert image in rbd.RBD().list(io)
    with rbd.Image(io, image, snapshot="snap", read_only=True) as img:
        assert img.read(0, 4) == b"GGGG"
    with rbd.Image(io, image) as img, pytest.raises(rbd.PermissionError):
        img.write(b"x", 0)
    with pytest.raises(rbd.PermissionError):
        rbd.RBD().create(io, "cinder-was-here", MiB)


def test_cinder_clones_images_into_volumes(cinder: EmbeddedSession, image: str) -> None:
    images, volumes = cinder.open_ioctx("images"), cinder.open_ioctx("volumes")
    rbd.RBD().clone(images, image, "snap", volumes, "volume-1")
    with rbd.Image(volumes, "volume-1") as vol:
        assert vol.parent_info() == ("images", image, "snap")
        assert vol.read(0, 4) == b"GGGG"
        vol.write(b"V", 0)
        assert vol.read(0, 2) == b"VG"
    with rbd.Image(images, image, snapshot="snap", read_only=True) as snap:
        assert ("volumes", "volume-1") in snap.list_children()


def test_glance_cannot_unprotect_while_cinder_has_clones(
    glance: EmbeddedSession, cinder: EmbeddedSession, image: str
) -> None:
    """The children scan reads rbd_children in every pool (the guide's class-read cap)."""
    rbd.RBD().clone(cinder.open_ioctx("images"), image, "snap", cinder.open_ioctx("vms"), "vm_disk")
    with rbd.Image(glance.open_ioctx("images"), image) as img, pytest.raises(rbd.ImageBusy):
        img.unprotect_snap("snap")
