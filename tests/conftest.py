"""Shared fixtures: a temporary data directory, sessions, and the ``shoal`` CLI as a process."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal.cluster import EmbeddedSession, connect
from shoal.objstore import ObjectStore
from shoal.objstore.memory import MemoryStore
from tests._tools import MISSING_TOOL, in_ci
from tests.shoal_cli import RunShoal, run_shoal_cli


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh, not yet initialised data directory path."""
    return tmp_path / "shoal-data"


@pytest.fixture
def run_shoal(data_dir: Path) -> RunShoal:
    """Run ``shoal ARGS...`` as a subprocess with ``SHOAL_DATA_DIR=data_dir``.

    Keyword arguments: ``input`` (stdin text), ``env`` (extra environment).
    Returns the CompletedProcess (text mode); never raises on a non-zero exit.
    """

    def run(
        *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_shoal_cli(data_dir, *args, input=input, env=env)

    return run


@pytest.fixture
def memory_store() -> Iterator[ObjectStore]:
    """An in-memory object store, closed after the test."""
    store = MemoryStore()
    yield store
    store.close()


@pytest.fixture
def admin(data_dir: Path, memory_store: ObjectStore) -> Iterator[EmbeddedSession]:
    """A client.admin session on ``data_dir`` whose objects live in ``memory_store``."""
    session = connect(data_dir, store=memory_store)
    yield session
    session.shutdown()


# Markers set by directory, so that ``pytest -m "not ceph"`` picks the tests without a cluster.
_DIRECTORY_MARKERS = {"ceph": "ceph", "pg": "pg", "e2e": "e2e", "tempest": "tempest",
                      "rally": "rally"}
_TESTS_ROOT = Path(__file__).resolve().parent


#: Directories whose tests share one throwaway server per session (a Ceph cluster, a
#: PostgreSQL): under pytest-xdist they all run on one worker, which starts it once.
_SHARED_SERVER_GROUPS = frozenset({"ceph", "pg"})


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark each test under ``tests/ceph``, ``tests/pg``, ``tests/e2e``, ``tests/tempest``,
    ``tests/rally`` by its directory, and give each an ``xdist_group`` (for ``--dist
    loadgroup``, as scripts/test runs): its module's path, so that a module's fixtures are
    made once, or the directory's name for the tests of one shared server (set as each test
    is collected, before xdist's ``pytest_collection_modifyitems`` reads the groups)."""
    try:
        parts = item.path.resolve().relative_to(_TESTS_ROOT).parts
    except ValueError:
        return
    marker = _DIRECTORY_MARKERS.get(parts[0])
    if marker is not None:
        item.add_marker(marker)
    group = parts[0] if parts[0] in _SHARED_SERVER_GROUPS else "/".join(parts)
    item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under ``CI=true`` a skip for a missing tool (see :mod:`tests._tools`) is a failure."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if not (report.skipped and in_ci()) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if MISSING_TOOL in reason:
        report.outcome = "failed"
        report.longrepr = f"CI=true, and the test command should have installed it: {reason}"
