"""Glance's metadata definitions catalog: namespace documents in the database.

Each namespace is one JSON document (what :mod:`shoal.api.glance.metadefs.catalog` reads and
writes); names are unique. A change reads and writes the document in one transaction with
the row locked, so concurrent changes to one namespace never lose each other's work.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shoal import errors
from shoal.db import Database
from shoal.services.image.models import MetadefNamespace

__all__ = ["MetadefStore"]

T = TypeVar("T")
Document = dict[str, Any]


def _load(row: MetadefNamespace) -> Document:
    value = json.loads(row.document)
    assert isinstance(value, dict)
    return value


class MetadefStore:
    """Namespace documents by name (see the module doc)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, name: str) -> Document:
        """The document of namespace ``name``; NotFound (404) if there is none."""
        with self.db.session(readonly=True) as session:
            row = session.get(MetadefNamespace, name)
            if row is None:
                raise errors.NotFound(f"Namespace {name} not found.")
            return _load(row)

    def all(self) -> list[Document]:
        with self.db.session(readonly=True) as session:
            return [_load(row) for row in session.scalars(
                select(MetadefNamespace).order_by(MetadefNamespace.name))]

    def create(self, name: str, document: Document) -> None:
        """Store a new namespace; AlreadyExists (409) if the name is taken."""
        now = datetime.now(UTC)
        try:
            with self.db.session() as session:
                session.add(MetadefNamespace(name=name, document=json.dumps(document),
                                             created_at=now, updated_at=now))
        except IntegrityError:
            raise errors.AlreadyExists(f"Namespace {name} already exists.") from None

    def change(self, name: str, fn: Callable[[Document], tuple[str, Document, T]]) -> T:
        """Apply ``fn(document) -> (new name, new document, result)`` atomically and return
        the result; a rename to a taken name is AlreadyExists (409)."""
        try:
            with self.db.session() as session:
                row = session.scalars(select(MetadefNamespace).filter_by(name=name)
                                      .with_for_update()).first()
                if row is None:
                    raise errors.NotFound(f"Namespace {name} not found.")
                new_name, document, result = fn(_load(row))
                now = datetime.now(UTC)
                if new_name != name:
                    created = row.created_at
                    session.delete(row)
                    session.flush()
                    session.add(MetadefNamespace(name=new_name, document=json.dumps(document),
                                                 created_at=created, updated_at=now))
                else:
                    row.document = json.dumps(document)
                    row.updated_at = now
                return result
        except IntegrityError:
            raise errors.AlreadyExists(f"Namespace {name} already exists.") from None

    def delete(self, name: str) -> None:
        with self.db.session() as session:
            row = session.get(MetadefNamespace, name)
            if row is not None:
                session.delete(row)
