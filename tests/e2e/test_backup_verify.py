"""``shoal backup verify`` and ``shoal backup chain`` against ``shoal up`` (issue 13, "Beyond
upstream"): each backup records the SHA-256 of its volume's bytes; the check reads the
restore point back from the ``backups`` pool, finds a byte flipped in a data object of the
base image, and shows admins ``verified_at``; the chain lists full and incremental backups
with what they stored."""

from __future__ import annotations

import hashlib
import json
import random
import struct
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

import shoal.rbd as rbd
from shoal.cluster import connect
from tests.e2e._cli import out_json as _json
from tests.shoal_cli import run_shoal_cli
from tests.shoal_up import ShoalUp, openrc_env, openstack, run_client

MiB = 1 << 20
GiB = 1 << 30
WAIT_S = 60


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShoalUp]:
    with ShoalUp.start(tmp_path_factory.mktemp("verify") / "data") as running:
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


def _write(up: ShoalUp, volume_id: str, offset: int, data: bytes) -> None:
    with connect(up.data_dir) as admin, admin.open_ioctx("volumes") as io, \
            rbd.Image(io, f"volume-{volume_id}") as img:
        img.write(data, offset)


def _expected_sha256(up: ShoalUp, volume_id: str, data_bytes: int) -> str:
    """The documented digest of the 1 GiB volume, from its first ``data_bytes`` (a fresh
    volume: the rest reads as zeros)."""
    with connect(up.data_dir) as admin, admin.open_ioctx("volumes") as io, \
            rbd.Image(io, f"volume-{volume_id}", read_only=True) as img:
        head = bytes(img.read(0, data_bytes))
    blocks = [hashlib.sha256(head[o:o + MiB]).digest() for o in range(0, data_bytes, MiB)]
    blocks += [hashlib.sha256(bytes(MiB)).digest()] * ((GiB - data_bytes) // MiB)
    return hashlib.sha256(b"shoal-sha256-blocks-v1\0" + struct.pack(">QQ", GiB, MiB)
                          + b"".join(blocks)).hexdigest()


def _member_env(up: ShoalUp) -> dict[str, str]:
    """The demo member's login, from the ``shoal-demo`` cloud of the clouds.yaml ``shoal up``
    wrote (its values are JSON strings, one ``key: value`` per line)."""
    auth: dict[str, str] = {}
    in_demo = False
    for line in (up.data_dir / "clouds.yaml").read_text().splitlines():
        if line.startswith("  ") and not line.startswith("   "):
            in_demo = line.strip() == '"shoal-demo":'
        elif in_demo and ":" in line and line.strip().split(":", 1)[1].strip():
            key, value = line.strip().split(":", 1)
            auth[key] = json.loads(value.strip())
    return {"OS_AUTH_URL": auth["auth_url"], "OS_USERNAME": auth["username"],
            "OS_PASSWORD": auth["password"], "OS_PROJECT_NAME": auth["project_name"]}


def _verified_at(up: ShoalUp, backup_id: str) -> str | None:
    """``verified_at`` as cinderclient shows it to the admin (openstacksdk's Backup keeps
    only the fields it knows); None when the reply has no such key."""
    done = run_client(up, "cinder", "backup-show", backup_id, cloud=None, env=openrc_env(up))
    assert done.returncode == 0, done.stderr
    for line in done.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] == "verified_at":
            return cells[1]
    return None


def _shoal(up: ShoalUp, *args: str) -> subprocess.CompletedProcess[str]:
    return run_shoal_cli(up.data_dir, "backup", *args, env={"OS_AUTH_URL": ""})


def test_verify_chain_and_a_flipped_byte(up: ShoalUp) -> None:
    vol = _json(openstack(up, "volume", "create", "--size", "1", "-f", "json", "V"))
    _wait(up, ("volume",), "V", "available")
    rng = random.Random(7)
    _write(up, vol["id"], 0, rng.randbytes(4 * MiB))
    at_b1 = _expected_sha256(up, vol["id"], 6 * MiB)
    assert openstack(up, "volume", "backup", "create", "--name", "B1", "V").returncode == 0
    b1 = _wait(up, ("volume", "backup"), "B1", "available")
    _wait(up, ("volume",), "V", "available")
    _write(up, vol["id"], 3 * MiB, rng.randbytes(2 * MiB))
    at_b2 = _expected_sha256(up, vol["id"], 6 * MiB)
    assert openstack(up, "volume", "backup", "create", "--incremental", "--name", "B2",
                     "V").returncode == 0
    b2 = _wait(up, ("volume", "backup"), "B2", "available")
    assert "verified_at" not in b1  # absent until a check matched

    # both check out, and the digests are the volume's bytes at each backup's time
    for backup, digest in ((b1, at_b1), (b2, at_b2)):
        done = _shoal(up, "verify", backup["id"])
        assert done.returncode == 0, done.stderr + done.stdout
        assert f"match sha256 {digest}" in done.stdout and "1073741824 bytes" in done.stdout
    assert _verified_at(up, b1["id"]) not in ("", None)

    # the chain: B1 full with B2 indented under it, and what each stored
    listed = _shoal(up, "chain", vol["id"])
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith(f"{b1['id']} (B1): full, available, 1 GiB volume, 4.0 MiB "
                               "stored, restore point backup.")
    assert lines[1].startswith(f"  {b2['id']} (B2): incremental, available, 1 GiB volume, "
                               "2.0 MiB stored")
    chain = json.loads(_shoal(up, "chain", vol["id"], "--json").stdout)["backups"]
    assert [(c["depth"], c["sha256"]) for c in chain] == [(0, at_b1), (1, at_b2)]

    # a member may not check: it reads the whole backup
    denied = run_shoal_cli(up.data_dir, "backup", "verify", b1["id"], env=_member_env(up))
    assert denied.returncode == 22 and "HTTP 403" in denied.stderr

    # flip one byte of B2's data in the base image's first object (head, no snap context:
    # a disk fault); B1 reads that object's clone, made when B2 overwrote it
    with connect(up.data_dir) as admin, admin.open_ioctx("backups") as io:
        with rbd.Image(io, f"volume-{vol['id']}.backup.{b1['id']}", read_only=True) as base:
            obj = f"{base.stat()['block_name_prefix']}.{0:016x}"
        data = bytearray(io.read(obj, 0))
        data[3 * MiB + 100] ^= 0x40
        io.write_full(obj, bytes(data))
    bad = _shoal(up, "verify", b2["id"])
    assert bad.returncode == 1, bad.stderr + bad.stdout
    assert "MISMATCH: the stored data differs from what was backed up" in bad.stdout
    assert f"recorded sha256: {at_b2}" in bad.stdout
    assert f"differs in bytes [{3 * MiB}, {4 * MiB})" in bad.stdout
    assert _verified_at(up, b2["id"]) is None
    assert _shoal(up, "verify", b1["id"]).returncode == 0

    missing = _shoal(up, "verify", "00000000-0000-0000-0000-000000000000")
    assert missing.returncode == 22 and "could not be found" in missing.stderr
