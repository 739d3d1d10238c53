"""Tempest's block-storage API tests (``tempest.api.volume``) against ``shoal up``.

Tempest 47.0.0 runs with pre-provisioned accounts and ``--concurrency 1`` (CLIENTS.md),
configured as a deployment with shoal's feature set would configure it: Cinder and Glance
available, no Nova, no Swift; volume API 3.0 to 3.71 on one Ceph (RBD) backend; snapshots and
clones on, backups on (the Ceph driver), no manage/unmanage, no multiattach, no attached extend.
``[service_available] neutron`` is on: Tempest skips its snapshot, extend, actions and backup
classes without it (``create_default_network``), and with pre-provisioned accounts it then
makes no network call (no network is named in ``accounts.yaml``, so none is looked up).
``[compute] image_ref`` is a small raw image the admin uploads first, as a deployment has one.

Selected: every class of ``tempest.api.volume`` except the two whose every test attaches a
volume to a server (:data:`SERVER_ONLY_CLASSES`); single tests that need a server skip
themselves (``@utils.services('compute')``) and are reported as skipped.

Asserted: at least :data:`GOAL_PASS_RATE` (95 %, issue 12's goal) of the tests that are not
skipped pass, as ``test_tempest_image`` asserts its rate; every test listed in
``volume_passing.txt`` (the ones passing when it was written: all 198 that ran) still
passes; no test fails or skips on a Tempest configuration or accounts error; no class other
than :data:`SETUP_FAILING_CLASSES` (none now) fails in ``setUpClass``. The counts, skip reasons,
failures and tracebacks are printed and written to ``tempest-report.txt`` beside Tempest's
workspace (``workspace/logs/tempest.log`` holds every request and response).

Deselect with ``-m "not tempest"``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shoal_up import ShoalUp
from tests.tempest._harness import (
    TempestError,
    TempestRun,
    causes_report,
    failure_causes,
    init_workspace,
    provision_accounts,
    run_tempest,
    tempest_bin,
    upload_image,
    write_config,
)

pytestmark = pytest.mark.tempest

#: Classes none of whose tests can run without Nova servers (they skip themselves anyway).
SERVER_ONLY_CLASSES = ("VolumesExtendAttachedTest", "EncryptedVolumesExtendAttachedTest")
VOLUME = r"^tempest\.api\.volume\.(?!.*\.(" + "|".join(SERVER_ONLY_CLASSES) + r")\.)"
#: The tests that passed when this test was written: each must keep passing.
PASSING_FILE = Path(__file__).with_name("volume_passing.txt")
#: Classes whose ``setUpClass`` may fail, each on a route shoal does not serve (none now).
#: No other class may fail there (a configuration or credentials error would show up so).
SETUP_FAILING_CLASSES: frozenset[str] = frozenset()
#: What a Tempest configuration or accounts problem raises (never a shoal reply).
_SETUP_ERRORS = ("InvalidConfiguration", "InvalidCredentials", "No users configured",
                 "InvalidTestResource", "EndpointNotFound")
#: The goal of issue 12: share of the non-skipped tests that must pass.
GOAL_PASS_RATE = 0.95
#: Tempest's image for volumes created from an image (``[compute] image_ref``): 1 MiB raw.
IMAGE_NAME = "tempest-volume-image"
IMAGE_BYTES = 1024 * 1024
#: The Tempest admin's own project: admin tests compare its volumes with the primary's.
ADMIN_PROJECT = "tempest-admin"
#: The backend of the guide's configuration (``[ceph] volume_backend_name``).
BACKEND_NAME = "ceph"


def volume_overrides(image_ref: str, *, neutron: bool = True) -> dict[str, dict[str, object]]:
    """The ``tempest.conf`` options of a volume run (added to the harness's image config)."""
    return {
        "service_available": {"glance": True, "cinder": True, "nova": False,
                              "neutron": neutron, "swift": False},
        # Cinder's default (secure RBAC) policy, which shoal enforces: readers read with
        # their own tokens.
        "enforce_scope": {"glance": True, "cinder": True},
        "compute": {"image_ref": image_ref},
        "volume": {
            "catalog_type": "block-storage",   # CLIENTS.md: shoal registers it (and volumev3)
            "endpoint_type": "public",
            "region": "RegionOne",
            "min_microversion": "3.0",
            "max_microversion": "3.71",
            "storage_protocol": "ceph",        # the RBD driver's reported stats
            "vendor_name": "Open Source",
            "backend_names": BACKEND_NAME,
            "backup_driver": "ceph",
            "disk_format": "raw",              # RBD's upload-to-image format
            "volume_size": 1,
            "build_timeout": 60,
            "build_interval": 1,
        },
        "volume-feature-enabled": {
            "multi_backend": False,            # one backend
            "backup": True,                    # the Ceph backup driver
            "snapshot": True,
            "clone": True,
            "manage_snapshot": False,
            "manage_volume": False,
            "replication": False,
            "extend_attached_volume": False,   # no Nova to attach to
            "extend_attached_encrypted_volume": False,
            "extend_volume_with_snapshot": True,  # RBD extends a volume that has snapshots
            "enable_volume_image_dep_tests": True,
        },
        "compute-feature-enabled": {"volume_multiattach": False},
    }


def passing_floor() -> list[str]:
    """The test ids of :data:`PASSING_FILE` (``#`` comments and blank lines ignored)."""
    lines = (line.split("#", 1)[0].strip() for line in PASSING_FILE.read_text().splitlines())
    return [line for line in lines if line]


def setup_failures(run: TempestRun) -> dict[str, str]:
    """Classes whose ``setUpClass`` failed, and a ``tearDownClass`` failure's key: detail."""
    failed: dict[str, str] = {}
    for test_id in run.ids("failed"):
        detail = run.outcomes[test_id].detail
        if detail.startswith("(setUpClass failed)"):
            failed[test_id.rsplit(".", 1)[0]] = detail
        elif test_id.startswith(("setUpClass (", "tearDownClass (")):
            failed[test_id] = detail
    return failed


def config_errors(run: TempestRun) -> list[str]:
    """Tests that failed or skipped on a Tempest configuration or credentials error."""
    return [i for i, o in run.outcomes.items() if o.status != "passed"
            and any(marker in o.detail for marker in _SETUP_ERRORS)]


def run_volume_tempest(tmp_path: Path, bin_dir: Path, *, neutron: bool = True,
                       regex: str = VOLUME) -> tuple[TempestRun, Path]:
    """Start ``shoal up``, configure Tempest and run the tests ``regex`` selects (default
    :data:`VOLUME`; a narrower one runs a few classes while working on them); the run and
    its workspace."""
    with ShoalUp.start(tmp_path / "data") as up:
        identity = up.urls["identity"]
        accounts = provision_accounts(identity, up.data_dir, admin_project=ADMIN_PROJECT)
        image_ref = upload_image(identity, up.urls["image"], up.data_dir, IMAGE_NAME,
                                 bytes(IMAGE_BYTES))
        workspace = init_workspace(bin_dir, tmp_path / "workspace")
        config = write_config(identity, workspace, accounts,
                              volume_overrides(image_ref, neutron=neutron))
        return run_tempest(bin_dir, workspace, config, regex), workspace


def test_tempest_volume(tmp_path: Path) -> None:
    try:
        bin_dir = tempest_bin()
    except TempestError as exc:
        pytest.fail(str(exc))
    run, workspace = run_volume_tempest(tmp_path, bin_dir)
    report = run.report() + "\n" + causes_report(
        failure_causes(run, workspace / "logs" / "tempest.log"))
    report_file = tmp_path / "tempest-report.txt"
    report_file.write_text(report)
    print(report)
    print(f"report: {report_file}; Tempest's log: {workspace / 'logs' / 'tempest.log'}")
    print(f"{100 * run.pass_rate():.1f} % of the non-skipped tests pass (at least "
          f"{100 * GOAL_PASS_RATE:.0f} % must)")
    floor = passing_floor()
    regressed = [i for i in floor if run.outcomes.get(i) is None
                 or run.outcomes[i].status != "passed"]
    assert not regressed, "tests that passed before no longer pass:\n" + "\n".join(
        regressed) + "\n\n" + report
    assert not config_errors(run), report
    new_setup_failures = sorted(setup_failures(run).keys() - SETUP_FAILING_CLASSES)
    assert not new_setup_failures, "new setUpClass/tearDownClass failures:\n" + "\n".join(
        new_setup_failures) + "\n\n" + report
    assert run.counts()["passed"] >= len(floor), report
    assert run.pass_rate() >= GOAL_PASS_RATE, report
