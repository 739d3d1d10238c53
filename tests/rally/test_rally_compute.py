"""Rally's Nova scenarios (``tests/rally/compute.yaml``) against ``shoal up`` (issue 14):
``NovaServers.boot_and_delete_server``, ``boot_server_from_volume`` (and its ``_and_delete``
form), ``boot_and_bounce_server`` (stop/start, hard reboot) and
``boot_server_attach_created_volume_and_resize``. Every iteration of every subtask must
succeed; the durations are printed (``-s``) and kept in ``rally-report.json``.

Deselect with ``-m "not rally"``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rally.test_rally_volumes import _summary, run_task
from tests.shoal_up import ShoalUp, openstack

pytestmark = pytest.mark.rally

TASK = Path(__file__).with_name("compute.yaml")
SUBTASKS = 5


def test_rally_nova_scenarios(tmp_path: Path) -> None:
    left: list[str] = []

    def leftovers(up: ShoalUp) -> None:
        listed = openstack(up, "server", "list", "--all-projects", "-f", "value")
        assert listed.returncode == 0, listed.stderr
        left.extend(listed.stdout.split("\n"))

    lines, problems = _summary(run_task(tmp_path, TASK, leftovers))
    print("\n".join(lines))
    assert len(lines) == SUBTASKS, lines  # every subtask of the task file ran
    assert not problems, "\n".join(problems)
    assert not [line for line in left if line.strip()], left  # Rally cleaned up
