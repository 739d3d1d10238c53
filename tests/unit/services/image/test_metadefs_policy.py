"""MetadefStore applies the metadefs policy itself: unreadable namespaces are 404 (and not
listed), changes are for admins (403)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal import errors
from shoal.db import Database
from shoal.services import Caller
from shoal.services.image import MetadefStore

ADMIN = Caller("a", "adm", frozenset({"admin"}))
OWNER = Caller("o", "p1", frozenset({"member"}))
OTHER = Caller("x", "p2", frozenset({"member"}))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetadefStore]:
    with Database(f"sqlite:///{tmp_path / 'shoal.db'}") as db:
        db.upgrade()
        yield MetadefStore(db)


def test_reading_follows_visibility_and_writing_is_for_admins(store: MetadefStore) -> None:
    with pytest.raises(errors.PermissionDenied):
        store.create(OWNER, "mine", {"namespace": "mine", "owner": "p1"})
    store.create(ADMIN, "mine", {"namespace": "mine", "owner": "p1", "visibility": "private"})
    store.create(ADMIN, "open", {"namespace": "open", "owner": "p2", "visibility": "public"})
    assert store.get(OWNER, "mine")["owner"] == "p1"
    with pytest.raises(errors.NotFound):
        store.get(OTHER, "mine")
    assert [d["namespace"] for d in store.all(OTHER)] == ["open"]
    assert [d["namespace"] for d in store.all(ADMIN)] == ["mine", "open"]
    with pytest.raises(errors.NotFound):
        store.change(OTHER, "mine", lambda d: ("mine", d, None))
    with pytest.raises(errors.PermissionDenied):
        store.change(OWNER, "mine", lambda d: ("mine", d, None))
    with pytest.raises(errors.NotFound):
        store.delete(OTHER, "mine")
    with pytest.raises(errors.PermissionDenied):
        store.delete(OWNER, "mine")
    store.delete(ADMIN, "mine")
    with pytest.raises(errors.NotFound):
        store.delete(ADMIN, "mine")
