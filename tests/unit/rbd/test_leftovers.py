"""What interrupted RBD operations leave behind, and ``RBD.purge_leftovers``.

A crash is simulated by making one store step of an operation raise (the
process goes on, as a killed one would not, but the store is left exactly as a
kill at that point leaves it); ``test_rbd_crash`` kills real processes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shoal.objstore import IoCtx
from shoal.objstore.local import LocalStore
from shoal.rbd import RBD, Image, ImageNotFound
from shoal.rbd import _cls as cls_module
from shoal.rbd import _rbd as rbd_module

MiB = 1 << 20
BOOKKEEPING = {"rbd_directory", "rbd_children", "rbd_trash"}


class Killed(Exception):
    """Stands for SIGKILL at one store step."""


@pytest.fixture
def io(tmp_path: Path) -> Iterator[IoCtx]:
    with LocalStore(tmp_path / "osd") as store:
        store.create_pool("rbd", 8)
        yield store.open_ioctx("rbd")


def objects(io: IoCtx) -> list[str]:
    return [o for o in io.list_objects("", None, 10_000).names if o not in BOOKKEEPING]


def kill_at(monkeypatch: pytest.MonkeyPatch, method: str, *, skip: int = 0) -> None:
    """Make the (skip+1)-th ``rbd`` class call of ``method`` raise Killed."""
    real = cls_module.call
    seen = 0

    def call(io: IoCtx, oid: str, name: str, arg: Any = None, **kw: Any) -> Any:
        nonlocal seen
        if name == method:
            seen += 1
            if seen > skip:
                raise Killed(method)
        return real(io, oid, name, arg, **kw)

    monkeypatch.setattr(rbd_module._cls, "call", call)


def image_with_data(io: IoCtx, name: str = "img", **kw: Any) -> None:
    RBD().create(io, name, 8 * MiB, order=20, **kw)
    with Image(io, name) as img:
        img.write(b"x" * (3 * MiB), 0)


def test_a_create_killed_before_its_commit_leaves_an_invisible_header_that_is_purged(
    io: IoCtx, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:
        kill_at(m, "dir_add_image")
        with pytest.raises(Killed):
            RBD().create(io, "img", 8 * MiB)
    assert RBD().list(io) == []
    left = objects(io)
    assert any(o.startswith("rbd_header.") for o in left), left
    assert RBD().purge_leftovers(io) == [], "younger than min_age: kept"
    assert objects(io) == left
    assert sorted(RBD().purge_leftovers(io, min_age=0)) == sorted(left)
    assert objects(io) == []
    RBD().create(io, "img", 8 * MiB)  # the name works


def test_a_clone_killed_before_its_commit_does_not_block_unprotect_once_purged(
    io: IoCtx, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_with_data(io, "parent")
    with Image(io, "parent") as img:
        img.create_snap("s")
        img.protect_snap("s")
    with monkeypatch.context() as m:
        kill_at(m, "dir_add_image")
        with pytest.raises(Killed):
            RBD().clone(io, "parent", "s", io, "child")
    assert RBD().list(io) == ["parent"]
    removed = RBD().purge_leftovers(io, min_age=0)
    assert any(o.startswith("rbd_header.") for o in removed), removed
    with Image(io, "parent", snapshot="s", read_only=True) as snap:
        assert snap.list_children() == []
    with Image(io, "parent") as img:
        img.unprotect_snap("s")
        img.remove_snap("s")
    RBD().remove(io, "parent")
    assert objects(io) == []


def test_a_remove_killed_after_its_commit_is_hidden_then_finished(
    io: IoCtx, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_with_data(io)
    with monkeypatch.context() as m:
        m.setattr(RBD, "_purge", lambda self, ioctx, image_id: (_ for _ in ()).throw(Killed()))
        with pytest.raises(Killed):
            RBD().remove(io, "img")
    assert RBD().list(io) == []
    assert RBD().trash_list(io) == [], "an image being removed is not in the user's trash"
    with pytest.raises(ImageNotFound):
        Image(io, "img")
    assert [s["source"] for s in RBD().trash_records(io).values()] == ["REMOVING"]
    assert any(o.startswith("rbd_data.") for o in objects(io))
    removed = RBD().purge_leftovers(io, min_age=0)
    assert sum(o.startswith("rbd_data.") for o in removed) == 3
    assert objects(io) == []
    assert RBD().trash_records(io) == {}


def test_a_remove_killed_while_purging_is_finished(
    io: IoCtx, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_with_data(io)
    real = IoCtx.remove_object
    calls = 0

    def remove_object(self: IoCtx, oid: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:  # after the id object and one data object
            raise Killed()
        real(self, oid)

    with monkeypatch.context() as m:
        m.setattr(type(io), "remove_object", remove_object)
        with pytest.raises(Killed):
            RBD().remove(io, "img")
    assert any(o.startswith("rbd_data.") for o in objects(io))
    RBD().purge_leftovers(io, min_age=0)
    assert objects(io) == []


def test_remove_hides_a_stale_record_of_an_interrupted_trash_move(
    io: IoCtx, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_with_data(io)
    with monkeypatch.context() as m:
        kill_at(m, "dir_remove_image")
        with pytest.raises(Killed):
            RBD().trash_move(io, "img")
    assert RBD().list(io) == ["img"] and RBD().trash_list(io) == []
    RBD().remove(io, "img")
    assert RBD().trash_list(io) == []
    assert objects(io) == []
    assert RBD().trash_records(io) == {}


def test_a_snapshot_killed_before_its_header_step_leaves_a_map_that_is_purged(
    io: IoCtx, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_with_data(io)
    with monkeypatch.context() as m:
        kill_at(m, "snapshot_add")
        with Image(io, "img") as img, pytest.raises(Killed):
            img.create_snap("s")
    stale = [o for o in objects(io) if o.startswith("rbd_object_map.") and o.count(".") == 2]
    assert len(stale) == 1, objects(io)
    assert RBD().purge_leftovers(io, min_age=0) == stale
    with Image(io, "img") as img:
        assert list(img.list_snaps()) == []
        assert img.read(0, 3 * MiB) == b"x" * (3 * MiB)
        img.create_snap("s")  # a live snapshot's map is kept
    assert RBD().purge_leftovers(io, min_age=0) == []


def test_a_rename_killed_after_its_commit_leaves_an_id_object_that_is_purged(
    io: IoCtx, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_with_data(io)
    with monkeypatch.context() as m:
        m.setattr(IoCtx, "remove_object",
                  lambda self, oid: (_ for _ in ()).throw(Killed()))
        with pytest.raises(Killed):
            RBD().rename(io, "img", "new")
    assert RBD().list(io) == ["new"]
    assert RBD().purge_leftovers(io, min_age=0) == ["rbd_id.img"]
    with Image(io, "new") as img:
        assert img.read(0, 4) == b"xxxx"


def test_purge_leftovers_leaves_live_images_and_the_trash_alone(io: IoCtx) -> None:
    image_with_data(io, "a")
    image_with_data(io, "b")
    with Image(io, "a") as img:
        img.create_snap("s")
    RBD().trash_move(io, "b", delay=3600)
    before = objects(io)
    time.sleep(0.01)
    assert RBD().purge_leftovers(io, min_age=0) == []
    assert objects(io) == before
    assert [e["name"] for e in RBD().trash_list(io)] == ["b"]


def test_a_clone_whose_remove_was_interrupted_is_no_longer_a_child(
    io: IoCtx, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_with_data(io, "parent")
    with Image(io, "parent") as img:
        img.create_snap("s")
        img.protect_snap("s")
    RBD().clone(io, "parent", "s", io, "child")
    with monkeypatch.context() as m:
        m.setattr(RBD, "_purge", lambda self, ioctx, image_id: (_ for _ in ()).throw(Killed()))
        with pytest.raises(Killed):
            RBD().remove(io, "child")
    with Image(io, "parent", snapshot="s", read_only=True) as snap:
        assert snap.list_children2() == []
    with Image(io, "parent") as img:
        img.unprotect_snap("s")
    RBD().purge_leftovers(io, min_age=0)
    with Image(io, "parent") as img:
        img.remove_snap("s")
    RBD().remove(io, "parent")
    assert objects(io) == []
