"""The documented way to add a migration: ``python -m shoal.db revision -m ...``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shoal.db import _migrate

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_heads_command_prints_the_head() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "shoal.db", "heads"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    assert proc.stdout.split() == ["0002"]


def test_revision_numbers_the_next_migration_and_finds_no_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(_migrate.SCRIPT_LOCATION, scripts)
    monkeypatch.setattr(_migrate, "SCRIPT_LOCATION", str(scripts))
    path = _migrate.new_revision("add nothing")
    assert path == scripts / "versions" / "0003_add_nothing.py"
    source = path.read_text()
    assert "revision = '0003'" in source or 'revision = "0003"' in source
    assert "down_revision = '0002'" in source or 'down_revision = "0002"' in source
    # the models equal the migrations: autogenerate finds nothing to do
    assert "op." not in source
    assert _migrate.heads() == ("0003",)
