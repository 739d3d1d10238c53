"""``mon/mon.db``: the embedded monitor's state in SQLite.

Tables:

- ``auth(entity, key, caps)``: cephx entities; ``caps`` is a JSON object
  service -> caps string.
- ``kv(k, v)``: monitor counters and facts (``osdmap_epoch``, ``created``,
  ``selfmanaged_snaps/<pool id>`` once a pool has allocated a self-managed snap id).
- ``pool_meta(pool_id, last_change)``: the osdmap epoch of a pool's last change.

The file and SQLite's side files are 0600 (:mod:`shoal.sqlitefile`): the database
holds every cephx key. Several processes may open the database at once: it runs in WAL mode with a
busy timeout, every write is one ``BEGIN IMMEDIATE`` transaction, and readers
never block writers. One :class:`MonDB` is thread-safe (a lock serialises its
connection).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from shoal import errors
from shoal.sqlitefile import make_private

__all__ = ["AuthEntity", "MonDB"]

#: How long a writer waits for another process's transaction (milliseconds).
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS auth (
    entity TEXT PRIMARY KEY,
    key    TEXT NOT NULL,
    caps   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
    k TEXT PRIMARY KEY,
    v TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pool_meta (
    pool_id     INTEGER PRIMARY KEY,
    last_change INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class AuthEntity:
    """One cephx entity: ``name`` (``client.cinder``), base64 ``key``, ``caps``."""

    name: str
    key: str
    caps: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "caps", MappingProxyType(dict(sorted(self.caps.items()))))


class MonDB:
    """A connection to ``mon.db``; create the file (0600) and schema if missing, and make an
    existing file and its side files 0600.

    Raises:
        errors.Unavailable: the database cannot be created, opened or made private, or is
            not a mon db.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            make_private(path)
        except OSError as exc:
            raise errors.Unavailable(f"cannot create mon database {path}: {exc}") from exc
        try:
            self._conn = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                check_same_thread=False,
            )
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
            with self.write() as conn:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
        except sqlite3.Error as exc:
            raise errors.Unavailable(f"cannot open mon database {path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``); rolled back on error."""
        with self._lock:
            _checked(self._conn, "BEGIN IMMEDIATE")
            try:
                yield self._conn
                _checked(self._conn, "COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            try:
                return list(self._conn.execute(sql, params))
            except sqlite3.Error as exc:
                raise errors.Unavailable(f"mon database: {exc}") from exc

    # --- auth ---------------------------------------------------------------
    def get_entity(self, name: str) -> AuthEntity | None:
        rows = self._query("SELECT entity, key, caps FROM auth WHERE entity = ?", (name,))
        return _entity(rows[0]) if rows else None

    @staticmethod
    def read_entity(conn: sqlite3.Connection, name: str) -> AuthEntity | None:
        """:meth:`get_entity` inside a :meth:`write` transaction."""
        row = conn.execute("SELECT entity, key, caps FROM auth WHERE entity = ?", (name,))
        found = row.fetchone()
        return _entity(tuple(found)) if found else None

    def list_entities(self) -> list[AuthEntity]:
        """Every entity, in no particular order."""
        return [_entity(row) for row in self._query("SELECT entity, key, caps FROM auth")]

    @staticmethod
    def put_entity(conn: sqlite3.Connection, entity: AuthEntity) -> None:
        """Insert or replace ``entity`` inside a :meth:`write` transaction."""
        conn.execute(
            "INSERT OR REPLACE INTO auth (entity, key, caps) VALUES (?, ?, ?)",
            (entity.name, entity.key, json.dumps(dict(entity.caps), sort_keys=True)),
        )

    @staticmethod
    def delete_entity(conn: sqlite3.Connection, name: str) -> bool:
        """Remove ``name``; False if it did not exist."""
        return conn.execute("DELETE FROM auth WHERE entity = ?", (name,)).rowcount > 0

    # --- counters and facts ---------------------------------------------------
    def get_value(self, key: str) -> str | None:
        rows = self._query("SELECT v FROM kv WHERE k = ?", (key,))
        return str(rows[0][0]) if rows else None

    @staticmethod
    def set_value(conn: sqlite3.Connection, key: str, value: str, replace: bool = True) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        conn.execute(f"{verb} INTO kv (k, v) VALUES (?, ?)", (key, value))

    def osdmap_epoch(self) -> int:
        """The current osdmap epoch (1 on a new cluster)."""
        return int(self.get_value("osdmap_epoch") or 1)

    @staticmethod
    def bump_osdmap_epoch(conn: sqlite3.Connection, pool_id: int | None = None) -> int:
        """Advance the osdmap epoch; record it as ``pool_id``'s last change."""
        row = conn.execute("SELECT v FROM kv WHERE k = 'osdmap_epoch'").fetchone()
        epoch = (int(row[0]) if row else 1) + 1
        conn.execute("INSERT OR REPLACE INTO kv (k, v) VALUES ('osdmap_epoch', ?)", (str(epoch),))
        if pool_id is not None:
            conn.execute(
                "INSERT OR REPLACE INTO pool_meta (pool_id, last_change) VALUES (?, ?)",
                (pool_id, epoch),
            )
        return epoch

    def pool_last_change(self, pool_id: int) -> int:
        rows = self._query("SELECT last_change FROM pool_meta WHERE pool_id = ?", (pool_id,))
        return int(str(rows[0][0])) if rows else self.osdmap_epoch()

    @staticmethod
    def forget_pool(conn: sqlite3.Connection, pool_id: int) -> None:
        conn.execute("DELETE FROM pool_meta WHERE pool_id = ?", (pool_id,))
        conn.execute("DELETE FROM kv WHERE k = ?", (_selfmanaged_key(pool_id),))

    @staticmethod
    def record_snap_op(conn: sqlite3.Connection, pool_id: int) -> int:
        """A self-managed snap id was allocated or removed in ``pool_id``: as on Ceph, the
        pool is in self-managed snapshot mode from now on and the osdmap epoch advances
        (the pool's ``last_change``). Returns the new epoch."""
        conn.execute("INSERT OR REPLACE INTO kv (k, v) VALUES (?, '1')",
                     (_selfmanaged_key(pool_id),))
        return MonDB.bump_osdmap_epoch(conn, pool_id)

    def selfmanaged_snaps(self, pool_id: int) -> bool:
        """Whether ``pool_id`` is in self-managed snapshot mode (its ``selfmanaged_snaps`` flag)."""
        return self.get_value(_selfmanaged_key(pool_id)) is not None


def _selfmanaged_key(pool_id: int) -> str:
    return f"selfmanaged_snaps/{pool_id}"


def _checked(conn: sqlite3.Connection, statement: str) -> None:
    """Run a transaction statement; a lock held too long is ETIMEDOUT."""
    try:
        conn.execute(statement)
    except sqlite3.OperationalError as exc:
        raise errors.TimedOut(f"mon database busy ({statement}): {exc}") from exc


def _entity(row: tuple[object, ...]) -> AuthEntity:
    name, key, caps = (str(v) for v in row)
    decoded = json.loads(caps)
    if not isinstance(decoded, dict):
        raise errors.Unavailable(f"mon database: caps of {name} are not a JSON object")
    return AuthEntity(name, key, {str(k): str(v) for k, v in decoded.items()})
