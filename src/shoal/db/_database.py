"""``Database``: one engine, transactional sessions, packaged migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from shoal import errors
from shoal.sqlitefile import make_private

__all__ = ["BUSY_TIMEOUT_S", "DB_FILENAME", "Database", "default_url"]

#: The database file inside the data directory (SQLite default).
DB_FILENAME = "shoal.db"
#: How long a SQLite writer waits for another one (another process) before giving up, seconds.
BUSY_TIMEOUT_S = 30.0
#: How long connecting to PostgreSQL may take, seconds.
CONNECT_TIMEOUT_S = 10
#: Key of the PostgreSQL advisory lock serialising concurrent ``upgrade()`` calls.
MIGRATION_LOCK_KEY = 0x73686F616C  # "shoal"

_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite"}
_POSTGRES_DRIVERS = {"postgresql", "postgresql+psycopg"}
# Execution option naming how a SQLite transaction begins (see Database.session).
_BEGIN_OPTION = "shoal_sqlite_begin"


def default_url(data_dir: Path | str) -> str:
    """``sqlite:///<data_dir>/shoal.db`` (absolute), the default database of a data directory."""
    return f"sqlite:///{Path(data_dir).expanduser().resolve() / DB_FILENAME}"


def _parse_url(url: str | URL) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise errors.InvalidArgument(
            f"database URL {str(url)!r} is not a URL: use sqlite:///PATH or "
            "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DBNAME"
        ) from exc
    if parsed.drivername in _SQLITE_DRIVERS:
        return parsed.set(drivername="sqlite+pysqlite")
    if parsed.drivername in _POSTGRES_DRIVERS:
        return parsed.set(drivername="postgresql+psycopg")
    raise errors.InvalidArgument(
        f"database URL scheme {parsed.drivername!r} is not supported: use sqlite:///PATH or "
        "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DBNAME"
    )


class Database:
    """A database reached by URL: an engine, sessions and the packaged migrations.

    Args:
        url: ``sqlite:///PATH`` (the file is created, mode 0600, when the Database is made;
            its directory must exist), ``sqlite://`` (private in-memory database, one
            connection) or ``postgresql+psycopg://USER:PASSWORD@HOST:PORT/DBNAME``
            (``postgresql://`` is taken as psycopg 3).
        echo: log every SQL statement (debugging).

    A SQLite file holds password and token hashes: an existing one and its side files
    (``-wal``, ``-shm``, ``-journal``) lose group and other permissions when the Database is
    made, as :func:`shoal.sqlitefile.make_private` does. SQLite connections use the WAL journal
    (readers never block the writer), a busy timeout of :data:`BUSY_TIMEOUT_S` and
    ``foreign_keys=ON``. Transactions that may write begin with ``BEGIN IMMEDIATE``, so
    concurrent writers (threads or processes) queue instead of failing with "database is
    locked" halfway through.

    Raises:
        InvalidArgument: the URL is malformed, its scheme unsupported, or a SQLite file's
            directory does not exist.
        Unavailable: the SQLite file cannot be created or made private.
    """

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        self.url = _parse_url(url)
        self.dialect = self.url.get_backend_name()  # "sqlite" or "postgresql"
        self.engine = self._create_engine(echo)
        self._write_sessions = sessionmaker(self.engine, expire_on_commit=False)
        read_engine = self.engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"})
        self._read_sessions = sessionmaker(read_engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    def _create_engine(self, echo: bool) -> Engine:
        if self.dialect == "postgresql":
            return create_engine(
                self.url,
                echo=echo,
                pool_pre_ping=True,
                connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
            )
        database = self.url.database or ""
        kwargs: dict[str, Any] = {}
        if database in ("", ":memory:"):
            kwargs["poolclass"] = StaticPool  # one connection: the in-memory database itself
        else:
            parent = Path(database).expanduser().resolve().parent
            if not parent.is_dir():
                raise errors.InvalidArgument(
                    f"database {database}: directory {parent} does not exist (create the data "
                    "directory first)"
                )
            if not self.url.query.get("uri"):  # a file: URI names no plain path
                try:
                    make_private(Path(database))
                except OSError as exc:
                    raise errors.Unavailable(f"database {database}: {exc}") from exc
        engine = create_engine(
            self.url,
            echo=echo,
            connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """One transaction: commits when the block ends, rolls back if it raises.

        ``readonly=True`` is a hint for SQLite: the transaction begins deferred (it does not
        queue behind writers), and writing in it may fail with "database is locked" under
        contention. Objects stay usable after the block (``expire_on_commit=False``).

        Raises:
            Unavailable: the database cannot be reached (PostgreSQL down, SQLite file
                unreadable); other errors propagate unchanged.
        """
        factory = self._read_sessions if readonly else self._write_sessions
        try:
            with factory.begin() as session:
                yield session
        except OperationalError as exc:
            raise errors.Unavailable(f"{self!r}: {exc.orig or exc}") from exc

    def connect(self) -> Connection:
        """A raw connection (caller closes it); for migrations and administrative SQL."""
        try:
            return self.engine.connect()
        except OperationalError as exc:
            raise errors.Unavailable(f"{self!r}: cannot connect: {exc.orig or exc}") from exc

    def upgrade(self, revision: str = "head") -> None:
        """Apply the packaged migrations up to ``revision``; a no-op when already there.

        Safe to call from several processes at once: SQLite serialises it with
        ``BEGIN IMMEDIATE``, PostgreSQL with an advisory transaction lock; every migration
        runs in that one transaction (DDL is transactional on both), so a failure leaves the
        schema as it was.
        """
        from shoal.db import _migrate

        _migrate.upgrade(self, revision)

    def current_revision(self) -> str | None:
        """The schema's migration revision (``"0001"`` ...), None for an empty database."""
        from shoal.db import _migrate

        return _migrate.current_revision(self)

    def ping(self) -> None:
        """Run ``SELECT 1``; raise Unavailable if the database cannot be reached."""
        with self.session(readonly=True) as session:
            session.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close every pooled connection (the Database stays usable; new ones are opened)."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Let SQLAlchemy's begin event emit BEGIN itself (pysqlite's own transaction handling
    # would defer it, and never uses IMMEDIATE).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # memory databases answer "memory"
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")
