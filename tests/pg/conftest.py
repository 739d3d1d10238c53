"""Fixtures for tests against a real PostgreSQL server.

``pg_server`` (session)
    The server's base URL. When ``SHOAL_PG_URL`` is set, that (already running) server is used
    as is (its user must be allowed to create databases). Otherwise ``scripts/pg-dev up``
    starts a throwaway server in a temporary directory (installing Debian's postgresql first if
    it is missing) and ``scripts/pg-dev down`` stops it at the end of the session. If it cannot
    be started, every test using it *fails* with the script's reason. ``SHOAL_SKIP_PG=1`` is
    the explicit opt-out: the tests are skipped and no server is started.
``pg_url`` (function)
    The URL of a fresh, empty database on that server, dropped after the test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from tests._tools import missing_tool

REPO_ROOT = Path(__file__).resolve().parents[2]
PG_DEV = REPO_ROOT / "scripts" / "pg-dev"
UP_TIMEOUT_S = 1800  # safety net only: `up` bounds its own waits (apt-get's included)
DOWN_TIMEOUT_S = 60


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _unavailable(reason: str) -> None:
    if os.environ.get("SHOAL_SKIP_PG") == "1":
        missing_tool("PostgreSQL", f"SHOAL_SKIP_PG=1 skips it: {reason}")
    pytest.fail(f"{reason}\n(set SHOAL_SKIP_PG=1 to skip the PostgreSQL tests)", pytrace=False)


def _run_pg_dev(command: str, directory: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PG_DEV), command, str(directory)],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _libpq_dsn(url: str) -> str:
    """A SQLAlchemy ``postgresql+psycopg://`` URL as a libpq connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A running PostgreSQL server: ``$SHOAL_PG_URL``'s, or a throwaway one (module doc)."""
    if os.environ.get("SHOAL_SKIP_PG") == "1":
        missing_tool("PostgreSQL", "SHOAL_SKIP_PG=1: not starting it")
    external = os.environ.get("SHOAL_PG_URL")
    if external:
        yield external
        return
    directory = Path(tempfile.mkdtemp(prefix="shoal-pg-", dir="/tmp"))
    try:
        proc = _run_pg_dev("up", directory, UP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _run_pg_dev("down", directory, DOWN_TIMEOUT_S)
        _unavailable(f"{PG_DEV} up {directory}: {exc}")
        raise
    match = re.search(r"^SHOAL_PG_URL=(\S+)$", proc.stdout, re.MULTILINE)
    if proc.returncode != 0 or match is None:
        _run_pg_dev("down", directory, DOWN_TIMEOUT_S)
        _unavailable(
            f"{PG_DEV} up {directory} failed (exit {proc.returncode}):\n"
            f"{_tail(proc.stderr + proc.stdout)}\n(state and logs kept in {directory})"
        )
    assert match is not None
    try:
        yield match.group(1)
    finally:
        down = _run_pg_dev("down", directory, DOWN_TIMEOUT_S)
        if down.returncode != 0:
            pytest.fail(f"{PG_DEV} down {directory} failed:\n{_tail(down.stderr)}", pytrace=False)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh empty database ``shoal_test_<random>`` on the server; dropped afterwards."""
    name = f"shoal_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq_dsn(pg_server), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq_dsn(pg_server), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
