"""``rbd snap ...`` (``action/Snap.cc``): create, ls, rm, purge, rollback, protect,
unprotect, rename."""

from __future__ import annotations

import errno as _errno
from typing import NoReturn

import click

from shoal import errors
from shoal.cli._common import AliasGroup
from shoal.cli.rbd._args import (
    Presence,
    Validation,
    format_options,
    image_spec_options,
    output_format,
    resolve_spec,
)
from shoal.cli.rbd._command import IMAGE, SNAP, Run, SpecRule, rbd_command
from shoal.cli.rbd._common import die, emit, fail, image_class, open_pool
from shoal.cli.rbd._fmt import Progress, TextTable, arr, byte_u, ctime, obj, render
from shoal.cluster import Session
from shoal.rbd import Image

__all__ = ["register"]


@click.group("snap", cls=AliasGroup)
def snap() -> None:
    """Snapshot commands."""


@rbd_command("create", "SNAP_SPEC", spec=SpecRule(Presence.REQUIRED, Validation.SNAP),
             progress=True)
def create(run: Run) -> None:
    """Create a snapshot."""
    with run.image() as (_s, _io, img), run.progress("Creating snap",
                                                     "failed to create snapshot"):
        img.create_snap(run.image_spec.snap)


@rbd_command("list", "IMAGE_SPEC", spec=IMAGE)
@format_options
def list_snaps(run: Run, fmt: str | None, pretty: bool) -> None:
    """Dump list of image snapshots."""
    formatter = output_format(fmt, pretty)
    with run.image(read_only=True) as (_s, _io, img):
        try:
            snaps = list(img.list_snaps())
        except errors.ShoalError as exc:
            fail("failed to list snapshots", exc)
    table = TextTable()
    for heading in ("SNAPID", "NAME", "SIZE", "PROTECTED", "TIMESTAMP"):
        table.define_column(heading, "left",
                            "left" if heading in ("NAME", "PROTECTED") else "right")
    nodes = arr()
    for s in snaps:
        stamp = ctime(s["timestamp"])
        nodes.add("snapshot", obj(("id", int(s["id"])), ("name", str(s["name"])),
                                  ("size", int(s["size"])),
                                  ("protected", "true" if s["protected"] else "false"),
                                  ("timestamp", stamp)))
        table.add_row(s["id"], s["name"], byte_u(int(s["size"])),
                      "yes" if s["protected"] else "", stamp)
    if formatter is not None:
        emit(render("snapshots", nodes, formatter, pretty))
    elif snaps:
        emit(table.render())


def _flatten_children(sess: Session, io_img: Image, snap_name: str) -> None:
    """``snap rm --force``: flatten every clone of the snapshot."""
    io = io_img.ioctx
    with image_class(io)(io, image_id=io_img.id(), snapshot=snap_name, read_only=True,
                         entity=sess.entity) as at_snap:
        children = at_snap.list_children2()
    for child in children:
        child_io = open_pool(sess, str(child["pool"]), str(child["pool_namespace"]))
        try:
            image = image_class(child_io)
            with image(child_io, image_id=str(child["id"]), entity=sess.entity) as c:
                c.flatten()
        finally:
            child_io.close()


@rbd_command("remove", "SNAP_SPEC", spec=SNAP, progress=True)
@click.option("--force", is_flag=True,
              help="Flatten children and unprotect snapshot if needed.")
def remove(run: Run, force: bool) -> None:
    """Delete a snapshot."""
    name = run.image_spec.snap

    def failed(exc: errors.ShoalError) -> NoReturn:
        if exc.errno == _errno.EBUSY:
            die(f"snapshot '{name}' is protected from removal.", exc.errno)
        fail("failed to remove snapshot", exc)

    with run.image() as (sess, _io, img), run.progress("Removing snap", failed):
        if force and img.is_protected_snap(name):
            _flatten_children(sess, img, name)
            img.unprotect_snap(name)
        img.remove_snap(name)


@rbd_command("purge", "IMAGE_SPEC", spec=IMAGE, progress=True)
def purge(run: Run) -> None:
    """Delete all unprotected snapshots."""
    with run.image() as (_s, _io, img):
        progress = Progress("Removing all snapshots", run.show_progress)
        protected: list[str] = []
        doomed: list[str] = []
        try:
            snaps = list(img.list_snaps())
            if not snaps:
                return
            protected = [str(s["name"]) for s in snaps if s["protected"]]
            if protected:
                verb = "is" if len(protected) == 1 else "are"
                click.echo(f"rbd: error removing snapshot(s) '{','.join(protected)}', which "
                           f"{verb} protected - these must be unprotected with "
                           "`rbd snap unprotect`.")
            doomed = [str(s["name"]) for s in snaps if not s["protected"]]
            for done, name in enumerate(doomed, start=1):
                img.remove_snap(name)
                progress.update(done, len(doomed))
        except errors.ShoalError as exc:
            progress.fail()
            fail("removing snaps failed", exc)
        if protected:
            progress.fail()
        elif doomed:
            progress.finish()


@rbd_command("rollback", "SNAP_SPEC", spec=SNAP, progress=True)
def rollback(run: Run) -> None:
    """Rollback image to snapshot."""
    with run.image() as (_s, _io, img), run.progress("Rolling back to snapshot",
                                                     "rollback failed"):
        img.rollback_to_snap(run.image_spec.snap)


@rbd_command("protect", "SNAP_SPEC", spec=SNAP)
def protect(run: Run) -> None:
    """Prevent a snapshot from being deleted."""
    name = run.image_spec.snap
    with run.image() as (_s, _io, img):
        try:
            if img.is_protected_snap(name):
                die("snap is already protected", _errno.EBUSY)
            img.protect_snap(name)
        except errors.ShoalError as exc:
            fail("protecting snap failed", exc)


@rbd_command("unprotect", "SNAP_SPEC", spec=SNAP)
def unprotect(run: Run) -> None:
    """Allow a snapshot to be deleted."""
    name = run.image_spec.snap
    with run.image() as (_s, _io, img):
        try:
            if not img.is_protected_snap(name):
                die("snap is already unprotected", _errno.EINVAL)
            img.unprotect_snap(name)
        except errors.ShoalError as exc:
            fail("unprotecting snap failed", exc)


@rbd_command("rename", "SOURCE_SNAP_SPEC DEST_SNAP_SPEC", spec=None)
@image_spec_options()
def rename(run: Run, pool: str | None, namespace: str | None, image: str | None,
           snap: str | None) -> None:
    """Rename a snapshot."""
    src = resolve_spec(run.words, pool=pool, namespace=namespace, image=image, snap=snap,
                       default_pool=run.default_pool, presence=Presence.REQUIRED)
    dst = resolve_spec(run.words, pool=src.pool, namespace=src.namespace, image=None,
                       snap=None, default_pool=src.pool, presence=Presence.REQUIRED,
                       validation=Validation.SNAP, dest=True)
    run.words.finish()
    if src.pool != dst.pool:
        die("source and destination pool must be the same", _errno.EINVAL)
    if src.namespace != dst.namespace:
        die("source and destination namespace must be the same", _errno.EINVAL)
    if src.image != dst.image:
        die("source and destination image name must be the same", _errno.EINVAL)
    with run.image(src) as (_s, _io, img):
        try:
            img.rename_snap(src.snap, dst.snap)
        except errors.ShoalError as exc:
            fail("renaming snap failed", exc)


def register(group: AliasGroup) -> None:
    group.add_command(snap)
    for command, aliases in ((create, ["add"]), (list_snaps, ["ls"]), (remove, ["rm"]),
                             (purge, []), (rollback, ["revert"]), (protect, []),
                             (unprotect, []), (rename, [])):
        snap.add_command(command, aliases=aliases)
