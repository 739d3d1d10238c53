"""Programmatic Alembic: upgrade, current revision, new revisions (no alembic.ini)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from shoal.db._database import Database

__all__ = ["current_revision", "heads", "new_revision", "target_metadata", "upgrade"]

SCRIPT_LOCATION = str(Path(__file__).resolve().parent / "migrations")


def target_metadata() -> MetaData:
    """Every model's metadata (for autogenerate and drift checks)."""
    from shoal.db.models import load_metadata

    return load_metadata()


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def heads() -> tuple[str, ...]:
    """The head revision(s) of the packaged migrations (one, unless someone forked them)."""
    return tuple(ScriptDirectory.from_config(_config()).get_heads())


def upgrade(db: Database, revision: str = "head") -> None:
    """Upgrade ``db`` to ``revision`` in one serialised transaction (see Database.upgrade)."""
    with db.connect() as connection, connection.begin():
        if db.dialect == "postgresql":
            from shoal.db._database import MIGRATION_LOCK_KEY

            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        # (SQLite: the begin event already took the write lock with BEGIN IMMEDIATE.)
        command.upgrade(_config(connection), revision)


def current_revision(db: Database) -> str | None:
    """The revision ``db`` is at; None when no migration ever ran."""
    with db.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def new_revision(message: str) -> Path:
    """Autogenerate the next migration from the models (against a scratch SQLite at head).

    The new file is named ``NNNN_<slug>.py`` with revision id ``NNNN``; review it before
    committing (autogenerate misses renames and server defaults).
    """
    from shoal.db._database import Database

    current = heads()
    number = max((int(h) for h in current), default=0) + 1
    rev_id = f"{number:04d}"
    slug = "_".join(message.lower().split())[:40] or "migration"
    with tempfile.TemporaryDirectory() as scratch:
        db = Database(f"sqlite:///{scratch}/scratch.db")
        try:
            db.upgrade()
            with db.connect() as connection, connection.begin():
                config = _config(connection)
                config.set_main_option("file_template", f"{rev_id}_{slug}")
                script = command.revision(config, message=message, autogenerate=True, rev_id=rev_id)
        finally:
            db.dispose()
    assert script is not None and not isinstance(script, list)
    return Path(script.path)
