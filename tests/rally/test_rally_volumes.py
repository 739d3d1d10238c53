"""Rally's Cinder scenarios (``tests/rally/volumes.yaml``) against ``shoal up``.

Rally (``scripts/rally-venv``: rally-openstack 4.1.0) runs with an existing-cloud
environment: ``shoal up``'s admin and its ``demo`` member as the users, a SQLite database
of its own in the test's directory. Every iteration of every subtask must succeed; the
durations Rally reports are printed (``-s`` shows them) and kept in ``rally-report.json``.

Deselect with ``-m "not rally"``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.shoal_up import ShoalUp, openstack
from tests.tempest._harness import _cloud_login as cloud_login

pytestmark = pytest.mark.rally

REPO = Path(__file__).resolve().parents[2]
TASK = Path(__file__).with_name("volumes.yaml")
MiB = 1 << 20
RUN_TIMEOUT_S = 900


def rally_bin() -> Path:
    """Rally's venv bin directory (``$SHOAL_RALLY_BIN`` or ``.venv-rally/bin``)."""
    env = os.environ.get("SHOAL_RALLY_BIN")
    path = Path(env) if env else REPO / ".venv-rally" / "bin"
    if not (path / "rally").exists():
        pytest.fail(f"Rally is not installed in {path}: run `bash scripts/rally-venv` "
                    "(the test command does)")
    return path


def _user(login: dict[str, str]) -> dict[str, str]:
    return {"username": login["username"], "password": login["password"],
            "project_name": login["project_name"], "user_domain_name": "Default",
            "project_domain_name": "Default"}


class Rally:
    """``rally`` with its own configuration and database in ``home``."""

    def __init__(self, bin_dir: Path, home: Path) -> None:
        self.bin = bin_dir / "rally"
        self.home = home
        self.conf = home / "rally.conf"
        self.conf.write_text(f"[database]\nconnection = sqlite:///{home / 'rally.db'}\n")

    def __call__(self, *args: str, timeout: float = 120, codes: tuple[int, ...] = (0,)) -> str:
        """Run ``rally ARGS``; its output. ``codes``: the exit statuses that are no failure
        (``task start`` exits 1 or 2 when iterations failed: the report says which)."""
        # HOME too: Rally keeps its "current" environment and task in ~/.rally/globals,
        # which two runs at once (two xdist workers) would share
        done = subprocess.run([str(self.bin), "--config-file", str(self.conf), *args],
                              capture_output=True, text=True, timeout=timeout, check=False,
                              cwd=self.home, stdin=subprocess.DEVNULL,
                              env={**os.environ, "HOME": str(self.home)})
        assert done.returncode in codes, (f"rally {' '.join(args)}:\n{done.stdout}\n"
                                          f"{done.stderr}")
        return done.stdout


def _summary(report: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Per workload: a line with its scenario, iterations and durations; and the errors."""
    lines: list[str] = []
    problems: list[str] = []
    for task in report["tasks"]:
        for subtask in task["subtasks"]:
            for workload in subtask["workloads"]:
                results = workload["data"]
                durations = sorted(r["duration"] for r in results)
                failed = [r for r in results if r["error"]]
                median = durations[len(durations) // 2] if durations else float("nan")
                lines.append(f"{subtask['title']}: {len(results)} iterations, "
                             f"{len(failed)} failed, median {median:.2f} s, "
                             f"max {max(durations, default=float('nan')):.2f} s")
                problems += [f"{subtask['title']}: {r['error']}" for r in failed]
                if len(results) != workload["runner"]["constant"]["times"]:
                    problems.append(f"{subtask['title']}: {len(results)} iterations ran")
    return lines, problems


def run_task(tmp_path: Path, task: Path,
             before_stop: Callable[[ShoalUp], None] | None = None) -> dict[str, Any]:
    """Run Rally's ``task`` file against a new ``shoal up`` (the image "rally-raw"
    uploaded first); Rally's JSON report. ``before_stop(up)`` runs once the task is done,
    while shoal up still serves."""
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
        rally("task", "start", str(task), "--tag", "shoal", timeout=RUN_TIMEOUT_S,
              codes=(0, 1, 2))
        report_file = tmp_path / "rally-report.json"
        rally("task", "report", "--json", "--out", str(report_file))
        if before_stop is not None:
            before_stop(up)
    report: dict[str, Any] = json.loads(report_file.read_text())
    return report


def test_rally_cinder_scenarios(tmp_path: Path) -> None:
    lines, problems = _summary(run_task(tmp_path, TASK))
    print("\n".join(lines))
    assert len(lines) == 10, lines  # every subtask of the task file ran
    assert not problems, "\n".join(problems)
