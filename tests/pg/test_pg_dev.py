"""scripts/pg-dev itself: up, status, a second up, down (exactly its server), idempotence."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.pg.conftest import PG_DEV, _libpq_dsn


def pg_dev(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PG_DEV), *args], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )


def postmaster_pid(directory: Path) -> int:
    return int((directory / "data" / "postmaster.pid").read_text().splitlines()[0])


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A directory the ``postgres`` user can reach (pytest's tmp_path is 0700 root's)."""
    directory = Path(tempfile.mkdtemp(prefix="shoal-pg-test-", dir="/tmp"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def test_up_status_down(pg_server: str, scratch: Path) -> None:
    # pg_server: the session's server must survive this second one going down
    directory = scratch
    up = pg_dev("up", str(directory))
    assert up.returncode == 0, up.stderr
    match = re.fullmatch(
        r"SHOAL_PG_URL=(postgresql\+psycopg://shoal:\S+@127\.0\.0\.1:\d+/shoal)\n", up.stdout
    )
    assert match, up.stdout
    url = match.group(1)
    try:
        with psycopg.connect(_libpq_dsn(url)) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("shoal",)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(_libpq_dsn(url.replace("shoal:", "shoal:wrong", 1)))
        status = pg_dev("status", str(directory))
        assert status.returncode == 0 and f"SHOAL_PG_URL={url}" in status.stdout
        again = pg_dev("up", str(directory))  # already running: same server, same URL
        assert again.returncode == 0 and again.stdout == up.stdout
        assert "already running" in again.stderr
        pid = postmaster_pid(directory)
    finally:
        down = pg_dev("down", str(directory))
    assert down.returncode == 0, down.stderr
    assert not os.path.exists(f"/proc/{pid}") or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert pg_dev("status", str(directory)).returncode == 3
    assert pg_dev("down", str(directory)).returncode == 0  # idempotent
    # the session's server is untouched
    with psycopg.connect(_libpq_dsn(pg_server)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    # a stale directory is wiped and started afresh
    restarted = pg_dev("up", str(directory))
    try:
        assert restarted.returncode == 0, restarted.stderr
        assert "wiping the stale" in restarted.stderr
        assert restarted.stdout != up.stdout  # new password (and most likely port)
    finally:
        assert pg_dev("down", str(directory)).returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="as root only: the server runs as postgres")
def test_unreachable_directory_is_refused_with_the_reason(tmp_path: Path) -> None:
    proc = pg_dev("up", str(tmp_path / "pg"))  # tmp_path's parents are mode 0700
    assert proc.returncode == 1
    assert "cannot reach" in proc.stderr
    assert not list((tmp_path / "pg").glob("data/*"))


def test_usage_errors(tmp_path: Path) -> None:
    assert pg_dev().returncode == 2
    assert pg_dev("up").returncode == 2
    assert pg_dev("status", str(tmp_path / "none")).returncode == 3
    assert pg_dev("down", str(tmp_path / "none")).returncode == 0
