"""Tempest's image v2 API tests (``tempest.api.image.v2``) against ``shoal up``.

Tempest 47.0.0 runs with pre-provisioned accounts and ``--concurrency 1`` (CLIENTS.md) and
validates every response. The test passes when at least :data:`MIN_PASS_RATE` of the tests
that ran (not skipped) pass. The counts, the failing ids and their tracebacks are printed
and written to ``tempest-report.txt`` in the test's temporary directory, beside Tempest's
workspace (``workspace/logs/tempest.log`` holds every request and response).

Deselect with ``-m "not tempest"``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shoal_up import ShoalUp
from tests.tempest._harness import (
    TempestError,
    init_workspace,
    provision_accounts,
    run_tempest,
    tempest_bin,
    write_config,
)

pytestmark = pytest.mark.tempest

#: Share of the tests that ran (passed + failed) that must pass.
MIN_PASS_RATE = 0.90
IMAGE_V2 = r"^tempest\.api\.image\.v2\."


def test_tempest_image_v2(tmp_path: Path) -> None:
    try:
        bin_dir = tempest_bin()
    except TempestError as exc:
        pytest.fail(str(exc))
    with ShoalUp.start(tmp_path / "data") as up:
        identity = up.urls["identity"]
        provision_accounts(identity, up.data_dir)
        accounts = provision_accounts(identity, up.data_dir)  # again: idempotent
        workspace = init_workspace(bin_dir, tmp_path / "workspace")
        config = write_config(identity, workspace, accounts)
        run = run_tempest(bin_dir, workspace, config, IMAGE_V2)
    report = run.report()
    report_file = tmp_path / "tempest-report.txt"
    report_file.write_text(report)
    print(report)
    print(f"report: {report_file}; Tempest's log: {workspace / 'logs' / 'tempest.log'}")
    counts = run.counts()
    assert counts["passed"] + counts["failed"] >= 50, report  # the suite really ran
    assert run.pass_rate() >= MIN_PASS_RATE, report
