"""Under ``CI=true`` a skip for a missing tool fails the run; elsewhere it stays a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
PROBE = '''
import pytest
from tests._tools import missing_tool, needs_tool

def test_missing_tool():
    missing_tool("frobnicator", "apt-get install frobnicator")

@needs_tool("no-such-program-on-path", fix="install it")
def test_needs_tool():
    pass

def test_other_skip():
    pytest.skip("does not apply to this backend")
'''


def run_probe(tmp_path: Path, ci: str | None) -> tuple[int, str]:
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "-q", "-rA", "--rootdir", str(tmp_path), "-c", os.devnull, str(probe)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("ci", [None, "false"])
def test_missing_tool_is_a_skip_outside_ci(tmp_path: Path, ci: str | None) -> None:
    rc, out = run_probe(tmp_path, ci)
    assert rc == 0, out
    assert "3 skipped" in out, out
    assert "failed" not in out, out


def test_missing_tool_fails_under_ci(tmp_path: Path) -> None:
    rc, out = run_probe(tmp_path, "true")
    assert rc == 1, out
    # a skip in the call is a failed test, a skipif mark (setup) an error: both fail the run
    assert "1 failed, 1 skipped, 1 error" in out, out
    assert "missing tool: frobnicator (apt-get install frobnicator)" in out
    assert "missing tool: no-such-program-on-path" in out
