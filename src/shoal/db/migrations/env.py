"""Alembic environment: always runs on the connection handed over by shoal.db._migrate."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from shoal.db import _migrate

config = context.config
connection = config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through shoal.db (Database.upgrade), not the alembic CLI")


def render_item(kind: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    """Freeze custom column types to their SQL type (migrations never import model code)."""
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


context.configure(
    connection=connection,
    target_metadata=_migrate.target_metadata(),
    render_as_batch=True,  # ALTER TABLE on SQLite by copy-and-move
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
