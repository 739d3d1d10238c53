"""Run the ``shoal`` CLI as a real subprocess (used by fixtures and e2e helpers)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

#: The console script installed next to the running interpreter (``.venv/bin/shoal``).
SHOAL_EXE = Path(sys.executable).with_name("shoal")


#: The ``run_shoal`` fixture's type: ``run_shoal(*args, input=None, env=None)``.
RunShoal = Callable[..., "subprocess.CompletedProcess[str]"]


def shoal_command() -> list[str]:
    """argv prefix that runs the CLI (the console script, else ``python -m``)."""
    if SHOAL_EXE.exists():
        return [str(SHOAL_EXE)]
    return [sys.executable, "-m", "shoal.cli.main"]


def run_shoal_cli(
    data_dir: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``shoal ARGS...`` with ``SHOAL_DATA_DIR=data_dir``; never raises on a non-zero exit."""
    environ = {**os.environ, "SHOAL_DATA_DIR": str(data_dir), **(env or {})}
    return subprocess.run(
        [*shoal_command(), *args], input=input, env=environ, capture_output=True, text=True,
        timeout=120, check=False,
    )
