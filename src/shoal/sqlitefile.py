"""SQLite database files that hold secrets (cephx keys, password and token hashes): 0600.

Like the keyrings, such a database and the files SQLite keeps beside it are readable and
writable by their owner only. A new database file is created empty with mode 0600 before
SQLite opens it (SQLite takes an empty file for a new database and creates its side files
with the database file's mode); an existing one, and its side files, lose any group and
other permissions when it is opened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["PRIVATE_MODE", "SIDE_SUFFIXES", "make_private", "side_files"]

#: Mode of a new database file.
PRIVATE_MODE = 0o600
#: The files SQLite keeps beside a database: the WAL, its shared-memory index, the rollback
#: journal.
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
_GROUP_OTHER = 0o077


def side_files(path: Path) -> list[Path]:
    """``path-wal``, ``path-shm`` and ``path-journal``, present or not."""
    return [path.with_name(path.name + suffix) for suffix in SIDE_SUFFIXES]


def make_private(path: Path) -> None:
    """Create the database file ``path`` (empty, mode :data:`PRIVATE_MODE`) unless it exists,
    and take group and other permissions off it and off its side files that exist
    (``0644`` becomes ``0600``; owner bits are kept). A file owned by another user is left
    as it is: only its owner may change its mode.

    Raises:
        OSError: the file cannot be created (no directory, no permission) or its mode
            cannot be changed for another reason than ownership.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_MODE)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    for candidate in (path, *side_files(path)):
        try:
            mode = stat.S_IMODE(os.stat(candidate).st_mode)
            if mode & _GROUP_OTHER:
                os.chmod(candidate, mode & ~_GROUP_OTHER)
        except FileNotFoundError:
            continue  # no such side file (or it went away: SQLite removes them on close)
        except PermissionError:
            continue  # another user's file
