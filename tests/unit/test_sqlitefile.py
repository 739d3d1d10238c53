"""shoal.sqlitefile: database files holding secrets, and SQLite's side files, are 0600."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal.sqlitefile import make_private, side_files


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The usual 022, under which files are created 0644 unless asked otherwise."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_file_is_created_empty_and_0600(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    make_private(path)
    assert (mode(path), path.stat().st_size) == (0o600, 0)
    with sqlite3.connect(path) as conn:  # SQLite takes the empty file for a new database
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE t (x)")
        assert {p.name: mode(p) for p in side_files(path) if p.exists()} == {
            "x.db-wal": 0o600, "x.db-shm": 0o600}  # SQLite copies the database's mode
    conn.close()


def test_an_existing_file_and_its_side_files_lose_group_and_other_bits(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    modes = {path: 0o644, **dict(zip(side_files(path), (0o666, 0o640, 0o400), strict=True))}
    for file, bits in modes.items():
        file.write_bytes(b"")
        file.chmod(bits)
    make_private(path)
    assert [mode(file) for file in modes] == [0o600, 0o600, 0o600, 0o400]
    assert path.stat().st_size == 0


def test_a_missing_directory_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        make_private(tmp_path / "nope" / "x.db")
