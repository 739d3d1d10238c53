"""Alembic migrations of shoal's database (run by :meth:`shoal.db.Database.upgrade`)."""
