"""Skips for a missing tool, which fail instead under ``CI=true``.

The test command installs every tool the suite needs before pytest collects
(``scripts/system-packages``, the venvs); a test that still finds one missing would pass
silently on a machine where it never ran. So every such skip goes through
:func:`missing_tool` or :func:`needs_tool`, whose reasons start with
:data:`MISSING_TOOL`, and ``tests/conftest.py`` turns those skips into failures when
``CI=true``. Other skips (a test that does not apply to a backend, a file system without
holes) keep their own reasons and stay skips.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

MISSING_TOOL = "missing tool: "


def in_ci() -> bool:
    """True when the run is CI's (``CI=true``), where a missing tool is a failure."""
    return os.environ.get("CI", "").lower() == "true"


def missing_tool(what: str, fix: str) -> NoReturn:
    """Skip the running test because ``what`` is absent; ``fix`` says how to get it."""
    pytest.skip(f"{MISSING_TOOL}{what} ({fix})")


def needs_tool(*programs: str, fix: str) -> pytest.MarkDecorator:
    """A ``skipif`` mark for tests that run ``programs`` (looked up on ``PATH`` at collection)."""
    absent = [p for p in programs if shutil.which(p) is None]
    return pytest.mark.skipif(bool(absent), reason=f"{MISSING_TOOL}{', '.join(absent)} ({fix})")
