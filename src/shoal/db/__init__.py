"""The relational database shared by shoal's services (SQLAlchemy 2, Alembic).

Public interface::

    from shoal.db import Base, Database, UTCDateTime, default_url

    db = Database(default_url(data_dir))   # sqlite:///<data_dir>/shoal.db
    db.upgrade()                           # apply the packaged migrations (idempotent)
    with db.session() as s:                # one transaction: commit on exit, rollback on error
        s.add(...)

URLs: ``sqlite:///<path>`` (WAL journal, 30 s busy timeout, foreign keys on; the default,
one host) or ``postgresql+psycopg://user:password@host:port/dbname`` (psycopg 3; several
processes or hosts). ``sqlite://`` (in memory) works for throwaway use only.

Adding tables for a service (image, volume, backup, compute ...):

1. Declare the models in the service's own package, deriving from :class:`shoal.db.Base`
   (typed ``Mapped[...]`` columns; :class:`UTCDateTime` for timestamps).
2. Import that models module in :mod:`shoal.db.models` so that the metadata is complete
   (the migration drift test compares it with the migrations).
3. Add a migration ``src/shoal/db/migrations/versions/NNNN_<what>.py`` whose ``revision`` is the
   next number (``"0002"``) and ``down_revision`` the previous head: copy an existing file, or run
   ``.venv/bin/python -m shoal.db revision -m "<what>"`` (autogenerates from the models).
4. ``tests/unit/test_db_migrations.py`` checks that the migrations upgrade from empty, are
   idempotent and produce exactly the models' schema, on SQLite and (tests/pg) PostgreSQL.

Migrations use batch mode (``render_as_batch``) so that ``ALTER`` works on SQLite too.
"""

from __future__ import annotations

from shoal.db._base import Base as Base
from shoal.db._base import UTCDateTime as UTCDateTime
from shoal.db._database import DB_FILENAME as DB_FILENAME
from shoal.db._database import Database as Database
from shoal.db._database import default_url as default_url

__all__ = ["DB_FILENAME", "Base", "Database", "UTCDateTime", "default_url"]
