"""shoal.db on a real PostgreSQL: the same test bodies as on SQLite (tests/unit)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shoal.db import Database
from tests.unit.db.test_database import DatabaseContract


class TestDatabasePostgres(DatabaseContract):
    @pytest.fixture
    def db_url(self, pg_url: str) -> str:
        return pg_url

    def test_dialect_is_psycopg3(self, db: Database) -> None:
        assert db.dialect == "postgresql"
        with db.session(readonly=True) as session:
            version = session.execute(text("SHOW server_version_num")).scalar()
        assert int(str(version)) >= 130000
        assert db.engine.dialect.driver == "psycopg"
