"""Glance's metadata definitions catalog: namespace documents in the database.

Each namespace is one JSON document (what :mod:`shoal.api.glance.metadefs.catalog` reads and
writes); names are unique. A change reads and writes the document in one transaction with
the row locked, so concurrent changes to one namespace never lose each other's work.

Every method takes the :class:`~shoal.services.Caller` and applies
:mod:`shoal.services.image.policy`: a namespace the caller may not read is 404 (and left
out of :meth:`MetadefStore.all`), changes are for admins (403).
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
from shoal.services._caller import Caller
from shoal.services.image import policy
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

    def get(self, caller: Caller, name: str) -> Document:
        """The document of namespace ``name``; NotFound (404) if there is none or
        ``caller`` may not read it."""
        with self.db.session(readonly=True) as session:
            row = session.get(MetadefNamespace, name)
            document = None if row is None else _load(row)
        if document is None or not policy.can_read_namespace(caller, document):
            raise errors.NotFound(f"Namespace {name} not found.")
        return document

    def all(self, caller: Caller) -> list[Document]:
        """The documents ``caller`` may read, by name."""
        with self.db.session(readonly=True) as session:
            documents = [_load(row) for row in session.scalars(
                select(MetadefNamespace).order_by(MetadefNamespace.name))]
        return [d for d in documents if policy.can_read_namespace(caller, d)]

    def create(self, caller: Caller, name: str, document: Document) -> None:
        """Store a new namespace; PermissionDenied (403) unless ``caller`` is an admin,
        AlreadyExists (409) if the name is taken."""
        policy.require_namespace_write(caller)
        now = datetime.now(UTC)
        try:
            with self.db.session() as session:
                session.add(MetadefNamespace(name=name, document=json.dumps(document),
                                             created_at=now, updated_at=now))
        except IntegrityError:
            raise errors.AlreadyExists(f"Namespace {name} already exists.") from None

    def change(self, caller: Caller, name: str,
               fn: Callable[[Document], tuple[str, Document, T]]) -> T:
        """Apply ``fn(document) -> (new name, new document, result)`` atomically and return
        the result. NotFound (404) when ``caller`` may not read the namespace,
        PermissionDenied (403) unless admin; a rename to a taken name is AlreadyExists
        (409)."""
        try:
            with self.db.session() as session:
                row = session.scalars(select(MetadefNamespace).filter_by(name=name)
                                      .with_for_update()).first()
                current = None if row is None else _load(row)
                if row is None or current is None or not policy.can_read_namespace(
                        caller, current):
                    raise errors.NotFound(f"Namespace {name} not found.")
                policy.require_namespace_write(caller)
                new_name, document, result = fn(current)
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

    def delete(self, caller: Caller, name: str,
               check: Callable[[Document], None] = lambda document: None) -> None:
        """Remove namespace ``name``. NotFound (404) when there is none or ``caller`` may
        not read it, PermissionDenied (403) unless admin; ``check`` may refuse then (the
        catalog's protected rule)."""
        with self.db.session() as session:
            row = session.get(MetadefNamespace, name)
            document = None if row is None else _load(row)
            if row is None or document is None or not policy.can_read_namespace(
                    caller, document):
                raise errors.NotFound(f"Namespace {name} not found.")
            policy.require_namespace_write(caller)
            check(document)
            session.delete(row)
