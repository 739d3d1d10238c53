"""Rally's Nova scenarios (``tests/rally/compute.yaml``) against ``shoal up`` (issue 14):
``NovaServers.boot_and_delete_server``, ``boot_server_from_volume`` (and its ``_and_delete``
form), ``boot_and_bounce_server`` (stop/start, hard reboot) and
``boot_server_attach_created_volume_and_resize``. Every iteration of every subtask must
succeed; the durations are printed (``-s``) and kept in ``rally-report.json``.

Deselect with ``-m "not rally"``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.rally.test_rally_volumes import RUN_TIMEOUT_S, MiB, Rally, _summary, _user, rally_bin
from tests.shoal_up import ShoalUp, openstack
from tests.tempest._harness import _cloud_login as cloud_login

pytestmark = pytest.mark.rally

TASK = Path(__file__).with_name("compute.yaml")
SUBTASKS = 5


def test_rally_nova_scenarios(tmp_path: Path) -> None:
    bin_dir = rally_bin()
    with ShoalUp.start(tmp_path / "data") as up:
        raw = tmp_path / "rally.raw"
        raw.write_bytes(os.urandom(8 * MiB))
        made = openstack(up, "image", "create", "--file", str(raw), "--disk-format", "raw",
                         "--container-format", "bare", "--public", "rally-raw")
        assert made.returncode == 0, made.stderr
        spec = tmp_path / "spec.json"
        spec.write_text(json.dumps({"existing@openstack": {
            "auth_url": up.urls["identity"] + "/v3", "region_name": "RegionOne",
            "admin": _user(cloud_login(up.data_dir, "shoal")),
            "users": [_user(cloud_login(up.data_dir, "shoal-demo"))]}}))
        rally = Rally(bin_dir, tmp_path)
        rally("db", "create")
        rally("env", "create", "--name", "shoal", "--spec", str(spec))
        assert "OK" in rally("env", "check")
        rally("task", "start", str(TASK), "--tag", "shoal", timeout=RUN_TIMEOUT_S,
              codes=(0, 1, 2))
        report_file = tmp_path / "rally-report.json"
        rally("task", "report", "--json", "--out", str(report_file))
        leftovers = openstack(up, "server", "list", "--all-projects", "-f", "value")
    lines, problems = _summary(json.loads(report_file.read_text()))
    print("\n".join(lines))
    assert len(lines) == SUBTASKS, lines  # every subtask of the task file ran
    assert not problems, "\n".join(problems)
    assert leftovers.returncode == 0 and not leftovers.stdout.strip(), leftovers.stdout
