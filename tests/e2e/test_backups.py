"""Backups through the real ``openstack`` client against ``shoal up`` (issue 13): a full
backup, writes, an incremental one, restores into a new volume and into an existing one
(each restore holding the volume's bytes as of its backup), volumes created from a backup
(3.47, ``openstack volume create --backup`` and ``cinder create --backup-id``),
``--force`` on an in-use volume, the delete order, and ``os-services`` listing
cinder-backup and the extensions ``backups``."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest

import shoal.rbd as rbd
from shoal.cluster import connect
from tests.e2e._cli import ok as _ok
from tests.e2e._cli import out_json as _json
from tests.shoal_up import ShoalUp, openrc_env, openstack, run_client

MiB = 1 << 20
WAIT_S = 60
LENGTH = 6 * MiB  # the bytes compared (the volumes are 1 GiB, zeros past the writes)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShoalUp]:
    with ShoalUp.start(tmp_path_factory.mktemp("backup") / "data") as running:
        yield running


def _wait(up: ShoalUp, kind: tuple[str, ...], name: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while True:
        shown = _json(openstack(up, *kind, "show", "-f", "json", name))
        if shown["status"] == status:
            return dict(shown)
        assert not str(shown["status"]).startswith("error"), shown
        assert time.monotonic() < deadline, f"{kind} {name} stays {shown['status']}"
        time.sleep(0.2)


def _gone(up: ShoalUp, name: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while openstack(up, "volume", "backup", "show", name).returncode == 0:
        assert time.monotonic() < deadline, f"backup {name} is not deleted"
        time.sleep(0.2)


def _write(up: ShoalUp, volume_id: str, offset: int, data: bytes) -> None:
    """Write into the volume's RBD image as client.admin (a guest's write)."""
    with connect(up.data_dir) as admin, admin.open_ioctx("volumes") as io, \
            rbd.Image(io, f"volume-{volume_id}") as img:
        img.write(data, offset)


def _read(up: ShoalUp, volume_id: str) -> bytes:
    with connect(up.data_dir) as admin, admin.open_ioctx("volumes") as io, \
            rbd.Image(io, f"volume-{volume_id}", read_only=True) as img:
        return bytes(img.read(0, LENGTH))


VOLUME = ("volume",)
BACKUP = ("volume", "backup")


def test_full_incremental_restore_and_delete_order(up: ShoalUp) -> None:
    vol = _json(openstack(up, "volume", "create", "--size", "1", "-f", "json", "V"))
    _wait(up, VOLUME, "V", "available")
    rng = random.Random(13)
    _write(up, vol["id"], 0, rng.randbytes(4 * MiB))
    at_b1 = _read(up, vol["id"])
    made = _json(openstack(up, "volume", "backup", "create", "--name", "B1", "-f", "json",
                           "V"))
    assert made["name"] == "B1"
    b1 = _wait(up, BACKUP, "B1", "available")
    assert b1["is_incremental"] is False and b1["container"] == "backups"
    _wait(up, VOLUME, "V", "available")
    _write(up, vol["id"], 3 * MiB, rng.randbytes(2 * MiB))
    at_b2 = _read(up, vol["id"])
    assert at_b2 != at_b1
    _ok(openstack(up, "volume", "backup", "create", "--incremental", "--name", "B2", "V"))
    b2 = _wait(up, BACKUP, "B2", "available")
    assert b2["is_incremental"] is True
    assert _wait(up, BACKUP, "B1", "available")["has_dependent_backups"] is True

    restored = _json(openstack(up, "volume", "backup", "restore", "-f", "json", "B1", "NEW"))
    assert b1["id"] in json.dumps(restored), restored
    new = _wait(up, VOLUME, "NEW", "available")
    assert _read(up, new["id"]) == at_b1
    _ok(openstack(up, "volume", "create", "--size", "2", "V2"))
    v2 = _wait(up, VOLUME, "V2", "available")
    _ok(openstack(up, "volume", "backup", "restore", "--force", "B2", "V2"))
    _wait(up, BACKUP, "B2", "available")
    assert _wait(up, VOLUME, "V2", "available")["size"] == 2
    assert _read(up, v2["id"]) == at_b2

    refused = openstack(up, "volume", "backup", "delete", "B1")
    assert refused.returncode != 0 and "Incremental backups exist" in refused.stderr
    _ok(openstack(up, "volume", "backup", "delete", "B2"))
    _gone(up, "B2")
    _ok(openstack(up, "volume", "backup", "delete", "B1"))
    _gone(up, "B1")
    with connect(up.data_dir) as admin, admin.open_ioctx("backups") as io:
        assert rbd.RBD().list(io) == []


def test_force_backs_up_an_in_use_volume(up: ShoalUp) -> None:
    _ok(openstack(up, "volume", "create", "--size", "1", "busy"))
    _wait(up, VOLUME, "busy", "available")
    _ok(openstack(up, "volume", "set", "--state", "in-use", "busy"))
    refused = openstack(up, "volume", "backup", "create", "--name", "nf", "busy")
    assert refused.returncode != 0 and "force" in refused.stderr
    _ok(openstack(up, "volume", "backup", "create", "--force", "--name", "BF", "busy"))
    _wait(up, BACKUP, "BF", "available")
    assert _wait(up, VOLUME, "busy", "in-use")["status"] == "in-use"


def test_os_services_lists_cinder_backup(up: ShoalUp) -> None:
    services = _json(openstack(up, "volume", "service", "list", "-f", "json"))
    backup = [s for s in services if s["Binary"] == "cinder-backup"]
    assert len(backup) == 1 and backup[0]["State"] == "up"


def test_volume_created_from_a_backup_holds_its_bytes(up: ShoalUp) -> None:
    vol = _json(openstack(up, "volume", "create", "--size", "1", "-f", "json", "SRC"))
    _wait(up, VOLUME, "SRC", "available")
    _write(up, vol["id"], MiB, random.Random(47).randbytes(3 * MiB))
    backed_up = _read(up, vol["id"])
    _ok(openstack(up, "volume", "backup", "create", "--name", "FB", "SRC"))
    backup = _wait(up, BACKUP, "FB", "available")
    _write(up, vol["id"], 0, b"written after the backup" * 100)  # not in the backup

    made = _json(openstack(up, "--os-volume-api-version", "3.47", "volume", "create",
                           "--backup", "FB", "--size", "2", "-f", "json", "FROMB"))
    assert made["size"] == 2
    shown = _wait(up, VOLUME, "FROMB", "available")
    assert _read(up, shown["id"]) == backed_up
    assert _wait(up, BACKUP, "FB", "available")["id"] == backup["id"]
    # the client's own microversion (the server's latest) serves it as well
    _ok(openstack(up, "volume", "create", "--backup", "FB", "--size", "1", "FROMB1"))
    assert _read(up, _wait(up, VOLUME, "FROMB1", "available")["id"]) == backed_up
    _wait(up, BACKUP, "FB", "available")

    by_id = run_client(up, "cinder", "--os-volume-api-version", "3.47", "create",
                        "--backup-id", backup["id"], "--name", "FROMB2", cloud=None,
                        env=openrc_env(up))
    _ok(by_id)
    again = _wait(up, VOLUME, "FROMB2", "available")
    assert again["size"] == 1 and _read(up, again["id"]) == backed_up

    missing = openstack(up, "--os-volume-api-version", "3.47", "volume", "create",
                        "--backup", "no-such-backup", "--size", "1", "NOPE")
    assert missing.returncode != 0
    extensions = _ok(openstack(up, "extension", "list", "--volume", "-f", "value",
                               "-c", "Alias"))
    assert "backups" in extensions.split()
