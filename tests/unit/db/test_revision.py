"""The documented way to add a migration: ``python -m shoal.db revision -m ...``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shoal.db import _migrate

REPO_ROOT = Path(__file__).resolve().parents[3]


MIGRATIONS = sorted(Path(_migrate.SCRIPT_LOCATION, "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def test_heads_command_prints_the_head() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "shoal.db", "heads"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    assert proc.stdout.split() == [_migrate.heads()[0]]
    assert _migrate.heads()[0] == f"{len(MIGRATIONS):04d}"


def test_revision_numbers_the_next_migration_and_finds_no_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(_migrate.SCRIPT_LOCATION, scripts)
    monkeypatch.setattr(_migrate, "SCRIPT_LOCATION", str(scripts))
    head = _migrate.heads()[0]
    following = f"{int(head) + 1:04d}"
    path = _migrate.new_revision("add nothing")
    assert path == scripts / "versions" / f"{following}_add_nothing.py"
    source = path.read_text()
    assert f"revision = '{following}'" in source or f'revision = "{following}"' in source
    assert f"down_revision = '{head}'" in source or f'down_revision = "{head}"' in source
    # the models equal the migrations: autogenerate finds nothing to do
    assert "op." not in source
    assert _migrate.heads() == (following,)
