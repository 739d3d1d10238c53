"""``shoal up`` with its database on PostgreSQL (``[shoal] database_url``)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.shoal_up import ShoalUp, openstack


def test_shoal_up_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    conf = tmp_path / "shoal.conf"
    conf.write_text(f"[shoal]\ndatabase_url = {pg_url}\n")
    data_dir = tmp_path / "data"
    with ShoalUp.start(data_dir, "--config", str(conf)) as up:
        disk = tmp_path / "disk.raw"
        disk.write_bytes(b"\x07" * 1_000_000)
        made = openstack(up, "image", "create", "--file", str(disk), "--disk-format", "raw",
                         "--container-format", "bare", "-f", "json", "on-pg")
        assert made.returncode == 0, made.stderr
        first = json.loads(made.stdout)
    assert not (data_dir / "shoal.db").exists()  # nothing went to SQLite
    with ShoalUp.start(data_dir, "--config", str(conf)) as again:
        shown = openstack(again, "image", "show", "-f", "json", "on-pg")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["id"] == first["id"]
        assert json.loads(shown.stdout)["status"] == "active"
