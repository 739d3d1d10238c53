"""shoal.db: URLs, sessions, migrations. ``DatabaseContract`` also runs on PostgreSQL (tests/pg)."""

from __future__ import annotations

import os
import socket
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from shoal import errors
from shoal.db import Database, default_url
from shoal.db._migrate import heads
from shoal.db.models import load_metadata
from shoal.services.identity.models import Domain, Token, User

IDENTITY_TABLES = {
    "identity_domains",
    "identity_projects",
    "identity_users",
    "identity_roles",
    "identity_implied_roles",
    "identity_role_assignments",
    "identity_tokens",
}


class DatabaseContract:
    """One test body per behaviour; subclasses give ``db_url`` (an empty database)."""

    @pytest.fixture
    def db_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def db(self, db_url: str) -> Iterator[Database]:
        with Database(db_url) as database:
            yield database

    def test_upgrade_from_empty_reaches_head(self, db: Database) -> None:
        assert db.current_revision() is None
        db.upgrade()
        assert db.current_revision() == heads()[0]
        with db.connect() as connection:
            tables = set(inspect(connection).get_table_names())
        assert tables >= IDENTITY_TABLES | {"alembic_version"}

    def test_upgrade_is_idempotent(self, db: Database) -> None:
        db.upgrade()
        with db.session() as session:
            session.add(Domain(id="d1", name="One", description="", enabled=True))
        db.upgrade()  # second run: nothing to do, data kept
        assert db.current_revision() == heads()[0]
        with db.session(readonly=True) as session:
            assert session.scalars(select(Domain.name)).all() == ["One"]

    def test_migrations_match_the_models(self, db: Database) -> None:
        db.upgrade()
        with db.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, load_metadata())
        assert diff == []

    def test_session_commits_on_success_and_rolls_back_on_error(self, db: Database) -> None:
        db.upgrade()
        with db.session() as session:
            session.add(Domain(id="kept", name="Kept", description="", enabled=True))
        with pytest.raises(RuntimeError), db.session() as session:
            session.add(Domain(id="lost", name="Lost", description="", enabled=True))
            session.flush()
            raise RuntimeError("abort")
        with db.session(readonly=True) as session:
            assert session.scalars(select(Domain.id)).all() == ["kept"]

    def test_foreign_keys_are_enforced(self, db: Database) -> None:
        db.upgrade()
        with pytest.raises(Exception, match=r"(?i)foreign key"), db.session() as session:
            session.add(User(id="u", name="u", domain_id="nowhere", password_hash="x"))

    def test_timestamps_round_trip_as_aware_utc(self, db: Database) -> None:
        db.upgrade()
        moment = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=timezone(timedelta(hours=2)))
        with db.session() as session:
            session.add(Domain(id="d", name="D", description="", enabled=True))
            session.flush()
            session.add(User(id="u", name="u", domain_id="d", password_hash="x"))
            session.flush()  # no ORM relationships: insert parents first
            session.add(
                Token(
                    id_sha256="0" * 64,
                    user_id="u",
                    project_id=None,
                    methods="password",
                    audit_id="a",
                    issued_at=moment,
                    expires_at=moment + timedelta(hours=1),
                )
            )
        with db.session(readonly=True) as session:
            token = session.scalars(select(Token)).one()
        assert token.issued_at == moment
        assert token.issued_at.tzinfo == UTC
        assert token.issued_at.hour == 3

    def test_naive_timestamps_are_refused(self, db: Database) -> None:
        db.upgrade()
        with pytest.raises(Exception, match="naive datetime"), db.session() as session:
            session.add(Domain(id="d", name="D", description="", enabled=True))
            session.flush()
            session.add(User(id="u", name="u", domain_id="d", password_hash="x"))
            session.flush()  # no ORM relationships: insert parents first
            session.add(
                Token(
                    id_sha256="1" * 64,
                    user_id="u",
                    project_id=None,
                    methods="password",
                    audit_id="a",
                    issued_at=datetime(2026, 1, 1),
                    expires_at=datetime(2026, 1, 1, 1),
                )
            )

    def test_ping(self, db: Database) -> None:
        db.ping()


class TestDatabaseSQLite(DatabaseContract):
    @pytest.fixture
    def db_url(self, tmp_path: Path) -> str:
        return default_url(tmp_path)

    def test_default_url_is_the_data_directory_file(self, tmp_path: Path) -> None:
        assert default_url(tmp_path) == f"sqlite:///{tmp_path.resolve()}/shoal.db"

    def test_sqlite_runs_in_wal_mode_with_busy_timeout_and_foreign_keys(
        self, db: Database, tmp_path: Path
    ) -> None:
        with db.session(readonly=True) as session:
            assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert session.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        # WAL is a property of the file: a plain sqlite3 connection sees it too
        with sqlite3.connect(tmp_path / "shoal.db") as raw:
            assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)

    def test_the_file_and_its_side_files_are_private(self, tmp_path: Path) -> None:
        """shoal.db holds password and token hashes: 0600 like the keyrings."""
        path = tmp_path / "shoal.db"
        old = os.umask(0o022)
        try:
            path.write_bytes(b"")
            path.chmod(0o644)  # as an older shoal left it
            for side in ("shoal.db-wal", "shoal.db-shm"):
                (tmp_path / side).write_bytes(b"")
                (tmp_path / side).chmod(0o644)
            with Database(default_url(tmp_path)) as db:
                db.upgrade()
                db.ping()
                present = sorted(tmp_path.glob("shoal.db*"))
                assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in present} == {
                    "shoal.db": 0o600, "shoal.db-wal": 0o600, "shoal.db-shm": 0o600}
            fresh = tmp_path / "fresh"
            fresh.mkdir()
            with Database(default_url(fresh)) as db:
                db.upgrade()
                modes = {stat.S_IMODE(p.stat().st_mode) for p in fresh.glob("shoal.db*")}
                assert modes == {0o600}
        finally:
            os.umask(old)

    def test_in_memory_database_works(self) -> None:
        with Database("sqlite://") as db:
            db.upgrade()
            assert db.current_revision() == heads()[0]

    def test_missing_directory_is_an_invalid_argument(self, tmp_path: Path) -> None:
        with pytest.raises(errors.InvalidArgument, match="does not exist"):
            Database(f"sqlite:///{tmp_path}/nope/shoal.db")

    @pytest.mark.parametrize("url", ["mysql://u:p@h/db", "not a url", "oracle+cx_oracle://h/db"])
    def test_unsupported_urls_are_refused_with_the_accepted_forms(self, url: str) -> None:
        with pytest.raises(errors.InvalidArgument, match="postgresql\\+psycopg://"):
            Database(url)

    def test_plain_postgresql_scheme_means_psycopg3(self) -> None:
        db = Database("postgresql://u:secret@127.0.0.1:5/db")
        assert db.url.drivername == "postgresql+psycopg"
        assert "secret" not in repr(db)

    def test_unreachable_postgresql_is_unavailable(self) -> None:
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        db = Database(f"postgresql+psycopg://u:p@127.0.0.1:{port}/db")
        with pytest.raises(errors.Unavailable, match="cannot connect"):
            db.upgrade()
        with pytest.raises(errors.Unavailable):
            db.ping()
