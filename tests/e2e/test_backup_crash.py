"""``shoal up`` killed (SIGKILL) at random moments while volumes are backed up (full and
incremental), restored, made from a backup (3.47) and backups deleted: after every restart
no backup stays ``creating``/``restoring``/``deleting``, no volume stays
``creating``/``backing-up``/``restoring-backup``, and neither pool holds an orphan: every
backup snapshot on a volume and every base image in ``backups`` belongs to an
``available`` backup, every volume image to a volume record (issue 13).
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import shoal.rbd as rbd
from shoal.cluster import connect
from tests.e2e._cli import AdminVolumeApi as Api
from tests.shoal_up import ShoalUp

pytestmark = pytest.mark.slow

MiB = 1 << 20
ROUNDS = 3
SETTLE_S = 120
DATA_BYTES = 160 * MiB  # enough that a backup or restore takes a moment to cut short
FINAL_BACKUP = {"available", "error"}
FINAL_VOLUME = {"available", "error", "error_restoring"}
_SNAP = re.compile(r"^backup\.([0-9a-f\-]+)\.snap\.")
_BASE = re.compile(r"^volume-[0-9a-f\-]+\.backup\.([0-9a-f\-]+)$")


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    yield data


def _settle(up: ShoalUp) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Wait until no backup or volume is in a transitional status; return both lists."""
    api = Api(up)
    try:
        deadline = time.monotonic() + SETTLE_S
        while True:
            backups, volumes = api.listed("backups"), api.listed("volumes")
            moving = [b for b in backups if b["status"] not in FINAL_BACKUP]
            moving += [v for v in volumes if v["status"] not in FINAL_VOLUME]
            if not moving:
                return backups, volumes
            assert time.monotonic() < deadline, f"stuck after a restart: {moving}"
            time.sleep(0.3)
    finally:
        api.close()


def _orphans(data: Path, backups: list[dict[str, Any]], volumes: list[dict[str, Any]]
             ) -> list[str]:
    """Backup snapshots on volumes and base images not of an ``available`` backup, and
    volume images without a volume record."""
    kept = {b["id"] for b in backups if b["status"] == "available"}
    recorded = {f"volume-{v['id']}" for v in volumes}
    found: list[str] = []
    with connect(data) as admin:
        with admin.open_ioctx("volumes") as io:
            for name in rbd.RBD().list(io):
                if name.startswith("volume-") and name not in recorded:
                    found.append(f"volumes/{name}")
                with rbd.Image(io, name, read_only=True) as img:
                    for snap in img.list_snaps():
                        matched = _SNAP.match(str(snap["name"]))
                        if matched and matched.group(1) not in kept:
                            found.append(f"volumes/{name}@{snap['name']}")
        with admin.open_ioctx("backups") as io:
            for name in rbd.RBD().list(io):
                matched = _BASE.match(name)
                if matched and matched.group(1) not in kept:
                    found.append(f"backups/{name}")
    return found


def _fill(data: Path, volume_id: str, rng: random.Random) -> None:
    with connect(data) as admin, admin.open_ioctx("volumes") as io, \
            rbd.Image(io, f"volume-{volume_id}") as img:
        for offset in range(0, DATA_BYTES, 8 * MiB):
            img.write(rng.randbytes(4 * MiB), offset)


def _new_volume(up: ShoalUp, name: str) -> str:
    api = Api(up)
    try:
        made = api.post("/volumes", {"volume": {"size": 1, "name": name}})
        assert made.status_code == 202, made.text
        volume_id = str(made.json()["volume"]["id"])
        deadline = time.monotonic() + SETTLE_S
        while api.client.get(f"/volumes/{volume_id}").json()["volume"]["status"] \
                != "available":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        return volume_id
    finally:
        api.close()


def test_killed_mid_backup_or_restore_leaves_no_orphan(data_dir: Path) -> None:
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    up = ShoalUp.start(data_dir)
    try:
        source = _new_volume(up, "src")
        _fill(data_dir, source, rng)
        in_flight = resumed = 0
        for round_no in range(ROUNDS):
            api = Api(up)
            backups = api.listed("backups")
            available = [b for b in backups if b["status"] == "available"]
            made = api.post("/backups", {"backup": {
                "volume_id": source, "name": f"r{round_no}",
                "incremental": bool(available)}})
            assert made.status_code == 202, made.text
            if available:
                restored: dict[str, Any] | None = available[0]
                if len(available) == 1 and round_no % 2:
                    restored = None  # this round makes a volume from it instead
                if restored is not None:
                    restore = api.post(f"/backups/{restored['id']}/restore",
                                       {"restore": {"volume_id": None, "name": None}})
                    assert restore.status_code == 202, restore.text
                if available[-1] is not restored:  # 3.47: a new volume from a backup
                    made = api.post("/volumes", {"volume": {
                        "backup_id": available[-1]["id"], "name": f"from-r{round_no}"}})
                    assert made.status_code == 202, made.text
                leaves = [b for b in available if not b["has_dependent_backups"]]
                if len(available) > 1 and leaves and rng.random() < 0.5:
                    api.client.delete(f"/backups/{leaves[-1]['id']}")
            time.sleep(rng.uniform(0.0, 0.8))
            in_flight += sum(b["status"] not in FINAL_BACKUP for b in api.listed("backups"))
            api.close()
            up.kill()  # SIGKILL: no shutdown at all
            up = ShoalUp.start(data_dir)
            resumed += sum("interrupted operations of an earlier run" in line
                           for line in up.lines)
            backups, volumes = _settle(up)
            assert not _orphans(data_dir, backups, volumes), f"round {round_no}"
            assert {v["id"]: v["status"] for v in volumes}[source] == "available"
            for backup in backups:
                if backup["status"] == "error":
                    assert backup["fail_reason"], backup
        backups, _ = _settle(up)
        assert any(b["status"] == "available" for b in backups), backups
        # the kills did land mid-operation (else this test proves nothing)
        assert in_flight > 0 and resumed > 0, (in_flight, resumed)
    finally:
        up.stop()
